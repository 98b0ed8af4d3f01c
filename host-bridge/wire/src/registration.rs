//! Device registration (MS-DVRE; aad-join-spec 2.1): `POST {drs}/EnrollmentServer/device/?api-version=2.0`.

use serde::{Deserialize, Serialize};

/// JoinType values of the registration request.
pub mod join_type {
    pub const AZURE_AD_JOIN: u32 = 0;
    pub const AZURE_AD_REGISTER: u32 = 4;
    pub const HYBRID_JOIN: u32 = 6;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateRequest {
    /// Always `pkcs10`.
    #[serde(rename = "Type", alias = "type")]
    pub kind: String,
    /// Base64 of the DER PKCS#10 request.
    #[serde(rename = "Data", alias = "data")]
    pub data: String,
}

/// Attributes: clients send them as strings ("true") or bools; both are accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistrationAttributes {
    #[serde(
        rename = "ReuseDevice",
        alias = "reuseDevice",
        default,
        with = "crate::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub reuse_device: Option<bool>,
    #[serde(
        rename = "ReturnClientSid",
        alias = "returnClientSid",
        default,
        with = "crate::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub return_client_sid: Option<bool>,
    #[serde(
        rename = "SharedDevice",
        alias = "sharedDevice",
        default,
        with = "crate::lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub shared_device: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationRequest {
    #[serde(rename = "CertificateRequest")]
    pub certificate_request: CertificateRequest,
    /// Base64 of the BCRYPT_RSAKEY_BLOB of tkpub (see [`crate::transport_key`]).
    #[serde(rename = "TransportKey")]
    pub transport_key: String,
    #[serde(rename = "TargetDomain")]
    pub target_domain: String,
    #[serde(rename = "DeviceType")]
    pub device_type: String,
    #[serde(rename = "OSVersion")]
    pub os_version: String,
    #[serde(rename = "DeviceDisplayName")]
    pub device_display_name: String,
    #[serde(rename = "JoinType")]
    pub join_type: u32,
    #[serde(
        rename = "AikCertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub aik_certificate: Option<String>,
    #[serde(
        rename = "AttestationData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub attestation_data: Option<String>,
    #[serde(rename = "Attributes", default)]
    pub attributes: RegistrationAttributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedCertificate {
    /// SHA-1 of the DER certificate, upper-case hex.
    #[serde(rename = "Thumbprint")]
    pub thumbprint: String,
    /// Base64 of the DER certificate.
    #[serde(rename = "RawBody")]
    pub raw_body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredUser {
    #[serde(rename = "Upn")]
    pub upn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipChange {
    #[serde(rename = "LocalSID")]
    pub local_sid: String,
    #[serde(rename = "AddSIDs")]
    pub add_sids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationResponse {
    #[serde(rename = "Certificate")]
    pub certificate: IssuedCertificate,
    #[serde(rename = "User")]
    pub user: RegisteredUser,
    #[serde(
        rename = "MembershipChanges",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub membership_changes: Vec<MembershipChange>,
}

/// The DRS error body: `{"code":"…","subcode":"…","message":"…","operationId":"…","time":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrsError {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcode: Option<String>,
    pub message: String,
    #[serde(rename = "operationId", default)]
    pub operation_id: String,
    #[serde(default)]
    pub time: String,
}
