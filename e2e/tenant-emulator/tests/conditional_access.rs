//! Conditional access on the device (seed 003): the tenant file's payroll app requires a joined
//! device, the expense app a compliant (MDM-enrolled) one, the timesheet app nothing. Only a
//! sign-in through the PRT proves the device: a PRT cookie at `authorize`, or a PRT-signed
//! token request. Password, session and code-without-device paths get AADSTS53000 (as a token
//! error, as the "You can't get there from here" page, or as `interaction_required` for a
//! silent request).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::prt_client::*;
use common::*;
use cxh_wire::prt_crypto::KdfVersion;
use serde_json::json;

const TIMESHEET: &str = "6a3b2c1d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const PAYROLL: &str = "7b4c3d2e-5f6a-4b7c-9d8e-0f1a2b3c4d5e";
const EXPENSES: &str = "8c5d4e3f-6a7b-4c8d-8e9f-1a2b3c4d5e6f";
const GRAPH: &str = "https://graph.microsoft.com";

fn authorize_uri(client_id: &str, extra: &str) -> String {
    let redirect =
        url::form_urlencoded::byte_serialize(join_web_app().as_bytes()).collect::<String>();
    format!(
        "/common/oauth2/authorize?client_id={client_id}&response_type=code&redirect_uri={redirect}&resource=https%3A%2F%2Fgraph.microsoft.com&state=st{extra}"
    )
}

async fn password_grant(router: &axum::Router, client_id: &str) -> Reply {
    post_form(
        router,
        "/common/oauth2/token",
        &[
            ("grant_type", "password"),
            ("client_id", client_id),
            ("username", ADELE),
            ("password", ADELE_PASSWORD),
            ("resource", GRAPH),
        ],
    )
    .await
}

async fn with_prt_cookie(emu: &Emulator, session_key: &[u8], prt: &str, uri: &str) -> Reply {
    let nonce = nonce(&emu.router).await;
    let cookie = session_signed(
        session_key,
        &json!({"refresh_token": prt, "is_primary": "true", "request_nonce": nonce}),
        KdfVersion::V2,
    );
    send(
        &emu.router,
        Request::get(uri)
            .header("x-ms-RefreshTokenCredential", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_device_requiring_app_refuses_a_password_sign_in_with_aadsts53000() {
    let emu = emulator();
    assert_eq!(
        password_grant(&emu.router, TIMESHEET).await.status,
        StatusCode::OK
    );
    let refused = password_grant(&emu.router, PAYROLL).await;
    assert_eq!(aadsts(&refused), 53000, "{}", refused.text());
    assert!(refused.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("Device is not in required device state: joined"));

    // The browser sign-in with a password: the conditional-access page, no code.
    let started = get(&emu.router, &authorize_uri(PAYROLL, "")).await;
    let location = url::Url::parse(&started.location()).unwrap();
    let ctx = params_of(location.query().unwrap())["sCtx"].clone();
    let reply = login(&emu.router, &ctx, ADELE, ADELE_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let text = reply.text();
    assert!(
        text.contains("You can't get there from here") && text.contains("Error code: 53000"),
        "{text}"
    );
}

#[tokio::test]
async fn the_prt_proves_the_joined_device_to_the_payroll_app() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let reply = with_prt_cookie(&emu, &key, &prt.refresh_token, &authorize_uri(PAYROLL, "")).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
    let location = url::Url::parse(&reply.location()).unwrap();
    let code = params_of(location.query().unwrap())["code"].clone();
    let token = post_form(
        &emu.router,
        "/common/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PAYROLL),
            ("code", &code),
            ("redirect_uri", &join_web_app()),
        ],
    )
    .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    let access = jwt_claims(token.json()["access_token"].as_str().unwrap());
    assert_eq!(access["deviceid"], joined.device_id.as_str());

    // The broker's path: a PRT-signed request for the app.
    let nonce = nonce(&emu.router).await;
    let payload = app_payload(&nonce, &prt.refresh_token, PAYROLL, GRAPH);
    let answer = decrypt(
        &key,
        &signed_request(&emu, &key, &payload, KdfVersion::V2).await,
    );
    assert!(answer.access_token.is_some());
}

#[tokio::test]
async fn a_compliant_device_is_an_enrolled_one() {
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let reply = with_prt_cookie(&emu, &key, &prt.refresh_token, &authorize_uri(EXPENSES, "")).await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "joined but not enrolled"
    );
    assert!(reply
        .text()
        .contains("Device is not in required device state: compliant"));
    let nonce = nonce(&emu.router).await;
    let payload = app_payload(&nonce, &prt.refresh_token, EXPENSES, GRAPH);
    let refused = signed_request(&emu, &key, &payload, KdfVersion::V2).await;
    assert_eq!(aadsts(&refused), 53000);

    let enrollment = tenant_emulator::routes::mdm::store::Enrollment {
        device_id: joined.device_id.clone(),
        enrollment_id: "e-1".into(),
        tenant_id: TENANT_ID.into(),
        user_object_id: ADELE_OID.into(),
        thumbprint: "00".into(),
        created_at: "2026-12-02T00:00:00Z".into(),
    };
    let recorded = tenant_emulator::routes::mdm::store::record_enrollment(
        &mut emu.state.db(),
        &enrollment,
        None,
    )
    .unwrap();
    assert!(recorded);
    let reply = with_prt_cookie(&emu, &key, &prt.refresh_token, &authorize_uri(EXPENSES, "")).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
}

#[tokio::test]
async fn a_silent_request_from_a_session_alone_needs_interaction_for_the_payroll_app() {
    let emu = emulator();
    // A session from an ordinary sign-in (the join web app's).
    let ctx = authorize(&emu.router, "n").await;
    let reply = login(&emu.router, &ctx, ADELE, ADELE_PASSWORD).await;
    let cookie = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ESTSAUTH="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a session cookie");
    let silent = |client: &'static str| {
        let cookie = cookie.clone();
        let router = emu.router.clone();
        async move {
            send(
                &router,
                Request::get(authorize_uri(client, "&prompt=none"))
                    .header("cookie", cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    assert!(silent(TIMESHEET).await.location().contains("code="));
    let location = silent(PAYROLL).await.location();
    assert!(
        location.contains("error=interaction_required") && location.contains("AADSTS53000"),
        "{location}"
    );
}
