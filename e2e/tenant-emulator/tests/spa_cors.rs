//! A single-page app redeems its code cross-origin, as MSAL.js does: the timesheet app's SPA
//! redirect URI `http://localhost:5173/` may, from that origin, with CORS headers in the answer;
//! another origin, or a redirect URI that is not a SPA's, gets AADSTS9002326 and no CORS
//! header; a preflight is answered for the SPA's origin only. Requests with no Origin (native
//! clients) or from the authority's own origin are not cross-origin.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;

const TIMESHEET: &str = "6a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const SPA: &str = "http://localhost:5173/";
const SPA_ORIGIN: &str = "http://localhost:5173";

/// A code for the timesheet app at `redirect_uri`, through the sign-in page with a password.
async fn code_for(router: &axum::Router, redirect_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", TIMESHEET),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", "openid https://graph.microsoft.com/User.Read"),
        ])
        .finish();
    let page = get(router, &format!("/common/oauth2/v2.0/authorize?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let text = page.text();
    let ctx = text
        .split("name=\"ctx\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in page's ctx");
    let reply = post_form(
        router,
        "/common/login?cxhver=1.0",
        &[("ctx", ctx), ("login", ADELE), ("passwd", ADELE_PASSWORD)],
    )
    .await;
    let location = url::Url::parse(&reply.location()).unwrap();
    params_of(location.query().unwrap())["code"].clone()
}

async fn redeem(
    router: &axum::Router,
    code: &str,
    redirect_uri: &str,
    origin: Option<&str>,
) -> Reply {
    redeem_with(router, code, redirect_uri, origin, &[]).await
}

async fn redeem_with(
    router: &axum::Router,
    code: &str,
    redirect_uri: &str,
    origin: Option<&str>,
    extra: &[(&str, &str)],
) -> Reply {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("client_id", TIMESHEET),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("scope", "openid https://graph.microsoft.com/User.Read"),
        ])
        .extend_pairs(extra.iter().copied())
        .finish();
    let mut request = Request::post("/common/oauth2/v2.0/token")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    send(router, request.body(Body::from(body)).unwrap()).await
}

fn allowed_origin(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn the_spa_redeems_from_its_origin_and_gets_cors_headers() {
    let emu = emulator();
    let code = code_for(&emu.router, SPA).await;
    let reply = redeem(&emu.router, &code, SPA, Some(SPA_ORIGIN)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(allowed_origin(&reply).as_deref(), Some(SPA_ORIGIN));
    assert!(reply.json()["access_token"].is_string());
}

#[tokio::test]
async fn another_origin_or_a_non_spa_redirect_uri_is_refused_cross_origin() {
    let emu = emulator();
    let code = code_for(&emu.router, SPA).await;
    let evil = redeem(&emu.router, &code, SPA, Some("https://evil.example")).await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
    assert_eq!(evil.json()["error_codes"][0], 9002326);
    assert_eq!(allowed_origin(&evil), None);

    let web = "https://timesheet.contoso.test/signin-oidc";
    let code = code_for(&emu.router, web).await;
    let cross = redeem(
        &emu.router,
        &code,
        web,
        Some("https://timesheet.contoso.test"),
    )
    .await;
    assert_eq!(
        cross.json()["error_codes"][0],
        9002326,
        "a web redirect URI is not a SPA's"
    );
    // The same code from a server (no Origin) is fine.
    let server = redeem(&emu.router, &code, web, None).await;
    assert_eq!(server.status, StatusCode::OK, "{}", server.text());
}

#[tokio::test]
async fn a_preflight_is_answered_for_the_spas_origin_only() {
    let emu = emulator();
    let preflight = |origin: &'static str| {
        let router = emu.router.clone();
        async move {
            send(
                &router,
                Request::options("/common/oauth2/v2.0/token")
                    .header("origin", origin)
                    .header("access-control-request-method", "POST")
                    .header("access-control-request-headers", "content-type")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let ok = preflight(SPA_ORIGIN).await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(allowed_origin(&ok).as_deref(), Some(SPA_ORIGIN));
    let refused = preflight("https://evil.example").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(allowed_origin(&refused), None);
}

/// What MSAL.js reads from the v2 code redemption besides the tokens: `client_info` (its
/// account key, asked for with `client_info=1`) and a v2 id_token (issuer
/// `{authority}/{tenant id}/v2.0`, the issuer of the v2 metadata it validated).
#[tokio::test]
async fn an_msal_redemption_gets_client_info_and_a_v2_id_token() {
    let emu = emulator();
    let code = code_for(&emu.router, SPA).await;
    let reply = redeem_with(
        &emu.router,
        &code,
        SPA,
        Some(SPA_ORIGIN),
        &[("client_info", "1")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let answer = reply.json();
    let info = base64_url_json(answer["client_info"].as_str().expect("client_info"));
    assert_eq!(info["uid"], ADELE_OID);
    assert_eq!(info["utid"], TENANT_ID);
    let id_token = jwt_claims(answer["id_token"].as_str().unwrap());
    assert_eq!(id_token["iss"], format!("{PUBLIC_URL}/{TENANT_ID}/v2.0"));
    assert_eq!(id_token["ver"], "2.0");

    // Without client_info=1 there is none, as at Entra.
    let code = code_for(&emu.router, SPA).await;
    let plain = redeem(&emu.router, &code, SPA, Some(SPA_ORIGIN)).await;
    assert!(plain.json().get("client_info").is_none());
}

/// MSAL.js fetches the metadata from the app's origin before anything else: the documents and
/// keys are readable from any origin, as Entra serves them.
#[tokio::test]
async fn the_metadata_and_keys_are_readable_from_any_origin() {
    let emu = emulator();
    for path in [
        "/contoso.com/v2.0/.well-known/openid-configuration",
        "/common/.well-known/openid-configuration",
        "/common/discovery/v2.0/keys",
        "/common/discovery/keys",
    ] {
        let reply = get(&emu.router, path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(allowed_origin(&reply).as_deref(), Some("*"), "{path}");
    }
    // Not the token endpoint: that one answers only the SPA's origin (above).
    let code = code_for(&emu.router, SPA).await;
    let reply = redeem(&emu.router, &code, SPA, Some(SPA_ORIGIN)).await;
    assert_eq!(allowed_origin(&reply).as_deref(), Some(SPA_ORIGIN));
}

fn base64_url_json(text: &str) -> serde_json::Value {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// MSAL.js asks for `response_mode=fragment`: the silent answer (here the error of a browser
/// with no session) comes back in the fragment, not the query.
#[tokio::test]
async fn a_silent_answer_honours_the_fragment_response_mode() {
    let emu = emulator();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", TIMESHEET),
            ("response_type", "code"),
            ("redirect_uri", SPA),
            ("scope", "openid https://graph.microsoft.com/User.Read"),
            ("prompt", "none"),
            ("response_mode", "fragment"),
            ("state", "s-1"),
        ])
        .finish();
    let reply = get(
        &emu.router,
        &format!("/contoso.com/oauth2/v2.0/authorize?{query}"),
    )
    .await;
    let location = url::Url::parse(&reply.location()).unwrap();
    assert_eq!(location.query(), None, "{location}");
    let answer = params_of(location.fragment().expect("a fragment"));
    assert_eq!(answer["error"], "interaction_required");
    assert_eq!(answer["state"], "s-1");
}
