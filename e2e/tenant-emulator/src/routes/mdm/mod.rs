//! The MDM role (an Intune stand-in) on its own origin: the terms-of-use page, and the
//! MS-MDE2 enrollment endpoints (Discovery, MS-XCEP policy, MS-WSTEP enrollment).
//!
//! Also decides the id_token's MDM claims: present only when the sign-in request says
//! `windows_api_version=2.0`, the tenant has an MDM application and the user is in its scope.
//!
//! The terms page needs a bearer token for the MDM application. A browser cannot attach an
//! `Authorization` header to a navigation (Windows' CXH injects it into its web view); the join
//! web app instead POSTs a form whose `access_token` field carries it (so it never appears in
//! a URL or history). The page also accepts the header, for non-browser clients.

pub mod soap;
pub mod store;

use crate::ca;
use crate::csr;
use crate::db::{self, Tenant, User};
use crate::error::{html_escape, InternalError};
use crate::routes::drs::certificate_thumbprint;
use crate::routes::oidc::redirect_with_query;
use crate::tokens::{self, TokenError};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use cxh_wire::consts::{issuer_for, MDM_CLIENT_ID};
use cxh_wire::mdm::{terms, DISCOVERY_PATH, ENROLLMENT_PATH, POLICY_PATH, TERMS_OF_USE_PATH};
use cxh_wire::oidc::{AuthorizeRequest, IdTokenClaims};
use der::Encode;
use std::collections::HashMap;

/// A terms page must be accepted within 15 minutes.
const TERMS_VIEW_SECS: i64 = 15 * 60;
/// The value of the first (sign-in) policy delivered with the enrollment.
const SIGN_IN_POLICY_VALUE: &str = "1";
/// The DM client's provider id in the provisioning document.
const PROVIDER_ID: &str = "CxhEmulatedMDM";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(TERMS_OF_USE_PATH, get(terms_get).post(terms_post))
        .route("/TermsOfUse/decision", post(terms_decision))
        .route(DISCOVERY_PATH, get(discovery_probe).post(discover))
        .route(POLICY_PATH, post(get_policies))
        .route(ENROLLMENT_PATH, post(enroll))
        .route("/Compliance", get(compliance))
}

/// Add the MDM claims to an id_token, when the request and the user call for them.
pub fn add_id_token_claims(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
    claims: &mut IdTokenClaims,
) {
    if request.windows_api_version.as_deref() != Some("2.0") {
        return;
    }
    let config = state.config();
    let Some(spec) = config
        .mdm_for(&user.tenant_id)
        .filter(|m| m.covers(&user.upn))
    else {
        return;
    };
    claims.mdm_enrollment_url = Some(config.mdm_url_of(&spec.enrollment_url));
    claims.mdm_terms_of_use_url = spec
        .terms_of_use_url
        .as_deref()
        .map(|u| config.mdm_url_of(u));
    claims.mdm_compliance_url = spec.compliance_url.as_deref().map(|u| config.mdm_url_of(u));
}

/// Whether the device's enrollment id, for the admin API.
pub fn enrollment_of(state: &AppState, device_id: &str) -> Result<Option<String>, InternalError> {
    store::enrollment_id(&state.db(), device_id)
}

/// Why an MDM request was refused.
#[derive(Debug, thiserror::Error)]
pub enum MdmError {
    #[error("the request is malformed: {0}")]
    Message(#[from] soap::SoapError),
    #[error("the security token was refused: {0}")]
    Token(String),
    #[error("the user is not in the MDM scope of the tenant")]
    NotInScope,
    #[error("the enrollment data (OpaqueBlob) was not issued by this MDM to this user")]
    ForgedBlob,
    #[error("the enrollment data (OpaqueBlob) was already used by a completed enrollment")]
    BlobUsed,
    #[error("the enrollment data (OpaqueBlob) has expired; accept the terms of use again")]
    BlobExpired,
    #[error("the terms of use were not accepted (no EnrollmentData)")]
    TermsNotAccepted,
    #[error("EnrollmentType {0:?} is not supported; only Device")]
    EnrollmentType(String),
    #[error("DeviceID {0:?} is not a device of the caller's tenant")]
    UnknownDevice(String),
    #[error("DeviceID {0:?} is registered to another user")]
    NotDeviceOwner(String),
    #[error("the certificate request was refused: {0}")]
    CertificateRequest(#[from] csr::CsrError),
    #[error("internal error")]
    Internal(#[from] InternalError),
}

impl MdmError {
    /// MS-MDE2 fault subcode, and whether the sender is at fault.
    fn subcode(&self) -> (bool, &'static str) {
        match self {
            MdmError::Message(_) => (true, "MessageFormat"),
            MdmError::Token(_) => (true, "Authentication"),
            MdmError::NotInScope
            | MdmError::ForgedBlob
            | MdmError::TermsNotAccepted
            | MdmError::NotDeviceOwner(_)
            | MdmError::BlobUsed
            | MdmError::BlobExpired => (true, "Authorization"),
            MdmError::EnrollmentType(_) | MdmError::UnknownDevice(_) => {
                (true, "DeviceNotSupported")
            }
            MdmError::CertificateRequest(_) => (true, "CertificateRequest"),
            MdmError::Internal(_) => (false, "InternalServiceFault"),
        }
    }
}

impl IntoResponse for MdmError {
    fn into_response(self) -> Response {
        let (sender, subcode) = self.subcode();
        if let MdmError::Internal(e) = &self {
            tracing::error!(error = %e, "mdm: internal error");
        } else {
            tracing::info!(reason = %self, "mdm: request refused");
        }
        let status = if sender {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        soap_reply(status, soap::fault(sender, subcode, &self.to_string()))
    }
}

fn soap_reply(status: StatusCode, xml: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/soap+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

/// The caller of an MDM endpoint: a valid MDM access token of an in-scope user.
struct Caller {
    user: User,
    tenant: Tenant,
}

fn mdm_audiences(state: &AppState) -> Vec<String> {
    let resource = state.config().mdm_resource();
    vec![
        resource.trim_end_matches('/').to_string(),
        resource,
        MDM_CLIENT_ID.to_string(),
    ]
}

fn authenticate(state: &AppState, token: &str) -> Result<Caller, MdmError> {
    let claims = tokens::validate_bearer(state.keys(), token, &mdm_audiences(state))
        .map_err(|e: TokenError| MdmError::Token(e.to_string()))?;
    let tenant = db::tenant_by_id(&state.db(), &claims.tid)?
        .ok_or_else(|| MdmError::Token("the token's tenant does not exist".into()))?;
    if claims.iss != issuer_for(&tenant.id) {
        return Err(MdmError::Token(
            "the token issuer does not match its tenant".into(),
        ));
    }
    let user = db::user_by_object_id(&state.db(), &claims.oid)?
        .filter(|u| u.tenant_id.eq_ignore_ascii_case(&tenant.id))
        .ok_or_else(|| MdmError::Token("the token's user does not exist in the tenant".into()))?;
    let in_scope = state
        .config()
        .mdm_for(&tenant.id)
        .is_some_and(|m| m.covers(&user.upn));
    if !in_scope {
        return Err(MdmError::NotInScope);
    }
    Ok(Caller { user, tenant })
}

fn bearer_header(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The redirect URI a terms page may send the browser back to: the join web app.
fn allowed_redirect(state: &AppState, redirect_uri: &str) -> bool {
    is_join_web_app_url(state.config(), redirect_uri)
}

/// Whether `redirect_uri` is exactly the join web app of this authority: the same origin
/// (scheme, host and port) as its public URL, the path [`JOIN_WEB_APP_PATH`], no query or
/// fragment.
///
/// [`JOIN_WEB_APP_PATH`]: cxh_wire::consts::JOIN_WEB_APP_PATH
fn is_join_web_app_url(config: &crate::config::Config, redirect_uri: &str) -> bool {
    let (Ok(url), Ok(app)) = (
        url::Url::parse(redirect_uri),
        url::Url::parse(&config.join_web_app_url()),
    ) else {
        return false;
    };
    url.origin() == app.origin()
        && url.path() == cxh_wire::consts::JOIN_WEB_APP_PATH
        && url.query().is_none()
        && url.fragment().is_none()
}

fn bad_request_page(why: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html><head><title>Terms of use</title></head><body>\
         <h1>The terms of use cannot be shown</h1><p id=\"error\">{}</p></body></html>",
        html_escape(why)
    );
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}

async fn terms_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    show_terms(&state, &headers, &params)
}

async fn terms_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    show_terms(&state, &headers, &params)
}

/// Check the contract's parameters and the bearer, then show the terms (or redirect an error).
fn show_terms(state: &AppState, headers: &HeaderMap, params: &HashMap<String, String>) -> Response {
    let Some(redirect_uri) = params
        .get(terms::REDIRECT_URI)
        .filter(|r| allowed_redirect(state, r))
    else {
        return bad_request_page("redirect_uri is missing or is not the join web app");
    };
    let deny = |why: &str| {
        tracing::info!(reason = why, "terms of use: access denied");
        redirect_with_query(
            redirect_uri,
            &[("error", "access_denied"), ("error_description", why)],
        )
    };
    let token = params
        .get(terms::ACCESS_TOKEN)
        .cloned()
        .or_else(|| bearer_header(headers));
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return deny("no bearer token was presented");
    };
    let caller = match authenticate(state, &token) {
        Ok(caller) => caller,
        Err(e) => return deny(&e.to_string()),
    };
    if params.get(terms::API_VERSION).is_none() || params.get(terms::CLIENT_REQUEST_ID).is_none() {
        return deny("api-version and client-request-id are required");
    }
    let corporate = params.get(terms::MODE).map(String::as_str) == Some(terms::MODE_AZURE_AD_JOIN);
    match record_view(state, &caller, redirect_uri) {
        Ok(view) => terms_page(&caller, &view, corporate),
        Err(e) => deny(&format!("internal error: {e}")),
    }
}

fn record_view(
    state: &AppState,
    caller: &Caller,
    redirect_uri: &str,
) -> Result<String, InternalError> {
    let id = random_id();
    let view = store::TermsView {
        tenant_id: caller.tenant.id.clone(),
        user_object_id: caller.user.object_id.clone(),
        redirect_uri: redirect_uri.to_string(),
    };
    store::insert_view(&state.db(), &id, &view, tokens::now() + TERMS_VIEW_SECS)?;
    Ok(id)
}

fn random_id() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The terms page: the text and Accept; Decline only for personal devices (not `azureadjoin`).
fn terms_page(caller: &Caller, view: &str, corporate: bool) -> Response {
    let decline = if corporate {
        String::new()
    } else {
        "<button type=\"submit\" name=\"decision\" value=\"decline\" data-testid=\"tou-decline\">Decline</button>".into()
    };
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Terms of use</title></head>\
         <body><h1 data-testid=\"tou-heading\">{tenant}: terms of use for device management</h1>\
         <div data-testid=\"tou-text\"><p>By enrolling this device, {user} allows {tenant}'s IT \
         department to manage it: install a management certificate, apply policies such as the \
         sign-in policy, and read the device's compliance state.</p></div>\
         <form method=\"post\" action=\"/TermsOfUse/decision\">\
         <input type=\"hidden\" name=\"view\" value=\"{view}\">\
         <button type=\"submit\" name=\"decision\" value=\"accept\" data-testid=\"tou-accept\">Accept</button>\
         {decline}</form></body></html>",
        tenant = html_escape(&caller.tenant.display_name),
        user = html_escape(&caller.user.upn),
        view = html_escape(view),
    );
    Html(page).into_response()
}

/// Accept (an OpaqueBlob for this user) or Decline, back to the join web app.
async fn terms_decision(
    State(state): State<AppState>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    let view_id = params.get("view").cloned().unwrap_or_default();
    let view = match store::take_view(&state.db(), &view_id, tokens::now()) {
        Ok(Some(view)) => view,
        Ok(None) => return bad_request_page("this terms page has expired or was already answered"),
        Err(e) => return bad_request_page(&format!("internal error: {e}")),
    };
    if params.get("decision").map(String::as_str) != Some("accept") {
        return redirect_with_query(&view.redirect_uri, &[(terms::IS_ACCEPTED, "false")]);
    }
    let blob = random_id();
    if let Err(e) = store::insert_blob(
        &state.db(),
        &blob,
        &view.tenant_id,
        &view.user_object_id,
        tokens::now(),
    ) {
        return bad_request_page(&format!("internal error: {e}"));
    }
    tracing::info!("terms of use accepted");
    redirect_with_query(
        &view.redirect_uri,
        &[(terms::IS_ACCEPTED, "true"), (terms::OPAQUE_BLOB, &blob)],
    )
}

/// `GET Discovery.svc`: the client's reachability probe (MS-MDE2 3.1.5.1), answered 200.
async fn discovery_probe() -> StatusCode {
    StatusCode::OK
}

fn body_text(body: &Bytes) -> Result<&str, MdmError> {
    std::str::from_utf8(body)
        .map_err(|_| MdmError::Message(soap::SoapError::Xml("the body is not UTF-8".into())))
}

async fn discover(State(state): State<AppState>, body: Bytes) -> Result<Response, MdmError> {
    let request = soap::parse_discover(body_text(&body)?)?;
    let origin = state.config().mdm_origin().to_string();
    let xml = soap::discover_response(
        request.message_id.as_deref(),
        &format!("{origin}{POLICY_PATH}"),
        &format!("{origin}{ENROLLMENT_PATH}"),
    );
    Ok(soap_reply(StatusCode::OK, xml))
}

async fn get_policies(State(state): State<AppState>, body: Bytes) -> Result<Response, MdmError> {
    let xml = body_text(&body)?;
    let message_id = soap::parse_get_policies(xml)?;
    authenticate(&state, &soap::security_token(xml)?)?;
    Ok(soap_reply(
        StatusCode::OK,
        soap::get_policies_response(message_id.as_deref()),
    ))
}

async fn enroll(State(state): State<AppState>, body: Bytes) -> Result<Response, MdmError> {
    let request = soap::parse_enroll(body_text(&body)?)?;
    let caller = authenticate(&state, &request.token)?;
    let context = check_enrollment_context(&state, &caller, &request)?;
    let public_key = csr::verify_enrollment_csr(&request.csr_der)?;
    let doc = issue(&state, &caller, &context, &public_key)?;
    Ok(soap_reply(
        StatusCode::OK,
        soap::enroll_response(request.message_id.as_deref(), &doc),
    ))
}

/// What an enrollment request was checked to be: the device, and the OpaqueBlob to spend
/// when (and only when) the enrollment succeeds.
struct EnrollmentContext {
    device_id: uuid::Uuid,
    blob: Option<String>,
}

/// EnrollmentType=Device, a DeviceID of the caller's tenant registered to the caller, and an
/// OpaqueBlob this MDM issued to the caller, unspent and unexpired (required when the tenant
/// has terms of use). Nothing is spent here.
fn check_enrollment_context(
    state: &AppState,
    caller: &Caller,
    request: &soap::EnrollRequest,
) -> Result<EnrollmentContext, MdmError> {
    let kind = request.context_item("EnrollmentType").unwrap_or_default();
    if !kind.eq_ignore_ascii_case("Device") {
        return Err(MdmError::EnrollmentType(kind.to_string()));
    }
    let raw_id = request.context_item("DeviceID").unwrap_or_default();
    let device = db::device(&state.db(), raw_id)?
        .filter(|d| d.tenant_id.eq_ignore_ascii_case(&caller.tenant.id))
        .ok_or_else(|| MdmError::UnknownDevice(raw_id.to_string()))?;
    // A user enrolls only the devices registered to them, not a colleague's.
    if !device
        .owner_object_id
        .eq_ignore_ascii_case(&caller.user.object_id)
    {
        return Err(MdmError::NotDeviceOwner(raw_id.to_string()));
    }
    let device_id = uuid::Uuid::parse_str(&device.device_id)
        .map_err(|_| MdmError::UnknownDevice(raw_id.to_string()))?;
    let needs_terms = state
        .config()
        .mdm_for(&caller.tenant.id)
        .is_some_and(|m| m.terms_of_use_url.is_some());
    let blob = request
        .context_item("EnrollmentData")
        .filter(|b| !b.is_empty());
    match blob {
        Some(blob) => check_blob(state, caller, &device_id.to_string(), blob)?,
        None if needs_terms => return Err(MdmError::TermsNotAccepted),
        None => {}
    }
    Ok(EnrollmentContext {
        device_id,
        blob: blob.map(str::to_string),
    })
}

/// The OpaqueBlob must be this MDM's, issued to the caller, unexpired, and unspent (or spent
/// by this device: a retry whose answer was lost).
fn check_blob(
    state: &AppState,
    caller: &Caller,
    device_id: &str,
    blob: &str,
) -> Result<(), MdmError> {
    let holder = store::BlobHolder {
        tenant_id: &caller.tenant.id,
        user_object_id: &caller.user.object_id,
        device_id,
    };
    let found = store::blob_state(&state.db(), blob, &holder, tokens::now())?;
    match found {
        store::BlobState::Valid => Ok(()),
        store::BlobState::RetryBySpender => {
            tracing::info!(%device_id, "mdm: the device that spent this blob enrolls again (a retry)");
            Ok(())
        }
        store::BlobState::Unknown => Err(MdmError::ForgedBlob),
        store::BlobState::Used => Err(MdmError::BlobUsed),
        store::BlobState::Expired => Err(MdmError::BlobExpired),
    }
}

/// Issue the management certificate, record the enrollment (spending the OpaqueBlob in the
/// same transaction), build the provisioning document.
fn issue(
    state: &AppState,
    caller: &Caller,
    context: &EnrollmentContext,
    public_key: &spki::SubjectPublicKeyInfoOwned,
) -> Result<String, MdmError> {
    let device_id = &context.device_id;
    let authority = ca::mdm_ca(&state.db(), &caller.tenant.id)?;
    let cert = ca::issue_management_certificate(&authority, device_id, public_key)?;
    let encode = |c: &x509_cert::Certificate| {
        c.to_der()
            .map_err(|e| InternalError::Encoding(format!("certificate: {e}")))
    };
    let (cert_der, ca_der) = (encode(&cert)?, encode(&authority.cert)?);
    let thumbprint = certificate_thumbprint(&cert_der);
    let enrollment = store::Enrollment {
        device_id: device_id.to_string(),
        enrollment_id: uuid::Uuid::new_v4().to_string(),
        tenant_id: caller.tenant.id.clone(),
        user_object_id: caller.user.object_id.clone(),
        thumbprint: thumbprint.clone(),
        created_at: crate::error::now_rfc3339(),
    };
    if !store::record_enrollment(&mut state.db(), &enrollment, context.blob.as_deref())? {
        return Err(MdmError::BlobUsed);
    }
    tracing::info!(device_id = %device_id, enrollment_id = %enrollment.enrollment_id, "mdm: device enrolled");
    let server_url = format!("{}/ManagementServer/MDM.svc", state.config().mdm_origin());
    Ok(soap::provisioning_doc(&soap::Provisioning {
        client_cert_b64: &STANDARD.encode(&cert_der),
        client_thumbprint: &thumbprint,
        ca_cert_b64: &STANDARD.encode(&ca_der),
        ca_thumbprint: &certificate_thumbprint(&ca_der),
        provider_id: PROVIDER_ID,
        server_url: &server_url,
        sign_in_policy: SIGN_IN_POLICY_VALUE,
    }))
}

async fn compliance() -> Html<&'static str> {
    Html("<!DOCTYPE html><html><head><title>Compliance</title></head><body><h1>Device compliance</h1><p>This device meets the organisation's requirements.</p></body></html>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::tenant_file::TenantFile;

    const ADELE: &str = "adele.vance@contoso.com";
    const NESTOR: &str = "nestor.wilke@contoso.com";

    /// An emulator state on a temporary database, with Contoso's MDM application.
    struct Fixture {
        _dir: tempfile::TempDir,
        state: AppState,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/contoso.toml");
        let file = TenantFile::load(&path).unwrap();
        let config = Config::new("http://emulator.test").with_mdm(None, &file);
        let state = AppState::open(&dir.path().join("emulator.sqlite"), &file, config).unwrap();
        Fixture { _dir: dir, state }
    }

    fn caller(state: &AppState, upn: &str) -> Caller {
        let user = db::user_by_upn(&state.db(), upn).unwrap().unwrap();
        let tenant = db::tenant_by_id(&state.db(), &user.tenant_id)
            .unwrap()
            .unwrap();
        Caller { user, tenant }
    }

    /// A device object owned by `owner` (as DRS writes it); returns its id.
    fn register(state: &AppState, owner: &Caller) -> String {
        let device_id = uuid::Uuid::new_v4().to_string();
        let device = db::Device {
            device_id: device_id.clone(),
            object_id: uuid::Uuid::new_v4().to_string(),
            tenant_id: owner.tenant.id.clone(),
            owner_object_id: owner.user.object_id.clone(),
            owner_upn: owner.user.upn.clone(),
            display_name: "DESKTOP-TEST".into(),
            os_type: "Windows".into(),
            os_version: "10.0.26100".into(),
            trust_type: "AzureAd".into(),
            join_type: 0,
            alternative_security_id: String::new(),
            thumbprint: String::new(),
            transport_key: String::new(),
            cert_der: Vec::new(),
            enabled: true,
            attested: false,
            attestation: Default::default(),
            created_at: crate::error::now_rfc3339(),
        };
        assert!(db::insert_device_within_quota(&mut state.db(), &device, 100).unwrap());
        device_id
    }

    fn enroll_request(device_id: &str, blob: Option<&str>) -> soap::EnrollRequest {
        let mut context = vec![
            ("EnrollmentType".to_string(), "Device".to_string()),
            ("DeviceID".to_string(), device_id.to_string()),
        ];
        if let Some(blob) = blob {
            context.push(("EnrollmentData".to_string(), blob.to_string()));
        }
        soap::EnrollRequest {
            message_id: None,
            token: String::new(),
            csr_der: Vec::new(),
            context,
        }
    }

    /// An OpaqueBlob issued to `caller` (as an accepted terms page does).
    fn blob_for(state: &AppState, caller: &Caller) -> String {
        let blob = random_id();
        store::insert_blob(
            &state.db(),
            &blob,
            &caller.tenant.id,
            &caller.user.object_id,
            tokens::now(),
        )
        .unwrap();
        blob
    }

    /// Any public key will do for the management certificate: the MDM CA's own.
    fn some_public_key(state: &AppState, caller: &Caller) -> spki::SubjectPublicKeyInfoOwned {
        let authority = ca::mdm_ca(&state.db(), &caller.tenant.id).unwrap();
        authority
            .cert
            .tbs_certificate
            .subject_public_key_info
            .clone()
    }

    /// The enrollment endpoint's steps after the SOAP parsing: context check, then issuance.
    fn enroll_with(
        state: &AppState,
        caller: &Caller,
        request: &soap::EnrollRequest,
    ) -> Result<String, MdmError> {
        let context = check_enrollment_context(state, caller, request)?;
        issue(state, caller, &context, &some_public_key(state, caller))
    }

    #[test]
    fn an_opaque_blob_is_refused_to_another_device_after_a_successful_enrollment() {
        let f = fixture();
        let nestor = caller(&f.state, NESTOR);
        let device = register(&f.state, &nestor);
        let blob = blob_for(&f.state, &nestor);
        let request = enroll_request(&device, Some(&blob));
        // A failed attempt (here: stopped before issuance) does not spend the blob.
        assert!(check_enrollment_context(&f.state, &nestor, &request).is_ok());
        assert!(enroll_with(&f.state, &nestor, &request).is_ok());
        let first = store::enrollment_id(&f.state.db(), &device).unwrap();
        // The device that spent it may enroll again with it (its answer may never have
        // arrived): the enrollment is replaced, not added.
        assert!(enroll_with(&f.state, &nestor, &request).is_ok());
        let second = store::enrollment_id(&f.state.db(), &device).unwrap();
        assert!(second.is_some() && second != first);
        // Another device of the same user cannot reuse it.
        let other = register(&f.state, &nestor);
        assert!(matches!(
            enroll_with(&f.state, &nestor, &enroll_request(&other, Some(&blob))),
            Err(MdmError::BlobUsed)
        ));
    }

    #[test]
    fn an_expired_opaque_blob_is_refused() {
        let f = fixture();
        let nestor = caller(&f.state, NESTOR);
        let device = register(&f.state, &nestor);
        let blob = random_id();
        let issued = tokens::now() - store::BLOB_LIFETIME_SECS - 1;
        store::insert_blob(
            &f.state.db(),
            &blob,
            &nestor.tenant.id,
            &nestor.user.object_id,
            issued,
        )
        .unwrap();
        assert!(matches!(
            check_enrollment_context(&f.state, &nestor, &enroll_request(&device, Some(&blob))),
            Err(MdmError::BlobExpired)
        ));
    }

    #[test]
    fn only_the_devices_owner_may_enroll_it() {
        let f = fixture();
        let (adele, nestor) = (caller(&f.state, ADELE), caller(&f.state, NESTOR));
        let adeles_device = register(&f.state, &adele);
        let blob = blob_for(&f.state, &nestor);
        let request = enroll_request(&adeles_device, Some(&blob));
        assert!(matches!(
            check_enrollment_context(&f.state, &nestor, &request),
            Err(MdmError::NotDeviceOwner(_))
        ));
        let own = register(&f.state, &nestor);
        let request = enroll_request(&own, Some(&blob));
        assert!(check_enrollment_context(&f.state, &nestor, &request).is_ok());
    }

    #[test]
    fn terms_redirect_must_be_the_join_web_app_origin_and_path() {
        let config = Config::new("http://127.0.0.1:8080");
        let app = "http://127.0.0.1:8080/WebApp/CloudDomainJoin/4";
        assert!(is_join_web_app_url(&config, app));
        for refused in [
            // A lookalike host containing the real one.
            "http://127.0.0.1.evil.test:8080/WebApp/CloudDomainJoin/4",
            "http://27.0.0.1:8080/WebApp/CloudDomainJoin/4",
            // Another port and another scheme on the same host.
            "http://127.0.0.1:9999/WebApp/CloudDomainJoin/4",
            "https://127.0.0.1:8080/WebApp/CloudDomainJoin/4",
            // Another path, a query, a fragment, user info.
            "http://127.0.0.1:8080/WebApp/CloudDomainJoin/4/x",
            "http://127.0.0.1:8080/WebApp/CloudDomainJoin/4?next=http://evil.test",
            "http://127.0.0.1:8080/WebApp/CloudDomainJoin/4#x",
            "not a url",
        ] {
            assert!(!is_join_web_app_url(&config, refused), "{refused}");
        }
    }
}
