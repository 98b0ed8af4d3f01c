//! What each broker method does, independent of D-Bus: the D-Bus layer ([`super::dbus`]) parses
//! the JSON, calls these and writes the answer; the tests and benchmarks call them directly.
//!
//! The broker talks only to the authority this device joined, whatever host a caller's
//! `authority` names (callers written for the public cloud send `login.microsoftonline.com`);
//! it checks only that the tenant part is this device's tenant (or `common`/`organizations`),
//! so a request can never send the PRT anywhere else.

use std::sync::Arc;

use cxh_wire::broker::{
    Account, AccountsResponse, AuthParameters, BrokerToken, CookieRequest, CookieResponse,
    GetAccountsRequest, RemoveAccountRequest, ShrRequest, ShrResponse, TokenRequest,
    VersionResponse, ACCESS_TOKEN_TYPE_BEARER, ACCESS_TOKEN_TYPE_POP,
};
use cxh_wire::pop::PopParams;
use cxh_wire::prt::{PrtTokenResponse, PRT_COOKIE_NAME};

use super::accounts::{account_of, find};
use super::cache::{CacheKey, TokenCache};
use super::interactive::{message_for, SignInWindow, FLOW_TIMEOUT, MAX_ATTEMPTS};
use super::pop::PopKey;
use super::BrokerFailure;
use crate::prt::client::Audience;
use crate::prt::signin::PrtContext;
use crate::prt::store::{self, PrtRecord};
use crate::prt::{now_unix, PrtError};

/// The version `getLinuxBrokerVersion` reports: this bridge's.
pub const BROKER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Lifetime assumed when the authority's `expires_in` is missing or unreadable (one hour).
const DEFAULT_TOKEN_SECS: i64 = 3600;

pub struct Broker {
    ctx: PrtContext,
    cache: TokenCache,
    /// One PRT operation at a time: a renewal replaces the PRT the other requests would send.
    prt_lock: tokio::sync::Mutex<()>,
    /// The PoP key, loaded (or made) at the first PoP request.
    pop_key: tokio::sync::OnceCell<Arc<PopKey>>,
    /// How `acquireTokenInteractively` asks the user to sign in.
    window: SignInWindow,
    /// Cancels the running interactive sign-in (`cancelInteractiveFlow`); one at a time.
    interactive: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

/// How a silent token request was answered (for the CLI and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    FromCache,
    FromAuthority,
}

impl Broker {
    pub fn new(ctx: PrtContext) -> Self {
        Broker {
            ctx,
            cache: TokenCache::default(),
            prt_lock: tokio::sync::Mutex::new(()),
            pop_key: tokio::sync::OnceCell::new(),
            window: SignInWindow::default(),
            interactive: std::sync::Mutex::new(None),
        }
    }

    /// Open interactive sign-ins with `window` (browser command, handoff dir).
    pub fn with_sign_in_window(mut self, window: SignInWindow) -> Self {
        self.window = window;
        self
    }

    /// The PRT records of this device's tenant.
    pub fn records(&self) -> Vec<PrtRecord> {
        store::list(&self.ctx.store)
            .into_iter()
            .filter(|r| r.tenant_id == self.ctx.info.tenant.id)
            .collect()
    }

    /// `getAccounts`: every user with a PRT record, usable or not (a silent request for one
    /// whose PRT is dead then says "interaction required", which is what callers act on).
    pub fn get_accounts(&self, _request: &GetAccountsRequest) -> AccountsResponse {
        AccountsResponse {
            accounts: self.records().iter().map(account_of).collect(),
        }
    }

    /// `acquireTokenSilently`.
    pub async fn acquire_token_silently(
        &self,
        request: &TokenRequest,
    ) -> Result<BrokerToken, BrokerFailure> {
        self.token(request).await.map(|(token, _)| token)
    }

    /// A silent token, saying whether the cache answered.
    pub async fn token(
        &self,
        request: &TokenRequest,
    ) -> Result<(BrokerToken, Served), BrokerFailure> {
        let params = &request.auth_parameters;
        if params.client_id.trim().is_empty() {
            return Err(BrokerFailure::BadRequest(
                "authParameters.clientId is missing".into(),
            ));
        }
        let scopes: Vec<String> = params
            .requested_scopes
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if scopes.is_empty() {
            return Err(BrokerFailure::BadRequest(
                "authParameters.requestedScopes is empty".into(),
            ));
        }
        self.check_authority(params.authority.as_deref())?;
        let records = self.records();
        let account = params.account.as_ref().or(request.account.as_ref());
        let record = find(&records, account, params.username.as_deref())?;
        let pop = match &params.pop_params {
            Some(pop_params) => Some((self.pop_key().await?, pop_params)),
            None => None,
        };
        let mut key = CacheKey::new(&record.upn, &params.client_id, &scopes);
        if pop.is_some() {
            key = key.for_pop();
        }
        let (token, served) = self
            .cached_or_fresh(
                record,
                request,
                &scopes,
                key,
                pop.as_ref().map(|(k, _)| k.as_ref()),
            )
            .await?;
        match pop {
            Some((pop_key, pop_params)) => {
                Ok((signed_for_request(&pop_key, pop_params, token)?, served))
            }
            None => Ok((token, served)),
        }
    }

    /// The access token for `key` from the cache, else from the authority through the PRT
    /// (bound to `pop_key` when given; the cache holds the token, never a signed request).
    async fn cached_or_fresh(
        &self,
        record: &PrtRecord,
        request: &TokenRequest,
        scopes: &[String],
        key: CacheKey,
        pop_key: Option<&PopKey>,
    ) -> Result<(BrokerToken, Served), BrokerFailure> {
        let params = &request.auth_parameters;
        // A claims challenge (conditional access) asks for a new token, never a cached one.
        let cacheable = params.decoded_claims.is_none();
        if cacheable {
            if let Some(token) = self.cache.get(&key, now_unix()) {
                return Ok((token, Served::FromCache));
            }
        }
        let _one_at_a_time = self.prt_lock.lock().await;
        if cacheable {
            if let Some(token) = self.cache.get(&key, now_unix()) {
                return Ok((token, Served::FromCache));
            }
        }
        let audience = Audience::Scope(scopes.join(" "));
        let req_cnf = pop_key.map(PopKey::req_cnf);
        let answer = self
            .ctx
            .app_token(
                &record.upn,
                params.client_id.trim(),
                &audience,
                req_cnf.as_deref(),
            )
            .await
            .map_err(|e| self.failed(&record.upn, e))?;
        let token = broker_token(record, &answer, scopes);
        if cacheable {
            self.cache.put(key, token.clone());
        }
        Ok((token, Served::FromAuthority))
    }

    /// `generateSignedHttpRequest`: a Signed HTTP Request by the device-held PoP key, without
    /// an access token, for an account of this broker.
    pub async fn generate_signed_http_request(
        &self,
        request: &ShrRequest,
    ) -> Result<ShrResponse, BrokerFailure> {
        let params = request.auth_parameters.as_ref();
        named_record(&self.records(), request.account.as_ref(), params)?;
        let pop_params = request
            .pop_params
            .as_ref()
            .or(params.and_then(|p| p.pop_params.as_ref()))
            .ok_or_else(|| BrokerFailure::BadRequest("popParams is missing".into()))?;
        let key = self.pop_key().await?;
        Ok(ShrResponse {
            signed_http_request: key.sign_request(pop_params, None, now_unix())?,
            kid: key.kid().to_string(),
        })
    }

    /// The device's PoP key (made by the join's key provider on first use).
    async fn pop_key(&self) -> Result<Arc<PopKey>, BrokerFailure> {
        self.pop_key
            .get_or_try_init(|| async {
                PopKey::load_or_create(&self.ctx.store, self.ctx.keys.as_ref()).map(Arc::new)
            })
            .await
            .cloned()
            .map_err(BrokerFailure::Prt)
    }

    /// `acquireTokenInteractively`: silently when the PRT can answer; otherwise the user signs
    /// in again in the broker's window ([`super::interactive`]), which gives a new PRT, and
    /// the token comes from that.
    pub async fn acquire_token_interactively(
        &self,
        request: &TokenRequest,
    ) -> Result<BrokerToken, BrokerFailure> {
        match self.acquire_token_silently(request).await {
            Err(failure) if needs_sign_in(&failure) => {
                let params = &request.auth_parameters;
                let hint = params
                    .account
                    .as_ref()
                    .or(request.account.as_ref())
                    .map(|a| a.username.clone())
                    .or_else(|| params.username.clone())
                    .filter(|u| !u.trim().is_empty());
                tracing::info!(reason = %failure, "interactive sign-in needed");
                self.sign_in_interactively(hint.as_deref()).await?;
                self.acquire_token_silently(request).await
            }
            other => other,
        }
    }

    /// Run one interactive sign-in to its end: a new PRT, or why not.
    async fn sign_in_interactively(&self, username: Option<&str>) -> Result<(), BrokerFailure> {
        let (cancel, mut cancelled) = tokio::sync::oneshot::channel();
        {
            let mut running = self.interactive.lock().unwrap_or_else(|p| p.into_inner());
            if running.as_ref().is_some_and(|r| !r.is_closed()) {
                return Err(BrokerFailure::BadRequest(
                    "another interactive sign-in is in progress".into(),
                ));
            }
            *running = Some(cancel);
        }
        let organization = self.ctx.info.tenant.display_name.clone();
        let outcome = async {
            let mut window = self.window.open(&organization, username).await?;
            let deadline = tokio::time::sleep(FLOW_TIMEOUT);
            tokio::pin!(deadline);
            let mut refused = 0;
            let outcome = loop {
                let attempt = tokio::select! {
                    attempt = window.attempts.recv() => attempt,
                    _ = &mut cancelled => break Err(BrokerFailure::Canceled("cancelled by the app".into())),
                    _ = &mut deadline => break Err(BrokerFailure::Canceled("no sign-in within 5 minutes".into())),
                };
                let Some(attempt) = attempt else {
                    break Err(BrokerFailure::Canceled("the window closed".into()));
                };
                let signed_in = {
                    let _one_at_a_time = self.prt_lock.lock().await;
                    self.ctx.sign_in(&attempt.username, &attempt.password).await
                };
                match signed_in {
                    Ok(record) => {
                        self.cache.forget_user(&record.upn);
                        tracing::info!(upn = %record.upn, "signed in interactively: new PRT");
                        attempt.answer(Ok(()));
                        break Ok(());
                    }
                    Err(error) => {
                        refused += 1;
                        tracing::info!(%error, refused, "interactive sign-in refused");
                        attempt.answer(Err(message_for(&error)));
                        if refused >= MAX_ATTEMPTS {
                            break Err(BrokerFailure::Prt(error));
                        }
                    }
                }
            };
            window.close().await;
            outcome
        }
        .await;
        *self.interactive.lock().unwrap_or_else(|p| p.into_inner()) = None;
        outcome
    }

    /// `cancelInteractiveFlow`: end the running interactive sign-in; whether there was one.
    pub fn cancel_interactive_flow(&self) -> bool {
        let running = self
            .interactive
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        running.is_some_and(|cancel| cancel.send(()).is_ok())
    }

    /// `acquirePrtSsoCookie`: the `x-ms-RefreshTokenCredential` cookie for a browser.
    pub async fn acquire_prt_sso_cookie(
        &self,
        request: &CookieRequest,
    ) -> Result<CookieResponse, BrokerFailure> {
        let params = request.auth_parameters.as_ref();
        self.check_authority(params.and_then(|p| p.authority.as_deref()))?;
        let records = self.records();
        let record = named_record(&records, request.account.as_ref(), params)?;
        // Microsoft's broker signs over the nonce in `ssoUrl` (the authority's `sso_nonce`)
        // when the caller passes the URL the authority redirected to.
        let sso_url = request
            .sso_url
            .as_deref()
            .or(params.and_then(|p| p.sso_url.as_deref()));
        let sso_nonce = sso_url.and_then(sso_nonce_of);
        let _one_at_a_time = self.prt_lock.lock().await;
        let cookie = self
            .ctx
            .sso_cookie(&record.upn, sso_nonce.as_deref())
            .await
            .map_err(|e| self.failed(&record.upn, e))?;
        Ok(CookieResponse {
            account: account_of(record),
            cookie_content: cookie,
            cookie_name: PRT_COOKIE_NAME.into(),
        })
    }

    /// `removeAccount`: the user's PRT record and cached tokens are removed from this device
    /// (the PRT itself lapses at the authority; nothing here can revoke it there).
    pub fn remove_account(&self, request: &RemoveAccountRequest) -> Result<(), BrokerFailure> {
        let records = self.records();
        let record = find(&records, request.account.as_ref(), None)?;
        store::remove(&self.ctx.store, &record.upn)?;
        self.cache.forget_user(&record.upn);
        tracing::info!(upn = %record.upn, "account removed from the broker");
        Ok(())
    }

    /// `getLinuxBrokerVersion`.
    pub fn version(&self) -> VersionResponse {
        VersionResponse {
            linux_broker_version: BROKER_VERSION.into(),
        }
    }

    /// Renew every usable PRT older than 4 hours (at start and on the renewal period).
    pub async fn renew_due(&self) -> Vec<(String, Result<(), BrokerFailure>)> {
        let mut outcomes = Vec::new();
        for record in self.records() {
            if record.prt.is_none() || record.dead_reason.is_some() {
                continue;
            }
            let _one_at_a_time = self.prt_lock.lock().await;
            let outcome = self
                .ctx
                .renew_if_due(&record.upn)
                .await
                .map(|_| ())
                .map_err(|e| self.failed(&record.upn, e));
            outcomes.push((record.upn.clone(), outcome));
        }
        outcomes
    }

    /// How many tokens the cache holds (no token is readable through this).
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    /// A PRT that can no longer be used takes its cached tokens with it.
    fn failed(&self, upn: &str, error: PrtError) -> BrokerFailure {
        if error.interaction_required() {
            self.cache.forget_user(upn);
        }
        BrokerFailure::Prt(error)
    }

    /// The tenant part of a caller's authority must be this device's tenant.
    fn check_authority(&self, authority: Option<&str>) -> Result<(), BrokerFailure> {
        let Some(authority) = authority.filter(|a| !a.trim().is_empty()) else {
            return Ok(());
        };
        let url = url::Url::parse(authority.trim()).map_err(|e| {
            BrokerFailure::BadRequest(format!("authority {authority:?} is not a URL: {e}"))
        })?;
        let tenant = url
            .path_segments()
            .and_then(|mut s| s.next())
            .unwrap_or_default()
            .to_lowercase();
        let joined = self.ctx.info.tenant.id.to_lowercase();
        let user_domains: Vec<String> = self
            .records()
            .iter()
            .filter_map(|r| r.upn.rsplit_once('@').map(|(_, d)| d.to_lowercase()))
            .collect();
        let ours = tenant.is_empty()
            || tenant == "common"
            || tenant == "organizations"
            || tenant == joined
            || user_domains.contains(&tenant);
        if ours {
            Ok(())
        } else {
            Err(BrokerFailure::OtherTenant {
                joined,
                asked: tenant,
            })
        }
    }
}

/// The record a request names: its top-level `account`, else its `authParameters`' account or
/// username (callers put them in either place).
fn named_record<'a>(
    records: &'a [PrtRecord],
    account: Option<&Account>,
    params: Option<&AuthParameters>,
) -> Result<&'a PrtRecord, BrokerFailure> {
    let account = account.or(params.and_then(|p| p.account.as_ref()));
    find(records, account, params.and_then(|p| p.username.as_deref()))
}

/// The `sso_nonce` query parameter of an authority URL, if any.
fn sso_nonce_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .filter(|(name, _)| name == "sso_nonce")
        .map(|(_, value)| value.into_owned())
        .last()
}

/// Whether a sign-in can fix what the silent path answered: no PRT for the user on this
/// device (an unknown account), or one the authority no longer takes.
fn needs_sign_in(failure: &BrokerFailure) -> bool {
    match failure {
        BrokerFailure::UnknownAccount(_) => true,
        BrokerFailure::Prt(e) => e.interaction_required(),
        _ => false,
    }
}

/// A PoP token as the app receives it: the access token wrapped in a Signed HTTP Request for
/// the app's request, signed now.
fn signed_for_request(
    key: &PopKey,
    params: &PopParams,
    mut token: BrokerToken,
) -> Result<BrokerToken, BrokerFailure> {
    token.access_token = key.sign_request(params, Some(&token.access_token), now_unix())?;
    token.access_token_type = ACCESS_TOKEN_TYPE_POP;
    Ok(token)
}

/// The broker's answer from the authority's.
fn broker_token(record: &PrtRecord, answer: &PrtTokenResponse, asked: &[String]) -> BrokerToken {
    let now = now_unix();
    let lifetime = answer
        .expires_in
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_TOKEN_SECS);
    let account = account_of(record);
    let granted_scopes = answer
        .scope
        .as_deref()
        .map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| asked.to_vec());
    BrokerToken {
        access_token: answer.access_token.clone().unwrap_or_default(),
        access_token_type: ACCESS_TOKEN_TYPE_BEARER,
        client_info: answer
            .client_info
            .clone()
            .unwrap_or_else(|| account.client_info.clone()),
        account,
        expires_on: (now + lifetime) * 1000,
        extended_expires_on: (now + lifetime) * 1000,
        granted_scopes,
        id_token: answer.id_token.clone(),
    }
}
