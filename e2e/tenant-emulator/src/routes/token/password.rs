//! `grant_type=password` (ROPC), and the password check every grant that takes a password
//! shares (the PRT request's `password` credential too), with smart lockout per user:
//! after [`LOCKOUT_THRESHOLD`] wrong passwords in a row the account is locked for
//! [`LOCKOUT_SECS`] (doubling with every further failure, up to an hour), whatever login
//! context or client the attempts come from; while locked even the right password is refused
//! (AADSTS50053). The count lives in SQLite, per user, so it survives new contexts.

use super::error::GrantError;
use super::{requested_resource, store, v2_scope, Endpoint, Grant};
use crate::db::{self, User};
use crate::error::AuthorityError;
use crate::routes::shared::{require_proven_factor, required, tenant_of, TenantScope};
use crate::tokens;
use crate::AppState;
use std::collections::HashMap;

/// Wrong passwords in a row before the account locks (Entra's default smart lockout threshold).
pub const LOCKOUT_THRESHOLD: u32 = 10;
/// First lockout duration (Entra's default); each further failure doubles it.
pub const LOCKOUT_SECS: i64 = 60;
const MAX_LOCKOUT_SECS: i64 = 3600;

pub(crate) fn grant(
    state: &AppState,
    scope: &TenantScope,
    form: &HashMap<String, String>,
    endpoint: Endpoint,
) -> Result<Grant, AuthorityError> {
    let username = required(form, "username")?;
    let password = required(form, "password")?;
    let user = db::user_by_upn(&state.db(), username)?
        .filter(|u| scope.admits(u))
        .ok_or_else(|| AuthorityError::UserNotFound(username.to_string()))?;
    check_password(state, &user, password)?;
    let resource = requested_resource(form, endpoint);
    let amr = vec!["pwd".to_string()];
    require_proven_factor(state, &user, &amr, &resource)?;
    let tenant = tenant_of(state, &user)?;
    Ok(Grant {
        user,
        tenant,
        resource,
        v2_scope: v2_scope(form, endpoint),
        nonce: None,
        amr,
        device_id: None,
        issues_refresh_token: true,
    })
}

/// Check `password` under the lockout rules. A federated user's synced cloud user has a
/// random password hash, so no cloud password works for it.
pub(crate) fn check_password(
    state: &AppState,
    user: &User,
    password: &str,
) -> Result<(), AuthorityError> {
    let now = tokens::now();
    let (failures, locked_until) = store::lockout(&state.db(), &user.object_id)?;
    if locked_until > now {
        tracing::info!(upn = %user.upn, "password refused: account locked");
        return Err(GrantError::Locked.into());
    }
    if db::verify_password(&user.password_hash, password) {
        if failures > 0 {
            store::set_lockout(&state.db(), &user.object_id, 0, 0)?;
        }
        return Ok(());
    }
    let failures = failures + 1;
    let locked_until = if failures >= LOCKOUT_THRESHOLD {
        let doublings = (failures - LOCKOUT_THRESHOLD).min(6);
        now + (LOCKOUT_SECS << doublings).min(MAX_LOCKOUT_SECS)
    } else {
        0
    };
    store::set_lockout(&state.db(), &user.object_id, failures, locked_until)?;
    tracing::info!(upn = %user.upn, failures, "wrong password");
    Err(AuthorityError::InvalidCredentials)
}
