//! Well-known identifiers of the real service (seed 001, wire-facts.md).

/// Application id of the Device Registration Service: the join web app signs in as its client.
pub const DRS_CLIENT_ID: &str = "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9";
/// Resource identifier of the Device Registration Service (discovery `RegistrationResourceId`).
pub const DRS_RESOURCE_ID: &str = "urn:ms-drs:enterpriseregistration.windows.net";
/// Application id of the MDM enrollment app (seed 001 step 5).
pub const MDM_CLIENT_ID: &str = "29d9ed98-a469-4536-ade2-f981bc1d605e";
/// Path of the join web app on the authority; also its `redirect_uri`.
pub const JOIN_WEB_APP_PATH: &str = "/WebApp/CloudDomainJoin/4";
/// Subject common name of every device registration CSR (MS-DVRE).
pub const CSR_SUBJECT_CN: &str = "7E980AD9-B86D-4306-9425-9AC066FB014A";
/// The only discovery api-version that `enrollmentserver/contract` answers.
pub const DISCOVERY_API_VERSION: &str = "1.2";
/// The registration api-version (`EnrollmentServer/device/?api-version=2.0`).
pub const REGISTRATION_API_VERSION: &str = "2.0";
/// User realm api-version used by the interactive sign-in page.
pub const USER_REALM_API_VERSION: &str = "2.1";
/// Version of the CXH host passed as `cxhver`.
pub const CXH_VERSION: &str = "1.0";
/// Issuer template of v1 tokens; `{tenantid}` is replaced by the tenant id.
pub const ISSUER_TEMPLATE: &str = "https://sts.windows.net/{tenantid}/";
/// Issuer name of the device certificate CA (CN of the issuer).
pub const DEVICE_CA_CN: &str = "MS-Organization-Access";
/// Alternative security id prefix of a device object (seed 001).
pub const ALT_SEC_ID_PREFIX: &str = "X509:<SHA1-TP-PUBKEY>";

/// Clock skew, in seconds, tolerated between a token's issuer and whoever checks its `exp` and
/// `nbf` (5 minutes, as Entra ID's own validators allow). One value for the app and the bridge.
pub const CLOCK_SKEW_SECS: u64 = 5 * 60;

/// Object identifiers of the device certificate extensions (wire-facts.md §9).
pub mod oid {
    pub const DEVICE_ID: &str = "1.2.840.113556.1.5.284.2";
    pub const USER_OBJECT_ID: &str = "1.2.840.113556.1.5.284.3";
    pub const TENANT_ID: &str = "1.2.840.113556.1.5.284.5";
    pub const JOIN_TYPE: &str = "1.2.840.113556.1.5.284.7";
}

/// The issuer of a v1 token for a tenant.
pub fn issuer_for(tenant_id: &str) -> String {
    ISSUER_TEMPLATE.replace("{tenantid}", tenant_id)
}
