//! The OOBE automatic sign-in buffer (seed 000 §2, §6): after a managed user joins the device
//! during OOBE, Windows signs them in with the password they just typed, so they do not type it
//! again. Federated users sign in at the logon screen (their password belongs to the STS), and a
//! join from Settings happens inside a session already, so neither gets a buffer.
//!
//! Protection of the password:
//! - it arrives in `prepare_auto_logon` (OOBE only; the user's realm is checked at the authority
//!   with `api-version=1.0` and must be Managed) and waits in memory in a [`Zeroizing`] buffer,
//!   at most [`PENDING_LIFETIME`] (a timer zeroizes it then, join or not; a password for a
//!   user whose join already started is dropped at once), never written or logged ([`cxh_wire::bridge::Redacted`] keeps
//!   it out of `Debug`);
//! - when a join succeeds for the same user with a non-federated token, it is encrypted with
//!   RSA-OAEP (SHA-256) to the device's transport key (in the TPM when there is one) and only the
//!   ciphertext is written, 0600, as `join/autologon.bin` next to the keys (so `leave` removes
//!   it); the plaintext is zeroized at once;
//! - a failed join, another user, a federated token or an expired buffer discard it (zeroized),
//!   and nothing reaches the disk.
//!
//! Reading it back is the logon's job (decrypt with the transport key); it is not part of this
//! rebuild, the tests decrypt with the software key to prove the ciphertext is genuine.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use cxh_wire::bridge::HostFlow;
use cxh_wire::realm::{AccountType, UserRealmV1};
use rsa::{Oaep, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::keys::{KeyProvider, KeyPurpose};
use crate::store::{MachineStore, TRANSPORT_KEY_FILE};

/// Name of the buffer in the join directory.
pub const AUTO_LOGON_FILE: &str = "autologon.bin";
/// How long a password waits for its join (the sign-in round trip and the join).
pub const PENDING_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The largest password RSA-2048 OAEP-SHA-256 can carry (256 - 2·32 - 2 bytes).
pub const MAX_PASSWORD_BYTES: usize = 190;
/// Algorithm name recorded in the file.
pub const ALGORITHM: &str = "RSA-OAEP-256";

#[derive(Debug, Error)]
pub enum AutoLogonError {
    #[error("the automatic sign-in is prepared only during OOBE")]
    NotOobe,
    #[error("the automatic sign-in is prepared only for managed users; this account is {0:?}")]
    NotManaged(AccountType),
    #[error("the user's realm could not be checked: {0}")]
    Realm(String),
    #[error("the user name or password is empty or too long for the buffer")]
    BadInput,
    #[error("the buffer cannot be encrypted: {0}")]
    Encrypt(String),
    #[error("a join for this user is already under way; the password came too late")]
    JoinUnderWay,
    #[error("the buffer cannot be written: {0}")]
    Write(String),
}

/// A password waiting for its join.
struct Pending {
    upn: String,
    password: Zeroizing<String>,
    since: Instant,
    /// Which `hold` put it there: the expiry timer of an earlier hold leaves it alone.
    generation: u64,
}

/// What the slot holds, behind one lock.
#[derive(Default)]
struct SlotState {
    pending: Option<Pending>,
    /// Counts holds, so each expiry timer knows whether its entry is still the one held.
    generation: u64,
    /// The user whose join is under way: a password for them arriving now comes too late.
    joining: Option<String>,
}

/// The bridge-wide slot (the page hands the password over on one connection, the join runs on
/// another after the sign-in round trip). Cloning shares the slot.
#[derive(Clone)]
pub struct AutoLogonSlot {
    state: Arc<Mutex<SlotState>>,
    lifetime: Duration,
}

impl Default for AutoLogonSlot {
    fn default() -> Self {
        AutoLogonSlot::with_lifetime(PENDING_LIFETIME)
    }
}

/// What is written to disk: the user and the ciphertext, never the password.
#[derive(Debug, Serialize, Deserialize)]
pub struct AutoLogonFile {
    pub version: u32,
    pub upn: String,
    pub algorithm: String,
    /// The key the ciphertext is for.
    pub key: String,
    /// Base64 of the RSA-OAEP ciphertext.
    pub ciphertext: String,
}

impl AutoLogonSlot {
    /// A slot whose passwords are discarded `lifetime` after they arrive ([`PENDING_LIFETIME`]
    /// in the bridge; tests use less).
    pub fn with_lifetime(lifetime: Duration) -> Self {
        AutoLogonSlot {
            state: Arc::new(Mutex::new(SlotState::default())),
            lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hold `password` for `upn`, replacing (and zeroizing) any earlier one, and start a timer
    /// that zeroizes it after the lifetime even if no join ever comes. A password for a user
    /// whose join has already started is dropped at once (it could only linger unused):
    /// returns whether it is held.
    pub fn hold(&self, upn: &str, password: Zeroizing<String>) -> bool {
        let upn = upn.trim().to_string();
        let generation = {
            let mut state = self.lock();
            if state
                .joining
                .as_deref()
                .is_some_and(|joining| joining.eq_ignore_ascii_case(&upn))
            {
                drop(password);
                return false;
            }
            state.generation += 1;
            let generation = state.generation;
            state.pending = Some(Pending {
                upn,
                password,
                since: Instant::now(),
                generation,
            });
            generation
        };
        // Without a runtime (plain unit tests) the freshness check in `take_for` still holds.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (state, lifetime) = (self.state.clone(), self.lifetime);
            runtime.spawn(async move {
                tokio::time::sleep(lifetime).await;
                let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                if state
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.generation == generation)
                {
                    // Dropping the entry zeroizes the password.
                    state.pending = None;
                    tracing::info!(
                        "an automatic sign-in password expired unused and was discarded"
                    );
                }
            });
        }
        true
    }

    /// A join for `upn` has started: from now on a password for them is not taken.
    pub fn join_started(&self, upn: &str) {
        self.lock().joining = Some(upn.trim().to_string());
    }

    /// The join has ended (either way): passwords may be held again.
    pub fn join_ended(&self) {
        self.lock().joining = None;
    }

    /// Drop (zeroize) whatever is held.
    pub fn discard(&self) {
        self.lock().pending = None;
    }

    /// Whether a password is held (for tests and status; never the value).
    pub fn is_holding(&self) -> bool {
        self.lock().pending.is_some()
    }

    /// Take the password if it is for `upn` and still fresh; anything else is discarded.
    fn take_for(&self, upn: &str) -> Option<Zeroizing<String>> {
        let held = self.lock().pending.take()?;
        let fresh = held.since.elapsed() <= self.lifetime;
        (fresh && held.upn.eq_ignore_ascii_case(upn.trim())).then_some(held.password)
    }
}

/// Check what `prepare_auto_logon` may hold: OOBE, sane sizes, and a Managed realm at the
/// authority (`GET {authority}/common/userrealm/?user=…&api-version=1.0`).
pub async fn check_request(
    http: &reqwest::Client,
    authority: &url::Url,
    flow: HostFlow,
    upn: &str,
    password: &str,
) -> Result<(), AutoLogonError> {
    if flow != HostFlow::Oobe {
        return Err(AutoLogonError::NotOobe);
    }
    let upn = upn.trim();
    if upn.is_empty() || password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Err(AutoLogonError::BadInput);
    }
    let mut url = authority
        .join("common/userrealm/")
        .map_err(|e| AutoLogonError::Realm(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("user", upn)
        .append_pair("api-version", "1.0");
    let response = crate::http::send(http.get(url))
        .await
        .map_err(|e| AutoLogonError::Realm(e.to_string()))?;
    if !response.status().is_success() {
        return Err(AutoLogonError::Realm(format!("HTTP {}", response.status())));
    }
    let body = crate::http::body(response)
        .await
        .map_err(|e| AutoLogonError::Realm(e.to_string()))?;
    let realm: UserRealmV1 =
        serde_json::from_slice(&body).map_err(|e| AutoLogonError::Realm(e.to_string()))?;
    match realm.account_type {
        AccountType::Managed => Ok(()),
        other => Err(AutoLogonError::NotManaged(other)),
    }
}

/// After a successful join: when the held password is for the joined user, the flow is OOBE
/// and the token is not federated (`amr` without `fed`), encrypt it to the transport key and
/// write the buffer. Returns whether it was written. The held password is consumed either way.
pub fn seal_after_join(
    slot: &AutoLogonSlot,
    flow: HostFlow,
    keys: &dyn KeyProvider,
    store: &MachineStore,
    upn: &str,
    amr: &[String],
) -> Result<bool, AutoLogonError> {
    let Some(password) = slot.take_for(upn) else {
        return Ok(false);
    };
    if flow != HostFlow::Oobe || amr.iter().any(|m| m == "fed") {
        return Ok(false);
    }
    let blob = store
        .read_join_file(TRANSPORT_KEY_FILE)
        .map_err(|e| AutoLogonError::Encrypt(e.to_string()))?;
    let transport = keys
        .load_key(KeyPurpose::Transport, &blob)
        .map_err(|e| AutoLogonError::Encrypt(e.to_string()))?;
    let ciphertext = encrypt(transport.public_key(), password.as_bytes())?;
    drop(password);
    let file = AutoLogonFile {
        version: 1,
        upn: upn.trim().to_string(),
        algorithm: ALGORITHM.into(),
        key: KeyPurpose::Transport.as_str().into(),
        ciphertext: base64::engine::general_purpose::STANDARD.encode(ciphertext),
    };
    let bytes = serde_json::to_vec(&file).map_err(|e| AutoLogonError::Write(e.to_string()))?;
    write_private(store, &bytes)?;
    Ok(true)
}

/// RSA-OAEP with SHA-256 (and MGF1-SHA-256) to `key`.
pub fn encrypt(key: &RsaPublicKey, plaintext: &[u8]) -> Result<Vec<u8>, AutoLogonError> {
    key.encrypt(&mut rand::rngs::OsRng, Oaep::new::<Sha256>(), plaintext)
        .map_err(|e| AutoLogonError::Encrypt(e.to_string()))
}

/// Write the buffer 0600 into the join directory (temp file, flush, rename, flush the dir).
fn write_private(store: &MachineStore, bytes: &[u8]) -> Result<(), AutoLogonError> {
    let dir = store.join_dir();
    let temp = dir.join(format!(".{AUTO_LOGON_FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        let _ = fs::remove_file(&temp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, dir.join(AUTO_LOGON_FILE))?;
        // Flush the join dir so the rename itself is on disk.
        fs::File::open(&dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        AutoLogonError::Write(e.to_string())
    })
}

/// Whether the committed join holds a buffer.
pub fn is_prepared(store: &MachineStore) -> bool {
    store.join_dir().join(AUTO_LOGON_FILE).is_file()
}

/// Remove the buffer (e.g. a join that failed after it was written).
pub fn remove(store: &MachineStore) {
    let _ = fs::remove_file(store.join_dir().join(AUTO_LOGON_FILE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_gives_the_password_only_to_its_user_and_only_once() {
        let slot = AutoLogonSlot::default();
        slot.hold("Adele@Contoso.com", Zeroizing::new("pw".into()));
        assert!(slot.take_for("megan@contoso.com").is_none());
        assert!(!slot.is_holding(), "another user's join discards it");
        slot.hold("adele@contoso.com", Zeroizing::new("pw".into()));
        assert_eq!(
            slot.take_for("ADELE@contoso.com")
                .as_deref()
                .map(String::as_str),
            Some("pw")
        );
        assert!(slot.take_for("adele@contoso.com").is_none());
    }

    #[test]
    fn an_expired_password_is_not_given_out() {
        let slot = AutoLogonSlot::with_lifetime(Duration::from_millis(1));
        slot.hold("adele@contoso.com", Zeroizing::new("pw".into()));
        std::thread::sleep(Duration::from_millis(20));
        assert!(slot.take_for("adele@contoso.com").is_none());
    }

    #[tokio::test]
    async fn a_password_no_join_takes_is_discarded_after_the_lifetime() {
        let slot = AutoLogonSlot::with_lifetime(Duration::from_millis(400));
        assert!(slot.hold("adele@contoso.com", Zeroizing::new("first".into())));
        tokio::time::sleep(Duration::from_millis(250)).await;
        // A newer password restarts the clock: the first timer must not drop it.
        assert!(slot.hold("adele@contoso.com", Zeroizing::new("second".into())));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(
            slot.is_holding(),
            "the first hold's timer dropped the newer password"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            !slot.is_holding(),
            "nobody took it, and the lifetime is over"
        );
    }

    #[test]
    fn a_password_arriving_after_its_users_join_started_is_dropped() {
        let slot = AutoLogonSlot::default();
        slot.join_started("Adele@contoso.com");
        assert!(!slot.hold("adele@contoso.com", Zeroizing::new("pw".into())));
        assert!(!slot.is_holding());
        assert!(slot.hold("megan@contoso.com", Zeroizing::new("pw".into())));
        slot.join_ended();
        assert!(slot.hold("adele@contoso.com", Zeroizing::new("pw".into())));
        assert!(slot.is_holding());
    }

    #[test]
    fn oaep_ciphertext_decrypts_with_the_key_and_hides_the_password() {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let password = b"Correct-Horse-42";
        let ciphertext = encrypt(&private.to_public_key(), password).unwrap();
        assert_eq!(ciphertext.len(), 256);
        assert!(!ciphertext.windows(password.len()).any(|w| w == password));
        let plain = private.decrypt(Oaep::new::<Sha256>(), &ciphertext).unwrap();
        assert_eq!(plain, password);
        let too_long = vec![b'x'; MAX_PASSWORD_BYTES + 1];
        assert!(encrypt(&private.to_public_key(), &too_long).is_err());
    }
}
