//! Broker errors as callers read them: a sentence (`context`) and MSAL runtime's response
//! status, so that an app tells "sign in interactively" from "no network" from "bad request".

use cxh_wire::broker::{status, BrokerError};
use thiserror::Error;

use crate::prt::PrtError;

#[derive(Debug, Error)]
pub enum BrokerFailure {
    #[error("the request is not valid: {0}")]
    BadRequest(String),
    #[error("the broker has no account {0:?}: sign in on this device first")]
    UnknownAccount(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("the broker serves the tenant this device joined ({joined}), not {asked:?}")]
    OtherTenant { joined: String, asked: String },
    #[error("the interactive sign-in ended without a sign-in: {0}")]
    Canceled(String),
    #[error(transparent)]
    Prt(#[from] PrtError),
}

impl BrokerFailure {
    /// MSAL runtime's status for this failure.
    pub fn status(&self) -> i32 {
        match self {
            BrokerFailure::BadRequest(_) | BrokerFailure::Unsupported(_) => {
                status::API_CONTRACT_VIOLATION
            }
            BrokerFailure::UnknownAccount(_) => status::ACCOUNT_NOT_FOUND,
            BrokerFailure::Canceled(_) => status::USER_CANCELED,
            BrokerFailure::OtherTenant { .. } => status::INCORRECT_CONFIGURATION,
            BrokerFailure::Prt(e) if e.interaction_required() => status::INTERACTION_REQUIRED,
            BrokerFailure::Prt(PrtError::Network(_)) => status::NO_NETWORK,
            BrokerFailure::Prt(PrtError::NotJoined) => status::INCORRECT_CONFIGURATION,
            BrokerFailure::Prt(_) => status::UNEXPECTED,
        }
    }

    /// The authority's AADSTS number, when it refused.
    pub fn aadsts(&self) -> u32 {
        match self {
            BrokerFailure::Prt(PrtError::Cloud { code, .. }) => *code,
            _ => 0,
        }
    }

    pub fn to_wire(&self) -> BrokerError {
        BrokerError {
            context: self.to_string(),
            status: self.status(),
            sub_status: 0,
            error_code: self.aadsts(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_prt_is_interaction_required_and_a_lost_network_is_not() {
        let revoked = BrokerFailure::Prt(PrtError::Cloud {
            error: "invalid_grant".into(),
            code: cxh_wire::prt::aadsts::PRT_REVOKED,
            description: "revoked".into(),
        });
        assert_eq!(revoked.status(), status::INTERACTION_REQUIRED);
        assert_eq!(revoked.to_wire().error_code, 50173);
        let offline = BrokerFailure::Prt(PrtError::Network("refused".into()));
        assert_eq!(offline.status(), status::NO_NETWORK);
        let mfa = BrokerFailure::Prt(PrtError::Cloud {
            error: "interaction_required".into(),
            code: 50076,
            description: "mfa".into(),
        });
        assert_eq!(mfa.status(), status::INTERACTION_REQUIRED);
        assert_eq!(
            BrokerFailure::BadRequest("x".into()).status(),
            status::API_CONTRACT_VIOLATION
        );
    }
}
