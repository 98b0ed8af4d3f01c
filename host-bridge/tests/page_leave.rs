//! The page's `leave` through the WebSocket, against the real emulator over HTTPS: a host
//! started with `allow_leave` says so in `welcome`, deletes the device object at DRS with the
//! device certificate (as the `leave` command does) and forgets the join; a host without it
//! refuses the message (`leave_not_allowed`) and keeps both the join and the device object.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cxh_wire::bridge::*;
use futures_util::{SinkExt, StreamExt};
use host_bridge::config::BridgeConfig;
use host_bridge::keys::SoftwareKeyProvider;
use host_bridge::secret::Secret;
use host_bridge::server::{start, BridgeState, RunningBridge};
use host_bridge::store::MachineStore;
use support::emulator::{join_as_adele, Emulator};
use support::ORIGIN;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn config(emulator: &Emulator, ca: &Path, state: &Path) -> BridgeConfig {
    let mut config = BridgeConfig::new(&emulator.base, state)
        .unwrap()
        .with_allowed_origins([ORIGIN])
        .unwrap();
    config.ca_file = Some(ca.to_path_buf());
    config
}

/// Adele joins the device in `state` without a browser; its device id.
async fn join(config: &BridgeConfig) -> String {
    join_as_adele(config, Arc::new(SoftwareKeyProvider)).await.1
}

async fn serve(config: BridgeConfig) -> (RunningBridge, Secret) {
    let secret = Secret::random();
    let state = BridgeState::new(config, secret.clone(), Arc::new(SoftwareKeyProvider))
        .await
        .unwrap();
    (
        start(state, "127.0.0.1:0".parse().unwrap()).await.unwrap(),
        secret,
    )
}

async fn send(ws: &mut Ws, message: &ClientMessage) {
    ws.send(Message::text(serde_json::to_string(message).unwrap()))
        .await
        .unwrap();
}

async fn recv(ws: &mut Ws) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("timed out")
            .expect("closed");
        match frame.unwrap() {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// A greeted connection and the welcome's host context.
async fn welcomed(bridge: &RunningBridge, secret: &Secret) -> (Ws, HostContext) {
    let mut request = bridge.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", ORIGIN.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        secret: secret.expose().into(),
    };
    send(&mut ws, &hello).await;
    match recv(&mut ws).await {
        ServerMessage::Welcome { host, .. } => (ws, host),
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_allows_leave_deletes_the_device_by_certificate_and_forgets_the_join() {
    let temp = tempfile::tempdir().unwrap();
    let (emulator, ca) = Emulator::start_tls(Default::default()).await;
    let mut config = config(&emulator, &ca, &temp.path().join("state"));
    let device_id = join(&config).await;
    assert!(emulator.device(&device_id).is_some());

    config.host.allow_leave = true;
    let (bridge, secret) = serve(config).await;
    let (mut ws, host) = welcomed(&bridge, &secret).await;
    assert!(host.can_leave);
    assert_eq!(host.joined_device_id.as_deref(), Some(device_id.as_str()));
    assert_eq!(host.joined_tenant.as_deref(), Some("Contoso"));
    // A button, not a command.
    assert_eq!(host.leave_command, None);

    send(&mut ws, &ClientMessage::Leave).await;
    assert_eq!(
        recv(&mut ws).await,
        ServerMessage::Left {
            device_id: Some(device_id.clone()),
            deleted_in_tenant: true,
        }
    );
    assert!(emulator.device(&device_id).is_none());
    assert!(!MachineStore::at(temp.path().join("state")).is_joined());
    // The next launch of the page starts the join again.
    let (_ws, host) = welcomed(&bridge, &secret).await;
    assert_eq!(host.joined_device_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_without_allow_leave_refuses_the_leave_and_keeps_the_join() {
    let temp = tempfile::tempdir().unwrap();
    let (emulator, ca) = Emulator::start_tls(Default::default()).await;
    let config = config(&emulator, &ca, &temp.path().join("state"));
    let device_id = join(&config).await;

    let (bridge, secret) = serve(config).await;
    let (mut ws, host) = welcomed(&bridge, &secret).await;
    assert!(!host.can_leave);
    assert!(host
        .leave_command
        .as_deref()
        .is_some_and(|command| command.starts_with("host-bridge leave --state-dir ")));

    send(&mut ws, &ClientMessage::Leave).await;
    match recv(&mut ws).await {
        ServerMessage::Failed { error } => {
            assert_eq!(error.kind, BridgeErrorKind::LeaveNotAllowed)
        }
        other => panic!("expected failed, got {other:?}"),
    }
    assert!(emulator.device(&device_id).is_some());
    assert!(MachineStore::at(temp.path().join("state")).is_joined());
    // The session stays usable after the refusal.
    send(&mut ws, &ClientMessage::RequestNonce).await;
    assert!(matches!(recv(&mut ws).await, ServerMessage::Nonce { .. }));
}
