//! Proof-of-possession (PoP) access tokens and the Signed HTTP Request (SHR) that carries them.
//!
//! A client that wants a PoP token names a key it holds by its RFC 7638 thumbprint:
//! `req_cnf` = base64url of `{"kid":"<thumbprint>"}` with `token_type=pop` on the token request
//! (for the broker, inside the session-key signed request). The authority then puts
//! `cnf: {"kid": …}` in the access token and answers `token_type: "pop"`. The token is
//! presented to a resource as `Authorization: PoP <shr>`: a JWS (header `typ: "pop"`, RS256,
//! `kid`) signed by that key over `at` (the access token), `ts`, `m` (method), `u` (host),
//! `p` (path), `nonce`, and `cnf: {"jwk": …}` (the public key, whose thumbprint must be the
//! token's `cnf.kid`). A stolen PoP token is useless without the key; a resource refuses it as
//! a bearer token. `generateSignedHttpRequest` makes the same JWS without `at`, so an app can
//! sign its own requests with the device-held key.
//!
//! Shapes follow MSAL's (`draft-ietf-oauth-signed-http-request-03` as Entra uses it).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// `token_type` of a PoP token request and answer.
pub use crate::prt::TOKEN_TYPE_POP;
/// The JWS `typ` of a Signed HTTP Request.
pub const SHR_TYP: &str = "pop";
/// The `Authorization` scheme a PoP token is presented with.
pub const AUTH_SCHEME_POP: &str = "PoP";
/// How long a resource accepts an SHR after its `ts` (seconds, either way: clock skew).
pub const SHR_MAX_AGE_SECS: i64 = 5 * 60;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PopError {
    #[error("req_cnf is not base64url JSON with a kid: {0}")]
    BadReqCnf(String),
    #[error("the kid {0:?} is not a base64url SHA-256 thumbprint")]
    BadKid(String),
}

/// `req_cnf` of a token request: which key the token is to be bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReqCnf {
    pub kid: String,
}

impl ReqCnf {
    /// base64url (no padding) of the JSON, as sent.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Read a `req_cnf` (padding tolerated) and check its kid's shape.
    pub fn decode(value: &str) -> Result<Self, PopError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(value.trim().trim_end_matches('='))
            .map_err(|e| PopError::BadReqCnf(e.to_string()))?;
        let cnf: ReqCnf =
            serde_json::from_slice(&bytes).map_err(|e| PopError::BadReqCnf(e.to_string()))?;
        check_kid(&cnf.kid)?;
        Ok(cnf)
    }
}

/// A kid is a SHA-256 thumbprint: 43 base64url characters (32 bytes).
pub fn check_kid(kid: &str) -> Result<(), PopError> {
    let decoded = URL_SAFE_NO_PAD.decode(kid).ok();
    if kid.len() == 43 && decoded.is_some_and(|d| d.len() == 32) {
        Ok(())
    } else {
        Err(PopError::BadKid(kid.to_string()))
    }
}

/// An RSA public key as a JWK (the members a thumbprint covers, and nothing private).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RsaJwk {
    pub kty: String,
    /// Modulus, base64url big-endian.
    pub n: String,
    /// Exponent, base64url big-endian.
    pub e: String,
}

impl RsaJwk {
    pub fn from_components(modulus: &[u8], exponent: &[u8]) -> Self {
        RsaJwk {
            kty: "RSA".into(),
            n: URL_SAFE_NO_PAD.encode(strip_leading_zeros(modulus)),
            e: URL_SAFE_NO_PAD.encode(strip_leading_zeros(exponent)),
        }
    }

    /// The RFC 7638 input: the required members in lexicographic order, no whitespace.
    pub fn thumbprint_input(&self) -> String {
        format!(
            r#"{{"e":"{}","kty":"{}","n":"{}"}}"#,
            self.e, self.kty, self.n
        )
    }

    /// RFC 7638 thumbprint (SHA-256, base64url): the `kid` of `req_cnf` and `cnf`.
    #[cfg(feature = "crypto")]
    pub fn thumbprint(&self) -> String {
        use sha2::{Digest, Sha256};
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.thumbprint_input().as_bytes()))
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

/// The `cnf` claim: `kid` in an access token, `jwk` in an SHR.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cnf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<RsaJwk>,
}

/// The protected header of an SHR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShrHeader {
    pub alg: String,
    pub typ: String,
    pub kid: String,
}

/// The payload of an SHR.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShrClaims {
    /// The PoP access token (absent from a `generateSignedHttpRequest` SHR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Seconds since the epoch when it was signed.
    pub ts: i64,
    /// HTTP method, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<String>,
    /// Host (with the port when it is not the scheme's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<String>,
    /// Path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    pub nonce: String,
    pub cnf: Cnf,
    /// Claims the app asked to be signed in (`shrClaims`), as a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_claims: Option<String>,
}

/// What a caller of the broker asks a PoP token or an SHR for (`popParams`). MSAL's names
/// (`resourceRequestMethod`, `resourceRequestUri`, `shrNonce`, `shrClaims`) and MSAL
/// runtime's (`httpMethod`, `uri`, `nonce`, `clientClaims`) are both read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PopParams {
    #[serde(alias = "httpMethod")]
    pub resource_request_method: Option<String>,
    #[serde(alias = "uri", alias = "url")]
    pub resource_request_uri: Option<String>,
    #[serde(alias = "nonce")]
    pub shr_nonce: Option<String>,
    #[serde(alias = "clientClaims")]
    pub shr_claims: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn req_cnf_round_trips_and_refuses_a_kid_that_is_no_thumbprint() {
        let kid = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".to_string();
        let cnf = ReqCnf { kid: kid.clone() };
        assert_eq!(ReqCnf::decode(&cnf.encode()), Ok(cnf));
        let short = ReqCnf { kid: "abc".into() }.encode();
        assert_eq!(ReqCnf::decode(&short), Err(PopError::BadKid("abc".into())));
        assert!(matches!(
            ReqCnf::decode("not base64 json!"),
            Err(PopError::BadReqCnf(_))
        ));
    }

    #[test]
    fn pop_params_take_msal_and_msal_runtime_names() {
        let msal: PopParams = serde_json::from_str(
            r#"{"resourceRequestMethod":"GET","resourceRequestUri":"https://a/b","shrNonce":"n"}"#,
        )
        .unwrap();
        let runtime: PopParams =
            serde_json::from_str(r#"{"httpMethod":"GET","uri":"https://a/b","nonce":"n"}"#)
                .unwrap();
        assert_eq!(msal, runtime);
        assert_eq!(msal.resource_request_uri.as_deref(), Some("https://a/b"));
    }

    /// RFC 7638 §3.1: the example key and its thumbprint.
    #[cfg(feature = "crypto")]
    #[test]
    fn thumbprint_matches_the_rfc_7638_example() {
        let jwk = RsaJwk {
            kty: "RSA".into(),
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn jwk_components_drop_leading_zero_bytes() {
        let jwk = RsaJwk::from_components(&[0, 0xc1, 0x02], &[0, 1, 0, 1]);
        assert_eq!(jwk.n, URL_SAFE_NO_PAD.encode([0xc1, 0x02]));
        assert_eq!(jwk.e, "AQAB");
    }
}
