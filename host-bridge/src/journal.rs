//! The registration journal: what an administrator needs to find a device object that DRS
//! may have created although this machine never learnt of it (the bridge was killed during
//! the registration POST, or the answer was lost).
//!
//! Written (0600, atomically) just before the POST, removed once the outcome is known: the join
//! committed, DRS refused (nothing was created), or a failed join's device object was deleted
//! again. A journal still there afterwards means "the device may exist in the tenant";
//! `status` shows it with the device name, the device key's thumbprint (the base64 SHA-256 of
//! its SubjectPublicKeyInfo, the tail of the device object's alternativeSecurityId) and the
//! time, until the next join replaces it.
//!
//! When DRS's answer did arrive (saved in the staging dir the moment it came), the next start
//! finishes or undoes the join and clears the journal ([`crate::recovery`]). When it never
//! arrived there is no certificate to finish with or to authenticate a delete with: the journal
//! stays, and `status` keeps telling the administrator which device object to look for.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs8::EncodePublicKey;
use rsa::RsaPublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::MachineStore;

pub const JOURNAL_FILE: &str = "pending-registration.json";

/// A registration whose outcome this machine does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRegistration {
    pub device_name: String,
    /// Base64 SHA-256 of the device key's SubjectPublicKeyInfo (DER).
    pub key_thumbprint: String,
    pub started_at: String,
    pub join_endpoint: String,
}

/// The thumbprint DRS puts after the certificate thumbprint in alternativeSecurityId.
pub fn key_thumbprint(key: &RsaPublicKey) -> String {
    key.to_public_key_der()
        .map(|der| STANDARD.encode(Sha256::digest(der.as_bytes())))
        .unwrap_or_default()
}

/// Write the journal before the POST.
pub fn record(store: &MachineStore, pending: &PendingRegistration) -> std::io::Result<()> {
    let path = store.root().join(JOURNAL_FILE);
    let tmp = store.root().join(format!("{JOURNAL_FILE}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(pending).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)
}

/// The outcome is known: forget the journal.
pub fn clear(store: &MachineStore) {
    let _ = std::fs::remove_file(store.root().join(JOURNAL_FILE));
}

pub fn load(store: &MachineStore) -> Option<PendingRegistration> {
    let bytes = std::fs::read(store.root().join(JOURNAL_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}
