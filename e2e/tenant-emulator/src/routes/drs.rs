//! The Device Registration Service (enterpriseregistration.windows.net analogue):
//! discovery (MS-DVRD), device registration and deletion (MS-DVRE).
//!
//! Registration validates everything first (token, CSR, transport key, join type, quota) and
//! only then writes the device object, in one SQLite transaction, so a rejected request
//! leaves nothing behind.

use crate::attestation;
use crate::ca::{self, DeviceCertificateRequest};
use crate::csr;
use crate::db::{self, Device, Tenant, User};
use crate::error::{DrsServiceError, InternalError};
use crate::tokens::{self, BearerClaims};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::consts::{
    ALT_SEC_ID_PREFIX, DISCOVERY_API_VERSION, DRS_CLIENT_ID, DRS_RESOURCE_ID,
    REGISTRATION_API_VERSION,
};
use cxh_wire::discovery::*;
use cxh_wire::key_attestation::DeviceAttestation;
use cxh_wire::registration::{
    join_type, IssuedCertificate, MembershipChange, RegisteredUser, RegistrationRequest,
    RegistrationResponse,
};
use der::Encode;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use x509_cert::der::referenced::OwnedToRef;

/// Local Administrators: the joining user is added to it (MembershipChanges).
const ADMINISTRATORS_SID: &str = "S-1-5-32-544";
const DRS_SERVICE_VERSION: &str = "1.0";
const JOIN_SERVICE_VERSION: &str = "2.0";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/enrollmentserver/contract", get(discovery))
        .route("/EnrollmentServer/device/", post(register))
        .route("/EnrollmentServer/device", post(register))
        .route(
            "/EnrollmentServer/device/{device_id}",
            delete(unregister).get(device_by_certificate),
        )
}

fn api_version(query: &HashMap<String, String>) -> &str {
    query.get("api-version").map(String::as_str).unwrap_or("")
}

/// `GET /{domain}/enrollmentserver/contract?api-version=1.2`: JSON when `Accept` asks for
/// `application/json` (as Windows' dsreg does), the MS-DVRD XML rendering of the same
/// document otherwise (MS-DVRD: the service answers XML unless the client asks for JSON).
async fn discovery(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, DrsServiceError> {
    let version = api_version(&query);
    if version != DISCOVERY_API_VERSION {
        return Err(DrsServiceError::BadApiVersion(version.to_string()));
    }
    let tenant = db::tenant_by_id_or_domain(&state.db(), &domain)?
        .ok_or_else(|| DrsServiceError::UnknownDomain(domain.clone()))?;
    let federated = crate::federation::sts_for_domain(&state.db(), &domain)?.is_some();
    let document = discovery_document(&state.config().public_url, &tenant, federated);
    if accepts_json(&headers) {
        return Ok(Json(document).into_response());
    }
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        discovery_xml(&document),
    )
        .into_response())
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/json"))
}

/// Namespace of MS-DVRD's `DiscoverResponse` element (its `tns1` schema, section 5).
const NS_DISCOVER_RESPONSE: &str = "http://tempuri.org";
/// Namespace of MS-DVRD's `Discovery` type and its service elements (section 2.2.4).
const NS_DRS_ENTITIES: &str =
    "http://schemas.datacontract.org/2004/07/Microsoft.DeviceRegistration.Entities";

/// The discovery document as XML. What we followed: MS-DVRD's schema declares the root
/// `DiscoverResponse` in `http://tempuri.org` with type `Discovery` of
/// `http://schemas.datacontract.org/2004/07/Microsoft.DeviceRegistration.Entities`, and in that
/// namespace the elements `DeviceRegistrationService` (`RegistrationEndpoint`,
/// `RegistrationResourceId`, `ServiceVersion`), `AuthenticationService`/`OAuth2`
/// (`AuthCodeEndpoint`, `TokenEndpoint`) and `DeviceJoinService` (`JoinEndpoint`,
/// `JoinResourceId`, `ServiceVersion`). We could not confirm the order of the `Discovery`
/// children nor the XML of `IdentityProviderService`, `KeyProvisioningService` and `TenantInfo`
/// (no full XML example found): children use the JSON document's names in the JSON order,
/// booleans are `xs:boolean` (`true`/`false`). All text is escaped.
pub fn discovery_xml(doc: &DiscoveryDocument) -> String {
    let drs = &doc.device_registration_service;
    let oauth2 = &doc.authentication_service.oauth2;
    let idp = &doc.identity_provider_service;
    let join = &doc.device_join_service;
    let keys = &doc.key_provisioning_service;
    let mut body = String::new();
    xml_section(
        &mut body,
        "DeviceRegistrationService",
        &[
            ("RegistrationEndpoint", &drs.registration_endpoint),
            ("RegistrationResourceId", &drs.registration_resource_id),
            ("ServiceVersion", &drs.service_version),
        ],
    );
    body.push_str("<AuthenticationService>");
    xml_section(
        &mut body,
        "OAuth2",
        &[
            ("AuthCodeEndpoint", &oauth2.auth_code_endpoint),
            ("TokenEndpoint", &oauth2.token_endpoint),
        ],
    );
    body.push_str("</AuthenticationService>");
    let federated = if idp.federated { "true" } else { "false" };
    xml_section(
        &mut body,
        "IdentityProviderService",
        &[
            ("Federated", federated),
            ("PassiveAuthEndpoint", &idp.passive_auth_endpoint),
        ],
    );
    xml_section(
        &mut body,
        "DeviceJoinService",
        &[
            ("JoinEndpoint", &join.join_endpoint),
            ("JoinResourceId", &join.join_resource_id),
            ("ServiceVersion", &join.service_version),
        ],
    );
    xml_section(
        &mut body,
        "KeyProvisioningService",
        &[
            ("KeyProvisionEndpoint", &keys.key_provision_endpoint),
            ("KeyProvisionResourceId", &keys.key_provision_resource_id),
            ("ServiceVersion", &keys.service_version),
        ],
    );
    if let Some(info) = &doc.tenant_info {
        xml_section(
            &mut body,
            "TenantInfo",
            &[
                ("DisplayName", &info.display_name),
                ("TenantId", &info.tenant_id),
                ("TenantName", &info.tenant_name),
            ],
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <tns1:DiscoverResponse xmlns:tns1=\"{NS_DISCOVER_RESPONSE}\" xmlns=\"{NS_DRS_ENTITIES}\">\
         {body}</tns1:DiscoverResponse>"
    )
}

/// `<name><child>text</child>…</name>` with every text escaped.
fn xml_section(out: &mut String, name: &str, children: &[(&str, &str)]) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for (child, text) in children {
        out.push_str(&format!(
            "<{child}>{}</{child}>",
            crate::saml::xml_escape(text)
        ));
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The discovery document: DRS paths on the public base, authority paths under the tenant id,
/// the authority's WS-Federation endpoint (`/login.srf`, where federated tokens are posted)
/// and whether the domain asked about is `federated`.
pub fn discovery_document(base: &str, tenant: &Tenant, federated: bool) -> DiscoveryDocument {
    let authority = format!("{base}/{}", tenant.id);
    DiscoveryDocument {
        device_registration_service: DeviceRegistrationService {
            registration_endpoint: format!(
                "{base}/EnrollmentServer/DeviceEnrollmentWebService.svc"
            ),
            registration_resource_id: DRS_RESOURCE_ID.into(),
            service_version: DRS_SERVICE_VERSION.into(),
        },
        authentication_service: AuthenticationService {
            oauth2: OAuth2Endpoints {
                auth_code_endpoint: format!("{authority}/oauth2/authorize"),
                token_endpoint: format!("{authority}/oauth2/token"),
            },
        },
        identity_provider_service: IdentityProviderService {
            federated,
            passive_auth_endpoint: format!("{base}{}", crate::sts::AUTHORITY_WSFED_PATH),
        },
        device_join_service: DeviceJoinService {
            join_endpoint: format!("{base}/EnrollmentServer/device/"),
            join_resource_id: DRS_RESOURCE_ID.into(),
            service_version: JOIN_SERVICE_VERSION.into(),
        },
        key_provisioning_service: KeyProvisioningService {
            key_provision_endpoint: format!("{base}/EnrollmentServer/key/"),
            key_provision_resource_id: DRS_RESOURCE_ID.into(),
            service_version: DRS_SERVICE_VERSION.into(),
        },
        tenant_info: Some(TenantInfo {
            display_name: tenant.display_name.clone(),
            tenant_id: tenant.id.clone(),
            tenant_name: tenant.initial_domain.clone(),
        }),
    }
}

/// Audiences DRS accepts: its client id (the join web app's id_token), its resource id, and
/// `urn:ms-drs:<this host>`.
pub fn drs_audiences(state: &AppState) -> Vec<String> {
    vec![
        DRS_CLIENT_ID.to_string(),
        DRS_RESOURCE_ID.to_string(),
        format!("urn:ms-drs:{}", state.config().public_host()),
    ]
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, DrsServiceError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(DrsServiceError::MissingBearer)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(DrsServiceError::MissingBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(DrsServiceError::MissingBearer);
    }
    Ok(token.trim())
}

/// The caller: a valid token of this authority for DRS, for an existing user of its tenant.
pub(crate) struct Caller {
    pub user: User,
    pub tenant: Tenant,
}

/// Authenticate a DRS call by its bearer token (also the attestation challenge's).
pub(crate) fn authenticate_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Caller, DrsServiceError> {
    authenticate(state, headers)
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, DrsServiceError> {
    let token = bearer_token(headers)?;
    let claims = tokens::validate_bearer(state.keys(), token, &drs_audiences(state))
        .map_err(|e| DrsServiceError::InvalidToken(e.to_string()))?;
    caller_of(state, &claims)
}

fn caller_of(state: &AppState, claims: &BearerClaims) -> Result<Caller, DrsServiceError> {
    let invalid = |why: &str| DrsServiceError::InvalidToken(why.to_string());
    let tenant = db::tenant_by_id(&state.db(), &claims.tid)?
        .ok_or_else(|| invalid("the token's tenant does not exist"))?;
    if claims.iss != cxh_wire::consts::issuer_for(&tenant.id) {
        return Err(invalid("the token issuer does not match its tenant"));
    }
    let user = db::user_by_object_id(&state.db(), &claims.oid)?
        .filter(|u| u.tenant_id.eq_ignore_ascii_case(&tenant.id))
        .ok_or_else(|| invalid("the token's user does not exist in the tenant"))?;
    Ok(Caller { user, tenant })
}

/// `POST /EnrollmentServer/device/?api-version=2.0`.
async fn register(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RegistrationResponse>, DrsServiceError> {
    let version = api_version(&query);
    if version != REGISTRATION_API_VERSION {
        return Err(DrsServiceError::BadApiVersion(version.to_string()));
    }
    let caller = authenticate(&state, &headers)?;
    let request = super::drs_request::parse_registration(&body)?;
    let trust_type = trust_type_of(request.join_type)?;
    let public_key = csr::verify_device_csr(
        &request.certificate_request.kind,
        &request.certificate_request.data,
    )
    .map_err(|e| DrsServiceError::InvalidRequest(e.to_string()))?;
    let transport_key = csr::verify_transport_key(&request.transport_key)
        .map_err(|e| DrsServiceError::InvalidRequest(e.to_string()))?;
    let attestation = check_attestation(&state, &caller, &request, &transport_key, &public_key)?;
    // A package account's devices (bulk enrollment) count toward no user's quota.
    let quota = if super::bulk::store::is_package_account(&state.db(), &caller.user.object_id)? {
        u32::MAX
    } else {
        caller.tenant.device_quota
    };
    if db::count_devices_of_owner(&state.db(), &caller.user.object_id)? >= quota {
        return Err(DrsServiceError::QuotaExceeded(quota));
    }
    let device = build_device(
        &state,
        &caller,
        &request,
        trust_type,
        &public_key,
        &transport_key,
    )?;
    let device = Device {
        attested: attestation.device_key_attested && attestation.transport_key_attested,
        attestation,
        ..device
    };
    crate::pause::point(crate::pause::POINTS[0]).await;
    if !db::insert_device_within_quota(&mut state.db(), &device, quota)? {
        return Err(DrsServiceError::QuotaExceeded(quota));
    }
    tracing::info!(device_id = %device.device_id, owner = %caller.user.upn, "device registered");
    crate::pause::point(crate::pause::POINTS[1]).await;
    Ok(Json(registration_response(&device, &caller.user, &request)))
}

/// Verify `AttestationData` under the tenant's policy: which keys are attested, by what chain.
/// The credential activation challenge of the statement's AK is taken (spent) here.
fn check_attestation(
    state: &AppState,
    caller: &Caller,
    request: &RegistrationRequest,
    transport_key_blob: &[u8],
    device_key: &x509_cert::spki::SubjectPublicKeyInfoOwned,
) -> Result<DeviceAttestation, DrsServiceError> {
    let required = db::attestation_required(&state.db(), &caller.tenant.id)?;
    let parts = cxh_wire::transport_key::decode(transport_key_blob)
        .map_err(|e| DrsServiceError::InvalidRequest(e.to_string()))?;
    let csr_der = csr::decode_base64(&request.certificate_request.data).unwrap_or_default();
    let device_modulus = rsa::RsaPublicKey::try_from(device_key.owned_to_ref())
        .map(|k| rsa::traits::PublicKeyParts::n(&k).to_bytes_be())
        .map_err(|_| DrsServiceError::InvalidRequest("the CSR key is not an RSA key".into()))?;
    let data = request.attestation_data.as_deref();
    let activation = match data.and_then(attestation::ak_name) {
        Some(name) => super::attestation::take_activation(
            &state.db(),
            &name,
            &caller.tenant.id,
            &caller.user.object_id,
        )?,
        None => None,
    };
    let expected = attestation::ExpectedKeys {
        transport_key: &parts,
        device_modulus: &device_modulus,
        csr_der: &csr_der,
    };
    Ok(attestation::assess(
        data,
        &expected,
        activation.as_ref(),
        required,
    )?)
}

fn trust_type_of(join: u32) -> Result<&'static str, DrsServiceError> {
    match join {
        join_type::AZURE_AD_JOIN => Ok("Azure AD Joined"),
        join_type::AZURE_AD_REGISTER => Ok("Workplace"),
        join_type::HYBRID_JOIN => Err(DrsServiceError::NotSupported(join)),
        other => Err(DrsServiceError::InvalidRequest(format!(
            "JoinType {other} is not a known join type"
        ))),
    }
}

fn parse_guid(value: &str) -> Result<uuid::Uuid, DrsServiceError> {
    uuid::Uuid::parse_str(value)
        .map_err(|_| InternalError::Encoding(format!("{value:?} is not a GUID")).into())
}

/// Issue the certificate and assemble the device object (not yet stored).
fn build_device(
    state: &AppState,
    caller: &Caller,
    request: &RegistrationRequest,
    trust_type: &str,
    public_key: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    transport_key: &[u8],
) -> Result<Device, DrsServiceError> {
    let device_id = uuid::Uuid::new_v4();
    let authority = ca::tenant_ca(&state.db(), &caller.tenant.id)?;
    let cert = ca::issue_device_certificate(
        &authority,
        &DeviceCertificateRequest {
            device_id,
            user_object_id: parse_guid(&caller.user.object_id)?,
            tenant_id: parse_guid(&caller.tenant.id)?,
            join_type: request.join_type,
            public_key,
        },
    )?;
    let encode = |e: der::Error| DrsServiceError::from(InternalError::Encoding(e.to_string()));
    let cert_der = cert.to_der().map_err(encode)?;
    let spki_der = public_key.to_der().map_err(encode)?;
    let thumbprint = certificate_thumbprint(&cert_der);
    Ok(Device {
        device_id: device_id.to_string(),
        object_id: uuid::Uuid::new_v4().to_string(),
        tenant_id: caller.tenant.id.clone(),
        owner_object_id: caller.user.object_id.clone(),
        owner_upn: caller.user.upn.clone(),
        display_name: request.device_display_name.clone(),
        os_type: if request.device_type.is_empty() {
            "Windows".into()
        } else {
            request.device_type.clone()
        },
        os_version: request.os_version.clone(),
        trust_type: trust_type.to_string(),
        join_type: request.join_type,
        alternative_security_id: format!(
            "{ALT_SEC_ID_PREFIX}{thumbprint}{}",
            STANDARD.encode(Sha256::digest(&spki_der))
        ),
        thumbprint,
        transport_key: STANDARD.encode(transport_key),
        cert_der,
        enabled: true,
        attested: false,
        attestation: DeviceAttestation::default(),
        created_at: crate::error::now_rfc3339(),
    })
}

/// SHA-1 of the DER certificate, upper-case hex (Windows' thumbprint).
pub fn certificate_thumbprint(cert_der: &[u8]) -> String {
    hex::encode_upper(Sha1::digest(cert_der))
}

fn registration_response(
    device: &Device,
    user: &User,
    request: &RegistrationRequest,
) -> RegistrationResponse {
    let membership_changes = if request.attributes.return_client_sid == Some(true) {
        let sid = uuid::Uuid::parse_str(&user.object_id)
            .map(|oid| tokens::cloud_sid(&oid))
            .unwrap_or_default();
        vec![MembershipChange {
            local_sid: ADMINISTRATORS_SID.into(),
            add_sids: vec![sid],
        }]
    } else {
        Vec::new()
    };
    RegistrationResponse {
        certificate: IssuedCertificate {
            thumbprint: device.thumbprint.clone(),
            raw_body: STANDARD.encode(&device.cert_der),
        },
        user: RegisteredUser {
            upn: user.upn.clone(),
        },
        membership_changes,
    }
}

/// The device a TLS client certificate authenticates: exactly the certificate DRS issued to
/// device `device_id` (so issued by its tenant's device CA, with that id as CN), of a device
/// that is enabled. The TLS layer proved the client holds its key (`crate::tls`).
fn device_of_certificate(
    state: &AppState,
    device_id: &str,
    certificate: &[u8],
) -> Result<Device, DrsServiceError> {
    let device = db::device(&state.db(), device_id)?
        .ok_or_else(|| DrsServiceError::DeviceNotFound(device_id.to_string()))?;
    if device.cert_der != certificate {
        return Err(DrsServiceError::DeviceAuth(
            "it is not the certificate issued to this device",
        ));
    }
    if !device.enabled {
        return Err(DrsServiceError::DeviceAuth("the device is disabled"));
    }
    Ok(device)
}

fn client_certificate(
    certificate: Option<axum::Extension<crate::tls::ClientCertificate>>,
) -> Option<Vec<u8>> {
    certificate.and_then(|axum::Extension(c)| c.0)
}

/// `GET /EnrollmentServer/device/{deviceId}` authenticated by the device certificate: the
/// device's own view of its object (what `status` asks for DeviceAuthStatus).
async fn device_by_certificate(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    certificate: Option<axum::Extension<crate::tls::ClientCertificate>>,
) -> Result<Json<serde_json::Value>, DrsServiceError> {
    let certificate = client_certificate(certificate).ok_or(DrsServiceError::DeviceAuth(
        "no client certificate was presented",
    ))?;
    let device = device_of_certificate(&state, &device_id, &certificate)?;
    Ok(Json(serde_json::json!({
        "DeviceId": device.device_id,
        "Enabled": device.enabled,
        "Attested": device.attested,
    })))
}

/// `DELETE /EnrollmentServer/device/{deviceId}`: the device removes itself (TLS client
/// certificate, as Windows does on leave), or its registered owner does (bearer token).
async fn unregister(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    certificate: Option<axum::Extension<crate::tls::ClientCertificate>>,
    headers: HeaderMap,
) -> Result<Response, DrsServiceError> {
    let device = match client_certificate(certificate) {
        Some(certificate) => device_of_certificate(&state, &device_id, &certificate)?,
        None => {
            let caller = authenticate(&state, &headers)?;
            let device = db::device(&state.db(), &device_id)?
                .ok_or_else(|| DrsServiceError::DeviceNotFound(device_id.clone()))?;
            if !device
                .owner_object_id
                .eq_ignore_ascii_case(&caller.user.object_id)
            {
                return Err(DrsServiceError::Forbidden);
            }
            device
        }
    };
    db::delete_device(&state.db(), &device.device_id)?;
    tracing::info!(device_id = %device.device_id, "device deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
