//! The machine store: the device's keys, certificate and cached join info.
//!
//! Layout under the state dir (0700; every file 0600):
//! - `join/` – the committed join: `device-key.bin`, `transport-key.bin` (provider blobs),
//!   `device-cert.der`, `device-cert.pem`, `join-info.json` (the DsrGetJoinInfo analogue).
//! - `.staging-<uuid>/` – a join under construction. It becomes `join/` by one rename, only
//!   once the certificate is checked and the join info written; dropping a [`StagedJoin`]
//!   without committing removes it, so a failed join leaves no orphan key or certificate.
//!   From the registration on it also holds the join's plan and DRS's answer
//!   ([`crate::recovery`]), so that a join killed between the answer and the commit is
//!   finished (or undone at DRS) on the next start instead of being swept away.
//! - `.unfinished-<uuid>/` – such a staging dir that recovery could neither finish nor undo
//!   (DRS unreachable, the TPM not answering): kept for the next start to try again.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use cxh_wire::discovery::DiscoveryDocument;
use der::referenced::OwnedToRef;
use der::{Decode, Encode, EncodePem};
use rsa::RsaPublicKey;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use thiserror::Error;
use x509_cert::Certificate;

use crate::keys::KeyPurpose;

pub const JOIN_DIR: &str = "join";
pub const STAGING_PREFIX: &str = ".staging-";
pub const DEVICE_KEY_FILE: &str = "device-key.bin";
pub const TRANSPORT_KEY_FILE: &str = "transport-key.bin";
pub const CERT_DER_FILE: &str = "device-cert.der";
pub const CERT_PEM_FILE: &str = "device-cert.pem";
pub const JOIN_INFO_FILE: &str = "join-info.json";
const LEAVING_PREFIX: &str = ".leaving-";
/// A staging dir with a DRS answer that recovery must try again ([`crate::recovery`]).
pub const UNFINISHED_PREFIX: &str = ".unfinished-";
/// X.500 commonName.
const CN_OID: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("the device is already joined")]
    AlreadyJoined,
    #[error(
        "another host-bridge process (serve, join, leave or mdm-enroll) is using the state dir {0}"
    )]
    Locked(String),
    #[error("join-info.json is unreadable: {0}")]
    BadJoinInfo(String),
    #[error("the {0} key is not one of the join's keys (the broker keeps it with the PRTs)")]
    NotAJoinKey(&'static str),
    #[error("the returned certificate was refused: {0}")]
    Certificate(#[from] CertificateError),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("it is not base64 DER: {0}")]
    Encoding(String),
    #[error("it is not an X.509 certificate: {0}")]
    Parse(String),
    #[error("its public key is not the device key")]
    KeyMismatch,
    #[error("its subject has no common name")]
    NoCommonName,
    #[error("its subject CN {0:?} is not a device id (GUID)")]
    NotADeviceId(String),
    #[error("its SHA-1 thumbprint is {actual}, the service said {announced}")]
    ThumbprintMismatch { announced: String, actual: String },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.display().to_string();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// The device certificate as accepted into the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCertificate {
    pub device_id: String,
    /// SHA-1 of the DER, upper-case hex.
    pub thumbprint: String,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    pub der: Vec<u8>,
}

/// Check a certificate returned by DRS before accepting it: parseable, for our device key,
/// named by a device id, and matching the thumbprint the service announced.
pub fn check_certificate(
    der: &[u8],
    device_key: &RsaPublicKey,
    announced_thumbprint: &str,
) -> Result<CheckedCertificate, CertificateError> {
    let certificate =
        Certificate::from_der(der).map_err(|e| CertificateError::Parse(e.to_string()))?;
    let tbs = &certificate.tbs_certificate;
    let certified_key = RsaPublicKey::try_from(tbs.subject_public_key_info.owned_to_ref())
        .map_err(|_| CertificateError::KeyMismatch)?;
    if &certified_key != device_key {
        return Err(CertificateError::KeyMismatch);
    }
    let device_id = subject_common_name(&certificate)?;
    if uuid::Uuid::parse_str(&device_id).is_err() {
        return Err(CertificateError::NotADeviceId(device_id));
    }
    let thumbprint = hex::encode_upper(Sha1::digest(der));
    if !thumbprint.eq_ignore_ascii_case(announced_thumbprint) {
        return Err(CertificateError::ThumbprintMismatch {
            announced: announced_thumbprint.to_string(),
            actual: thumbprint,
        });
    }
    Ok(CheckedCertificate {
        device_id: device_id.to_ascii_lowercase(),
        thumbprint,
        not_before_unix: tbs.validity.not_before.to_unix_duration().as_secs() as i64,
        not_after_unix: tbs.validity.not_after.to_unix_duration().as_secs() as i64,
        der: der.to_vec(),
    })
}

/// The subject's CN, whatever string type the issuer chose.
pub fn subject_common_name(certificate: &Certificate) -> Result<String, CertificateError> {
    let attribute = certificate
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == CN_OID)
        .ok_or(CertificateError::NoCommonName)?;
    // AttributeTypeAndValue displays as "CN=<value>" for every directory string type.
    let shown = attribute.to_string();
    Ok(shown
        .split_once('=')
        .map(|(_, value)| value.to_string())
        .unwrap_or(shown))
}

/// The DsrGetJoinInfo analogue cached at join time (`join-info.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinInfo {
    pub device_id: String,
    pub thumbprint: String,
    pub device_name: String,
    pub os_version: String,
    pub certificate: CertificateValidity,
    pub tenant: TenantFacts,
    pub user: UserFacts,
    /// The claims of the validated token the join was made with (never the raw token).
    pub token_claims: serde_json::Value,
    pub discovery: DiscoveryDocument,
    pub authority: String,
    pub drs: String,
    pub key: KeyFacts,
    /// RFC 3339, UTC.
    pub joined_at: String,
    /// The extra CA bundle (PEM) the join trusted for the tenant (`--ca-file`): the later
    /// commands that reach the tenant (sign-in, logon, broker, status, leave, mdm-enroll)
    /// trust it too unless given their own, as the join's TPM TCTI is reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl JoinInfo {
    /// The CA bundle to trust for this device's tenant: `given`, else the join's.
    pub fn trusted_ca(&self, given: Option<&Path>) -> Option<PathBuf> {
        given
            .map(Path::to_path_buf)
            .or_else(|| self.ca_file.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateValidity {
    pub not_before_unix: i64,
    pub not_after_unix: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantFacts {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFacts {
    pub upn: String,
    pub object_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFacts {
    pub provider: String,
    pub tpm_protected: bool,
    /// Names the key pair as a CNG key container would (a GUID).
    pub container_id: String,
    /// The TCTI of the TPM holding the keys, when they are TPM keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm_tcti: Option<String>,
    /// Why software keys were used under `tpm_if_possible`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_fallback_reason: Option<String>,
    /// Whether the registration carried a TPM certification of the transport key.
    #[serde(default)]
    pub transport_key_attested: bool,
    /// Which keys the registration attested, by what EK chain, or why not.
    #[serde(default)]
    pub attestation: crate::attestation::AttestationFacts,
}

/// The machine store rooted at the state dir.
#[derive(Debug, Clone)]
pub struct MachineStore {
    root: PathBuf,
}

impl MachineStore {
    /// Open (creating if needed) the state dir with owner-only permissions, for a process
    /// that will write to it.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&root)
            .map_err(io_error("cannot create", &root))?;
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
            .map_err(io_error("cannot protect", &root))?;
        Ok(MachineStore { root })
    }

    /// Look at a state dir without creating or changing anything (status).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        MachineStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn join_dir(&self) -> PathBuf {
        self.root.join(JOIN_DIR)
    }

    /// Whether `join/` exists, readable or not: the same test [`StagedJoin::commit`] makes,
    /// so a half-present join (say, without its join info) still stops a new join before DRS.
    pub fn is_joined(&self) -> bool {
        self.join_dir().exists()
    }

    /// The committed join info, if the device is joined.
    pub fn load_join_info(&self) -> Result<Option<JoinInfo>, StoreError> {
        let path = self.join_dir().join(JOIN_INFO_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = fs::read(&path).map_err(io_error("cannot read", &path))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::BadJoinInfo(e.to_string()))
    }

    /// Read one file of the committed join (a key blob, the certificate).
    pub fn read_join_file(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.join_dir().join(name);
        fs::read(&path).map_err(io_error("cannot read", &path))
    }

    /// Start building a join in a fresh staging dir.
    pub fn begin_join(&self) -> Result<StagedJoin, StoreError> {
        if self.is_joined() {
            return Err(StoreError::AlreadyJoined);
        }
        let dir = self
            .root
            .join(format!("{STAGING_PREFIX}{}", uuid::Uuid::new_v4()));
        DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(io_error("cannot create", &dir))?;
        Ok(StagedJoin {
            dir,
            final_dir: self.join_dir(),
            committed: false,
        })
    }

    /// Take over a staging dir a killed process left behind ([`crate::recovery`]): what the
    /// interrupted run may have half-written after the answer (certificate, join info) is
    /// removed, to be written again. The keys, the plan and the answer stay.
    pub fn resume_join(&self, dir: &Path) -> Result<StagedJoin, StoreError> {
        for name in [CERT_DER_FILE, CERT_PEM_FILE, JOIN_INFO_FILE] {
            let path = dir.join(name);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("cannot remove", &path)(e)),
            }
        }
        Ok(StagedJoin {
            dir: dir.to_path_buf(),
            final_dir: self.join_dir(),
            committed: false,
        })
    }

    /// Take the state dir's exclusive advisory lock (`flock` on the directory itself, so no
    /// lock file appears in the store), or fail at once with [`StoreError::Locked`] when
    /// another process holds it. `serve` holds it for its lifetime; `join`, `leave` and
    /// `mdm-enroll` for their run, so they never interleave. Readers (`status`) take none.
    pub fn lock(&self) -> Result<StateLock, StoreError> {
        let dir = fs::File::open(&self.root).map_err(io_error("cannot open", &self.root))?;
        match dir.try_lock() {
            Ok(()) => Ok(StateLock { _dir: dir }),
            Err(fs::TryLockError::WouldBlock) => {
                Err(StoreError::Locked(self.root.display().to_string()))
            }
            Err(fs::TryLockError::Error(source)) => Err(StoreError::Io {
                action: "cannot lock",
                path: self.root.display().to_string(),
                source,
            }),
        }
    }

    /// Remove the committed join. The directory is renamed away first so that a crash
    /// halfway never leaves a half-deleted join that still looks joined.
    pub fn remove_join(&self) -> Result<bool, StoreError> {
        let join = self.join_dir();
        if !join.exists() {
            return Ok(false);
        }
        let doomed = self
            .root
            .join(format!("{LEAVING_PREFIX}{}", uuid::Uuid::new_v4()));
        fs::rename(&join, &doomed).map_err(io_error("cannot move away", &join))?;
        sync_dir(&self.root)?;
        fs::remove_dir_all(&doomed).map_err(io_error("cannot remove", &doomed))?;
        // The users' PRTs were bound to this join's keys: they go with it.
        crate::prt::store::remove_all(self);
        Ok(true)
    }

    /// Remove staging and leaving dirs that a crashed process left behind. Call only from
    /// the process that owns the state dir (serve, join), never from a reader like status:
    /// a running join's staging dir looks exactly like a leftover.
    pub fn sweep_leftovers(&self) {
        crate::mdm::store::recover(self);
        let Ok(entries) = fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(STAGING_PREFIX) || name.starts_with(LEAVING_PREFIX) {
                tracing::warn!(entry = %name, "removing a write left unfinished by an earlier run");
                let path = entry.path();
                let _ = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
            }
        }
    }
}

/// The state dir's lock, released when dropped (or when the process ends, even by a crash).
#[derive(Debug)]
pub struct StateLock {
    _dir: fs::File,
}

/// Flush a directory's entries (a rename or a new file in it) to disk.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("cannot flush", dir))
}

/// A join under construction; removed on drop unless [`StagedJoin::commit`] succeeded.
#[derive(Debug)]
pub struct StagedJoin {
    dir: PathBuf,
    final_dir: PathBuf,
    committed: bool,
}

impl StagedJoin {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn write_key_blob(&self, purpose: KeyPurpose, blob: &[u8]) -> Result<(), StoreError> {
        let name = match purpose {
            KeyPurpose::Device => DEVICE_KEY_FILE,
            KeyPurpose::Transport => TRANSPORT_KEY_FILE,
            KeyPurpose::MdmEnrollment => crate::mdm::store::MDM_KEY_FILE,
            KeyPurpose::Pop => return Err(StoreError::NotAJoinKey(purpose.as_str())),
        };
        self.write_private(name, blob)
    }

    /// Store a certificate that passed [`check_certificate`], as DER and PEM.
    pub fn write_certificate(&self, certificate: &CheckedCertificate) -> Result<(), StoreError> {
        let parsed = Certificate::from_der(&certificate.der)
            .map_err(|e| CertificateError::Parse(e.to_string()))?;
        let pem = parsed
            .to_pem(der::pem::LineEnding::LF)
            .map_err(|e| CertificateError::Encoding(e.to_string()))?;
        debug_assert_eq!(
            parsed.to_der().ok().as_deref(),
            Some(certificate.der.as_slice())
        );
        self.write_private(CERT_DER_FILE, &certificate.der)?;
        self.write_private(CERT_PEM_FILE, pem.as_bytes())
    }

    pub fn write_join_info(&self, info: &JoinInfo) -> Result<(), StoreError> {
        let json =
            serde_json::to_vec_pretty(info).map_err(|e| StoreError::BadJoinInfo(e.to_string()))?;
        self.write_private(JOIN_INFO_FILE, &json)
    }

    /// Make the join visible by renaming the staging dir to `join/`, then flush the state dir
    /// so the rename survives a power loss.
    pub fn commit(mut self) -> Result<PathBuf, StoreError> {
        if self.final_dir.exists() {
            return Err(StoreError::AlreadyJoined);
        }
        fs::rename(&self.dir, &self.final_dir)
            .map_err(io_error("cannot commit", &self.final_dir))?;
        self.committed = true;
        // The rename is durable only once the state dir's entries are on disk.
        if let Some(root) = self.final_dir.parent() {
            sync_dir(root)?;
        }
        // Recovery's records are not part of a join; removed only after the rename, so a
        // kill before it still finds them in the staging dir.
        for record in crate::recovery::RECORDS {
            let _ = fs::remove_file(self.final_dir.join(record));
        }
        Ok(self.final_dir.clone())
    }

    /// Write a record of the join (plan, DRS answer) under a temporary name, then rename it,
    /// so a kill never leaves it half-written; flushed with its directory entry.
    pub fn write_record(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let tmp = format!("{name}.tmp");
        let _ = fs::remove_file(self.dir.join(&tmp));
        self.write_private(&tmp, bytes)?;
        let path = self.dir.join(name);
        fs::rename(self.dir.join(&tmp), &path).map_err(io_error("cannot rename", &path))?;
        sync_dir(&self.dir)
    }

    /// Keep the staging dir on drop, under `.unfinished-<uuid>` (recovery tries it again on
    /// the next start).
    pub fn keep_for_retry(mut self) -> Result<PathBuf, StoreError> {
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = if name.starts_with(UNFINISHED_PREFIX) {
            self.dir.clone()
        } else {
            let root = self.final_dir.parent().unwrap_or(Path::new("."));
            let target = root.join(format!("{UNFINISHED_PREFIX}{}", uuid::Uuid::new_v4()));
            fs::rename(&self.dir, &target).map_err(io_error("cannot keep", &self.dir))?;
            sync_dir(root)?;
            target
        };
        self.committed = true;
        Ok(target)
    }

    /// Create a file readable by the owner only, and flush it to disk before the rename.
    fn write_private(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.dir.join(name);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_error("cannot create", &path))?;
        file.write_all(bytes)
            .map_err(io_error("cannot write", &path))?;
        file.sync_all().map_err(io_error("cannot flush", &path))
    }
}

impl Drop for StagedJoin {
    fn drop(&mut self) {
        if !self.committed {
            if let Err(e) = fs::remove_dir_all(&self.dir) {
                tracing::error!(dir = %self.dir.display(), error = %e, "could not remove an unfinished join");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_uncommitted_join_leaves_nothing_behind() {
        let temp = tempfile::tempdir().unwrap();
        let store = MachineStore::open(temp.path().join("state")).unwrap();
        {
            let staged = store.begin_join().unwrap();
            staged
                .write_key_blob(KeyPurpose::Device, b"device")
                .unwrap();
            staged
                .write_key_blob(KeyPurpose::Transport, b"transport")
                .unwrap();
            assert_eq!(
                list(staged.dir()),
                vec![DEVICE_KEY_FILE, TRANSPORT_KEY_FILE]
            );
        }
        assert!(list(store.root()).is_empty());
        assert!(!store.is_joined());
    }

    #[test]
    fn commit_renames_and_permissions_are_owner_only() {
        let temp = tempfile::tempdir().unwrap();
        let store = MachineStore::open(temp.path().join("state")).unwrap();
        let staged = store.begin_join().unwrap();
        staged
            .write_key_blob(KeyPurpose::Device, b"device")
            .unwrap();
        let committed = staged.commit().unwrap();
        assert_eq!(list(store.root()), vec![JOIN_DIR]);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.root()), 0o700);
        assert_eq!(mode(&committed), 0o700);
        assert_eq!(mode(&committed.join(DEVICE_KEY_FILE)), 0o600);
        assert!(store.remove_join().unwrap());
        assert!(list(store.root()).is_empty());
        assert!(!store.remove_join().unwrap());
    }

    #[test]
    fn only_one_holder_of_the_state_dir_lock_at_a_time() {
        let temp = tempfile::tempdir().unwrap();
        let store = MachineStore::open(temp.path().join("state")).unwrap();
        let first = store.lock().unwrap();
        assert!(matches!(store.lock(), Err(StoreError::Locked(_))));
        drop(first);
        let _again = store.lock().unwrap();
        assert!(list(store.root()).is_empty(), "no lock file in the store");
    }

    #[test]
    fn leftovers_of_a_crash_are_swept_by_the_owner() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("state");
        fs::create_dir_all(root.join(".staging-crashed")).unwrap();
        fs::write(root.join(".staging-crashed/device-key.bin"), b"k").unwrap();
        let store = MachineStore::open(&root).unwrap();
        assert_eq!(
            list(store.root()),
            vec![".staging-crashed"],
            "open alone must not sweep"
        );
        store.sweep_leftovers();
        assert!(list(store.root()).is_empty());
    }
}
