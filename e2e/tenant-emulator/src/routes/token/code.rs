//! `grant_type=authorization_code`: a code is single use, bound to its client and redirect
//! URI, and to the resource it was issued for: a redemption may repeat that resource but not
//! name another one. A code issued for a PKCE challenge needs the `code_verifier` that answers
//! it ([`crate::pkce`]).

use super::{requested_resource, v2_scope, Endpoint, Grant};
use crate::db;
use crate::error::AuthorityError;
use crate::routes::shared::{required, tenant_of, TenantScope};
use crate::tokens;
use crate::AppState;
use std::collections::HashMap;

pub(crate) fn grant(
    state: &AppState,
    scope: &TenantScope,
    form: &HashMap<String, String>,
    client_id: &str,
    endpoint: Endpoint,
) -> Result<Grant, AuthorityError> {
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let stored = db::take_auth_code(&state.db(), code)?.ok_or(AuthorityError::InvalidCode)?;
    let valid = !stored.used
        && stored.expires_at >= tokens::now()
        && stored.client_id.eq_ignore_ascii_case(client_id)
        && stored.redirect_uri == redirect_uri;
    if !valid {
        return Err(AuthorityError::InvalidCode);
    }
    if let Some(challenge) = stored.code_challenge.as_deref() {
        let method = stored.code_challenge_method.as_deref().unwrap_or("plain");
        let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
        if !crate::pkce::verifies(challenge, method, verifier) {
            return Err(AuthorityError::PkceMismatch);
        }
    }
    let user = db::user_by_object_id(&state.db(), &stored.user_object_id)?
        .filter(|u| scope.admits(u))
        .ok_or(AuthorityError::InvalidCode)?;
    let tenant = tenant_of(state, &user)?;
    let asked = form
        .get("resource")
        .filter(|r| !r.is_empty())
        .cloned()
        .or_else(|| form.get("scope").and_then(|s| super::resource_of_scope(s)));
    let resource = match (stored.resource, asked) {
        (Some(issued), Some(asked)) if asked != issued => {
            tracing::info!("code redemption refused: another resource than the code's");
            return Err(AuthorityError::InvalidCode);
        }
        (Some(issued), _) => issued,
        (None, Some(asked)) => asked,
        (None, None) => requested_resource(form, endpoint),
    };
    Ok(Grant {
        user,
        tenant,
        resource,
        v2_scope: v2_scope(form, endpoint),
        nonce: stored.nonce,
        amr: stored.amr.unwrap_or_else(|| vec!["pwd".to_string()]),
        device_id: stored.device_id,
        issues_refresh_token: true,
    })
}
