//! A device joined and signed in, its broker on a private dbus-daemon, and the calls a D-Bus
//! client makes (our zbus client, and `dbus-send`): shared by the broker suites.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use cxh_wire::broker::{TokenOutcome, TokenResponse, BUS_NAME, INTERFACE, OBJECT_PATH};
use host_bridge::broker::dbus::{self, Bus};
use host_bridge::broker::interactive::SignInWindow;
use host_bridge::broker::Broker;
use host_bridge::config::BridgeConfig;
use host_bridge::keys::KeyProvider;
use host_bridge::prt::signin::PrtContext;
use host_bridge::tpm::{provider_for_policy, KeyProtection};

use super::dbus::DbusDaemon;
use super::emulator::{join_as_adele, Emulator, ADELE, ADELE_PASSWORD};

/// Another app than the join's: Microsoft Edge's client id, as linux-entra-sso sends it.
pub const EDGE: &str = "d7b530a4-7680-4c23-a8bf-c52c121d2e87";
pub const GRAPH: &str = "https://graph.microsoft.com/.default";

pub struct Device {
    pub state: std::path::PathBuf,
    pub device_id: String,
}

pub async fn join_and_sign_in(
    emulator: &Emulator,
    state: &Path,
    keys: Arc<dyn KeyProvider>,
) -> Device {
    let config = BridgeConfig::new(&emulator.base, state).unwrap();
    let (_, device_id) = join_as_adele(&config, keys).await;
    let prt = PrtContext::open(state, None, None).unwrap();
    prt.sign_in(ADELE, ADELE_PASSWORD).await.unwrap();
    Device {
        state: state.to_path_buf(),
        device_id,
    }
}

pub async fn software_device(emulator: &Emulator, temp: &Path) -> Device {
    let keys = provider_for_policy(KeyProtection::Software, "").unwrap();
    join_and_sign_in(emulator, &temp.join("state"), keys).await
}

/// A broker on its own bus, and a client connection to that bus.
pub struct Running {
    pub broker: Arc<Broker>,
    _server: zbus::Connection,
    pub client: zbus::Connection,
    pub bus: DbusDaemon,
}

pub async fn serve(device: &Device) -> Running {
    serve_with(device, SignInWindow::default()).await
}

/// [`serve`], opening interactive sign-ins with `window`.
pub async fn serve_with(device: &Device, window: SignInWindow) -> Running {
    let bus = DbusDaemon::start();
    let broker = Arc::new(
        Broker::new(PrtContext::open(&device.state, None, None).unwrap())
            .with_sign_in_window(window),
    );
    let server = dbus::serve(broker.clone(), &Bus::Address(bus.address.clone()))
        .await
        .unwrap();
    let client = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .build()
        .await
        .unwrap();
    Running {
        broker,
        _server: server,
        client,
        bus,
    }
}

pub async fn call(client: &zbus::Connection, method: &str, request: serde_json::Value) -> String {
    let proxy = zbus::Proxy::new(client, BUS_NAME, OBJECT_PATH, INTERFACE)
        .await
        .unwrap();
    proxy
        .call(method, &("0.0", "correlation-1", request.to_string()))
        .await
        .unwrap()
}

pub fn silent_request(account: &serde_json::Value, scopes: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "authParameters": {
            "account": account,
            "additionalQueryParametersForAuthorization": {},
            "authority": "https://login.microsoftonline.com/common",
            "authorizationType": 1,
            "clientId": EDGE,
            "redirectUri": "https://login.microsoftonline.com/common/oauth2/nativeclient",
            "requestedScopes": scopes,
            "username": account["username"],
            "uxContextHandle": -1
        }
    })
}

pub fn token_of(
    answer: &str,
) -> Result<cxh_wire::broker::BrokerToken, cxh_wire::broker::BrokerError> {
    match serde_json::from_str::<TokenResponse>(answer)
        .unwrap_or_else(|e| panic!("{e}: {answer}"))
        .broker_token_response
    {
        TokenOutcome::Token(token) => Ok(*token),
        TokenOutcome::Failed { error } => Err(error),
    }
}

/// acquireTokenSilently over D-Bus for `account` and `scopes`.
pub async fn silent(
    client: &zbus::Connection,
    account: &serde_json::Value,
    scopes: &[&str],
) -> Result<cxh_wire::broker::BrokerToken, cxh_wire::broker::BrokerError> {
    token_of(
        &call(
            client,
            "acquireTokenSilently",
            silent_request(account, scopes),
        )
        .await,
    )
}

/// Call a broker method with `dbus-send` (Debian's dbus-bin): its literal reply.
pub async fn dbus_send(address: &str, method: &str, request: String) -> String {
    let args = [
        format!("--bus={address}"),
        "--print-reply=literal".into(),
        format!("--dest={BUS_NAME}"),
        OBJECT_PATH.into(),
        format!("{INTERFACE}.{method}"),
        "string:0.0".into(),
        "string:c-2".into(),
        format!("string:{request}"),
    ];
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("dbus-send")
            .args(&args)
            .output()
            .expect("dbus-send (Debian package dbus-bin)")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

pub fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub async fn first_account(client: &zbus::Connection) -> serde_json::Value {
    let answer = call(client, "getAccounts", serde_json::json!({"clientId": EDGE})).await;
    let accounts: serde_json::Value = serde_json::from_str(&answer).unwrap();
    accounts["accounts"][0].clone()
}

/// GET `authorize` for Edge with `cookie` as the `x-ms-RefreshTokenCredential` header, not
/// following the answer: its `Location` (a code for the join web app URL when signed in).
pub async fn authorize_with_cookie(emulator: &Emulator, cookie: &str) -> String {
    let app = format!("{}/WebApp/CloudDomainJoin/4", emulator.base);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser
        .get(format!("{}/common/oauth2/authorize", emulator.base))
        .query(&[
            ("client_id", EDGE),
            ("response_type", "code"),
            ("redirect_uri", app.as_str()),
            ("resource", "https://graph.microsoft.com"),
        ])
        .header("x-ms-RefreshTokenCredential", cookie)
        .send()
        .await
        .unwrap();
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&app), "{location}");
    location
}
