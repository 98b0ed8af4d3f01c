//! Authority endpoints against seed 001: OpenID configuration, JWKS, user realm, authorize,
//! the CXH login post and the token endpoint.

mod common;

use axum::http::{header, StatusCode};
use common::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::json;
use std::collections::BTreeSet;
use tenant_emulator::config::Config;

fn keys_of(value: &serde_json::Value) -> BTreeSet<String> {
    value.as_object().expect("object").keys().cloned().collect()
}

#[tokio::test]
async fn openid_configuration_has_seed_001_shape_on_the_public_base() {
    let emu = emulator();
    let reply = get(&emu.router, "/common/.well-known/openid-configuration").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    let seed_fields = [
        "authorization_endpoint",
        "token_endpoint",
        "token_endpoint_auth_methods_supported",
        "jwks_uri",
        "response_modes_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "http_logout_supported",
        "response_types_supported",
        "scopes_supported",
        "issuer",
        "claims_supported",
        "microsoft_multi_refresh_token",
        "check_session_iframe",
        "end_session_endpoint",
        "userinfo_endpoint",
    ];
    assert_eq!(
        keys_of(&doc),
        seed_fields.iter().map(|s| s.to_string()).collect()
    );
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{PUBLIC_URL}/common/oauth2/authorize")
    );
    assert_eq!(
        doc["token_endpoint"],
        format!("{PUBLIC_URL}/common/oauth2/token")
    );
    assert_eq!(
        doc["jwks_uri"],
        format!("{PUBLIC_URL}/common/discovery/keys")
    );
    assert_eq!(doc["issuer"], "https://sts.windows.net/{tenantid}/");
    assert_eq!(
        doc["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(doc["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(
        doc["check_session_iframe"],
        format!("{PUBLIC_URL}/common/oauth2/checksession")
    );
    assert_eq!(
        doc["userinfo_endpoint"],
        format!("{PUBLIC_URL}/common/openid/userinfo")
    );
}

#[tokio::test]
async fn tenant_openid_configuration_names_the_tenant_and_unknown_tenants_fail() {
    let emu = emulator();
    let doc = get(&emu.router, "/contoso.com/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(
        doc["issuer"],
        format!("https://sts.windows.net/{TENANT_ID}/")
    );
    assert_eq!(
        doc["token_endpoint"],
        format!("{PUBLIC_URL}/{TENANT_ID}/oauth2/token")
    );
    let reply = get(
        &emu.router,
        "/fabrikam.com/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error_codes"], json!([90002]));
}

#[tokio::test]
async fn jwks_verifies_an_issued_id_token() {
    let emu = emulator();
    let id_token = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n-123").await;
    let jwks = get(&emu.router, "/common/discovery/keys").await.json();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], key["x5t"]);
    let header = jsonwebtoken::decode_header(&id_token).unwrap();
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    assert_eq!(header.x5t.as_deref(), key["x5t"].as_str());

    let decoding =
        DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[cxh_wire::consts::DRS_CLIENT_ID]);
    validation.set_issuer(&[format!("https://sts.windows.net/{TENANT_ID}/")]);
    let data =
        jsonwebtoken::decode::<cxh_wire::oidc::IdTokenClaims>(&id_token, &decoding, &validation)
            .unwrap();
    assert_eq!(data.claims.nonce.as_deref(), Some("n-123"));

    // x5c is a certificate of the same key: its SHA-1 is the x5t.
    use base64::Engine;
    let cert = base64::engine::general_purpose::STANDARD
        .decode(key["x5c"][0].as_str().unwrap())
        .unwrap();
    assert_eq!(
        tenant_emulator::keys::thumbprint_b64url(&cert),
        key["x5t"].as_str().unwrap()
    );
}

#[tokio::test]
async fn user_realm_managed_golden() {
    let emu = emulator();
    let reply = get(
        &emu.router,
        &format!("/common/userrealm/?user={ADELE}&api-version=2.1"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({
            "NameSpaceType": "Managed",
            "Login": ADELE,
            "DomainName": "contoso.com",
            "FederationBrandName": "Contoso",
            "TenantBrandingInfo": [{"Locale": 0, "KeepMeSignedInDisabled": false}],
            "cloud_instance_name": "microsoftonline.com"
        })
    );
    // The initial domain is managed too, and the path without the trailing slash works.
    let initial = get(
        &emu.router,
        "/common/userrealm?user=x@contoso.onmicrosoft.com&api-version=2.1",
    )
    .await;
    assert_eq!(initial.json()["NameSpaceType"], "Managed");
}

#[tokio::test]
async fn user_realm_unknown_golden_and_missing_user() {
    let emu = emulator();
    let reply = get(
        &emu.router,
        "/common/userrealm/?user=bob@fabrikam.com&api-version=2.1",
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({"NameSpaceType": "Unknown", "Login": "bob@fabrikam.com", "cloud_instance_name": "microsoftonline.com"})
    );
    let missing = get(&emu.router, "/common/userrealm/?api-version=2.1").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["error_codes"], json!([900144]));
}

#[tokio::test]
async fn authorize_sends_the_join_web_app_back_with_a_login_context() {
    let emu = emulator();
    let ctx = authorize(&emu.router, "n-1").await;
    assert!(ctx.len() >= 32, "{ctx}");
}

#[tokio::test]
async fn authorize_rejects_unknown_client_foreign_redirect_and_missing_nonce_without_redirecting() {
    let emu = emulator();
    let base = format!(
        "/common/oauth2/authorize?response_type=id_token&nonce=n&redirect_uri={}",
        join_web_app()
    );
    let unknown = get(
        &emu.router,
        &format!("{base}&client_id=00000000-0000-0000-0000-000000000001"),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.headers.get(header::LOCATION).is_none());
    assert!(
        unknown.text().contains("AADSTS700016"),
        "{}",
        unknown.text()
    );

    let drs = cxh_wire::consts::DRS_CLIENT_ID;
    let evil = get(
        &emu.router,
        &format!("/common/oauth2/authorize?client_id={drs}&response_type=id_token&nonce=n&redirect_uri=https://evil.example/WebApp/CloudDomainJoin/4"),
    )
    .await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
    assert!(evil.headers.get(header::LOCATION).is_none());
    assert!(evil.text().contains("AADSTS50011"));

    let no_nonce = get(
        &emu.router,
        &format!(
            "/common/oauth2/authorize?client_id={drs}&response_type=id_token&redirect_uri={}",
            join_web_app()
        ),
    )
    .await;
    assert_eq!(no_nonce.status, StatusCode::BAD_REQUEST);
    assert!(no_nonce.text().contains("AADSTS900144"));
}

async fn authorize_to(emu: &Emulator, redirect_uri: &str) -> Reply {
    let drs = cxh_wire::consts::DRS_CLIENT_ID;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", drs),
            ("response_type", "id_token"),
            ("nonce", "n"),
            ("redirect_uri", redirect_uri),
        ])
        .finish();
    get(&emu.router, &format!("/common/oauth2/authorize?{query}")).await
}

#[tokio::test]
async fn a_loopback_join_web_app_redirect_needs_explicit_configuration() {
    // Any local listener could otherwise collect a silent (prompt=none) answer.
    let loopback = "http://127.0.0.1:8123/WebApp/CloudDomainJoin/4";
    let emu = emulator();
    for refused in [loopback, "http://localhost:8124/WebApp/CloudDomainJoin/4"] {
        let reply = authorize_to(&emu, refused).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{refused}");
        assert!(reply.headers.get(header::LOCATION).is_none());
        assert!(reply.text().contains("50011"), "{}", reply.text());
    }

    let file = tenant_file();
    let config = Config::new(PUBLIC_URL)
        .with_extra_clients(&file.clients)
        .with_extra_redirect_uris(&[loopback.to_string()]);
    let emu = emulator_with_config(&file, config);
    let reply = authorize_to(&emu, loopback).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
    assert!(reply
        .location()
        .starts_with("http://127.0.0.1:8123/WebApp/CloudDomainJoin/4?sCtx="));
    // Only that exact URI: another port of the same loopback host stays refused.
    let other_port = authorize_to(&emu, "http://127.0.0.1:8124/WebApp/CloudDomainJoin/4").await;
    assert_eq!(other_port.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn login_success_delivers_an_id_token_with_the_seed_claims() {
    let emu = emulator();
    let ctx = authorize(&emu.router, "nonce-42").await;
    let reply = login(&emu.router, &ctx, MEGAN, MEGAN_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let location = reply.location();
    let (target, fragment) = location.split_once('#').unwrap();
    assert_eq!(target, join_web_app());
    let params = params_of(fragment);
    assert_eq!(params["state"], "st-1");
    assert!(uuid::Uuid::parse_str(&params["session_state"]).is_ok());
    let cookie = reply
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cookie.starts_with("ESTSAUTH=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );

    let claims = jwt_claims(&params["id_token"]);
    // Seed 001's claim names, minus instance and the MDM ones (not configured here).
    let expected: BTreeSet<String> = [
        "upn",
        "amr",
        "tid",
        "sid",
        "nbf",
        "ver",
        "family_name",
        "sub",
        "onprem_sid",
        "oid",
        "exp",
        "given_name",
        "iat",
        "iss",
        "aud",
        "name",
        "unique_name",
        "tenant_display_name",
        "primary_sid",
        "nonce",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys_of(&claims), expected);
    assert_eq!(claims["nonce"], "nonce-42");
    assert_eq!(claims["aud"], cxh_wire::consts::DRS_CLIENT_ID);
    assert_eq!(
        claims["iss"],
        format!("https://sts.windows.net/{TENANT_ID}/")
    );
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["upn"], MEGAN);
    assert_eq!(claims["tenant_display_name"], "Contoso");
    assert_eq!(
        claims["onprem_sid"],
        "S-1-5-21-1515794938-1370939529-2107639213-1112"
    );
    assert_eq!(claims["amr"], json!(["pwd"]));
    let oid = uuid::Uuid::parse_str(claims["oid"].as_str().unwrap()).unwrap();
    assert_eq!(claims["sid"], tenant_emulator::tokens::cloud_sid(&oid));
    assert!(claims["sid"].as_str().unwrap().starts_with("S-1-12-1-"));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );

    // The context is single use.
    let again = login(&emu.router, &ctx, MEGAN, MEGAN_PASSWORD).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.text().contains("AADSTS50058"));
}

#[tokio::test]
async fn wrong_password_redirects_with_aadsts50126_and_the_context_stays_usable() {
    let emu = emulator();
    let ctx = authorize(&emu.router, "n").await;
    let reply = login(&emu.router, &ctx, ADELE, "wrong").await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let location = url::Url::parse(&reply.location()).unwrap();
    assert_eq!(location.path(), "/WebApp/CloudDomainJoin/4");
    let params = params_of(location.query().unwrap());
    assert_eq!(params["sCtx"], ctx);
    assert_eq!(params["login_hint"], ADELE);
    assert_eq!(params["error"], "invalid_grant");
    assert!(
        params["error_description"].starts_with("AADSTS50126:"),
        "{}",
        params["error_description"]
    );
    assert!(location.fragment().is_none());

    let unknown = login(&emu.router, &ctx, "nobody@contoso.com", "x").await;
    let params = params_of(
        url::Url::parse(&unknown.location())
            .unwrap()
            .query()
            .unwrap(),
    );
    assert!(params["error_description"].starts_with("AADSTS50034:"));

    let retry = login(&emu.router, &ctx, ADELE, ADELE_PASSWORD).await;
    assert!(
        retry.location().contains("#id_token="),
        "{}",
        retry.location()
    );
}

#[tokio::test]
async fn ten_wrong_passwords_kill_the_context() {
    let emu = emulator();
    let ctx = authorize(&emu.router, "n").await;
    for _ in 0..10 {
        assert_eq!(
            login(&emu.router, &ctx, ADELE, "wrong").await.status,
            StatusCode::FOUND
        );
    }
    let after = login(&emu.router, &ctx, ADELE, ADELE_PASSWORD).await;
    assert_eq!(after.status, StatusCode::BAD_REQUEST);
    let unknown = login(&emu.router, "no-such-context", ADELE, ADELE_PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn password_grant_issues_a_drs_access_token() {
    let emu = emulator();
    let drs = cxh_wire::consts::DRS_CLIENT_ID;
    let resource = cxh_wire::consts::DRS_RESOURCE_ID;
    let fields = [
        ("grant_type", "password"),
        ("client_id", drs),
        ("username", ADELE),
        ("password", ADELE_PASSWORD),
        ("resource", resource),
    ];
    let reply = post_form(&emu.router, &format!("/{TENANT_ID}/oauth2/token"), &fields).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body: cxh_wire::oidc::TokenResponse = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body.token_type, "Bearer");
    assert_eq!(body.resource, resource);
    assert!(body.refresh_token.is_some() && body.id_token.is_some());
    let claims = jwt_claims(&body.access_token);
    assert_eq!(claims["aud"], resource);
    assert_eq!(claims["appid"], drs);
    assert_eq!(claims["scp"], "user_impersonation");
    assert_eq!(claims["oid"], ADELE_OID);

    let mut wrong = fields;
    wrong[3] = ("password", "nope");
    let reply = post_form(&emu.router, "/common/oauth2/token", &wrong).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "invalid_grant");
    assert_eq!(reply.json()["error_codes"], json!([50126]));
}

#[tokio::test]
async fn password_grant_of_a_user_with_a_second_factor_is_aadsts50076() {
    // lee.gu has a TOTP factor: ROPC cannot prove it, so no token (as ESTS answers ROPC).
    let emu = emulator();
    let fields = [
        ("grant_type", "password"),
        ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
        ("username", "lee.gu@contoso.com"),
        ("password", "Lee-Secure-9"),
        ("resource", cxh_wire::consts::DRS_RESOURCE_ID),
    ];
    let reply = post_form(&emu.router, "/common/oauth2/token", &fields).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_codes"], json!([50076]));
    assert!(body.get("access_token").is_none());
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("you must use multi-factor authentication"),
        "{description}"
    );
    // A wrong password is still a wrong password (no hint that MFA would follow).
    let mut wrong = fields;
    wrong[3] = ("password", "nope");
    let reply = post_form(&emu.router, "/common/oauth2/token", &wrong).await;
    assert_eq!(reply.json()["error_codes"], json!([50126]));
}

/// Form fields, path, expected `error` and AADSTS code.
type TokenErrorCase<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, u32);

#[tokio::test]
async fn token_endpoint_errors_are_aadsts_json() {
    let emu = emulator();
    let drs = cxh_wire::consts::DRS_CLIENT_ID;
    let cases: [TokenErrorCase; 4] = [
        (
            &[("grant_type", "client_credentials"), ("client_id", drs)],
            "/common/oauth2/token",
            "unsupported_grant_type",
            70003,
        ),
        (
            &[("client_id", drs)],
            "/common/oauth2/token",
            "invalid_request",
            900144,
        ),
        (
            &[("grant_type", "password"), ("client_id", "nope")],
            "/common/oauth2/token",
            "invalid_client",
            700016,
        ),
        (
            &[("grant_type", "password"), ("client_id", drs)],
            "/fabrikam.com/oauth2/token",
            "invalid_request",
            90002,
        ),
    ];
    for (fields, uri, error, code) in cases {
        let reply = post_form(&emu.router, uri, fields).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri} {fields:?}");
        let body = reply.json();
        assert_eq!(body["error"], error);
        assert_eq!(body["error_codes"], json!([code]));
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}:")));
    }
}

#[tokio::test]
async fn authorization_code_flow_redeems_once() {
    let emu = emulator();
    let mdm = cxh_wire::consts::MDM_CLIENT_ID;
    let redirect = join_web_app();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", mdm),
            ("redirect_uri", &redirect),
            ("response_type", "code"),
            ("state", "s2"),
        ])
        .finish();
    let reply = get(&emu.router, &format!("/common/oauth2/authorize?{query}")).await;
    let ctx =
        params_of(url::Url::parse(&reply.location()).unwrap().query().unwrap())["sCtx"].clone();
    let reply = login(&emu.router, &ctx, ADELE, ADELE_PASSWORD).await;
    let location = url::Url::parse(&reply.location()).unwrap();
    let params = params_of(location.query().unwrap());
    assert_eq!(params["state"], "s2");
    let code = params["code"].clone();

    let fields = [
        ("grant_type", "authorization_code"),
        ("client_id", mdm),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("resource", "https://enrollment.manage.microsoft.com/"),
    ];
    let first = post_form(&emu.router, "/common/oauth2/token", &fields).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(
        jwt_claims(first.json()["access_token"].as_str().unwrap())["appid"],
        mdm
    );
    let second = post_form(&emu.router, "/common/oauth2/token", &fields).await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.json()["error_codes"], json!([70008]));
}

/// Authorize as a client other than the join web app: the answer is the server's own form.
async fn authorize_out_of_band(emu: &Emulator) -> Reply {
    let drs = cxh_wire::consts::DRS_CLIENT_ID;
    get(
        &emu.router,
        &format!("/common/oauth2/authorize?client_id={drs}&response_type=id_token&nonce=n&redirect_uri=urn:ietf:wg:oauth:2.0:oob"),
    )
    .await
}

#[tokio::test]
async fn non_join_redirects_get_a_server_sign_in_form() {
    let emu = emulator();
    let reply = authorize_out_of_band(&emu).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    let page = reply.text();
    assert!(
        page.contains("action=\"/common/login") && page.contains("name=\"ctx\""),
        "{page}"
    );
}

#[tokio::test]
async fn the_server_sign_in_form_refuses_a_user_whose_second_factor_it_cannot_ask() {
    // The server-rendered form (any client but the join web app) has no code prompt: a user
    // with a second factor must not get a token from it with the password alone.
    let emu = emulator();
    let page = authorize_out_of_band(&emu).await.text();
    let ctx = page
        .split("name=\"ctx\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries its login context")
        .to_string();
    let reply = login(&emu.router, &ctx, "lee.gu@contoso.com", "Lee-Secure-9").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert!(reply.headers.get(header::LOCATION).is_none());
    assert!(reply.text().contains("AADSTS50076"), "{}", reply.text());
}
