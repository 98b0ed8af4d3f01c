//! The emulator's HTTP(S) server loop, with the limits a server reachable by others needs
//! (issue 10): without them, 500 connections with half-sent headers or 200 silent TCP
//! connections were kept forever and held file descriptors.
//!
//! - a connection cap: past [`Limits::max_connections`] open connections, a new one is
//!   accepted and closed at once (rather than left waiting in the backlog);
//! - a header-read timeout: a request whose headers have not all arrived in time (including
//!   the first request of a silent connection and a TLS handshake) ends the connection;
//! - an idle timeout: a connection with no byte read or written for that long is closed;
//! - a header size cap (hyper answers 431) and a body cap: a request announcing a larger body
//!   is answered 413 before any of it is read, and a chunked one is cut off at the cap.
//!
//! HTTP/1.1 only: every client of the emulator (browsers, the bridge, client libraries)
//! speaks it.

use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// The limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_body_bytes: usize,
    /// Read buffer of a connection, hence the most header bytes a request may have.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 256,
            // The largest request the emulator takes (a SAML wresult, an attested CSR) is a
            // few tens of KiB.
            max_body_bytes: 1024 * 1024,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Serve `router` on `listener` (over TLS with `tls`) until the listener fails for good.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
) {
    let router = router.layer(tower_http::limit::RequestBodyLimitLayer::new(
        limits.max_body_bytes,
    ));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: wait for connections to close.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "connection cap reached: closed");
            drop(stream);
            continue;
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            serve_connection(stream, router, acceptor, limits).await;
            drop(permit);
        });
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
) {
    let activity = Arc::new(Activity::new());
    let stream = Watched {
        inner: stream,
        activity: activity.clone(),
    };
    match acceptor {
        None => {
            tokio::select! {
                _ = http(stream, router, limits) => {}
                _ = idle(&activity, limits.idle_timeout) => {}
            }
        }
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
            let Ok(Ok(tls)) = handshake.await else {
                return;
            };
            // The device-certificate routes (DRS DELETE/GET device) read who connected.
            let router = router.layer(axum::Extension(crate::tls::peer_certificate(&tls)));
            tokio::select! {
                _ = http(tls, router, limits) => {}
                _ = idle(&activity, limits.idle_timeout) => {}
            }
        }
    }
}

async fn http<S>(stream: S, router: Router, limits: Limits)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "connection ended");
    }
}

/// When a connection last moved a byte.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Resolves once the connection has been quiet for `limit`.
async fn idle(activity: &Activity, limit: Duration) {
    loop {
        let quiet = activity.quiet_for();
        if quiet >= limit {
            return;
        }
        tokio::time::sleep(limit - quiet).await;
    }
}

/// A TCP stream that records its activity.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
