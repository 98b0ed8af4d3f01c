//! The one HTTP client the bridge uses for the authority, DRS and MDM, and the rules every
//! request of the bridge goes through.
//!
//! rustls with the public web PKI roots, plus an optional extra CA bundle (the emulator's
//! own CA), so that a test tenant can be reached over HTTPS without touching system trust.
//!
//! Plain http only to loopback ([`check_url`]): the emulator on this machine is served that
//! way, but a token, a JWKS or a discovery document fetched over http from anywhere else could
//! be read or replaced on the way. Every request is sent by [`send`], which checks the URL
//! first, and redirects are followed only to URLs that pass the same check.
//!
//! Failures are [`NetworkError`]s that name the host, say what happened (refused, DNS, TLS,
//! connect timeout, no answer, body too slow, dropped) and what to do, instead of reqwest's
//! "error sending request for url".

use std::error::Error as StdError;
use std::path::Path;
use std::time::Duration;

use thiserror::Error;
use url::Url;

/// Long enough for a slow DRS, short enough that a dead one does not hang the page forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A host that does not even complete the TCP handshake in this time is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// As many redirects as browsers allow a fetch; none of the bridge's services needs one.
const MAX_REDIRECTS: usize = 10;

#[derive(Debug, Error)]
pub enum HttpSetupError {
    #[error("cannot read CA file {path}: {source}")]
    ReadCa {
        path: String,
        source: std::io::Error,
    },
    #[error("CA file {path} holds no usable PEM certificate: {reason}")]
    BadCa { path: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// Why a request got no usable answer: which host, what happened, what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetworkError {
    #[error("refusing to send a request to {url} over plain http: only loopback hosts may be reached without TLS; use an https URL")]
    PlainHttp { url: String },
    #[error("{url} is not an http(s) URL")]
    BadUrl { url: String },
    #[error("{host} refused the connection (nothing listens on that port): check the URL and that the service is running")]
    Refused { host: String },
    #[error("the name {host} could not be resolved (DNS): check the URL and this machine's network settings")]
    Dns { host: String },
    #[error("could not connect to {host} in time (no answer to the connection attempt): check the network, proxy or firewall")]
    ConnectTimeout { host: String },
    #[error("the TLS handshake with {host} failed ({detail}): check the server's certificate; a private CA needs --ca-file")]
    Tls { host: String, detail: String },
    #[error("{host} accepted the connection but did not answer before the request timed out: the service may be hung or overloaded; try again later")]
    NoAnswer { host: String },
    #[error("{host} answered, but the body of its answer did not arrive before the request timed out (too slow): try again later")]
    BodyTooSlow { host: String },
    #[error("the connection to {host} was closed or reset before the answer was complete ({detail}): try again")]
    Dropped { host: String, detail: String },
    #[error("{host} redirected the request where the bridge does not follow ({detail})")]
    Redirect { host: String, detail: String },
    #[error("the request to {host} failed: {detail}")]
    Other { host: String, detail: String },
}

/// Timeouts of the client; the defaults suit real services, tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct HttpTimeouts {
    pub connect: Duration,
    /// From sending the request to the last byte of the answer.
    pub total: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            connect: CONNECT_TIMEOUT,
            total: REQUEST_TIMEOUT,
        }
    }
}

/// Build the client, trusting `ca_file` in addition to the built-in roots.
pub fn build_client(ca_file: Option<&Path>) -> Result<reqwest::Client, HttpSetupError> {
    build_client_with(ca_file, HttpTimeouts::default())
}

/// [`build_client`] with other timeouts.
pub fn build_client_with(
    ca_file: Option<&Path>,
    timeouts: HttpTimeouts,
) -> Result<reqwest::Client, HttpSetupError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .redirect(redirect_policy())
        .user_agent(concat!("cxh-host-bridge/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        for certificate in read_ca_bundle(path)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|e| HttpSetupError::Build(e.to_string()))
}

/// Follow a redirect only to a URL [`check_url`] allows (no https -> http downgrade to a
/// remote host), and not endlessly.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(refused) => attempt.error(refused.to_string()),
        }
    })
}

/// Whether the URL's host is this machine: `localhost`, 127.0.0.0/8 or ::1.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// https anywhere; http only to loopback; nothing else.
pub fn check_url(url: &Url) -> Result<(), NetworkError> {
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(NetworkError::PlainHttp {
            url: without_query(url),
        }),
        _ => Err(NetworkError::BadUrl {
            url: without_query(url),
        }),
    }
}

/// Queries may hold codes or hints: messages show scheme, host and path only.
fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => url.to_string(),
    }
}

/// Send a request built on the bridge's client, after checking its URL.
pub async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, NetworkError> {
    let (client, request) = request.build_split();
    let request = request.map_err(|e| NetworkError::Other {
        host: e
            .url()
            .map(host_of)
            .unwrap_or_else(|| "the server".to_string()),
        detail: innermost(&e),
    })?;
    check_url(request.url())?;
    let host = host_of(request.url());
    let tls = request.url().scheme() == "https";
    client
        .execute(request)
        .await
        .map_err(|e| classify(&e, &host, Stage::Answer, tls))
}

/// The whole body of an answer [`send`] returned.
pub async fn body(response: reqwest::Response) -> Result<Vec<u8>, NetworkError> {
    let host = host_of(response.url());
    response
        .bytes()
        .await
        .map(|bytes| bytes.to_vec())
        .map_err(|e| classify(&e, &host, Stage::Body, false))
}

/// The body as text (lossy UTF-8: it only feeds parsers that check it).
pub async fn text(response: reqwest::Response) -> Result<String, NetworkError> {
    let bytes = body(response).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Where in the exchange an error happened: before the answer's headers, or in its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Answer,
    Body,
}

/// `tls`: the URL is https, so a connection that got past TCP failed in the handshake.
fn classify(error: &reqwest::Error, host: &str, stage: Stage, tls: bool) -> NetworkError {
    let host = host.to_string();
    let detail = innermost(error);
    if error.is_redirect() {
        return NetworkError::Redirect { host, detail };
    }
    if error.is_timeout() {
        return match stage {
            Stage::Body => NetworkError::BodyTooSlow { host },
            Stage::Answer if error.is_connect() => NetworkError::ConnectTimeout { host },
            Stage::Answer => NetworkError::NoAnswer { host },
        };
    }
    let io_kind = chain(error)
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    if error.is_connect() {
        // hyper-util names its resolver's failures "dns error" (ConnectError::dns).
        if chain(error).any(|e| e.to_string() == "dns error") {
            return NetworkError::Dns { host };
        }
        return match io_kind {
            Some(std::io::ErrorKind::ConnectionRefused) => NetworkError::Refused { host },
            Some(std::io::ErrorKind::TimedOut) => NetworkError::ConnectTimeout { host },
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => {
                NetworkError::Dropped { host, detail }
            }
            // Past TCP and name resolution, what remains of connecting to https is the
            // handshake (rustls: bad certificate, not TLS at all, protocol mismatch).
            _ if tls => NetworkError::Tls { host, detail },
            _ => NetworkError::Other { host, detail },
        };
    }
    match io_kind {
        Some(
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof,
        ) => NetworkError::Dropped { host, detail },
        _ if error.is_body() || error.is_request() => NetworkError::Dropped { host, detail },
        _ => NetworkError::Other { host, detail },
    }
}

fn chain<'a>(error: &'a reqwest::Error) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let first: &(dyn StdError + 'static) = error;
    std::iter::successors(Some(first), |&e| e.source())
}

/// The deepest cause's text (the useful part: "connection refused", "UnknownIssuer", …),
/// never the URL with its query.
fn innermost(error: &reqwest::Error) -> String {
    chain(error)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

fn read_ca_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, HttpSetupError> {
    let display = path.display().to_string();
    let pem = std::fs::read(path).map_err(|source| HttpSetupError::ReadCa {
        path: display.clone(),
        source,
    })?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| HttpSetupError::BadCa {
            path: display.clone(),
            reason: e.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(HttpSetupError::BadCa {
            path: display,
            reason: "no CERTIFICATE block".into(),
        });
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(url: &str) -> bool {
        check_url(&Url::parse(url).unwrap()).is_ok()
    }

    #[test]
    fn plain_http_is_for_loopback_only() {
        for ok in [
            "https://login.microsoftonline.com/common",
            "http://127.0.0.1:8080/x",
            "http://127.8.9.1/",
            "http://[::1]:9/",
            "http://localhost:1/",
            "http://LOCALHOST/",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for refused in [
            "http://login.microsoftonline.com/common/discovery/keys",
            "http://10.0.0.1/",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
        ] {
            assert!(!allowed(refused), "{refused}");
        }
        let err = check_url(&Url::parse("http://drs.example/x?code=secret").unwrap()).unwrap_err();
        assert!(matches!(err, NetworkError::PlainHttp { .. }));
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
