//! The PRT grants at the token endpoint (MS-OAPXBC; seed 003), driven the way roadlib's
//! deviceauth drives the real service: nonce, device-signed PRT request (password, SAML
//! assertion from the STS's usernamemixed endpoint), session-key signed renewal and tokens
//! for apps, and every refusal. Clock-driven expiry is in `tests/prt_clock.rs`.

mod common;

use axum::http::StatusCode;
use common::prt_client::*;
use common::*;
use cxh_wire::prt::{aadsts as prt_aadsts, PrtResponse, PRT_SCOPE};
use cxh_wire::prt_crypto::KdfVersion;
use serde_json::json;

const OFFICE: &str = "d3590ed6-52b3-4102-aeff-aad2292ab01c";
const GRAPH: &str = "https://graph.microsoft.com";

#[tokio::test]
async fn srv_challenge_answers_a_nonce_without_client_id() {
    let emu = emulator();
    let a = nonce(&emu.router).await;
    let b = nonce(&emu.router).await;
    assert_ne!(a, b);
    assert!(a.len() >= 32);
}

#[tokio::test]
async fn a_password_prt_carries_a_session_key_for_the_transport_key() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (response, session_key) = prt_with_password(&emu, &joined).await;
    assert_eq!(response.token_type, "pop");
    assert!(response.refresh_token.len() > 64);
    assert_eq!(
        response.refresh_token_expires_in,
        (14 * 24 * 3600).to_string()
    );
    assert_ne!(session_key, [0u8; 32]);
    let id = jwt_claims(&response.id_token);
    assert_eq!(id["upn"], ADELE);
    assert_eq!(id["amr"], json!(["pwd"]));
    let info =
        cxh_wire::prt_crypto::b64url_decode(response.client_info.as_deref().unwrap()).unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["uid"], ADELE_OID);
    assert_eq!(info["utid"], TENANT_ID);
    // Only the hash of the PRT is stored.
    let stored: i64 = emu
        .state
        .db()
        .query_row(
            "SELECT COUNT(*) FROM prts WHERE token_hash = ?1",
            [hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                response.refresh_token.as_bytes(),
            ))],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 1);
    let in_clear: i64 = emu
        .state
        .db()
        .query_row(
            "SELECT COUNT(*) FROM prts WHERE token_hash = ?1",
            [&response.refresh_token],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_clear, 0);
}

#[tokio::test]
async fn a_nonce_is_single_use_and_a_replayed_request_is_refused() {
    let emu = emulator();
    let joined = join(&emu).await;
    let nonce = nonce(&emu.router).await;
    let request = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&nonce, ADELE, ADELE_PASSWORD),
        false,
    );
    let first = post_request(&emu.router, TOKEN_PATH, &request).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let replay = post_request(&emu.router, TOKEN_PATH, &request).await;
    assert_eq!(aadsts(&replay), prt_aadsts::INVALID_NONCE);
    assert_eq!(replay.json()["error"], "invalid_grant");
    // A nonce the emulator never issued.
    let made_up = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload("not-a-nonce", ADELE, ADELE_PASSWORD),
        false,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &made_up).await;
    assert_eq!(aadsts(&reply), prt_aadsts::INVALID_NONCE);
}

#[tokio::test]
async fn a_request_signed_by_another_key_is_refused() {
    let emu = emulator();
    let joined = join(&emu).await;
    let nonce = nonce(&emu.router).await;
    let forged = device_signed(
        foreign_key(),
        &joined.cert_der,
        &password_payload(&nonce, ADELE, ADELE_PASSWORD),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &forged).await;
    assert_eq!(aadsts(&reply), prt_aadsts::DEVICE_AUTH_FAILED);
    // The refusal did not spend the nonce: the genuine request still works with it.
    let genuine = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&nonce, ADELE, ADELE_PASSWORD),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &genuine).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn a_certificate_the_tenant_ca_did_not_issue_is_refused() {
    use der::Encode;
    let emu = emulator();
    let joined = join(&emu).await;
    // Same subject as the real certificate, self-signed by the key that signs the request.
    let fake = tenant_emulator::ca::self_signed(foreign_key(), &format!("CN={}", joined.device_id))
        .unwrap()
        .to_der()
        .unwrap();
    let nonce = nonce(&emu.router).await;
    let request = device_signed(
        foreign_key(),
        &fake,
        &password_payload(&nonce, ADELE, ADELE_PASSWORD),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &request).await;
    assert_eq!(aadsts(&reply), prt_aadsts::DEVICE_AUTH_FAILED);
    // Nor does a genuine device of Contoso authenticate at another tenant's endpoint.
    let nonce2 = common::prt_client::nonce(&emu.router).await;
    let request = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&nonce2, ADELE, ADELE_PASSWORD),
        true,
    );
    let other_tenant = "/0a7e3b5c-9d21-4f68-b4e3-6c1d8a2f5e97/oauth2/token";
    let reply = post_request(&emu.router, other_tenant, &request).await;
    assert_eq!(aadsts(&reply), prt_aadsts::DEVICE_AUTH_FAILED);
}

#[tokio::test]
async fn a_disabled_or_deleted_device_gets_no_prt_and_no_token() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, session_key) = prt_with_password(&emu, &joined).await;
    let disable = post_form(
        &emu.router,
        &format!("/_emulator/devices/{}/disable", joined.device_id),
        &[],
    )
    .await;
    assert_eq!(disable.status, StatusCode::NO_CONTENT);
    let n = nonce(&emu.router).await;
    let request = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&n, ADELE, ADELE_PASSWORD),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &request).await;
    assert_eq!(aadsts(&reply), prt_aadsts::DEVICE_DISABLED);
    let n = nonce(&emu.router).await;
    let reply = signed_request(
        &emu,
        &session_key,
        &app_payload(&n, &prt.refresh_token, OFFICE, GRAPH),
        KdfVersion::V2,
    )
    .await;
    assert_eq!(aadsts(&reply), prt_aadsts::DEVICE_DISABLED);
    // Enabled again, the PRT works again.
    let enable = post_form(
        &emu.router,
        &format!("/_emulator/devices/{}/enable", joined.device_id),
        &[],
    )
    .await;
    assert_eq!(enable.status, StatusCode::NO_CONTENT);
    let n = nonce(&emu.router).await;
    let reply = signed_request(
        &emu,
        &session_key,
        &app_payload(&n, &prt.refresh_token, OFFICE, GRAPH),
        KdfVersion::V2,
    )
    .await;
    decrypt(&session_key, &reply);
    // Deleted: no token either.
    tenant_emulator::db::delete_device(&emu.state.db(), &joined.device_id).unwrap();
    let n = nonce(&emu.router).await;
    let reply = signed_request(
        &emu,
        &session_key,
        &app_payload(&n, &prt.refresh_token, OFFICE, GRAPH),
        KdfVersion::V2,
    )
    .await;
    assert_eq!(aadsts(&reply), prt_aadsts::DEVICE_DISABLED);
}

#[tokio::test]
async fn a_wrong_password_and_an_mfa_user_get_no_prt() {
    use cxh_wire::oidc::aadsts as oidc;
    let emu = emulator();
    let joined = join(&emu).await;
    let n = nonce(&emu.router).await;
    let wrong = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&n, ADELE, "not-her-password"),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &wrong).await;
    assert_eq!(aadsts(&reply), oidc::INVALID_CREDENTIALS);
    let n = nonce(&emu.router).await;
    let mfa = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&n, "lee.gu@contoso.com", "Lee-Secure-9"),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &mfa).await;
    assert_eq!(aadsts(&reply), oidc::MFA_REQUIRED);
    // A federated user's cloud password is unusable: the STS password does not work here.
    let n = nonce(&emu.router).await;
    let federated = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&n, "diego.siciliani@fabrikam-corp.com", "Diego-Fed-11"),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &federated).await;
    assert_eq!(aadsts(&reply), oidc::INVALID_CREDENTIALS);
}

async fn renew(
    emu: &Emulator,
    prt: &str,
    session_key: &[u8],
    version: KdfVersion,
) -> common::Reply {
    let n = nonce(&emu.router).await;
    signed_request(emu, session_key, &renew_payload(&n, prt), version).await
}

#[tokio::test]
async fn renewal_with_kdf_v1_and_v2_returns_a_new_prt_and_the_old_stays_valid() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    for version in [KdfVersion::V2, KdfVersion::V1] {
        let answer = decrypt(&key, &renew(&emu, &prt.refresh_token, &key, version).await);
        let renewed = answer.refresh_token.expect("a renewed PRT");
        assert_ne!(renewed, prt.refresh_token);
        assert_eq!(answer.token_type, "pop");
        assert_eq!(
            jwt_claims(answer.id_token.as_deref().unwrap())["upn"],
            ADELE
        );
        // The renewed PRT works with the same session key.
        let next = decrypt(&key, &renew(&emu, &renewed, &key, version).await);
        assert!(next.refresh_token.is_some());
    }
    // The original PRT is still usable (a device that lost an answer keeps working).
    decrypt(
        &key,
        &renew(&emu, &prt.refresh_token, &key, KdfVersion::V2).await,
    );
}

#[tokio::test]
async fn a_wrong_session_key_or_a_tampered_payload_is_refused() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let reply = renew(&emu, &prt.refresh_token, &[7u8; 32], KdfVersion::V2).await;
    assert_eq!(aadsts(&reply), prt_aadsts::SESSION_KEY_SIGNATURE);
    // KDF v2 binds the key to the payload: re-using a signature over another payload fails.
    let n = nonce(&emu.router).await;
    let signed = common::prt_client::session_signed(
        &key,
        &renew_payload(&n, &prt.refresh_token),
        KdfVersion::V2,
    );
    let mut parts: Vec<String> = signed.split('.').map(str::to_string).collect();
    let mut other = renew_payload(&n, &prt.refresh_token);
    other["scope"] = json!("openid aza ugs extra");
    parts[1] = cxh_wire::prt_crypto::b64url(&serde_json::to_vec(&other).unwrap());
    let reply = post_request(&emu.router, TOKEN_PATH, &parts.join(".")).await;
    assert_eq!(aadsts(&reply), prt_aadsts::SESSION_KEY_SIGNATURE);
    // An unknown PRT.
    let reply = renew(&emu, "not-a-prt", &key, KdfVersion::V2).await;
    assert_eq!(aadsts(&reply), 70000);
}

#[tokio::test]
async fn a_session_signed_request_replayed_is_refused() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let n = nonce(&emu.router).await;
    let request = common::prt_client::session_signed(
        &key,
        &app_payload(&n, &prt.refresh_token, OFFICE, GRAPH),
        KdfVersion::V2,
    );
    let first = post_request(&emu.router, TOKEN_PATH, &request).await;
    decrypt(&key, &first);
    let replay = post_request(&emu.router, TOKEN_PATH, &request).await;
    assert_eq!(aadsts(&replay), prt_aadsts::INVALID_NONCE);
}

#[tokio::test]
async fn kdf_v1_is_refused_when_the_tenant_requires_v2_and_discovery_says_so() {
    let mut file = tenant_file();
    file.tenants[0].require_kdf_v2 = true;
    let emu = emulator_with(&file);
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let reply = renew(&emu, &prt.refresh_token, &key, KdfVersion::V1).await;
    assert_eq!(aadsts(&reply), prt_aadsts::SESSION_KEY_SIGNATURE);
    assert!(reply.text().contains("KDF v2"), "{}", reply.text());
    decrypt(
        &key,
        &renew(&emu, &prt.refresh_token, &key, KdfVersion::V2).await,
    );
    let config = get(
        &emu.router,
        &format!("/{TENANT_ID}/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(config.json()["capabilities"], json!(["kdf_ver2"]));
    // A tenant without the setting does not advertise it.
    let plain = emulator();
    let config = get(
        &plain.router,
        &format!("/{TENANT_ID}/.well-known/openid-configuration"),
    )
    .await;
    assert!(config.json().get("capabilities").is_none());
}

#[tokio::test]
async fn an_app_token_through_the_prt_carries_the_device_id_and_the_prt_amr() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let n = nonce(&emu.router).await;
    let reply = signed_request(
        &emu,
        &key,
        &app_payload(&n, &prt.refresh_token, OFFICE, GRAPH),
        KdfVersion::V2,
    )
    .await;
    let answer = decrypt(&key, &reply);
    assert!(answer.refresh_token.is_none(), "no aza: no renewed PRT");
    assert_eq!(answer.resource.as_deref(), Some(GRAPH));
    let access = jwt_claims(answer.access_token.as_deref().expect("an access token"));
    assert_eq!(access["deviceid"], joined.device_id);
    assert_eq!(access["aud"], GRAPH);
    assert_eq!(access["appid"], OFFICE);
    assert_eq!(access["upn"], ADELE);
    assert_eq!(access["amr"], json!(["pwd"]));
    // The access token is genuinely signed by the authority.
    let keys = emu.state.keys();
    tenant_emulator::tokens::validate_bearer(
        keys,
        answer.access_token.as_deref().unwrap(),
        &[GRAPH.to_string()],
    )
    .expect("valid access token");
    // With aza, a renewed PRT comes along.
    let n = nonce(&emu.router).await;
    let mut payload = app_payload(&n, &prt.refresh_token, OFFICE, GRAPH);
    payload["scope"] = json!("openid aza");
    let answer = decrypt(
        &key,
        &signed_request(&emu, &key, &payload, KdfVersion::V2).await,
    );
    assert!(answer.access_token.is_some() && answer.refresh_token.is_some());
}

#[tokio::test]
async fn an_app_token_needs_the_broker_redirect_uri_and_a_known_client() {
    use cxh_wire::oidc::aadsts as oidc;
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let n = nonce(&emu.router).await;
    let mut payload = app_payload(&n, &prt.refresh_token, OFFICE, GRAPH);
    payload["redirect_uri"] = json!("https://evil.example/callback");
    let reply = signed_request(&emu, &key, &payload, KdfVersion::V2).await;
    assert_eq!(aadsts(&reply), oidc::REDIRECT_URI_MISMATCH);
    let n = nonce(&emu.router).await;
    let unknown = "11111111-2222-3333-4444-555555555555";
    let reply = signed_request(
        &emu,
        &key,
        &app_payload(&n, &prt.refresh_token, unknown, GRAPH),
        KdfVersion::V2,
    )
    .await;
    assert_eq!(aadsts(&reply), oidc::UNKNOWN_CLIENT);
}

#[tokio::test]
async fn a_password_change_revokes_the_users_prts() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let change = common::send(
        &emu.router,
        axum::http::Request::post(format!("/_emulator/users/{ADELE}/password"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(r#"{"password":"New-Horse-43"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(change.status, StatusCode::OK, "{}", change.text());
    assert_eq!(change.json()["revoked_prts"], 1);
    let reply = renew(&emu, &prt.refresh_token, &key, KdfVersion::V2).await;
    assert_eq!(aadsts(&reply), prt_aadsts::PRT_REVOKED);
    // The old password no longer works, the new one gives a new PRT.
    let n = nonce(&emu.router).await;
    let old = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&n, ADELE, ADELE_PASSWORD),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &old).await;
    assert_eq!(aadsts(&reply), cxh_wire::oidc::aadsts::INVALID_CREDENTIALS);
    let n = nonce(&emu.router).await;
    let new = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&n, ADELE, "New-Horse-43"),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &new).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn a_device_signed_refresh_token_renews_with_a_fresh_session_key() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let n = nonce(&emu.router).await;
    let payload = json!({
        "client_id": cxh_wire::prt::BROKER_CLIENT_ID,
        "request_nonce": n,
        "scope": PRT_SCOPE,
        "group_sids": [],
        "win_ver": "10.0.19041.868",
        "grant_type": "refresh_token",
        "refresh_token": prt.refresh_token,
    });
    let request = device_signed(device_key(), &joined.cert_der, &payload, true);
    let reply = post_request(&emu.router, TOKEN_PATH, &request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let renewed: PrtResponse = serde_json::from_slice(&reply.body).unwrap();
    let new_key = session_key_of(&renewed);
    assert_ne!(new_key, key);
    decrypt(
        &new_key,
        &renew(&emu, &renewed.refresh_token, &new_key, KdfVersion::V2).await,
    );
}
