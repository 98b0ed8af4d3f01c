//! HTTP routes, one module per service; [`router`] assembles them.

pub mod admin;
pub mod attestation;
pub mod drs;
pub mod mdm;
pub mod oidc;
pub mod realm;
pub mod silent;
pub mod wsfed;

use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;

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
        .merge(realm::routes())
        .merge(wsfed::routes())
        .merge(drs::routes())
        .merge(attestation::routes())
        .merge(admin::routes());
    if state.config().mdm_url.is_none() {
        router = router.merge(mdm::routes());
    }
    if state.config().test_hooks {
        router = router.merge(wsfed::test_hook_routes());
    }
    if let Some(dir) = app_dir {
        router = router.nest_service(cxh_wire::consts::JOIN_WEB_APP_PATH, join_web_app(&dir));
    }
    router
        .layer(axum::middleware::map_response(no_store_for_html))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
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
