//! The PRT SSO cookie at `authorize` (seed 003 "Browser SSO"): a browser on a joined device
//! sends `x-ms-RefreshTokenCredential`, signed with the PRT's session key, and is signed in
//! without a page; the code's tokens carry the device and the PRT's amr. A stale nonce is
//! answered with a fresh `sso_nonce`; a forged cookie, one for a disabled device or a revoked
//! PRT is ignored (the normal sign-in follows, no code).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::prt_client::*;
use common::*;
use cxh_wire::prt_crypto::KdfVersion;
use serde_json::json;

/// Edge, the client id browser SSO uses.
const EDGE: &str = "d7b530a4-7680-4c23-a8bf-c52c121d2e87";

fn authorize_uri(extra: &str) -> String {
    let redirect =
        url::form_urlencoded::byte_serialize(join_web_app().as_bytes()).collect::<String>();
    format!(
        "/common/oauth2/authorize?client_id={EDGE}&response_type=code&redirect_uri={redirect}&resource=https%3A%2F%2Fgraph.microsoft.com&state=st{extra}"
    )
}

fn cookie(session_key: &[u8], prt: &str, nonce: &str) -> String {
    session_signed(
        session_key,
        &json!({"refresh_token": prt, "is_primary": "true", "request_nonce": nonce}),
        KdfVersion::V2,
    )
}

async fn authorize_with(router: &axum::Router, uri: &str, cookie: &str, as_header: bool) -> Reply {
    let request = Request::get(uri);
    let request = if as_header {
        request.header("x-ms-RefreshTokenCredential", cookie)
    } else {
        request.header("cookie", format!("x-ms-RefreshTokenCredential={cookie}"))
    };
    send(router, request.body(Body::empty()).unwrap()).await
}

/// Redeem the code in `reply`'s redirect; the access token's claims.
async fn redeem(router: &axum::Router, reply: &Reply) -> serde_json::Value {
    let location = url::Url::parse(&reply.location()).unwrap();
    let params = params_of(location.query().unwrap_or(""));
    assert_eq!(params["state"], "st");
    let token = post_form(
        router,
        "/common/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", EDGE),
            ("code", &params["code"]),
            ("redirect_uri", &join_web_app()),
        ],
    )
    .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    jwt_claims(token.json()["access_token"].as_str().unwrap())
}

/// The normal sign-in: the join web app's sign-in page (a login context, `sCtx`), no code.
fn is_sign_in_page(reply: &Reply) -> bool {
    let location = reply.location();
    reply.status == StatusCode::FOUND && location.contains("sCtx=") && !location.contains("code=")
}

#[tokio::test]
async fn a_valid_cookie_signs_in_silently_with_the_device_in_the_token() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let nonce = nonce(&emu.router).await;
    let value = cookie(&key, &prt.refresh_token, &nonce);

    for (extra, as_header) in [("", true), ("&prompt=none", false)] {
        let reply = authorize_with(&emu.router, &authorize_uri(extra), &value, as_header).await;
        assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
        let access = redeem(&emu.router, &reply).await;
        assert_eq!(access["deviceid"], joined.device_id.as_str(), "{access}");
        assert_eq!(access["upn"], ADELE);
        assert_eq!(access["amr"], json!(["pwd"]));
    }
}

#[tokio::test]
async fn a_stale_nonce_is_answered_with_a_fresh_sso_nonce_that_then_works() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let stale = cookie(
        &key,
        &prt.refresh_token,
        "a-nonce-this-authority-never-issued",
    );
    let reply = authorize_with(&emu.router, &authorize_uri(""), &stale, true).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let again = url::Url::parse(&reply.location()).unwrap();
    assert_eq!(again.path(), "/common/oauth2/authorize");
    let params = params_of(again.query().unwrap());
    assert_eq!(params["client_id"], EDGE);
    let fresh = cookie(&key, &prt.refresh_token, &params["sso_nonce"]);
    let path_and_query = format!("{}?{}", again.path(), again.query().unwrap());
    // Stale again on the retry (the browser had no new cookie yet): a page that retries after
    // a pause, with only the newest sso_nonce, instead of a tight redirect loop.
    let reply = authorize_with(&emu.router, &path_and_query, &stale, true).await;
    assert_eq!(reply.status, StatusCode::OK);
    let page = reply.text();
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    assert_eq!(
        page.matches("sso_nonce=").count(),
        2,
        "one in the meta refresh, one in the link"
    );
    let reply = authorize_with(&emu.router, &path_and_query, &fresh, true).await;
    let access = redeem(&emu.router, &reply).await;
    assert_eq!(access["deviceid"], joined.device_id.as_str());
}

#[tokio::test]
async fn a_forged_cookie_a_disabled_device_and_a_revoked_prt_get_the_sign_in_page() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let nonce = nonce(&emu.router).await;

    let mut wrong_key = key;
    wrong_key[0] ^= 1;
    let forged = cookie(&wrong_key, &prt.refresh_token, &nonce);
    let reply = authorize_with(&emu.router, &authorize_uri(""), &forged, true).await;
    assert!(is_sign_in_page(&reply), "{}", reply.location());
    let reply = authorize_with(&emu.router, &authorize_uri("&prompt=none"), &forged, true).await;
    assert!(reply.location().contains("error=interaction_required"));
    let garbage = authorize_with(&emu.router, &authorize_uri(""), "not.a.jws!", true).await;
    assert!(is_sign_in_page(&garbage));

    let disable = post_form(
        &emu.router,
        &format!("/_emulator/devices/{}/disable", joined.device_id),
        &[],
    )
    .await;
    assert_eq!(disable.status, StatusCode::NO_CONTENT);
    let valid = cookie(&key, &prt.refresh_token, &nonce);
    let reply = authorize_with(&emu.router, &authorize_uri(""), &valid, true).await;
    assert!(is_sign_in_page(&reply), "a disabled device signs nobody in");
    let enable = post_form(
        &emu.router,
        &format!("/_emulator/devices/{}/enable", joined.device_id),
        &[],
    )
    .await;
    assert_eq!(enable.status, StatusCode::NO_CONTENT);

    let reset = send(
        &emu.router,
        Request::post(format!("/_emulator/users/{ADELE}/password"))
            .header("content-type", "application/json")
            .body(Body::from(r#"{"password":"A-New-Pass-77"}"#))
            .unwrap(),
    )
    .await;
    assert!(reset.status.is_success(), "{}", reset.text());
    let reply = authorize_with(&emu.router, &authorize_uri(""), &valid, true).await;
    assert!(is_sign_in_page(&reply), "a revoked PRT signs nobody in");
}

#[tokio::test]
async fn a_pkce_code_is_redeemed_only_with_its_verifier() {
    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let pkce = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
    let code = |reply: Reply| {
        let location = url::Url::parse(&reply.location()).unwrap();
        params_of(location.query().unwrap())["code"].clone()
    };
    let redeem_with = |code: String, verifier: Option<&'static str>| {
        let router = emu.router.clone();
        async move {
            let mut fields = vec![
                ("grant_type", "authorization_code".to_string()),
                ("client_id", EDGE.to_string()),
                ("code", code),
                ("redirect_uri", join_web_app()),
            ];
            if let Some(v) = verifier {
                fields.push(("code_verifier", v.to_string()));
            }
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(&router, "/common/oauth2/token", &fields).await
        }
    };
    for wrong in [None, Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj")] {
        let nonce = nonce(&emu.router).await;
        let value = cookie(&key, &prt.refresh_token, &nonce);
        let reply = authorize_with(&emu.router, &authorize_uri(&pkce), &value, true).await;
        let refused = redeem_with(code(reply), wrong).await;
        assert_eq!(aadsts(&refused), 50148, "{}", refused.text());
    }
    let nonce = nonce(&emu.router).await;
    let value = cookie(&key, &prt.refresh_token, &nonce);
    let reply = authorize_with(&emu.router, &authorize_uri(&pkce), &value, true).await;
    let accepted = redeem_with(code(reply), Some(VERIFIER)).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text());

    let bad = authorize_with(
        &emu.router,
        &authorize_uri("&code_challenge=short&code_challenge_method=S256"),
        &value,
        true,
    )
    .await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "a malformed challenge is refused at authorize"
    );
}
