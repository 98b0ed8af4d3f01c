//! The authority's side of federation and of the second factor:
//! - the federated user realm answer (AuthURL at the domain's STS);
//! - `POST /login.srf`, where AD FS posts WS-Federation tokens for Microsoft Online (the
//!   relying party trust's endpoint on the real service): the SAML assertion is verified
//!   against the STS's certificate, the `wctx` tied back to its login context, and the user
//!   (by ImmutableID) signed in;
//! - `POST /common/SAS/ProcessAuth`, ESTS's path for completing strong authentication: the
//!   join web app posts the TOTP code (`request` = login context, `otc` = code);
//! - [`federated_user`], the assertion check the token endpoint's `saml1_1-bearer` grant
//!   (`super::token::saml`) shares with `/login.srf`.
//!
//! amr follows what was done: `pwd`; `mfa` when a second factor was proven (here or at the
//! STS, whose `authnmethodsreferences` claim is passed through); `fed` for federated sign-in.

use super::oidc::{self, StoredAuthorize};
use super::shared::tenant_of;
use crate::db::{self, User};
use crate::error::{html_escape, AuthorityError, InternalError};
use crate::federation::{self, CodeCheck};
use crate::saml::{self, SamlError, AUTHN_MULTIPLE, MICROSOFT_ONLINE};
use crate::tokens;
use crate::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Router};
use cxh_wire::consts::JOIN_WEB_APP_PATH;
use cxh_wire::oidc::{aadsts, OAuthError};
use cxh_wire::realm::{NameSpaceType, UserRealm};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How long a password-verified sign-in waits for its code.
const PENDING_SECS: i64 = 10 * 60;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(crate::sts::AUTHORITY_WSFED_PATH, post(wsfed_post))
        .route("/common/SAS/ProcessAuth", post(process_auth))
}

/// Test-only routes, mounted only with `--test-hooks` ([`Config::test_hooks`]): they mint
/// genuine STS tokens without a password.
///
/// [`Config::test_hooks`]: crate::config::Config::test_hooks
pub fn test_hook_routes() -> Router<AppState> {
    Router::new().route("/_emulator/sts/{id}/wresult", post(test_wresult))
}

/// Test hook (only with `--test-hooks`): a `wresult` signed by STS `id` for one of its
/// users, issued `issued_secs_ago` seconds ago with `lifetime_secs` of validity, so tests can
/// post expired or not-yet-valid tokens that are otherwise genuine.
#[derive(Deserialize)]
struct TestTokenRequest {
    upn: String,
    #[serde(default)]
    issued_secs_ago: i64,
    #[serde(default = "default_lifetime")]
    lifetime_secs: i64,
}

fn default_lifetime() -> i64 {
    3600
}

async fn test_wresult(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Json(request): axum::Json<TestTokenRequest>,
) -> Result<String, AuthorityError> {
    let sts = federation::sts_by_id(&state.db(), &id)?
        .ok_or_else(|| AuthorityError::InvalidRequest(format!("no STS {id}")))?;
    let user = federation::sts_user(&state.db(), &id, &request.upn)?
        .ok_or_else(|| AuthorityError::UserNotFound(request.upn.clone()))?;
    let issued = tokens::now() - request.issued_secs_ago;
    let assertion = crate::sts::issue_token_at(
        &sts,
        &user,
        &[saml::AUTHN_PASSWORD],
        issued,
        request.lifetime_secs,
    )?;
    Ok(saml::wrap_rstr(
        &assertion,
        issued,
        issued + request.lifetime_secs,
    ))
}

/// Why a federated token or a second factor was refused.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("the federation partner's token is not valid: {0}")]
    InvalidToken(SamlError),
    #[error("the assertion is not valid: {0}")]
    InvalidAssertion(SamlError),
    #[error("no federation trust matches the token's issuer")]
    UnknownIssuer,
    #[error("the federated user {0} does not exist in the directory")]
    UnknownUser(String),
    #[error("the wctx parameter does not match the sign-in request")]
    ContextMismatch,
    #[error("the assertion is not valid: it has already been used (replay)")]
    Replayed,
    #[error("strong authentication failed: the verification code is not correct ({0} tries left)")]
    WrongCode(u32),
    #[error("the account's second factor is locked after too many wrong verification codes")]
    Locked,
}

impl FederationError {
    fn body(&self) -> OAuthError {
        let (error, code) = match self {
            FederationError::InvalidToken(_) | FederationError::UnknownIssuer => {
                ("invalid_grant", aadsts::INVALID_SAML_TOKEN)
            }
            FederationError::InvalidAssertion(_) | FederationError::Replayed => {
                ("invalid_grant", aadsts::INVALID_ASSERTION)
            }
            FederationError::UnknownUser(_) => ("invalid_grant", aadsts::USER_NOT_FOUND),
            FederationError::ContextMismatch => ("invalid_request", aadsts::INVALID_PARAMETER),
            FederationError::WrongCode(_) => ("invalid_grant", aadsts::STRONG_AUTH_FAILED),
            FederationError::Locked => ("access_denied", aadsts::ACCOUNT_LOCKED),
        };
        let mut body = OAuthError::aadsts(error, code, &self.to_string());
        body.timestamp = crate::error::now_rfc3339();
        body.trace_id = uuid::Uuid::new_v4().to_string();
        body.correlation_id = uuid::Uuid::new_v4().to_string();
        body
    }

    /// As a token endpoint answer (JSON, 400).
    pub(crate) fn into_json(self) -> AuthorityError {
        AuthorityError::Federation(Box::new(self.body()))
    }
}

fn from_saml(error: SamlError) -> FederationError {
    match error {
        SamlError::Expired
        | SamlError::NotYetValid
        | SamlError::MissingConditions
        | SamlError::MissingValidity
        | SamlError::WrongAudience
        | SamlError::WrongIssuer(_) => FederationError::InvalidAssertion(error),
        other => FederationError::InvalidToken(other),
    }
}

/// The origin of the STS a domain federates to, or `None` when the domain is not federated
/// (or its STS has no listener).
pub fn federation_base(state: &AppState, domain: &str) -> Result<Option<String>, AuthorityError> {
    let Some(sts) = federation::sts_for_domain(&state.db(), domain)? else {
        return Ok(None);
    };
    Ok(state.config().sts_urls.get(&sts.id).cloned())
}

/// The api-version 2.1 realm of a federated domain, or `None` when the domain is not one.
pub fn federated_realm(
    state: &AppState,
    login: &str,
    domain: &str,
) -> Result<Option<UserRealm>, AuthorityError> {
    let Some(sts) = federation::sts_for_domain(&state.db(), domain)? else {
        return Ok(None);
    };
    let Some(base) = state.config().sts_urls.get(&sts.id) else {
        return Ok(None);
    };
    let username: String = url::form_urlencoded::byte_serialize(login.as_bytes()).collect();
    let auth_url = format!(
        "{base}/adfs/ls/?username={username}&wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx="
    );
    Ok(Some(UserRealm {
        name_space_type: NameSpaceType::Federated,
        login: login.to_string(),
        domain_name: Some(domain.to_ascii_lowercase()),
        federation_brand_name: Some(sts.brand_name),
        is_domain_verified: Some(1),
        federation_protocol: Some("WSTrust".into()),
        auth_url: Some(auth_url),
        tenant_branding_info: Vec::new(),
        cloud_instance_name: Some("microsoftonline.com".into()),
    }))
}

/// What a login context remembers while it waits for the second factor.
#[derive(Serialize, Deserialize)]
struct PendingFactor {
    amr: Vec<String>,
}

/// After the first factor: when the user has a second factor at the authority (and has not
/// proven one already), remember the sign-in and send the join web app to the code prompt.
/// Other clients get the server-rendered form, which has no code prompt: they are refused
/// (AADSTS50076) rather than let through on the password alone.
pub(crate) fn second_factor_challenge(
    state: &AppState,
    ctx: &str,
    stored: &StoredAuthorize,
    user: &User,
    amr: &[String],
) -> Result<Option<Response>, AuthorityError> {
    if amr.iter().any(|m| m == "mfa") {
        return Ok(None);
    }
    if federation::second_factor(&state.db(), &user.object_id)?.is_none() {
        return Ok(None);
    }
    if !oidc::is_join_web_app(&stored.request.redirect_uri) {
        tracing::info!(upn = %user.upn, "sign-in refused: second factor required, no prompt for this client");
        return Err(AuthorityError::MfaRequired(
            stored.request.client_id.clone(),
        ));
    }
    let payload = serde_json::to_string(&PendingFactor { amr: amr.to_vec() })
        .map_err(|e| InternalError::Encoding(e.to_string()))?;
    federation::insert_pending(
        &state.db(),
        ctx,
        &user.object_id,
        &payload,
        tokens::now() + PENDING_SECS,
    )?;
    tracing::info!(upn = %user.upn, "second factor required");
    Ok(Some(oidc::redirect_with_query(
        &stored.request.redirect_uri,
        &[
            ("sCtx", ctx),
            ("mfa", "required"),
            ("login_hint", &user.upn),
        ],
    )))
}

/// Send a refused sign-in back to the app (the context is spent; the app offers to start
/// over), or show the error when the client is not the join web app.
fn refuse(
    state: &AppState,
    ctx: &str,
    stored: &StoredAuthorize,
    error: FederationError,
) -> Response {
    tracing::info!(reason = %error, "federated sign-in refused");
    if let Err(e) = db::consume_login_context(&state.db(), ctx) {
        return AuthorityError::from(e).into_html();
    }
    let body = error.body();
    oidc::redirect_with_query(
        &stored.request.redirect_uri,
        &[
            ("error", &body.error),
            ("error_description", &body.error_description),
        ],
    )
}

/// An error page with a way back to the join web app, for requests whose context is unknown
/// (their redirect target cannot be trusted).
fn dead_end(error: &AuthorityError) -> Response {
    let body = error.body();
    let page = format!(
        "<!DOCTYPE html><html><head><title>Sign in error</title></head><body>\
         <h1>Sorry, but we're having trouble signing you in.</h1>\
         <p id=\"error\">{}</p><p id=\"error_description\" data-testid=\"authority-error\">{}</p>\
         <p><a href=\"{JOIN_WEB_APP_PATH}\" data-testid=\"link-start-over\">Start over</a></p></body></html>",
        html_escape(&body.error),
        html_escape(&body.error_description)
    );
    (error.status(), Html(page)).into_response()
}

/// The WS-Federation sign-in response fields.
#[derive(Deserialize)]
struct WsFedResponse {
    #[serde(default)]
    wa: String,
    #[serde(default)]
    wresult: String,
    #[serde(default)]
    wctx: String,
}

/// `wctx` as the join web app writes it: `estsrequest=<login context>&state=<state>`.
fn parse_wctx(wctx: &str) -> (Option<String>, Option<String>) {
    let pairs: HashMap<String, String> = url::form_urlencoded::parse(wctx.as_bytes())
        .into_owned()
        .collect();
    (
        pairs.get("estsrequest").cloned(),
        pairs.get("state").cloned(),
    )
}

/// `POST /login.srf` (form: `wa`, `wresult`, `wctx`).
async fn wsfed_post(
    State(state): State<AppState>,
    form: Result<Form<WsFedResponse>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) if form.wa == "wsignin1.0" => form,
        Ok(_) => {
            return dead_end(&AuthorityError::InvalidRequest(
                "wa must be wsignin1.0".into(),
            ))
        }
        Err(e) => return dead_end(&AuthorityError::InvalidRequest(e.body_text())),
    };
    let (ctx, wctx_state) = parse_wctx(&form.wctx);
    let Some(ctx) = ctx else {
        return dead_end(&AuthorityError::ContextExpired);
    };
    let stored = match oidc::live_login_context(&state, &ctx) {
        Ok(stored) => stored,
        Err(e) => return dead_end(&e),
    };
    if wctx_state != stored.request.state {
        return refuse(&state, &ctx, &stored, FederationError::ContextMismatch);
    }
    match federated_user(&state, &form.wresult, stored.tenant.as_deref()) {
        Ok(Ok((user, amr))) => complete_federated(&state, &ctx, &stored, &user, amr)
            .unwrap_or_else(AuthorityError::into_html),
        Ok(Err(error)) => refuse(&state, &ctx, &stored, error),
        Err(e) => e.into_html(),
    }
}

fn complete_federated(
    state: &AppState,
    ctx: &str,
    stored: &StoredAuthorize,
    user: &User,
    amr: Vec<String>,
) -> Result<Response, AuthorityError> {
    if let Some(challenge) = second_factor_challenge(state, ctx, stored, user, &amr)? {
        return Ok(challenge);
    }
    let tenant = tenant_of(state, user)?;
    oidc::finish_sign_in(state, ctx, stored, user, &tenant, amr)
}

pub(crate) type FederatedUser = Result<(User, Vec<String>), FederationError>;

/// Verify the token against the trust of its issuer and find the synced user it names.
pub(crate) fn federated_user(
    state: &AppState,
    xml: &str,
    tenant_scope: Option<&str>,
) -> Result<FederatedUser, AuthorityError> {
    let Some(issuer) = saml::claimed_issuer(xml) else {
        return Ok(Err(FederationError::InvalidToken(
            SamlError::AssertionCount,
        )));
    };
    let Some(sts) = federation::sts_by_issuer(&state.db(), &issuer)? else {
        return Ok(Err(FederationError::UnknownIssuer));
    };
    let key = sts.public_key()?;
    let trust = saml::Trust {
        issuer: &sts.issuer,
        key: &key,
    };
    let now = tokens::now();
    let verified = match saml::verify_assertion(xml, &trust, now) {
        Ok(verified) => verified,
        Err(e) => return Ok(Err(from_saml(e))),
    };
    // One use per assertion, at /login.srf and the token endpoint alike.
    let expires_at = verified.not_on_or_after + saml::SKEW_SECS;
    if !federation::consume_assertion(
        &state.db(),
        &sts.id,
        &verified.assertion_id,
        expires_at,
        now,
    )? {
        return Ok(Err(FederationError::Replayed));
    }
    let claims = verified.claims;
    let user = federation::cloud_user_by_immutable_id(&state.db(), &sts.id, &claims.immutable_id)?
        .filter(|u| u.upn.eq_ignore_ascii_case(&claims.upn))
        .filter(|u| tenant_scope.is_none_or(|t| t.eq_ignore_ascii_case(&u.tenant_id)));
    let Some(user) = user else {
        return Ok(Err(FederationError::UnknownUser(claims.upn)));
    };
    let mut amr = vec!["pwd".to_string()];
    if claims.auth_methods.iter().any(|m| m == AUTHN_MULTIPLE) {
        amr.push("mfa".into());
    }
    amr.push("fed".into());
    tracing::info!(upn = %user.upn, sts = %sts.id, audience = MICROSOFT_ONLINE, "federated token accepted");
    Ok(Ok((user, amr)))
}

/// The code form of the join web app's MFA page.
#[derive(Deserialize)]
struct ProcessAuthForm {
    #[serde(default)]
    request: String,
    #[serde(default)]
    otc: String,
}

/// `POST /common/SAS/ProcessAuth` (form: `request` = login context, `otc` = code).
async fn process_auth(
    State(state): State<AppState>,
    form: Result<Form<ProcessAuthForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(e) => return dead_end(&AuthorityError::InvalidRequest(e.body_text())),
    };
    let stored = match oidc::live_login_context(&state, &form.request) {
        Ok(stored) => stored,
        Err(e) => return dead_end(&e),
    };
    verify_second_factor(&state, &form.request, &stored, &form.otc).unwrap_or_else(|e| dead_end(&e))
}

fn verify_second_factor(
    state: &AppState,
    ctx: &str,
    stored: &StoredAuthorize,
    code: &str,
) -> Result<Response, AuthorityError> {
    let now = tokens::now();
    let (object_id, payload) =
        federation::pending(&state.db(), ctx, now)?.ok_or(AuthorityError::ContextExpired)?;
    let user =
        db::user_by_object_id(&state.db(), &object_id)?.ok_or(AuthorityError::ContextExpired)?;
    // Bound first: a guard in the match scrutinee would hold the database lock in every arm.
    let check = federation::check_code(&state.db(), &object_id, code, now)?;
    match check {
        CodeCheck::Accepted => {
            federation::delete_pending(&state.db(), ctx)?;
            let pending: PendingFactor = serde_json::from_str(&payload)
                .map_err(|e| InternalError::Encoding(e.to_string()))?;
            let mut amr = pending.amr;
            amr.insert(1.min(amr.len()), "mfa".into());
            let tenant = tenant_of(state, &user)?;
            oidc::finish_sign_in(state, ctx, stored, &user, &tenant, amr)
        }
        CodeCheck::Wrong(left) => {
            let body = FederationError::WrongCode(left).body();
            tracing::info!(left, "wrong verification code");
            Ok(oidc::redirect_with_query(
                &stored.request.redirect_uri,
                &[
                    ("sCtx", ctx),
                    ("mfa", "required"),
                    ("login_hint", &user.upn),
                    ("error", &body.error),
                    ("error_description", &body.error_description),
                ],
            ))
        }
        CodeCheck::Locked => {
            federation::delete_pending(&state.db(), ctx)?;
            Ok(refuse(state, ctx, stored, FederationError::Locked))
        }
    }
}

/// Errors of this module as the authority renders them.
impl From<FederationError> for AuthorityError {
    fn from(error: FederationError) -> Self {
        error.into_json()
    }
}
