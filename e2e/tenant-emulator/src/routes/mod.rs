//! HTTP routes, one module per service; [`router`] assembles them.

pub mod admin;
pub mod admin_prt;
pub mod attestation;
pub mod bulk;
pub mod drs;
pub mod drs_request;
pub mod mdm;
pub mod oidc;
pub mod prt_cookie;
pub mod realm;
pub mod sample_api;
pub mod shared;
pub mod silent;
pub mod test_hooks;
pub mod token;
pub mod v2;
pub mod wsfed;

use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;

/// The MDM role's routes alone, for its own listener (`--mdm-listen`).
pub fn mdm_router(state: AppState) -> Router {
    Router::new()
        .merge(mdm::routes())
        .layer(axum::middleware::map_response(no_store_for_html))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// All routes on one origin: the authority's and DRS's paths do not collide. Without an MDM
/// listener of its own, the MDM role is served here too.
pub fn router(state: AppState) -> Router {
    let app_dir = state.config().app_dir.clone();
    let mut router = Router::new()
        .merge(oidc::routes())
        .merge(v2::routes())
        .merge(realm::routes())
        .merge(wsfed::routes())
        .merge(drs::routes())
        .merge(token::routes())
        .merge(attestation::routes())
        .merge(bulk::routes())
        .merge(admin::routes())
        .merge(sample_api::routes());
    if state.config().mdm_url.is_none() {
        router = router.merge(mdm::routes());
    }
    if state.config().test_hooks {
        router = router
            .merge(wsfed::test_hook_routes())
            .merge(test_hooks::routes())
            .merge(admin::test_hook_routes())
            .merge(bulk::test_hook_routes())
            .merge(admin_prt::routes());
    }
    if let Some(dir) = app_dir {
        router = router.nest_service(cxh_wire::consts::JOIN_WEB_APP_PATH, join_web_app(&dir));
    }
    router
        .fallback(any_case_paths)
        .layer(axum::middleware::map_response(no_store_for_html))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Paths ESTS matches case-insensitively, in a casing no route names (`/Common/USERREALM/…`);
/// anything else is 404.
async fn any_case_paths(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    match realm::realm_path_upn(uri.path()) {
        Some(upn) => realm::user_realm_any_case(&state, &upn, &query).await,
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// The trunk-built app, read from disk on every request so `trunk watch` rebuilds show up.
fn join_web_app(dir: &std::path::Path) -> tower_http::services::ServeDir {
    tower_http::services::ServeDir::new(dir).append_index_html_on_directories(true)
}

/// Pages (the app's index.html, sign-in forms) must never be cached: they change between
/// builds and carry per-request state.
async fn no_store_for_html(mut response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
