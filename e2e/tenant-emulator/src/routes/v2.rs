//! The v2 endpoint of the authority (the Microsoft identity platform), as MSAL uses it:
//! `GET /{tenant}/v2.0/.well-known/openid-configuration`, its JWKS at
//! `/{tenant}/discovery/v2.0/keys` and `GET /{tenant}/oauth2/v2.0/authorize`.
//!
//! `{tenant}` is a tenant id, a verified domain, `common` or `organizations`, as at v1. The v2
//! authorize request names what it wants as `scope` (`openid profile offline_access
//! https://graph.microsoft.com/User.Read`), not as `resource`: the resource is taken from the
//! first scope that names one, and the rest of the sign-in is the v1 one (same login context,
//! login page, second factors, federation), with a v2 id_token at the end (issuer
//! `{authority}/{tenantid}/v2.0`, `ver` 2.0). The v2 token endpoint is routed in `oidc.rs`.

use super::oidc;
use super::shared::{readable_from_any_origin, TenantScope};
use crate::error::AuthorityError;
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::middleware::map_response;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use cxh_wire::oidc::{AuthorizeRequest, IdTokenClaims, OpenIdConfigurationV2};

/// Scopes of OpenID Connect itself, which name no resource.
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration).layer(map_response(readable_from_any_origin)),
        )
        .route(
            "/{tenant}/discovery/v2.0/keys",
            get(oidc::jwks).layer(map_response(readable_from_any_origin)),
        )
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
}

/// The v2 issuer of a tenant: `{authority}/{tenant id}/v2.0`.
pub fn issuer(state: &AppState, tenant_id: &str) -> String {
    format!("{}/{tenant_id}/v2.0", state.config().public_url)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
async fn openid_configuration(
    State(state): State<AppState>,
    Path(segment): Path<String>,
) -> Result<Json<OpenIdConfigurationV2>, AuthorityError> {
    let scope = TenantScope::resolve(&state, &segment)?;
    // A tenant is named by its id in every URL, as ESTS does for a domain; `common` and
    // `organizations` keep their own name and an issuer template.
    let (path, issuer) = match &scope {
        TenantScope::Common => (segment.to_ascii_lowercase(), issuer(&state, "{tenantid}")),
        TenantScope::Tenant(t) => (t.id.clone(), issuer(&state, &t.id)),
    };
    let public = &state.config().public_url;
    let base = format!("{public}/{path}");
    Ok(Json(OpenIdConfigurationV2 {
        token_endpoint: format!("{base}/oauth2/v2.0/token"),
        token_endpoint_auth_methods_supported: strings(&[
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ]),
        jwks_uri: format!("{base}/discovery/v2.0/keys"),
        response_modes_supported: strings(&["query", "fragment", "form_post"]),
        subject_types_supported: strings(&["pairwise"]),
        id_token_signing_alg_values_supported: strings(&["RS256"]),
        response_types_supported: strings(&["code", "id_token", "code id_token", "id_token token"]),
        scopes_supported: strings(&OIDC_SCOPES),
        issuer,
        request_uri_parameter_supported: false,
        authorization_endpoint: format!("{base}/oauth2/v2.0/authorize"),
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: format!("{base}/oauth2/v2.0/logout"),
        claims_supported: strings(&[
            "sub",
            "iss",
            "cloud_instance_name",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "email",
        ]),
        tenant_region_scope: match scope {
            TenantScope::Common => None,
            TenantScope::Tenant(_) => Some("NA".into()),
        },
        cloud_instance_name: "microsoftonline.com".into(),
    }))
}

/// The resource a v2 scope list names: the first scope that is not an OpenID Connect one, up
/// to its last `/` (`https://graph.microsoft.com/User.Read` and
/// `https://graph.microsoft.com/.default` both name `https://graph.microsoft.com`). `None`
/// when only OpenID Connect scopes are asked (a sign-in without a resource).
pub fn resource_of_scopes(scope: &str) -> Option<String> {
    scope
        .split_whitespace()
        .find(|s| !OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(s)))
        .map(|s| match s.rsplit_once('/') {
            // `https://host` alone splits inside its `://`: it is a resource by itself.
            Some((resource, _)) if !resource.ends_with('/') => resource.to_string(),
            _ => s.to_string(),
        })
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: `scope` is required (it replaces v1's `resource`,
/// which a v2 request must not send).
async fn authorize(
    State(state): State<AppState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    query: Result<Query<AuthorizeRequest>, QueryRejection>,
) -> Response {
    let started = query
        .map_err(|e| AuthorityError::InvalidRequest(e.body_text()))
        .and_then(|Query(request)| v1_request(request))
        .and_then(|request| oidc::start_login(&state, &segment, request, true, (&headers, &uri)));
    started.unwrap_or_else(AuthorityError::into_html)
}

/// The v1 form of a v2 authorize request: the resource from its scopes.
fn v1_request(mut request: AuthorizeRequest) -> Result<AuthorizeRequest, AuthorityError> {
    if request.resource.is_some() {
        return Err(AuthorityError::InvalidRequest(
            "the 'resource' parameter is not supported at the v2.0 endpoint; use 'scope'".into(),
        ));
    }
    let scope = request
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            AuthorityError::InvalidRequest("the request must contain a 'scope' parameter".into())
        })?;
    let asks_openid = scope.split_whitespace().any(|s| s == "openid");
    if request
        .response_type
        .split_whitespace()
        .any(|t| t == "id_token")
        && !asks_openid
    {
        return Err(AuthorityError::InvalidRequest(
            "an id_token is issued only for the scope 'openid'".into(),
        ));
    }
    request.resource = resource_of_scopes(scope);
    Ok(request)
}

/// Turn the id_token of a v2 sign-in into a v2 one: v2 issuer, `ver` 2.0.
pub(crate) fn as_v2_id_token(state: &AppState, claims: &mut IdTokenClaims) {
    claims.iss = issuer(state, &claims.tid);
    claims.ver = "2.0".into();
}

#[cfg(test)]
mod tests {
    use super::resource_of_scopes;

    #[test]
    fn scopes_name_their_resource() {
        for (scope, resource) in [
            (
                "openid profile https://graph.microsoft.com/User.Read",
                Some("https://graph.microsoft.com"),
            ),
            (
                "https://graph.microsoft.com/.default offline_access",
                Some("https://graph.microsoft.com"),
            ),
            (
                "https://graph.microsoft.com",
                Some("https://graph.microsoft.com"),
            ),
            (
                "urn:ms-drs:enterpriseregistration.windows.net/.default",
                Some("urn:ms-drs:enterpriseregistration.windows.net"),
            ),
            ("api://app-1/.default", Some("api://app-1")),
            (
                "00000003-0000-0000-c000-000000000000/User.Read",
                Some("00000003-0000-0000-c000-000000000000"),
            ),
            ("openid profile offline_access", None),
        ] {
            assert_eq!(resource_of_scopes(scope).as_deref(), resource, "{scope}");
        }
    }
}
