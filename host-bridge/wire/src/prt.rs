//! The Primary Refresh Token protocol (MS-OAPXBC; seeds 003/004; wire-facts.md §11-12): the
//! nonce, the device-signed PRT request, its answer, session-key signed requests (renewal,
//! tokens for apps through the PRT) and the PRT SSO cookie.
//!
//! Only shapes and names live here; the cryptography (SP800-108 KDF, HS256, the `dir`/A256GCM
//! JWE) is in [`crate::prt_crypto`] behind the `crypto` feature, so the wasm app stays small.
//!
//! What goes where on the wire:
//! - `POST {authority}/common/oauth2/token` form `grant_type=srv_challenge` (nothing else: real
//!   clients send no client_id) answers [`NonceResponse`].
//! - `POST {authority}/{tenant|common}/oauth2/token` form [`GRANT_JWT_BEARER`], `request=<JWS>`,
//!   `windows_api_version` (2.0; 2.2 accepted), `client_info=1`, `tgt=true`:
//!   - a PRT request: JWS RS256 by the device key, header [`DeviceSignedHeader`] (`x5c` = the
//!     device certificate, `kdf_ver: 2` when the client wants KDF v2), payload [`PrtRequestClaims`]
//!     with one credential (`password`, `saml1_1-bearer` assertion, or `refresh_token`), answered by
//!     [`PrtResponse`] in clear (its session key travels as `session_key_jwe`);
//!   - a session-key signed request: JWS HS256 by a key derived from the session key, header
//!     [`SessionSignedHeader`] (`ctx`, `kdf_ver`), payload [`PrtRequestClaims`] with the PRT as
//!     `refresh_token` (renewal with scope `aza`, or a token for an app with its `client_id`,
//!     `resource`/`scope` and the broker `redirect_uri`), answered by a compact JWE
//!     (`alg: dir`, `enc: A256GCM`, header `ctx`) whose plaintext is a token response.

use serde::{Deserialize, Deserializer, Serialize};

/// Client id of the PRT request (the Windows CloudAP plug-in).
pub const PRT_CLIENT_ID: &str = "38aa3b87-a06d-4817-b275-7a316988d93b";
/// Client id of the broker (WAM's AAD plug-in), also used by PRT renewal with a refresh token.
pub const BROKER_CLIENT_ID: &str = "29d9ed98-a469-4536-ade2-f981bc1d605e";
/// Scope of a PRT request: `aza` asks for a PRT, `ugs` for the user's group SIDs.
pub const PRT_SCOPE: &str = "openid aza ugs";
/// The scope word that, in a session-key signed request, also returns a renewed PRT.
pub const AZA_SCOPE: &str = "aza";
/// `grant_type` of the nonce request.
pub const GRANT_SRV_CHALLENGE: &str = "srv_challenge";
/// `grant_type` of every PRT-related request at the token endpoint.
pub const GRANT_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Credential inside a PRT request: a federated user's SAML 1.1 assertion from the STS.
pub const GRANT_SAML11_BEARER: &str = "urn:ietf:params:oauth:grant-type:saml1_1-bearer";
/// Credential inside a PRT request: username and password.
pub const GRANT_PASSWORD: &str = "password";
/// Credential inside a PRT request: a previous PRT (renewal) or, for an app, the PRT itself.
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
/// `iss` of session-key signed requests made by the broker.
pub const BROKER_ISSUER: &str = "aad:brokerplugin";
/// `windows_api_version` we send (2.2 is accepted as well).
pub const WINDOWS_API_VERSION: &str = "2.0";
/// `win_ver` we send: the Windows build the request claims to come from.
pub const WIN_VER: &str = "10.0.19041.868";
/// `token_type` of a PRT response.
pub const TOKEN_TYPE_POP: &str = "pop";
/// Label of the SP800-108 KDF that derives signing and encryption keys from the session key.
pub const KDF_LABEL: &[u8] = b"AzureAD-SecureConversation";
/// Discovery capability (openid-configuration `capabilities`) saying the tenant wants KDF v2.
pub const CAPABILITY_KDF_V2: &str = "kdf_ver2";
/// Name of the PRT SSO cookie (and header) a browser sends to the authority.
pub const PRT_COOKIE_NAME: &str = "x-ms-RefreshTokenCredential";
/// `kid` of the encrypted responses: the key is the session key's derivative.
pub const SESSION_KID: &str = "session";

/// PRT lifetime (seed 003): 90 days.
pub const PRT_LIFETIME_SECS: i64 = 90 * 24 * 3600;
/// A PRT unused for this long expires (the 14-day sliding window of seed 003).
pub const PRT_SLIDING_WINDOW_SECS: i64 = 14 * 24 * 3600;
/// The device renews its PRT when it is older than this (seed 003: every 4 hours).
pub const PRT_RENEW_AFTER_SECS: i64 = 4 * 3600;
/// Lifetime of a `srv_challenge` nonce at the emulator.
pub const NONCE_LIFETIME_SECS: i64 = 5 * 60;

/// The broker's redirect URI for an app (`ms-appx-web://Microsoft.AAD.BrokerPlugin/<client_id>`).
pub fn broker_redirect_uri(client_id: &str) -> String {
    format!("ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}")
}

/// AADSTS numbers of the PRT protocol, as the real service uses them.
pub mod aadsts {
    /// The nonce is unknown, spent or expired: get a new one. No public source names the
    /// number ESTS answers here; this one is our documented choice (error `invalid_grant`).
    pub const INVALID_NONCE: u32 = 90044;
    /// Device authentication failed: the signature, certificate or device is not valid.
    pub const DEVICE_AUTH_FAILED: u32 = 50097;
    /// The device is disabled (or deleted) in the tenant.
    pub const DEVICE_DISABLED: u32 = 135011;
    /// The refresh token (the PRT) has expired, by lifetime or by the sliding window.
    pub const PRT_EXPIRED: u32 = 700082;
    /// The grant was revoked (password change or reset, admin action).
    pub const PRT_REVOKED: u32 = 50173;
    /// The session-key signature of a request does not verify.
    pub const SESSION_KEY_SIGNATURE: u32 = 50155;
}

/// `{"Nonce": "..."}`, the answer to `grant_type=srv_challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    #[serde(rename = "Nonce")]
    pub nonce: String,
}

/// The `x5c` header value: real clients send the certificate as one base64 string; JOSE
/// (RFC 7515) says an array. Both are read; we write the string, as Windows does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum X5c {
    One(String),
    Chain(Vec<String>),
}

impl X5c {
    /// The leaf certificate (standard base64 of its DER).
    pub fn leaf(&self) -> Option<&str> {
        match self {
            X5c::One(cert) => Some(cert),
            X5c::Chain(chain) => chain.first().map(String::as_str),
        }
    }
}

/// JOSE header of a PRT request signed by the device key (RS256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSignedHeader {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    pub x5c: X5c,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf_ver: Option<u32>,
}

/// JOSE header of a request (or cookie) signed with a key derived from the session key (HS256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSignedHeader {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// The KDF context: random bytes (24 in Windows' requests), standard base64 with padding.
    pub ctx: String,
    /// `2` for KDF v2 (context = SHA-256(ctx || payload bytes)); absent for v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf_ver: Option<u32>,
}

/// JOSE header of an encrypted response: `alg: dir`, `enc: A256GCM`, `ctx`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResponseHeader {
    pub alg: String,
    pub enc: String,
    pub ctx: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// Header of `session_key_jwe`: the session key under RSA-OAEP (SHA-1) to the transport key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionKeyJweHeader {
    pub enc: String,
    pub alg: String,
}

/// Payload of every JWS sent with `grant_type=jwt-bearer` for the PRT protocol. Which fields
/// are present depends on `grant_type` (the credential): see the module documentation.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PrtRequestClaims {
    pub client_id: String,
    pub request_nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub grant_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub win_ver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The SAML 1.1 assertion, standard base64 of its XML (saml1_1-bearer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion: Option<String>,
    /// The PRT (renewal, or a token for an app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// `pop` asks for a proof-of-possession access token bound to `req_cnf`'s key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// [`crate::pop::ReqCnf`], encoded: the key a PoP token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_cnf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_sids: Option<Vec<String>>,
    /// Seconds since the epoch; real clients send a string, a number is read too.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_i64::deserialize"
    )]
    pub iat: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_i64::deserialize"
    )]
    pub exp: Option<i64>,
}

impl std::fmt::Debug for PrtRequestClaims {
    /// Credentials (password, assertion, PRTs) are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |present: bool| if present { "<redacted>" } else { "-" };
        f.debug_struct("PrtRequestClaims")
            .field("client_id", &self.client_id)
            .field("grant_type", &self.grant_type)
            .field("scope", &self.scope)
            .field("username", &self.username)
            .field("resource", &self.resource)
            .field("password", &hidden(self.password.is_some()))
            .field("assertion", &hidden(self.assertion.is_some()))
            .field("refresh_token", &hidden(self.refresh_token.is_some()))
            .finish_non_exhaustive()
    }
}

/// The answer to a PRT request (v1 token endpoint shape: lifetimes as strings, like ESTS).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrtResponse {
    /// Always [`TOKEN_TYPE_POP`].
    pub token_type: String,
    pub expires_in: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_expires_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
    /// The PRT itself: opaque to the client.
    pub refresh_token: String,
    pub refresh_token_expires_in: String,
    pub id_token: String,
    /// base64url JSON `{"uid": <object id>, "utid": <tenant id>}` (client_info=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
    /// Compact JWE: header [`SessionKeyJweHeader`], encrypted key = RSA-OAEP(SHA-1) of the
    /// 32-byte session key to the transport key.
    pub session_key_jwe: String,
}

impl std::fmt::Debug for PrtResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrtResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("refresh_token", &"<redacted>")
            .field("session_key_jwe", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Decrypted plaintext of an encrypted response to a session-key signed request: tokens for an
/// app, or (with `aza`) a renewed PRT in `refresh_token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrtTokenResponse {
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

impl std::fmt::Debug for PrtTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrtTokenResponse")
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .field("expires_in", &self.expires_in)
            .field("renewed_prt", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Payload of the PRT SSO cookie (`x-ms-RefreshTokenCredential`): the PRT and either the
/// authority's `sso_nonce` (MS-OAPXBC: required) or, in the older form, `iat`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrtCookieClaims {
    pub refresh_token: String,
    /// `"true"` as a string, as Windows sends it.
    pub is_primary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_nonce: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_i64::deserialize"
    )]
    pub iat: Option<i64>,
}

impl std::fmt::Debug for PrtCookieClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrtCookieClaims")
            .field("refresh_token", &"<redacted>")
            .field("is_primary", &self.is_primary)
            .field("request_nonce", &self.request_nonce.is_some())
            .field("iat", &self.iat)
            .finish()
    }
}

/// The claims of a PRT response's id_token that the device reads (only after its signature,
/// issuer, audience [`PRT_CLIENT_ID`] and lifetime are checked): who the PRT belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrtIdTokenClaims {
    pub aud: String,
    pub iss: String,
    pub tid: String,
    pub oid: String,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    pub exp: i64,
    #[serde(default)]
    pub amr: Vec<String>,
}

impl PrtIdTokenClaims {
    /// The user principal name (`upn`, else `unique_name`).
    pub fn principal(&self) -> Option<&str> {
        self.upn.as_deref().or(self.unique_name.as_deref())
    }
}

/// `client_info` (base64url JSON) of a PRT or token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub uid: String,
    pub utid: String,
}

/// Read a number that real clients send as a JSON string (`"1700000000"`) or as a number.
pub mod lenient_i64 {
    use super::*;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(i64),
        Str(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<NumberOrString>::deserialize(d)? {
            None => Ok(None),
            Some(NumberOrString::Number(n)) => Ok(Some(n)),
            Some(NumberOrString::Str(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("not a number: {s:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x5c_is_read_as_string_or_array_and_written_as_string() {
        let one: DeviceSignedHeader =
            serde_json::from_str(r#"{"alg":"RS256","x5c":"MIIB","kdf_ver":2}"#).unwrap();
        let chain: DeviceSignedHeader =
            serde_json::from_str(r#"{"alg":"RS256","x5c":["MIIB","MIIC"]}"#).unwrap();
        assert_eq!(one.x5c.leaf(), Some("MIIB"));
        assert_eq!(chain.x5c.leaf(), Some("MIIB"));
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            r#"{"alg":"RS256","x5c":"MIIB","kdf_ver":2}"#
        );
    }

    #[test]
    fn iat_and_exp_are_read_from_strings_or_numbers() {
        let claims: PrtRequestClaims = serde_json::from_str(
            r#"{"client_id":"c","request_nonce":"n","grant_type":"refresh_token","iat":"1700000000","exp":1700003600}"#,
        )
        .unwrap();
        assert_eq!(claims.iat, Some(1_700_000_000));
        assert_eq!(claims.exp, Some(1_700_003_600));
        let bad = serde_json::from_str::<PrtRequestClaims>(
            r#"{"client_id":"c","request_nonce":"n","grant_type":"x","iat":"soon"}"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn debug_never_prints_credentials() {
        let claims = PrtRequestClaims {
            password: Some("Correct-Horse-42".into()),
            refresh_token: Some("prt-secret".into()),
            ..Default::default()
        };
        let printed = format!("{claims:?}");
        assert!(!printed.contains("Correct-Horse-42") && !printed.contains("prt-secret"));
        let cookie = PrtCookieClaims {
            refresh_token: "prt-secret".into(),
            is_primary: "true".into(),
            request_nonce: None,
            iat: None,
        };
        assert!(!format!("{cookie:?}").contains("prt-secret"));
    }

    #[test]
    fn broker_redirect_uri_names_the_client() {
        assert_eq!(
            broker_redirect_uri("d3590ed6-52b3-4102-aeff-aad2292ab01c"),
            "ms-appx-web://Microsoft.AAD.BrokerPlugin/d3590ed6-52b3-4102-aeff-aad2292ab01c"
        );
    }
}
