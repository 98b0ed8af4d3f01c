//! The authority (login.microsoftonline.com analogue): OpenID configuration, JWKS,
//! `authorize` and the CXH credential post `login` (the token endpoint is `super::token`).
//!
//! Sign-in follows Windows: the join web app is the authority's sign-in UI. `authorize`
//! records a login context and sends the browser to the join web app with `?sCtx=`; the app
//! posts the credentials to `/common/login`, which answers with a redirect carrying the
//! id_token in the fragment (or an error and the same `sCtx` to try again).

use super::shared::{random_token, readable_from_any_origin, TenantScope};
use crate::db::{self, AuthCode, Tenant, User};
use crate::error::{html_escape, AuthorityError, InternalError};
use crate::tokens::{self, TokenSubject};
use crate::AppState;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::map_response;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use cxh_wire::consts::JOIN_WEB_APP_PATH;
use cxh_wire::oidc::{AuthorizeRequest, CxhLoginQuery, LoginForm, OpenIdConfiguration};
use serde::{Deserialize, Serialize};

/// A login context lives 15 minutes, an authorization code 10, a session 24 hours.
const LOGIN_CONTEXT_SECS: i64 = 15 * 60;
const AUTH_CODE_SECS: i64 = 10 * 60;
const SESSION_SECS: i64 = 24 * 3600;
/// After this many wrong passwords the login context is dead (the user must start over).
const MAX_LOGIN_FAILURES: u32 = 10;
/// The session cookie later silent (SSO) requests rely on.
pub const SESSION_COOKIE: &str = "ESTSAUTH";
/// The out-of-band redirect URI native clients may use.
const OOB_REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(openid_configuration).layer(map_response(readable_from_any_origin)),
        )
        .route(
            "/{tenant}/discovery/keys",
            get(jwks).layer(map_response(readable_from_any_origin)),
        )
        .route("/{tenant}/oauth2/authorize", get(authorize))
        .route("/common/login", post(login))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `GET /{tenant}/.well-known/openid-configuration` (seed 001's document).
async fn openid_configuration(
    State(state): State<AppState>,
    Path(segment): Path<String>,
) -> Result<Json<serde_json::Value>, AuthorityError> {
    let scope = TenantScope::resolve(&state, &segment)?;
    let kdf_v2 = match &scope {
        TenantScope::Common => false,
        TenantScope::Tenant(t) => super::token::store::kdf_v2_required(&state.db(), &t.id)?,
    };
    let issuer = match &scope {
        TenantScope::Common => cxh_wire::consts::ISSUER_TEMPLATE.to_string(),
        TenantScope::Tenant(t) => cxh_wire::consts::issuer_for(&t.id),
    };
    let path = match &scope {
        TenantScope::Common => "common".to_string(),
        TenantScope::Tenant(t) => t.id.clone(),
    };
    let base = format!("{}/{path}", state.config().public_url);
    let config = OpenIdConfiguration {
        authorization_endpoint: format!("{base}/oauth2/authorize"),
        token_endpoint: format!("{base}/oauth2/token"),
        token_endpoint_auth_methods_supported: strings(&["client_secret_post", "private_key_jwt"]),
        jwks_uri: format!("{}/common/discovery/keys", state.config().public_url),
        response_modes_supported: strings(&["query", "fragment", "form_post"]),
        subject_types_supported: strings(&["pairwise"]),
        id_token_signing_alg_values_supported: strings(&["RS256"]),
        http_logout_supported: true,
        response_types_supported: strings(&[
            "code",
            "id_token",
            "code id_token",
            "token id_token",
            "token",
        ]),
        scopes_supported: strings(&["openid"]),
        issuer,
        claims_supported: strings(&[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "amr",
            "nonce",
            "email",
            "given_name",
            "family_name",
            "nickname",
        ]),
        microsoft_multi_refresh_token: true,
        check_session_iframe: format!("{base}/oauth2/checksession"),
        end_session_endpoint: format!("{base}/oauth2/logout"),
        userinfo_endpoint: format!("{base}/openid/userinfo"),
    };
    let mut document =
        serde_json::to_value(config).map_err(|e| InternalError::Encoding(e.to_string()))?;
    // MS-OAPXBC: a tenant that requires KDF v2 says so in `capabilities`.
    if kdf_v2 {
        document["capabilities"] = serde_json::json!([cxh_wire::prt::CAPABILITY_KDF_V2]);
    }
    Ok(Json(document))
}

/// `GET /{tenant}/discovery/keys`: one key for all tenants, like the real service.
pub(crate) async fn jwks(State(state): State<AppState>) -> Json<cxh_wire::oidc::Jwks> {
    Json(state.keys().jwks())
}

/// What a login context stores: the request and the tenant scope it was made in.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredAuthorize {
    pub(crate) tenant: Option<String>,
    pub(crate) request: AuthorizeRequest,
    /// Made at the v2 endpoint (`/oauth2/v2.0/authorize`): its id_token is a v2 token.
    #[serde(default)]
    pub(crate) v2: bool,
}

/// Whether `redirect_uri` is registered for the client: exactly the join web app on this
/// authority (`public_url` + [`JOIN_WEB_APP_PATH`]), the out-of-band URI, an extra URI of the
/// client in the tenant file, or one configured with `--extra-redirect-uri`. No other origin
/// (in particular no other loopback port) is accepted, so a silent `prompt=none` answer
/// cannot be sent to an arbitrary local listener.
fn redirect_allowed(state: &AppState, client_id: &str, redirect_uri: &str) -> bool {
    let config = state.config();
    redirect_uri == OOB_REDIRECT_URI
        || redirect_uri == config.join_web_app_url()
        || config.extra_redirect_uris.iter().any(|u| u == redirect_uri)
        || config.client(client_id).is_some_and(|c| {
            c.redirect_uris
                .iter()
                .chain(&c.spa_redirect_uris)
                .any(|u| u == redirect_uri)
        })
}

pub(crate) fn is_join_web_app(redirect_uri: &str) -> bool {
    url::Url::parse(redirect_uri).is_ok_and(|u| u.path().ends_with(JOIN_WEB_APP_PATH))
}

/// Check an authorize request; errors here are shown as a page, never redirected.
fn validate_authorize(state: &AppState, request: &AuthorizeRequest) -> Result<(), AuthorityError> {
    if state.config().client(&request.client_id).is_none() {
        return Err(AuthorityError::UnknownClient(request.client_id.clone()));
    }
    if !redirect_allowed(state, &request.client_id, &request.redirect_uri) {
        return Err(AuthorityError::RedirectMismatch(
            request.redirect_uri.clone(),
        ));
    }
    if let Some(challenge) = request.code_challenge.as_deref() {
        crate::pkce::check_challenge(challenge, request.code_challenge_method.as_deref())?;
    }
    match request.response_type.as_str() {
        "id_token" if request.nonce.as_deref().unwrap_or("").is_empty() => {
            Err(AuthorityError::InvalidRequest(
                "the request must contain a 'nonce' for response_type=id_token".into(),
            ))
        }
        "id_token" | "code" => Ok(()),
        other => Err(AuthorityError::UnsupportedResponseType(other.to_string())),
    }
}

/// `GET /{tenant}/oauth2/authorize`.
async fn authorize(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<AuthorizeRequest>, QueryRejection>,
) -> Response {
    let started = query
        .map_err(|e| AuthorityError::InvalidRequest(e.body_text()))
        .and_then(|Query(request)| start_login(&state, &segment, request, false, (&headers, &uri)));
    started.unwrap_or_else(AuthorityError::into_html)
}

/// Record a login context for `request` (or answer a silent one); `v2` marks a request made
/// at the v2 endpoint.
pub(crate) fn start_login(
    state: &AppState,
    segment: &str,
    request: AuthorizeRequest,
    v2: bool,
    incoming: (&HeaderMap, &Uri),
) -> Result<Response, AuthorityError> {
    let (headers, uri) = incoming;
    let scope = TenantScope::resolve(state, segment)?;
    validate_authorize(state, &request)?;
    if let Some(answer) = prt_cookie_sign_in(state, &scope, &request, headers, uri)? {
        return Ok(answer);
    }
    if super::silent::is_silent(&request) {
        return super::silent::answer(state, scope.tenant_id(), &request, headers);
    }
    let ctx = random_token(32);
    let stored = StoredAuthorize {
        tenant: scope.tenant_id().map(str::to_string),
        request,
        v2,
    };
    let json =
        serde_json::to_string(&stored).map_err(|e| InternalError::Encoding(e.to_string()))?;
    let now = tokens::now();
    db::insert_login_context(&state.db(), &ctx, &json, now, now + LOGIN_CONTEXT_SECS)?;
    tracing::info!(client_id = %stored.request.client_id, "authorize: login context created");
    if is_join_web_app(&stored.request.redirect_uri) {
        let mut target = vec![("sCtx", ctx.as_str())];
        if let Some(hint) = stored.request.login_hint.as_deref() {
            target.push(("login_hint", hint));
        }
        return Ok(redirect_with_query(&stored.request.redirect_uri, &target));
    }
    Ok(sign_in_page(
        &ctx,
        stored.request.login_hint.as_deref(),
        None,
    ))
}

/// Answer `request` from a PRT SSO cookie the browser sent, when it proves the user and device
/// ([`super::prt_cookie`]): a code (even for `prompt=none`); a stale nonce gets this same
/// request back with a fresh `sso_nonce` to sign a new cookie with; anything else is logged
/// and the request goes on as if there were no cookie.
fn prt_cookie_sign_in(
    state: &AppState,
    scope: &TenantScope,
    request: &AuthorizeRequest,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Option<Response>, AuthorityError> {
    use super::prt_cookie::{self, CookieVerdict};
    let Some(cookie) = prt_cookie::from_headers(headers) else {
        return Ok(None);
    };
    match prt_cookie::verify(state, scope, &cookie) {
        CookieVerdict::SignedIn(sign_in) if request.response_type == "code" => {
            crate::conditional_access::check(state, &request.client_id, Some(&sign_in.device_id))?;
            let code = issue_device_code(state, request, &sign_in)?;
            tracing::info!(client_id = %request.client_id, device_id = %sign_in.device_id, "authorize: signed in with the PRT cookie");
            let state_param = request.state.clone().unwrap_or_default();
            Ok(Some(code_redirect(
                request,
                &[("code", &code), ("state", &state_param)],
            )))
        }
        CookieVerdict::SignedIn(_) => {
            tracing::info!(response_type = %request.response_type, "authorize: PRT cookie valid, but only codes are answered from it");
            Ok(None)
        }
        CookieVerdict::StaleNonce => {
            let nonce = super::token::srv_challenge::issue(state)?.nonce;
            tracing::info!(
                "authorize: PRT cookie with a stale nonce: retry with a fresh sso_nonce"
            );
            let retry = with_query(&without_sso_nonce(state, uri), &[("sso_nonce", &nonce)]);
            let already_retried = uri.query().is_some_and(|q| {
                url::form_urlencoded::parse(q.as_bytes()).any(|(name, _)| name == "sso_nonce")
            });
            if already_retried {
                // The browser came back with the old cookie (its extension had not yet signed a
                // new one): retry after a pause instead of redirecting in a tight loop.
                return Ok(Some(retry_page(&retry)));
            }
            Ok(Some(found(&retry)))
        }
        CookieVerdict::Invalid(reason) => {
            tracing::warn!(%reason, "authorize: PRT cookie ignored");
            Ok(None)
        }
    }
}

/// "Signing you in…", going to `retry` after a second.
fn retry_page(retry: &str) -> Response {
    let target = html_escape(retry);
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"1;url={target}\"><title>Signing you in</title></head>\
         <body><p>Signing you in…</p><p><a id=\"retry\" href=\"{target}\">Continue</a></p></body></html>"
    ))
    .into_response()
}

/// This request's absolute URL without an `sso_nonce` an earlier retry added (each retry
/// carries only the newest).
fn without_sso_nonce(state: &AppState, uri: &Uri) -> String {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let absolute = format!("{}{path}", state.config().public_url.trim_end_matches('/'));
    let Ok(mut url) = url::Url::parse(&absolute) else {
        return absolute;
    };
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| name != "sso_nonce")
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    url.to_string()
}

/// The server-rendered sign-in form for clients that are not the join web app.
fn sign_in_page(ctx: &str, login_hint: Option<&str>, error: Option<&str>) -> Response {
    let error_html = error
        .map(|e| format!("<p id=\"error\" role=\"alert\">{}</p>", html_escape(e)))
        .unwrap_or_default();
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head>\
         <body><h1>Sign in</h1>{error_html}\
         <form method=\"post\" action=\"/common/login?cxhver=1.0\">\
         <input type=\"hidden\" name=\"ctx\" value=\"{ctx}\">\
         <label>Email <input type=\"email\" name=\"login\" value=\"{login}\" autocomplete=\"username\"></label>\
         <label>Password <input type=\"password\" name=\"passwd\" autocomplete=\"current-password\"></label>\
         <button type=\"submit\">Sign in</button></form></body></html>",
        ctx = html_escape(ctx),
        login = html_escape(login_hint.unwrap_or("")),
    );
    Html(page).into_response()
}

/// Append query parameters to a URL (keeping any it has) and answer 302.
pub(crate) fn redirect_with_query(base: &str, params: &[(&str, &str)]) -> Response {
    found(&with_query(base, params))
}

/// `base` with query parameters appended (keeping any it has); unchanged if it is no URL.
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.to_string()
        }
        Err(_) => base.to_string(),
    }
}

/// Send a code or an error (and their parameters) to the redirect URI in the response mode
/// asked: the query by default, the fragment for `response_mode=fragment` (MSAL.js asks for it).
pub(crate) fn code_redirect(request: &AuthorizeRequest, params: &[(&str, &str)]) -> Response {
    match request.response_mode.as_deref() {
        Some("fragment") => redirect_with_fragment(&request.redirect_uri, params),
        _ => redirect_with_query(&request.redirect_uri, params),
    }
}

/// Put form-encoded parameters into the fragment (the id_token response mode).
fn redirect_with_fragment(base: &str, params: &[(&str, &str)]) -> Response {
    let fragment = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    found(&format!("{base}#{fragment}"))
}

/// A plain 302 (axum's `Redirect::to` is 303, ESTS answers 302).
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => Redirect::to("/").into_response(),
    }
}

/// Why a credential check failed; both keep the context usable.
enum CredentialFailure {
    UnknownUser,
    WrongPassword,
    /// Smart lockout: too many wrong passwords for this user, in any context.
    Locked(AuthorityError),
}

/// `POST /common/login?cxhflow=…&cxhver=…&cxhplatform=…`.
async fn login(
    State(state): State<AppState>,
    Query(cxh): Query<CxhLoginQuery>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let result = match form {
        Ok(Form(form)) => complete_login(&state, &cxh, &form),
        Err(e) => Err(AuthorityError::InvalidRequest(e.body_text())),
    };
    result.unwrap_or_else(AuthorityError::into_html)
}

fn complete_login(
    state: &AppState,
    cxh: &CxhLoginQuery,
    form: &LoginForm,
) -> Result<Response, AuthorityError> {
    let stored = live_login_context(state, &form.ctx)?;
    db::record_cxh_params(
        &state.db(),
        &form.ctx,
        cxh.cxhflow.as_deref(),
        cxh.cxhver.as_deref(),
        cxh.cxhplatform.as_deref(),
    )?;
    tracing::info!(
        cxhflow = cxh.cxhflow.as_deref().unwrap_or("-"),
        cxhver = cxh.cxhver.as_deref().unwrap_or("-"),
        cxhplatform = cxh.cxhplatform.as_deref().unwrap_or("-"),
        login = %form.login,
        "credentials posted"
    );
    match check_credentials(state, &stored, &form.login, &form.passwd)? {
        Ok((user, tenant)) => {
            let amr = vec!["pwd".to_string()];
            if let Some(challenge) =
                super::wsfed::second_factor_challenge(state, &form.ctx, &stored, &user, &amr)?
            {
                return Ok(challenge);
            }
            finish_sign_in(state, &form.ctx, &stored, &user, &tenant, amr)
        }
        Err(failure) => reject_credentials(state, &form.ctx, &stored.request, &form.login, failure),
    }
}

/// The stored authorize request of a context that is known, unexpired, unused and not locked.
pub(crate) fn live_login_context(
    state: &AppState,
    ctx: &str,
) -> Result<StoredAuthorize, AuthorityError> {
    let context = db::login_context(&state.db(), ctx)?.ok_or(AuthorityError::ContextExpired)?;
    let dead = context.consumed
        || context.expires_at < tokens::now()
        || context.failures >= MAX_LOGIN_FAILURES;
    if dead {
        return Err(AuthorityError::ContextExpired);
    }
    serde_json::from_str(&context.request_json)
        .map_err(|e| InternalError::Encoding(e.to_string()).into())
}

type CredentialCheck = Result<(User, Tenant), CredentialFailure>;

fn check_credentials(
    state: &AppState,
    stored: &StoredAuthorize,
    login: &str,
    password: &str,
) -> Result<CredentialCheck, AuthorityError> {
    let user = db::user_by_upn(&state.db(), login.trim())?;
    let scope_admits = |u: &User| {
        stored
            .tenant
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(&u.tenant_id))
    };
    let Some(user) = user.filter(scope_admits) else {
        return Ok(Err(CredentialFailure::UnknownUser));
    };
    // Smart lockout counts per user, across login contexts and grants.
    match super::token::password::check_password(state, &user, password) {
        Ok(()) => {}
        Err(AuthorityError::InvalidCredentials) => {
            return Ok(Err(CredentialFailure::WrongPassword))
        }
        Err(locked @ AuthorityError::Grant(_)) => {
            return Ok(Err(CredentialFailure::Locked(locked)))
        }
        Err(other) => return Err(other),
    }
    let tenant = db::tenant_by_id(&state.db(), &user.tenant_id)?
        .ok_or_else(|| AuthorityError::TenantNotFound(user.tenant_id.clone()))?;
    Ok(Ok((user, tenant)))
}

/// Count the failure and send the user back to try again within the same context.
fn reject_credentials(
    state: &AppState,
    ctx: &str,
    request: &AuthorizeRequest,
    login: &str,
    failure: CredentialFailure,
) -> Result<Response, AuthorityError> {
    let failures = db::record_login_failure(&state.db(), ctx)?;
    let error = match failure {
        CredentialFailure::UnknownUser => AuthorityError::UserNotFound(login.to_string()),
        CredentialFailure::WrongPassword => AuthorityError::InvalidCredentials,
        CredentialFailure::Locked(locked) => locked,
    };
    tracing::info!(failures, reason = %error, "sign-in failed");
    let body = error.body();
    if !is_join_web_app(&request.redirect_uri) {
        return Ok(sign_in_page(
            ctx,
            Some(login),
            Some(&body.error_description),
        ));
    }
    Ok(redirect_with_query(
        &request.redirect_uri,
        &[
            ("sCtx", ctx),
            ("login_hint", login),
            ("error", &body.error),
            ("error_description", &body.error_description),
        ],
    ))
}

/// Consume the context, open an SSO session and deliver the id_token or code.
pub(crate) fn finish_sign_in(
    state: &AppState,
    ctx: &str,
    stored: &StoredAuthorize,
    user: &User,
    tenant: &Tenant,
    amr: Vec<String>,
) -> Result<Response, AuthorityError> {
    let request = &stored.request;
    // A password (or federated) sign-in proves no device.
    crate::conditional_access::check(state, &request.client_id, None)?;
    if !db::consume_login_context(&state.db(), ctx)? {
        return Err(AuthorityError::ContextExpired);
    }
    let session_id = uuid::Uuid::new_v4().to_string();
    let now = tokens::now();
    db::insert_session(
        &state.db(),
        &session_id,
        &user.object_id,
        now,
        now + SESSION_SECS,
    )?;
    let state_param = request.state.clone().unwrap_or_default();
    let mut response = if request.response_type == "code" {
        let code = issue_code(state, request, user)?;
        let params = [
            ("code", code.as_str()),
            ("state", &state_param),
            ("session_state", &session_id),
        ];
        code_redirect(request, &params)
    } else {
        let subject = TokenSubject {
            user,
            tenant,
            client_id: &request.client_id,
        };
        let mut claims = tokens::id_token_claims(&subject, request.nonce.clone());
        super::mdm::add_id_token_claims(state, request, user, &mut claims);
        claims.amr = amr;
        if stored.v2 {
            super::v2::as_v2_id_token(state, &mut claims);
        }
        let id_token = tokens::sign(state.keys(), &claims)?;
        let params = [
            ("id_token", id_token.as_str()),
            ("state", &state_param),
            ("session_state", &session_id),
        ];
        match request.response_mode.as_deref() {
            Some("query") => redirect_with_query(&request.redirect_uri, &params),
            _ => redirect_with_fragment(&request.redirect_uri, &params),
        }
    };
    tracing::info!(upn = %user.upn, client_id = %request.client_id, "signed in");
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(state, &session_id)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

fn session_cookie(state: &AppState, session_id: &str) -> String {
    let secure = if state.config().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

pub(crate) fn issue_code(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
) -> Result<String, AuthorityError> {
    store_code(state, request, user, None)
}

/// A code for a sign-in a PRT cookie proved: its tokens carry the device and the PRT's amr.
pub(crate) fn issue_device_code(
    state: &AppState,
    request: &AuthorizeRequest,
    sign_in: &super::prt_cookie::DeviceSignIn,
) -> Result<String, AuthorityError> {
    store_code(state, request, &sign_in.user, Some(sign_in))
}

fn store_code(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
    device: Option<&super::prt_cookie::DeviceSignIn>,
) -> Result<String, AuthorityError> {
    let code = random_token(48);
    let data = AuthCode {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        user_object_id: user.object_id.clone(),
        nonce: request.nonce.clone(),
        resource: request.resource.clone(),
        expires_at: tokens::now() + AUTH_CODE_SECS,
        used: false,
        device_id: device.map(|d| d.device_id.clone()),
        amr: device.map(|d| d.amr.clone()),
        code_challenge: request.code_challenge.clone(),
        code_challenge_method: request.code_challenge.as_ref().map(|_| {
            request
                .code_challenge_method
                .clone()
                .unwrap_or_else(|| "plain".into())
        }),
    };
    db::insert_auth_code(&state.db(), &code, &data)?;
    Ok(code)
}
