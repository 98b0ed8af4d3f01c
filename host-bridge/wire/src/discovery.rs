//! DRS discovery document (MS-DVRD): `GET {drs}/{domain}/enrollmentserver/contract?api-version=1.2`
//! with `Accept: application/json`. Section names and fields follow the public examples.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiscoveryDocument {
    pub device_registration_service: DeviceRegistrationService,
    pub authentication_service: AuthenticationService,
    pub identity_provider_service: IdentityProviderService,
    pub device_join_service: DeviceJoinService,
    pub key_provisioning_service: KeyProvisioningService,
    /// Present in newer (1.9) documents; the emulator adds it to 1.2 as well, as real DRS does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_info: Option<TenantInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceRegistrationService {
    pub registration_endpoint: String,
    pub registration_resource_id: String,
    pub service_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthenticationService {
    #[serde(rename = "OAuth2")]
    pub oauth2: OAuth2Endpoints,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OAuth2Endpoints {
    pub auth_code_endpoint: String,
    pub token_endpoint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityProviderService {
    #[serde(default)]
    pub federated: bool,
    pub passive_auth_endpoint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceJoinService {
    pub join_endpoint: String,
    pub join_resource_id: String,
    pub service_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyProvisioningService {
    pub key_provision_endpoint: String,
    pub key_provision_resource_id: String,
    pub service_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantInfo {
    pub display_name: String,
    pub tenant_id: String,
    pub tenant_name: String,
}
