//! The emulated AD FS over HTTPS, against the binary (issue 10: served over plain http, its
//! MEX listed only http endpoints, which client libraries drop, and then they failed).
//!
//! A client that keeps only the https endpoints of the MEX (as MSAL and ADAL do) finds
//! `usernamemixed` through the user realm, gets an assertion over TLS trusting the CA of the
//! emulator's ready file, and redeems it at the authority; the MEX lists no http endpoint; the
//! STS answers no plain http; and a client trusting another CA of the same name is refused.

mod common;

use base64::Engine;
use common::tls;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tenant_emulator::wstrust::*;

const DIEGO: &str = "diego.siciliani@fabrikam-corp.com";
const DIEGO_PASSWORD: &str = "Diego-Fed-11";

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Emulator {
    _running: Running,
    /// host:port of the authority (plain http on loopback).
    authority: String,
    /// The fabrikam STS's base URL.
    sts_url: String,
    ca_file: String,
}

fn start(dir: &Path) -> Emulator {
    let ready = dir.join("ready.json");
    let tenants = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/contoso.toml");
    let child = Command::new(env!("CARGO_BIN_EXE_tenant-emulator"))
        .arg("--tenants")
        .arg(&tenants)
        .arg("--db")
        .arg(dir.join("emulator.sqlite"))
        .arg("--tls-dir")
        .arg(dir.join("tls"))
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    let text = loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            break text;
        }
        assert!(Instant::now() < deadline, "no ready file");
        std::thread::sleep(Duration::from_millis(100));
    };
    let ready: serde_json::Value = serde_json::from_str(&text).unwrap();
    Emulator {
        _running: running,
        authority: ready["http_url"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://")
            .to_string(),
        sts_url: ready["sts_urls"]["fabrikam"].as_str().unwrap().to_string(),
        ca_file: ready["ca_file"].as_str().unwrap().to_string(),
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split('/').next().unwrap()
}

fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    &rest[rest.find('/').unwrap_or(rest.len())..]
}

fn http_get(authority: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(tls::READ_TIMEOUT)).unwrap();
    tls::request(&mut stream, "GET", authority, path, "text/plain", b"").unwrap()
}

/// GET or POST over TLS trusting exactly the emulator's CA.
fn https(emu: &Emulator, method: &str, url: &str, content_type: &str, body: &[u8]) -> String {
    let config = tls::client_config(&[tls::pem_file_der(Path::new(&emu.ca_file))]);
    let mut stream = tls::connect(host_of(url), &config);
    tls::request(
        &mut *stream,
        method,
        host_of(url),
        path_of(url),
        content_type,
        body,
    )
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn rst(endpoint: &str, username: &str, password: &str) -> String {
    format!(
        "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:wsa=\"{WSA_NS}\" xmlns:wsu=\"{WSU_NS}\">\
<s:Header><wsa:Action s:mustUnderstand=\"1\">{RST_ISSUE_13}</wsa:Action>\
<wsa:MessageID>urn:uuid:{id}</wsa:MessageID><wsa:To s:mustUnderstand=\"1\">{to}</wsa:To>\
<wsse:Security s:mustUnderstand=\"1\" xmlns:wsse=\"{WSSE_NS}\"><wsse:UsernameToken>\
<wsse:Username>{user}</wsse:Username><wsse:Password Type=\"{PASSWORD_TEXT}\">{password}</wsse:Password>\
</wsse:UsernameToken></wsse:Security></s:Header>\
<s:Body><wst:RequestSecurityToken xmlns:wst=\"{WST13_NS}\"><wsp:AppliesTo xmlns:wsp=\"{WSP_NS}\">\
<wsa:EndpointReference><wsa:Address>urn:federation:MicrosoftOnline</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>\
<wst:KeyType>{KEY_TYPE_BEARER_13}</wst:KeyType><wst:RequestType>{REQUEST_TYPE_ISSUE_13}</wst:RequestType>\
</wst:RequestSecurityToken></s:Body></s:Envelope>",
        id = uuid::Uuid::new_v4(),
        to = escape(endpoint),
        user = escape(username),
        password = escape(password),
    )
}

fn json_body(response: &str) -> serde_json::Value {
    serde_json::from_str(tls::body_of(response))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
}

#[test]
fn an_https_only_client_finds_usernamemixed_through_the_mex_and_gets_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    assert!(
        emu.sts_url.starts_with("https://127.0.0.1:"),
        "{}",
        emu.sts_url
    );

    // The realm names the STS by its https origin, for active clients (1.0) and for the
    // join web app's redirect to the passive sign-in (2.1).
    let realm = json_body(&http_get(
        &emu.authority,
        &format!("/common/userrealm/?user={DIEGO}&api-version=1.0"),
    ));
    let mex_url = realm["federation_metadata_url"].as_str().unwrap();
    assert_eq!(mex_url, format!("{}{MEX_PATH}", emu.sts_url));
    let active = realm["federation_active_auth_url"].as_str().unwrap();
    let passive = json_body(&http_get(
        &emu.authority,
        &format!("/common/userrealm/?user={DIEGO}&api-version=2.1"),
    ));
    let auth_url = passive["AuthURL"].as_str().unwrap();
    assert!(
        auth_url.starts_with(&format!("{}/adfs/ls/?", emu.sts_url)),
        "{auth_url}"
    );

    let mex = https(&emu, "GET", mex_url, "text/plain", b"");
    assert!(mex.starts_with("HTTP/1.1 200"), "{mex}");
    let mex = tls::body_of(&mex);
    assert_eq!(
        common::mex::plain_http_addresses(mex),
        Vec::<String>::new(),
        "the MEX lists an http endpoint"
    );
    let endpoint = common::mex::usernamemixed_endpoint(mex).expect("an https usernamemixed");
    assert_eq!(endpoint, active, "the MEX and the realm agree");
    assert_eq!(endpoint, format!("{}{USERNAMEMIXED_13_PATH}", emu.sts_url));

    let rstr = https(
        &emu,
        "POST",
        &endpoint,
        "application/soap+xml; charset=utf-8",
        rst(&endpoint, DIEGO, DIEGO_PASSWORD).as_bytes(),
    );
    assert!(rstr.starts_with("HTTP/1.1 200"), "{rstr}");
    let rstr = tls::body_of(&rstr);
    let doc = roxmltree::Document::parse(rstr).unwrap();
    let assertion = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Assertion")
        .expect("an assertion");
    let assertion = &rstr[assertion.range()];

    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:saml1_1-bearer",
            ),
            ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
            ("resource", "urn:ms-drs:enterpriseregistration.windows.net"),
            (
                "assertion",
                &base64::engine::general_purpose::STANDARD.encode(assertion),
            ),
        ])
        .finish();
    let mut stream = std::net::TcpStream::connect(&emu.authority).unwrap();
    stream.set_read_timeout(Some(tls::READ_TIMEOUT)).unwrap();
    let tokens = tls::request(
        &mut stream,
        "POST",
        &emu.authority,
        "/common/oauth2/token",
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    )
    .unwrap();
    assert!(tokens.starts_with("HTTP/1.1 200"), "{tokens}");
    let access = json_body(&tokens)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let claims = common::jwt_claims(&access);
    assert_eq!(claims["upn"], DIEGO);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "fed"]));
}

#[test]
fn the_sts_answers_no_plain_http_and_refuses_a_client_trusting_another_ca() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    let host = host_of(&emu.sts_url).to_string();

    // Plain http to the STS's port gets no HTTP answer (the TLS handshake fails).
    let mut plain = std::net::TcpStream::connect(&host).unwrap();
    plain.set_read_timeout(Some(tls::READ_TIMEOUT)).unwrap();
    let answer = tls::request(&mut plain, "GET", &host, MEX_PATH, "text/plain", b"");
    assert!(
        !answer.as_deref().unwrap_or("").starts_with("HTTP/"),
        "{answer:?}"
    );

    // An impostor CA with the emulator CA's very name, but its own key: not trusted.
    let key = tenant_emulator::ca::generate_rsa_key().unwrap();
    let impostor =
        tenant_emulator::ca::self_signed(&key, "CN=cxh-join tenant emulator TLS CA,O=cxh-join")
            .unwrap();
    let config = tls::client_config(&[der::Encode::to_der(&impostor).unwrap()]);
    let mut stream = tls::connect(&host, &config);
    let refused = tls::request(&mut *stream, "GET", &host, MEX_PATH, "text/plain", b"")
        .expect_err("a certificate from another CA was accepted");
    assert!(
        refused.to_string().contains("certificate"),
        "not a certificate error: {refused}"
    );

    // The same request trusting the emulator's CA is answered.
    let mex = https(
        &emu,
        "GET",
        &format!("{}{MEX_PATH}", emu.sts_url),
        "text/plain",
        b"",
    );
    assert!(mex.starts_with("HTTP/1.1 200"), "{mex}");
}

#[test]
fn a_tenant_file_with_an_sts_needs_a_tls_dir() {
    let dir = tempfile::tempdir().unwrap();
    let tenants = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/contoso.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_tenant-emulator"))
        .arg("--tenants")
        .arg(&tenants)
        .arg("--db")
        .arg(dir.path().join("emulator.sqlite"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("served over HTTPS") && stderr.contains("--tls-dir"),
        "{stderr}"
    );
}
