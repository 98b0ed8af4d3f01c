//! Token endpoint rules of issue 10 that are not PRT-specific: smart lockout of the password
//! grant (per user, across login contexts), a code bound to its resource, the v2 endpoint's
//! scope semantics.

mod common;

use axum::http::StatusCode;
use common::*;
use cxh_wire::consts::DRS_CLIENT_ID;
use cxh_wire::oidc::aadsts;

fn error_code(reply: &Reply) -> u64 {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    reply.json()["error_codes"][0].as_u64().unwrap()
}

async fn password_grant(
    emu: &Emulator,
    path: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut fields = vec![
        ("grant_type", "password"),
        ("client_id", DRS_CLIENT_ID),
        ("username", MEGAN),
        ("password", password),
    ];
    fields.extend_from_slice(extra);
    post_form(&emu.router, path, &fields).await
}

#[tokio::test]
async fn thirty_wrong_passwords_lock_the_account_even_for_the_right_one() {
    let emu = emulator();
    for _ in 0..30 {
        let reply = password_grant(&emu, "/common/oauth2/token", "wrong", &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }
    let reply = password_grant(&emu, "/common/oauth2/token", MEGAN_PASSWORD, &[]).await;
    assert_eq!(error_code(&reply), aadsts::ACCOUNT_LOCKED as u64);
    // A new interactive login context does not reset the lockout.
    let ctx = authorize(&emu.router, "n1").await;
    let reply = login(&emu.router, &ctx, MEGAN, MEGAN_PASSWORD).await;
    let location = reply.location();
    assert!(
        !location.contains("id_token"),
        "locked: no token ({location})"
    );
    assert!(location.contains("AADSTS50053"), "{location}");
}

#[tokio::test]
async fn wrong_passwords_in_new_login_contexts_add_up() {
    let emu = emulator();
    for i in 0..tenant_emulator::routes::token::password::LOCKOUT_THRESHOLD {
        let ctx = authorize(&emu.router, &format!("n{i}")).await;
        let reply = login(&emu.router, &ctx, MEGAN, "wrong").await;
        assert_eq!(reply.status, StatusCode::FOUND);
    }
    let reply = password_grant(&emu, "/common/oauth2/token", MEGAN_PASSWORD, &[]).await;
    assert_eq!(error_code(&reply), aadsts::ACCOUNT_LOCKED as u64);
}

#[tokio::test]
async fn a_right_password_before_the_threshold_resets_the_count() {
    let emu = emulator();
    for _ in 0..9 {
        password_grant(&emu, "/common/oauth2/token", "wrong", &[]).await;
    }
    let ok = password_grant(&emu, "/common/oauth2/token", MEGAN_PASSWORD, &[]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    for _ in 0..9 {
        password_grant(&emu, "/common/oauth2/token", "wrong", &[]).await;
    }
    let ok = password_grant(&emu, "/common/oauth2/token", MEGAN_PASSWORD, &[]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
}

#[tokio::test]
async fn the_v2_endpoint_echoes_the_scope_and_derives_the_resource() {
    let emu = emulator();
    let scope = "https://graph.microsoft.com/User.Read openid offline_access";
    let reply = password_grant(
        &emu,
        "/common/oauth2/v2.0/token",
        MEGAN_PASSWORD,
        &[("scope", scope)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["scope"], scope);
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], "https://graph.microsoft.com");
    assert_eq!(access["scp"], "User.Read");
    // v1 keeps its semantics.
    let reply = password_grant(
        &emu,
        "/common/oauth2/token",
        MEGAN_PASSWORD,
        &[("resource", "https://graph.microsoft.com")],
    )
    .await;
    let body = reply.json();
    assert_eq!(body["scope"], "user_impersonation");
    assert_eq!(body["resource"], "https://graph.microsoft.com");
}

#[tokio::test]
async fn a_code_can_only_be_redeemed_for_its_resource() {
    let emu = emulator();
    let state = &emu.state;
    let user = tenant_emulator::db::user_by_upn(&state.db(), MEGAN)
        .unwrap()
        .unwrap();
    let code_for = |resource: &str| {
        let code = format!("code-{}", uuid::Uuid::new_v4());
        tenant_emulator::db::insert_auth_code(
            &state.db(),
            &code,
            &tenant_emulator::db::AuthCode {
                client_id: DRS_CLIENT_ID.into(),
                redirect_uri: join_web_app(),
                user_object_id: user.object_id.clone(),
                nonce: None,
                resource: Some(resource.into()),
                expires_at: tenant_emulator::tokens::now() + 600,
                used: false,
                device_id: None,
                amr: None,
                code_challenge: None,
                code_challenge_method: None,
            },
        )
        .unwrap();
        code
    };
    let redeem = |code: String, resource: &'static str| {
        let router = emu.router.clone();
        async move {
            post_form(
                &router,
                "/common/oauth2/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", DRS_CLIENT_ID),
                    ("code", &code),
                    ("redirect_uri", &join_web_app()),
                    ("resource", resource),
                ],
            )
            .await
        }
    };
    let reply = redeem(
        code_for("https://mdm.example/"),
        "https://graph.microsoft.com",
    )
    .await;
    assert_eq!(error_code(&reply), aadsts::INVALID_CODE as u64);
    let reply = redeem(code_for("https://mdm.example/"), "https://mdm.example/").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["resource"], "https://mdm.example/");
}
