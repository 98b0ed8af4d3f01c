//! Refusals of the token endpoint's PRT grants and of the password lockout, each with the
//! OAuth `error` and AADSTS number the real service uses (`cxh_wire::prt::aadsts`).

use crate::error::AuthorityError;
use cxh_wire::oidc::{aadsts as oidc_aadsts, OAuthError};
use cxh_wire::prt::aadsts;

/// AADSTS70000: the provided grant (here: an unknown refresh token / PRT) is invalid.
pub const INVALID_GRANT: u32 = 70000;

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("the request nonce is unknown, already used or expired: request a new one with grant_type=srv_challenge")]
    InvalidNonce,
    #[error("device authentication failed: {0}")]
    DeviceAuth(String),
    #[error("the device is disabled or deleted in the tenant")]
    DeviceDisabled,
    #[error("the refresh token has expired: {0}")]
    PrtExpired(&'static str),
    #[error("the refresh token was revoked (password change or reset, or an administrator)")]
    PrtRevoked,
    #[error("the provided refresh token is invalid or was not issued to this device")]
    UnknownPrt,
    #[error("the session key signature of the request does not verify: {0}")]
    SessionSignature(String),
    #[error(
        "the account is locked: it has been used to sign in too many times with a wrong password"
    )]
    Locked,
}

impl GrantError {
    fn parts(&self) -> (&'static str, u32) {
        match self {
            GrantError::InvalidNonce => ("invalid_grant", aadsts::INVALID_NONCE),
            GrantError::DeviceAuth(_) => ("invalid_grant", aadsts::DEVICE_AUTH_FAILED),
            GrantError::DeviceDisabled => ("invalid_grant", aadsts::DEVICE_DISABLED),
            GrantError::PrtExpired(_) => ("invalid_grant", aadsts::PRT_EXPIRED),
            GrantError::PrtRevoked => ("invalid_grant", aadsts::PRT_REVOKED),
            GrantError::UnknownPrt => ("invalid_grant", INVALID_GRANT),
            GrantError::SessionSignature(_) => ("invalid_grant", aadsts::SESSION_KEY_SIGNATURE),
            GrantError::Locked => ("invalid_grant", oidc_aadsts::ACCOUNT_LOCKED),
        }
    }
}

impl From<GrantError> for AuthorityError {
    fn from(error: GrantError) -> Self {
        tracing::info!(reason = %error, "token request refused");
        let (kind, code) = error.parts();
        let mut body = OAuthError::aadsts(kind, code, &error.to_string());
        body.timestamp = crate::error::now_rfc3339();
        body.trace_id = uuid::Uuid::new_v4().to_string();
        body.correlation_id = uuid::Uuid::new_v4().to_string();
        AuthorityError::Grant(Box::new(body))
    }
}
