//! The bridge's accept loop: how long a connection may take and how many there may be.
//!
//! `axum::serve` keeps a TCP connection that never sends a request, or sends half of one,
//! for ever, and lets any number pile up; on a machine where every local process can reach
//! the loopback port, that is a way to exhaust the bridge's file descriptors and memory. So
//! the bridge serves HTTP/1.1 itself, with hyper, under [`ServerLimits`]:
//! - at most `max_connections` at once, counting upgraded sessions (a new connection beyond
//!   the cap is closed at once, before anything is read);
//! - the upgrade request must arrive complete within `header_read` (hyper's header timer, and
//!   a deadline on the whole pre-upgrade exchange against a trickle of bytes, which also ends
//!   a kept-alive connection after a refused request);
//! - small buffers (hyper's at most 16 KiB, the WebSocket's read buffer 4 KiB instead of
//!   tungstenite's eager 128 KiB), so a silent connection costs little;
//! - `hello` and `idle` are enforced by the session ([`crate::session`]): a hello within
//!   `hello`, then pings, and a session silent for `idle` (not even a pong) is closed;
//! - when the last connection ends, freed heap is handed back to the system (glibc keeps it
//!   otherwise: the bridge stayed at 144 MB after 1,000 connections had closed).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

/// Time limits and the connection cap of the WebSocket server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// From accepting the connection to the complete upgrade request.
    pub header_read: Duration,
    /// From the upgrade to a valid `hello`.
    pub hello: Duration,
    /// A greeted session with no frame from the page (pongs included) for this long is
    /// closed; the bridge pings at a third of it, which browsers answer on their own.
    pub idle: Duration,
    /// Connections at once, pre-upgrade and upgraded together.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read: Duration::from_secs(5),
            hello: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            // The page opens one or two at a time; this leaves room for retries and tabs.
            max_connections: 64,
        }
    }
}

/// hyper's request-head buffer: the upgrade request is a few hundred bytes of headers.
const MAX_HEAD_BUFFER: usize = 16 * 1024;

/// The WebSocket read buffer: protocol frames are small (the largest is a token).
pub const WS_READ_BUFFER: usize = 4 * 1024;

/// One connection's place under the cap, held by the HTTP connection and handed to the
/// session on upgrade (a request extension); freed when both are gone.
#[derive(Clone)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<Slot>);

struct Slot {
    _permit: OwnedSemaphorePermit,
    live: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            give_memory_back();
        }
    }
}

/// Return freed heap pages to the system. glibc's malloc keeps the memory of freed
/// per-connection buffers in its arenas; `malloc_trim` releases what is free. Called only
/// when no connection is left, so it never competes with a running session.
fn give_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and shrinks glibc's own free lists; it takes no
    // pointers from us and is thread-safe (it locks each arena).
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Accept and serve until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let live = Arc::new(AtomicUsize::new(0));
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection cap reached; closed a new connection");
            drop(tcp);
            continue;
        };
        live.fetch_add(1, Ordering::SeqCst);
        let slot = ConnectionSlot(Arc::new(Slot {
            _permit: permit,
            live: live.clone(),
        }));
        tokio::spawn(serve_connection(tcp, app.clone(), slot, limits));
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    app: Router,
    slot: ConnectionSlot,
    limits: ServerLimits,
) {
    let _ = tcp.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(slot.clone());
        let mut app = app.clone();
        app.call(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(MAX_HEAD_BUFFER)
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    // On upgrade the future ends and the socket lives on in the session (with the slot).
    match tokio::time::timeout(limits.header_read, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "connection ended with an HTTP error"),
        Err(_) => tracing::debug!("closed a connection that did not complete its request in time"),
    }
}
