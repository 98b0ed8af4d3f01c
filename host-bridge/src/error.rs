//! `JoinError`: why a join failed, per phase, and its mapping to the bridge protocol's
//! [`BridgeError`]. Messages explain the cause for a person and never carry tokens or secrets
//! (the module errors they wrap are written to the same rule).

use cxh_wire::bridge::{BridgeError, BridgeErrorKind, JoinPhase};
use thiserror::Error;

use crate::csr::CsrError;
use crate::discovery::DiscoveryError;
use crate::keys::KeyError;
use crate::registration::RegistrationError;
use crate::store::StoreError;
use crate::token::TokenError;

#[derive(Debug, Error)]
pub enum JoinError {
    #[error("this device is already joined (device id {0}); leave first to join again")]
    AlreadyJoined(String),
    #[error("another join is already under way")]
    Busy,
    #[error("the sign-in token was refused: {0}")]
    InvalidToken(#[from] TokenError),
    #[error("the device registration service could not be discovered: {0}")]
    Discovery(#[from] DiscoveryError),
    #[error("the device keys could not be created: {0}")]
    KeyCreation(#[source] KeyError),
    #[error("the certificate request could not be built: {0}")]
    CertificateRequest(#[from] CsrError),
    #[error("the device could not be registered: {0}")]
    Registration(#[from] RegistrationError),
    #[error("the device certificate could not be installed: {0}")]
    CertificateInstall(#[source] StoreError),
    #[error("the machine store could not be written: {source}")]
    Store {
        phase: JoinPhase,
        #[source]
        source: StoreError,
    },
    #[error("internal error: {0}")]
    Internal(String),
    /// The bridge is stopping and the join had not reached DRS: nothing was registered.
    #[error("the bridge is stopping: the join stopped before {}, and nothing was registered; start the join again", .0.as_str())]
    Stopped(JoinPhase),
    /// DRS registered the device, then a later phase failed; says whether the device object
    /// was removed from the tenant again. Kind and phase are those of the failure.
    #[error("{source}; {cloud}")]
    AfterRegistration {
        source: Box<JoinError>,
        cloud: CloudCleanup,
    },
    /// Registration succeeded; the MDM enrollment after it did not.
    #[error("the device is joined (device id {device_id}) but not managed: the MDM enrollment failed: {source}")]
    JoinedNotManaged {
        device_id: String,
        #[source]
        source: crate::mdm::MdmError,
    },
}

/// What became of the device object DRS created, when the join failed after registering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudCleanup {
    /// The DELETE succeeded: the tenant holds nothing of this join.
    Removed { device_id: String },
    /// The DELETE failed: the device object stays in the tenant.
    NotRemoved { device_id: String, reason: String },
    /// The certificate names no device id, so there was nothing to address a DELETE to.
    UnknownDevice,
}

impl std::fmt::Display for CloudCleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloudCleanup::Removed { device_id } => write!(
                f,
                "the device object {device_id} the registration created was removed from the tenant again"
            ),
            CloudCleanup::NotRemoved { device_id, reason } => write!(
                f,
                "the device object {device_id} the registration created could not be removed from the tenant ({reason}); an administrator must delete it"
            ),
            CloudCleanup::UnknownDevice => f.write_str(
                "the device object the registration created could not be identified and remains in the tenant; an administrator must delete it",
            ),
        }
    }
}

impl JoinError {
    /// The category the page uses to pick its message.
    pub fn kind(&self) -> BridgeErrorKind {
        match self {
            JoinError::AlreadyJoined(_) => BridgeErrorKind::AlreadyJoined,
            JoinError::Busy => BridgeErrorKind::Busy,
            JoinError::InvalidToken(_) => BridgeErrorKind::InvalidToken,
            JoinError::Discovery(_) => BridgeErrorKind::Discovery,
            JoinError::KeyCreation(_) => BridgeErrorKind::KeyCreation,
            JoinError::CertificateRequest(_) => BridgeErrorKind::CertificateRequest,
            JoinError::Registration(_) => BridgeErrorKind::Registration,
            JoinError::CertificateInstall(_) => BridgeErrorKind::CertificateInstall,
            JoinError::Store { .. } => BridgeErrorKind::Store,
            JoinError::Internal(_) | JoinError::Stopped(_) => BridgeErrorKind::Internal,
            JoinError::JoinedNotManaged { .. } => BridgeErrorKind::JoinedNotManaged,
            JoinError::AfterRegistration { source, .. } => source.kind(),
        }
    }

    /// The phase that failed; `None` for failures before the join started.
    pub fn phase(&self) -> Option<JoinPhase> {
        match self {
            JoinError::AlreadyJoined(_)
            | JoinError::Busy
            | JoinError::InvalidToken(_)
            | JoinError::Internal(_) => None,
            JoinError::Discovery(_) => Some(JoinPhase::Discovering),
            JoinError::KeyCreation(_) => Some(JoinPhase::CreatingKeys),
            JoinError::CertificateRequest(_) => Some(JoinPhase::BuildingRequest),
            JoinError::Registration(_) => Some(JoinPhase::Registering),
            JoinError::CertificateInstall(_) => Some(JoinPhase::InstallingCertificate),
            JoinError::Store { phase, .. } | JoinError::Stopped(phase) => Some(*phase),
            JoinError::JoinedNotManaged { source, .. } => Some(source.phase()),
            JoinError::AfterRegistration { source, .. } => source.phase(),
        }
    }

    /// The service's code for this failure (see [`BridgeError::code`]): what the page maps to
    /// a message and shows on its "Error code" line. `None` when no service spoke (a local
    /// failure: the kind says enough).
    pub fn code(&self) -> Option<String> {
        match self {
            JoinError::AlreadyJoined(_) => Some("already_joined".into()),
            JoinError::Discovery(DiscoveryError::Unreachable { .. }) => Some(NETWORK.into()),
            JoinError::Discovery(DiscoveryError::Status { status, .. }) => {
                Some(format!("http_{status}"))
            }
            JoinError::Registration(RegistrationError::Unreachable { .. }) => Some(NETWORK.into()),
            JoinError::Registration(RegistrationError::Rejected {
                status,
                code,
                message,
            }) => Some(rejection_code(*status, code, message)),
            JoinError::JoinedNotManaged { source, .. } => mdm_code(source),
            JoinError::AfterRegistration { source, .. } => source.code(),
            _ => None,
        }
    }

    pub fn to_bridge_error(&self) -> BridgeError {
        BridgeError {
            kind: self.kind(),
            message: self.to_string(),
            phase: self.phase(),
            code: self.code(),
        }
    }
}

/// The code of a service that could not be reached at all (connection refused or reset, DNS,
/// TLS, timeout): retrying may help.
pub const NETWORK: &str = "network";

/// A DRS refusal's code: `AADSTS<n>` when DRS relayed an authority error, `http_<status>` when
/// the body named none (a proxy's or load balancer's page), else the DRS `code`.
fn rejection_code(status: u16, code: &str, message: &str) -> String {
    if let Some(number) = aadsts_number(message) {
        return format!("AADSTS{number}");
    }
    if code == "http_error" {
        return format!("http_{status}");
    }
    code.to_string()
}

/// The number of an `AADSTS<n>:` prefix, as ESTS starts its error descriptions.
fn aadsts_number(message: &str) -> Option<&str> {
    let rest = message.trim_start().strip_prefix("AADSTS")?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (end > 0).then_some(&rest[..end])
}

/// The code of a failed MDM enrollment: the MS-MDE2 SOAP fault subcode without its prefix
/// (`s:DeviceCapReached` -> `DeviceCapReached`), or how the service failed to answer.
fn mdm_code(error: &crate::mdm::MdmError) -> Option<String> {
    use crate::mdm::MdmError;
    match error {
        MdmError::Soap(crate::mdm::soap::SoapError::Fault { code, .. }) => {
            let bare = code.rsplit(':').next().unwrap_or(code);
            Some(bare.to_string())
        }
        MdmError::Unreachable { .. } => Some(NETWORK.into()),
        MdmError::Status { status, .. } => Some(format!("http_{status}")),
        MdmError::NoGrant(_) | MdmError::Token(_) => Some("mdm_no_token".into()),
        _ => None,
    }
}

/// A protocol-level error (not part of a join) for the page.
pub fn protocol_error(kind: BridgeErrorKind, message: impl Into<String>) -> BridgeError {
    BridgeError {
        kind,
        message: message.into(),
        phase: None,
        code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_kind_and_phase() {
        let err = JoinError::Registration(RegistrationError::Rejected {
            status: 403,
            code: "Forbidden".into(),
            message: "quota".into(),
        });
        let bridge = err.to_bridge_error();
        assert_eq!(bridge.kind, BridgeErrorKind::Registration);
        assert_eq!(bridge.phase, Some(JoinPhase::Registering));
        assert!(bridge.message.contains("quota"));
        let busy = JoinError::Busy.to_bridge_error();
        assert_eq!((busy.kind, busy.phase), (BridgeErrorKind::Busy, None));
        let store = JoinError::Store {
            phase: JoinPhase::SavingJoinInfo,
            source: StoreError::AlreadyJoined,
        };
        assert_eq!(store.phase(), Some(JoinPhase::SavingJoinInfo));
    }

    #[test]
    fn errors_carry_the_service_code_the_page_maps() {
        let code = |err: JoinError| err.to_bridge_error().code;
        let rejected = |status: u16, code: &str, message: &str| {
            JoinError::Registration(RegistrationError::Rejected {
                status,
                code: code.into(),
                message: message.into(),
            })
        };
        assert_eq!(
            code(rejected(
                400,
                "quota_exceeded",
                "the user has reached the maximum"
            )),
            Some("quota_exceeded".into())
        );
        assert_eq!(
            code(rejected(401, "invalid_grant", "AADSTS700082: expired")),
            Some("AADSTS700082".into())
        );
        assert_eq!(
            code(rejected(503, "http_error", "<html>down</html>")),
            Some("http_503".into())
        );
        let unreachable = JoinError::Registration(RegistrationError::Unreachable {
            url: "http://x".into(),
            cause: crate::http::NetworkError::Dropped {
                host: "x".into(),
                detail: "connection reset".into(),
            },
        });
        assert_eq!(code(unreachable), Some(NETWORK.into()));
        let down = JoinError::Discovery(DiscoveryError::Status {
            url: "http://x".into(),
            status: 503,
        });
        assert_eq!(code(down), Some("http_503".into()));
        let after = JoinError::AfterRegistration {
            source: Box::new(rejected(400, "quota_exceeded", "m")),
            cloud: CloudCleanup::UnknownDevice,
        };
        assert_eq!(code(after), Some("quota_exceeded".into()));
        assert_eq!(code(JoinError::Busy), None);
        assert_eq!(aadsts_number("AADSTS: x"), None);
    }
}
