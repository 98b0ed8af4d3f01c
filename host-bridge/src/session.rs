//! One WebSocket session with the join web app.
//!
//! The first frame must be `hello` with the per-launch secret and the protocol version;
//! anything else is answered `unauthorized` (or `protocol_mismatch`) and the socket is closed.
//! After `welcome`, `request_nonce` hands out a nonce for the sign-in request
//! ([`crate::nonce`]) and `start_join` runs a join in the background while the session keeps
//! reading, so a second request is answered (`busy`) instead of queued, and progress frames
//! stream out as the phases happen. Malformed frames get `invalid_message`; the session stays.
//! `prepare_auto_logon` (OOBE, managed users) hands over the automatic sign-in password, kept
//! by [`crate::autologon`] until a join for the same user succeeds or fails. `leave` (hosts
//! that allow it) is [`crate::page_leave`].

use std::sync::Arc;
use tokio::time::Instant;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use cxh_wire::bridge::{BridgeErrorKind, ClientMessage, ServerMessage, PROTOCOL_VERSION};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::error::{protocol_error, JoinError};
use crate::host::host_context;
use crate::join::{already_joined, run_join, JoinIdentity};
use crate::mdm::{self, MdmGrant};
use crate::nonce::NonceRefusal;
use crate::secret::Secret;
use crate::server::BridgeState;
use crate::token::TokenError;

type Sink = SplitSink<WebSocket, Message>;
type Stream = SplitStream<WebSocket>;

/// Serve one connection until the page closes it.
pub async fn run(socket: WebSocket, state: Arc<BridgeState>) {
    let (mut sink, mut stream) = socket.split();
    if !handshake(&mut sink, &mut stream, &state).await {
        return;
    }
    let (outbox, mut outgoing) = unbounded_channel::<ServerMessage>();
    let mut mdm_grant: Option<MdmGrant> = None;
    // A page that went away without closing (a killed browser, a half-open socket) stops
    // answering pings: after `idle` of silence the session ends and frees its place.
    let idle = state.config.server_limits.idle;
    let mut heard = Instant::now();
    let mut pings = tokio::time::interval_at(Instant::now() + idle / 3, idle / 3);
    loop {
        tokio::select! {
            frame = stream.next() => {
                heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => handle_text(text.as_str(), &state, &outbox, &mut mdm_grant),
                    Some(Ok(Message::Binary(_))) => reply_invalid(&outbox, "binary frames are not part of the protocol"),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                }
            },
            _ = pings.tick() => {
                if heard.elapsed() >= idle {
                    tracing::info!("closed a session that stopped answering");
                    let close = CloseFrame { code: close_code::AWAY, reason: "idle".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    break;
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            },
            Some(message) = outgoing.recv() => {
                if send(&mut sink, &message).await.is_err() {
                    break;
                }
            }
        }
    }
    tracing::debug!("session closed");
}

/// Check the hello; answer welcome, or refuse and close. Returns whether to continue.
async fn handshake(sink: &mut Sink, stream: &mut Stream, state: &BridgeState) -> bool {
    let hello_timeout = state.config.server_limits.hello;
    let hello = match tokio::time::timeout(hello_timeout, first_text(stream)).await {
        Ok(Some(text)) => serde_json::from_str::<ClientMessage>(&text).ok(),
        Ok(None) | Err(_) => None,
    };
    let (protocol, secret) = match hello {
        Some(ClientMessage::Hello { protocol, secret }) => (protocol, Secret::new(secret)),
        _ => {
            tracing::warn!("refused a session whose first frame was not a hello");
            return refuse(
                sink,
                BridgeErrorKind::Unauthorized,
                "the first frame must be hello with the launch secret",
            )
            .await;
        }
    };
    if !state.secret.matches(secret.expose()) {
        tracing::warn!("refused a session with a wrong secret");
        return refuse(
            sink,
            BridgeErrorKind::Unauthorized,
            "the launch secret is wrong",
        )
        .await;
    }
    if protocol != PROTOCOL_VERSION {
        tracing::warn!(
            protocol,
            "refused a session speaking another protocol version"
        );
        let message =
            format!("this bridge speaks protocol {PROTOCOL_VERSION}, the page speaks {protocol}");
        return refuse(sink, BridgeErrorKind::ProtocolMismatch, message).await;
    }
    // The page has the secret now: the launcher's copy of it goes.
    state.handoff.spend();
    let host = host_context(&state.config, &state.join.store);
    send(
        sink,
        &ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            host,
        },
    )
    .await
    .is_ok()
}

/// The first text frame, skipping pings; `None` if the socket ends or sends anything else.
async fn first_text(stream: &mut Stream) -> Option<String> {
    loop {
        match stream.next().await? {
            Ok(Message::Text(text)) => return Some(text.to_string()),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            _ => return None,
        }
    }
}

async fn refuse(sink: &mut Sink, kind: BridgeErrorKind, message: impl Into<String>) -> bool {
    let failed = ServerMessage::Failed {
        error: protocol_error(kind, message),
    };
    let _ = send(sink, &failed).await;
    let reason = match kind {
        BridgeErrorKind::ProtocolMismatch => "protocol mismatch",
        _ => "unauthorized",
    };
    let close = CloseFrame {
        code: close_code::POLICY,
        reason: reason.into(),
    };
    let _ = sink.send(Message::Close(Some(close))).await;
    false
}

async fn send(sink: &mut Sink, message: &ServerMessage) -> Result<(), axum::Error> {
    let json = serde_json::to_string(message).expect("server messages always serialise");
    sink.send(Message::Text(json.into())).await
}

fn reply_invalid(outbox: &UnboundedSender<ServerMessage>, why: &str) {
    let _ = outbox.send(ServerMessage::Failed {
        error: protocol_error(BridgeErrorKind::InvalidMessage, why),
    });
}

fn handle_text(
    text: &str,
    state: &Arc<BridgeState>,
    outbox: &UnboundedSender<ServerMessage>,
    mdm_grant: &mut Option<MdmGrant>,
) {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::StartJoin { id_token, nonce }) => start_join(
            state,
            outbox,
            Secret::new(id_token),
            nonce,
            mdm_grant.take(),
        ),
        Ok(ClientMessage::RequestNonce) => {
            let _ = outbox.send(ServerMessage::Nonce {
                value: state.nonces.issue(),
            });
        }
        Ok(ClientMessage::MdmGrant {
            code,
            redirect_uri,
            opaque_blob,
        }) => {
            *mdm_grant = Some(MdmGrant {
                code: code.map(Secret::new),
                redirect_uri,
                opaque_blob,
            })
        }
        Ok(ClientMessage::PrepareAutoLogon { upn, password }) => {
            prepare_auto_logon(state, outbox, upn, zeroize::Zeroizing::new(password.0))
        }
        Ok(ClientMessage::Leave) => crate::page_leave::leave_from_page(state, outbox),
        Ok(ClientMessage::Hello { .. }) => reply_invalid(outbox, "hello was already received"),
        Err(e) => reply_invalid(outbox, &format!("not a protocol message: {e}")),
    }
}

/// Check the request (flow, realm) in the background, then hold the password or refuse.
fn prepare_auto_logon(
    state: &Arc<BridgeState>,
    outbox: &UnboundedSender<ServerMessage>,
    upn: String,
    password: zeroize::Zeroizing<String>,
) {
    let (state, outbox) = (state.clone(), outbox.clone());
    tokio::spawn(async move {
        let checked = crate::autologon::check_request(
            &state.join.http,
            &state.config.authority,
            state.config.host.flow,
            &upn,
            &password,
        )
        .await;
        // The password moves into the slot or is dropped (zeroized) here, either way.
        let held = checked.and_then(|()| {
            if state.auto_logon.hold(&upn, password) {
                Ok(())
            } else {
                Err(crate::autologon::AutoLogonError::JoinUnderWay)
            }
        });
        let answer = match held {
            Ok(()) => {
                tracing::info!(upn = %upn, "automatic sign-in password held for the join");
                ServerMessage::AutoLogonBuffer {
                    accepted: true,
                    reason: None,
                }
            }
            Err(error) => {
                tracing::info!(upn = %upn, %error, "automatic sign-in refused");
                ServerMessage::AutoLogonBuffer {
                    accepted: false,
                    reason: Some(error.to_string()),
                }
            }
        };
        let _ = outbox.send(answer);
    });
}

/// Refuse at once when joined or busy; otherwise run the join in the background.
fn start_join(
    state: &Arc<BridgeState>,
    outbox: &UnboundedSender<ServerMessage>,
    id_token: Secret,
    nonce: String,
    mdm_grant: Option<MdmGrant>,
) {
    let fail = |error: JoinError| {
        let _ = outbox.send(ServerMessage::Failed {
            error: error.to_bridge_error(),
        });
    };
    if let Some(device_id) = already_joined(&state.join.store) {
        return fail(JoinError::AlreadyJoined(device_id));
    }
    if crate::shutdown::refusing_new_joins() {
        return fail(JoinError::Stopped(cxh_wire::bridge::JoinPhase::Discovering));
    }
    let Ok(guard) = state.join_lock.clone().try_lock_owned() else {
        return fail(JoinError::Busy);
    };
    let (state, outbox) = (state.clone(), outbox.clone());
    // Not tied to the socket: a join DRS has accepted should be installed even if the
    // page went away meanwhile, or the tenant would keep a device the machine forgot.
    tokio::spawn(async move {
        let _one_join_at_a_time = guard;
        let outcome = join_with_token(&state, &id_token, &nonce, mdm_grant, &outbox).await;
        state.auto_logon.join_ended();
        let message = match outcome {
            Ok(result) => ServerMessage::Joined { result },
            Err(error) => {
                // A failed join consumes the automatic sign-in password: nothing was written.
                state.auto_logon.discard();
                if retryable_without_a_trace(&error) {
                    state.nonces.give_back(&nonce);
                }
                tracing::warn!(error = %error, "join failed");
                ServerMessage::Failed {
                    error: error.to_bridge_error(),
                }
            }
        };
        let _ = outbox.send(message);
    });
}

/// A join that failed on the way to DRS (unreachable, or DRS answering 5xx) created nothing
/// in the tenant or on the device: the same validated sign-in may try again.
fn retryable_without_a_trace(error: &JoinError) -> bool {
    let code = error.code();
    let transient = code
        .as_deref()
        .is_some_and(|c| c == crate::error::NETWORK || c.starts_with("http_5"));
    // Only the DRS phases, which run after the nonce was spent (a token refused earlier never
    // had its nonce accepted, so there is nothing to give back).
    transient && matches!(error, JoinError::Discovery(_) | JoinError::Registration(_))
}

async fn join_with_token(
    state: &BridgeState,
    id_token: &Secret,
    nonce: &str,
    mdm_grant: Option<MdmGrant>,
    outbox: &UnboundedSender<ServerMessage>,
) -> Result<cxh_wire::bridge::JoinResult, JoinError> {
    let claims = state
        .validator
        .validate_id_token(id_token.expose(), nonce)
        .await?;
    // Only after the signature held: the nonce is this bridge's, fresh, and spent now.
    state.nonces.spend(nonce).map_err(|refusal| match refusal {
        NonceRefusal::Unknown => TokenError::NonceNotIssued,
        NonceRefusal::Expired => TokenError::NonceExpired,
    })?;
    tracing::info!(upn = %claims.upn, tenant = %claims.tid, "starting a join");
    state.auto_logon.join_started(&claims.upn);
    let identity = JoinIdentity::from_id_token(id_token.expose(), &claims);
    let mut progress = |phase, state| {
        let _ = outbox.send(ServerMessage::Progress { phase, state });
    };
    let mut result = run_join(&state.join, &identity, &mut progress).await?;
    result.auto_logon_prepared = seal_auto_logon(state, &claims.upn, &claims.amr);
    enroll_if_managed(state, mdm_grant, &mut progress).await?;
    Ok(result)
}

/// Write the automatic sign-in buffer for the joined user when one is held; a failure only
/// means no automatic sign-in (the join stands), so it is logged, not returned.
fn seal_auto_logon(state: &BridgeState, upn: &str, amr: &[String]) -> bool {
    let sealed = crate::autologon::seal_after_join(
        &state.auto_logon,
        state.config.host.flow,
        state.join.keys.as_ref(),
        &state.join.store,
        upn,
        amr,
    );
    match sealed {
        Ok(prepared) => {
            if prepared {
                tracing::info!(upn = %upn, "automatic sign-in buffer prepared");
            }
            prepared
        }
        Err(error) => {
            crate::autologon::remove(&state.join.store);
            tracing::warn!(%error, "automatic sign-in buffer not prepared");
            false
        }
    }
}

/// After a join whose token names an MDM: enroll with what the page handed over. A failure
/// here is `joined_not_managed`: the join itself stays.
async fn enroll_if_managed(
    state: &BridgeState,
    grant: Option<MdmGrant>,
    progress: &mut crate::join::Progress<'_>,
) -> Result<(), JoinError> {
    let info = state
        .join
        .store
        .load_join_info()
        .map_err(|e| JoinError::Internal(e.to_string()))?
        .ok_or_else(|| JoinError::Internal("the join info vanished".into()))?;
    if mdm::enrollment_url(&info.token_claims).is_none() {
        return Ok(());
    }
    let not_managed = |source| JoinError::JoinedNotManaged {
        device_id: info.device_id.clone(),
        source,
    };
    let grant = grant
        .ok_or_else(|| not_managed(mdm::MdmError::NoGrant("the page sent no mdm_grant".into())))?;
    let blob = grant.opaque_blob.clone();
    let Some(code) = grant.code else {
        let error = mdm::MdmError::NoGrant("no authorization code".into());
        let _ = mdm::store::save_pending(
            &state.join.store,
            &mdm::store::PendingEnrollment {
                enrollment_url: mdm::enrollment_url(&info.token_claims).unwrap_or_default(),
                opaque_blob: blob,
                reason: error.to_string(),
            },
        );
        progress(
            cxh_wire::bridge::JoinPhase::MdmDiscovering,
            cxh_wire::bridge::PhaseState::Started,
        );
        return Err(not_managed(error));
    };
    let source = mdm::TokenSource::Code {
        code,
        redirect_uri: grant.redirect_uri,
    };
    mdm::enroll(&state.join, &info, source, blob.as_deref(), progress)
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::warn!(error = %e, "joined, but the MDM enrollment failed");
            not_managed(e)
        })
}
