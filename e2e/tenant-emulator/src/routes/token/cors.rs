//! Cross-origin token redemption, as single-page apps (MSAL.js) do it: the browser posts the
//! code to the token endpoint from the app's origin. Entra allows that only for redirect URIs
//! registered as a single-page application (tenant file `[[client]] spa_redirect_uris`), and
//! answers with `Access-Control-Allow-Origin` for that origin; any other cross-origin
//! redemption is AADSTS9002326. Requests without an `Origin`, or from the authority's own
//! origin (the join web app), are not cross-origin and pass unchanged.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::AuthorityError;
use crate::AppState;

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
}

/// The request's `Origin` when it is another origin than the authority's.
fn cross_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let origin = headers
        .get(header::ORIGIN)?
        .to_str()
        .ok()?
        .trim()
        .to_string();
    let own = origin_of(&state.config().public_url);
    (Some(&origin) != own.as_ref()).then_some(origin)
}

/// Whether `origin` is the origin of one of `client_id`'s SPA redirect URIs (`redirect_uri`
/// itself when given).
fn spa_origin(state: &AppState, client_id: &str, redirect_uri: Option<&str>, origin: &str) -> bool {
    let config = state.config();
    let Some(client) = config.client(client_id) else {
        return false;
    };
    client
        .spa_redirect_uris
        .iter()
        .filter(|u| redirect_uri.is_none_or(|r| r == u.as_str()))
        .any(|u| origin_of(u).as_deref() == Some(origin))
}

/// For a cross-origin request: the origin to allow, or AADSTS9002326.
pub(crate) fn check(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Option<String>, AuthorityError> {
    let Some(origin) = cross_origin(state, headers) else {
        return Ok(None);
    };
    let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
    let is_code = form.get("grant_type").map(String::as_str) == Some("authorization_code");
    let redirect_uri = form.get("redirect_uri").map(String::as_str);
    if is_code && spa_origin(state, client_id, redirect_uri, &origin) {
        Ok(Some(origin))
    } else {
        tracing::info!(%origin, client_id, "token: cross-origin redemption refused (not a SPA redirect URI)");
        Err(AuthorityError::CrossOriginNotSpa)
    }
}

/// Add the CORS answer headers for `origin`.
pub(crate) fn allow(mut response: Response, origin: Option<String>) -> Response {
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// `OPTIONS` on the token endpoint (a browser's preflight): allowed for the origin of any SPA
/// redirect URI in the tenant file, refused (no CORS headers) for any other.
pub(crate) async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let origin = cross_origin(&state, &headers);
    let known = origin.filter(|o| {
        state
            .config()
            .clients
            .iter()
            .flat_map(|c| c.spa_redirect_uris.iter())
            .any(|u| origin_of(u).as_deref() == Some(o.as_str()))
    });
    let Some(origin) = known else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let asked = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type"));
    let mut response = allow(StatusCode::NO_CONTENT.into_response(), Some(origin));
    let out = response.headers_mut();
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}
