//! Finishing or undoing, on the next start, a join that was killed after DRS answered.
//!
//! Before the registration POST the join writes its plan ([`PlannedJoin`]: everything the
//! join info needs except what the certificate says) into its staging dir, beside the keys;
//! as soon as DRS answers, the answer (the device certificate) goes there too. A join killed
//! between that answer and the commit leaves a staging dir that holds all of it, and DRS holds
//! a device object the machine does not know. On the next start (`serve`, `join`; always with
//! the state dir's lock held, before the leftovers are swept) [`recover`] looks at each:
//!
//! - **Finish** when everything is there: not joined meanwhile, plan and answer readable, the
//!   device key loads (from its blob, in the TPM for a TPM key) and the certificate passes the
//!   same checks as in a join (it certifies that key, names a device id, matches the announced
//!   thumbprint). The user asked for this join and DRS made it: committing it is what they
//!   want. A token that named an MDM leaves a pending enrollment (`host-bridge mdm-enroll`),
//!   because the page's MDM grant did not survive the process.
//! - **Undo** otherwise: the device object is deleted at DRS, authenticated by the device
//!   certificate over TLS (as `leave` does), and the staging dir goes.
//! - **Keep** when neither works (DRS unreachable or refusing, the key not loadable): the
//!   staging dir is kept as `.unfinished-<uuid>` for the next start to try again, and the
//!   journal stays for `status`.
//!
//! When no answer arrived there is nothing to finish or to authenticate a delete with: the
//! staging dir is swept and the journal ([`crate::journal`]) keeps telling the administrator
//! which device object to look for. A journal left by a join killed after its commit is
//! cleared here too (the committed join holds the same key).

use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::discovery::DiscoveryDocument;
use cxh_wire::registration::RegistrationResponse;
use der::referenced::OwnedToRef;
use der::Decode;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use crate::journal::key_thumbprint;
use crate::keys::{provider_for_name_at, KeyPurpose, ProviderKey};
use crate::store::{
    check_certificate, subject_common_name, CertificateValidity, CheckedCertificate, JoinInfo,
    KeyFacts, MachineStore, StagedJoin, TenantFacts, UserFacts, CERT_DER_FILE, DEVICE_KEY_FILE,
    STAGING_PREFIX, UNFINISHED_PREFIX,
};

/// The join's plan, written before the POST.
pub const PLAN_FILE: &str = "join-plan.json";
/// DRS's answer, written as soon as it arrives.
pub const ANSWER_FILE: &str = "registration-answer.json";
/// Recovery's records, removed from `join/` once committed.
pub const RECORDS: [&str; 2] = [PLAN_FILE, ANSWER_FILE];

/// The join info of a join, less what its certificate says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedJoin {
    pub device_name: String,
    pub os_version: String,
    pub tenant: TenantFacts,
    pub user: UserFacts,
    pub token_claims: serde_json::Value,
    pub discovery: DiscoveryDocument,
    pub authority: String,
    pub drs: String,
    pub key: KeyFacts,
    /// The CA bundle the join trusted (`--ca-file`), made absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<std::path::PathBuf>,
}

impl PlannedJoin {
    /// The join info once DRS's certificate is accepted.
    pub fn join_info(&self, certificate: &CheckedCertificate) -> JoinInfo {
        JoinInfo {
            device_id: certificate.device_id.clone(),
            thumbprint: certificate.thumbprint.clone(),
            device_name: self.device_name.clone(),
            os_version: self.os_version.clone(),
            certificate: CertificateValidity {
                not_before_unix: certificate.not_before_unix,
                not_after_unix: certificate.not_after_unix,
            },
            tenant: self.tenant.clone(),
            user: self.user.clone(),
            token_claims: self.token_claims.clone(),
            discovery: self.discovery.clone(),
            authority: self.authority.clone(),
            drs: self.drs.clone(),
            key: self.key.clone(),
            joined_at: time::OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default(),
            ca_file: self.ca_file.clone(),
        }
    }
}

/// What recovery did with one interrupted join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// The join was committed: the device is joined.
    Finished { device_id: String },
    /// The device object was deleted at DRS; `why` the join was not finished.
    Undone { device_id: String, why: String },
    /// Neither was possible; kept for the next start (the journal stays).
    Kept { device_id: String, reason: String },
    /// The records are unreadable: nothing to finish or to delete with (swept; the journal
    /// stays).
    Unusable { reason: String },
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovered::Finished { device_id } => write!(
                f,
                "an interrupted join was finished: the device is joined (device id {device_id})"
            ),
            Recovered::Undone { device_id, why } => write!(
                f,
                "an interrupted join could not be finished ({why}); its device object {device_id} was deleted at DRS"
            ),
            Recovered::Kept { device_id, reason } => write!(
                f,
                "an interrupted join left device object {device_id} in the tenant, which could not be deleted yet ({reason}); the next start tries again"
            ),
            Recovered::Unusable { reason } => write!(
                f,
                "an interrupted join's records are unusable ({reason}); the device may exist in the tenant (see status)"
            ),
        }
    }
}

/// Finish or undo every interrupted join in the store. Call with the state dir's lock held,
/// before [`MachineStore::sweep_leftovers`].
pub async fn recover(store: &MachineStore, ca_file: Option<&Path>) -> Vec<Recovered> {
    clear_journal_of_committed_join(store);
    let mut outcomes = Vec::new();
    for dir in interrupted(store) {
        let outcome = recover_one(store, &dir, ca_file).await;
        match &outcome {
            Recovered::Finished { .. } | Recovered::Undone { .. } => {
                tracing::warn!(%outcome, "recovery")
            }
            _ => tracing::error!(%outcome, "recovery"),
        }
        outcomes.push(outcome);
    }
    outcomes
}

/// The staging (and kept) dirs that hold a DRS answer.
fn interrupted(store: &MachineStore) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(store.root()) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(STAGING_PREFIX) || name.starts_with(UNFINISHED_PREFIX)
        })
        .map(|entry| entry.path())
        .filter(|dir| dir.join(ANSWER_FILE).exists())
        .collect();
    dirs.sort();
    dirs
}

/// A join killed after its commit but before the journal went: same key, so it is known.
fn clear_journal_of_committed_join(store: &MachineStore) {
    let Some(pending) = crate::journal::load(store) else {
        return;
    };
    let committed_key = store
        .read_join_file(CERT_DER_FILE)
        .ok()
        .and_then(|der| certified_key(&der));
    if committed_key.is_some_and(|key| key_thumbprint(&key) == pending.key_thumbprint) {
        tracing::info!("the journal's registration is the committed join; journal cleared");
        crate::journal::clear(store);
    }
}

fn certified_key(der: &[u8]) -> Option<rsa::RsaPublicKey> {
    let certificate = x509_cert::Certificate::from_der(der).ok()?;
    rsa::RsaPublicKey::try_from(
        certificate
            .tbs_certificate
            .subject_public_key_info
            .owned_to_ref(),
    )
    .ok()
}

/// The device id DRS put in the certificate's subject CN, if it is one (a GUID).
pub fn registered_device_id(response: &RegistrationResponse) -> Option<String> {
    let der = STANDARD.decode(response.certificate.raw_body.trim()).ok()?;
    let certificate = x509_cert::Certificate::from_der(&der).ok()?;
    let cn = subject_common_name(&certificate).ok()?;
    uuid::Uuid::parse_str(&cn)
        .ok()
        .map(|id| id.hyphenated().to_string())
}

fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<T, String> {
    let bytes = fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{name}: {e}"))
}

async fn recover_one(store: &MachineStore, dir: &Path, ca_file: Option<&Path>) -> Recovered {
    let unusable = |reason: String| {
        // Swept with the other leftovers; the journal keeps what an administrator needs.
        let _ = fs::remove_dir_all(dir);
        Recovered::Unusable { reason }
    };
    let answer: RegistrationResponse = match read_json(dir, ANSWER_FILE) {
        Ok(answer) => answer,
        Err(reason) => return unusable(reason),
    };
    let Some(device_id) = registered_device_id(&answer) else {
        return unusable("the certificate names no device id".into());
    };
    let certificate_der = match STANDARD.decode(answer.certificate.raw_body.trim()) {
        Ok(der) => der,
        Err(e) => return unusable(format!("the certificate is not base64: {e}")),
    };
    let plan: PlannedJoin = match read_json(dir, PLAN_FILE) {
        Ok(plan) => plan,
        Err(reason) => return unusable(reason),
    };
    let staged = match store.resume_join(dir) {
        Ok(staged) => staged,
        Err(e) => return keep(None, &device_id, e.to_string()),
    };
    let key = match load_device_key(dir, &plan) {
        Ok(key) => key,
        Err(reason) => return keep(Some(staged), &device_id, reason),
    };
    let why_not = if store.is_joined() {
        "the device was joined meanwhile".to_string()
    } else {
        match finish(&staged, &plan, &answer, &certificate_der, key.as_ref()) {
            Ok(checked) => match staged.commit() {
                Ok(_) => {
                    forget_journal(store, key.as_ref());
                    leave_mdm_pending(store, &plan, &checked);
                    return Recovered::Finished {
                        device_id: checked.device_id,
                    };
                }
                // Rare (the join dir was checked above): the rename or its flush failed.
                Err(e) => return keep(None, &device_id, format!("the commit failed: {e}")),
            },
            Err(reason) => reason,
        }
    };
    undo(
        store,
        staged,
        &plan,
        key,
        certificate_der,
        &device_id,
        ca_file,
        why_not,
    )
    .await
}

/// The checks of a join, then the certificate and the join info into the staging dir.
fn finish(
    staged: &StagedJoin,
    plan: &PlannedJoin,
    answer: &RegistrationResponse,
    der: &[u8],
    key: &dyn ProviderKey,
) -> Result<CheckedCertificate, String> {
    let checked = check_certificate(der, key.public_key(), &answer.certificate.thumbprint)
        .map_err(|e| format!("the certificate was refused: {e}"))?;
    staged
        .write_certificate(&checked)
        .map_err(|e| e.to_string())?;
    staged
        .write_join_info(&plan.join_info(&checked))
        .map_err(|e| e.to_string())?;
    Ok(checked)
}

fn load_device_key(
    dir: &Path,
    plan: &PlannedJoin,
) -> Result<std::sync::Arc<dyn ProviderKey>, String> {
    let provider = provider_for_name_at(&plan.key.provider, plan.key.tpm_tcti.as_deref())
        .map_err(|e| format!("the device key's provider is not available: {e}"))?;
    let blob =
        fs::read(dir.join(DEVICE_KEY_FILE)).map_err(|e| format!("{DEVICE_KEY_FILE}: {e}"))?;
    provider
        .load_key(KeyPurpose::Device, &blob)
        .map(std::sync::Arc::from)
        .map_err(|e| format!("the device key cannot be loaded: {e}"))
}

/// Delete the device object at DRS with its certificate; keep the dir when that fails.
#[allow(clippy::too_many_arguments)]
async fn undo(
    store: &MachineStore,
    staged: StagedJoin,
    plan: &PlannedJoin,
    key: std::sync::Arc<dyn ProviderKey>,
    certificate_der: Vec<u8>,
    device_id: &str,
    ca_file: Option<&Path>,
    why: String,
) -> Recovered {
    let deleted = async {
        let drs = url::Url::parse(&plan.drs).map_err(|e| format!("DRS URL {}: {e}", plan.drs))?;
        let client = crate::device_auth::device_client(ca_file, certificate_der, key.clone())
            .map_err(|e| e.to_string())?;
        match crate::device_auth::delete_with_certificate(&client, &drs, device_id).await {
            Ok(()) => Ok(()),
            // Already gone (an administrator deleted it): the tenant holds nothing.
            Err(crate::device_auth::DeviceAuthError::Drs(
                crate::registration::RegistrationError::Rejected { status: 404, .. },
            )) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
    .await;
    match deleted {
        Ok(()) => {
            drop(staged);
            forget_journal(store, key.as_ref());
            Recovered::Undone {
                device_id: device_id.to_string(),
                why,
            }
        }
        Err(reason) => keep(Some(staged), device_id, format!("{why}; {reason}")),
    }
}

fn keep(staged: Option<StagedJoin>, device_id: &str, reason: String) -> Recovered {
    if let Some(staged) = staged {
        if let Err(e) = staged.keep_for_retry() {
            tracing::error!(error = %e, "could not keep an interrupted join for the next start");
        }
    }
    Recovered::Kept {
        device_id: device_id.to_string(),
        reason,
    }
}

/// The journal goes if it is this registration's (same device key).
fn forget_journal(store: &MachineStore, key: &dyn ProviderKey) {
    if crate::journal::load(store)
        .is_some_and(|pending| pending.key_thumbprint == key_thumbprint(key.public_key()))
    {
        crate::journal::clear(store);
    }
}

/// The MDM grant of the page died with the process: record the enrollment as pending.
fn leave_mdm_pending(store: &MachineStore, plan: &PlannedJoin, checked: &CheckedCertificate) {
    let Some(enrollment_url) = crate::mdm::enrollment_url(&plan.token_claims) else {
        return;
    };
    let pending = crate::mdm::store::PendingEnrollment {
        enrollment_url,
        opaque_blob: None,
        reason: format!(
            "the join of device {} was finished after a restart; enroll with host-bridge mdm-enroll",
            checked.device_id
        ),
    };
    if let Err(e) = crate::mdm::store::save_pending(store, &pending) {
        tracing::warn!(error = %e, "could not record the pending MDM enrollment");
    }
}
