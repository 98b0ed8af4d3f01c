//! Bulk enrollment (the provisioning-package path; `docs/research/bulk-enrollment-wire.md`):
//! an administrator, signed in with a DRS-audience token, asks for a bulk token (BPRT) and
//! polls for it; devices redeem it at the token endpoint (`grant_type=refresh_token`, client
//! [`BULK_CLIENT_ID`], resource DRS; `routes/token/refresh.rs`) and register as its package
//! account.
//!
//! - `POST /webapp/bulkaadjtoken/begin` `{pid, name, exp}`: `pid` a GUID (the package account
//!   is `package_<pid>@<initial domain>`; a pid seen before gets a new token and the old one
//!   stops), `name` its display name (1-256 characters), `exp` its expiry as a date
//!   (`MM/dd/yyyy`, `yyyy-MM-dd` or `yyyy-MM-dd HH:mm:ss`, UTC), at most [`MAX_DAYS`] ahead.
//!   Answers `{flowToken, state: "Started", resultData: null}`. A caller who must use a second
//!   factor cannot make one.
//! - `GET /webapp/bulkaadjtoken/poll?flowToken=…` (the same caller): `{state:
//!   "CompleteSuccess", resultData}`, `resultData` a JSON string with `refresh_token` (the
//!   BPRT), its lifetime and the package account's `id_token`. Errors: `state:
//!   "CompleteError"`, `resultData` `{error, error_description}`.
//! - Test hooks: `GET /_emulator/bulk-tokens` lists them (no secrets),
//!   `POST /_emulator/bulk-tokens/{pid}/revoke` revokes one.

pub mod store;

use super::drs::authenticate_caller;
use super::shared::random_token;
use crate::db::Tenant;
use crate::error::DrsServiceError;
use crate::tokens::{self, TokenSubject};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::collections::HashMap;

/// The client devices redeem a bulk token with.
pub const BULK_CLIENT_ID: &str = "b90d5b8f-5503-4153-b545-b31cecfaece2";
/// The longest a bulk token may live.
pub const MAX_DAYS: i64 = 180;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webapp/bulkaadjtoken/begin", post(begin))
        .route("/webapp/bulkaadjtoken/poll", get(poll))
}

pub fn test_hook_routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/bulk-tokens", get(list))
        .route("/_emulator/bulk-tokens/{pid}/revoke", post(revoke))
}

/// Why a begin or poll is refused (answered as `CompleteError`).
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("AADSTS50076: a bulk token cannot be made by a user who must use multi-factor authentication")]
    MfaUser,
    #[error("the flow token is unknown, already answered, or another user's")]
    UnknownFlow,
    #[error(transparent)]
    Auth(#[from] DrsServiceError),
}

impl From<crate::error::InternalError> for BulkError {
    fn from(e: crate::error::InternalError) -> Self {
        BulkError::Auth(DrsServiceError::Internal(e))
    }
}

impl IntoResponse for BulkError {
    fn into_response(self) -> Response {
        // An unusable bearer token is answered as DRS answers it (401 and its error body).
        let code = match self {
            BulkError::Auth(e) => return e.into_response(),
            BulkError::MfaUser => "interaction_required",
            BulkError::InvalidRequest(_) => "invalid_request",
            BulkError::UnknownFlow => "invalid_grant",
        };
        tracing::info!(reason = %self, "bulk token refused");
        let result = serde_json::json!({"error": code, "error_description": self.to_string()});
        let body = serde_json::json!({
            "flowToken": null,
            "state": "CompleteError",
            "resultData": result.to_string(),
        });
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}

#[derive(Deserialize)]
struct BeginRequest {
    pid: String,
    name: String,
    exp: String,
}

/// `exp` as the tools send it: `MM/dd/yyyy` (also `M/d/yyyy`), `yyyy-MM-dd`, or
/// `yyyy-MM-dd HH:mm:ss`; a date alone ends at its midnight (UTC). Unix seconds.
pub fn parse_expiry(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = match text.split_once(' ') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let numbers =
        |s: &str, sep: char| -> Option<Vec<u32>> { s.split(sep).map(|p| p.parse().ok()).collect() };
    let (year, month, day) = match (numbers(date, '/'), numbers(date, '-')) {
        (Some(p), _) if p.len() == 3 => (p[2] as i32, p[0], p[1]),
        (_, Some(p)) if p.len() == 3 => (p[0] as i32, p[1], p[2]),
        _ => return None,
    };
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    let clock = match time {
        None => time::Time::MIDNIGHT,
        Some(t) => {
            let p = numbers(t, ':').filter(|p| p.len() == 3)?;
            time::Time::from_hms(
                p[0].try_into().ok()?,
                p[1].try_into().ok()?,
                p[2].try_into().ok()?,
            )
            .ok()?
        }
    };
    Some(date.with_time(clock).assume_utc().unix_timestamp())
}

fn check_begin(request: &BeginRequest, now: i64) -> Result<(uuid::Uuid, i64), BulkError> {
    let invalid = |why: String| BulkError::InvalidRequest(why);
    let pid = uuid::Uuid::parse_str(request.pid.trim())
        .map_err(|_| invalid(format!("pid {:?} is not a GUID", request.pid)))?;
    let name_chars = request.name.trim().chars().count();
    if !(1..=256).contains(&name_chars) {
        return Err(invalid("name must have 1 to 256 characters".into()));
    }
    let expires_at = parse_expiry(&request.exp).ok_or_else(|| {
        invalid(format!(
            "exp {:?} is not a date (MM/dd/yyyy, yyyy-MM-dd or yyyy-MM-dd HH:mm:ss)",
            request.exp
        ))
    })?;
    if expires_at <= now {
        return Err(invalid("exp is in the past".into()));
    }
    if expires_at > now + MAX_DAYS * 24 * 3600 {
        return Err(invalid(format!("exp is more than {MAX_DAYS} days ahead")));
    }
    Ok((pid, expires_at))
}

fn package_upn(pid: &uuid::Uuid, tenant: &Tenant) -> String {
    format!("package_{pid}@{}", tenant.initial_domain)
}

async fn begin(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, BulkError> {
    // The caller first: an unauthenticated request learns nothing about the body's checks.
    let caller = authenticate_caller(&state, &headers)?;
    let request: BeginRequest = serde_json::from_slice(&body).map_err(|e| {
        BulkError::InvalidRequest(format!("the body is not {{pid, name, exp}} JSON: {e}"))
    })?;
    if crate::federation::second_factor(&state.db(), &caller.user.object_id)?.is_some() {
        return Err(BulkError::MfaUser);
    }
    let now = tokens::now();
    let (pid, expires_at) = check_begin(&request, now)?;
    let existing = store::package_object_id(&state.db(), &pid.to_string())?;
    let token = store::BulkToken {
        pid: pid.to_string(),
        tenant_id: caller.tenant.id.clone(),
        package_object_id: existing.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        package_upn: package_upn(&pid, &caller.tenant),
        display_name: request.name.trim().to_string(),
        creator_object_id: caller.user.object_id.clone(),
        refresh_token: random_token(64),
        created_at: now,
        expires_at,
        revoked: false,
    };
    // No password signs a package account in: the hash is of a random secret nobody keeps.
    let unusable = crate::db::hash_password(&random_token(32))?;
    store::put(&mut state.db(), &token, &unusable)?;
    let result = success_result(&state, &token, now)?;
    let flow_token = random_token(48);
    store::insert_flow(
        &state.db(),
        &flow_token,
        &caller.user.object_id,
        &result,
        now,
    )?;
    tracing::info!(pid = %token.pid, package = %token.package_upn, by = %caller.user.upn, "bulk token made");
    Ok(Json(serde_json::json!({
        "flowToken": flow_token,
        "state": "Started",
        "resultData": null,
    })))
}

/// `resultData` of a completed flow: the BPRT and the package account's id_token.
fn success_result(
    state: &AppState,
    token: &store::BulkToken,
    now: i64,
) -> Result<String, BulkError> {
    let user = crate::db::user_by_object_id(&state.db(), &token.package_object_id)?
        .ok_or_else(|| BulkError::InvalidRequest("the package account vanished".into()))?;
    let tenant = crate::db::tenant_by_id(&state.db(), &token.tenant_id)?
        .ok_or_else(|| BulkError::InvalidRequest("the tenant vanished".into()))?;
    let subject = TokenSubject {
        user: &user,
        tenant: &tenant,
        client_id: BULK_CLIENT_ID,
    };
    let id_token = tokens::sign(state.keys(), &tokens::id_token_claims(&subject, None))?;
    let lifetime = tokens::TOKEN_LIFETIME_SECS;
    Ok(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "expires_on": now + lifetime,
        "refresh_token": token.refresh_token,
        "refresh_token_expires_in": token.expires_at - now,
        "id_token": id_token,
    })
    .to_string())
}

async fn poll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, BulkError> {
    let caller = authenticate_caller(&state, &headers)?;
    // roadtx spells it `flowtoken`, AADInternals `flowToken`.
    let flow_token = query
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("flowToken"))
        .map(|(_, value)| value.as_str())
        .ok_or_else(|| BulkError::InvalidRequest("flowToken is missing".into()))?;
    let result = store::take_flow(&state.db(), flow_token, &caller.user.object_id)?
        .ok_or(BulkError::UnknownFlow)?;
    Ok(Json(serde_json::json!({
        "flowToken": flow_token,
        "state": "CompleteSuccess",
        "resultData": result,
    })))
}

async fn list(State(state): State<AppState>) -> Result<Json<Vec<store::BulkToken>>, BulkError> {
    Ok(Json(store::list(&state.db())?))
}

async fn revoke(
    State(state): State<AppState>,
    Path(pid): Path<String>,
) -> Result<StatusCode, BulkError> {
    Ok(if store::revoke(&state.db(), &pid)? {
        tracing::info!(%pid, "bulk token revoked");
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_in_the_formats_the_tools_send() {
        let day = |y, m, d| {
            time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d)
                .unwrap()
                .midnight()
                .assume_utc()
                .unix_timestamp()
        };
        assert_eq!(parse_expiry("03/1/2027"), Some(day(2027, 3, 1)));
        assert_eq!(parse_expiry("12/31/2026"), Some(day(2026, 12, 31)));
        assert_eq!(parse_expiry("2027-03-01"), Some(day(2027, 3, 1)));
        assert_eq!(
            parse_expiry("2027-03-01 12:30:15"),
            Some(day(2027, 3, 1) + 45015)
        );
        for bad in [
            "",
            "tomorrow",
            "13/01/2027",
            "2027-02-30",
            "2027-03-01 25:00:00",
            "1/2",
            "2027-03-01T00:00:00",
        ] {
            assert_eq!(parse_expiry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_begin_needs_a_guid_a_name_and_an_expiry_within_180_days() {
        let now = parse_expiry("2027-01-01").unwrap();
        let request = |pid: &str, name: &str, exp: &str| BeginRequest {
            pid: pid.into(),
            name: name.into(),
            exp: exp.into(),
        };
        let pid = "5c1e1b7a-1c4e-4b8e-9a55-0f6b7c2d9e10";
        assert!(check_begin(&request(pid, "Lab", "2027-06-30"), now).is_ok());
        for (bad, why) in [
            (request("not-a-guid", "Lab", "2027-02-01"), "GUID"),
            (request(pid, "", "2027-02-01"), "name"),
            (request(pid, &"x".repeat(257), "2027-02-01"), "name"),
            (request(pid, "Lab", "2026-12-31"), "past"),
            (request(pid, "Lab", "2027-07-01"), "180"),
            (request(pid, "Lab", "next year"), "not a date"),
        ] {
            let error = check_begin(&bad, now).unwrap_err().to_string();
            assert!(error.contains(why), "{error}");
        }
    }
}
