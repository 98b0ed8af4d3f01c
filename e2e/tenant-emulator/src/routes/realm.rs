//! User realm discovery: `GET /common/userrealm/?user=<upn>&api-version=2.1` (the join web
//! app) and `api-version=1.0` (non-interactive clients: for a federated domain it names the
//! STS's MEX document and WS-Trust endpoint).
//!
//! MSAL and ADAL ask by path instead, `GET /common/UserRealm/<upn>?api-version=1.0` (or 2.0),
//! in whatever casing they were written with: ESTS matches paths case-insensitively, so the
//! path form is served for any casing of `common/userrealm` (see [`realm_path_upn`]).
//!
//! A domain that a tenant verified (or its initial `*.onmicrosoft.com` domain) is Managed;
//! everything else is Unknown. Federated realms come with the AD FS emulation.

use crate::db;
use crate::error::AuthorityError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cxh_wire::realm::{AccountType, NameSpaceType, TenantBrandingInfo, UserRealm, UserRealmV1};
use std::collections::HashMap;

/// `cloud_instance_name` of the public cloud.
const CLOUD_INSTANCE_NAME: &str = "microsoftonline.com";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/common/userrealm/", get(user_realm))
        .route("/common/userrealm", get(user_realm))
        .route("/common/userrealm/{upn}", get(user_realm_by_path))
        .route("/common/UserRealm/{upn}", get(user_realm_by_path))
}

/// The UPN of a user-realm path in any casing (`/Common/USERREALM/<upn>`), percent-decoded;
/// `None` for any other path. The router's fallback uses it for casings no route names.
pub fn realm_path_upn(path: &str) -> Option<String> {
    const PREFIX: &str = "/common/userrealm/";
    let head = path.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let rest = &path[PREFIX.len()..];
    if rest.is_empty() || rest.contains('/') {
        return None;
    }
    let decoded = url::form_urlencoded::parse(format!("u={rest}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    Some(decoded)
}

/// `GET /common/UserRealm/{upn}?api-version=…`: the same answer as `?user={upn}`.
async fn user_realm_by_path(
    State(state): State<AppState>,
    Path(upn): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AuthorityError> {
    answer(&state, Some(&upn), &query)
}

/// Answer a realm request whose path is `/common/userrealm/<upn>` in a casing no route names.
pub async fn user_realm_any_case(
    state: &AppState,
    upn: &str,
    query: &HashMap<String, String>,
) -> Response {
    match answer(state, Some(upn), query) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn user_realm(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AuthorityError> {
    answer(&state, query.get("user").map(String::as_str), &query)
}

/// The realm of `user` (from the path or `?user=`) in the shape `api-version` asks for.
fn answer(
    state: &AppState,
    user: Option<&str>,
    query: &HashMap<String, String>,
) -> Result<Response, AuthorityError> {
    let login = user
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            AuthorityError::InvalidRequest("the request must contain the parameter 'user'".into())
        })?;
    let domain = login.rsplit_once('@').map(|(_, d)| d).unwrap_or(login);
    if query.get("api-version").map(String::as_str) == Some("1.0") {
        return Ok(Json(realm_v1(state, domain)?).into_response());
    }
    if let Some(realm) = super::wsfed::federated_realm(state, login, domain)? {
        return Ok(Json(realm).into_response());
    }
    let tenant = db::tenant_by_domain(&state.db(), domain)?;
    Ok(Json(match tenant {
        Some(tenant) => managed(login, domain, &tenant.display_name),
        None => unknown(login),
    })
    .into_response())
}

/// The api-version 1.0 answer for `domain`.
fn realm_v1(state: &AppState, domain: &str) -> Result<UserRealmV1, AuthorityError> {
    let mut realm = UserRealmV1 {
        ver: "1.0".into(),
        account_type: AccountType::Unknown,
        domain_name: None,
        federation_protocol: None,
        federation_metadata_url: None,
        federation_active_auth_url: None,
        cloud_instance_name: Some(CLOUD_INSTANCE_NAME.into()),
        cloud_audience_urn: None,
    };
    if let Some(base) = super::wsfed::federation_base(state, domain)? {
        realm.account_type = AccountType::Federated;
        realm.domain_name = Some(domain.to_ascii_lowercase());
        realm.federation_protocol = Some("WSTrust".into());
        realm.federation_metadata_url = Some(format!("{base}{}", crate::wstrust::MEX_PATH));
        realm.federation_active_auth_url =
            Some(format!("{base}{}", crate::wstrust::USERNAMEMIXED_13_PATH));
        realm.cloud_audience_urn = Some(crate::saml::MICROSOFT_ONLINE.into());
    } else if db::tenant_by_domain(&state.db(), domain)?.is_some() {
        realm.account_type = AccountType::Managed;
        realm.domain_name = Some(domain.to_ascii_lowercase());
        realm.cloud_audience_urn = Some(crate::saml::MICROSOFT_ONLINE.into());
    }
    Ok(realm)
}

fn managed(login: &str, domain: &str, brand: &str) -> UserRealm {
    UserRealm {
        name_space_type: NameSpaceType::Managed,
        login: login.to_string(),
        domain_name: Some(domain.to_ascii_lowercase()),
        federation_brand_name: Some(brand.to_string()),
        is_domain_verified: None,
        federation_protocol: None,
        auth_url: None,
        tenant_branding_info: vec![TenantBrandingInfo {
            locale: 0,
            banner_logo: None,
            tile_logo: None,
            background_color: None,
            boiler_plate_text: None,
            user_id_label: None,
            keep_me_signed_in_disabled: false,
        }],
        cloud_instance_name: Some(CLOUD_INSTANCE_NAME.into()),
    }
}

fn unknown(login: &str) -> UserRealm {
    UserRealm {
        name_space_type: NameSpaceType::Unknown,
        login: login.to_string(),
        domain_name: None,
        federation_brand_name: None,
        is_domain_verified: None,
        federation_protocol: None,
        auth_url: None,
        tenant_branding_info: Vec::new(),
        cloud_instance_name: Some(CLOUD_INSTANCE_NAME.into()),
    }
}
