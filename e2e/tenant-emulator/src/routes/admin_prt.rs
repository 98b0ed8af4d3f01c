//! Emulator-only admin actions of the PRT lifecycle (not part of Entra; mounted like the
//! other `/_emulator` admin routes):
//! - `POST /_emulator/users/{upn}/password` `{"password": "..."}`: the administrator resets
//!   the user's password; every PRT of the user is revoked (seed 003) and the lockout count
//!   cleared. Answers `{"revoked_prts": n}`.
//! - `POST /_emulator/devices/{device_id}/disable` and `/enable`: the device object's
//!   `enabled` flag; a disabled device gets no PRT and no token (AADSTS135011).
//! - `GET /_emulator/users/{upn}/prts`: the user's PRT records (no secrets): device, amr,
//!   issued/last used/expiry times, revoked.

use super::token::store;
use crate::db;
use crate::error::{AuthorityError, InternalError};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::params;
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_emulator/users/{upn}/password", post(set_password))
        .route("/_emulator/users/{upn}/prts", get(list_prts))
        .route("/_emulator/devices/{device_id}/disable", post(disable))
        .route("/_emulator/devices/{device_id}/enable", post(enable))
}

#[derive(Deserialize)]
struct PasswordChange {
    password: String,
}

#[derive(Serialize)]
struct PasswordChanged {
    revoked_prts: usize,
}

async fn set_password(
    State(state): State<AppState>,
    Path(upn): Path<String>,
    Json(change): Json<PasswordChange>,
) -> Result<Json<PasswordChanged>, AuthorityError> {
    if change.password.is_empty() {
        return Err(AuthorityError::InvalidRequest("password is empty".into()));
    }
    let user = db::user_by_upn(&state.db(), &upn)?
        .ok_or_else(|| AuthorityError::UserNotFound(upn.clone()))?;
    let hash = db::hash_password(&change.password)?;
    let revoked = {
        let mut conn = state.db();
        let tx = conn.transaction().map_err(InternalError::from)?;
        store::set_password_hash(&tx, &user.object_id, &hash)?;
        store::set_lockout(&tx, &user.object_id, 0, 0)?;
        let revoked = store::revoke_user_prts(&tx, &user.object_id)?;
        tx.commit().map_err(InternalError::from)?;
        revoked
    };
    tracing::info!(upn = %user.upn, revoked, "password reset by the administrator; PRTs revoked");
    Ok(Json(PasswordChanged {
        revoked_prts: revoked,
    }))
}

async fn disable(state: State<AppState>, id: Path<String>) -> Result<StatusCode, AuthorityError> {
    set_enabled(state, id, false)
}

async fn enable(state: State<AppState>, id: Path<String>) -> Result<StatusCode, AuthorityError> {
    set_enabled(state, id, true)
}

fn set_enabled(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    enabled: bool,
) -> Result<StatusCode, AuthorityError> {
    if !store::set_device_enabled(&state.db(), &device_id, enabled)? {
        return Ok(StatusCode::NOT_FOUND);
    }
    tracing::info!(%device_id, enabled, "device enabled flag set by the administrator");
    Ok(StatusCode::NO_CONTENT)
}

/// One PRT record as the admin API shows it.
#[derive(Serialize)]
struct PrtInfo {
    device_id: String,
    amr: Vec<String>,
    issued_at: i64,
    last_used_at: i64,
    expires_at: i64,
    revoked: bool,
}

async fn list_prts(
    State(state): State<AppState>,
    Path(upn): Path<String>,
) -> Result<Json<Vec<PrtInfo>>, AuthorityError> {
    let user = db::user_by_upn(&state.db(), &upn)?
        .ok_or_else(|| AuthorityError::UserNotFound(upn.clone()))?;
    let conn = state.db();
    let mut stmt = conn
        .prepare(
            "SELECT device_id, amr, issued_at, last_used_at, expires_at, revoked FROM prts
             WHERE user_object_id = ?1 ORDER BY issued_at",
        )
        .map_err(InternalError::from)?;
    let rows = stmt
        .query_map(params![user.object_id], |row| {
            Ok(PrtInfo {
                device_id: row.get(0)?,
                amr: serde_json::from_str(&row.get::<_, String>(1)?).unwrap_or_default(),
                issued_at: row.get(2)?,
                last_used_at: row.get(3)?,
                expires_at: row.get(4)?,
                revoked: row.get(5)?,
            })
        })
        .map_err(InternalError::from)?;
    let prts = rows
        .collect::<Result<Vec<_>, _>>()
        .map_err(InternalError::from)?;
    Ok(Json(prts))
}
