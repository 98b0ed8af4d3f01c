//! `grant_type=refresh_token`: a refresh token this endpoint issued, redeemed by the client it
//! was issued to (for its resource, or another one the request names); or a bulk token (BPRT,
//! `routes/bulk`), redeemed by the device registration client while it is neither revoked nor
//! past its expiry. A bulk token answers an access token (and id_token) only: a device never
//! gets a refresh token of its own from it, so revoking it stops every further join.

use super::error::GrantError;
use super::{requested_resource, v2_scope, Endpoint, Grant};
use crate::db;
use crate::error::AuthorityError;
use crate::routes::bulk::{self, store as bulk_store};
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
    let token = required(form, "refresh_token")?;
    // Bound first: the database lock must not live on into bulk_grant, which takes it again.
    let bulk = bulk_store::by_refresh_token(&state.db(), token)?;
    if let Some(bulk) = bulk {
        return bulk_grant(state, scope, form, client_id, endpoint, &bulk);
    }
    let stored = db::refresh_token(&state.db(), token)?.ok_or(GrantError::UnknownPrt)?;
    if !stored.client_id.eq_ignore_ascii_case(client_id) {
        tracing::info!("refresh token refused: issued to another client");
        return Err(GrantError::UnknownPrt.into());
    }
    let user = db::user_by_object_id(&state.db(), &stored.user_object_id)?
        .filter(|u| scope.admits(u))
        .ok_or(GrantError::UnknownPrt)?;
    let named = form.contains_key("resource") || form.contains_key("scope");
    let resource = if named {
        requested_resource(form, endpoint)
    } else {
        stored.resource
    };
    Ok(Grant {
        tenant: tenant_of(state, &user)?,
        user,
        resource,
        v2_scope: v2_scope(form, endpoint),
        nonce: None,
        amr: vec!["pwd".to_string()],
        device_id: None,
        issues_refresh_token: true,
    })
}

fn bulk_grant(
    state: &AppState,
    scope: &TenantScope,
    form: &HashMap<String, String>,
    client_id: &str,
    endpoint: Endpoint,
    bulk: &bulk_store::BulkToken,
) -> Result<Grant, AuthorityError> {
    if !client_id.eq_ignore_ascii_case(bulk::BULK_CLIENT_ID) {
        tracing::info!(%client_id, "bulk token refused: not the device registration client");
        return Err(GrantError::UnknownPrt.into());
    }
    if bulk.revoked {
        return Err(GrantError::PrtRevoked.into());
    }
    if tokens::now() >= bulk.expires_at {
        return Err(GrantError::PrtExpired(
            "the bulk token is past the expiry its administrator set",
        )
        .into());
    }
    let user = db::user_by_object_id(&state.db(), &bulk.package_object_id)?
        .filter(|u| scope.admits(u))
        .ok_or(GrantError::UnknownPrt)?;
    Ok(Grant {
        tenant: tenant_of(state, &user)?,
        user,
        resource: requested_resource(form, endpoint),
        v2_scope: v2_scope(form, endpoint),
        nonce: None,
        amr: vec!["pwd".to_string()],
        device_id: None,
        issues_refresh_token: false,
    })
}
