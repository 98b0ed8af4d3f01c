//! User realm discovery: `GET {authority}/common/userrealm/?user=<upn>&api-version=2.1`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameSpaceType {
    Managed,
    Federated,
    Unknown,
}

/// Tenant branding returned with a managed realm (api-version 2.x).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantBrandingInfo {
    pub locale: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner_logo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tile_logo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boiler_plate_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id_label: Option<String>,
    pub keep_me_signed_in_disabled: bool,
}

/// The api-version 2.1 answer. Fields present depend on the namespace type, as in the
/// real service: Unknown carries only `NameSpaceType`, `Login`, `cloud_instance_name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRealm {
    #[serde(rename = "NameSpaceType")]
    pub name_space_type: NameSpaceType,
    #[serde(rename = "Login")]
    pub login: String,
    #[serde(
        rename = "DomainName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_name: Option<String>,
    #[serde(
        rename = "FederationBrandName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub federation_brand_name: Option<String>,
    #[serde(
        rename = "IsDomainVerified",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_domain_verified: Option<u8>,
    #[serde(
        rename = "federation_protocol",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub federation_protocol: Option<String>,
    #[serde(rename = "AuthURL", default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    #[serde(
        rename = "TenantBrandingInfo",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tenant_branding_info: Vec<TenantBrandingInfo>,
    /// Sent by today's service ("microsoftonline.com"); absent in older answers (seed 001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_instance_name: Option<String>,
}

/// `account_type` of the api-version 1.0 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountType {
    Managed,
    Federated,
    Unknown,
}

/// The api-version 1.0 answer, used by non-interactive clients (MSAL's username/password
/// flow, the Windows logon's WS-Trust path): for a federated user it names the STS's MEX
/// document and active (WS-Trust) endpoint. Managed and Unknown answers carry no federation
/// fields; Unknown carries no `domain_name` either.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRealmV1 {
    /// Always `"1.0"`.
    pub ver: String,
    pub account_type: AccountType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// `"WSTrust"` for a federated domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation_protocol: Option<String>,
    /// The STS's WS-MetadataExchange document (`…/adfs/services/trust/mex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation_metadata_url: Option<String>,
    /// The STS's username/password WS-Trust endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation_active_auth_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_instance_name: Option<String>,
    /// The audience the STS must issue for (`urn:federation:MicrosoftOnline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_audience_urn: Option<String>,
}
