//! HTTP routes, one module per service; [`router`] assembles them.

pub mod admin;
pub mod drs;
pub mod oidc;
pub mod realm;
pub mod wsfed;

use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;

/// All routes on one origin: the authority's and DRS's paths do not collide.
pub fn router(state: AppState) -> Router {
    let app_dir = state.config().app_dir.clone();
    let mut router = Router::new()
        .merge(oidc::routes())
        .merge(realm::routes())
        .merge(wsfed::routes())
        .merge(drs::routes())
        .merge(admin::routes());
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
