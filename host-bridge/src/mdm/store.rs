//! The MDM enrollment in the machine store: `mdm/` beside `join/` (0700, files 0600).
//!
//! `mdm/` holds the management key (provider blob), the management certificate and the MDM's
//! CA (DER), the provisioning document as received, and `enrollment.json`. It is written in a
//! staging dir and renamed into place, like the join. `mdm-pending.json` keeps what a retry
//! (`host-bridge mdm-enroll`) needs after a failed enrollment: the URLs and the OpaqueBlob.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::{MachineStore, StoreError};

pub const MDM_DIR: &str = "mdm";
pub const MDM_KEY_FILE: &str = "mdm-key.bin";
pub const MDM_CERT_FILE: &str = "mdm-cert.der";
pub const MDM_CA_FILE: &str = "mdm-ca.der";
pub const PROVISIONING_FILE: &str = "provisioning.xml";
pub const ENROLLMENT_FILE: &str = "enrollment.json";
pub const PENDING_FILE: &str = "mdm-pending.json";

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
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io("cannot create", path))?;
    file.write_all(bytes).map_err(io("cannot write", path))?;
    file.sync_all().map_err(io("cannot flush", path))
}

/// Write the enrollment into a staging dir, then rename it to `mdm/` (replacing an old one).
pub fn save(store: &MachineStore, files: &EnrollmentFiles<'_>) -> Result<(), StoreError> {
    let staging = store
        .root()
        .join(format!(".mdm-staging-{}", uuid::Uuid::new_v4()));
    DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(io("cannot create", &staging))?;
    let written = write_all(&staging, files).and_then(|()| {
        let target = store.root().join(MDM_DIR);
        if target.exists() {
            fs::remove_dir_all(&target).map_err(io("cannot replace", &target))?;
        }
        fs::rename(&staging, &target).map_err(io("cannot commit", &target))
    });
    if written.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    written?;
    let _ = fs::remove_file(store.root().join(PENDING_FILE));
    Ok(())
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

pub fn save_pending(store: &MachineStore, pending: &PendingEnrollment) -> Result<(), StoreError> {
    let json =
        serde_json::to_vec_pretty(pending).map_err(|e| StoreError::BadJoinInfo(e.to_string()))?;
    write_private(&store.root().join(PENDING_FILE), &json)
}

pub fn load_pending(store: &MachineStore) -> Option<PendingEnrollment> {
    let bytes = fs::read(store.root().join(PENDING_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Forget the enrollment (leave): `mdm/` and any pending retry.
pub fn remove(store: &MachineStore) -> Result<(), StoreError> {
    let dir = store.root().join(MDM_DIR);
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(io("cannot remove", &dir))?;
    }
    let _ = fs::remove_file(store.root().join(PENDING_FILE));
    Ok(())
}
