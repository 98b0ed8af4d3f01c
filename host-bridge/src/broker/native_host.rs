//! `host-bridge sso-native-host`: the Chrome native messaging host of the browser SSO extension
//! (`host-bridge/extension`). Chromium starts it when the extension calls
//! `chrome.runtime.sendNativeMessage`, passes the caller's origin as its argument, and speaks
//! the native messaging framing on stdin/stdout: each message a 32-bit length in native byte
//! order and that many bytes of UTF-8 JSON.
//!
//! It forwards to the token broker on the session bus (as Edge does through Microsoft's broker)
//! and adds the joined authority's origin, so the extension knows where to attach the cookie:
//! - `{"command":"acquirePrtSsoCookie","ssoUrl":…}` -> the broker's acquirePrtSsoCookie answer
//!   plus `authority`;
//! - `{"command":"getAccounts"}` -> the broker's getAccounts answer.
//!
//! Only the extension's own origin is served ([`EXTENSION_ORIGIN`]); Chromium already enforces
//! the manifest's `allowed_origins`, and this is the second lock.

use serde::Deserialize;
use serde_json::{json, Value};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use cxh_wire::broker::{status, BrokerError, ErrorResponse, BUS_NAME, INTERFACE, OBJECT_PATH};

use super::dbus::Bus;

/// The native messaging host's name (the manifest's `name`, what the extension calls).
pub const HOST_NAME: &str = "com.cxh_join.sso";
/// The extension's id, fixed by the `key` in its manifest.
pub const EXTENSION_ID: &str = "nkjjgekdgcfpiehfkmiinhfjejfpmoig";
/// The only origin the host answers.
pub const EXTENSION_ORIGIN: &str = "chrome-extension://nkjjgekdgcfpiehfkmiinhfjejfpmoig/";
/// Largest message accepted from the browser (the extension's requests are small).
pub const MAX_REQUEST_BYTES: u32 = 64 * 1024;
/// Chromium's limit for a message to the browser.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

#[derive(Debug, Error)]
pub enum NativeHostError {
    #[error("the caller {0:?} is not the SSO extension ({EXTENSION_ORIGIN})")]
    WrongOrigin(String),
    #[error("a message of {0} bytes is over the {MAX_REQUEST_BYTES}-byte limit")]
    TooLarge(u32),
    #[error("reading from the browser: {0}")]
    Read(std::io::Error),
    #[error("writing to the browser: {0}")]
    Write(std::io::Error),
    #[error("the token broker cannot be reached on the bus: {0}")]
    Bus(String),
}

/// Check the origin Chromium passed.
pub fn check_origin(origin: Option<&str>) -> Result<(), NativeHostError> {
    match origin {
        Some(o) if o == EXTENSION_ORIGIN => Ok(()),
        other => Err(NativeHostError::WrongOrigin(
            other.unwrap_or_default().to_string(),
        )),
    }
}

/// One message from the browser, or `None` at the end of input (the browser closed the port).
pub async fn read_message<R: AsyncRead + Unpin>(
    input: &mut R,
) -> Result<Option<Vec<u8>>, NativeHostError> {
    let mut length = [0u8; 4];
    match input.read_exact(&mut length).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(NativeHostError::Read(e)),
    }
    let length = u32::from_ne_bytes(length);
    if length > MAX_REQUEST_BYTES {
        return Err(NativeHostError::TooLarge(length));
    }
    let mut body = vec![0u8; length as usize];
    input
        .read_exact(&mut body)
        .await
        .map_err(NativeHostError::Read)?;
    Ok(Some(body))
}

/// Write one message to the browser (an answer over Chromium's limit becomes an error answer).
pub async fn write_message<W: AsyncWrite + Unpin>(
    output: &mut W,
    message: &Value,
) -> Result<(), NativeHostError> {
    let mut bytes = serde_json::to_vec(message).unwrap_or_default();
    if bytes.len() > MAX_ANSWER_BYTES {
        bytes = serde_json::to_vec(&error_answer("the answer is too large for the browser"))
            .unwrap_or_default();
    }
    let length = (bytes.len() as u32).to_ne_bytes();
    output
        .write_all(&length)
        .await
        .map_err(NativeHostError::Write)?;
    output
        .write_all(&bytes)
        .await
        .map_err(NativeHostError::Write)?;
    output.flush().await.map_err(NativeHostError::Write)
}

/// `{"error": …}` in the broker's own shape, so the extension reads one kind of error.
fn failure(context: &str, status: i32) -> Value {
    serde_json::to_value(ErrorResponse {
        error: BrokerError {
            context: context.to_string(),
            status,
            sub_status: 0,
            error_code: 0,
        },
    })
    .unwrap_or_default()
}

fn error_answer(context: &str) -> Value {
    failure(context, status::API_CONTRACT_VIOLATION)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HostRequest {
    command: String,
    #[serde(default)]
    sso_url: Option<String>,
    #[serde(default)]
    account: Option<Value>,
}

/// The host: a connection to the broker and the authority the device joined.
pub struct NativeHost {
    connection: zbus::Connection,
    authority: String,
}

impl NativeHost {
    pub async fn connect(bus: &Bus, authority: &str) -> Result<Self, NativeHostError> {
        let builder = match bus {
            Bus::Session => zbus::connection::Builder::session(),
            Bus::Address(address) => zbus::connection::Builder::address(address.as_str()),
        };
        let connection = builder
            .map_err(|e| NativeHostError::Bus(e.to_string()))?
            .build()
            .await
            .map_err(|e| NativeHostError::Bus(e.to_string()))?;
        Ok(NativeHost {
            connection,
            authority: authority.trim_end_matches('/').to_string(),
        })
    }

    /// Answer messages until the browser closes the port.
    pub async fn serve<R, W>(&self, input: &mut R, output: &mut W) -> Result<(), NativeHostError>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        while let Some(message) = read_message(input).await? {
            let answer = self.answer(&message).await;
            write_message(output, &answer).await?;
        }
        Ok(())
    }

    /// The answer to one message.
    pub async fn answer(&self, message: &[u8]) -> Value {
        let request: HostRequest = match serde_json::from_slice(message) {
            Ok(request) => request,
            Err(e) => return error_answer(&format!("the message is not a request: {e}")),
        };
        let (method, body) = match request.command.as_str() {
            "acquirePrtSsoCookie" => (
                "acquirePrtSsoCookie",
                json!({"account": request.account, "ssoUrl": request.sso_url}),
            ),
            "getAccounts" => ("getAccounts", json!({})),
            other => return error_answer(&format!("unknown command {other:?}")),
        };
        let mut answer = match self.call(method, &body).await {
            Ok(answer) => answer,
            Err(e) => return failure(&e.to_string(), status::UNEXPECTED),
        };
        if let Some(object) = answer.as_object_mut() {
            object.insert("authority".into(), Value::String(self.authority.clone()));
        }
        answer
    }

    async fn call(&self, method: &str, body: &Value) -> Result<Value, NativeHostError> {
        let bus = |e: zbus::Error| NativeHostError::Bus(e.to_string());
        let proxy = zbus::Proxy::new(&self.connection, BUS_NAME, OBJECT_PATH, INTERFACE)
            .await
            .map_err(bus)?;
        let correlation = uuid::Uuid::new_v4().to_string();
        let reply: String = proxy
            .call(method, &("0.0", correlation.as_str(), body.to_string()))
            .await
            .map_err(bus)?;
        serde_json::from_str(&reply).map_err(|e| NativeHostError::Bus(format!("answer: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_are_length_prefixed_in_native_byte_order() {
        let mut wire = Vec::new();
        write_message(&mut wire, &json!({"a": 1})).await.unwrap();
        assert_eq!(&wire[..4], &7u32.to_ne_bytes());
        assert_eq!(&wire[4..], br#"{"a":1}"#);
        let mut input = wire.as_slice();
        assert_eq!(
            read_message(&mut input).await.unwrap().unwrap(),
            br#"{"a":1}"#
        );
        assert!(
            read_message(&mut input).await.unwrap().is_none(),
            "end of input"
        );
    }

    #[tokio::test]
    async fn an_oversized_or_truncated_message_is_refused() {
        let mut huge = (MAX_REQUEST_BYTES + 1).to_ne_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert!(matches!(
            read_message(&mut huge.as_slice()).await,
            Err(NativeHostError::TooLarge(_))
        ));
        let mut short = 10u32.to_ne_bytes().to_vec();
        short.extend_from_slice(b"{}");
        assert!(matches!(
            read_message(&mut short.as_slice()).await,
            Err(NativeHostError::Read(_))
        ));
    }

    #[test]
    fn only_the_extensions_origin_is_served() {
        assert!(check_origin(Some(EXTENSION_ORIGIN)).is_ok());
        for other in [
            None,
            Some("chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"),
            Some("https://evil.example/"),
        ] {
            assert!(check_origin(other).is_err(), "{other:?}");
        }
    }
}
