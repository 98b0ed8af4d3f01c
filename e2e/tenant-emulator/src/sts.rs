//! The on-premises STS (AD FS) role, served on its own origin per configured STS: the
//! WS-Federation passive sign-in at `/adfs/ls/` (server-rendered forms, an optional TOTP
//! step, then a signed SAML 1.1 assertion auto-posted to the authority's `/login.srf`).
//!
//! Its active side for non-interactive clients (MSAL, the Windows logon): the WS-MetadataExchange
//! document at `/adfs/services/trust/mex` and the WS-Trust 1.3 `usernamemixed` endpoint, which
//! answers a UsernameToken RST with the same signed SAML 1.1 assertion (see `wstrust.rs`).
//!
//! Passwords and codes are checked and dropped: never stored, echoed or logged.

use crate::error::{html_escape, InternalError};
use crate::federation::{self, CodeCheck, Sts, StsUser};
use crate::saml::{self, Claims, Issue, AUTHN_MULTIPLE, AUTHN_PASSWORD, MICROSOFT_ONLINE};
use crate::tokens;
use crate::wstrust::{self, FaultCode};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Lifetime of the tokens this STS issues (AD FS's default for Microsoft Online is 60 min).
const TOKEN_LIFETIME_SECS: i64 = 3600;
/// How long a password-verified sign-in waits for its code.
const PENDING_SECS: i64 = 10 * 60;
/// Where Microsoft Online's relying party trust receives WS-Federation tokens.
pub const AUTHORITY_WSFED_PATH: &str = "/login.srf";

/// Which STS a listener serves.
#[derive(Clone)]
pub struct StsId(pub String);

/// The STS's routes; serve with `.layer(Extension(StsId(..)))` on its own listener.
pub fn router(state: AppState, id: &str) -> Router {
    Router::new()
        .route("/adfs/ls/", get(sign_in_page).post(sign_in))
        .route("/adfs/ls/otp", post(verify_code))
        .route(wstrust::MEX_PATH, get(mex))
        .route(wstrust::USERNAMEMIXED_13_PATH, post(usernamemixed))
        .layer(Extension(StsId(id.to_string())))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

#[derive(Debug, thiserror::Error)]
enum StsError {
    #[error("MSIS7042: the request is not a WS-Federation sign-in for Microsoft Online")]
    BadRequest,
    #[error("this STS is not configured")]
    Unknown,
    #[error("MSIS7068: the sign-in has expired. Start again from your device.")]
    Expired,
    #[error("MSIS9644: too many wrong verification codes. Your second factor is locked.")]
    Locked,
    #[error("internal error")]
    Internal(#[from] InternalError),
}

impl IntoResponse for StsError {
    fn into_response(self) -> Response {
        if let StsError::Internal(inner) = &self {
            tracing::error!(error = %inner, "STS internal error");
        }
        let body = format!(
            "<p class=\"error\" role=\"alert\" data-testid=\"adfs-error\">{}</p>",
            html_escape(&self.to_string())
        );
        (StatusCode::BAD_REQUEST, page("Sign-in error", "", &body)).into_response()
    }
}

fn page(title: &str, brand: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><style>\
         body{{font-family:Segoe UI,system-ui,sans-serif;background:#f2f2f2;margin:0}}\
         main{{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-top:4px solid #2b5797}}\
         label{{display:block;margin-top:1rem}}input{{width:100%;padding:.4rem;box-sizing:border-box}}\
         button{{margin-top:1.5rem;padding:.5rem 1.5rem;background:#2b5797;color:#fff;border:0}}\
         .error{{color:#a80000}}</style></head><body><main><h1 data-testid=\"adfs-brand\">{brand}</h1>{body}</main></body></html>",
        title = html_escape(title),
        brand = html_escape(brand),
    ))
}

fn load_sts(state: &AppState, id: &StsId) -> Result<Sts, StsError> {
    federation::sts_by_id(&state.db(), &id.0)?.ok_or(StsError::Unknown)
}

/// WS-Federation passive request parameters.
#[derive(Deserialize)]
struct PassiveQuery {
    wa: Option<String>,
    wtrealm: Option<String>,
    wctx: Option<String>,
    username: Option<String>,
}

/// The STS page's error line (announced to screen readers), or nothing.
fn error_paragraph(error: Option<&str>) -> String {
    error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\" data-testid=\"adfs-error\">{}</p>",
                html_escape(e)
            )
        })
        .unwrap_or_default()
}

fn password_form(brand: &str, username: &str, wctx: &str, error: Option<&str>) -> Html<String> {
    let error = error_paragraph(error);
    let body = format!(
        "<p>Sign in with your organizational account</p>{error}\
         <form method=\"post\" action=\"/adfs/ls/\">\
         <input type=\"hidden\" name=\"wa\" value=\"wsignin1.0\"><input type=\"hidden\" name=\"wtrealm\" value=\"{MICROSOFT_ONLINE}\">\
         <input type=\"hidden\" name=\"wctx\" value=\"{wctx}\">\
         <label for=\"userNameInput\">User name</label><input id=\"userNameInput\" name=\"UserName\" type=\"email\" value=\"{username}\" autocomplete=\"username\" data-testid=\"adfs-username\">\
         <label for=\"passwordInput\">Password</label><input id=\"passwordInput\" name=\"Password\" type=\"password\" autocomplete=\"current-password\" data-testid=\"adfs-password\">\
         <button type=\"submit\" data-testid=\"adfs-submit\">Sign in</button></form>",
        wctx = html_escape(wctx),
        username = html_escape(username),
    );
    page("Sign In", brand, &body)
}

fn code_form(brand: &str, pending: &str, error: Option<&str>) -> Html<String> {
    let error = error_paragraph(error);
    let body = format!(
        "<p>For security reasons, we require additional information to verify your account.</p>{error}\
         <form method=\"post\" action=\"/adfs/ls/otp\"><input type=\"hidden\" name=\"pending\" value=\"{pending}\">\
         <label for=\"otp\">Verification code from your authenticator app</label>\
         <input id=\"otp\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" data-testid=\"adfs-otp\">\
         <button type=\"submit\" data-testid=\"adfs-verify\">Verify</button></form>",
        pending = html_escape(pending),
    );
    page("Additional verification", brand, &body)
}

fn check_passive(query: &PassiveQuery) -> Result<(), StsError> {
    let sign_in = query.wa.as_deref() == Some("wsignin1.0");
    let realm = query.wtrealm.as_deref() == Some(MICROSOFT_ONLINE);
    if sign_in && realm {
        Ok(())
    } else {
        Err(StsError::BadRequest)
    }
}

/// `GET /adfs/ls/?wa=wsignin1.0&wtrealm=urn:federation:MicrosoftOnline&wctx=…&username=…`.
async fn sign_in_page(
    State(state): State<AppState>,
    Extension(id): Extension<StsId>,
    axum::extract::Query(query): axum::extract::Query<PassiveQuery>,
) -> Result<Html<String>, StsError> {
    check_passive(&query)?;
    let sts = load_sts(&state, &id)?;
    Ok(password_form(
        &sts.brand_name,
        query.username.as_deref().unwrap_or(""),
        query.wctx.as_deref().unwrap_or(""),
        None,
    ))
}

/// The sign-in form's fields.
#[derive(Deserialize)]
struct PasswordForm {
    wa: Option<String>,
    wtrealm: Option<String>,
    #[serde(default)]
    wctx: String,
    #[serde(rename = "UserName", default)]
    user_name: String,
    #[serde(rename = "Password", default)]
    password: String,
}

/// What waits for the second factor.
#[derive(Serialize, Deserialize)]
struct PendingSignIn {
    upn: String,
    wctx: String,
}

/// `POST /adfs/ls/`: check the password, then ask for a code or issue the token.
async fn sign_in(
    State(state): State<AppState>,
    Extension(id): Extension<StsId>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, StsError> {
    check_passive(&PassiveQuery {
        wa: form.wa.clone(),
        wtrealm: form.wtrealm.clone(),
        wctx: None,
        username: None,
    })?;
    let sts = load_sts(&state, &id)?;
    let user = federation::sts_user(&state.db(), &sts.id, &form.user_name)?
        .filter(|u| crate::db::verify_password(&u.password_hash, &form.password));
    let Some(user) = user else {
        tracing::info!(sts = %sts.id, "STS sign-in failed: incorrect user ID or password");
        let error =
            "Incorrect user ID or password. Type the correct user ID and password, and try again.";
        return Ok(
            password_form(&sts.brand_name, &form.user_name, &form.wctx, Some(error))
                .into_response(),
        );
    };
    if user.totp_secret.is_some() {
        let pending = uuid::Uuid::new_v4().to_string();
        let payload = serde_json::to_string(&PendingSignIn {
            upn: user.upn.clone(),
            wctx: form.wctx.clone(),
        })
        .map_err(|e| InternalError::Encoding(e.to_string()))?;
        let owner = federation::sts_owner(&user.upn);
        federation::insert_pending(
            &state.db(),
            &pending,
            &owner,
            &payload,
            tokens::now() + PENDING_SECS,
        )?;
        return Ok(code_form(&sts.brand_name, &pending, None).into_response());
    }
    issue_and_post(&state, &sts, &user, &form.wctx, &[AUTHN_PASSWORD])
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    pending: String,
    #[serde(default)]
    code: String,
}

/// `POST /adfs/ls/otp`: the second factor.
async fn verify_code(
    State(state): State<AppState>,
    Extension(id): Extension<StsId>,
    Form(form): Form<CodeForm>,
) -> Result<Response, StsError> {
    let sts = load_sts(&state, &id)?;
    let now = tokens::now();
    let (owner, payload) =
        federation::pending(&state.db(), &form.pending, now)?.ok_or(StsError::Expired)?;
    let pending: PendingSignIn =
        serde_json::from_str(&payload).map_err(|e| InternalError::Encoding(e.to_string()))?;
    let check = federation::check_code(&state.db(), &owner, &form.code, now)?;
    match check {
        CodeCheck::Accepted => {}
        CodeCheck::Wrong(left) => {
            let error = format!("The code is not correct. {left} tries left.");
            return Ok(code_form(&sts.brand_name, &form.pending, Some(&error)).into_response());
        }
        CodeCheck::Locked => {
            federation::delete_pending(&state.db(), &form.pending)?;
            return Err(StsError::Locked);
        }
    }
    federation::delete_pending(&state.db(), &form.pending)?;
    let user =
        federation::sts_user(&state.db(), &sts.id, &pending.upn)?.ok_or(StsError::Expired)?;
    issue_and_post(
        &state,
        &sts,
        &user,
        &pending.wctx,
        &[AUTHN_PASSWORD, AUTHN_MULTIPLE],
    )
}

/// Issue the signed assertion and answer the auto-submitting form AD FS sends to the RP.
fn issue_and_post(
    state: &AppState,
    sts: &Sts,
    user: &StsUser,
    wctx: &str,
    methods: &[&str],
) -> Result<Response, StsError> {
    let now = tokens::now();
    let assertion = issue_token(sts, user, methods, now)?;
    let wresult = saml::wrap_rstr(&assertion, now, now + TOKEN_LIFETIME_SECS);
    tracing::info!(sts = %sts.id, upn = %user.upn, "STS issued a token for Microsoft Online");
    let action = format!("{}{AUTHORITY_WSFED_PATH}", state.config().public_url);
    let fields: HashMap<&str, &str> = [
        ("wa", "wsignin1.0"),
        ("wresult", wresult.as_str()),
        ("wctx", wctx),
    ]
    .into_iter()
    .collect();
    let inputs: String = ["wa", "wresult", "wctx"]
        .iter()
        .map(|name| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                html_escape(fields[name])
            )
        })
        .collect();
    let body = format!(
        "<form method=\"post\" name=\"hiddenform\" action=\"{}\" data-testid=\"adfs-post\">{inputs}\
         <noscript><p>Script is disabled. Click Submit to continue.</p><button type=\"submit\">Submit</button></noscript></form>\
         <script>document.forms[0].submit();</script>",
        html_escape(&action)
    );
    Ok(page("Working...", &sts.brand_name, &body).into_response())
}

/// A signed assertion about `user`, as this STS's Microsoft Online rules issue it.
pub fn issue_token(
    sts: &Sts,
    user: &StsUser,
    methods: &[&str],
    now: i64,
) -> Result<String, InternalError> {
    issue_token_at(sts, user, methods, now, TOKEN_LIFETIME_SECS)
}

/// [`issue_token`] with an explicit issue time and lifetime.
pub fn issue_token_at(
    sts: &Sts,
    user: &StsUser,
    methods: &[&str],
    now: i64,
    lifetime_secs: i64,
) -> Result<String, InternalError> {
    let claims = Claims {
        upn: user.upn.clone(),
        immutable_id: user.immutable_id.clone(),
        auth_methods: methods.iter().map(|m| m.to_string()).collect(),
    };
    let issue = Issue {
        issuer: &sts.issuer,
        key: &sts.key,
        cert_der: &sts.cert_der,
        now,
        lifetime_secs,
    };
    saml::issue_assertion(&issue, &claims).map_err(|e| InternalError::Crypto(e.to_string()))
}

/// `GET /adfs/services/trust/mex`: where a username/password client finds the WS-Trust endpoint.
async fn mex(
    State(state): State<AppState>,
    Extension(id): Extension<StsId>,
) -> Result<Response, StsError> {
    load_sts(&state, &id)?;
    let base = state
        .config()
        .sts_urls
        .get(&id.0)
        .cloned()
        .ok_or(StsError::Unknown)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        wstrust::mex_document(&base),
    )
        .into_response())
}

fn soap(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/soap+xml; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn soap_fault(code: FaultCode, reason: &str, message_id: Option<&str>) -> Response {
    // SOAP 1.2 HTTP binding: a Sender fault is answered with 400.
    soap(
        StatusCode::BAD_REQUEST,
        wstrust::fault(code, reason, message_id),
    )
}

/// `POST /adfs/services/trust/13/usernamemixed`: a WS-Trust 1.3 Issue request with a
/// UsernameToken, answered with the signed assertion for Microsoft Online or a SOAP fault.
async fn usernamemixed(
    State(state): State<AppState>,
    Extension(id): Extension<StsId>,
    body: String,
) -> Result<Response, StsError> {
    let sts = load_sts(&state, &id)?;
    let request = match wstrust::parse_rst(&body) {
        Ok(request) => request,
        Err(error) => {
            tracing::info!(sts = %sts.id, %error, "WS-Trust request refused");
            return Ok(soap_fault(
                FaultCode::InvalidRequest,
                &format!("MSIS3127: {error}"),
                None,
            ));
        }
    };
    let message_id = request.message_id.as_deref();
    if request.applies_to != MICROSOFT_ONLINE {
        return Ok(soap_fault(
            FaultCode::InvalidRequest,
            "MSIS7007: the requested relying party trust is unspecified or unsupported.",
            message_id,
        ));
    }
    let user = federation::sts_user(&state.db(), &sts.id, &request.username)?
        .filter(|u| crate::db::verify_password(&u.password_hash, &request.password));
    drop(request.password);
    let Some(user) = user else {
        tracing::info!(sts = %sts.id, "WS-Trust sign-in failed: incorrect user ID or password");
        return Ok(soap_fault(
            FaultCode::FailedAuthentication,
            "ID3242: The security token could not be authenticated or authorized.",
            message_id,
        ));
    };
    if user.totp_secret.is_some() {
        tracing::info!(sts = %sts.id, upn = %user.upn, "WS-Trust sign-in needs a second factor");
        return Ok(soap_fault(
            FaultCode::FailedAuthentication,
            "Additional authentication is required for this user; it cannot be performed at this endpoint.",
            message_id,
        ));
    }
    let now = tokens::now();
    let assertion = issue_token(&sts, &user, &[AUTHN_PASSWORD], now)?;
    tracing::info!(sts = %sts.id, upn = %user.upn, "STS issued a token over WS-Trust");
    Ok(soap(
        StatusCode::OK,
        wstrust::rstr_collection(&assertion, now, now + TOKEN_LIFETIME_SECS, message_id),
    ))
}
