//! User realm discovery: `GET /common/userrealm/?user=<upn>&api-version=2.1`.
//!
//! A domain that a tenant verified (or its initial `*.onmicrosoft.com` domain) is Managed;
//! everything else is Unknown. Federated realms come with the AD FS emulation.

use crate::db;
use crate::error::AuthorityError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use cxh_wire::realm::{NameSpaceType, TenantBrandingInfo, UserRealm};
use std::collections::HashMap;

/// `cloud_instance_name` of the public cloud.
const CLOUD_INSTANCE_NAME: &str = "microsoftonline.com";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/common/userrealm/", get(user_realm))
        .route("/common/userrealm", get(user_realm))
}

async fn user_realm(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<UserRealm>, AuthorityError> {
    let login = query
        .get("user")
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            AuthorityError::InvalidRequest("the request must contain the parameter 'user'".into())
        })?;
    let domain = login.rsplit_once('@').map(|(_, d)| d).unwrap_or(login);
    if let Some(realm) = super::wsfed::federated_realm(&state, login, domain)? {
        return Ok(Json(realm));
    }
    let tenant = db::tenant_by_domain(&state.db(), domain)?;
    Ok(Json(match tenant {
        Some(tenant) => managed(login, domain, &tenant.display_name),
        None => unknown(login),
    }))
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
