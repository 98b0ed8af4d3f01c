//! A PRT client for the tests, doing what roadlib's deviceauth does (get_srv_challenge,
//! get_prt_with_password / _with_samltoken, renew_prt, aad_brokerplugin_prt_auth): requests
//! built the way that client builds them (x5c as a string, `iat`/`exp` as strings,
//! windows_api_version 2.2, `tgt=True`, 24-byte ctx, `iss: aad:brokerplugin`,
//! `previous_refresh_token`, `group_sids`), with the device and transport keys of
//! [`super::device_key`] / [`super::transport_key`].

use super::*;
use cxh_wire::prt::{PrtResponse, PrtTokenResponse, BROKER_ISSUER, PRT_CLIENT_ID, PRT_SCOPE};
use cxh_wire::prt_crypto::{
    derive_key, encode_ctx, hs256, kdf_context, open_session_key_jwe, JwsSegments, KdfVersion,
};
use serde_json::{json, Value};

/// A device joined to Contoso by Adele: its id and certificate.
pub struct Joined {
    pub device_id: String,
    pub cert_der: Vec<u8>,
}

/// Sign in as Adele and register a device with the test device and transport keys.
pub async fn join(emu: &Emulator) -> Joined {
    let id_token = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n").await;
    let reply = register(
        &emu.router,
        Some(&id_token),
        REGISTER_URI,
        &good_registration_body(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let response: cxh_wire::registration::RegistrationResponse =
        serde_json::from_slice(&reply.body).unwrap();
    let cert_der = STANDARD.decode(&response.certificate.raw_body).unwrap();
    let cert = <x509_cert::Certificate as der::Decode>::from_der(&cert_der).unwrap();
    let device_id = cert
        .tbs_certificate
        .subject
        .to_string()
        .trim_start_matches("CN=")
        .to_string();
    Joined {
        device_id,
        cert_der,
    }
}

pub const TOKEN_PATH: &str = "/common/oauth2/token";

/// `grant_type=srv_challenge` alone, as roadlib sends it.
pub async fn nonce(router: &Router) -> String {
    let reply = post_form(router, TOKEN_PATH, &[("grant_type", "srv_challenge")]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["Nonce"].as_str().expect("Nonce").to_string()
}

/// A JWS RS256 by `key` with header `x5c` = `cert_der` (a string, as Windows sends it).
pub fn device_signed(
    key: &RsaPrivateKey,
    cert_der: &[u8],
    payload: &Value,
    kdf_v2: bool,
) -> String {
    use signature::{SignatureEncoding, Signer};
    let mut header = json!({"alg": "RS256", "typ": "JWT", "x5c": STANDARD.encode(cert_der)});
    if kdf_v2 {
        header["kdf_ver"] = json!(2);
    }
    let segments = JwsSegments::encode(&header, payload);
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let signature = signer.sign(segments.signing_input().as_bytes());
    segments.with_signature(&signature.to_bytes())
}

/// roadlib's get_prt_with_password payload.
pub fn password_payload(nonce: &str, upn: &str, password: &str) -> Value {
    json!({
        "client_id": PRT_CLIENT_ID,
        "request_nonce": nonce,
        "scope": PRT_SCOPE,
        "group_sids": [],
        "win_ver": "10.0.19041.868",
        "grant_type": "password",
        "username": upn,
        "password": password,
    })
}

/// roadlib's get_prt_with_samltoken payload.
pub fn saml_payload(nonce: &str, assertion_xml: &str) -> Value {
    json!({
        "client_id": PRT_CLIENT_ID,
        "request_nonce": nonce,
        "scope": PRT_SCOPE,
        "group_sids": [],
        "win_ver": "10.0.19041.868",
        "grant_type": "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
        "assertion": STANDARD.encode(assertion_xml),
    })
}

/// `POST {path}` with a jwt-bearer `request`, as roadlib posts it.
pub async fn post_request(router: &Router, path: &str, request: &str) -> Reply {
    post_form(
        router,
        path,
        &[
            ("windows_api_version", "2.2"),
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("request", request),
            ("client_info", "1"),
            ("tgt", "True"),
        ],
    )
    .await
}

/// Ask for a PRT with Adele's password on `joined`; returns the answer and the session key.
pub async fn prt_with_password(emu: &Emulator, joined: &Joined) -> (PrtResponse, [u8; 32]) {
    let nonce = nonce(&emu.router).await;
    let request = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&nonce, ADELE, ADELE_PASSWORD),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let response: PrtResponse = serde_json::from_slice(&reply.body).unwrap();
    let key = session_key_of(&response);
    (response, key)
}

/// Unwrap `session_key_jwe` with the test transport key (RSA-OAEP, SHA-1).
pub fn session_key_of(response: &PrtResponse) -> [u8; 32] {
    let jwe = open_session_key_jwe(&response.session_key_jwe).expect("session_key_jwe");
    let key = transport_key()
        .decrypt(rsa::Oaep::new::<sha1::Sha1>(), &jwe.encrypted_key)
        .expect("the session key decrypts with the transport key");
    key.try_into().expect("32 bytes")
}

/// A JWS HS256 with a key derived from `session_key` (fresh 24-byte ctx; KDF v2 or v1).
pub fn session_signed(session_key: &[u8], payload: &Value, version: KdfVersion) -> String {
    let ctx: [u8; 24] = rand::random();
    let mut header = json!({"alg": "HS256", "typ": "JWT", "ctx": encode_ctx(&ctx)});
    if version == KdfVersion::V2 {
        header["kdf_ver"] = json!(2);
    }
    let segments = JwsSegments::encode(&header, payload);
    let key = derive_key(session_key, &kdf_context(version, &ctx, &segments.payload));
    segments.with_signature(&hs256(key.as_ref(), &segments.signing_input()))
}

/// roadlib's renew_prt payload.
pub fn renew_payload(nonce: &str, prt: &str) -> Value {
    json!({
        "client_id": PRT_CLIENT_ID,
        "request_nonce": nonce,
        "scope": PRT_SCOPE,
        "iss": BROKER_ISSUER,
        "grant_type": "refresh_token",
        "refresh_token": prt,
        "previous_refresh_token": prt,
        "group_sids": [],
        "win_ver": "10.0.19041.868",
    })
}

/// roadlib's aad_brokerplugin_prt_auth payload for an app and resource.
pub fn app_payload(nonce: &str, prt: &str, client_id: &str, resource: &str) -> Value {
    let now = tenant_emulator::tokens::now();
    json!({
        "win_ver": "10.0.19041.1620",
        "scope": "openid",
        "request_nonce": nonce,
        "refresh_token": prt,
        "redirect_uri": format!("ms-appx-web://Microsoft.AAD.BrokerPlugin/{client_id}"),
        "iss": BROKER_ISSUER,
        "grant_type": "refresh_token",
        "client_id": client_id,
        "aud": "login.microsoftonline.com",
        "iat": now.to_string(),
        "exp": (now + 3600).to_string(),
        "resource": resource,
    })
}

/// Decrypt an encrypted (dir/A256GCM) answer with the session key.
pub fn decrypt(session_key: &[u8], reply: &Reply) -> PrtTokenResponse {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let plaintext = cxh_wire::prt_crypto::decrypt_response(session_key, &reply.text())
        .expect("the answer decrypts with the session key");
    serde_json::from_slice(&plaintext).expect("a token response")
}

/// Send a session-key signed request for `payload`.
pub async fn signed_request(
    emu: &Emulator,
    session_key: &[u8],
    payload: &Value,
    version: KdfVersion,
) -> Reply {
    post_request(
        &emu.router,
        TOKEN_PATH,
        &session_signed(session_key, payload, version),
    )
    .await
}

/// The AADSTS number of an error answer.
pub fn aadsts(reply: &Reply) -> u32 {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    reply.json()["error_codes"][0]
        .as_u64()
        .expect("error_codes") as u32
}
