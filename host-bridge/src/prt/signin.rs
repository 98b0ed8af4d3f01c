//! The flows on top of the wire: the first sign-in after the join (password from stdin, or the
//! OOBE automatic sign-in buffer), renewal and silent tokens for apps. Every change to a PRT is
//! one atomic record write; a dead PRT (revoked, expired, device disabled) is marked so and its
//! secret dropped.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::prt::{
    ClientInfo, PrtRequestClaims, PrtTokenResponse, GRANT_PASSWORD, GRANT_SAML11_BEARER,
    PRT_CLIENT_ID, PRT_LIFETIME_SECS, PRT_RENEW_AFTER_SECS, PRT_SCOPE, PRT_SLIDING_WINDOW_SECS,
    WIN_VER,
};
use zeroize::Zeroizing;

use super::client::{self, Audience, Endpoint};
use super::store::{self, PrtRecord, UserProfile};
use super::{now_unix, wstrust, PrtError};
use crate::autologon::{AutoLogonFile, AUTO_LOGON_FILE};
use crate::keys::{
    provider_for_name_at, KeyProvider, KeyPurpose, OaepHash, ProviderKey, SessionKey,
};
use crate::store::{JoinInfo, MachineStore, CERT_DER_FILE, DEVICE_KEY_FILE, TRANSPORT_KEY_FILE};
use crate::token::TokenValidator;

/// A joined device's PRT machinery: its store, join facts, key provider and HTTP client.
pub struct PrtContext {
    pub store: MachineStore,
    pub info: JoinInfo,
    pub keys: Box<dyn KeyProvider>,
    pub http: reqwest::Client,
}

fn store_error(e: impl std::fmt::Display) -> PrtError {
    PrtError::Store(e.to_string())
}

impl PrtContext {
    /// Open the joined state dir; TPM keys are reached at `tcti` (else the TCTI of the join).
    pub fn open(
        state_dir: &Path,
        tcti: Option<&str>,
        ca_file: Option<&Path>,
    ) -> Result<Self, PrtError> {
        let store = MachineStore::at(state_dir);
        let info = store
            .load_join_info()
            .map_err(store_error)?
            .ok_or(PrtError::NotJoined)?;
        let tcti = tcti
            .map(str::to_string)
            .or_else(|| info.key.tpm_tcti.clone());
        let keys = provider_for_name_at(&info.key.provider, tcti.as_deref())?;
        let http = crate::http::build_client(info.trusted_ca(ca_file).as_deref())
            .map_err(|e| PrtError::Network(e.to_string()))?;
        Ok(PrtContext {
            store,
            info,
            keys,
            http,
        })
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            authority: self.info.authority.clone(),
            tenant: self.info.tenant.id.clone(),
        }
    }

    fn key(&self, purpose: KeyPurpose, file: &str) -> Result<Box<dyn ProviderKey>, PrtError> {
        let blob = self.store.read_join_file(file).map_err(store_error)?;
        Ok(self.keys.load_key(purpose, &blob)?)
    }

    /// The user a command means when none is named: the one who joined.
    pub fn default_upn(&self) -> String {
        self.info.user.upn.clone()
    }

    /// Get a PRT with the user's password (federated users through the STS).
    pub async fn sign_in(&self, upn: &str, password: &str) -> Result<PrtRecord, PrtError> {
        let upn = upn.trim();
        if upn.is_empty() || password.is_empty() {
            return Err(PrtError::Input(
                "the user name and the password must not be empty".into(),
            ));
        }
        let realm = wstrust::user_realm(&self.http, &self.info.authority, upn).await?;
        let mut claims = PrtRequestClaims {
            client_id: PRT_CLIENT_ID.into(),
            scope: Some(PRT_SCOPE.into()),
            win_ver: Some(WIN_VER.into()),
            username: Some(upn.to_string()),
            ..Default::default()
        };
        let federated = match wstrust::active_endpoint(&realm)? {
            Some(sts) => {
                let assertion = wstrust::saml_assertion(&self.http, &sts, upn, password).await?;
                claims.grant_type = GRANT_SAML11_BEARER.into();
                claims.assertion = Some(STANDARD.encode(assertion.as_bytes()));
                true
            }
            None => {
                claims.grant_type = GRANT_PASSWORD.into();
                claims.password = Some(password.to_string());
                false
            }
        };
        let endpoint = self.endpoint();
        claims.request_nonce = client::nonce(&self.http, &endpoint).await?;
        let device = self.key(KeyPurpose::Device, DEVICE_KEY_FILE)?;
        let certificate = self
            .store
            .read_join_file(CERT_DER_FILE)
            .map_err(store_error)?;
        let request = Zeroizing::new(client::device_signed_request(
            device.as_ref(),
            &certificate,
            &claims,
        )?);
        // The claims hold the password: wipe it now.
        if let Some(p) = claims.password.take() {
            drop(Zeroizing::new(p));
        }
        let response = client::request_prt(&self.http, &endpoint, &request).await?;
        let profile = self.check_id_token(&response.id_token, upn).await?;
        let transport = self.key(KeyPurpose::Transport, TRANSPORT_KEY_FILE)?;
        let session = super::session::unwrap_session_key(
            self.keys.as_ref(),
            transport.as_ref(),
            &response.session_key_jwe,
        )?;
        let now = now_unix();
        let object_id = client_info_uid(response.client_info.as_deref());
        let record = PrtRecord {
            upn: upn.to_string(),
            tenant_id: self.info.tenant.id.clone(),
            authority: self.info.authority.clone(),
            federated,
            issued_at: now,
            updated_at: now,
            expires_at: now + lifetime(Some(&response.refresh_token_expires_in)),
            object_id,
            prt: Some(response.refresh_token.clone()),
            session_key_blob: STANDARD.encode(session.to_blob()?),
            session_key_tpm_held: session.tpm_held(),
            dead_reason: None,
            profile,
        };
        store::save(&self.store, &record)?;
        tracing::info!(
            upn,
            federated,
            tpm_held = record.session_key_tpm_held,
            "PRT obtained"
        );
        Ok(record)
    }

    /// The PRT's id_token must verify (signature, issuer, audience, lifetime) and name the
    /// user who signed in, in the tenant the device joined, before anything is kept.
    async fn check_id_token(&self, raw: &str, upn: &str) -> Result<UserProfile, PrtError> {
        let authority = url::Url::parse(&self.info.authority)
            .map_err(|e| PrtError::Store(format!("the joined authority is not a URL: {e}")))?;
        let claims = TokenValidator::new(self.http.clone(), authority)
            .validate_prt_id_token(raw)
            .await
            .map_err(|e| PrtError::BadResponse(format!("the PRT's id_token: {e}")))?;
        if claims.tid != self.info.tenant.id {
            return Err(PrtError::BadResponse(format!(
                "the PRT's id_token is for tenant {}, not {}",
                claims.tid, self.info.tenant.id
            )));
        }
        if !claims
            .principal()
            .is_some_and(|p| p.eq_ignore_ascii_case(upn))
        {
            return Err(PrtError::BadResponse(
                "the PRT's id_token names another user".into(),
            ));
        }
        Ok(UserProfile {
            name: claims.name.unwrap_or_default(),
            given_name: claims.given_name.unwrap_or_default(),
            family_name: claims.family_name.unwrap_or_default(),
        })
    }

    /// The OOBE automatic sign-in: decrypt `join/autologon.bin` with the transport key (in the
    /// TPM), get the PRT with it, and remove the buffer once the authority has answered.
    pub async fn logon(&self) -> Result<PrtRecord, PrtError> {
        let bytes = self.store.read_join_file(AUTO_LOGON_FILE).map_err(|_| {
            PrtError::Input("no automatic sign-in buffer (join/autologon.bin): use sign-in".into())
        })?;
        let file: AutoLogonFile = serde_json::from_slice(&bytes).map_err(|e| {
            PrtError::Input(format!("the automatic sign-in buffer is malformed: {e}"))
        })?;
        let ciphertext = STANDARD
            .decode(&file.ciphertext)
            .map_err(|_| PrtError::Input("the automatic sign-in buffer is not base64".into()))?;
        let transport = self.key(KeyPurpose::Transport, TRANSPORT_KEY_FILE)?;
        let password = transport.decrypt_oaep(&ciphertext, OaepHash::Sha256)?;
        let password = Zeroizing::new(
            String::from_utf8(password.to_vec())
                .map_err(|_| PrtError::Input("the automatic sign-in buffer is not text".into()))?,
        );
        let result = self.sign_in(&file.upn, &password).await;
        if !matches!(result, Err(PrtError::Network(_))) {
            crate::autologon::remove(&self.store);
        }
        result
    }

    /// The usable record of `upn`: present, alive, within its lifetime and sliding window.
    pub fn usable(
        &self,
        upn: &str,
        now: i64,
    ) -> Result<(PrtRecord, Box<dyn SessionKey>), PrtError> {
        let record =
            store::load(&self.store, upn)?.ok_or_else(|| PrtError::NoPrt(upn.to_string()))?;
        if let Some(reason) = &record.dead_reason {
            return Err(PrtError::Unusable {
                upn: record.upn.clone(),
                reason: reason.clone(),
            });
        }
        let stale = if now >= record.expires_at {
            Some("expired (lifetime)")
        } else if now - record.updated_at >= PRT_SLIDING_WINDOW_SECS {
            Some("expired (unused for 14 days)")
        } else {
            None
        };
        if let Some(reason) = stale {
            self.mark_dead(record.clone(), reason)?;
            return Err(PrtError::Unusable {
                upn: record.upn,
                reason: reason.into(),
            });
        }
        let blob = STANDARD
            .decode(&record.session_key_blob)
            .map_err(|_| PrtError::Store("the session key blob is not base64".into()))?;
        let session = self.keys.load_session_key(&blob)?;
        Ok((record, session))
    }

    fn mark_dead(&self, mut record: PrtRecord, reason: &str) -> Result<(), PrtError> {
        record.prt = None;
        record.dead_reason = Some(reason.to_string());
        tracing::warn!(upn = %record.upn, reason, "PRT can no longer be used");
        store::save(&self.store, &record)
    }

    /// Mark a record dead when the cloud says its PRT is; pass the error on.
    fn on_error(&self, record: &PrtRecord, error: PrtError) -> PrtError {
        if error.prt_is_dead() {
            let reason = error.to_string();
            if let Err(e) = self.mark_dead(record.clone(), &reason) {
                return e;
            }
        }
        error
    }

    /// Renew the PRT (session-key signed, scope with `aza`, encrypted answer).
    pub async fn renew(&self, upn: &str) -> Result<PrtRecord, PrtError> {
        let (record, session) = self.usable(upn, now_unix())?;
        let prt = record
            .prt
            .clone()
            .ok_or_else(|| PrtError::NoPrt(upn.into()))?;
        let endpoint = self.endpoint();
        let result = async {
            let nonce = client::nonce(&self.http, &endpoint).await?;
            let claims = client::renewal_claims(&prt, &nonce);
            client::session_request(&self.http, &endpoint, session.as_ref(), &claims).await
        }
        .await;
        let answer = result.map_err(|e| self.on_error(&record, e))?;
        let renewed = answer
            .refresh_token
            .clone()
            .ok_or_else(|| PrtError::BadResponse("the renewal carries no PRT".into()))?;
        let now = now_unix();
        let record = PrtRecord {
            prt: Some(renewed),
            updated_at: now,
            expires_at: now + lifetime(answer.refresh_token_expires_in.as_deref()),
            ..record
        };
        store::save(&self.store, &record)?;
        Ok(record)
    }

    /// Renew when the PRT is older than 4 hours (seed 003).
    pub async fn renew_if_due(&self, upn: &str) -> Result<PrtRecord, PrtError> {
        let (record, _) = self.usable(upn, now_unix())?;
        if now_unix() - record.updated_at >= PRT_RENEW_AFTER_SECS {
            self.renew(upn).await
        } else {
            Ok(record)
        }
    }

    /// The PRT of `upn`, renewed first when due, with its session key.
    async fn live_prt(
        &self,
        upn: &str,
    ) -> Result<(PrtRecord, Box<dyn SessionKey>, String), PrtError> {
        let record = self.renew_if_due(upn).await?;
        let (record, session) = self.usable(&record.upn, now_unix())?;
        let prt = record
            .prt
            .clone()
            .ok_or_else(|| PrtError::NoPrt(upn.into()))?;
        Ok((record, session, prt))
    }

    /// A PRT SSO cookie for a browser, over `sso_nonce` (the one the authority put in its
    /// redirect) or else a fresh nonce of the authority.
    pub async fn sso_cookie(&self, upn: &str, sso_nonce: Option<&str>) -> Result<String, PrtError> {
        let (record, session, prt) = self.live_prt(upn).await?;
        let nonce = match sso_nonce.filter(|n| !n.trim().is_empty()) {
            Some(nonce) => nonce.trim().to_string(),
            None => client::nonce(&self.http, &self.endpoint())
                .await
                .map_err(|e| self.on_error(&record, e))?,
        };
        client::sso_cookie(session.as_ref(), &prt, &nonce)
    }

    /// A token for an app through the PRT, without a password.
    pub async fn app_token(
        &self,
        upn: &str,
        client_id: &str,
        audience: &Audience,
        req_cnf: Option<&str>,
    ) -> Result<PrtTokenResponse, PrtError> {
        if client_id.trim().is_empty() {
            return Err(PrtError::Input("a client id is required".into()));
        }
        let (record, session, prt) = self.live_prt(upn).await?;
        let endpoint = self.endpoint();
        let result = async {
            let nonce = client::nonce(&self.http, &endpoint).await?;
            let claims = client::app_token_claims(&prt, client_id, audience, &nonce, req_cnf);
            client::session_request(&self.http, &endpoint, session.as_ref(), &claims).await
        }
        .await;
        let answer = result.map_err(|e| self.on_error(&record, e))?;
        if answer.access_token.is_none() {
            return Err(PrtError::BadResponse(
                "the answer carries no access token".into(),
            ));
        }
        let pop_answer = answer
            .token_type
            .eq_ignore_ascii_case(cxh_wire::pop::TOKEN_TYPE_POP);
        if req_cnf.is_some() != pop_answer {
            // A bearer token handed out as PoP (or back) would be refused by the resource,
            // or worse, accepted by one that should have seen the key.
            return Err(PrtError::BadResponse(format!(
                "asked for a {} token, the answer is token_type {:?}",
                if req_cnf.is_some() { "PoP" } else { "bearer" },
                answer.token_type
            )));
        }
        Ok(answer)
    }
}

/// Seconds of a lifetime the authority sent as a string (90 days when absent or unreadable).
fn lifetime(value: Option<&str>) -> i64 {
    value
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(PRT_LIFETIME_SECS)
}

fn client_info_uid(client_info: Option<&str>) -> Option<String> {
    let bytes = cxh_wire::prt_crypto::b64url_decode(client_info?).ok()?;
    serde_json::from_slice::<ClientInfo>(&bytes)
        .ok()
        .map(|c| c.uid)
}
