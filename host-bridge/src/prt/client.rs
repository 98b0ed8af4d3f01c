//! The PRT wire (MS-OAPXBC) at `{authority}/{tenant}/oauth2/token`: the nonce, the
//! device-signed PRT request and session-key signed requests with their encrypted answers.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::prt::{
    broker_redirect_uri, DeviceSignedHeader, NonceResponse, PrtCookieClaims, PrtRequestClaims,
    PrtResponse, PrtTokenResponse, SessionSignedHeader, X5c, BROKER_ISSUER, GRANT_JWT_BEARER,
    GRANT_SRV_CHALLENGE, TOKEN_TYPE_POP, WINDOWS_API_VERSION,
};
use cxh_wire::prt_crypto::{
    encode_ctx, hs256, kdf_context, open_response, JwsSegments, KdfVersion,
};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::PrtError;
use crate::keys::{ProviderKey, SessionKey};

/// Where the token endpoint is.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub authority: String,
    pub tenant: String,
}

impl Endpoint {
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/token",
            self.authority.trim_end_matches('/'),
            self.tenant
        )
    }
}

/// An OAuth error body (`error`, `error_description`, `error_codes`).
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u32>,
}

/// The AADSTS number of an error: `error_codes[0]`, else the `AADSTSnnnn` the text starts with.
fn cloud_error(body: &[u8], status: reqwest::StatusCode) -> PrtError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => {
            let code = e.error_codes.first().copied().unwrap_or_else(|| {
                e.error_description
                    .strip_prefix("AADSTS")
                    .map(|rest| {
                        rest.chars()
                            .take_while(char::is_ascii_digit)
                            .collect::<String>()
                    })
                    .and_then(|digits| digits.parse().ok())
                    .unwrap_or(0)
            });
            PrtError::Cloud {
                error: e.error,
                code,
                description: e.error_description,
            }
        }
        Err(_) => PrtError::BadResponse(format!("HTTP {status} without an OAuth error body")),
    }
}

async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Vec<u8>, PrtError> {
    let response = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| PrtError::Network(format!("{url}: {e}")))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| PrtError::Network(format!("{url}: {e}")))?
        .to_vec();
    if !status.is_success() {
        return Err(cloud_error(&body, status));
    }
    Ok(body)
}

/// A fresh nonce (`grant_type=srv_challenge`, nothing else: real clients send no client_id).
pub async fn nonce(http: &reqwest::Client, endpoint: &Endpoint) -> Result<String, PrtError> {
    let body = post_form(
        http,
        &endpoint.token_url(),
        &[("grant_type", GRANT_SRV_CHALLENGE)],
    )
    .await?;
    let nonce: NonceResponse =
        serde_json::from_slice(&body).map_err(|e| PrtError::BadResponse(format!("nonce: {e}")))?;
    Ok(nonce.nonce)
}

/// The form every jwt-bearer PRT request carries.
fn jwt_bearer_form(request: &str) -> [(&str, &str); 5] {
    [
        ("grant_type", GRANT_JWT_BEARER),
        ("request", request),
        ("windows_api_version", WINDOWS_API_VERSION),
        ("client_info", "1"),
        ("tgt", "true"),
    ]
}

/// The PRT request JWS: RS256 by the device key (in its provider), `x5c` the device
/// certificate as one base64 string, `kdf_ver: 2`.
pub fn device_signed_request(
    device_key: &dyn ProviderKey,
    certificate_der: &[u8],
    claims: &PrtRequestClaims,
) -> Result<String, PrtError> {
    let header = DeviceSignedHeader {
        alg: "RS256".into(),
        typ: Some("JWT".into()),
        x5c: X5c::One(STANDARD.encode(certificate_der)),
        kdf_ver: Some(2),
    };
    let segments = JwsSegments::encode(&header, claims);
    let digest = Sha256::digest(segments.signing_input().as_bytes());
    let signature = device_key.sign_sha256_digest(&digest)?;
    Ok(segments.with_signature(&signature))
}

/// Send a PRT request; the answer is in clear (its session key travels wrapped).
pub async fn request_prt(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    request: &str,
) -> Result<PrtResponse, PrtError> {
    let body = post_form(http, &endpoint.token_url(), &jwt_bearer_form(request)).await?;
    let response: PrtResponse = serde_json::from_slice(&body)
        .map_err(|e| PrtError::BadResponse(format!("PRT response: {e}")))?;
    if !response.token_type.eq_ignore_ascii_case(TOKEN_TYPE_POP) {
        return Err(PrtError::BadResponse(format!(
            "token_type {:?}, expected pop",
            response.token_type
        )));
    }
    Ok(response)
}

/// A session-key signed JWS: HS256, header `ctx` (24 fresh random bytes) and `kdf_ver: 2`,
/// the key derived in the provider from SHA-256(ctx || payload).
pub fn session_signed_request(
    session_key: &dyn SessionKey,
    claims: &PrtRequestClaims,
) -> Result<String, PrtError> {
    session_signed(session_key, claims)
}

/// The PRT SSO cookie (`x-ms-RefreshTokenCredential`) a browser sends to the authority: the
/// PRT, `is_primary` and the authority's nonce, signed like a request (HS256, KDF v2 `ctx`) by a
/// key the provider derives from the session key, never by the session key itself.
pub fn sso_cookie(
    session_key: &dyn SessionKey,
    prt: &str,
    nonce: &str,
) -> Result<String, PrtError> {
    let claims = PrtCookieClaims {
        refresh_token: prt.to_string(),
        is_primary: "true".into(),
        request_nonce: Some(nonce.to_string()),
        iat: None,
    };
    session_signed(session_key, &claims)
}

fn session_signed<P: serde::Serialize>(
    session_key: &dyn SessionKey,
    claims: &P,
) -> Result<String, PrtError> {
    let mut ctx = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut ctx);
    let header = SessionSignedHeader {
        alg: "HS256".into(),
        typ: Some("JWT".into()),
        ctx: encode_ctx(&ctx),
        kdf_ver: KdfVersion::V2.header_value(),
    };
    let segments = JwsSegments::encode(&header, claims);
    let key = session_key.derive(&kdf_context(KdfVersion::V2, &ctx, &segments.payload))?;
    let signature = hs256(key.as_ref(), &segments.signing_input());
    Ok(segments.with_signature(&signature))
}

/// Decrypt an encrypted answer with the key derived (KDF v1) from its header's `ctx`.
pub fn decrypt_answer(
    session_key: &dyn SessionKey,
    jwe: &str,
) -> Result<PrtTokenResponse, PrtError> {
    let (_, ctx, parsed) = open_response(jwe.trim())
        .map_err(|e| PrtError::BadResponse(format!("encrypted answer: {e}")))?;
    let key = session_key.derive(&kdf_context(KdfVersion::V1, &ctx, &[]))?;
    let plain = parsed
        .decrypt_gcm(key.as_ref())
        .map_err(|e| PrtError::BadResponse(format!("encrypted answer: {e}")))?;
    serde_json::from_slice(&plain)
        .map_err(|e| PrtError::BadResponse(format!("decrypted answer: {e}")))
}

/// Send a session-key signed request and decrypt its answer.
pub async fn session_request(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    session_key: &dyn SessionKey,
    claims: &PrtRequestClaims,
) -> Result<PrtTokenResponse, PrtError> {
    let request = session_signed_request(session_key, claims)?;
    let body = post_form(http, &endpoint.token_url(), &jwt_bearer_form(&request)).await?;
    let text = String::from_utf8(body)
        .map_err(|_| PrtError::BadResponse("the encrypted answer is not text".into()))?;
    decrypt_answer(session_key, &text)
}

/// What a token for an app is asked for.
#[derive(Debug, Clone)]
pub enum Audience {
    Scope(String),
    Resource(String),
}

/// Claims of a token request for an app through the PRT (the WAM path).
pub fn app_token_claims(
    prt: &str,
    client_id: &str,
    audience: &Audience,
    nonce: &str,
    req_cnf: Option<&str>,
) -> PrtRequestClaims {
    let (scope, resource) = match audience {
        Audience::Scope(s) => (Some(s.clone()), None),
        Audience::Resource(r) => (Some("openid".to_string()), Some(r.clone())),
    };
    PrtRequestClaims {
        client_id: client_id.to_string(),
        request_nonce: nonce.to_string(),
        scope,
        resource,
        grant_type: cxh_wire::prt::GRANT_REFRESH_TOKEN.into(),
        refresh_token: Some(prt.to_string()),
        redirect_uri: Some(broker_redirect_uri(client_id)),
        iss: Some(BROKER_ISSUER.into()),
        iat: Some(super::now_unix()),
        token_type: req_cnf.map(|_| cxh_wire::pop::TOKEN_TYPE_POP.to_string()),
        req_cnf: req_cnf.map(str::to_string),
        ..Default::default()
    }
}

/// Claims of a PRT renewal: the PRT as refresh token, the broker's client id, scope with `aza`.
pub fn renewal_claims(prt: &str, nonce: &str) -> PrtRequestClaims {
    PrtRequestClaims {
        client_id: cxh_wire::prt::BROKER_CLIENT_ID.into(),
        request_nonce: nonce.to_string(),
        scope: Some("openid aza".into()),
        grant_type: cxh_wire::prt::GRANT_REFRESH_TOKEN.into(),
        refresh_token: Some(prt.to_string()),
        iss: Some(BROKER_ISSUER.into()),
        iat: Some(super::now_unix()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::software_session_key;
    use cxh_wire::prt_crypto::{derive_key, encrypt_response, ParsedJws};

    #[test]
    fn a_session_signed_request_verifies_with_the_kdf_v2_key_and_not_v1() {
        let key = [7u8; 32];
        let session = software_session_key(&key).unwrap();
        let jws = session_signed_request(session.as_ref(), &renewal_claims("prt", "n")).unwrap();
        let parsed = ParsedJws::parse(&jws).unwrap();
        let header: SessionSignedHeader = serde_json::from_slice(&parsed.header).unwrap();
        assert_eq!(header.kdf_ver, Some(2));
        let ctx = cxh_wire::prt_crypto::decode_ctx(&header.ctx).unwrap();
        assert_eq!(ctx.len(), 24);
        let v2 = derive_key(&key, &kdf_context(KdfVersion::V2, &ctx, &parsed.payload));
        parsed.verify_hs256(v2.as_ref()).unwrap();
        let v1 = derive_key(&key, &ctx);
        assert!(parsed.verify_hs256(v1.as_ref()).is_err());
    }

    #[test]
    fn the_sso_cookie_carries_the_prt_and_nonce_and_verifies_only_with_the_derived_key() {
        let key = [8u8; 32];
        let session = software_session_key(&key).unwrap();
        let cookie = sso_cookie(session.as_ref(), "the-prt", "sso-nonce-1").unwrap();
        let parsed = ParsedJws::parse(&cookie).unwrap();
        let claims: PrtCookieClaims = serde_json::from_slice(&parsed.payload).unwrap();
        assert_eq!(claims.refresh_token, "the-prt");
        assert_eq!(claims.is_primary, "true");
        assert_eq!(claims.request_nonce.as_deref(), Some("sso-nonce-1"));
        let header: SessionSignedHeader = serde_json::from_slice(&parsed.header).unwrap();
        let ctx = cxh_wire::prt_crypto::decode_ctx(&header.ctx).unwrap();
        let derived = derive_key(&key, &kdf_context(KdfVersion::V2, &ctx, &parsed.payload));
        parsed.verify_hs256(derived.as_ref()).unwrap();
        // Signed with the session key itself, it would verify with it: it must not.
        assert!(parsed.verify_hs256(&key).is_err());
    }

    #[test]
    fn an_encrypted_answer_decrypts_and_a_tampered_one_is_refused() {
        let key = [3u8; 32];
        let session = software_session_key(&key).unwrap();
        let plain = br#"{"token_type":"Bearer","expires_in":"3599","access_token":"at"}"#;
        let jwe = encrypt_response(&key, &[4u8; 24], &[1u8; 12], plain);
        assert_eq!(
            decrypt_answer(session.as_ref(), &jwe)
                .unwrap()
                .access_token
                .as_deref(),
            Some("at")
        );
        let mut parts: Vec<String> = jwe.split('.').map(String::from).collect();
        let last = parts[3].pop().unwrap();
        parts[3].push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            decrypt_answer(session.as_ref(), &parts.join(".")),
            Err(PrtError::BadResponse(_))
        ));
        let other = software_session_key(&[5u8; 32]).unwrap();
        assert!(decrypt_answer(other.as_ref(), &jwe).is_err());
        let _ = derive_key(&key, b"x");
    }

    #[test]
    fn errors_carry_their_aadsts_number() {
        let body = br#"{"error":"invalid_grant","error_description":"AADSTS50173: revoked","error_codes":[50173]}"#;
        let e = cloud_error(body, reqwest::StatusCode::BAD_REQUEST);
        assert!(e.interaction_required() && e.prt_is_dead());
        let body = br#"{"error":"invalid_grant","error_description":"AADSTS90044: nonce"}"#;
        let e = cloud_error(body, reqwest::StatusCode::BAD_REQUEST);
        assert!(matches!(e, PrtError::Cloud { code: 90044, .. }));
        assert!(!e.interaction_required());
    }
}
