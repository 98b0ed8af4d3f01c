//! The scripted join: the same pipeline without a browser, for tests and benchmarks.
//!
//! The user's password is exchanged for an access token to DRS with the OAuth2 password
//! grant at `{authority}/{domain}/oauth2/token` (client = the DRS client id, resource = the
//! DRS resource id), the token is validated like the page's id_token, and the join runs with
//! it as the bearer. The password is only ever held in a [`Secret`] and never logged.

use cxh_wire::consts::{DRS_CLIENT_ID, DRS_RESOURCE_ID};
use cxh_wire::oidc::{OAuthError, TokenResponse};
use thiserror::Error;

use crate::config::endpoint;
use crate::discovery::{upn_domain, DiscoveryError};
use crate::join::JoinIdentity;
use crate::secret::Secret;
use crate::token::{TokenError, TokenValidator};

#[derive(Debug, Error)]
pub enum SignInError {
    #[error(transparent)]
    Domain(#[from] DiscoveryError),
    #[error("the token endpoint {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("sign-in refused ({error}): {description}")]
    Refused { error: String, description: String },
    #[error("the token endpoint answered HTTP {status} without an OAuth error")]
    Status { status: u16 },
    #[error("the token response is not of the expected shape: {0}")]
    BadResponse(String),
    #[error("the issued access token was refused: {0}")]
    Token(#[from] TokenError),
}

/// Username and password for the password grant.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

/// Get an access token for DRS with the password grant.
pub async fn password_grant(
    http: &reqwest::Client,
    authority: &url::Url,
    credentials: &Credentials,
) -> Result<Secret, SignInError> {
    let domain = upn_domain(&credentials.username)?;
    let url = endpoint(authority, &format!("{domain}/oauth2/token"));
    let form = [
        ("grant_type", "password"),
        ("client_id", DRS_CLIENT_ID),
        ("resource", DRS_RESOURCE_ID),
        ("username", credentials.username.as_str()),
        ("password", credentials.password.expose()),
        ("scope", "openid"),
    ];
    let unreachable = |e: reqwest::Error| SignInError::Unreachable {
        url: url.clone(),
        reason: e.to_string(),
    };
    let response = http
        .post(&url)
        .form(&form)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = response.bytes().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(match serde_json::from_slice::<OAuthError>(&body) {
            Ok(e) => SignInError::Refused {
                error: e.error,
                description: e.error_description,
            },
            Err(_) => SignInError::Status {
                status: status.as_u16(),
            },
        });
    }
    let token: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| SignInError::BadResponse(e.to_string()))?;
    Ok(Secret::new(token.access_token))
}

/// Sign in and validate the token: the identity a scripted join runs with.
pub async fn sign_in(
    http: &reqwest::Client,
    validator: &TokenValidator,
    authority: &url::Url,
    credentials: &Credentials,
) -> Result<JoinIdentity, SignInError> {
    let access_token = password_grant(http, authority, credentials).await?;
    let claims = validator
        .validate_access_token(access_token.expose())
        .await?;
    Ok(JoinIdentity::from_access_token(
        access_token.expose(),
        &claims,
    ))
}
