//! WebSocket client of the host bridge (protocol v2 of `cxh_wire::bridge`).
//!
//! Every connection starts the same way: open, send `hello{protocol, secret}`, wait for
//! `welcome{host}`. The bridge closes any connection whose first frame is not a valid hello,
//! so nothing else may be sent before it.

use cxh_wire::bridge::{BridgeError, ClientMessage, HostContext, ServerMessage, PROTOCOL_VERSION};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};

use crate::flow::BridgeEndpoint;

/// Why talking to the bridge stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum BridgeFailure {
    /// The socket could not be opened or a frame could not be sent.
    Unreachable(String),
    /// The bridge answered with `failed` (refused the hello, or the join failed).
    Refused(BridgeError),
    /// The bridge spoke something this app does not understand.
    Protocol(String),
    /// The socket closed before the exchange finished.
    Closed,
}

impl BridgeFailure {
    /// Text for the error page's details.
    pub fn describe(&self) -> String {
        match self {
            BridgeFailure::Unreachable(why) | BridgeFailure::Protocol(why) => why.clone(),
            BridgeFailure::Refused(error) => error.message.clone(),
            BridgeFailure::Closed => "the connection closed".to_string(),
        }
    }
}

/// An open, greeted connection to the bridge.
pub struct BridgeConnection {
    socket: WebSocket,
    /// What the bridge said about the device in its `welcome`.
    pub host: HostContext,
}

impl BridgeConnection {
    /// Open the socket, say hello and wait for the welcome.
    pub async fn connect(endpoint: &BridgeEndpoint) -> Result<BridgeConnection, BridgeFailure> {
        let mut socket = WebSocket::open(&endpoint.url)
            .map_err(|error| BridgeFailure::Unreachable(error.to_string()))?;
        let hello = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            secret: endpoint.secret.clone(),
        };
        send_frame(&mut socket, &hello).await?;
        match next_frame(&mut socket).await? {
            ServerMessage::Welcome { protocol, host } if protocol == PROTOCOL_VERSION => {
                Ok(BridgeConnection { socket, host })
            }
            ServerMessage::Welcome { protocol, .. } => Err(BridgeFailure::Protocol(format!(
                "the bridge speaks protocol {protocol}, this page speaks {PROTOCOL_VERSION}"
            ))),
            ServerMessage::Failed { error } => Err(BridgeFailure::Refused(error)),
            other => Err(BridgeFailure::Protocol(format!(
                "expected welcome, got {other:?}"
            ))),
        }
    }

    /// Ask the bridge to join with the validated id_token.
    pub async fn start_join(&mut self, id_token: &str, nonce: &str) -> Result<(), BridgeFailure> {
        let start = ClientMessage::StartJoin {
            id_token: id_token.to_string(),
            nonce: nonce.to_string(),
        };
        send_frame(&mut self.socket, &start).await
    }

    /// Send any protocol frame (e.g. `mdm_grant` before `start_join`).
    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), BridgeFailure> {
        send_frame(&mut self.socket, message).await
    }

    /// The next frame from the bridge; a closed socket is [`BridgeFailure::Closed`].
    pub async fn next(&mut self) -> Result<ServerMessage, BridgeFailure> {
        next_frame(&mut self.socket).await
    }

    /// Close politely; the bridge treats a vanished page the same way.
    pub fn close(self) {
        let _ = self.socket.close(Some(1000), None);
    }
}

/// A nonce of the bridge's for the sign-in request (`request_nonce` -> `nonce`), on its own
/// connection: the page is about to navigate away to the authority.
pub async fn request_nonce(endpoint: &BridgeEndpoint) -> Result<String, BridgeFailure> {
    let mut connection = BridgeConnection::connect(endpoint).await?;
    connection.send(&ClientMessage::RequestNonce).await?;
    let answer = connection.next().await;
    connection.close();
    match answer? {
        ServerMessage::Nonce { value } if !value.is_empty() => Ok(value),
        ServerMessage::Failed { error } => Err(BridgeFailure::Refused(error)),
        other => Err(BridgeFailure::Protocol(format!(
            "expected nonce, got {other:?}"
        ))),
    }
}

/// Longest wait for the bridge's answer to `prepare_auto_logon` before the sign-in goes on
/// without it (the automatic sign-in is a convenience, never a reason to block the join).
const AUTO_LOGON_WAIT_MS: i32 = 3000;

/// Hand the automatic sign-in password to the bridge on its own connection (OOBE, managed
/// users; the bridge checks both again) and wait briefly for its answer. `password` is moved in
/// and dropped here: it is never stored in the session or anywhere else by the page.
/// Returns whether the bridge holds it.
pub async fn prepare_auto_logon(endpoint: &BridgeEndpoint, upn: String, password: String) -> bool {
    let exchange = async move {
        let mut connection = BridgeConnection::connect(endpoint).await.ok()?;
        let message = ClientMessage::PrepareAutoLogon {
            upn,
            password: cxh_wire::bridge::Redacted(password),
        };
        connection.send(&message).await.ok()?;
        let answer = connection.next().await.ok();
        connection.close();
        match answer? {
            ServerMessage::AutoLogonBuffer { accepted, .. } => Some(accepted),
            _ => Some(false),
        }
    };
    let timeout = sleep_ms(AUTO_LOGON_WAIT_MS);
    futures::pin_mut!(exchange, timeout);
    match futures::future::select(exchange, timeout).await {
        futures::future::Either::Left((answer, _)) => answer.unwrap_or(false),
        futures::future::Either::Right(_) => false,
    }
}

/// Resolves after `ms` milliseconds (a `setTimeout` promise).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

async fn send_frame(socket: &mut WebSocket, message: &ClientMessage) -> Result<(), BridgeFailure> {
    let json = serde_json::to_string(message)
        .map_err(|error| BridgeFailure::Protocol(error.to_string()))?;
    socket
        .send(Message::Text(json))
        .await
        .map_err(|error| BridgeFailure::Unreachable(error.to_string()))
}

async fn next_frame(socket: &mut WebSocket) -> Result<ServerMessage, BridgeFailure> {
    match socket.next().await {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).map_err(|error| {
            BridgeFailure::Protocol(format!("unreadable frame from the bridge: {error}"))
        }),
        Some(Ok(Message::Bytes(_))) => Err(BridgeFailure::Protocol(
            "binary frame from the bridge".to_string(),
        )),
        // An error before any frame means the socket never opened (nothing listens there).
        Some(Err(WebSocketError::ConnectionError)) => Err(BridgeFailure::Unreachable(
            "the WebSocket connection failed".to_string(),
        )),
        Some(Err(_)) | None => Err(BridgeFailure::Closed),
    }
}
