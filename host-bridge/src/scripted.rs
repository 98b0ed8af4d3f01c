//! The scripted join: the same pipeline without a browser, for tests and benchmarks.
//!
//! The user's password is exchanged for an access token to DRS with the OAuth2 password
//! grant at `{authority}/{domain}/oauth2/token` (client = the DRS client id, resource = the
//! DRS resource id), the token is validated like the page's id_token, and the join runs with
//! it as the bearer. The password is only ever held in a [`Secret`] and never logged.
//! [`join_with_password`] is the whole `host-bridge join` command; [`PhaseClock`] prints and
//! times the phases for it and for `mdm-enroll`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use cxh_wire::bridge::{JoinPhase, JoinResult, PhaseState};
use cxh_wire::consts::{DRS_CLIENT_ID, DRS_RESOURCE_ID};
use cxh_wire::oidc::{OAuthError, TokenResponse};
use thiserror::Error;

use crate::config::{endpoint, BridgeConfig};
use crate::discovery::{upn_domain, DiscoveryError};
use crate::error::JoinError;
use crate::http::HttpSetupError;
use crate::http::{self, send, NetworkError};
use crate::join::JoinIdentity;
use crate::join::{run_join, JoinContext};
use crate::keys::KeyProvider;
use crate::secret::Secret;
use crate::store::{MachineStore, StoreError};
use crate::token::{TokenError, TokenValidator};

#[derive(Debug, Error)]
pub enum SignInError {
    #[error(transparent)]
    Domain(#[from] DiscoveryError),
    #[error("the token endpoint {url} could not be reached: {cause}")]
    Unreachable {
        url: String,
        #[source]
        cause: NetworkError,
    },
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
    let unreachable = |cause: NetworkError| SignInError::Unreachable {
        url: url.clone(),
        cause,
    };
    let response = send(http.post(&url).form(&form))
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = http::body(response).await.map_err(unreachable)?;
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

/// Why `host-bridge join` failed.
#[derive(Debug, Error)]
pub enum ScriptedJoinError {
    #[error(transparent)]
    Http(#[from] HttpSetupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sign-in failed: {0}")]
    SignIn(#[from] SignInError),
    #[error(transparent)]
    Join(#[from] JoinError),
}

/// A finished scripted join: the result and how long each step took (ms).
#[derive(Debug)]
pub struct ScriptedJoin {
    pub result: JoinResult,
    pub sign_in_ms: u128,
    pub phases: Vec<(&'static str, u128)>,
    pub total_ms: u128,
}

/// `host-bridge join`: lock the store, sign in with the password grant, run the join,
/// printing each phase as it starts and completes.
pub async fn join_with_password(
    config: BridgeConfig,
    keys: Arc<dyn KeyProvider>,
    credentials: &Credentials,
) -> Result<ScriptedJoin, ScriptedJoinError> {
    let http = crate::http::build_client(config.ca_file.as_deref())?;
    let store = MachineStore::open(&config.state_dir)?;
    let _lock = store.lock()?;
    for recovered in crate::recovery::recover(&store, config.ca_file.as_deref()).await {
        println!("[recovery] {recovered}");
    }
    store.sweep_leftovers();
    let validator = TokenValidator::new(http.clone(), config.authority.clone());
    let total = Instant::now();

    println!("[sign_in] started");
    let identity = sign_in(&http, &validator, &config.authority, credentials)
        .await
        .inspect_err(|_| println!("[sign_in] failed"))?;
    let sign_in_ms = total.elapsed().as_millis();
    println!("[sign_in] completed in {sign_in_ms} ms");

    let context = JoinContext {
        http,
        config,
        keys,
        store,
    };
    let mut clock = PhaseClock::default();
    let result = run_join(&context, &identity, &mut |phase, state| {
        clock.record(phase, state)
    })
    .await
    .inspect_err(|error| {
        // The phase list ends with the phase that failed, not with its "started" line.
        if let Some(phase) = error.phase() {
            println!("[{}] failed", phase.as_str());
        }
    })?;
    Ok(ScriptedJoin {
        result,
        sign_in_ms,
        phases: clock.finished,
        total_ms: total.elapsed().as_millis(),
    })
}

/// Prints each phase event and collects per-phase durations.
#[derive(Default)]
pub struct PhaseClock {
    started: BTreeMap<&'static str, Instant>,
    pub finished: Vec<(&'static str, u128)>,
}

impl PhaseClock {
    pub fn record(&mut self, phase: JoinPhase, state: PhaseState) {
        let name = phase.as_str();
        match state {
            PhaseState::Started => {
                self.started.insert(name, Instant::now());
                println!("[{name}] started");
            }
            PhaseState::Completed => {
                let ms = self
                    .started
                    .get(name)
                    .map(|t| t.elapsed().as_millis())
                    .unwrap_or_default();
                self.finished.push((name, ms));
                println!("[{name}] completed in {ms} ms");
            }
        }
    }
}
