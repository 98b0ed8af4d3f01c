//! Validation of the token the page hands over, before the bridge acts on any claim.
//!
//! The page already checked its id_token, but the bridge is the one that creates keys and
//! writes machine state, so it trusts nothing it did not verify itself: the signature against
//! the authority's published keys (openid-configuration -> `jwks_uri`, key chosen by `kid`,
//! RS256 only), the v1 issuer of the token's own tenant, the audience, `exp`/`nbf` with
//! [`CLOCK_SKEW_SECS`] of clock skew (the value the app uses too, from `cxh_wire::consts`), and for id_tokens the nonce of the sign-in request (which the bridge issued and spends:
//! [`crate::nonce`]).

use cxh_wire::consts::{issuer_for, DRS_CLIENT_ID, DRS_RESOURCE_ID};
use cxh_wire::oidc::{AccessTokenClaims, IdTokenClaims, Jwks, OpenIdConfiguration};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use thiserror::Error;
use url::Url;

use crate::config::endpoint;
use crate::http::{self, send};

/// Allowed clock skew between the authority and this machine (the protocol-wide value).
pub use cxh_wire::consts::CLOCK_SKEW_SECS;

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is signed with {0}, only RS256 is accepted")]
    Algorithm(String),
    #[error("the token header names no key (kid)")]
    NoKeyId,
    #[error("the authority does not publish the key {0:?} that signed the token")]
    UnknownKey(String),
    #[error("the authority's keys could not be fetched from {url}: {reason}")]
    Keys { url: String, reason: String },
    #[error("the token signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is for another audience")]
    Audience,
    #[error("the token issuer {found:?} is not {expected:?}")]
    Issuer { found: String, expected: String },
    #[error("the token nonce does not match the sign-in request")]
    Nonce,
    #[error("the token nonce was not issued by this bridge, or was already used: start the sign-in again")]
    NonceNotIssued,
    #[error("the token nonce has expired: start the sign-in again")]
    NonceExpired,
    #[error("the token claims are incomplete: {0}")]
    Claims(String),
}

/// The claims every authority token carries that validation needs.
pub trait IssuedClaims {
    fn iss(&self) -> &str;
    fn tid(&self) -> &str;
}

impl IssuedClaims for IdTokenClaims {
    fn iss(&self) -> &str {
        &self.iss
    }
    fn tid(&self) -> &str {
        &self.tid
    }
}

impl IssuedClaims for cxh_wire::prt::PrtIdTokenClaims {
    fn iss(&self) -> &str {
        &self.iss
    }
    fn tid(&self) -> &str {
        &self.tid
    }
}

impl IssuedClaims for AccessTokenClaims {
    fn iss(&self) -> &str {
        &self.iss
    }
    fn tid(&self) -> &str {
        &self.tid
    }
}

/// Validates tokens of one authority.
#[derive(Debug, Clone)]
pub struct TokenValidator {
    http: reqwest::Client,
    authority: Url,
}

impl TokenValidator {
    pub fn new(http: reqwest::Client, authority: Url) -> Self {
        TokenValidator { http, authority }
    }

    /// An id_token issued to the join web app (aud = the DRS client id) for this nonce.
    pub async fn validate_id_token(
        &self,
        raw: &str,
        nonce: &str,
    ) -> Result<IdTokenClaims, TokenError> {
        let claims: IdTokenClaims = self.validate(raw, DRS_CLIENT_ID).await?;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(TokenError::Nonce);
        }
        Ok(claims)
    }

    /// An access token for the DRS resource (the scripted join's password grant).
    pub async fn validate_access_token(&self, raw: &str) -> Result<AccessTokenClaims, TokenError> {
        self.validate(raw, DRS_RESOURCE_ID).await
    }

    /// The id_token of a PRT response (aud = the CloudAP client id; no nonce: the request's
    /// own nonce was the authority's).
    pub async fn validate_prt_id_token(
        &self,
        raw: &str,
    ) -> Result<cxh_wire::prt::PrtIdTokenClaims, TokenError> {
        self.validate(raw, cxh_wire::prt::PRT_CLIENT_ID).await
    }

    async fn validate<T: DeserializeOwned + IssuedClaims>(
        &self,
        raw: &str,
        audience: &str,
    ) -> Result<T, TokenError> {
        let kid = signing_key_id(raw)?;
        let jwks = self.fetch_jwks().await?;
        let jwk = jwks
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey(kid))?;
        let key =
            DecodingKey::from_rsa_components(&jwk.n, &jwk.e).map_err(|_| TokenError::Signature)?;
        let claims: T = jsonwebtoken::decode::<T>(raw, &key, &validation_for(audience))
            .map_err(map_jwt_error)?
            .claims;
        check_issuer(&claims)?;
        Ok(claims)
    }

    async fn fetch_jwks(&self) -> Result<Jwks, TokenError> {
        let config_url = endpoint(&self.authority, "common/.well-known/openid-configuration");
        let config: OpenIdConfiguration = self.get_json(&config_url).await?;
        self.get_json(&config.jwks_uri).await
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, TokenError> {
        let failed = |reason: String| TokenError::Keys {
            url: url.to_string(),
            reason,
        };
        let response = send(self.http.get(url))
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}")));
        }
        let body = http::body(response)
            .await
            .map_err(|e| failed(e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| failed(format!("not the expected JSON: {e}")))
    }
}

/// Read the header without trusting it: only the algorithm and key id are used.
fn signing_key_id(raw: &str) -> Result<String, TokenError> {
    let header = jsonwebtoken::decode_header(raw).map_err(|_| TokenError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
    }
    header
        .kid
        .filter(|kid| !kid.is_empty())
        .ok_or(TokenError::NoKeyId)
}

fn validation_for(audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
    validation.validate_nbf = true;
    validation.leeway = CLOCK_SKEW_SECS;
    validation
}

/// v1 tokens are issued by `https://sts.windows.net/{tid}/`: the issuer must name the
/// tenant the token claims to be from (checked after the signature, so `tid` is authentic).
fn check_issuer<T: IssuedClaims>(claims: &T) -> Result<(), TokenError> {
    let expected = issuer_for(claims.tid());
    if claims.iss() != expected {
        return Err(TokenError::Issuer {
            found: claims.iss().to_string(),
            expected,
        });
    }
    Ok(())
}

fn map_jwt_error(error: jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature => TokenError::Signature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::Claims(format!("missing {claim}")),
        ErrorKind::Json(e) => TokenError::Claims(e.to_string()),
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            TokenError::Malformed
        }
        other => TokenError::Claims(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bridge_allows_the_same_five_minutes_of_skew_as_the_app() {
        assert_eq!(cxh_wire::consts::CLOCK_SKEW_SECS, 300);
        assert_eq!(validation_for(DRS_CLIENT_ID).leeway, 300);
    }
}
