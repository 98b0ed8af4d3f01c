//! A small in-test stand-in for the authority and DRS: OpenID configuration, JWKS, password
//! grant, discovery, registration (issues a real certificate from a throwaway CA) and delete.
//! It follows the emulator's contract closely enough to drive the bridge's whole pipeline.
//!
//! The real emulator (e2e/tenant-emulator) is the reference and is exercised end to end by the
//! Playwright suite. This fake exists only for the faults the emulator cannot produce on demand
//! (a certificate for another key, a DRS that answers slowly, a record of every DELETE) and so
//! the cargo tests run without it. Wherever it answers what the emulator answers too, it uses
//! the emulator's wire: the same HTTP status and DRS `code` (see the emulator's
//! `DrsServiceError::parts`), so the bridge is never tested against errors it will not meet.

#![allow(dead_code)]

pub mod broker;
pub mod dbus;
pub mod emulator;
pub mod emulator_process;
pub mod prt;
pub mod swtpm;

use std::str::FromStr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use cxh_wire::consts::{issuer_for, DRS_CLIENT_ID, DRS_RESOURCE_ID};
use cxh_wire::discovery::*;
use cxh_wire::oidc::{
    AccessTokenClaims, IdTokenClaims, Jwk, Jwks, OpenIdConfiguration, TokenResponse,
};
use cxh_wire::registration::{
    DrsError, IssuedCertificate, RegisteredUser, RegistrationRequest, RegistrationResponse,
};
use der::{Decode, Encode};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha1::Digest;
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

pub const TENANT_ID: &str = "6d1f4c2a-8b3e-4f5a-9c7d-2e1b0a9f8c31";
pub const UPN: &str = "adele.vance@contoso.com";
pub const PASSWORD: &str = "Correct-Horse-42";
pub const KID: &str = "test-key-1";
pub const ORIGIN: &str = "http://127.0.0.1:9";

/// How the fake DRS answers a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RegistrationMode {
    Issue = 0,
    Reject = 1,
    /// Certify some other key than the one in the CSR.
    WrongKey = 2,
    /// Wait (up to 5 s) before answering, to observe a join in flight.
    Slow = 3,
}

pub struct FakeCloud {
    pub base: String,
    jwt_key_der: Vec<u8>,
    jwt_n: String,
    jwt_e: String,
    ca_key: rsa::pkcs1v15::SigningKey<Sha256>,
    other_key: RsaPrivateKey,
    mode: AtomicU8,
    pub registrations: Mutex<Vec<(String, RegistrationRequest)>>,
    pub discovery_hits: AtomicUsize,
    pub deletes: Mutex<Vec<String>>,
    pub prt: prt::PrtFake,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl FakeCloud {
    pub async fn start() -> Arc<FakeCloud> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut rng = rand::rngs::OsRng;
        let jwt_key = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let ca_key = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let other_key = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let cloud = Arc::new(FakeCloud {
            base,
            jwt_key_der: jwt_key.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            jwt_n: URL_SAFE_NO_PAD.encode(jwt_key.n().to_bytes_be()),
            jwt_e: URL_SAFE_NO_PAD.encode(jwt_key.e().to_bytes_be()),
            ca_key: rsa::pkcs1v15::SigningKey::new(ca_key),
            other_key,
            mode: AtomicU8::new(RegistrationMode::Issue as u8),
            registrations: Mutex::new(Vec::new()),
            discovery_hits: AtomicUsize::new(0),
            deletes: Mutex::new(Vec::new()),
            prt: prt::PrtFake::default(),
        });
        let app = Router::new()
            .route(
                "/common/.well-known/openid-configuration",
                get(openid_configuration),
            )
            .route("/common/discovery/keys", get(jwks))
            .route("/common/userrealm/", get(user_realm))
            .route("/{domain}/oauth2/token", post(token))
            .route("/{domain}/enrollmentserver/contract", get(contract))
            .route("/EnrollmentServer/device/", post(register))
            .route("/EnrollmentServer/device/{id}", delete(unregister))
            .with_state(cloud.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        cloud
    }

    pub fn set_mode(&self, mode: RegistrationMode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    fn mode(&self) -> u8 {
        self.mode.load(Ordering::SeqCst)
    }

    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(KID.to_string());
        let key = jsonwebtoken::EncodingKey::from_rsa_der(&self.jwt_key_der);
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    pub fn id_token_claims(&self, nonce: &str) -> IdTokenClaims {
        let t = now();
        IdTokenClaims {
            aud: DRS_CLIENT_ID.to_string(),
            iss: issuer_for(TENANT_ID),
            iat: t,
            nbf: t,
            exp: t + 3600,
            ver: "1.0".into(),
            tid: TENANT_ID.into(),
            oid: "3b0c6f62-1f1d-4d7a-8a55-5a2f2b8c9e01".into(),
            sub: "sub-1".into(),
            upn: UPN.into(),
            unique_name: UPN.into(),
            name: "Adele Vance".into(),
            given_name: Some("Adele".into()),
            family_name: Some("Vance".into()),
            sid: "S-1-12-1-1-2-3-4".into(),
            onprem_sid: None,
            primary_sid: None,
            amr: vec!["pwd".into()],
            nonce: Some(nonce.to_string()),
            instance: None,
            tenant_display_name: "Contoso".into(),
            mdm_enrollment_url: None,
            mdm_terms_of_use_url: None,
            mdm_compliance_url: None,
            user_setting_sync_url: None,
        }
    }

    /// The id_token of a PRT response: for the CloudAP client, no nonce.
    pub fn prt_id_token(&self) -> String {
        let mut claims = self.id_token_claims("");
        claims.aud = cxh_wire::prt::PRT_CLIENT_ID.into();
        claims.nonce = None;
        self.sign(&claims)
    }

    pub fn id_token(&self, nonce: &str) -> String {
        self.sign(&self.id_token_claims(nonce))
    }

    fn access_token(&self) -> String {
        let t = now();
        self.sign(&AccessTokenClaims {
            aud: DRS_RESOURCE_ID.into(),
            iss: issuer_for(TENANT_ID),
            iat: t,
            nbf: t,
            exp: t + 3600,
            ver: "1.0".into(),
            tid: TENANT_ID.into(),
            oid: "3b0c6f62-1f1d-4d7a-8a55-5a2f2b8c9e01".into(),
            sub: "sub-1".into(),
            upn: UPN.into(),
            unique_name: UPN.into(),
            appid: DRS_CLIENT_ID.into(),
            scp: "user_impersonation".into(),
            amr: vec!["pwd".into()],
            deviceid: None,
            cnf: None,
        })
    }

    fn issue_certificate(
        &self,
        request: &RegistrationRequest,
    ) -> Result<(String, Vec<u8>), String> {
        let csr_der = STANDARD
            .decode(&request.certificate_request.data)
            .map_err(|e| e.to_string())?;
        let csr = x509_cert::request::CertReq::from_der(&csr_der).map_err(|e| e.to_string())?;
        let spki = if self.mode() == RegistrationMode::WrongKey as u8 {
            SubjectPublicKeyInfoOwned::from_key(self.other_key.to_public_key()).unwrap()
        } else {
            csr.info.public_key.clone()
        };
        let device_id = uuid::Uuid::new_v4().to_string();
        let builder = CertificateBuilder::new(
            Profile::Leaf {
                issuer: Name::from_str("CN=MS-Organization-Access,DC=windows,DC=net").unwrap(),
                enable_key_agreement: false,
                enable_key_encipherment: false,
                include_subject_key_identifier: true,
            },
            SerialNumber::from(42u32),
            Validity::from_now(Duration::from_secs(365 * 24 * 3600)).unwrap(),
            Name::from_str(&format!("CN={device_id}")).unwrap(),
            spki,
            &self.ca_key,
        )
        .map_err(|e| e.to_string())?;
        let certificate = builder
            .build::<rsa::pkcs1v15::Signature>()
            .map_err(|e| e.to_string())?;
        Ok((device_id, certificate.to_der().unwrap()))
    }
}

type Cloud = State<Arc<FakeCloud>>;

async fn openid_configuration(State(cloud): Cloud) -> Json<OpenIdConfiguration> {
    let b = &cloud.base;
    Json(OpenIdConfiguration {
        authorization_endpoint: format!("{b}/common/oauth2/authorize"),
        token_endpoint: format!("{b}/common/oauth2/token"),
        token_endpoint_auth_methods_supported: vec![],
        jwks_uri: format!("{b}/common/discovery/keys"),
        response_modes_supported: vec!["fragment".into()],
        subject_types_supported: vec![],
        id_token_signing_alg_values_supported: vec!["RS256".into()],
        http_logout_supported: true,
        response_types_supported: vec!["id_token".into()],
        scopes_supported: vec!["openid".into()],
        issuer: "https://sts.windows.net/{tenantid}/".into(),
        claims_supported: vec![],
        microsoft_multi_refresh_token: true,
        check_session_iframe: String::new(),
        end_session_endpoint: String::new(),
        userinfo_endpoint: String::new(),
    })
}

async fn jwks(State(cloud): Cloud) -> Json<Jwks> {
    Json(Jwks {
        keys: vec![Jwk {
            kty: "RSA".into(),
            use_: "sig".into(),
            kid: KID.into(),
            x5t: None,
            n: cloud.jwt_n.clone(),
            e: cloud.jwt_e.clone(),
            x5c: vec![],
            issuer: None,
        }],
    })
}

/// `api-version=1.0` realms: contoso.com is managed, fabrikam-corp.com federated.
async fn user_realm(Query(query): Query<std::collections::HashMap<String, String>>) -> Response {
    if query.get("api-version").map(String::as_str) != Some("1.0") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let user = query.get("user").cloned().unwrap_or_default();
    let domain = user.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let account_type = match domain {
        "contoso.com" => "Managed",
        "fabrikam-corp.com" => "Federated",
        _ => "Unknown",
    };
    Json(serde_json::json!({
        "ver": "1.0",
        "account_type": account_type,
        "domain_name": domain,
        "cloud_instance_name": "microsoftonline.com",
    }))
    .into_response()
}

async fn token(
    State(cloud): Cloud,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    match field("grant_type") {
        cxh_wire::prt::GRANT_SRV_CHALLENGE => return cloud.prt.nonce(),
        cxh_wire::prt::GRANT_JWT_BEARER => {
            return cloud
                .prt
                .jwt_bearer(field("request"), &cloud.prt_id_token())
        }
        _ => {}
    }
    let ok = field("grant_type") == "password"
        && field("client_id") == DRS_CLIENT_ID
        && field("resource") == DRS_RESOURCE_ID
        && field("username") == UPN
        && field("password") == PASSWORD;
    if !ok {
        let error = cxh_wire::oidc::OAuthError::aadsts(
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        );
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    Json(TokenResponse {
        token_type: "Bearer".into(),
        scope: Some("user_impersonation".into()),
        expires_in: "3599".into(),
        ext_expires_in: None,
        expires_on: (now() + 3599).to_string(),
        not_before: now().to_string(),
        resource: DRS_RESOURCE_ID.into(),
        access_token: cloud.access_token(),
        refresh_token: None,
        id_token: None,
        client_info: None,
    })
    .into_response()
}

async fn contract(
    State(cloud): Cloud,
    Path(domain): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    cloud.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let wants_json =
        headers.get("accept").and_then(|v| v.to_str().ok()) == Some("application/json");
    if query.get("api-version").map(String::as_str) != Some("1.2")
        || !wants_json
        || domain != "contoso.com"
    {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let b = &cloud.base;
    Json(DiscoveryDocument {
        device_registration_service: DeviceRegistrationService {
            registration_endpoint: format!("{b}/EnrollmentServer/DeviceEnrollmentWebService.svc"),
            registration_resource_id: DRS_RESOURCE_ID.into(),
            service_version: "1.0".into(),
        },
        authentication_service: AuthenticationService {
            oauth2: OAuth2Endpoints {
                auth_code_endpoint: format!("{b}/{TENANT_ID}/oauth2/authorize"),
                token_endpoint: format!("{b}/{TENANT_ID}/oauth2/token"),
            },
        },
        identity_provider_service: IdentityProviderService {
            federated: false,
            passive_auth_endpoint: format!("{b}/{TENANT_ID}/wsfed"),
        },
        device_join_service: DeviceJoinService {
            join_endpoint: format!("{b}/EnrollmentServer/device/"),
            join_resource_id: DRS_RESOURCE_ID.into(),
            service_version: "2.0".into(),
        },
        key_provisioning_service: KeyProvisioningService {
            key_provision_endpoint: format!("{b}/EnrollmentServer/key/"),
            key_provision_resource_id: DRS_RESOURCE_ID.into(),
            service_version: "1.0".into(),
        },
        tenant_info: Some(TenantInfo {
            display_name: "Contoso".into(),
            tenant_id: TENANT_ID.into(),
            tenant_name: "contoso.onmicrosoft.com".into(),
        }),
    })
    .into_response()
}

fn drs_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = DrsError {
        code: code.into(),
        subcode: None,
        message: message.into(),
        operation_id: "op".into(),
        time: String::new(),
    };
    (status, Json(body)).into_response()
}

async fn register(
    State(cloud): Cloud,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    Json(request): Json<RegistrationRequest>,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    cloud
        .registrations
        .lock()
        .unwrap()
        .push((auth.clone(), request.clone()));
    // As the emulator: a bad api-version is invalid_request, no bearer authorization_failed.
    if query.get("api-version").map(String::as_str) != Some("2.0") {
        return drs_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unsupported api-version",
        );
    }
    if !auth.starts_with("Bearer ") {
        return drs_error(
            StatusCode::UNAUTHORIZED,
            "authorization_failed",
            "no bearer token",
        );
    }
    match cloud.mode() {
        // The emulator's DrsServiceError::QuotaExceeded: 400 quota_exceeded.
        m if m == RegistrationMode::Reject as u8 => {
            return drs_error(
                StatusCode::BAD_REQUEST,
                "quota_exceeded",
                "the user has reached the maximum number of devices (1)",
            )
        }
        m if m == RegistrationMode::Slow as u8 => tokio::time::sleep(Duration::from_secs(3)).await,
        _ => {}
    }
    match cloud.issue_certificate(&request) {
        Ok((_device_id, der)) => Json(RegistrationResponse {
            certificate: IssuedCertificate {
                thumbprint: hex::encode_upper(sha1::Sha1::digest(&der)),
                raw_body: STANDARD.encode(&der),
            },
            user: RegisteredUser { upn: UPN.into() },
            membership_changes: vec![],
        })
        .into_response(),
        Err(reason) => drs_error(StatusCode::BAD_REQUEST, "invalid_request", &reason),
    }
}

async fn unregister(State(cloud): Cloud, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if headers.get("authorization").is_none() {
        return drs_error(
            StatusCode::UNAUTHORIZED,
            "authorization_failed",
            "no bearer token",
        );
    }
    cloud.deletes.lock().unwrap().push(id);
    StatusCode::NO_CONTENT.into_response()
}

/// Every entry of a directory (names), sorted; empty when the directory is missing.
pub fn entries(dir: &std::path::Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut names: Vec<String> = read
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
