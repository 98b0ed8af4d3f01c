//! The WebSocket server does not keep connections it has no use for: a raw TCP connection
//! that never sends a request, a request that trickles in, an upgraded socket that never says
//! hello, a greeted session that stops answering pings: each is closed after its limit; and
//! beyond the connection cap a new connection is closed at once, until a place is free.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cxh_wire::bridge::{ClientMessage, ServerMessage, PROTOCOL_VERSION};
use futures_util::{SinkExt, StreamExt};
use host_bridge::config::BridgeConfig;
use host_bridge::keys::SoftwareKeyProvider;
use host_bridge::listener::ServerLimits;
use host_bridge::secret::Secret;
use host_bridge::server::{start, BridgeState, RunningBridge};
use support::{FakeCloud, ORIGIN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SHORT: ServerLimits = ServerLimits {
    header_read: Duration::from_millis(400),
    hello: Duration::from_millis(400),
    idle: Duration::from_millis(900),
    max_connections: 64,
};

struct Bridge {
    running: RunningBridge,
    secret: Secret,
    _cloud: Arc<FakeCloud>,
    _dir: tempfile::TempDir,
}

async fn bridge(limits: ServerLimits) -> Bridge {
    let cloud = FakeCloud::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = BridgeConfig::new(&cloud.base, dir.path())
        .unwrap()
        .with_allowed_origins([ORIGIN])
        .unwrap();
    config.server_limits = limits;
    let secret = Secret::random();
    let state = BridgeState::new(config, secret.clone(), Arc::new(SoftwareKeyProvider))
        .await
        .unwrap();
    let running = start(state, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    Bridge {
        running,
        secret,
        _cloud: cloud,
        _dir: dir,
    }
}

/// Wait until the server closes `tcp` (EOF or reset); returns how long it took.
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit, tcp.read(&mut buffer)).await {
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue, // an error response before the close
        }
    }
}

async fn upgraded(bridge: &Bridge) -> Ws {
    let mut request = bridge.running.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", ORIGIN.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn greeted(bridge: &Bridge) -> Ws {
    let mut ws = upgraded(bridge).await;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        secret: bridge.secret.expose().into(),
    };
    ws.send(Message::text(serde_json::to_string(&hello).unwrap()))
        .await
        .unwrap();
    let frame = ws.next().await.unwrap().unwrap();
    let welcome: ServerMessage = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert!(matches!(welcome, ServerMessage::Welcome { .. }));
    ws
}

/// Read (answering pings, as a live page does) until the server closes; panics after `limit`.
async fn ws_closed_within(ws: &mut Ws, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => panic!("the server kept the session open for {limit:?}"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed() {
    let bridge = bridge(SHORT).await;
    let mut tcp = TcpStream::connect(bridge.running.local_addr).await.unwrap();
    let took = closed_within(&mut tcp, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(300),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn a_request_that_trickles_in_is_closed_at_the_header_deadline() {
    let bridge = bridge(SHORT).await;
    let mut tcp = TcpStream::connect(bridge.running.local_addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // One header byte every 100 ms: never idle, never complete.
    let mut closed = false;
    for _ in 0..50 {
        if tcp.write_all(b"X").await.is_err() {
            closed = true;
            break;
        }
        let mut probe = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(100), tcp.read(&mut probe)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            _ => {}
        }
    }
    assert!(closed, "a trickled request kept the connection open");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_upgraded_socket_without_hello_is_closed() {
    let bridge = bridge(SHORT).await;
    let mut ws = upgraded(&bridge).await;
    let started = Instant::now();
    ws_closed_within(&mut ws, Duration::from_secs(5)).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_session_that_stops_answering_pings_is_closed_and_a_live_one_stays() {
    let bridge = bridge(SHORT).await;
    let mut silent = greeted(&bridge).await;
    let mut live = greeted(&bridge).await;
    // The live page keeps reading (tungstenite answers pings while reading); the silent one
    // reads nothing for three idle periods, so it never sends a pong.
    let live_task = tokio::spawn(async move {
        let until = Instant::now() + SHORT.idle * 3;
        while Instant::now() < until {
            let read = tokio::time::timeout(Duration::from_millis(100), live.next()).await;
            if let Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) = read {
                return Err(());
            }
        }
        Ok(live)
    });
    tokio::time::sleep(SHORT.idle * 3).await;
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(2), silent.next()).await {
            Err(_) => panic!("the silent session is still open: {frames:?}"),
            Ok(None | Some(Err(_))) => break,
            Ok(Some(Ok(Message::Close(frame)))) => {
                frames.push(format!("close {frame:?}"));
                break;
            }
            Ok(Some(Ok(other))) => frames.push(format!("{other:?}")),
        }
    }
    assert!(frames.iter().any(|f| f.starts_with("Ping")), "{frames:?}");
    let mut live = live_task
        .await
        .unwrap()
        .expect("the session that answered pings was closed");
    // Still usable.
    live.send(Message::text(r#"{"type":"request_nonce"}"#))
        .await
        .unwrap();
    loop {
        let frame = live.next().await.unwrap().unwrap();
        if let Message::Text(text) = frame {
            assert!(text.as_str().contains("\"nonce\""), "{text}");
            break;
        }
    }
}

#[tokio::test]
async fn beyond_the_cap_a_new_connection_is_closed_until_a_place_is_free() {
    let limits = ServerLimits {
        header_read: Duration::from_secs(20),
        hello: Duration::from_secs(20),
        max_connections: 3,
        ..SHORT
    };
    let bridge = bridge(limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(bridge.running.local_addr).await.unwrap());
    }
    // Give the accept loop time to take all three.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = TcpStream::connect(bridge.running.local_addr).await.unwrap();
    let took = closed_within(&mut fourth, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(2), "{took:?}");
    // A held one still is open (the cap closed only the newcomer).
    let mut probe = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(200), held[0].read(&mut probe))
            .await
            .is_err(),
        "a connection under the cap was closed"
    );
    // Free a place: the page gets in again.
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ws = greeted(&bridge).await;
}
