//! Errors as types, rendered the way each real service renders them.
//!
//! The authority answers AADSTS-style JSON ([`cxh_wire::oidc::OAuthError`]) or, for pages a
//! browser shows, a small HTML page carrying the same code; DRS answers
//! [`cxh_wire::registration::DrsError`]. Handlers never panic on bad input: every rejection is
//! one of these variants.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use cxh_wire::oidc::{aadsts, OAuthError};
use cxh_wire::registration::DrsError;

/// Failures of the emulator's own machinery (database, crypto), never caused by the caller.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("encoding: {0}")]
    Encoding(String),
    #[error("storage: {0}")]
    Storage(String),
}

/// An error of the authority (login.microsoftonline.com analogue).
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    #[error("missing or invalid parameter: {0}")]
    InvalidRequest(String),
    #[error("application {0} was not found in the directory")]
    UnknownClient(String),
    #[error("the reply URL {0} does not match the reply URLs configured for the application")]
    RedirectMismatch(String),
    #[error("response_type {0:?} is not supported")]
    UnsupportedResponseType(String),
    #[error("the sign-in session has expired or is unknown")]
    ContextExpired,
    #[error("error validating credentials due to invalid username or password")]
    InvalidCredentials,
    #[error("user account {0} does not exist in the directory")]
    UserNotFound(String),
    #[error("the grant type {0:?} is not supported")]
    UnsupportedGrant(String),
    #[error("the authorization code is invalid or has expired")]
    InvalidCode,
    #[error("tenant {0} not found")]
    TenantNotFound(String),
    /// The user has a second factor that this grant cannot prove (ESTS's ROPC answer).
    #[error("Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{0}'.")]
    MfaRequired(String),
    /// Conditional access: the application requires a device this sign-in did not prove.
    #[error("Device is not in required device state: {}. {}", .0.state_name(), .0.explanation())]
    DeviceRequired(crate::conditional_access::DeviceRequirement),
    #[error("The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")]
    PkceMismatch,
    #[error("Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type.")]
    CrossOriginNotSpa,
    /// A federation or second-factor refusal, already in its AADSTS shape.
    #[error("{}", .0.error_description)]
    Federation(Box<OAuthError>),
    /// A token endpoint refusal (PRT protocol, lockout), already in its AADSTS shape.
    #[error("{}", .0.error_description)]
    Grant(Box<OAuthError>),
    #[error("internal error")]
    Internal(#[from] InternalError),
}

impl AuthorityError {
    /// The OAuth `error`, the AADSTS number and the HTTP status of this error.
    fn parts(&self) -> (&'static str, u32, StatusCode) {
        use AuthorityError::*;
        match self {
            InvalidRequest(_) => (
                "invalid_request",
                aadsts::MISSING_PARAMETER,
                StatusCode::BAD_REQUEST,
            ),
            UnknownClient(_) => (
                "invalid_client",
                aadsts::UNKNOWN_CLIENT,
                StatusCode::BAD_REQUEST,
            ),
            RedirectMismatch(_) => (
                "invalid_request",
                aadsts::REDIRECT_URI_MISMATCH,
                StatusCode::BAD_REQUEST,
            ),
            UnsupportedResponseType(_) => (
                "unsupported_response_type",
                aadsts::UNSUPPORTED_RESPONSE_TYPE,
                StatusCode::BAD_REQUEST,
            ),
            ContextExpired => (
                "invalid_request",
                aadsts::CONTEXT_EXPIRED,
                StatusCode::BAD_REQUEST,
            ),
            InvalidCredentials => (
                "invalid_grant",
                aadsts::INVALID_CREDENTIALS,
                StatusCode::BAD_REQUEST,
            ),
            UserNotFound(_) => (
                "invalid_grant",
                aadsts::USER_NOT_FOUND,
                StatusCode::BAD_REQUEST,
            ),
            UnsupportedGrant(_) => (
                "unsupported_grant_type",
                aadsts::UNSUPPORTED_GRANT,
                StatusCode::BAD_REQUEST,
            ),
            InvalidCode => (
                "invalid_grant",
                aadsts::INVALID_CODE,
                StatusCode::BAD_REQUEST,
            ),
            TenantNotFound(_) => (
                "invalid_request",
                aadsts::TENANT_NOT_FOUND,
                StatusCode::BAD_REQUEST,
            ),
            MfaRequired(_) => (
                "invalid_grant",
                aadsts::MFA_REQUIRED,
                StatusCode::BAD_REQUEST,
            ),
            CrossOriginNotSpa => (
                "invalid_request",
                aadsts::CROSS_ORIGIN_NOT_SPA,
                StatusCode::BAD_REQUEST,
            ),
            PkceMismatch => (
                "invalid_grant",
                aadsts::PKCE_MISMATCH,
                StatusCode::BAD_REQUEST,
            ),
            DeviceRequired(_) => (
                "invalid_grant",
                aadsts::DEVICE_STATE_REQUIRED,
                StatusCode::BAD_REQUEST,
            ),
            Federation(_) | Grant(_) => ("invalid_grant", 0, StatusCode::BAD_REQUEST),
            Internal(_) => ("server_error", 0, StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().2
    }

    /// The AADSTS body of this error, stamped with time and ids like ESTS does.
    pub fn body(&self) -> OAuthError {
        if let AuthorityError::Federation(body) | AuthorityError::Grant(body) = self {
            return (**body).clone();
        }
        let (error, code, _) = self.parts();
        let mut body = OAuthError::aadsts(error, code, &self.to_string());
        body.timestamp = now_rfc3339();
        body.trace_id = uuid::Uuid::new_v4().to_string();
        body.correlation_id = uuid::Uuid::new_v4().to_string();
        body
    }

    /// An HTML rendering for pages shown in a browser (never a redirect: the target of a bad
    /// request is not trusted).
    pub fn into_html(self) -> Response {
        log_if_internal(&self);
        let body = self.body();
        // Entra's conditional-access page has its own heading and names the code for support.
        let heading = match &self {
            AuthorityError::DeviceRequired(_) => "You can't get there from here",
            _ => "Sorry, but we're having trouble signing you in.",
        };
        let code = body.error_codes.first().copied().unwrap_or(0);
        let page = format!(
            "<!DOCTYPE html><html><head><title>Sign in error</title></head><body>\
             <h1>{heading}</h1>\
             <p id=\"error\">{}</p><p id=\"error_description\">{}</p>\
             <p id=\"error_code\">Error code: {code}</p></body></html>",
            html_escape(&body.error),
            html_escape(&body.error_description)
        );
        (self.status(), Html(page)).into_response()
    }
}

fn log_if_internal(error: &AuthorityError) {
    if let AuthorityError::Internal(inner) = error {
        tracing::error!(error = %inner, "internal error");
    }
}

impl IntoResponse for AuthorityError {
    fn into_response(self) -> Response {
        log_if_internal(&self);
        (self.status(), Json(self.body())).into_response()
    }
}

/// An error of the Device Registration Service (enterpriseregistration.windows.net analogue).
#[derive(Debug, thiserror::Error)]
pub enum DrsServiceError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("the api-version {0:?} is not supported")]
    BadApiVersion(String),
    #[error("the Authorization header with a Bearer token is missing")]
    MissingBearer,
    #[error("the access token is not valid: {0}")]
    InvalidToken(String),
    #[error("no tenant owns the domain {0:?}")]
    UnknownDomain(String),
    #[error("device registration is not supported for join type {0}")]
    NotSupported(u32),
    #[error("the user has reached the maximum number of devices ({0})")]
    QuotaExceeded(u32),
    #[error("only the registered owner may delete this device")]
    Forbidden,
    #[error("device {0} was not found")]
    DeviceNotFound(String),
    #[error("the device certificate does not authenticate this device: {0}")]
    DeviceAuth(&'static str),
    #[error("the key attestation was rejected: {0}")]
    Attestation(#[from] crate::attestation::AttestationError),
    #[error("internal error")]
    Internal(#[from] InternalError),
}

impl DrsServiceError {
    fn parts(&self) -> (&'static str, StatusCode) {
        use DrsServiceError::*;
        match self {
            InvalidRequest(_) | BadApiVersion(_) => ("invalid_request", StatusCode::BAD_REQUEST),
            MissingBearer => ("authorization_failed", StatusCode::UNAUTHORIZED),
            InvalidToken(_) => ("invalid_token", StatusCode::UNAUTHORIZED),
            UnknownDomain(_) => ("tenant_not_found", StatusCode::NOT_FOUND),
            NotSupported(_) => ("not_supported", StatusCode::BAD_REQUEST),
            QuotaExceeded(_) => ("quota_exceeded", StatusCode::BAD_REQUEST),
            Forbidden => ("forbidden", StatusCode::FORBIDDEN),
            DeviceNotFound(_) => ("device_not_found", StatusCode::NOT_FOUND),
            DeviceAuth(_) => ("device_authentication_failed", StatusCode::FORBIDDEN),
            Attestation(_) => ("attestation_failed", StatusCode::BAD_REQUEST),
            Internal(_) => ("internal_error", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    pub fn body(&self) -> DrsError {
        DrsError {
            code: self.parts().0.to_string(),
            subcode: None,
            message: self.to_string(),
            operation_id: uuid::Uuid::new_v4().to_string(),
            time: now_rfc3339(),
        }
    }
}

impl IntoResponse for DrsServiceError {
    fn into_response(self) -> Response {
        if let DrsServiceError::Internal(inner) = &self {
            tracing::error!(error = %inner, "internal error");
        } else {
            tracing::info!(reason = %self, "DRS request rejected");
        }
        (self.parts().1, Json(self.body())).into_response()
    }
}

/// Current time in RFC 3339, as both services stamp their errors.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Escape text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
