//! The CloudAP role (seed 003): the Primary Refresh Token of each user who signed in on the
//! joined device, bound to it by a session key that only the device's key provider can use.
//!
//! - [`client`]: the wire (MS-OAPXBC): `srv_challenge` nonce, the device-signed PRT request,
//!   session-key signed requests (renewal with `aza`, tokens for apps) and their encrypted
//!   answers;
//! - [`session`]: unwrapping `session_key_jwe` with the transport key and handing the session
//!   key to the provider (a TPM HMAC object when the keys are TPM keys);
//! - [`wstrust`]: a federated user's SAML 1.1 assertion from the STS (`usernamemixed`);
//! - [`store`]: the PRT and its metadata in the state dir (0600, atomic);
//! - [`signin`]: the flows the CLI runs (sign-in, OOBE logon, renewal, a silent token).

pub mod cli;
pub mod client;
pub mod session;
pub mod signin;
pub mod store;
pub mod wstrust;

use cxh_wire::prt::aadsts;
use thiserror::Error;

/// AADSTS 50076/50079: the authority wants a second factor the silent path cannot give.
pub const AADSTS_MFA_REQUIRED: u32 = 50076;
pub const AADSTS_MFA_ENROLL: u32 = 50079;

#[derive(Debug, Error)]
pub enum PrtError {
    #[error("the device is not joined (no join info in the state dir)")]
    NotJoined,
    #[error("no PRT for {0}: sign in first (host-bridge sign-in or logon)")]
    NoPrt(String),
    #[error("the PRT of {upn} can no longer be used ({reason}): the user must sign in again")]
    Unusable { upn: String, reason: String },
    #[error("the authority refused the request: {error} (AADSTS{code}): {description}")]
    Cloud {
        error: String,
        code: u32,
        description: String,
    },
    #[error("the authority's answer is not valid: {0}")]
    BadResponse(String),
    #[error("the authority cannot be reached: {0}")]
    Network(String),
    #[error("the STS refused the sign-in: {0}")]
    Sts(String),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error("the PRT store: {0}")]
    Store(String),
    #[error("{0}")]
    Input(String),
}

impl PrtError {
    /// Whether only an interactive sign-in can fix this (expired or revoked PRT, a second
    /// factor needed, device disabled): the broker's `interaction_required`.
    pub fn interaction_required(&self) -> bool {
        match self {
            PrtError::NoPrt(_) | PrtError::Unusable { .. } => true,
            PrtError::Cloud { error, code, .. } => {
                error == "interaction_required"
                    || [
                        aadsts::PRT_EXPIRED,
                        aadsts::PRT_REVOKED,
                        aadsts::DEVICE_DISABLED,
                        aadsts::DEVICE_AUTH_FAILED,
                        AADSTS_MFA_REQUIRED,
                        AADSTS_MFA_ENROLL,
                    ]
                    .contains(code)
            }
            _ => false,
        }
    }

    /// Whether the PRT itself is dead (the record is marked so and its secret dropped).
    pub fn prt_is_dead(&self) -> bool {
        matches!(self, PrtError::Cloud { code, .. }
            if [aadsts::PRT_EXPIRED, aadsts::PRT_REVOKED, aadsts::DEVICE_DISABLED].contains(code))
    }
}

/// Seconds since the epoch.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
