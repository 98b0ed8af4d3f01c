//! Shared fixtures of the integration tests: an in-process emulator on a temp database,
//! request helpers, the sign-in dance, and test keys generated once per test binary.
//!
//! RSA key generation dominates test time, so the authority key and the tenant CA live in a
//! template database created once and copied for every test.

#![allow(dead_code)]

pub mod mex;
pub mod prt_client;
pub mod tls;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::BodyExt;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tenant_emulator::config::Config;
use tenant_emulator::tenant_file::TenantFile;
use tenant_emulator::AppState;
use tower::ServiceExt;

pub const PUBLIC_URL: &str = "http://emulator.test";
pub const TENANT_ID: &str = "6d1f4c2a-8b3e-4f5a-9c7d-2e1b0a9f8c31";
pub const ADELE: &str = "adele.vance@contoso.com";
pub const ADELE_PASSWORD: &str = "Correct-Horse-42";
pub const ADELE_OID: &str = "3b0c6f62-1f1d-4d7a-8a55-5a2f2b8c9e01";
pub const MEGAN: &str = "megan.bowen@contoso.com";
pub const MEGAN_PASSWORD: &str = "Megan-Pass-7";

pub fn tenant_file_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/contoso.toml")
}

pub fn tenant_file() -> TenantFile {
    TenantFile::load(&tenant_file_path()).expect("contoso.toml")
}

pub fn join_web_app() -> String {
    format!("{PUBLIC_URL}/WebApp/CloudDomainJoin/4")
}

fn template_db() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("template.sqlite");
        {
            let state = AppState::open(&path, &tenant_file(), Config::new(PUBLIC_URL))
                .expect("open template");
            tenant_emulator::ca::tenant_ca(&state.db(), TENANT_ID).expect("tenant CA");
        }
        (dir, path)
    });
    path
}

/// One emulator with its own database (a copy of the template).
pub struct Emulator {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub router: Router,
}

pub fn emulator() -> Emulator {
    emulator_with(&tenant_file())
}

/// An emulator as the e2e stack starts it: the tenant file's clients and `--test-hooks`.
pub fn emulator_with(file: &TenantFile) -> Emulator {
    emulator_with_config(
        file,
        Config::new(PUBLIC_URL)
            .with_extra_clients(&file.clients)
            .with_test_hooks(true),
    )
}

/// An emulator with a caller-built configuration (e.g. STS listener URLs).
pub fn emulator_with_config(file: &TenantFile, config: Config) -> Emulator {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("emulator.sqlite");
    std::fs::copy(template_db(), &path).expect("copy template db");
    let state = AppState::open(&path, file, config).expect("open emulator");
    let router = tenant_emulator::app(state.clone());
    Emulator { dir, state, router }
}

/// A response, fully read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location; status {} body {}", self.status, self.text()))
            .to_string()
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(router: &Router, uri: &str) -> Reply {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn post_form(router: &Router, uri: &str, fields: &[(&str, &str)]) -> Reply {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    send(router, request).await
}

/// Query (or fragment) parameters of a redirect target.
pub fn params_of(encoded: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}

/// The join web app's authorize request (seed 001) for a nonce; returns the `sCtx`.
pub async fn authorize(router: &Router, nonce: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", cxh_wire::consts::DRS_CLIENT_ID),
            ("msafed", "0"),
            ("nonce", nonce),
            ("prompt", "login"),
            ("redirect_uri", &join_web_app()),
            ("response_type", "id_token"),
            ("scope", "openid sid"),
            ("uxoptin", "true"),
            ("windows_api_version", "2.0"),
            ("state", "st-1"),
        ])
        .finish();
    let reply = get(router, &format!("/common/oauth2/authorize?{query}")).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
    let location = url::Url::parse(&reply.location()).expect("absolute Location");
    params_of(location.query().unwrap_or(""))["sCtx"].clone()
}

pub async fn login(router: &Router, ctx: &str, upn: &str, password: &str) -> Reply {
    post_form(
        router,
        "/common/login?cxhflow=MOSET&cxhver=1.0&cxhplatform=Desktop",
        &[("ctx", ctx), ("login", upn), ("passwd", password)],
    )
    .await
}

/// Sign in through authorize + login; returns the id_token from the redirect fragment.
pub async fn sign_in(router: &Router, upn: &str, password: &str, nonce: &str) -> String {
    let ctx = authorize(router, nonce).await;
    let reply = login(router, &ctx, upn, password).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
    let location = reply.location();
    let (_, fragment) = location.split_once('#').expect("fragment");
    params_of(fragment)["id_token"].clone()
}

/// Decode a JWT's payload without checking it (tests check signatures separately).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

/// RSA-2048 keys made once per test binary: device key, transport key, a foreign key.
pub fn device_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap())
}

pub fn transport_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap())
}

pub fn foreign_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap())
}

/// DER of a PKCS#10 request with subject `CN=<cn>` signed by `key`.
pub fn csr_der(key: &RsaPrivateKey, cn: &str) -> Vec<u8> {
    use der::Encode;
    use std::str::FromStr;
    use x509_cert::builder::{Builder, RequestBuilder};
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let subject = x509_cert::name::Name::from_str(&format!("CN={cn}")).unwrap();
    let request = RequestBuilder::new(subject, &signer)
        .unwrap()
        .build::<rsa::pkcs1v15::Signature>()
        .unwrap();
    request.to_der().unwrap()
}

pub fn transport_key_blob() -> String {
    let public = transport_key().to_public_key();
    STANDARD.encode(cxh_wire::transport_key::encode(
        &public.e().to_bytes_be(),
        &public.n().to_bytes_be(),
    ))
}

/// A registration request as Windows sends it (wire-facts.md §8).
pub fn registration_body(
    csr_b64: &str,
    transport_key_b64: &str,
    join_type: u32,
) -> serde_json::Value {
    serde_json::json!({
        "CertificateRequest": {"Type": "pkcs10", "Data": csr_b64},
        "TransportKey": transport_key_b64,
        "TargetDomain": "contoso.com",
        "DeviceType": "Windows",
        "OSVersion": "10.0.19041.928",
        "DeviceDisplayName": "DESKTOP-TEST01",
        "JoinType": join_type,
        "Attributes": {"ReuseDevice": "true", "ReturnClientSid": "true", "SharedDevice": "false"}
    })
}

pub fn good_registration_body() -> serde_json::Value {
    let csr = STANDARD.encode(csr_der(device_key(), cxh_wire::consts::CSR_SUBJECT_CN));
    registration_body(&csr, &transport_key_blob(), 0)
}

pub async fn register(
    router: &Router,
    bearer: Option<&str>,
    uri: &str,
    body: &serde_json::Value,
) -> Reply {
    let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    send(router, request.body(Body::from(body.to_string())).unwrap()).await
}

pub const REGISTER_URI: &str = "/EnrollmentServer/device/?api-version=2.0";
