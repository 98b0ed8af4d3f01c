//! A non-interactive client against the emulated cloud, doing what MSAL's username/password
//! flow does for a federated user: user realm `api-version=1.0` -> the STS's MEX document ->
//! the WS-Trust 1.3 `usernamemixed` endpoint it names -> the `saml1_1-bearer` grant at the
//! authority's token endpoint -> an access token. Plus the refusals along the way.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine;
use common::*;
use roxmltree::{Document, Node};
use tenant_emulator::config::Config;
use tenant_emulator::wstrust::*;

const STS_URL: &str = "https://adfs.fabrikam.test";
const DIEGO: &str = "diego.siciliani@fabrikam-corp.com";
const DIEGO_PASSWORD: &str = "Diego-Fed-11";
const ISAIAH: &str = "isaiah.langer@fabrikam-corp.com";
const DRS_RESOURCE: &str = "urn:ms-drs:enterpriseregistration.windows.net";

struct Cloud {
    emu: Emulator,
    sts: Router,
}

fn cloud() -> Cloud {
    let file = tenant_file();
    let config = Config::new(PUBLIC_URL)
        .with_extra_clients(&file.clients)
        .with_sts_url("fabrikam", STS_URL);
    let emu = emulator_with_config(&file, config);
    let sts = tenant_emulator::sts::router(emu.state.clone(), "fabrikam");
    Cloud { emu, sts }
}

fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A SOAP 1.2 WS-Trust 1.3 RST with a UsernameToken, as MSAL builds it.
fn rst(endpoint: &str, username: &str, password: &str, applies_to: &str) -> String {
    let message_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    format!(
        "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:wsa=\"{WSA_NS}\" xmlns:wsu=\"{WSU_NS}\">\
<s:Header><wsa:Action s:mustUnderstand=\"1\">{RST_ISSUE_13}</wsa:Action>\
<wsa:MessageID>{message_id}</wsa:MessageID>\
<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>\
<wsa:To s:mustUnderstand=\"1\">{endpoint}</wsa:To>\
<wsse:Security s:mustUnderstand=\"1\" xmlns:wsse=\"{WSSE_NS}\">\
<wsu:Timestamp wsu:Id=\"MSATimeStamp\"><wsu:Created>{created}</wsu:Created><wsu:Expires>{expires}</wsu:Expires></wsu:Timestamp>\
<wsse:UsernameToken wsu:Id=\"UnPwSecTok13-{message_id}\"><wsse:Username>{username}</wsse:Username>\
<wsse:Password Type=\"{PASSWORD_TEXT}\">{password}</wsse:Password></wsse:UsernameToken></wsse:Security></s:Header>\
<s:Body><wst:RequestSecurityToken xmlns:wst=\"{WST13_NS}\"><wsp:AppliesTo xmlns:wsp=\"{WSP_NS}\">\
<wsa:EndpointReference><wsa:Address>{applies_to}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>\
<wst:KeyType>{KEY_TYPE_BEARER_13}</wst:KeyType><wst:RequestType>{REQUEST_TYPE_ISSUE_13}</wst:RequestType>\
</wst:RequestSecurityToken></s:Body></s:Envelope>",
        created = fmt(now),
        expires = fmt(now + time::Duration::minutes(10)),
        endpoint = escape(endpoint),
        username = escape(username),
        password = escape(password),
        applies_to = escape(applies_to),
    )
}

async fn post_soap(router: &Router, path: &str, body: String) -> Reply {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/soap+xml; charset=utf-8")
        .body(Body::from(body))
        .unwrap();
    send(router, request).await
}

fn path_of(url: &str) -> &str {
    url.strip_prefix(STS_URL).expect("an STS URL")
}

/// The assertion inside `RequestedSecurityToken`, byte for byte as the STS sent it.
fn assertion_of(rstr: &str) -> String {
    let doc = Document::parse(rstr).expect("RSTR is XML");
    let requested = doc
        .descendants()
        .find(|n| is(n, WST13_NS, "RequestedSecurityToken"))
        .expect("RequestedSecurityToken");
    let token_type = doc
        .descendants()
        .find(|n| is(n, WST13_NS, "TokenType"))
        .and_then(|n| n.text());
    assert_eq!(token_type, Some(SAML11_TOKEN_TYPE));
    let assertion = requested
        .children()
        .find(|n| n.is_element())
        .expect("an assertion");
    assert_eq!(assertion.tag_name().name(), "Assertion");
    rstr[assertion.range()].to_string()
}

/// `(subcode local name, reason)` of a SOAP 1.2 fault.
fn fault_of(body: &str) -> (String, String) {
    let doc = Document::parse(body).expect("fault is XML");
    let fault = doc
        .descendants()
        .find(|n| is(n, SOAP12_NS, "Fault"))
        .expect("a SOAP Fault");
    let subcode = fault
        .descendants()
        .filter(|n| is(n, SOAP12_NS, "Value"))
        .nth(1)
        .and_then(|n| n.text())
        .unwrap_or_default();
    let reason = fault
        .descendants()
        .find(|n| is(n, SOAP12_NS, "Text"))
        .and_then(|n| n.text())
        .unwrap_or_default();
    (
        subcode.rsplit(':').next().unwrap_or_default().to_string(),
        reason.to_string(),
    )
}

async fn saml_grant(emu: &Emulator, assertion: &str) -> Reply {
    let encoded = base64::engine::general_purpose::STANDARD.encode(assertion);
    post_form(
        &emu.router,
        "/common/oauth2/token",
        &[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
            ),
            ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
            ("resource", DRS_RESOURCE),
            ("assertion", &encoded),
            ("scope", "openid"),
        ],
    )
    .await
}

/// Realm 1.0 -> MEX -> usernamemixed endpoint URL.
async fn discover(cloud: &Cloud, upn: &str) -> String {
    let realm = get(
        &cloud.emu.router,
        &format!("/common/userrealm/?user={upn}&api-version=1.0"),
    )
    .await;
    assert_eq!(realm.status, StatusCode::OK);
    let realm: cxh_wire::realm::UserRealmV1 = serde_json::from_slice(&realm.body).unwrap();
    assert_eq!(realm.account_type, cxh_wire::realm::AccountType::Federated);
    assert_eq!(
        realm.cloud_audience_urn.as_deref(),
        Some("urn:federation:MicrosoftOnline")
    );
    let mex_url = realm
        .federation_metadata_url
        .expect("federation_metadata_url");
    let mex = get(&cloud.sts, path_of(&mex_url)).await;
    assert_eq!(mex.status, StatusCode::OK);
    assert!(mex.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/xml"));
    assert_eq!(
        common::mex::plain_http_addresses(&mex.text()),
        Vec::<String>::new(),
        "the MEX lists no http endpoint"
    );
    let endpoint =
        common::mex::usernamemixed_endpoint(&mex.text()).expect("an https usernamemixed endpoint");
    assert_eq!(
        Some(endpoint.clone()),
        realm.federation_active_auth_url,
        "MEX and realm agree"
    );
    endpoint
}

/// Send the username/password RST for Microsoft Online to the STS endpoint found through MEX.
async fn ask_sts(cloud: &Cloud, endpoint: &str, user: &str, password: &str) -> Reply {
    post_soap(
        &cloud.sts,
        path_of(endpoint),
        rst(endpoint, user, password, "urn:federation:MicrosoftOnline"),
    )
    .await
}

#[tokio::test]
async fn like_msal_realm_mex_usernamemixed_and_saml_grant_give_an_access_token() {
    let cloud = cloud();
    let endpoint = discover(&cloud, DIEGO).await;
    assert_eq!(
        endpoint,
        format!("{STS_URL}/adfs/services/trust/13/usernamemixed")
    );
    let reply = ask_sts(&cloud, &endpoint, DIEGO, DIEGO_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(!reply.text().contains(DIEGO_PASSWORD));
    let assertion = assertion_of(&reply.text());
    let tokens = saml_grant(&cloud.emu, &assertion).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let access = jwt_claims(tokens.json()["access_token"].as_str().unwrap());
    assert_eq!(access["upn"], DIEGO);
    assert_eq!(access["aud"], DRS_RESOURCE);
    assert_eq!(access["tid"], TENANT_ID);
}

#[tokio::test]
async fn a_wrong_password_is_a_failed_authentication_fault() {
    let cloud = cloud();
    let endpoint = discover(&cloud, DIEGO).await;
    let reply = ask_sts(&cloud, &endpoint, DIEGO, "Diego-Fed-12").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let (subcode, reason) = fault_of(&reply.text());
    assert_eq!(subcode, "FailedAuthentication");
    assert!(reason.starts_with("ID3242"), "{reason}");
    assert!(!reply.text().contains("Assertion"));
}

#[tokio::test]
async fn another_relying_party_and_a_user_needing_a_second_factor_get_faults() {
    let cloud = cloud();
    let endpoint = discover(&cloud, DIEGO).await;
    let other = post_soap(
        &cloud.sts,
        path_of(&endpoint),
        rst(&endpoint, DIEGO, DIEGO_PASSWORD, "urn:other:relyingparty"),
    )
    .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    assert_eq!(fault_of(&other.text()).0, "InvalidRequest");
    let mfa = ask_sts(&cloud, &endpoint, ISAIAH, "Isaiah-Fed-23").await;
    assert_eq!(mfa.status, StatusCode::BAD_REQUEST);
    let (subcode, reason) = fault_of(&mfa.text());
    assert_eq!(subcode, "FailedAuthentication");
    assert!(reason.contains("Additional authentication"), "{reason}");
}

#[tokio::test]
async fn saml_grant_without_the_authority_second_factor_is_aadsts50076() {
    // pradeep.gupta proves only a password at the STS; Entra wants its own TOTP factor.
    let cloud = cloud();
    let upn = "pradeep.gupta@fabrikam-corp.com";
    let endpoint = discover(&cloud, upn).await;
    let reply = ask_sts(&cloud, &endpoint, upn, "Pradeep-Fed-31").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let tokens = saml_grant(&cloud.emu, &assertion_of(&reply.text())).await;
    assert_eq!(tokens.status, StatusCode::BAD_REQUEST, "{}", tokens.text());
    assert_eq!(tokens.json()["error"], "invalid_grant");
    assert_eq!(tokens.json()["error_codes"][0], 50076);
    assert!(tokens.json().get("access_token").is_none());
}

#[tokio::test]
async fn a_tampered_ws_trust_assertion_is_refused_by_the_authority() {
    let cloud = cloud();
    let endpoint = discover(&cloud, DIEGO).await;
    let reply = ask_sts(&cloud, &endpoint, DIEGO, DIEGO_PASSWORD).await;
    let assertion = assertion_of(&reply.text()).replace(DIEGO, ISAIAH);
    let tokens = saml_grant(&cloud.emu, &assertion).await;
    assert_eq!(tokens.status, StatusCode::BAD_REQUEST);
    assert_eq!(tokens.json()["error"], "invalid_grant");
    assert_eq!(tokens.json()["error_codes"][0], 50008);
}

#[tokio::test]
async fn realm_1_0_of_managed_and_unknown_domains_has_no_federation_endpoints() {
    let cloud = cloud();
    let managed = get(
        &cloud.emu.router,
        &format!("/common/userrealm/?user={ADELE}&api-version=1.0"),
    )
    .await
    .json();
    assert_eq!(managed["ver"], "1.0");
    assert_eq!(managed["account_type"], "Managed");
    assert_eq!(managed["domain_name"], "contoso.com");
    assert!(managed.get("federation_metadata_url").is_none());
    let unknown = get(
        &cloud.emu.router,
        "/common/userrealm/?user=someone@nowhere.test&api-version=1.0",
    )
    .await
    .json();
    assert_eq!(unknown["account_type"], "Unknown");
    assert!(unknown.get("domain_name").is_none());
    // The join web app's 2.1 shape is unchanged.
    let v2 = get(
        &cloud.emu.router,
        &format!("/common/userrealm/?user={DIEGO}&api-version=2.1"),
    )
    .await
    .json();
    assert_eq!(v2["NameSpaceType"], "Federated");
}
