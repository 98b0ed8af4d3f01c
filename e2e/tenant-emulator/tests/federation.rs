//! Federation at the authority, in-process: the emulated STS's WS-Federation sign-in page and
//! token, and the `saml1_1-bearer` token grant with genuine, tampered and expired assertions.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use common::*;

const DIEGO: &str = "diego.siciliani@fabrikam-corp.com";
const DIEGO_OID: &str = "2a7d9c4e-6b1f-4c3d-8e5a-9f0b1c2d3e71";

async fn wresult(emu: &Emulator, issued_secs_ago: i64) -> String {
    let body = serde_json::json!({ "upn": DIEGO, "issued_secs_ago": issued_secs_ago });
    let request = Request::post("/_emulator/sts/fabrikam/wresult")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let reply = send(&emu.router, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.text()
}

async fn saml_grant(emu: &Emulator, xml: &str) -> Reply {
    let assertion = base64::engine::general_purpose::STANDARD.encode(xml);
    post_form(
        &emu.router,
        "/common/oauth2/token",
        &[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
            ),
            ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
            ("resource", "urn:ms-drs:enterpriseregistration.windows.net"),
            ("assertion", &assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn a_genuine_sts_assertion_is_exchanged_for_tokens_of_the_synced_user() {
    let emu = emulator();
    let reply = saml_grant(&emu, &wresult(&emu, 0).await).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let id_token = reply.json()["id_token"].as_str().unwrap().to_string();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["upn"], DIEGO);
    assert_eq!(claims["oid"], DIEGO_OID);
    assert_eq!(claims["tid"], TENANT_ID);
}

#[tokio::test]
async fn a_tampered_assertion_is_refused_with_aadsts50008() {
    let emu = emulator();
    let xml = wresult(&emu, 0)
        .await
        .replace(DIEGO, "isaiah.langer@fabrikam-corp.com");
    let reply = saml_grant(&emu, &xml).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let body = reply.json();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_codes"][0], 50008);
}

#[tokio::test]
async fn an_expired_assertion_is_refused_with_aadsts50013() {
    let emu = emulator();
    let reply = saml_grant(&emu, &wresult(&emu, 7200).await).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error_codes"][0], 50013);
    assert!(reply.text().contains("expired"));
}

/// Post `wresult` to the authority's WS-Federation endpoint for a fresh login context.
async fn post_wresult(emu: &Emulator, wresult: &str) -> Reply {
    let ctx = authorize(&emu.router, "nonce-fed").await;
    let wctx = format!("estsrequest={ctx}&state=st-1");
    post_form(
        &emu.router,
        "/login.srf",
        &[("wa", "wsignin1.0"), ("wresult", wresult), ("wctx", &wctx)],
    )
    .await
}

#[tokio::test]
async fn a_used_assertion_is_refused_at_login_srf_and_at_the_token_endpoint() {
    let emu = emulator();
    let xml = wresult(&emu, 0).await;
    let first = post_wresult(&emu, &xml).await;
    assert_eq!(first.status, StatusCode::FOUND, "{}", first.text());
    assert!(
        first.location().contains("id_token="),
        "{}",
        first.location()
    );

    // The same wresult with a new login context: refused, the app is told why.
    let again = post_wresult(&emu, &xml).await;
    assert_eq!(again.status, StatusCode::FOUND, "{}", again.text());
    let location = again.location();
    assert!(!location.contains("id_token="), "{location}");
    let query = url::Url::parse(&location).unwrap();
    let params = params_of(query.query().unwrap_or(""));
    assert_eq!(params["error"], "invalid_grant");
    assert!(
        params["error_description"].contains("AADSTS50013"),
        "{location}"
    );

    // And exchanged at the token endpoint.
    let grant = saml_grant(&emu, &xml).await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST, "{}", grant.text());
    assert_eq!(grant.json()["error_codes"][0], 50013);
    assert!(
        grant.text().contains("already been used"),
        "{}",
        grant.text()
    );
}

#[tokio::test]
async fn an_assertion_exchanged_once_at_the_token_endpoint_is_not_exchanged_again() {
    let emu = emulator();
    let xml = wresult(&emu, 0).await;
    assert_eq!(saml_grant(&emu, &xml).await.status, StatusCode::OK);
    let second = saml_grant(&emu, &xml).await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST, "{}", second.text());
    assert_eq!(second.json()["error_codes"][0], 50013);
}

#[tokio::test]
async fn the_wresult_minting_hook_is_404_without_test_hooks() {
    let emu = emulator_with_config(
        &tenant_file(),
        tenant_emulator::config::Config::new(PUBLIC_URL),
    );
    let body = serde_json::json!({ "upn": DIEGO });
    let request = Request::post("/_emulator/sts/fabrikam/wresult")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let reply = send(&emu.router, request).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
    assert!(!reply.text().contains("Assertion"));
}

#[tokio::test]
async fn the_sts_page_prefills_the_user_and_refuses_a_wrong_password() {
    let emu = emulator();
    let sts = tenant_emulator::sts::router(emu.state.clone(), "fabrikam");
    let page = get(
        &sts,
        "/adfs/ls/?username=diego.siciliani%40fabrikam-corp.com&wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx=x",
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Fabrikam Corp"));
    assert!(html.contains("value=\"diego.siciliani@fabrikam-corp.com\""));
    let wrong = post_form(
        &sts,
        "/adfs/ls/",
        &[
            ("wa", "wsignin1.0"),
            ("wtrealm", "urn:federation:MicrosoftOnline"),
            ("wctx", "x"),
            ("UserName", DIEGO),
            ("Password", "nope"),
        ],
    )
    .await;
    assert!(wrong.text().contains("data-testid=\"adfs-error\""));
    assert!(!wrong.text().contains("wresult"));
    let right = post_form(
        &sts,
        "/adfs/ls/",
        &[
            ("wa", "wsignin1.0"),
            ("wtrealm", "urn:federation:MicrosoftOnline"),
            ("wctx", "x"),
            ("UserName", DIEGO),
            ("Password", "Diego-Fed-11"),
        ],
    )
    .await;
    let html = right.text();
    assert!(html.contains("action=\"http://emulator.test/login.srf\""));
    assert!(html.contains("name=\"wresult\""));
    assert!(!html.contains("Diego-Fed-11"));
}

#[tokio::test]
async fn the_sts_refuses_a_request_that_is_not_a_microsoft_online_sign_in() {
    let emu = emulator();
    let sts = tenant_emulator::sts::router(emu.state.clone(), "fabrikam");
    let reply = get(&sts, "/adfs/ls/?wa=wsignin1.0&wtrealm=urn:other").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}
