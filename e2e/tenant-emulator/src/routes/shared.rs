//! Helpers the authority's route modules share (sign-in pages, federation, the token
//! endpoint), so that none of them imports another: the `{tenant}` path segment, required form
//! fields, the user's tenant, and the second-factor rule of non-interactive grants.

use crate::db::{self, Tenant, User};
use crate::error::AuthorityError;
use crate::AppState;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::HashMap;

/// The `{tenant}` path segment: `common` (any tenant) or one resolved tenant.
pub(crate) enum TenantScope {
    Common,
    Tenant(Tenant),
}

impl TenantScope {
    pub(crate) fn resolve(state: &AppState, segment: &str) -> Result<Self, AuthorityError> {
        if segment.eq_ignore_ascii_case("common") || segment.eq_ignore_ascii_case("organizations") {
            return Ok(TenantScope::Common);
        }
        db::tenant_by_id_or_domain(&state.db(), segment)?
            .map(TenantScope::Tenant)
            .ok_or_else(|| AuthorityError::TenantNotFound(segment.to_string()))
    }

    pub(crate) fn tenant_id(&self) -> Option<&str> {
        match self {
            TenantScope::Common => None,
            TenantScope::Tenant(t) => Some(&t.id),
        }
    }

    /// Whether a user (or device) of `tenant_id` may authenticate through this scope.
    pub(crate) fn admits_tenant(&self, tenant_id: &str) -> bool {
        self.tenant_id()
            .is_none_or(|id| id.eq_ignore_ascii_case(tenant_id))
    }

    /// Whether a user may sign in through this scope.
    pub(crate) fn admits(&self, user: &User) -> bool {
        self.admits_tenant(&user.tenant_id)
    }
}

/// Random bytes as base64url: login contexts, codes, refresh tokens, nonces.
pub(crate) fn random_token(bytes: usize) -> String {
    let data: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(data)
}

/// A form field that must be present and non-empty.
pub(crate) fn required<'a>(
    form: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, AuthorityError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            AuthorityError::InvalidRequest(format!(
                "the request body must contain the parameter '{name}'"
            ))
        })
}

pub(crate) fn tenant_of(state: &AppState, user: &User) -> Result<Tenant, AuthorityError> {
    db::tenant_by_id(&state.db(), &user.tenant_id)?
        .ok_or_else(|| AuthorityError::TenantNotFound(user.tenant_id.clone()))
}

/// Refuse a non-interactive grant (ROPC, SAML bearer, PRT) for a user who has a second factor
/// at the authority when `amr` does not show one was proven: AADSTS50076, as ESTS answers.
pub(crate) fn require_proven_factor(
    state: &AppState,
    user: &User,
    amr: &[String],
    resource: &str,
) -> Result<(), AuthorityError> {
    if amr.iter().any(|m| m == "mfa") {
        return Ok(());
    }
    if crate::federation::second_factor(&state.db(), &user.object_id)?.is_some() {
        tracing::info!(upn = %user.upn, "non-interactive grant refused: second factor required");
        return Err(AuthorityError::MfaRequired(resource.to_string()));
    }
    Ok(())
}

/// The value of the cookie `name` the browser sent (first match; names compared as ESTS does,
/// ignoring ASCII case), if any.
pub(crate) fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_string())
}

/// Middleware for the authority's public documents (OpenID metadata, signing keys): readable
/// from any web origin, as the real authority serves them (`Access-Control-Allow-Origin: *`),
/// since a single-page app (MSAL.js) fetches the metadata cross-origin before it signs in.
pub(crate) async fn readable_from_any_origin(
    mut response: axum::response::Response,
) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        axum::http::HeaderValue::from_static("*"),
    );
    response
}
