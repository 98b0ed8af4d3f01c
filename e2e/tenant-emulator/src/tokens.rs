//! Issue and validate the authority's RS256 JWTs (id_token and access token, v1 shapes).

use crate::db::{Tenant, User};
use crate::error::InternalError;
use crate::keys::SigningKeys;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cxh_wire::oidc::{AccessTokenClaims, IdTokenClaims};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Lifetime of every token the emulator issues (one hour, like ESTS's default).
pub const TOKEN_LIFETIME_SECS: i64 = 3600;
/// Clock skew tolerated when validating `exp`/`nbf`: the one the app and the bridge use too.
pub const CLOCK_SKEW_SECS: u64 = cxh_wire::consts::CLOCK_SKEW_SECS;
/// Scope of the delegated access tokens.
const DELEGATED_SCOPE: &str = "user_impersonation";

/// Seconds the emulator's clock runs ahead of the system clock (test hook only).
static CLOCK_OFFSET_SECS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// The emulator's clock: the system time plus the offset the test hook set. Every expiry
/// check (nonces, PRTs, tokens, codes, sessions, login contexts, SAML validity) reads this.
/// The offset belongs to the process: one emulator process has one clock.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
        + CLOCK_OFFSET_SECS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Move the emulator's clock: `offset_secs` ahead of the system clock (0 resets it).
pub fn set_clock_offset(offset_secs: i64) {
    CLOCK_OFFSET_SECS.store(offset_secs, std::sync::atomic::Ordering::Relaxed);
}

/// How far the emulator's clock runs ahead of the system clock.
pub fn clock_offset() -> i64 {
    CLOCK_OFFSET_SECS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Sign claims with the authority key; the header names the key by `kid` and `x5t`.
pub fn sign<T: Serialize>(keys: &SigningKeys, claims: &T) -> Result<String, InternalError> {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some(keys.kid.clone());
    header.x5t = Some(keys.x5t.clone());
    jsonwebtoken::encode(&header, claims, keys.encoding_key())
        .map_err(|e| InternalError::Crypto(format!("jwt sign: {e}")))
}

/// Cloud SID of an Entra object: `S-1-12-1-` and the GUID's 16 bytes in Windows' mixed-endian
/// layout read as four little-endian u32 (so the first part is the GUID's first field).
pub fn cloud_sid(object_id: &uuid::Uuid) -> String {
    let bytes = object_id.to_bytes_le();
    let parts: Vec<String> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
        .collect();
    format!("S-1-12-1-{}", parts.join("-"))
}

/// `sub`: stable per user and application, opaque (pairwise subject type).
pub fn pairwise_subject(user_object_id: &str, client_id: &str) -> String {
    let digest = Sha256::digest(format!(
        "{user_object_id}|{}",
        client_id.to_ascii_lowercase()
    ));
    URL_SAFE_NO_PAD.encode(digest)
}

/// Who the token is for and to which application.
pub struct TokenSubject<'a> {
    pub user: &'a User,
    pub tenant: &'a Tenant,
    pub client_id: &'a str,
}

fn user_sid(user: &User) -> String {
    uuid::Uuid::parse_str(&user.object_id)
        .map(|oid| cloud_sid(&oid))
        .unwrap_or_default()
}

/// The id_token claims of seed 001 for a signed-in user.
pub fn id_token_claims(subject: &TokenSubject<'_>, nonce: Option<String>) -> IdTokenClaims {
    let now = now();
    let user = subject.user;
    IdTokenClaims {
        aud: subject.client_id.to_string(),
        iss: cxh_wire::consts::issuer_for(&subject.tenant.id),
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME_SECS,
        ver: "1.0".into(),
        tid: subject.tenant.id.clone(),
        oid: user.object_id.clone(),
        sub: pairwise_subject(&user.object_id, subject.client_id),
        upn: user.upn.clone(),
        unique_name: user.upn.clone(),
        name: user.display_name.clone(),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        sid: user_sid(user),
        onprem_sid: user.onprem_sid.clone(),
        primary_sid: user.onprem_sid.clone(),
        amr: vec!["pwd".into()],
        nonce,
        instance: None,
        tenant_display_name: subject.tenant.display_name.clone(),
        mdm_enrollment_url: None,
        mdm_terms_of_use_url: None,
        mdm_compliance_url: None,
        user_setting_sync_url: None,
    }
}

/// Access token claims for `resource` (e.g. DRS's `urn:ms-drs:…`).
pub fn access_token_claims(subject: &TokenSubject<'_>, resource: &str) -> AccessTokenClaims {
    let now = now();
    AccessTokenClaims {
        aud: resource.to_string(),
        iss: cxh_wire::consts::issuer_for(&subject.tenant.id),
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME_SECS,
        ver: "1.0".into(),
        tid: subject.tenant.id.clone(),
        oid: subject.user.object_id.clone(),
        sub: pairwise_subject(&subject.user.object_id, resource),
        upn: subject.user.upn.clone(),
        unique_name: subject.user.upn.clone(),
        appid: subject.client_id.to_string(),
        scp: DELEGATED_SCOPE.into(),
        amr: vec!["pwd".into()],
        deviceid: None,
        cnf: None,
    }
}

/// The claims a resource server reads from a bearer token (id_token or access token).
#[derive(Debug, Clone, Deserialize)]
pub struct BearerClaims {
    pub exp: i64,
    pub nbf: i64,
    pub iss: String,
    pub aud: String,
    pub tid: String,
    pub oid: String,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub deviceid: Option<String>,
    /// Set on proof-of-possession tokens only.
    #[serde(default)]
    pub cnf: Option<cxh_wire::pop::Cnf>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("the token is signed with alg {0}; only RS256 is accepted")]
    WrongAlgorithm(String),
    #[error("the token's signing key {0:?} is not a key of this authority")]
    UnknownKey(String),
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not yet valid")]
    NotYetValid,
    #[error("the token audience is not accepted here")]
    BadAudience,
    #[error("the token is bound to a key (PoP): it must come in a signed request, not as a bearer token")]
    PopBound,
}

/// [`validate_token`] for a token presented as a bearer token: a PoP token (one with `cnf`)
/// is refused, since whoever presents it has not shown the key.
pub fn validate_bearer(
    keys: &SigningKeys,
    token: &str,
    audiences: &[String],
) -> Result<BearerClaims, TokenError> {
    let claims = validate_token(keys, token, audiences)?;
    if claims.cnf.is_some() {
        return Err(TokenError::PopBound);
    }
    Ok(claims)
}

/// Check signature, algorithm, key id, audience and lifetime (with skew); the issuer is left
/// to the caller, which knows the tenants, and the key binding to [`validate_bearer`] or the
/// PoP verifier ([`crate::pop`]).
pub fn validate_token(
    keys: &SigningKeys,
    token: &str,
    audiences: &[String],
) -> Result<BearerClaims, TokenError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::WrongAlgorithm(format!("{:?}", header.alg)));
    }
    let kid = header.kid.unwrap_or_default();
    if kid != keys.kid {
        return Err(TokenError::UnknownKey(kid));
    }
    // exp/nbf are checked below against the emulator's clock ([`now`]), not the system's.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
    let claims = jsonwebtoken::decode::<BearerClaims>(token, keys.decoding_key(), &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAudience => TokenError::BadAudience,
            _ => TokenError::Malformed(e.to_string()),
        })?;
    let skew = CLOCK_SKEW_SECS as i64;
    let now = now();
    if claims.exp + skew < now {
        return Err(TokenError::Expired);
    }
    if claims.nbf - skew > now {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_sid_matches_the_seed_example() {
        // Seed 001: oid 6fce7178-9d89-4c3b-97d0-0853c08c3b12 has sid S-1-12-1-1875800440-….
        let oid = uuid::Uuid::parse_str("6fce7178-9d89-4c3b-97d0-0853c08c3b12").unwrap();
        assert_eq!(
            cloud_sid(&oid),
            "S-1-12-1-1875800440-1278975369-1393086615-305892544"
        );
    }

    #[test]
    fn pairwise_subject_differs_per_client_and_is_stable() {
        let a = pairwise_subject("u1", "c1");
        assert_eq!(a, pairwise_subject("u1", "C1"));
        assert_ne!(a, pairwise_subject("u1", "c2"));
        assert_eq!(a.len(), 43);
    }
}
