//! The PRT request (MS-OAPXBC; seed 003 step 3): `grant_type=jwt-bearer` with `request` = a
//! JWS signed RS256 by the device key, header `x5c` = the device certificate. This module
//! takes the request apart, sends session-key signed ones (HS256) to [`super::prt_signed`],
//! and answers device-signed ones:
//!
//! 1. the certificate must be byte for byte one DRS issued (from the tenant's
//!    MS-Organization-Access CA) to a device of the request's tenant, found by thumbprint;
//!    anything else is AADSTS50097;
//! 2. the signature must verify with that certificate's key (AADSTS50097);
//! 3. the device must be enabled (AADSTS135011);
//! 4. `request_nonce` must be a live `srv_challenge` nonce, spent here (AADSTS90044);
//! 5. the credential: `password` (lockout, MFA rule AADSTS50076; a federated user has no
//!    usable cloud password), `saml1_1-bearer` (the STS assertion, as the saml grant checks it;
//!    amr `pwd`,`fed` (+`mfa`)), or `refresh_token` (a live PRT of this same device: renewal).
//!
//! The answer ([`cxh_wire::prt::PrtResponse`]) carries a new opaque PRT (only its SHA-256 is
//! stored) and a fresh 32-byte session key, RSA-OAEP (SHA-1) encrypted to the device's
//! transport key as registered at join (`session_key_jwe`).

use super::error::GrantError;
use super::password::check_password;
use super::store::{self, PrtRecord};
use super::{prt_signed, srv_challenge};
use crate::db::{self, Device, Tenant, User};
use crate::error::{AuthorityError, InternalError};
use crate::routes::shared::{
    random_token, require_proven_factor, required, tenant_of, TenantScope,
};
use crate::tokens::{self, TokenSubject};
use crate::AppState;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::prt::{
    ClientInfo, DeviceSignedHeader, PrtRequestClaims, PrtResponse, BROKER_CLIENT_ID,
    GRANT_PASSWORD, GRANT_REFRESH_TOKEN, GRANT_SAML11_BEARER, PRT_CLIENT_ID, PRT_LIFETIME_SECS,
    PRT_SLIDING_WINDOW_SECS, TOKEN_TYPE_POP,
};
use cxh_wire::prt_crypto::{b64url, session_key_jwe, ParsedJws};
use der::{Decode, Encode};
use rsa::{BigUint, Oaep, RsaPublicKey};
use std::collections::HashMap;

/// A `jwt-bearer` request: RS256 (device key) or HS256 (session key).
pub(crate) fn answer(
    state: &AppState,
    scope: &TenantScope,
    form: &HashMap<String, String>,
) -> Result<Response, AuthorityError> {
    let request = required(form, "request")?;
    let jws = ParsedJws::parse(request)
        .map_err(|e| AuthorityError::InvalidRequest(format!("request: {e}")))?;
    let header: serde_json::Value = serde_json::from_slice(&jws.header)
        .map_err(|_| AuthorityError::InvalidRequest("request: header is not JSON".into()))?;
    match header.get("alg").and_then(|a| a.as_str()) {
        Some("RS256") => device_signed(state, scope, &jws).map(|r| Json(r).into_response()),
        Some("HS256") => prt_signed::answer(state, scope, &jws),
        other => Err(AuthorityError::InvalidRequest(format!(
            "request: alg {other:?} is not supported (RS256 device key or HS256 session key)"
        ))),
    }
}

fn claims_of(jws: &ParsedJws) -> Result<PrtRequestClaims, AuthorityError> {
    serde_json::from_slice(&jws.payload)
        .map_err(|e| AuthorityError::InvalidRequest(format!("request: payload: {e}")))
}

fn device_auth(reason: &str) -> AuthorityError {
    GrantError::DeviceAuth(reason.to_string()).into()
}

/// The device whose certificate signed `jws`, checked against what DRS issued.
fn signing_device(
    state: &AppState,
    scope: &TenantScope,
    jws: &ParsedJws,
) -> Result<Device, AuthorityError> {
    let header: DeviceSignedHeader = serde_json::from_slice(&jws.header)
        .map_err(|_| device_auth("the request header has no x5c certificate"))?;
    let leaf = header
        .x5c
        .leaf()
        .ok_or_else(|| device_auth("x5c is empty"))?;
    let cert_der = STANDARD
        .decode(leaf.trim())
        .map_err(|_| device_auth("x5c is not base64"))?;
    let thumbprint = crate::routes::drs::certificate_thumbprint(&cert_der);
    let device_id = store::device_id_by_thumbprint(&state.db(), &thumbprint)?
        .ok_or_else(|| device_auth("the certificate was not issued to a device of this tenant"))?;
    let device = db::device(&state.db(), &device_id)?
        .ok_or_else(|| device_auth("the certificate's device no longer exists"))?;
    if device.cert_der != cert_der || !scope.admits_tenant(&device.tenant_id) {
        return Err(device_auth(
            "the certificate was not issued to a device of this tenant",
        ));
    }
    verify_rs256(&cert_der, jws)?;
    if !device.enabled {
        return Err(GrantError::DeviceDisabled.into());
    }
    Ok(device)
}

/// RS256 (PKCS#1 v1.5, SHA-256) with the certificate's public key. Public for the fuzz
/// target `prt_jws` (it parses the `x5c` certificate a client sends); the token endpoint
/// calls it only for a certificate it found issued to one of its devices.
pub fn verify_rs256(cert_der: &[u8], jws: &ParsedJws) -> Result<(), AuthorityError> {
    use rsa::pkcs8::DecodePublicKey;
    use signature::Verifier;
    let cert = x509_cert::Certificate::from_der(cert_der)
        .map_err(|_| device_auth("the certificate is not DER"))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| InternalError::Encoding(e.to_string()))?;
    let key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|_| device_auth("the certificate's key is not RSA"))?;
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key);
    let signature = rsa::pkcs1v15::Signature::try_from(jws.signature.as_slice())
        .map_err(|_| device_auth("the signature is malformed"))?;
    verifier
        .verify(jws.signing_input().as_bytes(), &signature)
        .map_err(|_| device_auth("the request signature does not verify with the device key"))
}

/// A device-signed PRT request.
fn device_signed(
    state: &AppState,
    scope: &TenantScope,
    jws: &ParsedJws,
) -> Result<PrtResponse, AuthorityError> {
    let device = signing_device(state, scope, jws)?;
    let claims = claims_of(jws)?;
    let client = claims.client_id.to_ascii_lowercase();
    if client != PRT_CLIENT_ID && client != BROKER_CLIENT_ID {
        return Err(AuthorityError::UnknownClient(claims.client_id.clone()));
    }
    srv_challenge::spend(state, &claims.request_nonce)?;
    let (user, amr, expires_at) = credential(state, &device, &claims)?;
    let tenant = tenant_of(state, &user)?;
    tracing::info!(upn = %user.upn, device_id = %device.device_id, credential = %claims.grant_type, "PRT issued");
    issue_prt(
        state,
        &user,
        &tenant,
        &device,
        &claims.client_id,
        amr,
        expires_at,
    )
}

type Credential = (User, Vec<String>, Option<i64>);

/// The user the request's credential proves, its amr, and (renewal) the expiry to keep.
fn credential(
    state: &AppState,
    device: &Device,
    claims: &PrtRequestClaims,
) -> Result<Credential, AuthorityError> {
    let missing =
        |name: &str| AuthorityError::InvalidRequest(format!("the request must contain '{name}'"));
    match claims.grant_type.as_str() {
        GRANT_PASSWORD => {
            let username = claims
                .username
                .as_deref()
                .ok_or_else(|| missing("username"))?;
            let password = claims
                .password
                .as_deref()
                .ok_or_else(|| missing("password"))?;
            let user = db::user_by_upn(&state.db(), username.trim())?
                .filter(|u| u.tenant_id.eq_ignore_ascii_case(&device.tenant_id))
                .ok_or_else(|| AuthorityError::UserNotFound(username.to_string()))?;
            check_password(state, &user, password)?;
            let amr = vec!["pwd".to_string()];
            require_proven_factor(state, &user, &amr, PRT_CLIENT_ID)?;
            Ok((user, amr, None))
        }
        GRANT_SAML11_BEARER => {
            let assertion = claims
                .assertion
                .as_deref()
                .ok_or_else(|| missing("assertion"))?;
            let (user, amr) =
                super::saml::verify(state, Some(&device.tenant_id), assertion, PRT_CLIENT_ID)?;
            Ok((user, amr, None))
        }
        GRANT_REFRESH_TOKEN => {
            let prt = claims
                .refresh_token
                .as_deref()
                .ok_or_else(|| missing("refresh_token"))?;
            let record = store::prt_by_token(&state.db(), prt)?
                .filter(|r| r.device_id.eq_ignore_ascii_case(&device.device_id))
                .ok_or(GrantError::UnknownPrt)?;
            check_live(&record, tokens::now())?;
            let user = db::user_by_object_id(&state.db(), &record.user_object_id)?
                .ok_or(GrantError::UnknownPrt)?;
            Ok((user, record.amr, Some(record.expires_at)))
        }
        other => Err(AuthorityError::UnsupportedGrant(format!(
            "{other} (a PRT request takes password, saml1_1-bearer or refresh_token)"
        ))),
    }
}

/// A PRT is live until revoked, 90 days after its credential was proven, and while it was
/// used in the last 14 days (seed 003).
pub(crate) fn check_live(record: &PrtRecord, now: i64) -> Result<(), AuthorityError> {
    if record.revoked {
        return Err(GrantError::PrtRevoked.into());
    }
    if now >= record.expires_at {
        return Err(GrantError::PrtExpired("its 90-day lifetime is over").into());
    }
    if now - record.last_used_at > PRT_SLIDING_WINDOW_SECS {
        return Err(GrantError::PrtExpired("it was not used for 14 days").into());
    }
    Ok(())
}

/// `client_info` (base64url JSON) for a user.
pub(crate) fn client_info(user: &User) -> Result<String, AuthorityError> {
    let info = ClientInfo {
        uid: user.object_id.clone(),
        utid: user.tenant_id.clone(),
    };
    Ok(b64url(
        &serde_json::to_vec(&info).map_err(|e| InternalError::Encoding(e.to_string()))?,
    ))
}

/// Seconds a PRT issued now stays usable if it is not used again.
pub(crate) fn prt_expires_in(expires_at: i64, now: i64) -> i64 {
    (expires_at - now).clamp(0, PRT_SLIDING_WINDOW_SECS)
}

/// Store a new PRT for `user` on `device` with a session key and return the PRT string.
pub(crate) fn store_prt(
    state: &AppState,
    user: &User,
    device: &Device,
    amr: &[String],
    session_key: &[u8],
    expires_at: i64,
) -> Result<String, AuthorityError> {
    let prt = random_token(96);
    let now = tokens::now();
    store::insert_prt(
        &state.db(),
        &PrtRecord {
            token_hash: store::prt_hash(&prt),
            user_object_id: user.object_id.clone(),
            device_id: device.device_id.clone(),
            tenant_id: device.tenant_id.clone(),
            amr: amr.to_vec(),
            session_key: zeroize::Zeroizing::new(session_key.to_vec()),
            issued_at: now,
            last_used_at: now,
            expires_at,
            revoked: false,
        },
    )?;
    Ok(prt)
}

/// RSA-OAEP (SHA-1) of the session key to the device's registered transport key.
fn encrypt_to_transport_key(
    device: &Device,
    session_key: &[u8],
) -> Result<Vec<u8>, AuthorityError> {
    let blob = STANDARD
        .decode(&device.transport_key)
        .map_err(|e| InternalError::Encoding(format!("stored transport key: {e}")))?;
    let parts = cxh_wire::transport_key::decode(&blob)
        .map_err(|e| InternalError::Encoding(format!("stored transport key: {e}")))?;
    let key = RsaPublicKey::new(
        BigUint::from_bytes_be(&parts.modulus),
        BigUint::from_bytes_be(&parts.exponent),
    )
    .map_err(|e| InternalError::Crypto(format!("transport key: {e}")))?;
    key.encrypt(
        &mut rand::thread_rng(),
        Oaep::new::<sha1::Sha1>(),
        session_key,
    )
    .map_err(|e| InternalError::Crypto(format!("RSA-OAEP: {e}")).into())
}

fn issue_prt(
    state: &AppState,
    user: &User,
    tenant: &Tenant,
    device: &Device,
    client_id: &str,
    amr: Vec<String>,
    keep_expiry: Option<i64>,
) -> Result<PrtResponse, AuthorityError> {
    let now = tokens::now();
    let expires_at = keep_expiry.unwrap_or(now + PRT_LIFETIME_SECS);
    let session_key = zeroize::Zeroizing::new(rand::random::<[u8; 32]>());
    let encrypted_key = encrypt_to_transport_key(device, session_key.as_ref())?;
    let prt = store_prt(state, user, device, &amr, session_key.as_ref(), expires_at)?;
    let subject = TokenSubject {
        user,
        tenant,
        client_id,
    };
    let mut id_claims = tokens::id_token_claims(&subject, None);
    id_claims.amr = amr;
    let expires_in = prt_expires_in(expires_at, now).to_string();
    Ok(PrtResponse {
        token_type: TOKEN_TYPE_POP.into(),
        expires_in: expires_in.clone(),
        ext_expires_in: Some(expires_in.clone()),
        expires_on: Some((now + prt_expires_in(expires_at, now)).to_string()),
        refresh_token: prt,
        refresh_token_expires_in: expires_in,
        id_token: tokens::sign(state.keys(), &id_claims)?,
        client_info: Some(client_info(user)?),
        session_key_jwe: session_key_jwe(&encrypted_key, &session_key, &rand::random::<[u8; 12]>()),
    })
}
