//! Verifying a proof-of-possession presentation: `Authorization: PoP <shr>`, as a resource
//! server does (the emulator's sample API, [`crate::routes::sample_api`]). The wire shapes are
//! [`cxh_wire::pop`]'s; the broker signs them ([`host-bridge`'s `broker::pop`]).
//!
//! An SHR is accepted only when all of these hold, each refused with its own reason:
//! header `alg` RS256 and `typ` pop; `cnf.jwk` an RSA key whose RFC 7638 thumbprint is the
//! header's `kid`; the signature verifies with that key; `at` is a live token of this authority
//! for an accepted audience whose `cnf.kid` is that same thumbprint (so the presenter holds
//! the key the token was issued to); `m`, `u` and `p` are this request's method, host and
//! path; `ts` is within [`SHR_MAX_AGE_SECS`] of the emulator's clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cxh_wire::pop::{ShrClaims, ShrHeader, SHR_MAX_AGE_SECS, SHR_TYP};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use sha2::Sha256;
use thiserror::Error;

use crate::keys::SigningKeys;
use crate::tokens::{self, BearerClaims, TokenError};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShrError {
    #[error("the signed request is not a compact JWS: {0}")]
    Malformed(String),
    #[error("the signed request must be RS256 with typ \"pop\" (got alg {alg:?}, typ {typ:?})")]
    WrongHeader { alg: String, typ: String },
    #[error("the signed request carries no RSA key in cnf.jwk")]
    NoKey,
    #[error("the header kid is not the thumbprint of cnf.jwk")]
    KidMismatch,
    #[error("the signed request's signature does not verify with its key")]
    BadSignature,
    #[error("the signed request carries no access token (at)")]
    NoAccessToken,
    #[error("the access token: {0}")]
    AccessToken(TokenError),
    #[error("the access token is a bearer token, not bound to a key")]
    NotPopToken,
    #[error("the access token is bound to another key than the one that signed the request")]
    WrongKey,
    #[error("the signed request is for {signed}, not for this request ({actual})")]
    OtherRequest { signed: String, actual: String },
    #[error("the signed request's ts is {age} s from now (at most {SHR_MAX_AGE_SECS} s)")]
    Stale { age: i64 },
}

/// The request the SHR was presented with.
pub struct PresentedRequest<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
}

/// What a verified SHR proves.
#[derive(Debug)]
pub struct VerifiedPop {
    pub token: BearerClaims,
    /// The thumbprint of the key that signed.
    pub kid: String,
}

fn decode_part(part: &str, what: &str) -> Result<Vec<u8>, ShrError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| ShrError::Malformed(format!("{what}: {e}")))
}

/// Verify `shr` as presented with `request` to a resource accepting `audiences`.
pub fn verify_shr(
    keys: &SigningKeys,
    shr: &str,
    request: &PresentedRequest<'_>,
    audiences: &[String],
) -> Result<VerifiedPop, ShrError> {
    let (claims, kid) = verify_signed_request(shr)?;
    let at = claims.at.as_deref().ok_or(ShrError::NoAccessToken)?;
    let token = tokens::validate_token(keys, at, audiences).map_err(ShrError::AccessToken)?;
    let bound = token
        .cnf
        .as_ref()
        .and_then(|c| c.kid.as_deref())
        .ok_or(ShrError::NotPopToken)?;
    if bound != kid {
        return Err(ShrError::WrongKey);
    }
    check_request(&claims, request)?;
    check_fresh(claims.ts, tokens::now())?;
    Ok(VerifiedPop { token, kid })
}

/// The SHR's claims and signing key thumbprint, once its header, key and signature check.
pub fn verify_signed_request(shr: &str) -> Result<(ShrClaims, String), ShrError> {
    let mut parts = shr.trim().split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ShrError::Malformed(
            "expected three dot-separated parts".into(),
        ));
    };
    let header: ShrHeader = serde_json::from_slice(&decode_part(header_b64, "header")?)
        .map_err(|e| ShrError::Malformed(format!("header: {e}")))?;
    if header.alg != "RS256" || !header.typ.eq_ignore_ascii_case(SHR_TYP) {
        return Err(ShrError::WrongHeader {
            alg: header.alg,
            typ: header.typ,
        });
    }
    let claims: ShrClaims = serde_json::from_slice(&decode_part(payload_b64, "payload")?)
        .map_err(|e| ShrError::Malformed(format!("payload: {e}")))?;
    let jwk = claims.cnf.jwk.as_ref().ok_or(ShrError::NoKey)?;
    if jwk.kty != "RSA" {
        return Err(ShrError::NoKey);
    }
    let kid = jwk.thumbprint();
    if header.kid != kid {
        return Err(ShrError::KidMismatch);
    }
    let public = RsaPublicKey::new(
        BigUint::from_bytes_be(&decode_part(&jwk.n, "cnf.jwk.n")?),
        BigUint::from_bytes_be(&decode_part(&jwk.e, "cnf.jwk.e")?),
    )
    .map_err(|_| ShrError::NoKey)?;
    let signature = Signature::try_from(decode_part(signature_b64, "signature")?.as_slice())
        .map_err(|_| ShrError::BadSignature)?;
    let signing_input = format!("{header_b64}.{payload_b64}");
    VerifyingKey::<Sha256>::new(public)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| ShrError::BadSignature)?;
    Ok((claims, kid))
}

fn check_request(claims: &ShrClaims, request: &PresentedRequest<'_>) -> Result<(), ShrError> {
    let signed = format!(
        "{} {}{}",
        claims.m.as_deref().unwrap_or("?"),
        claims.u.as_deref().unwrap_or("?"),
        claims.p.as_deref().unwrap_or("?")
    );
    let same = claims
        .m
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case(request.method))
        && claims
            .u
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(request.host))
        && claims.p.as_deref() == Some(request.path);
    if same {
        Ok(())
    } else {
        Err(ShrError::OtherRequest {
            signed,
            actual: format!("{} {}{}", request.method, request.host, request.path),
        })
    }
}

fn check_fresh(ts: i64, now: i64) -> Result<(), ShrError> {
    let age = now - ts;
    if age.abs() > SHR_MAX_AGE_SECS {
        Err(ShrError::Stale { age })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
