//! The loopback WebSocket server the join web app talks to.
//!
//! Three gates stand before any join: the listener binds to loopback only, the upgrade is
//! accepted only from an allowlisted `Origin` (so another web page open in the same browser
//! cannot reach the bridge), and the first frame must carry the per-launch secret
//! ([`crate::session`]). Connections are served under [`crate::listener::ServerLimits`]
//! (timeouts, a cap, small buffers).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::config::{BridgeConfig, ConfigError};
use crate::http::{build_client, HttpSetupError};
use crate::join::JoinContext;
use crate::keys::KeyProvider;
use crate::listener::{ConnectionSlot, WS_READ_BUFFER};
use crate::secret::Secret;
use crate::session;
use crate::store::{MachineStore, StateLock, StoreError};
use crate::token::TokenValidator;

/// Protocol frames are small (the largest is a token): refuse anything bigger.
const MAX_FRAME_BYTES: usize = 64 * 1024;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("refusing to listen on {0}: the bridge only listens on a loopback address")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] HttpSetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything a session needs, shared by all connections of one bridge process.
pub struct BridgeState {
    pub config: BridgeConfig,
    pub secret: Secret,
    pub join: JoinContext,
    pub validator: TokenValidator,
    /// Held for the whole of a join: one join at a time per bridge.
    pub join_lock: Arc<Mutex<()>>,
    /// The launcher's handoff page (`--handoff-page`), removed after the first valid hello.
    pub handoff: Arc<crate::handoff::Handoff>,
    /// The id_token nonces handed to pages, each accepted once.
    pub nonces: crate::nonce::NonceBook,
    /// The OOBE automatic sign-in password waiting for its join (zeroized memory only).
    pub auto_logon: crate::autologon::AutoLogonSlot,
    /// The state dir's lock, held as long as the bridge lives: no `join`, `leave` or
    /// `mdm-enroll` can change the store under it.
    _state_lock: StateLock,
}

impl BridgeState {
    /// Prepare the state: HTTP client, machine store (created 0700, locked, then a join
    /// killed after DRS answered finished or undone ([`crate::recovery`]) and the other crash
    /// leftovers swept: with the lock held no other process can own a staging dir).
    pub async fn new(
        config: BridgeConfig,
        secret: Secret,
        keys: Arc<dyn KeyProvider>,
    ) -> Result<Self, ServerError> {
        config.require_allowed_origins()?;
        let http = build_client(config.ca_file.as_deref())?;
        let store = MachineStore::open(&config.state_dir)?;
        let state_lock = store.lock()?;
        crate::recovery::recover(&store, config.ca_file.as_deref()).await;
        store.sweep_leftovers();
        let validator = TokenValidator::new(http.clone(), config.authority.clone());
        let join = JoinContext {
            http,
            config: config.clone(),
            keys,
            store,
        };
        Ok(BridgeState {
            config,
            secret,
            join,
            validator,
            join_lock: Arc::new(Mutex::new(())),
            auto_logon: Default::default(),
            nonces: Default::default(),
            handoff: Default::default(),
            _state_lock: state_lock,
        })
    }
}

pub fn router(state: Arc<BridgeState>) -> Router {
    Router::new().route("/", get(upgrade)).with_state(state)
}

async fn upgrade(
    State(state): State<Arc<BridgeState>>,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    match origin {
        Some(origin) if state.config.is_origin_allowed(origin) => {}
        _ => {
            tracing::warn!(
                origin = origin.unwrap_or("<none>"),
                "refused a WebSocket from an origin not in the allowlist"
            );
            return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
        }
    }
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(WS_READ_BUFFER)
        // Frames go out as they are made (progress must not wait in a buffer).
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_FRAME_BYTES * 2)
        .on_upgrade(move |socket| async move {
            // The session holds the connection's place under the cap until it ends.
            let _slot = slot;
            session::run(socket, state).await
        })
}

/// A bridge serving in the background of this process.
pub struct RunningBridge {
    pub local_addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
    state: Arc<BridgeState>,
}

/// How a [`RunningBridge::shutdown`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// No join was running, or it ended within the grace period.
    Clean,
    /// The grace period ran out; the join stopped at a safe point (before its POST, or
    /// after its commit) within the POST's timeout.
    JoinStopped,
    /// The join was still running (stuck in its POST) when the bridge had to go; the next
    /// start recovers it.
    JoinAbandoned,
}

/// How long a join past its grace period may still take: the registration POST's timeout.
const AFTER_STOP: Duration = Duration::from_secs(35);
/// Time for the sessions to write the join's last frame after the join ended.
const LAST_FRAME: Duration = Duration::from_millis(300);

impl RunningBridge {
    /// The URL the page connects to.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.local_addr)
    }

    /// Serve until the server fails (it runs until stopped otherwise).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    pub fn stop(self) {
        self.task.abort();
    }

    /// Stop gracefully ([`crate::shutdown`]): refuse new connections (the listener closes)
    /// and new joins, wait up to `grace` for a running join, then ask it to stop at a safe
    /// point and wait for that, bounded too.
    pub async fn shutdown(self, grace: Duration) -> ShutdownOutcome {
        crate::shutdown::refuse_new_joins();
        self.task.abort();
        let _ = self.task.await;
        tracing::info!("listener closed; waiting for a running join");
        let joins = self.state.join_lock.clone();
        let outcome = match tokio::time::timeout(grace, joins.lock()).await {
            Ok(_idle) => ShutdownOutcome::Clean,
            Err(_) => {
                tracing::warn!(
                    ?grace,
                    "the join did not end within the grace period; stopping it at a safe point"
                );
                crate::shutdown::request_stop();
                match tokio::time::timeout(AFTER_STOP, joins.lock()).await {
                    Ok(_idle) => ShutdownOutcome::JoinStopped,
                    Err(_) => ShutdownOutcome::JoinAbandoned,
                }
            }
        };
        tokio::time::sleep(LAST_FRAME).await;
        outcome
    }
}

/// Bind (loopback only) and serve in a background task.
pub async fn start(state: BridgeState, listen: SocketAddr) -> Result<RunningBridge, ServerError> {
    if !listen.ip().is_loopback() {
        return Err(ServerError::NotLoopback(listen));
    }
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: listen,
        source,
    })?;
    let limits = state.config.server_limits;
    let state = Arc::new(state);
    let app = router(state.clone());
    let task = tokio::spawn(crate::listener::serve(listener, app, limits));
    tracing::info!(%local_addr, "bridge listening");
    Ok(RunningBridge {
        local_addr,
        task,
        state,
    })
}

/// What a launcher needs to open the page: written to the ready file (0600), never to stdout.
/// `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyInfo {
    pub ws_url: String,
    pub secret: String,
    pub pid: u32,
}

impl std::fmt::Debug for ReadyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyInfo")
            .field("ws_url", &self.ws_url)
            .field("secret", &"[redacted]")
            .field("pid", &self.pid)
            .finish()
    }
}

/// Write the ready file atomically (temp file 0600, flushed, renamed, directory flushed), so a launcher polling for
/// it never reads a half-written secret and no other user can read it at any point.
pub fn write_ready_file(path: &Path, info: &ReadyInfo) -> std::io::Result<()> {
    let json = serde_json::to_vec(info).map_err(std::io::Error::other)?;
    crate::atomic_file::write(path, &json, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_info_debug_leaves_the_secret_out() {
        let info = ReadyInfo {
            ws_url: "ws://127.0.0.1:1/".into(),
            secret: "per-launch-s3cret".into(),
            pid: 7,
        };
        let shown = format!("{info:?} {info:#?}");
        assert!(!shown.contains("per-launch-s3cret"), "{shown}");
        assert!(shown.contains("ws://127.0.0.1:1/"));
    }
}
