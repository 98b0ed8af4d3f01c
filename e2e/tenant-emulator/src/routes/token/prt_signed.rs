//! Session-key signed requests (MS-OAPXBC; the WAM path of seed 003 steps 5-7): a
//! `jwt-bearer` JWS signed HS256 with a key derived from the PRT's session key
//! (SP800-108, header `ctx`; KDF v2 with header `kdf_ver: 2`: context = SHA-256(ctx ||
//! payload bytes)), payload `refresh_token` = the PRT.
//!
//! Checks, in order: the PRT is one the emulator issued (AADSTS70000); KDF v1 is refused when
//! the tenant requires v2 (tenant file `require_kdf_v2`), and the signature must verify
//! (AADSTS50155); the device is still there and enabled (AADSTS135011); the PRT is live
//! (revoked: AADSTS50173; 90 days or 14 days unused: AADSTS700082); the request nonce
//! (AADSTS90044).
//!
//! Then: `scope` containing `aza` returns a renewed PRT (new string, same session key and
//! amr, the 90-day expiry of the original sign-in). The previous PRT stays valid until its
//! own expiry or revocation, so a device that lost the answer (killed mid-renewal) still holds
//! a working PRT. For a `client_id` other than the PRT/broker clients the answer also carries
//! an access token for `resource` (or the resource its `scope` names) with claims `deviceid`
//! and the PRT's amr; such requests must use the broker redirect URI
//! `ms-appx-web://Microsoft.AAD.BrokerPlugin/<client_id>`. With `token_type=pop` and
//! `req_cnf` in the signed payload the access token is bound to the caller's key (`cnf.kid`)
//! and the answer's `token_type` is `pop` (see [`cxh_wire::pop`]). The answer is a compact JWE
//! (`dir`, A256GCM, key derived KDF v1 from a fresh `ctx`) of a
//! [`cxh_wire::prt::PrtTokenResponse`]. Every accepted request counts as a use of the PRT.

use super::error::GrantError;
use super::prt::{check_live, client_info, prt_expires_in, store_prt};
use super::{resource_of_scope, srv_challenge, store, v2_permissions, DEFAULT_RESOURCE};
use crate::db;
use crate::error::{AuthorityError, InternalError};
use crate::routes::shared::{tenant_of, TenantScope};
use crate::tokens::{self, TokenSubject};
use crate::AppState;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cxh_wire::pop::{Cnf, ReqCnf};
use cxh_wire::prt::{
    broker_redirect_uri, PrtRequestClaims, PrtTokenResponse, SessionSignedHeader, AZA_SCOPE,
    BROKER_CLIENT_ID, PRT_CLIENT_ID, TOKEN_TYPE_POP,
};
use cxh_wire::prt_crypto::{
    decode_ctx, derive_key, encrypt_response, kdf_context, KdfVersion, ParsedJws,
};

/// The key binding of a PoP request (`token_type=pop` with `req_cnf`), or `None` for a bearer
/// token; `pop` without a readable `req_cnf` is refused rather than answered with a bearer
/// token the caller did not ask for.
fn pop_binding(claims: &PrtRequestClaims) -> Result<Option<Cnf>, AuthorityError> {
    let wants_pop = claims
        .token_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(TOKEN_TYPE_POP));
    if !wants_pop {
        return Ok(None);
    }
    let req_cnf = claims.req_cnf.as_deref().unwrap_or_default();
    if req_cnf.is_empty() {
        return Err(AuthorityError::InvalidRequest(
            "token_type=pop requires 'req_cnf'".into(),
        ));
    }
    let cnf = ReqCnf::decode(req_cnf)
        .map_err(|e| AuthorityError::InvalidRequest(format!("req_cnf: {e}")))?;
    Ok(Some(Cnf {
        kid: Some(cnf.kid),
        jwk: None,
    }))
}

/// The record of the PRT a session-key signed JWS carries, once the JWS is proven signed with
/// that PRT's session key: the PRT is one the emulator issued to a tenant `scope` admits
/// (AADSTS70000), the KDF is one the tenant allows, and the signature verifies with the key
/// derived from the header's `ctx` (AADSTS50155). Requests and PRT SSO cookies alike.
pub(crate) fn verified_record(
    state: &AppState,
    scope: &TenantScope,
    jws: &ParsedJws,
    prt: &str,
) -> Result<store::PrtRecord, AuthorityError> {
    let header: SessionSignedHeader = serde_json::from_slice(&jws.header)
        .map_err(|_| signature_error("the header has no ctx"))?;
    let record = store::prt_by_token(&state.db(), prt)?.ok_or(GrantError::UnknownPrt)?;
    if !scope.admits_tenant(&record.tenant_id) {
        return Err(GrantError::UnknownPrt.into());
    }
    let version = KdfVersion::from_header(header.kdf_ver).map_err(signature_error)?;
    if version == KdfVersion::V1 && store::kdf_v2_required(&state.db(), &record.tenant_id)? {
        return Err(signature_error(
            "this tenant requires KDF v2 (header kdf_ver: 2)",
        ));
    }
    let ctx = decode_ctx(&header.ctx).map_err(signature_error)?;
    let key = derive_key(
        &record.session_key,
        &kdf_context(version, &ctx, &jws.payload),
    );
    jws.verify_hs256(key.as_ref()).map_err(signature_error)?;
    Ok(record)
}

fn signature_error(reason: impl std::fmt::Display) -> AuthorityError {
    GrantError::SessionSignature(reason.to_string()).into()
}

/// Answer a session-key signed request with an encrypted token response.
pub(crate) fn answer(
    state: &AppState,
    scope: &TenantScope,
    jws: &ParsedJws,
) -> Result<Response, AuthorityError> {
    let claims: PrtRequestClaims = serde_json::from_slice(&jws.payload)
        .map_err(|e| AuthorityError::InvalidRequest(format!("request: payload: {e}")))?;
    let prt = claims
        .refresh_token
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            AuthorityError::InvalidRequest("the request must contain 'refresh_token'".into())
        })?;
    let record = verified_record(state, scope, jws, prt)?;
    let device = db::device(&state.db(), &record.device_id)?
        .filter(|d| d.enabled)
        .ok_or(GrantError::DeviceDisabled)?;
    let now = tokens::now();
    check_live(&record, now)?;
    srv_challenge::spend(state, &claims.request_nonce)?;
    let user = db::user_by_object_id(&state.db(), &record.user_object_id)?
        .ok_or(GrantError::UnknownPrt)?;
    let tenant = tenant_of(state, &user)?;
    store::touch_prt(&state.db(), &record.token_hash, now)?;

    let client_id = claims.client_id.to_ascii_lowercase();
    let asked_scope = claims.scope.clone().unwrap_or_default();
    let renew = asked_scope.split_whitespace().any(|s| s == AZA_SCOPE);
    let for_app = client_id != PRT_CLIENT_ID && client_id != BROKER_CLIENT_ID;
    let subject = TokenSubject {
        user: &user,
        tenant: &tenant,
        client_id: &client_id,
    };
    let mut id_claims = tokens::id_token_claims(&subject, None);
    id_claims.amr = record.amr.clone();
    let mut answer = PrtTokenResponse {
        token_type: TOKEN_TYPE_POP.into(),
        scope: claims.scope.clone(),
        expires_in: tokens::TOKEN_LIFETIME_SECS.to_string(),
        expires_on: Some((now + tokens::TOKEN_LIFETIME_SECS).to_string()),
        resource: None,
        access_token: None,
        refresh_token: None,
        refresh_token_expires_in: None,
        id_token: Some(tokens::sign(state.keys(), &id_claims)?),
        client_info: Some(client_info(&user)?),
    };
    if for_app {
        if state.config().client(&client_id).is_none() {
            return Err(AuthorityError::UnknownClient(claims.client_id.clone()));
        }
        crate::conditional_access::check(state, &client_id, Some(&device.device_id))?;
        let redirect = claims.redirect_uri.as_deref().unwrap_or_default();
        if !redirect.eq_ignore_ascii_case(&broker_redirect_uri(&client_id)) {
            return Err(AuthorityError::RedirectMismatch(redirect.to_string()));
        }
        let resource = claims
            .resource
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| resource_of_scope(&asked_scope))
            .unwrap_or_else(|| DEFAULT_RESOURCE.to_string());
        let mut access = tokens::access_token_claims(&subject, &resource);
        access.amr = record.amr.clone();
        access.deviceid = Some(device.device_id.clone());
        if claims.resource.is_none() && !v2_permissions(&asked_scope).is_empty() {
            access.scp = v2_permissions(&asked_scope);
        }
        access.cnf = pop_binding(&claims)?;
        answer.token_type = if access.cnf.is_some() {
            TOKEN_TYPE_POP.into()
        } else {
            "Bearer".into()
        };
        answer.access_token = Some(tokens::sign(state.keys(), &access)?);
        answer.resource = Some(resource);
        tracing::info!(upn = %user.upn, client_id = %client_id, device_id = %device.device_id, "token for an app through the PRT");
    }
    if renew {
        let renewed = store_prt(
            state,
            &user,
            &device,
            &record.amr,
            &record.session_key,
            record.expires_at,
        )?;
        answer.refresh_token = Some(renewed);
        answer.refresh_token_expires_in = Some(prt_expires_in(record.expires_at, now).to_string());
        tracing::info!(upn = %user.upn, device_id = %device.device_id, "PRT renewed");
    }
    let plaintext =
        serde_json::to_vec(&answer).map_err(|e| InternalError::Encoding(e.to_string()))?;
    let ctx: [u8; 24] = rand::random();
    let jwe = encrypt_response(
        &record.session_key,
        &ctx,
        &rand::random::<[u8; 12]>(),
        &plaintext,
    );
    Ok(([(header::CONTENT_TYPE, "application/jose")], jwe).into_response())
}
