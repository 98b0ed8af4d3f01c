//! Bulk enrollment at the emulator: an administrator's DRS token begins a bulk token and the
//! poll hands it out (the package account's refresh token and id_token, `resultData` a JSON
//! string); a device redeems it with the device registration client for DRS and registers as
//! the package account, beyond any user's device quota; a revoked or another client's bulk
//! token is refused and the redemption never yields a refresh token of its own; a user who must
//! use a second factor cannot make one; a flow answers only its caller, once.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use tenant_emulator::tokens::{self, TokenSubject};

const BULK_CLIENT: &str = "b90d5b8f-5503-4153-b545-b31cecfaece2";
const PID: &str = "5c1e1b7a-1c4e-4b8e-9a55-0f6b7c2d9e10";
const LEE: &str = "lee.gu@contoso.com";

/// A DRS access token for `upn`, signed by the emulator (as its sign-in would issue one;
/// the second-factor user's too, whose ROPC the emulator refuses).
fn drs_token(emu: &Emulator, upn: &str, amr: &[&str]) -> String {
    let conn = emu.state.db();
    let user = tenant_emulator::db::user_by_upn(&conn, upn)
        .unwrap()
        .unwrap();
    let tenant = tenant_emulator::db::tenant_by_id(&conn, &user.tenant_id)
        .unwrap()
        .unwrap();
    let subject = TokenSubject {
        user: &user,
        tenant: &tenant,
        client_id: cxh_wire::consts::DRS_CLIENT_ID,
    };
    let mut claims = tokens::access_token_claims(&subject, cxh_wire::consts::DRS_RESOURCE_ID);
    claims.amr = amr.iter().map(|m| m.to_string()).collect();
    tokens::sign(emu.state.keys(), &claims).unwrap()
}

async fn send_json(
    router: &axum::Router,
    method: &str,
    uri: &str,
    bearer: &str,
    body: Option<serde_json::Value>,
) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(header::CONTENT_TYPE, "application/json");
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    send(router, request.body(body).unwrap()).await
}

fn in_days(days: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(tokens::now() + days * 86400).unwrap();
    format!("{:02}/{:02}/{}", u8::from(at.month()), at.day(), at.year())
}

/// Begin and poll as `admin`; the poll's `resultData`, parsed.
async fn make_bulk_token(emu: &Emulator, admin_token: &str) -> serde_json::Value {
    let begin = send_json(
        &emu.router,
        "POST",
        "/webapp/bulkaadjtoken/begin",
        admin_token,
        Some(serde_json::json!({"pid": PID, "name": "Lab fleet", "exp": in_days(30)})),
    )
    .await;
    assert_eq!(begin.status, StatusCode::OK, "{}", begin.text());
    let begun = begin.json();
    assert_eq!(begun["state"], "Started");
    assert!(begun["resultData"].is_null());
    let flow = begun["flowToken"].as_str().unwrap().to_string();
    let poll = send_json(
        &emu.router,
        "GET",
        &format!("/webapp/bulkaadjtoken/poll?flowtoken={flow}"),
        admin_token,
        None,
    )
    .await;
    assert_eq!(poll.status, StatusCode::OK, "{}", poll.text());
    assert_eq!(poll.json()["state"], "CompleteSuccess");
    serde_json::from_str(poll.json()["resultData"].as_str().unwrap()).unwrap()
}

async fn redeem(emu: &Emulator, client_id: &str, refresh_token: &str) -> Reply {
    post_form(
        &emu.router,
        "/common/oauth2/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
            ("resource", cxh_wire::consts::DRS_RESOURCE_ID),
            ("scope", "openid"),
        ],
    )
    .await
}

#[tokio::test]
async fn a_bulk_token_joins_devices_as_its_package_account_until_it_is_revoked() {
    let emu = emulator();
    let admin = drs_token(&emu, ADELE, &["pwd"]);
    let result = make_bulk_token(&emu, &admin).await;
    let package_upn = format!("package_{PID}@contoso.onmicrosoft.com");
    assert_eq!(
        jwt_claims(result["id_token"].as_str().unwrap())["upn"],
        package_upn
    );
    let bprt = result["refresh_token"].as_str().unwrap().to_string();
    assert!(result["refresh_token_expires_in"].as_i64().unwrap() > 29 * 86400);

    // More devices than any user's quota (contoso: 20), each owned by the package account.
    let quota = 20;
    for _ in 0..quota + 1 {
        let answer = redeem(&emu, BULK_CLIENT, &bprt).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        let tokens = answer.json();
        assert!(
            tokens.get("refresh_token").is_none(),
            "no refresh token of the device's own"
        );
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(jwt_claims(access)["upn"], package_upn);
        let reply = register(
            &emu.router,
            Some(access),
            REGISTER_URI,
            &good_registration_body(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let devices = tenant_emulator::db::devices(&emu.state.db()).unwrap();
    assert_eq!(devices.len(), quota + 1);
    assert!(devices
        .iter()
        .all(|d| d.owner_upn.eq_ignore_ascii_case(&package_upn)));

    // Listed for the administrator (no secret in the list), then revoked: the next redemption fails.
    let listed = get(&emu.router, "/_emulator/bulk-tokens").await.json();
    assert_eq!(listed[0]["package_upn"], package_upn);
    assert!(!listed.to_string().contains(&bprt));
    let revoked = post_form(
        &emu.router,
        &format!("/_emulator/bulk-tokens/{PID}/revoke"),
        &[],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let refused = redeem(&emu, BULK_CLIENT, &bprt).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["error"], "invalid_grant");
    assert!(refused.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("revoked"));
}

#[tokio::test]
async fn only_the_device_registration_client_redeems_a_bulk_token() {
    let emu = emulator();
    let result = make_bulk_token(&emu, &drs_token(&emu, ADELE, &["pwd"])).await;
    let bprt = result["refresh_token"].as_str().unwrap();
    let other = redeem(&emu, cxh_wire::consts::DRS_CLIENT_ID, bprt).await;
    assert_eq!(other.json()["error"], "invalid_grant", "{}", other.text());
    let unknown = redeem(&emu, BULK_CLIENT, "not-a-token").await;
    assert_eq!(unknown.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn a_second_factor_user_cannot_make_a_bulk_token_and_a_flow_answers_its_caller_once() {
    let emu = emulator();
    let lee = drs_token(&emu, LEE, &["pwd", "mfa"]);
    let refused = send_json(
        &emu.router,
        "POST",
        "/webapp/bulkaadjtoken/begin",
        &lee,
        Some(serde_json::json!({"pid": PID, "name": "Lab", "exp": in_days(30)})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["state"], "CompleteError");
    let error: serde_json::Value =
        serde_json::from_str(refused.json()["resultData"].as_str().unwrap()).unwrap();
    assert!(error["error_description"]
        .as_str()
        .unwrap()
        .contains("multi-factor"));

    let adele = drs_token(&emu, ADELE, &["pwd"]);
    let too_long = send_json(
        &emu.router,
        "POST",
        "/webapp/bulkaadjtoken/begin",
        &adele,
        Some(serde_json::json!({"pid": PID, "name": "Lab", "exp": in_days(181)})),
    )
    .await;
    assert_eq!(
        too_long.json()["state"],
        "CompleteError",
        "{}",
        too_long.text()
    );
    let no_token = send(
        &emu.router,
        Request::post("/webapp/bulkaadjtoken/begin")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);

    let begin = send_json(
        &emu.router,
        "POST",
        "/webapp/bulkaadjtoken/begin",
        &adele,
        Some(serde_json::json!({"pid": PID, "name": "Lab", "exp": in_days(10)})),
    )
    .await;
    let flow = begin.json()["flowToken"].as_str().unwrap().to_string();
    let uri = format!("/webapp/bulkaadjtoken/poll?flowToken={flow}");
    let megan = drs_token(&emu, MEGAN, &["pwd"]);
    let foreign = send_json(&emu.router, "GET", &uri, &megan, None).await;
    assert_eq!(
        foreign.json()["state"],
        "CompleteError",
        "another user's flow"
    );
    let first = send_json(&emu.router, "GET", &uri, &adele, None).await;
    assert_eq!(first.json()["state"], "CompleteSuccess");
    let again = send_json(&emu.router, "GET", &uri, &adele, None).await;
    assert_eq!(
        again.json()["state"],
        "CompleteError",
        "a flow answers once"
    );
}
