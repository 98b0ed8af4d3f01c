//! The token endpoint, `POST /{tenant}/oauth2/token` (v1) and `/{tenant}/oauth2/v2.0/token`
//! (v2: `scope` in, `scope` echoed in the answer), one module per grant:
//!
//! | `grant_type` | module |
//! |---|---|
//! | `srv_challenge` (checked first: real clients send no `client_id`) | [`srv_challenge`] |
//! | `password` (with per-user smart lockout) | [`password`] |
//! | `authorization_code` | [`code`] |
//! | `refresh_token` (and bulk tokens) | [`refresh`] |
//! | `urn:ietf:params:oauth:grant-type:saml1_1-bearer` | [`saml`] |
//! | `urn:ietf:params:oauth:grant-type:jwt-bearer`, `request` signed RS256 by the device key (PRT request) | [`prt`] |
//! | the same, `request` signed HS256 by a session-key derived key (PRT renewal, tokens for apps) | [`prt_signed`] |
//!
//! The PRT grants carry their `client_id` inside the signed request, so the form's
//! `client_id` is required only for the other grants. State lives in SQLite ([`store`]).

pub mod code;
pub mod cors;
pub mod error;
pub mod password;
pub mod prt;
pub mod prt_signed;
pub mod refresh;
pub mod saml;
pub mod srv_challenge;
pub mod store;

use super::shared::{random_token, required, TenantScope};
use crate::db::{self, Tenant, User};
use crate::error::AuthorityError;
use crate::tokens::{self, TokenSubject};
use crate::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use cxh_wire::oidc::TokenResponse;
use cxh_wire::prt::{GRANT_JWT_BEARER, GRANT_PASSWORD, GRANT_SAML11_BEARER, GRANT_SRV_CHALLENGE};
use std::collections::HashMap;

/// Resource of a v1 token request that names none (Azure AD Graph, as ESTS defaults).
pub(crate) const DEFAULT_RESOURCE: &str = "00000002-0000-0000-c000-000000000000";
/// Scopes that ask for OpenID Connect artefacts, not for a resource.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "offline_access", "email", "aza", "ugs"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/oauth2/token",
            post(token_v1).options(cors::preflight),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token_v2).options(cors::preflight),
        )
}

/// Which token endpoint was called: v1 (`resource`) or v2 (`scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    V1,
    V2,
}

type TokenForm = Result<Form<HashMap<String, String>>, FormRejection>;

async fn token_v1(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    form: TokenForm,
) -> Response {
    token(&state, &segment, &headers, form, Endpoint::V1)
}

async fn token_v2(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    form: TokenForm,
) -> Response {
    token(&state, &segment, &headers, form, Endpoint::V2)
}

/// Answer a token request; a SPA's cross-origin redemption gets its CORS headers ([`cors`]).
fn token(
    state: &AppState,
    segment: &str,
    headers: &HeaderMap,
    form: TokenForm,
    endpoint: Endpoint,
) -> Response {
    let answer = form
        .map_err(|e| AuthorityError::InvalidRequest(e.body_text()))
        .and_then(|Form(form)| {
            let allowed = cors::check(state, headers, &form)?;
            Ok((grant_answer(state, segment, &form, endpoint)?, allowed))
        });
    match answer {
        Ok((response, allowed)) => cors::allow(response, allowed),
        Err(error) => error.into_response(),
    }
}

fn grant_answer(
    state: &AppState,
    segment: &str,
    form: &HashMap<String, String>,
    endpoint: Endpoint,
) -> Result<Response, AuthorityError> {
    let grant_type = required(form, "grant_type")?;
    if grant_type == GRANT_SRV_CHALLENGE {
        return Ok(Json(srv_challenge::issue(state)?).into_response());
    }
    let scope = TenantScope::resolve(state, segment)?;
    if grant_type == GRANT_JWT_BEARER {
        return prt::answer(state, &scope, form);
    }
    let client_id = required(form, "client_id")?;
    if state.config().client(client_id).is_none() {
        return Err(AuthorityError::UnknownClient(client_id.to_string()));
    }
    let grant = match grant_type {
        GRANT_PASSWORD => password::grant(state, &scope, form, endpoint)?,
        "authorization_code" => code::grant(state, &scope, form, client_id, endpoint)?,
        "refresh_token" => refresh::grant(state, &scope, form, client_id, endpoint)?,
        GRANT_SAML11_BEARER => saml::grant(state, &scope, form, endpoint)?,
        other => return Err(AuthorityError::UnsupportedGrant(other.to_string())),
    };
    crate::conditional_access::check(state, client_id, grant.device_id.as_deref())?;
    let mut tokens = issue_tokens(state, &grant, client_id)?;
    if form.get("client_info").map(String::as_str) == Some("1") {
        tokens.client_info = Some(prt::client_info(&grant.user)?);
    }
    Ok(Json(tokens).into_response())
}

/// Who a grant authenticated, how, and for which resource.
pub(crate) struct Grant {
    pub(crate) user: User,
    pub(crate) tenant: Tenant,
    pub(crate) resource: String,
    /// v2: the `scope` as asked, echoed in the answer; v1: none.
    pub(crate) v2_scope: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) amr: Vec<String>,
    /// The device the sign-in proved (a code from a PRT cookie sign-in); tokens carry it.
    pub(crate) device_id: Option<String>,
    /// Whether the answer carries a new refresh token (not for a bulk token's redemption).
    pub(crate) issues_refresh_token: bool,
}

/// The resource a `scope` names: `<resource>/.default`, `<resource>/<permission>` (a URL
/// with a path), or a bare resource URI.
pub(crate) fn resource_of_scope(scope: &str) -> Option<String> {
    let named = scope
        .split_whitespace()
        .filter(|s| !OIDC_SCOPES.contains(s))
        .find(|s| s.contains('/') || s.starts_with("urn:"))?;
    if let Some(resource) = named.strip_suffix("/.default") {
        return Some(resource.to_string());
    }
    if named.starts_with("urn:") {
        return Some(named.to_string());
    }
    match url::Url::parse(named) {
        Ok(url) if url.path() != "/" && !url.path().is_empty() => named
            .rsplit_once('/')
            .map(|(resource, _)| resource.to_string()),
        _ => Some(named.to_string()),
    }
}

/// The resource of a request: v1 `resource` (else a `scope` naming one); v2 only `scope`.
pub(crate) fn requested_resource(form: &HashMap<String, String>, endpoint: Endpoint) -> String {
    let named = form.get("resource").filter(|r| !r.is_empty());
    if let (Endpoint::V1, Some(resource)) = (endpoint, named) {
        return resource.clone();
    }
    form.get("scope")
        .and_then(|scope| resource_of_scope(scope))
        .unwrap_or_else(|| DEFAULT_RESOURCE.to_string())
}

/// The scope a v2 request asked for (echoed in the answer); none for v1.
pub(crate) fn v2_scope(form: &HashMap<String, String>, endpoint: Endpoint) -> Option<String> {
    match endpoint {
        Endpoint::V1 => None,
        Endpoint::V2 => form.get("scope").cloned(),
    }
}

/// `scp` of a v2 access token: the asked permissions without their resource prefix.
pub(crate) fn v2_permissions(scope: &str) -> String {
    let permissions: Vec<&str> = scope
        .split_whitespace()
        .filter(|s| !OIDC_SCOPES.contains(s))
        .map(|s| s.rsplit_once('/').map_or(s, |(_, p)| p))
        .collect();
    permissions.join(" ")
}

pub(crate) fn issue_tokens(
    state: &AppState,
    grant: &Grant,
    client_id: &str,
) -> Result<TokenResponse, AuthorityError> {
    let subject = TokenSubject {
        user: &grant.user,
        tenant: &grant.tenant,
        client_id,
    };
    let mut access = tokens::access_token_claims(&subject, &grant.resource);
    access.amr = grant.amr.clone();
    access.deviceid = grant.device_id.clone();
    if let Some(scope) = &grant.v2_scope {
        access.scp = v2_permissions(scope);
    }
    let access_token = tokens::sign(state.keys(), &access)?;
    let mut id_claims = tokens::id_token_claims(&subject, grant.nonce.clone());
    id_claims.amr = grant.amr.clone();
    // The v2 endpoint (the one with a `scope`) answers a v2 id_token, as its sign-in does.
    if grant.v2_scope.is_some() {
        super::v2::as_v2_id_token(state, &mut id_claims);
    }
    let id_token = tokens::sign(state.keys(), &id_claims)?;
    let refresh_token = if grant.issues_refresh_token {
        let token = random_token(64);
        db::insert_refresh_token(
            &state.db(),
            &token,
            &grant.user.object_id,
            client_id,
            &grant.resource,
            access.iat,
        )?;
        Some(token)
    } else {
        None
    };
    let lifetime = tokens::TOKEN_LIFETIME_SECS.to_string();
    Ok(TokenResponse {
        token_type: "Bearer".into(),
        scope: Some(grant.v2_scope.clone().unwrap_or(access.scp.clone())),
        expires_in: lifetime.clone(),
        ext_expires_in: Some(lifetime),
        expires_on: access.exp.to_string(),
        not_before: access.nbf.to_string(),
        resource: grant.resource.clone(),
        access_token,
        refresh_token,
        id_token: Some(id_token),
        client_info: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_names_its_resource() {
        let graph = Some("https://graph.microsoft.com".to_string());
        assert_eq!(
            resource_of_scope("https://graph.microsoft.com/.default"),
            graph
        );
        assert_eq!(
            resource_of_scope("openid https://graph.microsoft.com/User.Read"),
            graph
        );
        assert_eq!(
            resource_of_scope("http://127.0.0.1:4000/").as_deref(),
            Some("http://127.0.0.1:4000/")
        );
        assert_eq!(
            resource_of_scope("urn:ms-drs:enterpriseregistration.windows.net").as_deref(),
            Some("urn:ms-drs:enterpriseregistration.windows.net")
        );
        assert_eq!(resource_of_scope("openid profile offline_access"), None);
    }

    #[test]
    fn v2_permissions_drop_the_resource_and_oidc_scopes() {
        assert_eq!(
            v2_permissions("openid https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read"),
            "User.Read Mail.Read"
        );
        assert_eq!(v2_permissions("openid offline_access"), "");
    }
}
