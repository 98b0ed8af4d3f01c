//! The WebSocket front door and the interactive join through it: origin allowlist, hello
//! secret, protocol version, malformed frames, then full joins against the fake cloud
//! (success, refusals, busy, already joined) and what each leaves in the machine store.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cxh_wire::bridge::*;
use cxh_wire::oidc::IdTokenClaims;
use futures_util::{SinkExt, StreamExt};
use host_bridge::config::BridgeConfig;
use host_bridge::keys::SoftwareKeyProvider;
use host_bridge::secret::Secret;
use host_bridge::server::{start, BridgeState, RunningBridge};
use host_bridge::store::MachineStore;
use support::{entries, FakeCloud, RegistrationMode, ORIGIN};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Bridge {
    running: RunningBridge,
    secret: Secret,
    _cloud: Arc<FakeCloud>,
}

async fn bridge(cloud: &Arc<FakeCloud>, state_dir: &Path) -> Bridge {
    bridge_in(cloud, state_dir, HostFlow::Settings).await
}

async fn bridge_in(cloud: &Arc<FakeCloud>, state_dir: &Path, flow: HostFlow) -> Bridge {
    let mut config = BridgeConfig::new(&cloud.base, state_dir)
        .unwrap()
        .with_allowed_origins([ORIGIN])
        .unwrap();
    config.host.device_name = "DESKTOP-TEST".into();
    config.host.flow = flow;
    config.host.edition = Edition::Enterprise;
    config.host.language = Some("de-DE".into());
    config.host.embedder_origin = Some("http://127.0.0.1:9".into());
    let secret = Secret::random();
    let state = BridgeState::new(config, secret.clone(), Arc::new(SoftwareKeyProvider))
        .await
        .unwrap();
    let running = start(state, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    Bridge {
        running,
        secret,
        _cloud: cloud.clone(),
    }
}

async fn connect(bridge: &Bridge, origin: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut request = bridge.running.ws_url().into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

async fn send(ws: &mut Ws, message: &ClientMessage) {
    ws.send(Message::text(serde_json::to_string(message).unwrap()))
        .await
        .unwrap();
}

/// Ask the bridge to join with this token and nonce.
async fn start_join(ws: &mut Ws, id_token: String, nonce: String) {
    send(ws, &ClientMessage::StartJoin { id_token, nonce }).await;
}

/// A nonce of the bridge's for the next sign-in (`request_nonce` -> `nonce`).
async fn request_nonce(ws: &mut Ws) -> String {
    send(ws, &ClientMessage::RequestNonce).await;
    match recv(ws).await {
        ServerMessage::Nonce { value } => value,
        other => panic!("expected nonce, got {other:?}"),
    }
}

/// Sign in as the page does: a nonce from the bridge, a token for it, then `start_join`.
async fn start_signed_in_join(ws: &mut Ws, cloud: &FakeCloud) {
    let nonce = request_nonce(ws).await;
    start_join(ws, cloud.id_token(&nonce), nonce).await;
}

/// A failed join must leave the machine store as it found it: empty.
fn assert_nothing_left(state_dir: &std::path::Path) {
    let left = entries(state_dir);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The next protocol frame; panics on close or timeout.
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

/// The socket is closed by the server (close frame or end of stream) right after.
async fn assert_closed(ws: &mut Ws) {
    let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("server kept the socket open");
    match next {
        None | Some(Ok(Message::Close(_))) | Some(Err(_)) => {}
        Some(Ok(other)) => panic!("expected close, got {other:?}"),
    }
}

fn failed_kind(message: &ServerMessage) -> BridgeErrorKind {
    match message {
        ServerMessage::Failed { error } => error.kind,
        other => panic!("expected failed, got {other:?}"),
    }
}

async fn welcomed(bridge: &Bridge) -> (Ws, HostContext) {
    let mut ws = connect(bridge, Some(ORIGIN)).await.unwrap();
    send(
        &mut ws,
        &ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            secret: bridge.secret.expose().into(),
        },
    )
    .await;
    match recv(&mut ws).await {
        ServerMessage::Welcome { protocol, host } => {
            assert_eq!(protocol, PROTOCOL_VERSION);
            (ws, host)
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn a_foreign_or_missing_origin_is_refused_with_403() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    for origin in [
        Some("http://evil.example"),
        Some("http://127.0.0.1:10"),
        None,
    ] {
        match connect(&bridge, origin).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "origin {origin:?}")
            }
            Ok(_) => panic!("origin {origin:?} was accepted"),
            Err(other) => panic!("origin {origin:?}: unexpected error {other}"),
        }
    }
}

#[tokio::test]
async fn a_first_frame_other_than_hello_is_unauthorized_and_closed() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let mut ws = connect(&bridge, Some(ORIGIN)).await.unwrap();
    start_join(&mut ws, "x".into(), "n".into()).await;
    assert_eq!(
        failed_kind(&recv(&mut ws).await),
        BridgeErrorKind::Unauthorized
    );
    assert_closed(&mut ws).await;
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized_and_closed() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let mut ws = connect(&bridge, Some(ORIGIN)).await.unwrap();
    let wrong = format!("{}x", bridge.secret.expose());
    send(
        &mut ws,
        &ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            secret: wrong,
        },
    )
    .await;
    let reply = recv(&mut ws).await;
    assert_eq!(failed_kind(&reply), BridgeErrorKind::Unauthorized);
    assert!(
        !serde_json::to_string(&reply)
            .unwrap()
            .contains(bridge.secret.expose()),
        "the secret must not leak"
    );
    assert_closed(&mut ws).await;
}

#[tokio::test]
async fn another_protocol_version_is_a_mismatch_and_closed() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let mut ws = connect(&bridge, Some(ORIGIN)).await.unwrap();
    send(
        &mut ws,
        &ClientMessage::Hello {
            protocol: PROTOCOL_VERSION + 1,
            secret: bridge.secret.expose().into(),
        },
    )
    .await;
    assert_eq!(
        failed_kind(&recv(&mut ws).await),
        BridgeErrorKind::ProtocolMismatch
    );
    assert_closed(&mut ws).await;
}

#[tokio::test]
async fn the_right_secret_gets_welcome_with_the_host_context() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (_ws, host) = welcomed(&bridge).await;
    assert_eq!(host.flow, HostFlow::Settings);
    assert_eq!(host.edition, Edition::Enterprise);
    assert_eq!(host.platform, Platform::Desktop);
    assert_eq!(host.authority, cloud.base);
    assert_eq!(host.device_name, "DESKTOP-TEST");
    assert_eq!(host.os_version, "10.0.22631.4460");
    assert_eq!(host.joined_device_id, None);
    assert_eq!(host.language.as_deref(), Some("de-DE"));
    assert_eq!(host.embedder_origin.as_deref(), Some("http://127.0.0.1:9"));
}

#[tokio::test]
async fn malformed_frames_are_answered_and_the_session_stays() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut ws, _) = welcomed(&bridge).await;
    ws.send(Message::text("{not json")).await.unwrap();
    assert_eq!(
        failed_kind(&recv(&mut ws).await),
        BridgeErrorKind::InvalidMessage
    );
    ws.send(Message::text(r#"{"type":"reboot"}"#))
        .await
        .unwrap();
    assert_eq!(
        failed_kind(&recv(&mut ws).await),
        BridgeErrorKind::InvalidMessage
    );
    send(
        &mut ws,
        &ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            secret: bridge.secret.expose().into(),
        },
    )
    .await;
    assert_eq!(
        failed_kind(&recv(&mut ws).await),
        BridgeErrorKind::InvalidMessage
    );
}

/// Read frames until `joined` or `failed`, returning the progress seen and the outcome.
async fn join_outcome(ws: &mut Ws) -> (Vec<(JoinPhase, PhaseState)>, ServerMessage) {
    let mut progress = Vec::new();
    loop {
        match recv(ws).await {
            ServerMessage::Progress { phase, state } => progress.push((phase, state)),
            outcome => return (progress, outcome),
        }
    }
}

#[tokio::test]
async fn a_join_reports_every_phase_installs_the_device_and_refuses_a_second_one() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut ws, _) = welcomed(&bridge).await;
    let nonce = request_nonce(&mut ws).await;
    let token = cloud.id_token(&nonce);
    start_join(&mut ws, token.clone(), nonce.clone()).await;
    let (progress, outcome) = join_outcome(&mut ws).await;

    let expected: Vec<_> = JoinPhase::ALL
        .iter()
        .flat_map(|p| [(*p, PhaseState::Started), (*p, PhaseState::Completed)])
        .collect();
    assert_eq!(progress, expected);
    let ServerMessage::Joined { result } = outcome else {
        panic!("join failed: {outcome:?}")
    };
    assert_eq!(result.tenant_display_name, "Contoso");
    assert_eq!(result.user_upn, support::UPN);
    assert_eq!(result.device_name, "DESKTOP-TEST");
    assert_eq!(
        result.key_provider,
        "Microsoft Software Key Storage Provider"
    );
    assert!(!result.tpm_protected);

    // What DRS received: the id_token as bearer and a Windows-shaped request.
    let (auth, request) = cloud.registrations.lock().unwrap()[0].clone();
    assert_eq!(auth, format!("Bearer {token}"));
    assert_eq!(request.device_display_name, "DESKTOP-TEST");
    assert_eq!(request.target_domain, "127.0.0.1");

    // The machine store holds exactly the committed join.
    assert_eq!(entries(temp.path()), vec!["join"]);
    let join_files = entries(&temp.path().join("join"));
    assert_eq!(
        join_files,
        vec![
            "device-cert.der",
            "device-cert.pem",
            "device-key.bin",
            "join-info.json",
            "transport-key.bin"
        ]
    );
    let info = MachineStore::at(temp.path())
        .load_join_info()
        .unwrap()
        .unwrap();
    assert_eq!(info.device_id, result.device_id);
    assert_eq!(info.thumbprint, result.thumbprint);
    let info_text = std::fs::read_to_string(temp.path().join("join/join-info.json")).unwrap();
    assert!(
        !info_text.contains(&token),
        "join info must cache claims, not the raw token"
    );
    assert_eq!(info.token_claims["nonce"], nonce.as_str());

    // A second join is refused without contacting DRS, in this session and a new one.
    let hits = cloud
        .discovery_hits
        .load(std::sync::atomic::Ordering::SeqCst);
    start_join(&mut ws, cloud.id_token("n2"), "n2".into()).await;
    assert_eq!(
        failed_kind(&recv(&mut ws).await),
        BridgeErrorKind::AlreadyJoined
    );
    let (_ws2, host) = welcomed(&bridge).await;
    assert_eq!(
        host.joined_device_id.as_deref(),
        Some(result.device_id.as_str())
    );
    assert_eq!(
        cloud
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        hits
    );
    assert_eq!(cloud.registrations.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_token_with_the_wrong_nonce_or_audience_is_refused_before_any_phase() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut ws, _) = welcomed(&bridge).await;

    let issued = request_nonce(&mut ws).await;
    let other = request_nonce(&mut ws).await;
    start_join(&mut ws, cloud.id_token(&issued), other).await;
    let (progress, outcome) = join_outcome(&mut ws).await;
    assert!(progress.is_empty());
    assert_eq!(failed_kind(&outcome), BridgeErrorKind::InvalidToken);

    let refused = |edit: &dyn Fn(&mut IdTokenClaims), nonce: &str| {
        let mut claims = cloud.id_token_claims(nonce);
        edit(&mut claims);
        cloud.sign(&claims)
    };
    let edits: [&dyn Fn(&mut IdTokenClaims); 3] = [
        &|c| c.aud = "some-other-app".into(),
        &|c| c.iss = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/".into(),
        &|c| {
            c.exp -= 7200;
            c.nbf -= 7200;
        },
    ];
    for edit in edits {
        let nonce = request_nonce(&mut ws).await;
        start_join(&mut ws, refused(edit, &nonce), nonce).await;
        assert_eq!(
            failed_kind(&join_outcome(&mut ws).await.1),
            BridgeErrorKind::InvalidToken
        );
    }

    // A token whose signature was tampered with.
    let nonce = request_nonce(&mut ws).await;
    let token = cloud.id_token(&nonce);
    let tampered = format!("{}AAAA", &token[..token.len() - 4]);
    start_join(&mut ws, tampered, nonce).await;
    assert_eq!(
        failed_kind(&join_outcome(&mut ws).await.1),
        BridgeErrorKind::InvalidToken
    );

    assert_eq!(
        cloud
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert!(entries(temp.path()).is_empty());
}

/// The attack the bridge-issued nonce stops: a validly signed token for the right app and
/// user, with a nonce the page (or whoever holds the token) chose itself.
#[tokio::test]
async fn a_nonce_the_bridge_did_not_issue_is_refused() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut ws, _) = welcomed(&bridge).await;
    let _issued = request_nonce(&mut ws).await;
    start_join(
        &mut ws,
        cloud.id_token("chosen-by-the-page"),
        "chosen-by-the-page".into(),
    )
    .await;
    let (progress, outcome) = join_outcome(&mut ws).await;
    assert!(progress.is_empty());
    let ServerMessage::Failed { error } = outcome else {
        panic!("expected failure, got {outcome:?}")
    };
    assert_eq!(error.kind, BridgeErrorKind::InvalidToken);
    assert!(
        error.message.contains("not issued by this bridge"),
        "{}",
        error.message
    );

    // Nor is a nonce of another bridge process.
    let other_dir = tempfile::tempdir().unwrap();
    let other = bridge_in(&cloud, other_dir.path(), HostFlow::Settings).await;
    let (mut other_ws, _) = welcomed(&other).await;
    let foreign = request_nonce(&mut other_ws).await;
    start_join(&mut ws, cloud.id_token(&foreign), foreign).await;
    assert_eq!(
        failed_kind(&join_outcome(&mut ws).await.1),
        BridgeErrorKind::InvalidToken
    );
    assert_eq!(
        cloud
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn each_nonce_starts_at_most_one_join() {
    let cloud = FakeCloud::start().await;
    cloud.set_mode(RegistrationMode::Reject);
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut ws, _) = welcomed(&bridge).await;
    let nonce = request_nonce(&mut ws).await;
    let token = cloud.id_token(&nonce);
    start_join(&mut ws, token.clone(), nonce.clone()).await;
    assert_eq!(
        failed_kind(&join_outcome(&mut ws).await.1),
        BridgeErrorKind::Registration
    );
    // The same token again (a replayed redirect, a retry by a page that kept it): refused
    // before discovery, although DRS would now accept it.
    cloud.set_mode(RegistrationMode::Issue);
    let hits = cloud
        .discovery_hits
        .load(std::sync::atomic::Ordering::SeqCst);
    let (mut again, _) = welcomed(&bridge).await;
    start_join(&mut again, token, nonce).await;
    let ServerMessage::Failed { error } = join_outcome(&mut again).await.1 else {
        panic!("the replay was accepted")
    };
    assert_eq!(error.kind, BridgeErrorKind::InvalidToken);
    assert!(error.message.contains("already used"), "{}", error.message);
    assert_eq!(
        cloud
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        hits
    );
    assert_nothing_left(temp.path());
}

#[tokio::test]
async fn a_registration_refused_by_drs_leaves_no_key_or_staging_dir() {
    let cloud = FakeCloud::start().await;
    cloud.set_mode(RegistrationMode::Reject);
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut ws, _) = welcomed(&bridge).await;
    start_signed_in_join(&mut ws, &cloud).await;
    let (progress, outcome) = join_outcome(&mut ws).await;
    assert!(
        progress.contains(&(JoinPhase::CreatingKeys, PhaseState::Completed)),
        "keys were created first"
    );
    let ServerMessage::Failed { error } = outcome else {
        panic!("expected failure")
    };
    assert_eq!(error.kind, BridgeErrorKind::Registration);
    assert_eq!(error.phase, Some(JoinPhase::Registering));
    assert!(
        error.message.contains("HTTP 400, quota_exceeded")
            && error.message.contains("maximum number of devices"),
        "the server's reason is passed on: {}",
        error.message
    );
    assert_nothing_left(temp.path());
}

#[tokio::test]
async fn a_certificate_for_another_key_is_refused_and_nothing_remains() {
    let cloud = FakeCloud::start().await;
    cloud.set_mode(RegistrationMode::WrongKey);
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut ws, _) = welcomed(&bridge).await;
    start_signed_in_join(&mut ws, &cloud).await;
    let ServerMessage::Failed { error } = join_outcome(&mut ws).await.1 else {
        panic!("expected failure")
    };
    assert_eq!(error.kind, BridgeErrorKind::CertificateInstall);
    assert_eq!(error.phase, Some(JoinPhase::InstallingCertificate));
    assert!(
        error.message.contains("not the device key"),
        "{}",
        error.message
    );
    // DRS had registered the device: the bridge took the device object back out of the
    // tenant, with the same bearer, and says so.
    let deletes = cloud.deletes.lock().unwrap().clone();
    assert_eq!(deletes.len(), 1, "exactly one DELETE of the device object");
    assert!(uuid::Uuid::parse_str(&deletes[0]).is_ok(), "{deletes:?}");
    assert!(
        error.message.contains(&deletes[0])
            && error.message.contains("removed from the tenant again"),
        "{}",
        error.message
    );
    assert_nothing_left(temp.path());
}

#[tokio::test]
async fn a_half_present_join_dir_stops_a_join_before_drs() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    // A join dir without its join info (a crash, a hand edit): commit would refuse it.
    std::fs::create_dir(temp.path().join("join")).unwrap();
    std::fs::write(temp.path().join("join/device-key.bin"), b"k").unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut ws, _) = welcomed(&bridge).await;
    start_signed_in_join(&mut ws, &cloud).await;
    assert_eq!(
        failed_kind(&recv(&mut ws).await),
        BridgeErrorKind::AlreadyJoined
    );
    assert_eq!(
        cloud
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert!(cloud.registrations.lock().unwrap().is_empty());
}

#[tokio::test]
async fn only_one_join_runs_at_a_time() {
    let cloud = FakeCloud::start().await;
    cloud.set_mode(RegistrationMode::Slow);
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge(&cloud, temp.path()).await;
    let (mut first, _) = welcomed(&bridge).await;
    let (mut second, _) = welcomed(&bridge).await;
    start_signed_in_join(&mut first, &cloud).await;
    // Wait until the first join is at DRS, then try a second one.
    loop {
        if let ServerMessage::Progress {
            phase: JoinPhase::Registering,
            state: PhaseState::Started,
        } = recv(&mut first).await
        {
            break;
        }
    }
    start_signed_in_join(&mut second, &cloud).await;
    assert_eq!(failed_kind(&recv(&mut second).await), BridgeErrorKind::Busy);
    let (_, outcome) = join_outcome(&mut first).await;
    assert!(
        matches!(outcome, ServerMessage::Joined { .. }),
        "{outcome:?}"
    );
}

/// `prepare_auto_logon` on its own connection (as the page sends it before the form post);
/// returns `(accepted, reason)`.
async fn prepare_auto_logon(bridge: &Bridge, upn: &str, password: &str) -> (bool, Option<String>) {
    let (mut ws, _) = welcomed(bridge).await;
    send(
        &mut ws,
        &ClientMessage::PrepareAutoLogon {
            upn: upn.into(),
            password: Redacted(password.into()),
        },
    )
    .await;
    match recv(&mut ws).await {
        ServerMessage::AutoLogonBuffer { accepted, reason } => (accepted, reason),
        other => panic!("expected auto_logon_buffer, got {other:?}"),
    }
}

/// Join on a new connection (after the sign-in round trip) with the token `token_for` makes
/// for a nonce the bridge issued.
async fn join_with(bridge: &Bridge, token_for: impl FnOnce(&str) -> String) -> ServerMessage {
    let nonce = {
        let (mut ws, _) = welcomed(bridge).await;
        request_nonce(&mut ws).await
    };
    let (mut ws, _) = welcomed(bridge).await;
    start_join(&mut ws, token_for(&nonce), nonce).await;
    join_outcome(&mut ws).await.1
}

fn joined(outcome: ServerMessage) -> JoinResult {
    match outcome {
        ServerMessage::Joined { result } => result,
        other => panic!("join failed: {other:?}"),
    }
}

#[tokio::test]
async fn oobe_managed_join_writes_only_ciphertext_of_the_password_to_the_transport_key() {
    use rsa::pkcs8::DecodePrivateKey;
    use std::os::unix::fs::PermissionsExt;
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge_in(&cloud, temp.path(), HostFlow::Oobe).await;
    let (accepted, reason) = prepare_auto_logon(&bridge, support::UPN, support::PASSWORD).await;
    assert!(accepted, "{reason:?}");
    let result = joined(join_with(&bridge, |n| cloud.id_token(n)).await);
    assert!(result.auto_logon_prepared);

    let path = temp.path().join("join/autologon.bin");
    let bytes = std::fs::read(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let password = support::PASSWORD.as_bytes();
    assert!(!bytes.windows(password.len()).any(|w| w == password));
    let file: host_bridge::autologon::AutoLogonFile = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(file.upn, support::UPN);
    assert_eq!(file.algorithm, "RSA-OAEP-256");
    use base64::Engine;
    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(&file.ciphertext)
        .unwrap();
    assert!(!ciphertext.windows(password.len()).any(|w| w == password));
    // The ciphertext is genuine: the transport key (software here) opens it.
    let blob = std::fs::read(temp.path().join("join/transport-key.bin")).unwrap();
    let transport = rsa::RsaPrivateKey::from_pkcs8_der(&blob).unwrap();
    let plain = transport
        .decrypt(rsa::Oaep::new::<sha2::Sha256>(), &ciphertext)
        .unwrap();
    assert_eq!(plain, password);

    let status = host_bridge::status::collect(&MachineStore::at(temp.path()), "X").unwrap();
    assert!(status.device.unwrap().auto_logon_prepared);
    // leave removes it with the join.
    MachineStore::at(temp.path()).remove_join().unwrap();
    assert!(!path.exists());
}

#[tokio::test]
async fn settings_and_federated_users_get_no_buffer() {
    let cloud = FakeCloud::start().await;
    let settings_dir = tempfile::tempdir().unwrap();
    let settings = bridge_in(&cloud, settings_dir.path(), HostFlow::Settings).await;
    let (accepted, reason) = prepare_auto_logon(&settings, support::UPN, support::PASSWORD).await;
    assert!(!accepted);
    assert!(reason.unwrap().contains("OOBE"));
    let result = joined(join_with(&settings, |n| cloud.id_token(n)).await);
    assert!(!result.auto_logon_prepared);
    assert!(!settings_dir.path().join("join/autologon.bin").exists());

    let oobe_dir = tempfile::tempdir().unwrap();
    let oobe = bridge_in(&cloud, oobe_dir.path(), HostFlow::Oobe).await;
    let (accepted, reason) =
        prepare_auto_logon(&oobe, "diego.siciliani@fabrikam-corp.com", "Diego-Fed-11").await;
    assert!(!accepted);
    assert!(reason.unwrap().contains("Federated"));
    // Even a held password is not written for a federated token (amr "fed").
    let (accepted, _) = prepare_auto_logon(&oobe, support::UPN, support::PASSWORD).await;
    assert!(accepted);
    let result = joined(
        join_with(&oobe, |n| {
            let mut claims = cloud.id_token_claims(n);
            claims.amr = vec!["pwd".into(), "fed".into()];
            cloud.sign(&claims)
        })
        .await,
    );
    assert!(!result.auto_logon_prepared);
    assert!(!oobe_dir.path().join("join/autologon.bin").exists());
}

#[tokio::test]
async fn a_failed_join_discards_the_password_and_writes_nothing() {
    let cloud = FakeCloud::start().await;
    cloud.set_mode(RegistrationMode::Reject);
    let temp = tempfile::tempdir().unwrap();
    let bridge = bridge_in(&cloud, temp.path(), HostFlow::Oobe).await;
    let (accepted, _) = prepare_auto_logon(&bridge, support::UPN, support::PASSWORD).await;
    assert!(accepted);
    let outcome = join_with(&bridge, |n| cloud.id_token(n)).await;
    assert_eq!(failed_kind(&outcome), BridgeErrorKind::Registration);
    assert!(
        entries(temp.path()).is_empty(),
        "{:?}",
        entries(temp.path())
    );
    // The retry joins, but the failed attempt's password is gone.
    cloud.set_mode(RegistrationMode::Issue);
    let result = joined(join_with(&bridge, |n| cloud.id_token(n)).await);
    assert!(!result.auto_logon_prepared);
    assert!(!temp.path().join("join/autologon.bin").exists());
}
