//! A stand-in for the PRT grants of the authority's token endpoint, built only from the
//! cxh-wire contract (whose cryptography is golden-tested against Python): the nonce, the
//! device-signed PRT request (RS256 against the device key), session-key signed requests (HS256
//! with KDF v2) answered encrypted, revocation and a single-use nonce. The real emulator's
//! implementation is tested on its own side.

use std::collections::HashSet;
use std::sync::Mutex;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::prt::*;
use cxh_wire::prt_crypto::*;
use rand::RngCore;
use rsa::{Oaep, Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

#[derive(Default)]
pub struct PrtFake {
    pub state: Mutex<PrtFakeState>,
}

#[derive(Default)]
pub struct PrtFakeState {
    pub device_key: Option<RsaPublicKey>,
    pub transport_key: Option<RsaPublicKey>,
    pub password: String,
    pub nonces: HashSet<String>,
    pub session_key: Option<[u8; 32]>,
    pub prt: Option<String>,
    pub revoked: bool,
    pub renewals: usize,
    pub app_tokens: usize,
    /// Answer PRT requests with an id_token whose payload names another user (signature kept).
    pub forge_id_token: bool,
}

/// The same JWS with its payload's `upn` changed: the signature no longer covers it.
fn forged(id_token: &str) -> String {
    let parts: Vec<&str> = id_token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64url_decode(parts[1]).unwrap()).unwrap();
    claims["upn"] = "mallory@contoso.com".into();
    let payload = b64url(&serde_json::to_vec(&claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

fn error(code: u32, text: &str) -> Response {
    let body = serde_json::json!({
        "error": "invalid_grant",
        "error_description": format!("AADSTS{code}: {text}"),
        "error_codes": [code],
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

impl PrtFake {
    pub fn nonce(&self) -> Response {
        let nonce = uuid::Uuid::new_v4().to_string();
        self.state.lock().unwrap().nonces.insert(nonce.clone());
        Json(NonceResponse { nonce }).into_response()
    }

    pub fn jwt_bearer(&self, request: &str, id_token: &str) -> Response {
        let Ok(jws) = ParsedJws::parse(request) else {
            return error(aadsts::DEVICE_AUTH_FAILED, "malformed request");
        };
        let header: serde_json::Value = serde_json::from_slice(&jws.header).unwrap();
        let claims: PrtRequestClaims = serde_json::from_slice(&jws.payload).unwrap();
        let mut state = self.state.lock().unwrap();
        if !state.nonces.remove(&claims.request_nonce) {
            return error(aadsts::INVALID_NONCE, "the nonce is unknown or spent");
        }
        if header["alg"] == "RS256" {
            let digest = Sha256::digest(jws.signing_input().as_bytes());
            let device = state.device_key.clone().unwrap();
            if device
                .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &jws.signature)
                .is_err()
                || header["x5c"].as_str().is_none()
            {
                return error(aadsts::DEVICE_AUTH_FAILED, "device signature");
            }
            if claims.client_id != PRT_CLIENT_ID
                || claims.grant_type != GRANT_PASSWORD
                || claims.password.as_deref() != Some(state.password.as_str())
            {
                return error(50126, "invalid username or password");
            }
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            let encrypted = state
                .transport_key
                .clone()
                .unwrap()
                .encrypt(&mut rand::rngs::OsRng, Oaep::new::<sha1::Sha1>(), &key)
                .unwrap();
            let prt = format!("prt-{}", uuid::Uuid::new_v4());
            state.session_key = Some(key);
            state.prt = Some(prt.clone());
            state.revoked = false;
            return Json(PrtResponse {
                token_type: TOKEN_TYPE_POP.into(),
                expires_in: "1209599".into(),
                ext_expires_in: None,
                expires_on: None,
                refresh_token: prt,
                refresh_token_expires_in: PRT_LIFETIME_SECS.to_string(),
                id_token: if state.forge_id_token {
                    forged(id_token)
                } else {
                    id_token.to_string()
                },
                client_info: Some(b64url(br#"{"uid":"oid-1","utid":"tid-1"}"#)),
                session_key_jwe: session_key_jwe(&encrypted, &key, &[3u8; 12]),
            })
            .into_response();
        }
        // Session-key signed.
        let Some(key) = state.session_key else {
            return error(aadsts::SESSION_KEY_SIGNATURE, "no session");
        };
        let signed: SessionSignedHeader = serde_json::from_slice(&jws.header).unwrap();
        let ctx = decode_ctx(&signed.ctx).unwrap();
        let version = KdfVersion::from_header(signed.kdf_ver).unwrap();
        let derived = derive_key(&key, &kdf_context(version, &ctx, &jws.payload));
        if version != KdfVersion::V2 || jws.verify_hs256(derived.as_ref()).is_err() {
            return error(aadsts::SESSION_KEY_SIGNATURE, "session key signature");
        }
        if state.revoked {
            return error(aadsts::PRT_REVOKED, "the grant was revoked");
        }
        if claims.refresh_token != state.prt {
            return error(aadsts::PRT_EXPIRED, "unknown PRT");
        }
        let mut answer = PrtTokenResponse {
            token_type: "Bearer".into(),
            scope: claims.scope.clone(),
            expires_in: "3599".into(),
            expires_on: None,
            resource: claims.resource.clone(),
            access_token: None,
            refresh_token: None,
            refresh_token_expires_in: None,
            id_token: None,
            client_info: None,
        };
        if claims.client_id == BROKER_CLIENT_ID
            && claims
                .scope
                .as_deref()
                .is_some_and(|s| s.contains(AZA_SCOPE))
        {
            let prt = format!("prt-{}", uuid::Uuid::new_v4());
            state.prt = Some(prt.clone());
            state.renewals += 1;
            answer.refresh_token = Some(prt);
            answer.refresh_token_expires_in = Some(PRT_LIFETIME_SECS.to_string());
        } else {
            if claims.redirect_uri.as_deref()
                != Some(broker_redirect_uri(&claims.client_id).as_str())
            {
                return error(50011, "redirect uri");
            }
            state.app_tokens += 1;
            let claims_json = serde_json::json!({"aud": claims.client_id, "deviceid": "device-1"});
            answer.access_token = Some(format!(
                "e30.{}.sig",
                b64url(claims_json.to_string().as_bytes())
            ));
        }
        let mut fresh = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        let jwe = encrypt_response(
            &key,
            &fresh,
            &[9u8; 12],
            &serde_json::to_vec(&answer).unwrap(),
        );
        jwe.into_response()
    }
}

/// The session key the fake issued, standard base64 (to look for it on disk).
pub fn b64(key: &[u8]) -> String {
    STANDARD.encode(key)
}
