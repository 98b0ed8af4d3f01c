//! Emulator-only admin API for tests (not part of Entra): inspect device objects, health.
//!
//! The device routes show every tenant's device objects (owners, keys, certificates) without
//! authentication, so they are mounted only with `--test-hooks`, like the credential-minting
//! hooks; without it only `/_emulator/health` (which says nothing but "ok") is served.

use crate::db::{self, Device};
use crate::error::{DrsServiceError, InternalError};
use crate::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Always mounted: a readiness probe that reveals nothing.
pub fn routes() -> Router<AppState> {
    Router::new().route("/_emulator/health", get(|| async { "ok" }))
}

/// Mounted only with `--test-hooks`: the device objects of every tenant.
pub fn test_hook_routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/devices", get(list_devices))
        .route("/_emulator/devices/{device_id}", get(get_device))
}

/// A device object as the admin API shows it (MSOnline `Get-MsolDevice`-like names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceObject {
    pub device_id: String,
    pub object_id: String,
    pub display_name: String,
    pub device_os_type: String,
    pub device_os_version: String,
    pub device_trust_type: String,
    pub join_type: u32,
    pub registered_owners: Vec<String>,
    pub registered_owner_object_ids: Vec<String>,
    pub alternative_security_ids: Vec<String>,
    pub thumbprint: String,
    pub tenant_id: String,
    /// Base64 BCRYPT_RSAKEY_BLOB as sent by the device.
    pub transport_key: String,
    /// Base64 DER of the issued certificate.
    pub certificate: String,
    pub enabled: bool,
    pub attested: bool,
    /// Which keys are attested (TPM), and by what EK certificate chain.
    #[serde(default)]
    pub attestation: cxh_wire::key_attestation::DeviceAttestation,
    pub created_date_time: String,
    /// Whether the MDM role holds an enrollment for this device.
    #[serde(default)]
    pub mdm_enrolled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdm_enrollment_id: Option<String>,
}

impl From<Device> for DeviceObject {
    fn from(d: Device) -> Self {
        DeviceObject {
            certificate: STANDARD.encode(&d.cert_der),
            device_id: d.device_id,
            object_id: d.object_id,
            display_name: d.display_name,
            device_os_type: d.os_type,
            device_os_version: d.os_version,
            device_trust_type: d.trust_type,
            join_type: d.join_type,
            registered_owners: vec![d.owner_upn],
            registered_owner_object_ids: vec![d.owner_object_id],
            alternative_security_ids: vec![d.alternative_security_id],
            thumbprint: d.thumbprint,
            tenant_id: d.tenant_id,
            transport_key: d.transport_key,
            enabled: d.enabled,
            attested: d.attested,
            attestation: d.attestation,
            created_date_time: d.created_at,
            mdm_enrolled: false,
            mdm_enrollment_id: None,
        }
    }
}

async fn list_devices(
    State(state): State<AppState>,
) -> Result<Json<Vec<DeviceObject>>, DrsServiceError> {
    let devices = db::devices(&state.db()).map_err(DrsServiceError::from)?;
    let objects = devices.into_iter().map(DeviceObject::from);
    Ok(Json(
        objects
            .map(|o| with_mdm(&state, o))
            .collect::<Result<_, _>>()?,
    ))
}

async fn get_device(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
) -> Result<Json<DeviceObject>, DrsServiceError> {
    let device = db::device(&state.db(), &device_id)
        .map_err(|e: InternalError| DrsServiceError::from(e))?
        .ok_or(DrsServiceError::DeviceNotFound(device_id))?;
    Ok(Json(with_mdm(&state, device.into())?))
}

/// Fill in the MDM enrollment the MDM role recorded for the device.
fn with_mdm(state: &AppState, mut object: DeviceObject) -> Result<DeviceObject, DrsServiceError> {
    let enrollment = crate::routes::mdm::enrollment_of(state, &object.device_id)?;
    object.mdm_enrolled = enrollment.is_some();
    object.mdm_enrollment_id = enrollment;
    Ok(object)
}
