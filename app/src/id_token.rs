//! Checking the authority's answer before any claim of it is used (seed 001 phase C, checked).
//!
//! The redirect's `state` must be the one this session sent; the id_token must be RS256-signed
//! by the JWKS key its `kid` names, issued for the Device Registration Service (`aud`) by the
//! tenant it names (`iss` = the configuration's issuer template with the token's `tid`), be
//! within its lifetime (5 minutes of clock skew allowed) and carry this session's nonce.
//!
//! Pure: the caller passes the keys, the expected values and the current time, so every rule
//! is unit-tested natively.

use std::fmt;

use cxh_wire::consts::DRS_CLIENT_ID;
use cxh_wire::oidc::{IdTokenClaims, Jwks};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// Clock skew tolerated between the device and the authority: the protocol-wide
/// [`cxh_wire::consts::CLOCK_SKEW_SECS`], the same the bridge allows.
pub const CLOCK_SKEW_SECS: i64 = cxh_wire::consts::CLOCK_SKEW_SECS as i64;

/// Why an answer was refused. The text is shown on the error page, so it names the rule that
/// failed and never includes the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    MissingState,
    StateMismatch,
    Malformed(String),
    UnsupportedAlgorithm(String),
    MissingKeyId,
    UnknownKey(String),
    UnusableKey(String),
    BadSignature,
    WrongAudience(String),
    MissingTenant,
    WrongIssuer { expected: String, found: String },
    Expired,
    NotYetValid,
    MissingNonce,
    NonceMismatch,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::MissingState => write!(f, "the sign-in response has no state"),
            TokenError::StateMismatch => write!(
                f,
                "the sign-in response's state is not the one this device sent"
            ),
            TokenError::Malformed(why) => write!(f, "the id_token is malformed ({why})"),
            TokenError::UnsupportedAlgorithm(alg) => {
                write!(f, "the id_token is signed with {alg}, not RS256")
            }
            TokenError::MissingKeyId => write!(f, "the id_token header names no signing key (kid)"),
            TokenError::UnknownKey(kid) => write!(
                f,
                "the id_token's signing key {kid} is not among the authority's keys"
            ),
            TokenError::UnusableKey(kid) => {
                write!(f, "the authority's key {kid} is not a usable RSA key")
            }
            TokenError::BadSignature => write!(f, "the id_token's signature is invalid"),
            TokenError::WrongAudience(aud) => {
                write!(f, "the id_token is for {aud}, not the Device Registration Service ({DRS_CLIENT_ID})")
            }
            TokenError::MissingTenant => write!(f, "the id_token names no tenant (tid)"),
            TokenError::WrongIssuer { expected, found } => {
                write!(f, "the id_token was issued by {found}, expected {expected}")
            }
            TokenError::Expired => write!(f, "the id_token has expired"),
            TokenError::NotYetValid => write!(f, "the id_token is not valid yet"),
            TokenError::MissingNonce => write!(f, "the id_token carries no nonce"),
            TokenError::NonceMismatch => {
                write!(f, "the id_token's nonce is not the one this device sent")
            }
        }
    }
}

/// The redirect must echo the state this session put in its sign-in request; otherwise the
/// answer belongs to someone else's request (CSRF / injected response).
pub fn check_state(received: Option<&str>, expected: &str) -> Result<(), TokenError> {
    match received {
        None | Some("") => Err(TokenError::MissingState),
        Some(state) if state == expected => Ok(()),
        Some(_) => Err(TokenError::StateMismatch),
    }
}

/// Verify the signature and audience with the key the token names, then every claim rule.
/// `issuer_template` is the configuration's `issuer`; `now` is seconds since the epoch.
pub fn validate_id_token(
    token: &str,
    jwks: &Jwks,
    issuer_template: &str,
    expected_nonce: &str,
    now: i64,
) -> Result<IdTokenClaims, TokenError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|error| TokenError::Malformed(error.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::UnsupportedAlgorithm(format!(
            "{:?}",
            header.alg
        )));
    }
    let kid = header
        .kid
        .filter(|kid| !kid.is_empty())
        .ok_or(TokenError::MissingKeyId)?;
    let jwk = jwks
        .keys
        .iter()
        .find(|key| key.kid == kid && key.kty == "RSA")
        .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
    let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e)
        .map_err(|_| TokenError::UnusableKey(kid.clone()))?;

    // The library checks signature and audience; time, issuer and nonce are checked below
    // against the caller's clock and values, so they can be tested and reported precisely.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[DRS_CLIENT_ID]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<IdTokenClaims>(token, &key, &validation).map_err(
        |error| match error.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAudience => TokenError::WrongAudience(audience_of(token)),
            ErrorKind::InvalidRsaKey(_) => TokenError::UnusableKey(kid.clone()),
            _ => TokenError::Malformed(error.to_string()),
        },
    )?;
    check_claims(&data.claims, issuer_template, expected_nonce, now)?;
    Ok(data.claims)
}

/// The `aud` of a token whose signature already verified, for the error text only.
fn audience_of(token: &str) -> String {
    jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(token)
        .ok()
        .and_then(|data| data.claims.get("aud").map(|aud| aud.to_string()))
        .unwrap_or_else(|| "another audience".to_string())
}

/// The claim rules, on claims whose signature was already verified.
pub fn check_claims(
    claims: &IdTokenClaims,
    issuer_template: &str,
    expected_nonce: &str,
    now: i64,
) -> Result<(), TokenError> {
    if claims.aud != DRS_CLIENT_ID {
        return Err(TokenError::WrongAudience(claims.aud.clone()));
    }
    if claims.tid.is_empty() {
        return Err(TokenError::MissingTenant);
    }
    let expected_issuer = issuer_template.replace("{tenantid}", &claims.tid);
    if claims.iss != expected_issuer {
        return Err(TokenError::WrongIssuer {
            expected: expected_issuer,
            found: claims.iss.clone(),
        });
    }
    if now > claims.exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(TokenError::Expired);
    }
    if now.saturating_add(CLOCK_SKEW_SECS) < claims.nbf {
        return Err(TokenError::NotYetValid);
    }
    match claims.nonce.as_deref() {
        None | Some("") => Err(TokenError::MissingNonce),
        Some(nonce) if nonce == expected_nonce => Ok(()),
        Some(_) => Err(TokenError::NonceMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use cxh_wire::consts::ISSUER_TEMPLATE;
    use cxh_wire::oidc::Jwk;
    use jsonwebtoken::{EncodingKey, Header};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    use rsa::RsaPrivateKey;
    use std::sync::OnceLock;

    const TENANT: &str = "df5be8b1-f322-456c-acff-b13066d72402";
    const NOW: i64 = 1_700_000_000;

    /// The authority's key and a second, foreign key; generated once (RSA keygen is slow).
    fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
        static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
        KEYS.get_or_init(|| {
            let mut rng = rand::thread_rng();
            (
                RsaPrivateKey::new(&mut rng, 2048).unwrap(),
                RsaPrivateKey::new(&mut rng, 2048).unwrap(),
            )
        })
    }

    fn jwks() -> Jwks {
        let public = keys().0.to_public_key();
        Jwks {
            keys: vec![Jwk {
                kty: "RSA".into(),
                use_: "sig".into(),
                kid: "key-1".into(),
                x5t: None,
                n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
                x5c: vec![],
                issuer: None,
            }],
        }
    }

    fn claims() -> IdTokenClaims {
        IdTokenClaims {
            aud: DRS_CLIENT_ID.into(),
            iss: format!("https://sts.windows.net/{TENANT}/"),
            iat: NOW - 60,
            nbf: NOW - 60,
            exp: NOW + 3600,
            ver: "1.0".into(),
            tid: TENANT.into(),
            oid: "6fce7178-9d89-4c3b-97d0-0853c08c3b12".into(),
            sub: "sub".into(),
            upn: "ada@contoso.com".into(),
            unique_name: "ada@contoso.com".into(),
            name: "Ada".into(),
            given_name: None,
            family_name: None,
            sid: "S-1-12-1-1-2-3-4".into(),
            onprem_sid: None,
            primary_sid: None,
            amr: vec!["pwd".into()],
            nonce: Some("nonce-1".into()),
            instance: None,
            tenant_display_name: "Contoso".into(),
            mdm_enrollment_url: None,
            mdm_terms_of_use_url: None,
            mdm_compliance_url: None,
            user_setting_sync_url: None,
        }
    }

    fn sign_with(key: &RsaPrivateKey, kid: Option<&str>, claims: &IdTokenClaims) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        let der = key.to_pkcs1_der().unwrap();
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap()
    }

    fn sign(claims: &IdTokenClaims) -> String {
        sign_with(&keys().0, Some("key-1"), claims)
    }

    fn validate(token: &str) -> Result<IdTokenClaims, TokenError> {
        validate_id_token(token, &jwks(), ISSUER_TEMPLATE, "nonce-1", NOW)
    }

    #[test]
    fn a_good_token_yields_its_claims() {
        let claims = validate(&sign(&claims())).unwrap();
        assert_eq!(claims.tenant_display_name, "Contoso");
        assert_eq!(claims.upn, "ada@contoso.com");
    }

    #[test]
    fn signature_and_key_rules() {
        assert_eq!(
            validate(&sign_with(&keys().1, Some("key-1"), &claims())),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            validate(&sign_with(&keys().0, Some("key-9"), &claims())),
            Err(TokenError::UnknownKey("key-9".into()))
        );
        assert_eq!(
            validate(&sign_with(&keys().0, None, &claims())),
            Err(TokenError::MissingKeyId)
        );
        let hs256 = jsonwebtoken::encode(
            &Header {
                kid: Some("key-1".into()),
                ..Header::new(Algorithm::HS256)
            },
            &claims(),
            &EncodingKey::from_secret(b"guessable"),
        )
        .unwrap();
        assert_eq!(
            validate(&hs256),
            Err(TokenError::UnsupportedAlgorithm("HS256".into()))
        );
        let mut tampered = sign(&claims());
        tampered.insert(tampered.rfind('.').unwrap() - 2, 'A');
        assert!(validate(&tampered).is_err());
        assert!(matches!(
            validate("not a token"),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(validate(""), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn audience_must_be_the_device_registration_service() {
        let mut other = claims();
        other.aud = "dd762716-544d-4aeb-a526-687b73838a22".into();
        assert!(
            matches!(validate(&sign(&other)), Err(TokenError::WrongAudience(aud)) if aud.contains("dd762716"))
        );
    }

    #[test]
    fn issuer_is_the_template_filled_with_the_tokens_tenant() {
        let mut other = claims();
        other.iss = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/".into();
        assert!(matches!(
            validate(&sign(&other)),
            Err(TokenError::WrongIssuer { .. })
        ));
        let mut no_tenant = claims();
        no_tenant.tid = String::new();
        assert_eq!(validate(&sign(&no_tenant)), Err(TokenError::MissingTenant));
    }

    #[test]
    fn lifetime_allows_five_minutes_of_skew() {
        let mut token = claims();
        token.exp = NOW - CLOCK_SKEW_SECS;
        assert!(validate(&sign(&token)).is_ok());
        token.exp = NOW - CLOCK_SKEW_SECS - 1;
        assert_eq!(validate(&sign(&token)), Err(TokenError::Expired));
        let mut early = claims();
        early.nbf = NOW + CLOCK_SKEW_SECS;
        assert!(validate(&sign(&early)).is_ok());
        early.nbf = NOW + CLOCK_SKEW_SECS + 1;
        assert_eq!(validate(&sign(&early)), Err(TokenError::NotYetValid));
    }

    #[test]
    fn nonce_must_be_this_sessions() {
        let mut other = claims();
        other.nonce = Some("nonce-2".into());
        assert_eq!(validate(&sign(&other)), Err(TokenError::NonceMismatch));
        other.nonce = None;
        assert_eq!(validate(&sign(&other)), Err(TokenError::MissingNonce));
    }

    #[test]
    fn state_must_be_echoed() {
        assert_eq!(check_state(Some("s"), "s"), Ok(()));
        assert_eq!(check_state(Some("t"), "s"), Err(TokenError::StateMismatch));
        assert_eq!(check_state(None, "s"), Err(TokenError::MissingState));
        assert_eq!(check_state(Some(""), "s"), Err(TokenError::MissingState));
    }

    #[test]
    fn errors_read_as_sentences_without_the_token() {
        let text = TokenError::WrongIssuer {
            expected: "a".into(),
            found: "b".into(),
        }
        .to_string();
        assert_eq!(text, "the id_token was issued by b, expected a");
    }
}
