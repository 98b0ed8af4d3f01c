//! SIGTERM on a real `host-bridge serve` process while a join is under way: the bridge closes
//! its listener and refuses new joins, waits for the running join, and only then exits; a
//! join still short of DRS when the grace period is over stops before the POST.
//!
//! The join is held at a phase by the debug build's pause points ([`host_bridge::pause`]).

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cxh_wire::bridge::{ClientMessage, JoinPhase, ServerMessage, PROTOCOL_VERSION};
use futures_util::{SinkExt, StreamExt};
use host_bridge::pause::{PAUSE_AT_ENV, PAUSE_MARKER_ENV, PAUSE_MS_ENV};
use host_bridge::server::ReadyInfo;
use host_bridge::store::MachineStore;
use support::{entries, FakeCloud, ORIGIN};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Serve {
    child: Child,
    ready: ReadyInfo,
}

/// `host-bridge serve` with software keys, paused `pause_ms` at `pause_at`.
async fn serve(cloud: &FakeCloud, dir: &Path, pause_at: &str, pause_ms: u64, grace: u64) -> Serve {
    let ready_file = dir.join("ready.json");
    let child = Command::new(env!("CARGO_BIN_EXE_host-bridge"))
        .args([
            "serve",
            "--authority",
            &cloud.base,
            "--allowed-origin",
            ORIGIN,
        ])
        .args([
            "--key-protection",
            "software",
            "--device-name",
            "DESKTOP-TERM",
        ])
        .args(["--stop-grace-secs", &grace.to_string()])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--ready-file")
        .arg(&ready_file)
        .env(PAUSE_AT_ENV, pause_at)
        .env(PAUSE_MS_ENV, pause_ms.to_string())
        .env(PAUSE_MARKER_ENV, dir.join("paused"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let ready = wait_for(&ready_file).await;
    Serve {
        child,
        ready: serde_json::from_slice(&ready).unwrap(),
    }
}

async fn wait_for(path: &Path) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(bytes) = std::fs::read(path) {
            if !bytes.is_empty() {
                return bytes;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
            .expect("closed")
            .unwrap();
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Welcomed, with a join started for a token the fake authority signed.
async fn start_join(serve: &Serve, cloud: &FakeCloud) -> Ws {
    let mut request = serve.ready.ws_url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", ORIGIN.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut ws,
        &ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            secret: serve.ready.secret.clone(),
        },
    )
    .await;
    assert!(matches!(recv(&mut ws).await, ServerMessage::Welcome { .. }));
    send(&mut ws, &ClientMessage::RequestNonce).await;
    let ServerMessage::Nonce { value: nonce } = recv(&mut ws).await else {
        panic!("no nonce");
    };
    let id_token = cloud.id_token(&nonce);
    send(&mut ws, &ClientMessage::StartJoin { id_token, nonce }).await;
    ws
}

/// The frames up to the join's outcome (progress frames skipped).
async fn outcome(ws: &mut Ws) -> ServerMessage {
    loop {
        match recv(ws).await {
            ServerMessage::Progress { .. } => continue,
            other => return other,
        }
    }
}

fn terminate(child: &Child) {
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the bridge did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_registration_waits_for_the_join_and_refuses_new_work() {
    let cloud: Arc<FakeCloud> = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    // Held 2 s just before the registration POST (the journal written).
    let mut serve = serve(&cloud, temp.path(), "registering", 2_000, 60).await;
    let mut ws = start_join(&serve, &cloud).await;
    wait_for(&temp.path().join("paused")).await;
    terminate(&serve.child);
    let signalled = Instant::now();

    // A join asked for meanwhile is refused: the bridge is going away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id_token = cloud.id_token("any");
    send(
        &mut ws,
        &ClientMessage::StartJoin {
            id_token,
            nonce: "any".into(),
        },
    )
    .await;
    match outcome(&mut ws).await {
        ServerMessage::Failed { error } => {
            assert!(error.message.contains("stopping"), "{}", error.message)
        }
        other => panic!("a new join was not refused: {other:?}"),
    }
    // And so is a new connection: the listener is closed.
    let addr = serve
        .ready
        .ws_url
        .trim_start_matches("ws://")
        .trim_end_matches('/');
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener still accepts connections after SIGTERM"
    );
    assert!(
        serve.child.try_wait().unwrap().is_none(),
        "the bridge exited with a join under way"
    );

    // The join goes on to the end and its outcome reaches the page before the exit.
    let joined = match outcome(&mut ws).await {
        ServerMessage::Joined { result } => result,
        other => panic!("expected joined, got {other:?}"),
    };
    let status = wait_exit(&mut serve.child, Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    assert!(signalled.elapsed() >= Duration::from_millis(1_500));

    let store = MachineStore::at(temp.path().join("state"));
    let info = store.load_join_info().unwrap().expect("joined");
    assert_eq!(info.device_id, joined.device_id);
    assert!(host_bridge::journal::load(&store).is_none(), "journal kept");
    assert_eq!(entries(store.root()), vec!["join".to_string()]);
    assert_eq!(cloud.registrations.lock().unwrap().len(), 1);
    assert!(cloud.deletes.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_short_of_drs_when_the_grace_period_ends_stops_before_the_post() {
    let cloud: Arc<FakeCloud> = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    // Held 3 s creating keys; the grace period is 1 s.
    let mut serve = serve(&cloud, temp.path(), "creating_keys", 3_000, 1).await;
    let mut ws = start_join(&serve, &cloud).await;
    wait_for(&temp.path().join("paused")).await;
    terminate(&serve.child);

    match outcome(&mut ws).await {
        ServerMessage::Failed { error } => {
            assert!(error.message.contains("stopping"), "{}", error.message);
            assert_eq!(error.phase, Some(JoinPhase::BuildingRequest));
        }
        other => panic!("expected the join to stop, got {other:?}"),
    }
    let status = wait_exit(&mut serve.child, Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    assert!(cloud.registrations.lock().unwrap().is_empty());
    let left = entries(&temp.path().join("state"));
    assert!(left.is_empty(), "left behind: {left:?}");
}
