//! The authority's OpenID Connect surface: configuration, JWKS, tokens, errors, id_token claims.

use serde::{Deserialize, Serialize};

/// `GET {authority}/common/.well-known/openid-configuration` (seed 001 shows a full example).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenIdConfiguration {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub jwks_uri: String,
    pub response_modes_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub http_logout_supported: bool,
    pub response_types_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    /// `https://sts.windows.net/{tenantid}/`: a template, the tenant is filled per token.
    pub issuer: String,
    pub claims_supported: Vec<String>,
    pub microsoft_multi_refresh_token: bool,
    pub check_session_iframe: String,
    pub end_session_endpoint: String,
    pub userinfo_endpoint: String,
}

/// `GET {authority}/{tenant}/v2.0/.well-known/openid-configuration`: the v2 endpoint's
/// metadata, which v2 clients (MSAL) read first. The issuer is
/// `{authority}/{tenantid}/v2.0` (a template for `common` and `organizations`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenIdConfigurationV2 {
    pub token_endpoint: String,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub jwks_uri: String,
    pub response_modes_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub issuer: String,
    pub request_uri_parameter_supported: bool,
    pub authorization_endpoint: String,
    pub http_logout_supported: bool,
    pub frontchannel_logout_supported: bool,
    pub end_session_endpoint: String,
    pub claims_supported: Vec<String>,
    pub tenant_region_scope: Option<String>,
    pub cloud_instance_name: String,
}

/// One RSA signing key of the authority, as published at `jwks_uri`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    /// Modulus, base64url without padding.
    pub n: String,
    /// Public exponent, base64url without padding.
    pub e: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x5c: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// Claims of the id_token issued to the join web app (seed 001 lists them all).
///
/// Optional claims are absent, never empty strings, so that "not configured" is explicit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub ver: String,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    pub upn: String,
    pub unique_name: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Cloud SID of the user (`S-1-12-1-...`).
    pub sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onprem_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_sid: Option<String>,
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub tenant_display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdm_enrollment_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdm_terms_of_use_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdm_compliance_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_setting_sync_url: Option<String>,
}

/// Claims of an access token the authority issues at its token endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub ver: String,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    pub upn: String,
    pub unique_name: String,
    pub appid: String,
    pub scp: String,
    pub amr: Vec<String>,
    /// The device the token was obtained through (tokens for apps through the PRT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviceid: Option<String>,
    /// A PoP token's key binding (`kid` = the key's thumbprint); absent from bearer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<crate::pop::Cnf>,
}

/// Successful answer of `/{tenant}/oauth2/token` (v1 shape: numbers as strings, like ESTS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_expires_in: Option<String>,
    pub expires_on: String,
    pub not_before: String,
    pub resource: String,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// base64url JSON `{"uid", "utid"}` (the user's object id and tenant id), answered when
    /// the request asked for it with `client_info=1`, as MSAL does: its account key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

/// The error body of the authority (and of DRS): AADSTS-style.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
    #[serde(default)]
    pub error_codes: Vec<u32>,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub trace_id: String,
    #[serde(default)]
    pub correlation_id: String,
}

/// AADSTS error numbers the emulator and clients agree on.
pub mod aadsts {
    /// Invalid username or password.
    pub const INVALID_CREDENTIALS: u32 = 50126;
    /// User account does not exist in the directory.
    pub const USER_NOT_FOUND: u32 = 50034;
    /// Application not found in the directory (unknown client_id).
    pub const UNKNOWN_CLIENT: u32 = 700016;
    /// The reply URL does not match the application's.
    pub const REDIRECT_URI_MISMATCH: u32 = 50011;
    /// Required request parameter missing.
    pub const MISSING_PARAMETER: u32 = 900144;
    /// Unsupported response type.
    pub const UNSUPPORTED_RESPONSE_TYPE: u32 = 700054;
    /// Login context expired or unknown.
    pub const CONTEXT_EXPIRED: u32 = 50058;
    /// Token signature invalid.
    pub const INVALID_SIGNATURE: u32 = 50008;
    /// Token expired.
    pub const TOKEN_EXPIRED: u32 = 700082;
    /// Tenant not found.
    pub const TENANT_NOT_FOUND: u32 = 90002;
    /// Unsupported grant type.
    pub const UNSUPPORTED_GRANT: u32 = 70003;
    /// Authorization code invalid or expired.
    pub const INVALID_CODE: u32 = 70008;
    /// The SAML token from the federation partner is missing, malformed or badly signed.
    pub const INVALID_SAML_TOKEN: u32 = 50008;
    /// The assertion is invalid: issuer, audience or validity period.
    pub const INVALID_ASSERTION: u32 = 50013;
    /// A request parameter is not valid (e.g. a `wctx` that does not match its login).
    pub const INVALID_PARAMETER: u32 = 90100;
    /// Strong authentication (the second factor) failed.
    pub const STRONG_AUTH_FAILED: u32 = 500121;
    /// The account (here: its second factor) is locked after too many wrong attempts.
    pub const ACCOUNT_LOCKED: u32 = 50053;
    /// Multi-factor authentication is required (the code prompt follows).
    pub const MFA_REQUIRED: u32 = 50076;
    /// Conditional access: the device is not in the state the application requires.
    pub const DEVICE_STATE_REQUIRED: u32 = 53000;
    /// PKCE: the code_verifier does not answer the code_challenge.
    pub const PKCE_MISMATCH: u32 = 50148;
    /// A cross-origin token redemption for a redirect URI that is not a SPA's.
    pub const CROSS_ORIGIN_NOT_SPA: u32 = 9002326;
}

/// Parameters of the join web app's sign-in request (seed 001, phase B).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msafed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uxoptin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// PKCE (RFC 7636): the challenge the code's redemption must answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// `S256` or `plain` (the default when a challenge comes without a method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
}

/// Query of `POST {authority}/common/login?cxhflow=…&cxhver=…&cxhplatform=…` (seed 001).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CxhLoginQuery {
    #[serde(default)]
    pub cxhflow: Option<String>,
    #[serde(default)]
    pub cxhver: Option<String>,
    #[serde(default)]
    pub cxhplatform: Option<String>,
}

/// Form fields posted to `/common/login` by the sign-in page.
///
/// `ctx` names the pending authorize request that the login completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginForm {
    pub ctx: String,
    pub login: String,
    pub passwd: String,
}

/// Fields the authority appends to the join web app's redirect URI (fragment) on success,
/// or `error`/`error_description` on failure. `ctx` is set when the sign-in page should
/// let the user try again within the same authorize request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorizeResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_codes: Option<String>,
}

impl OAuthError {
    /// An error with one AADSTS code; the description starts with `AADSTS<code>:` like ESTS.
    pub fn aadsts(error: &str, code: u32, message: &str) -> Self {
        OAuthError {
            error: error.to_string(),
            error_description: format!("AADSTS{code}: {message}"),
            error_codes: vec![code],
            timestamp: String::new(),
            trace_id: String::new(),
            correlation_id: String::new(),
        }
    }
}
