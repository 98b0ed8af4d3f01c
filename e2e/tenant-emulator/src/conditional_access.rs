//! Conditional access on the device (seed 003: "because the PRT carries the device, an app whose
//! conditional access requires a joined device lets that browser in and refuses others").
//!
//! An application of the tenant file may require that the sign-in prove a joined device
//! (`require_device = "joined"`), or a compliant one (`"compliant"`: joined and enrolled in the
//! tenant's MDM). A sign-in proves a device only through its PRT: a PRT SSO cookie at
//! `authorize` (the code then carries the device) or a PRT-signed token request. A password,
//! a SAML assertion or a session cookie prove none, so a device-requiring app gets no token
//! from them: AADSTS53000, as Entra answers.

use serde::Deserialize;

use crate::error::AuthorityError;
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRequirement {
    /// The device must be joined (its PRT proves it).
    Joined,
    /// Joined and enrolled in MDM.
    Compliant,
}

impl DeviceRequirement {
    /// The device state Entra's message names.
    pub fn state_name(self) -> &'static str {
        match self {
            DeviceRequirement::Joined => "joined",
            DeviceRequirement::Compliant => "compliant",
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            DeviceRequirement::Joined => {
                "Conditional Access policy requires a device joined to the organization, and this sign-in did not come from one."
            }
            DeviceRequirement::Compliant => {
                "Conditional Access policy requires a compliant device, and the device is not compliant. The user must enroll their device with an approved MDM provider like Intune."
            }
        }
    }
}

/// What `client_id`'s policy requires of the device, if anything.
pub fn requirement_of(state: &AppState, client_id: &str) -> Option<DeviceRequirement> {
    state
        .config()
        .client(client_id)
        .and_then(|c| c.require_device)
}

/// Whether a sign-in that proved `device_id` (or no device) may get tokens for `client_id`.
pub fn check(
    state: &AppState,
    client_id: &str,
    device_id: Option<&str>,
) -> Result<(), AuthorityError> {
    let Some(requirement) = requirement_of(state, client_id) else {
        return Ok(());
    };
    let satisfied = match (requirement, device_id) {
        (_, None) => false,
        (DeviceRequirement::Joined, Some(_)) => true,
        (DeviceRequirement::Compliant, Some(device)) => {
            crate::routes::mdm::store::enrollment_id(&state.db(), device)?.is_some()
        }
    };
    if satisfied {
        Ok(())
    } else {
        tracing::info!(client_id, requirement = requirement.state_name(), device = ?device_id, "conditional access: refused");
        Err(AuthorityError::DeviceRequired(requirement))
    }
}
