//! The emulator as widely used client libraries see it (issue 10): the user realm by path
//! (MSAL, ADAL), the v2 endpoint's metadata and authorize request.

mod common;

use axum::http::StatusCode;
use common::*;

const ADELE: &str = "adele.vance@contoso.com";
const ADELE_PASSWORD: &str = "Correct-Horse-42";
const CONTOSO_ID: &str = "6d1f4c2a-8b3e-4f5a-9c7d-2e1b0a9f8c31";

#[tokio::test]
async fn user_realm_by_path_answers_like_the_query_form_in_any_casing() {
    let emu = emulator();
    let by_query = get(
        &emu.router,
        &format!("/common/userrealm/?user={ADELE}&api-version=1.0"),
    )
    .await
    .json();
    assert_eq!(by_query["account_type"], "Managed");
    for path in [
        "/common/UserRealm/",
        "/common/userrealm/",
        "/Common/USERREALM/",
        "/COMMON/userRealm/",
    ] {
        let reply = get(&emu.router, &format!("{path}{ADELE}?api-version=1.0")).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        assert_eq!(reply.json(), by_query, "{path}");
    }
    // A percent-encoded UPN (as MSAL sends it) is decoded.
    let encoded = get(
        &emu.router,
        "/common/UserRealm/adele.vance%40contoso.com?api-version=1.0",
    )
    .await;
    assert_eq!(encoded.json(), by_query);
    // 2.0 answers the 2.x shape.
    let v2 = get(
        &emu.router,
        &format!("/common/UserRealm/{ADELE}?api-version=2.0"),
    )
    .await;
    assert_eq!(v2.status, StatusCode::OK);
    assert_eq!(v2.json()["NameSpaceType"], "Managed");
    assert_eq!(v2.json()["Login"], ADELE);
    let v2_any_case = get(
        &emu.router,
        &format!("/common/USERrealm/{ADELE}?api-version=2.0"),
    )
    .await;
    assert_eq!(v2_any_case.json(), v2.json());
}

#[tokio::test]
async fn paths_that_are_not_the_user_realm_stay_404() {
    let emu = emulator();
    for path in [
        "/common/userrealmx/a@b.c",
        "/common/UserRealm/a@b.c/extra",
        "/Common/Unknown/a@b.c",
        "/nowhere",
    ] {
        assert_eq!(
            get(&emu.router, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn v2_metadata_for_tenant_id_domain_common_and_organizations() {
    let emu = emulator();
    for (segment, path, issuer) in [
        (
            CONTOSO_ID,
            CONTOSO_ID,
            format!("{PUBLIC_URL}/{CONTOSO_ID}/v2.0"),
        ),
        (
            "contoso.com",
            CONTOSO_ID,
            format!("{PUBLIC_URL}/{CONTOSO_ID}/v2.0"),
        ),
        (
            "common",
            "common",
            format!("{PUBLIC_URL}/{{tenantid}}/v2.0"),
        ),
        (
            "organizations",
            "organizations",
            format!("{PUBLIC_URL}/{{tenantid}}/v2.0"),
        ),
    ] {
        let reply = get(
            &emu.router,
            &format!("/{segment}/v2.0/.well-known/openid-configuration"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{segment}: {}", reply.text());
        let doc: cxh_wire::oidc::OpenIdConfigurationV2 =
            serde_json::from_slice(&reply.body).expect("v2 metadata");
        assert_eq!(doc.issuer, issuer, "{segment}");
        assert_eq!(
            doc.authorization_endpoint,
            format!("{PUBLIC_URL}/{path}/oauth2/v2.0/authorize")
        );
        assert_eq!(
            doc.token_endpoint,
            format!("{PUBLIC_URL}/{path}/oauth2/v2.0/token")
        );
        let jwks = get(&emu.router, url_path(&doc.jwks_uri)).await;
        assert_eq!(jwks.status, StatusCode::OK, "{}", doc.jwks_uri);
        assert!(jwks.json()["keys"][0]["kid"].is_string());
    }
    let unknown = get(
        &emu.router,
        "/unknown.example/v2.0/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unknown.text()
    );
}

fn url_path(url: &str) -> &str {
    url.strip_prefix(PUBLIC_URL).expect("on the public URL")
}

/// A v2 authorize request of the join web app's client, with `scope` and no `resource`.
fn v2_authorize_query(scope: &str, response_type: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
            ("nonce", "n-v2"),
            ("redirect_uri", &join_web_app()),
            ("response_type", response_type),
            ("scope", scope),
            ("state", "st-v2"),
        ])
        .finish()
}

#[tokio::test]
async fn v2_authorize_signs_in_with_scopes_and_issues_a_v2_id_token() {
    let emu = emulator();
    let query = v2_authorize_query("openid profile offline_access", "id_token");
    let reply = get(
        &emu.router,
        &format!("/organizations/oauth2/v2.0/authorize?{query}"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
    let location = url::Url::parse(&reply.location()).unwrap();
    let ctx = params_of(location.query().unwrap())["sCtx"].clone();
    let signed_in = login(&emu.router, &ctx, ADELE, ADELE_PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::FOUND, "{}", signed_in.text());
    let location = signed_in.location();
    let (_, fragment) = location.split_once('#').expect("fragment");
    let claims = jwt_claims(&params_of(fragment)["id_token"]);
    assert_eq!(claims["iss"], format!("{PUBLIC_URL}/{CONTOSO_ID}/v2.0"));
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["nonce"], "n-v2");
    // The v1 endpoint still issues v1 tokens.
    let v1 = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n-v1").await;
    assert_eq!(jwt_claims(&v1)["ver"], "1.0");
}

#[tokio::test]
async fn v2_authorize_maps_the_scope_to_the_resource_of_the_code() {
    let emu = emulator();
    let resource = "urn:ms-drs:enterpriseregistration.windows.net";
    let query = v2_authorize_query(&format!("openid {resource}/.default"), "code");
    let reply = get(
        &emu.router,
        &format!("/common/oauth2/v2.0/authorize?{query}"),
    )
    .await;
    let location = url::Url::parse(&reply.location()).unwrap();
    let ctx = params_of(location.query().unwrap())["sCtx"].clone();
    let signed_in = login(&emu.router, &ctx, ADELE, ADELE_PASSWORD).await;
    let location = url::Url::parse(&signed_in.location()).unwrap();
    let code = params_of(location.query().unwrap())["code"].clone();
    let token = post_form(
        &emu.router,
        "/common/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", &join_web_app()),
        ],
    )
    .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    let access = jwt_claims(token.json()["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], resource);
}

#[tokio::test]
async fn v2_authorize_refuses_resource_missing_scope_and_id_token_without_openid() {
    let emu = emulator();
    let with_resource = format!(
        "{}&resource=https%3A%2F%2Fgraph.microsoft.com",
        v2_authorize_query("openid", "id_token")
    );
    let missing_scope = v2_authorize_query("", "id_token");
    let no_openid = v2_authorize_query("https://graph.microsoft.com/User.Read", "id_token");
    for query in [with_resource, missing_scope, no_openid] {
        let reply = get(
            &emu.router,
            &format!("/common/oauth2/v2.0/authorize?{query}"),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text()
        );
        assert!(reply.text().contains("AADSTS"), "{}", reply.text());
    }
}

/// A registration body as a client that writes camelCase sends it.
fn camel_case_registration(return_client_sid: &str) -> serde_json::Value {
    let csr = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        csr_der(device_key(), cxh_wire::consts::CSR_SUBJECT_CN),
    );
    serde_json::json!({
        "certificateRequest": {"type": "pkcs10", "data": csr},
        "transportKey": transport_key_blob(),
        "targetDomain": "contoso.com",
        "deviceType": "Windows",
        "osVersion": "10.0.19041.928",
        "deviceDisplayName": "DESKTOP-CAMEL",
        "joinType": 0,
        "attributes": {"reuseDevice": "true", "returnClientSid": return_client_sid}
    })
}

#[tokio::test]
async fn drs_reads_member_names_in_any_casing_and_returns_membership_changes_when_asked() {
    let emu = emulator();
    let token = sign_in(&emu.router, ADELE, ADELE_PASSWORD, "n-drs").await;
    let asked = register(
        &emu.router,
        Some(&token),
        REGISTER_URI,
        &camel_case_registration("true"),
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text());
    let reply = asked.json();
    let changes = reply["MembershipChanges"]
        .as_array()
        .expect("MembershipChanges");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["LocalSID"], "S-1-5-32-544");
    let sid = changes[0]["AddSIDs"][0].as_str().unwrap();
    assert!(sid.starts_with("S-1-12-1-"), "{sid}");
    assert_eq!(reply["User"]["Upn"], ADELE);

    let not_asked = register(
        &emu.router,
        Some(&token),
        REGISTER_URI,
        &camel_case_registration("false"),
    )
    .await;
    assert_eq!(not_asked.status, StatusCode::OK, "{}", not_asked.text());
    assert!(not_asked.json().get("MembershipChanges").is_none());

    // One member in two casings is ambiguous: refused, and nothing is written.
    let mut twice = camel_case_registration("true");
    twice["JoinType"] = serde_json::json!(4);
    let refused = register(&emu.router, Some(&token), REGISTER_URI, &twice).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    let devices = get(&emu.router, "/_emulator/devices").await.json();
    assert_eq!(devices.as_array().unwrap().len(), 2);
}
