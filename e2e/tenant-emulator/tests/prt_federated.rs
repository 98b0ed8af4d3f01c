//! A federated user's PRT, as seed 003 describes it: the device sends the user's password to
//! the STS's WS-Trust 1.3 `usernamemixed` endpoint, gets a signed SAML 1.1 assertion, and puts
//! it in a device-signed PRT request (`grant_type=saml1_1-bearer` inside the JWS). The PRT and
//! the tokens obtained through it carry amr `pwd`,`fed`; the assertion is single use.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::prt_client::*;
use common::*;
use cxh_wire::prt::PrtResponse;
use cxh_wire::prt_crypto::KdfVersion;
use serde_json::json;
use tenant_emulator::config::Config;
use tenant_emulator::wstrust::*;

const STS_URL: &str = "https://adfs.fabrikam.test";
const DIEGO: &str = "diego.siciliani@fabrikam-corp.com";
const DIEGO_PASSWORD: &str = "Diego-Fed-11";
const PRADEEP: &str = "pradeep.gupta@fabrikam-corp.com";
const PRADEEP_PASSWORD: &str = "Pradeep-Fed-31";
const OFFICE: &str = "d3590ed6-52b3-4102-aeff-aad2292ab01c";

fn cloud() -> (Emulator, Router) {
    let file = tenant_file();
    let config = Config::new(PUBLIC_URL)
        .with_extra_clients(&file.clients)
        .with_sts_url("fabrikam", STS_URL)
        .with_test_hooks(true);
    let emu = emulator_with_config(&file, config);
    let sts = tenant_emulator::sts::router(emu.state.clone(), "fabrikam");
    (emu, sts)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn instant(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The user's password at the STS's usernamemixed endpoint; the assertion XML it answers.
async fn assertion_from_sts(sts: &Router, user: &str, password: &str) -> String {
    let endpoint = format!("{STS_URL}{USERNAMEMIXED_13_PATH}");
    let message_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let now = time::OffsetDateTime::now_utc();
    let body = format!(
        "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:wsa=\"{WSA_NS}\" xmlns:wsu=\"{WSU_NS}\">\
<s:Header><wsa:Action s:mustUnderstand=\"1\">{RST_ISSUE_13}</wsa:Action>\
<wsa:MessageID>{message_id}</wsa:MessageID>\
<wsa:To s:mustUnderstand=\"1\">{endpoint}</wsa:To>\
<wsse:Security s:mustUnderstand=\"1\" xmlns:wsse=\"{WSSE_NS}\">\
<wsu:Timestamp wsu:Id=\"MSATimeStamp\"><wsu:Created>{created}</wsu:Created><wsu:Expires>{expires}</wsu:Expires></wsu:Timestamp>\
<wsse:UsernameToken wsu:Id=\"UnPwSecTok13-{message_id}\"><wsse:Username>{user}</wsse:Username>\
<wsse:Password Type=\"{PASSWORD_TEXT}\">{password}</wsse:Password></wsse:UsernameToken></wsse:Security></s:Header>\
<s:Body><wst:RequestSecurityToken xmlns:wst=\"{WST13_NS}\"><wsp:AppliesTo xmlns:wsp=\"{WSP_NS}\">\
<wsa:EndpointReference><wsa:Address>urn:federation:MicrosoftOnline</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>\
<wst:KeyType>{KEY_TYPE_BEARER_13}</wst:KeyType><wst:RequestType>{REQUEST_TYPE_ISSUE_13}</wst:RequestType>\
</wst:RequestSecurityToken></s:Body></s:Envelope>",
        created = instant(now),
        expires = instant(now + time::Duration::minutes(10)),
        user = escape(user),
        password = escape(password),
    );
    let request = Request::post(USERNAMEMIXED_13_PATH)
        .header(header::CONTENT_TYPE, "application/soap+xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap();
    let reply = send(sts, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let rstr = reply.text();
    let doc = roxmltree::Document::parse(&rstr).unwrap();
    let assertion = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Assertion")
        .expect("an assertion");
    rstr[assertion.range()].to_string()
}

async fn prt_with_assertion(emu: &Emulator, joined: &Joined, assertion: &str) -> Reply {
    let n = nonce(&emu.router).await;
    let request = device_signed(
        device_key(),
        &joined.cert_der,
        &saml_payload(&n, assertion),
        true,
    );
    post_request(&emu.router, TOKEN_PATH, &request).await
}

#[tokio::test]
async fn a_federated_prt_from_a_usernamemixed_assertion_carries_fed() {
    let (emu, sts) = cloud();
    let joined = join(&emu).await;
    let assertion = assertion_from_sts(&sts, DIEGO, DIEGO_PASSWORD).await;
    let reply = prt_with_assertion(&emu, &joined, &assertion).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let prt: PrtResponse = serde_json::from_slice(&reply.body).unwrap();
    let id = jwt_claims(&prt.id_token);
    assert_eq!(id["upn"], DIEGO);
    assert_eq!(id["amr"], json!(["pwd", "fed"]));
    // Tokens through the federated PRT keep its amr and name the device.
    let key = session_key_of(&prt);
    let n = nonce(&emu.router).await;
    let reply = signed_request(
        &emu,
        &key,
        &app_payload(
            &n,
            &prt.refresh_token,
            OFFICE,
            "https://graph.microsoft.com",
        ),
        KdfVersion::V2,
    )
    .await;
    let access = jwt_claims(&decrypt(&key, &reply).access_token.unwrap());
    assert_eq!(access["amr"], json!(["pwd", "fed"]));
    assert_eq!(access["deviceid"], joined.device_id);
    // The same assertion a second time is a replay (AADSTS50013).
    let replay = prt_with_assertion(&emu, &joined, &assertion).await;
    assert_eq!(aadsts(&replay), cxh_wire::oidc::aadsts::INVALID_ASSERTION);
}

#[tokio::test]
async fn a_federated_user_needing_authority_mfa_gets_no_prt_from_a_password_assertion() {
    let (emu, sts) = cloud();
    let joined = join(&emu).await;
    let assertion = assertion_from_sts(&sts, PRADEEP, PRADEEP_PASSWORD).await;
    let reply = prt_with_assertion(&emu, &joined, &assertion).await;
    assert_eq!(aadsts(&reply), cxh_wire::oidc::aadsts::MFA_REQUIRED);
}

#[tokio::test]
async fn a_tampered_assertion_gets_no_prt() {
    let (emu, sts) = cloud();
    let joined = join(&emu).await;
    let assertion = assertion_from_sts(&sts, DIEGO, DIEGO_PASSWORD).await;
    let tampered = assertion.replacen("diego.siciliani", "diegx.siciliani", 1);
    assert_ne!(tampered, assertion);
    let reply = prt_with_assertion(&emu, &joined, &tampered).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
}

#[tokio::test]
async fn the_saml_grant_tokens_carry_amr_fed() {
    let (emu, sts) = cloud();
    let assertion = assertion_from_sts(&sts, DIEGO, DIEGO_PASSWORD).await;
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&assertion);
    let reply = post_form(
        &emu.router,
        "/common/oauth2/token",
        &[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
            ),
            ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
            ("assertion", &encoded),
            ("resource", "urn:ms-drs:enterpriseregistration.windows.net"),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["amr"], json!(["pwd", "fed"]));
    let id = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["pwd", "fed"]));
}
