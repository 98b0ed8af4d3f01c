//! The PRT store: one JSON file per user in `<state>/prt/`, 0600 in a 0700 directory, written
//! to a temp file, flushed and renamed, so a crash (a broker killed mid-renewal) leaves the
//! last good record whole. The PRT, the session key blob and its metadata are one file, so they
//! never disagree. Nothing here is logged; `Debug` redacts the secrets.

use std::fmt;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PrtError;
use crate::store::MachineStore;

pub const PRT_DIR: &str = "prt";

/// One user's PRT.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct PrtRecord {
    pub upn: String,
    pub tenant_id: String,
    pub authority: String,
    pub federated: bool,
    pub issued_at: i64,
    /// Last issue or renewal.
    pub updated_at: i64,
    /// The authority's lifetime (`refresh_token_expires_in` from the last issue/renewal).
    pub expires_at: i64,
    /// The user's object id and tenant from `client_info`.
    #[serde(default)]
    pub object_id: Option<String>,
    /// The PRT itself; `None` once the cloud revoked or expired it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prt: Option<String>,
    /// base64 of the provider's session key blob (TPM: wrapped HMAC object).
    pub session_key_blob: String,
    pub session_key_tpm_held: bool,
    /// Why the PRT can no longer be used (`PRT revoked`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_reason: Option<String>,
    /// The user as the PRT's validated id_token names them (the broker's account list).
    #[serde(default)]
    pub profile: UserProfile,
}

/// Names from the PRT's id_token (read only after its signature, issuer and audience checked).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserProfile {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
}

impl fmt::Debug for PrtRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrtRecord")
            .field("upn", &self.upn)
            .field("tenant_id", &self.tenant_id)
            .field("federated", &self.federated)
            .field("updated_at", &self.updated_at)
            .field("expires_at", &self.expires_at)
            .field("prt", &self.prt.as_ref().map(|_| "<redacted>"))
            .field("session_key_tpm_held", &self.session_key_tpm_held)
            .field("dead_reason", &self.dead_reason)
            .finish_non_exhaustive()
    }
}

fn store_error(what: &str) -> impl FnOnce(std::io::Error) -> PrtError + '_ {
    move |e| PrtError::Store(format!("{what}: {e}"))
}

fn dir(store: &MachineStore) -> PathBuf {
    store.root().join(PRT_DIR)
}

/// The file of `upn` (a hash of the lower-cased UPN: no user input in a path).
pub fn path_for(store: &MachineStore, upn: &str) -> PathBuf {
    let digest = Sha256::digest(upn.trim().to_lowercase().as_bytes());
    dir(store).join(format!("{}.json", &hex::encode(digest)[..32]))
}

/// Write `record` atomically (0600).
pub fn save(store: &MachineStore, record: &PrtRecord) -> Result<(), PrtError> {
    let bytes = serde_json::to_vec(record).map_err(|e| PrtError::Store(e.to_string()))?;
    write_private(store, &path_for(store, &record.upn), &bytes, "the PRT")
}

/// The broker's proof-of-possession key blob ([`crate::broker::pop`]): beside the PRTs, so it
/// goes with them when the device leaves.
pub fn pop_key_path(store: &MachineStore) -> PathBuf {
    dir(store).join(POP_KEY_FILE)
}

/// File name of the PoP key blob (not `.json`: [`list`] never reads it as a record).
const POP_KEY_FILE: &str = "pop-key.blob";

/// Write `bytes` to `target` in the PRT dir: 0600 temp file, flushed, renamed, dir synced.
pub fn write_private(
    store: &MachineStore,
    target: &std::path::Path,
    bytes: &[u8],
    what: &str,
) -> Result<(), PrtError> {
    let dir = dir(store);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(store_error("cannot create the PRT dir"))?;
    let temp = target.with_extension(format!("tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let _ = fs::remove_file(&temp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, target)?;
        fs::File::open(&dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        PrtError::Store(format!("cannot write {what}: {e}"))
    })
}

/// The record of `upn`, if any.
pub fn load(store: &MachineStore, upn: &str) -> Result<Option<PrtRecord>, PrtError> {
    let path = path_for(store, upn);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| PrtError::Store(format!("{} is not a PRT record: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(store_error("cannot read the PRT")(e)),
    }
}

/// Every record (temp files of an interrupted write are ignored).
pub fn list(store: &MachineStore) -> Vec<PrtRecord> {
    let Ok(entries) = fs::read_dir(dir(store)) else {
        return Vec::new();
    };
    let mut records: Vec<PrtRecord> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&fs::read(e.path()).ok()?).ok())
        .collect();
    records.sort_by(|a, b| a.upn.cmp(&b.upn));
    records
}

/// Remove the record of `upn` (the broker's removeAccount); true when there was one.
pub fn remove(store: &MachineStore, upn: &str) -> Result<bool, PrtError> {
    match fs::remove_file(path_for(store, upn)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(store_error("cannot remove the PRT")(e)),
    }
}

/// Remove every PRT (leave).
pub fn remove_all(store: &MachineStore) {
    let _ = fs::remove_dir_all(dir(store));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn record(prt: &str) -> PrtRecord {
        PrtRecord {
            upn: "Adele.Vance@contoso.com".into(),
            tenant_id: "t".into(),
            authority: "http://127.0.0.1:1".into(),
            federated: false,
            issued_at: 1,
            updated_at: 2,
            expires_at: 3,
            object_id: None,
            prt: Some(prt.into()),
            session_key_blob: "AAAA".into(),
            session_key_tpm_held: true,
            dead_reason: None,
            profile: UserProfile::default(),
        }
    }

    #[test]
    fn a_record_is_private_atomic_and_found_by_any_case_of_its_upn() {
        let temp = tempfile::tempdir().unwrap();
        let store = MachineStore::at(temp.path());
        save(&store, &record("prt-secret-1")).unwrap();
        let path = path_for(&store, "adele.vance@CONTOSO.com");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A write interrupted before its rename leaves a temp file that nothing reads.
        fs::write(path.with_extension("tmp-999"), b"{half").unwrap();
        let loaded = load(&store, "ADELE.VANCE@contoso.com").unwrap().unwrap();
        assert_eq!(loaded.prt.as_deref(), Some("prt-secret-1"));
        assert_eq!(list(&store).len(), 1);
        assert!(!format!("{loaded:?}").contains("prt-secret-1"));
        save(&store, &record("prt-secret-2")).unwrap();
        assert_eq!(
            load(&store, "adele.vance@contoso.com")
                .unwrap()
                .unwrap()
                .prt
                .as_deref(),
            Some("prt-secret-2")
        );
        assert!(remove(&store, "ADELE.vance@contoso.com").unwrap());
        assert!(load(&store, "adele.vance@contoso.com").unwrap().is_none());
        assert!(!remove(&store, "adele.vance@contoso.com").unwrap());
    }
}
