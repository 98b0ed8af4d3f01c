//! Silent (`prompt=none`) authorization: the SSO half of `authorize`.
//!
//! After the join web app's sign-in, `/common/login` leaves an `ESTSAUTH` session cookie on the
//! authority's origin. A later `authorize` with `prompt=none` (the MDM app's silent code
//! request of seed 001 step 5) is answered from that session without showing any page: a code
//! (or id_token) in the redirect, or `error=interaction_required` when there is no live
//! session, never a sign-in form.

use crate::db::{self, User};
use crate::error::{AuthorityError, InternalError};
use crate::routes::oidc::{code_redirect, issue_code, SESSION_COOKIE};
use crate::tokens;
use crate::AppState;
use axum::http::HeaderMap;
use axum::response::Response;
use cxh_wire::oidc::AuthorizeRequest;
use rusqlite::{params, OptionalExtension};

/// AADSTS50058: a silent sign-in request was sent but no user is signed in.
const NO_SESSION: u32 = 50058;

/// Whether this authorize request must be answered without interaction.
pub fn is_silent(request: &AuthorizeRequest) -> bool {
    request.prompt.as_deref() == Some("none")
}

/// Answer a validated `prompt=none` request from the session cookie.
pub fn answer(
    state: &AppState,
    tenant: Option<&str>,
    request: &AuthorizeRequest,
    headers: &HeaderMap,
) -> Result<Response, AuthorityError> {
    let state_param = request.state.clone().unwrap_or_default();
    let user = match session_cookie(headers) {
        Some(id) => session_user(state, &id)?,
        None => None,
    };
    let admitted = user.filter(|u| tenant.is_none_or(|t| t.eq_ignore_ascii_case(&u.tenant_id)));
    let Some(user) = admitted else {
        tracing::info!(client_id = %request.client_id, "silent authorize: no session");
        let description = format!(
            "AADSTS{NO_SESSION}: A silent sign-in request was sent but no user is signed in."
        );
        return Ok(code_redirect(
            request,
            &[
                ("error", "interaction_required"),
                ("error_description", &description),
                ("state", &state_param),
            ],
        ));
    };
    if let Err(refused) = crate::conditional_access::check(state, &request.client_id, None) {
        // The session proves the user, not the device: the app must send the user through
        // a sign-in that does (the browser's PRT cookie).
        let description = format!(
            "AADSTS{}: {refused}",
            cxh_wire::oidc::aadsts::DEVICE_STATE_REQUIRED
        );
        return Ok(code_redirect(
            request,
            &[
                ("error", "interaction_required"),
                ("error_description", &description),
                ("state", &state_param),
            ],
        ));
    }
    if request.response_type != "code" {
        return Err(AuthorityError::UnsupportedResponseType(format!(
            "{} (prompt=none answers codes only)",
            request.response_type
        )));
    }
    let code = issue_code(state, request, &user)?;
    tracing::info!(client_id = %request.client_id, "silent authorize: code issued from the session");
    Ok(code_redirect(
        request,
        &[("code", &code), ("state", &state_param)],
    ))
}

/// The value of the `ESTSAUTH` cookie, if the browser sent it.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    super::shared::cookie_value(headers, SESSION_COOKIE)
}

/// The user of a live session.
fn session_user(state: &AppState, session_id: &str) -> Result<Option<User>, InternalError> {
    let conn = state.db();
    let row: Option<(String, i64)> = conn
        .query_row(
            "SELECT user_object_id, expires_at FROM sessions WHERE id = ?1",
            params![session_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    match row {
        Some((oid, expires_at)) if expires_at >= tokens::now() => {
            db::user_by_object_id(&conn, &oid)
        }
        _ => Ok(None),
    }
}
