//! The MDM enrollment in the machine store: `mdm/` beside `join/` (0700, files 0600).
//!
//! `mdm/` holds the management key (provider blob), the management certificate and the MDM's
//! CA (DER), the provisioning document as received, and `enrollment.json`. It is written in a
//! staging dir (swept after a crash, like the join's) and renamed into place; an old `mdm/` is
//! moved aside first and removed only once the new one is in. `mdm-pending.json` keeps what a retry
//! (`host-bridge mdm-enroll`) needs after a failed enrollment: the URLs and the OpaqueBlob.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::{sync_dir, MachineStore, StoreError, STAGING_PREFIX};

pub const MDM_DIR: &str = "mdm";
pub const MDM_KEY_FILE: &str = "mdm-key.bin";
pub const MDM_CERT_FILE: &str = "mdm-cert.der";
pub const MDM_CA_FILE: &str = "mdm-ca.der";
pub const PROVISIONING_FILE: &str = "provisioning.xml";
pub const ENROLLMENT_FILE: &str = "enrollment.json";
pub const PENDING_FILE: &str = "mdm-pending.json";
/// An old `mdm/` moved aside while [`save`] puts a new one in place.
const PREVIOUS_PREFIX: &str = ".mdm-previous-";

/// What `status` reports about the enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentInfo {
    pub enrollment_url: String,
    pub enrollment_service_url: String,
    pub provider_id: Option<String>,
    pub server_url: Option<String>,
    /// SHA-1 of the management certificate, upper-case hex.
    pub thumbprint: String,
    pub not_after_unix: i64,
    pub policies: Vec<(String, String)>,
    pub enrolled_at: String,
}

/// What a retry needs after a failed enrollment (the OpaqueBlob is single use at the MDM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEnrollment {
    pub enrollment_url: String,
    pub opaque_blob: Option<String>,
    pub reason: String,
}

/// The files of one enrollment, ready to write.
pub struct EnrollmentFiles<'a> {
    pub key_blob: &'a [u8],
    pub cert_der: &'a [u8],
    pub ca_der: &'a [u8],
    pub provisioning_doc: &'a str,
    pub info: &'a EnrollmentInfo,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io("cannot create", path))?;
    file.write_all(bytes).map_err(io("cannot write", path))?;
    file.sync_all().map_err(io("cannot flush", path))
}

/// The name of a staging dir for `save`: under the machine store's staging prefix, so a crash
/// mid-write leaves nothing [`MachineStore::sweep_leftovers`] does not remove.
pub fn staging_name() -> String {
    format!("{STAGING_PREFIX}mdm-{}", uuid::Uuid::new_v4())
}

/// Write the enrollment into a staging dir, then put it in place of `mdm/` without a moment
/// in which a crash loses both: the old `mdm/` is renamed aside (`.mdm-previous-…`), the new
/// one renamed in, then the old one removed. [`recover`] puts an old one back if a crash
/// struck between the two renames.
pub fn save(store: &MachineStore, files: &EnrollmentFiles<'_>) -> Result<(), StoreError> {
    let root = store.root();
    let staging = root.join(staging_name());
    DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(io("cannot create", &staging))?;
    let target = root.join(MDM_DIR);
    let aside = root.join(format!("{PREVIOUS_PREFIX}{}", uuid::Uuid::new_v4()));
    let written = write_all(&staging, files).and_then(|()| {
        let had_old = target.exists();
        if had_old {
            fs::rename(&target, &aside).map_err(io("cannot move aside", &target))?;
        }
        if let Err(e) = fs::rename(&staging, &target).map_err(io("cannot commit", &target)) {
            if had_old {
                let _ = fs::rename(&aside, &target);
            }
            return Err(e);
        }
        sync_dir(root)?;
        if had_old {
            fs::remove_dir_all(&aside).map_err(io("cannot remove", &aside))?;
        }
        Ok(())
    });
    if written.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    written?;
    let _ = fs::remove_file(root.join(PENDING_FILE));
    Ok(())
}

/// After a crash: an enrollment moved aside by [`save`] goes back to `mdm/` when no new one
/// made it in (and the device is still joined), and is removed otherwise. Called by the owner
/// of the state dir from [`MachineStore::sweep_leftovers`].
pub fn recover(store: &MachineStore) {
    let Ok(entries) = fs::read_dir(store.root()) else {
        return;
    };
    let target = store.root().join(MDM_DIR);
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(PREVIOUS_PREFIX)
        {
            continue;
        }
        if !target.exists() && store.is_joined() && fs::rename(entry.path(), &target).is_ok() {
            tracing::warn!("restored the MDM enrollment an interrupted update had moved aside");
            let _ = sync_dir(store.root());
        } else {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn write_all(dir: &Path, files: &EnrollmentFiles<'_>) -> Result<(), StoreError> {
    let json = serde_json::to_vec_pretty(files.info)
        .map_err(|e| StoreError::BadJoinInfo(e.to_string()))?;
    write_private(&dir.join(MDM_KEY_FILE), files.key_blob)?;
    write_private(&dir.join(MDM_CERT_FILE), files.cert_der)?;
    write_private(&dir.join(MDM_CA_FILE), files.ca_der)?;
    write_private(
        &dir.join(PROVISIONING_FILE),
        files.provisioning_doc.as_bytes(),
    )?;
    write_private(&dir.join(ENROLLMENT_FILE), &json)
}

pub fn load(store: &MachineStore) -> Option<EnrollmentInfo> {
    let bytes = fs::read(store.root().join(MDM_DIR).join(ENROLLMENT_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Write `mdm-pending.json` whole or not at all: a temp file (under the swept staging
/// prefix) flushed, then renamed over the old one.
pub fn save_pending(store: &MachineStore, pending: &PendingEnrollment) -> Result<(), StoreError> {
    let json =
        serde_json::to_vec_pretty(pending).map_err(|e| StoreError::BadJoinInfo(e.to_string()))?;
    let root = store.root();
    let temp = root.join(format!(
        "{STAGING_PREFIX}mdm-pending-{}",
        uuid::Uuid::new_v4()
    ));
    let target = root.join(PENDING_FILE);
    let written = write_private(&temp, &json)
        .and_then(|()| fs::rename(&temp, &target).map_err(io("cannot replace", &target)))
        .and_then(|()| sync_dir(root));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

pub fn load_pending(store: &MachineStore) -> Option<PendingEnrollment> {
    let bytes = fs::read(store.root().join(PENDING_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Forget the enrollment (leave): `mdm/`, any copy moved aside, and any pending retry.
pub fn remove(store: &MachineStore) -> Result<(), StoreError> {
    let dir = store.root().join(MDM_DIR);
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io("cannot remove", &dir))?;
    }
    recover(store);
    let _ = fs::remove_file(store.root().join(PENDING_FILE));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn info(url: &str) -> EnrollmentInfo {
        EnrollmentInfo {
            enrollment_url: url.into(),
            enrollment_service_url: url.into(),
            provider_id: None,
            server_url: None,
            thumbprint: "AB".into(),
            not_after_unix: 0,
            policies: vec![],
            enrolled_at: String::new(),
        }
    }

    fn save_one(store: &MachineStore, url: &str) {
        let info = info(url);
        save(
            store,
            &EnrollmentFiles {
                key_blob: b"key",
                cert_der: b"cert",
                ca_der: b"ca",
                provisioning_doc: "<wap-provisioningdoc/>",
                info: &info,
            },
        )
        .unwrap();
    }

    fn joined_store(temp: &tempfile::TempDir) -> MachineStore {
        let store = MachineStore::open(temp.path().join("state")).unwrap();
        fs::create_dir(store.join_dir()).unwrap();
        store
    }

    fn names(store: &MachineStore) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(store.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_crashed_save_leaves_only_what_the_sweep_removes() {
        let temp = tempfile::tempdir().unwrap();
        let store = joined_store(&temp);
        let staging = store.root().join(staging_name());
        fs::create_dir(&staging).unwrap();
        fs::write(staging.join(MDM_KEY_FILE), b"management key").unwrap();
        store.sweep_leftovers();
        assert_eq!(names(&store), vec!["join"]);
    }

    #[test]
    fn a_second_save_replaces_the_first_and_leaves_no_copy() {
        let temp = tempfile::tempdir().unwrap();
        let store = joined_store(&temp);
        save_one(&store, "https://one.example/");
        save_one(&store, "https://two.example/");
        assert_eq!(load(&store).unwrap().enrollment_url, "https://two.example/");
        assert_eq!(names(&store), vec!["join", "mdm"]);
    }

    #[test]
    fn an_enrollment_moved_aside_by_a_crashed_save_comes_back() {
        let temp = tempfile::tempdir().unwrap();
        let store = joined_store(&temp);
        save_one(&store, "https://old.example/");
        // The crash: old moved aside, the new one never renamed in.
        let aside = store.root().join(format!("{PREVIOUS_PREFIX}x"));
        fs::rename(store.root().join(MDM_DIR), &aside).unwrap();
        store.sweep_leftovers();
        assert_eq!(load(&store).unwrap().enrollment_url, "https://old.example/");
        assert_eq!(names(&store), vec!["join", "mdm"]);
        // The crash after the new one was in: the old copy just goes.
        fs::create_dir(&aside).unwrap();
        store.sweep_leftovers();
        assert_eq!(names(&store), vec!["join", "mdm"]);
    }

    #[test]
    fn the_pending_file_is_replaced_by_rename_not_rewritten_in_place() {
        let temp = tempfile::tempdir().unwrap();
        let store = joined_store(&temp);
        let pending = |reason: &str| PendingEnrollment {
            enrollment_url: "https://mdm.example/".into(),
            opaque_blob: Some("blob".into()),
            reason: reason.into(),
        };
        save_pending(&store, &pending("first")).unwrap();
        let path = store.root().join(PENDING_FILE);
        let first = fs::metadata(&path).unwrap().ino();
        save_pending(&store, &pending("second")).unwrap();
        assert_ne!(
            fs::metadata(&path).unwrap().ino(),
            first,
            "rewritten in place"
        );
        assert_eq!(load_pending(&store).unwrap().reason, "second");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(names(&store), vec!["join", PENDING_FILE]);
    }
}
