//! A resource server of the tenant's own, `/sample-api/me` (a stand-in for Microsoft Graph's
//! `/me`): what apps call with the tokens the broker gives them, so that tests and the demo can
//! see a token used, not only issued. It takes `Authorization: Bearer <at>` for bearer tokens
//! and `Authorization: PoP <shr>` for proof-of-possession tokens ([`crate::pop`]); a PoP token
//! sent as a bearer token is refused, as Entra-protected resources do. The answer says who
//! called, from which device, and how the token was bound.

use crate::pop::{self, PresentedRequest};
use crate::tokens::{self, BearerClaims};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use cxh_wire::pop::AUTH_SCHEME_POP;
use serde::Serialize;

/// The audiences the sample API accepts: Microsoft Graph's, by URL and by application id.
pub const AUDIENCES: [&str; 2] = [
    "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
];
/// Its path on the authority's origin.
pub const PATH: &str = "/sample-api/me";

pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, any(me))
}

/// What `/sample-api/me` answers.
#[derive(Debug, Serialize)]
struct Me {
    upn: Option<String>,
    oid: String,
    tid: String,
    deviceid: Option<String>,
    /// `Bearer` or `PoP`.
    scheme: &'static str,
    /// The thumbprint of the key a PoP token was shown with.
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf_kid: Option<String>,
}

async fn me(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match authenticate(&state, &method, &uri, &headers) {
        Ok(me) => Json(me).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// A 401 with the reason in `WWW-Authenticate` and the body.
struct Refusal {
    scheme: &'static str,
    reason: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        tracing::info!(reason = %self.reason, "sample API: request refused");
        let challenge = format!(
            "{} error=\"invalid_token\", error_description=\"{}\"",
            self.scheme,
            self.reason.replace('"', "'")
        );
        let mut response = (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_token", "error_description": self.reason})),
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn refuse(scheme: &'static str, reason: impl ToString) -> Refusal {
    Refusal {
        scheme,
        reason: reason.to_string(),
    }
}

fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Me, Refusal> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim();
    let (scheme, credential) = authorization
        .split_once(' ')
        .ok_or_else(|| refuse("Bearer", "no Authorization header (Bearer or PoP)"))?;
    let audiences: Vec<String> = AUDIENCES.iter().map(|a| a.to_string()).collect();
    let credential = credential.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        let claims = tokens::validate_bearer(state.keys(), credential, &audiences)
            .map_err(|e| refuse("Bearer", e))?;
        return me_of(state, claims, "Bearer", None);
    }
    if scheme.eq_ignore_ascii_case(AUTH_SCHEME_POP) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let request = PresentedRequest {
            method: method.as_str(),
            host,
            path: uri.path(),
        };
        let verified = pop::verify_shr(state.keys(), credential, &request, &audiences)
            .map_err(|e| refuse(AUTH_SCHEME_POP, e))?;
        return me_of(state, verified.token, AUTH_SCHEME_POP, Some(verified.kid));
    }
    Err(refuse(
        "Bearer",
        format!("the {scheme:?} scheme is not accepted (Bearer or PoP)"),
    ))
}

/// The caller, once the token's issuer is its tenant's.
fn me_of(
    state: &AppState,
    claims: BearerClaims,
    scheme: &'static str,
    cnf_kid: Option<String>,
) -> Result<Me, Refusal> {
    let tenant_exists = crate::db::tenant_by_id(&state.db(), &claims.tid)
        .ok()
        .flatten()
        .is_some();
    if !tenant_exists || claims.iss != cxh_wire::consts::issuer_for(&claims.tid) {
        return Err(refuse(scheme, "the token's issuer is not its tenant's"));
    }
    Ok(Me {
        upn: claims.upn,
        oid: claims.oid,
        tid: claims.tid,
        deviceid: claims.deviceid,
        scheme,
        cnf_kid,
    })
}
