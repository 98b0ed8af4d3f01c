//! The one HTTP client the bridge uses for the authority and DRS.
//!
//! rustls with the public web PKI roots, plus an optional extra CA bundle (the emulator's
//! own CA), so that a test tenant can be reached over HTTPS without touching system trust.
//! Plain http is allowed too: the emulator on loopback is usually served that way.

use std::path::Path;
use std::time::Duration;

use thiserror::Error;

/// Long enough for a slow DRS, short enough that a dead one does not hang the page forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Build the client, trusting `ca_file` in addition to the built-in roots.
pub fn build_client(ca_file: Option<&Path>) -> Result<reqwest::Client, HttpSetupError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(REQUEST_TIMEOUT)
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
