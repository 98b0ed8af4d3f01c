//! What each broker method does, independent of D-Bus: the D-Bus layer ([`super::dbus`]) parses
//! the JSON, calls these and writes the answer; the tests and benchmarks call them directly.
//!
//! The broker talks only to the authority this device joined, whatever host a caller's
//! `authority` names (callers written for the public cloud send `login.microsoftonline.com`);
//! it checks only that the tenant part is this device's tenant (or `common`/`organizations`),
//! so a request can never send the PRT anywhere else.

use cxh_wire::broker::{
    AccountsResponse, BrokerToken, CookieRequest, CookieResponse, GetAccountsRequest,
    RemoveAccountRequest, TokenRequest, VersionResponse, ACCESS_TOKEN_TYPE_BEARER,
};
use cxh_wire::prt::{PrtTokenResponse, PRT_COOKIE_NAME};

use super::accounts::{account_of, find};
use super::cache::{CacheKey, TokenCache};
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
        }
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
        let key = CacheKey::new(&record.upn, &params.client_id, &scopes);
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
        let answer = self
            .ctx
            .app_token(&record.upn, params.client_id.trim(), &audience)
            .await
            .map_err(|e| self.failed(&record.upn, e))?;
        let token = broker_token(record, &answer, &scopes);
        if cacheable {
            self.cache.put(key, token.clone());
        }
        Ok((token, Served::FromAuthority))
    }

    /// `acquireTokenInteractively`: this broker has no sign-in window of its own (the user signs
    /// in at logon, or with `host-bridge sign-in`); it answers silently when it can.
    pub async fn acquire_token_interactively(
        &self,
        request: &TokenRequest,
    ) -> Result<BrokerToken, BrokerFailure> {
        match self.acquire_token_silently(request).await {
            Err(BrokerFailure::Prt(e)) if e.interaction_required() => {
                Err(BrokerFailure::Unsupported(format!(
                    "{e}; this broker has no sign-in window: sign in on the device (host-bridge sign-in) and try again"
                )))
            }
            other => other,
        }
    }

    /// `acquirePrtSsoCookie`: the `x-ms-RefreshTokenCredential` cookie for a browser.
    pub async fn acquire_prt_sso_cookie(
        &self,
        request: &CookieRequest,
    ) -> Result<CookieResponse, BrokerFailure> {
        let params = request.auth_parameters.as_ref();
        self.check_authority(params.and_then(|p| p.authority.as_deref()))?;
        let records = self.records();
        let account = request
            .account
            .as_ref()
            .or(params.and_then(|p| p.account.as_ref()));
        let record = find(
            &records,
            account,
            params.and_then(|p| p.username.as_deref()),
        )?;
        let _one_at_a_time = self.prt_lock.lock().await;
        let cookie = self
            .ctx
            .sso_cookie(&record.upn)
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
