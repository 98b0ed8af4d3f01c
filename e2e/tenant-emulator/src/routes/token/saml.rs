//! `grant_type=urn:ietf:params:oauth:grant-type:saml1_1-bearer`: a non-interactive client
//! exchanges the assertion it got from the STS's WS-Trust endpoint (seed 003). The assertion
//! gets the same checks as at `/login.srf` ([`crate::routes::wsfed::federated_user`]: signature,
//! issuer, audience, validity, one use per AssertionID) and the tokens carry amr
//! `pwd`,`fed` (plus `mfa` when the STS claimed a second factor).

use super::{requested_resource, v2_scope, Endpoint, Grant};
use crate::db::User;
use crate::error::AuthorityError;
use crate::routes::shared::{require_proven_factor, required, tenant_of, TenantScope};
use crate::routes::wsfed::{self, FederationError};
use crate::AppState;
use base64::Engine;
use std::collections::HashMap;

pub(crate) fn grant(
    state: &AppState,
    scope: &TenantScope,
    form: &HashMap<String, String>,
    endpoint: Endpoint,
) -> Result<Grant, AuthorityError> {
    let resource = requested_resource(form, endpoint);
    let (user, amr) = verify(
        state,
        scope.tenant_id(),
        required(form, "assertion")?,
        &resource,
    )?;
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

/// The user and amr a base64 assertion proves, for a request in `tenant_scope`; refused when
/// the user needs a second factor the assertion does not show.
pub(crate) fn verify(
    state: &AppState,
    tenant_scope: Option<&str>,
    encoded: &str,
    resource: &str,
) -> Result<(User, Vec<String>), AuthorityError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.trim()))
        .map_err(|_| AuthorityError::InvalidRequest("assertion is not base64".into()))?;
    let xml = String::from_utf8(bytes)
        .map_err(|_| AuthorityError::InvalidRequest("assertion is not UTF-8".into()))?;
    let (user, amr) =
        wsfed::federated_user(state, &xml, tenant_scope)?.map_err(FederationError::into_json)?;
    require_proven_factor(state, &user, &amr, resource)?;
    Ok((user, amr))
}
