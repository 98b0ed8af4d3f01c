//! The bridge's configuration: where the cloud is, where machine state lives, who may connect,
//! and what the host says about itself.

use std::path::PathBuf;

use cxh_wire::bridge::{Edition, HostFlow, Platform};
use thiserror::Error;
use url::Url;

/// The Windows build the bridge reports (DRS `OSVersion`, host context).
pub const DEFAULT_OS_VERSION: &str = "10.0.22631.4460";

/// Used when the machine has no readable host name.
const FALLBACK_DEVICE_NAME: &str = "DESKTOP-CXH";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{what} {value:?} is not an absolute http(s) URL")]
    BadUrl { what: &'static str, value: String },
    #[error("{what} {value:?} uses plain http to a host that is not this machine: use https (http is allowed for loopback only)")]
    PlainHttp { what: &'static str, value: String },
    #[error("an allowed origin is required: the bridge only accepts the join web app's page")]
    NoAllowedOrigin,
    #[error("allowed origin {0:?} is not of the form scheme://host[:port]")]
    BadOrigin(String),
}

/// What the host tells the page about itself (the input of [`crate::host::host_context`]).
#[derive(Debug, Clone)]
pub struct HostSettings {
    pub flow: HostFlow,
    pub edition: Edition,
    pub platform: Platform,
    pub device_name: String,
    pub os_version: String,
    /// BCP 47 tag of the UI language (`--language`); the page follows the browser without it.
    pub language: Option<String>,
    /// Origin of the page embedding the app (`--embedder-origin`, Settings flow).
    pub embedder_origin: Option<String>,
    /// The page may leave the organization (`--allow-leave`; on by default in Settings, where
    /// "Disconnect" is the user's to press, off in the OOBE kiosk).
    pub allow_leave: bool,
}

impl Default for HostSettings {
    fn default() -> Self {
        HostSettings {
            flow: HostFlow::Oobe,
            edition: Edition::Professional,
            platform: Platform::Desktop,
            device_name: default_device_name(),
            os_version: DEFAULT_OS_VERSION.to_string(),
            language: None,
            embedder_origin: None,
            allow_leave: false,
        }
    }
}

/// Everything a bridge process needs to serve pages and perform joins.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// Base URL of the authority (the emulator or `https://login.microsoftonline.com`).
    pub authority: Url,
    /// Base URL of the Device Registration Service; the same origin as the authority unless set.
    pub drs: Url,
    /// The machine store root (see [`crate::store`]).
    pub state_dir: PathBuf,
    /// Exact `Origin` values allowed to open the WebSocket.
    pub allowed_origins: Vec<String>,
    pub host: HostSettings,
    /// Extra PEM bundle of CAs to trust for HTTPS, besides the public roots.
    pub ca_file: Option<PathBuf>,
    /// Timeouts and connection cap of the WebSocket server.
    pub server_limits: crate::listener::ServerLimits,
}

impl BridgeConfig {
    /// A configuration with defaults for everything but the authority and the state dir.
    pub fn new(authority: &str, state_dir: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let authority = parse_base_url("authority", authority)?;
        Ok(BridgeConfig {
            drs: authority.clone(),
            authority,
            state_dir: state_dir.into(),
            allowed_origins: Vec::new(),
            host: HostSettings::default(),
            ca_file: None,
            server_limits: Default::default(),
        })
    }

    /// Point DRS somewhere other than the authority.
    pub fn with_drs(mut self, drs: &str) -> Result<Self, ConfigError> {
        self.drs = parse_base_url("DRS URL", drs)?;
        Ok(self)
    }

    /// Add allowed origins, normalised (no trailing slash) so that they compare exactly
    /// with what browsers send in `Origin`.
    pub fn with_allowed_origins<I, S>(mut self, origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for origin in origins {
            self.allowed_origins
                .push(normalize_origin(origin.as_ref())?);
        }
        Ok(self)
    }

    /// Refuse to serve with an empty allowlist: every connection would be rejected anyway,
    /// and an operator who forgot the flag should hear why at once.
    pub fn require_allowed_origins(&self) -> Result<(), ConfigError> {
        if self.allowed_origins.is_empty() {
            return Err(ConfigError::NoAllowedOrigin);
        }
        Ok(())
    }

    pub fn is_origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|allowed| allowed == origin.trim_end_matches('/'))
    }
}

/// Parse a base URL and drop a trailing slash so that paths can be appended uniformly.
pub fn parse_base_url(what: &'static str, value: &str) -> Result<Url, ConfigError> {
    let bad = || ConfigError::BadUrl {
        what,
        value: value.to_string(),
    };
    let url = Url::parse(value.trim_end_matches('/')).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    // Checked again on every request (crate::http::send); here so the operator hears at once.
    if url.scheme() == "http" && !crate::http::is_loopback(&url) {
        return Err(ConfigError::PlainHttp {
            what,
            value: value.to_string(),
        });
    }
    Ok(url)
}

/// `https://Host:443/` -> `https://host` as a browser would serialise the origin.
pub fn normalize_origin(origin: &str) -> Result<String, ConfigError> {
    let url = Url::parse(origin).map_err(|_| ConfigError::BadOrigin(origin.to_string()))?;
    if url.host_str().is_none() || !(url.path().is_empty() || url.path() == "/") {
        return Err(ConfigError::BadOrigin(origin.to_string()));
    }
    Ok(url.origin().ascii_serialization())
}

/// The machine's host name, the way Windows shows its device name.
pub fn default_device_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| FALLBACK_DEVICE_NAME.to_string())
}

/// Join a path onto a base URL that may or may not end in a slash.
pub fn endpoint(base: &Url, path: &str) -> String {
    format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drs_defaults_to_the_authority() {
        let config = BridgeConfig::new("http://127.0.0.1:8080/", "/tmp/x").unwrap();
        assert_eq!(config.drs, config.authority);
        assert_eq!(endpoint(&config.drs, "/a/b"), "http://127.0.0.1:8080/a/b");
    }

    #[test]
    fn origins_are_normalised_and_compared_exactly() {
        let config = BridgeConfig::new("http://127.0.0.1:1", "/tmp/x")
            .unwrap()
            .with_allowed_origins(["HTTP://LocalHost:8080/"])
            .unwrap();
        assert!(config.is_origin_allowed("http://localhost:8080"));
        assert!(!config.is_origin_allowed("http://localhost:8081"));
        assert!(!config.is_origin_allowed("http://evil.example"));
        assert!(BridgeConfig::new("ftp://x", "/tmp").is_err());
        assert!(matches!(
            BridgeConfig::new("http://login.example.com", "/tmp"),
            Err(ConfigError::PlainHttp { .. })
        ));
        assert!(BridgeConfig::new("https://login.example.com", "/tmp").is_ok());
        assert!(BridgeConfig::new("http://localhost:1", "/tmp")
            .unwrap()
            .with_drs("http://drs.example.com")
            .is_err());
        assert!(config
            .clone()
            .with_allowed_origins(["http://a/path"])
            .is_err());
    }
}
