//! The TPM 2.0 key storage provider — Windows' "Microsoft Platform Crypto Provider" — on
//! tss-esapi 7.x, for any TCTI (`device:/dev/tpmrm0` in production, `swtpm:…` in the demo and
//! the tests).
//!
//! Every key is a child of the storage root key ([`srk`]), created with fixedTPM, fixedParent
//! and sensitiveDataOrigin, so its private part is generated in the TPM and can never leave
//! it; what the machine store keeps is the TPM-wrapped blob ([`keys::KeyBlob`]). The
//! transport key is certified by a restricted attestation key ([`attest`]). Each operation
//! opens its own connection and flushes every transient object it loaded: there may be no
//! resource manager in front of the TPM (swtpm has none).

pub mod attest;
pub mod bench;
pub mod bench_prt;
pub mod ek;
pub mod keys;
pub mod session;
pub mod srk;

use std::str::FromStr;
use std::sync::Arc;

use cxh_wire::key_attestation::KeyAttestation;
use thiserror::Error;
use tss_esapi::{Context, TctiNameConf};

use tss_esapi::traits::Marshall;

use crate::keys::{
    AttestationIdentity, KeyError, KeyProvider, KeyPurpose, ProviderKey, SoftwareKeyProvider,
    PLATFORM_PROVIDER_NAME, SOFTWARE_PROVIDER_NAME,
};
use keys::{KeyBlob, TpmKey};

/// The TCTI used when neither a flag nor the environment names one.
pub const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";

/// Why a TPM operation failed. Messages name the TPM command and the TPM's own reason.
#[derive(Debug, Error)]
pub enum TpmError {
    #[error("the TCTI {tcti:?} is not valid (expected e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321)")]
    BadTcti { tcti: String },
    #[error("no TPM is reachable at {tcti}: {reason}")]
    Unreachable { tcti: String, reason: String },
    #[error("TPM2_{command} failed: {reason}")]
    Command {
        command: &'static str,
        reason: String,
    },
    #[error("the TPM key blob is malformed: {0}")]
    BadBlob(String),
    #[error("the TPM returned an unexpected {0}")]
    Unexpected(&'static str),
}

/// Map a tss-esapi error of one TPM command.
pub(crate) fn command(command: &'static str) -> impl FnOnce(tss_esapi::Error) -> TpmError {
    move |e| TpmError::Command {
        command,
        reason: e.to_string(),
    }
}

/// `TPM2TOOLS_TCTI`, else `TCTI`, else [`DEFAULT_TCTI`].
pub fn default_tcti() -> String {
    ["TPM2TOOLS_TCTI", "TCTI"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_TCTI.to_string())
}

/// Where the TPM is: the parsed TCTI and its text (for messages and join-info).
#[derive(Debug, Clone)]
pub struct Tpm {
    conf: TctiNameConf,
    text: String,
}

impl Tpm {
    pub fn new(tcti: &str) -> Result<Self, TpmError> {
        let conf = TctiNameConf::from_str(tcti.trim()).map_err(|_| TpmError::BadTcti {
            tcti: tcti.to_string(),
        })?;
        Ok(Tpm {
            conf,
            text: tcti.trim().to_string(),
        })
    }

    pub fn tcti(&self) -> &str {
        &self.text
    }

    /// Open a connection (an ESYS context) to the TPM.
    pub fn connect(&self) -> Result<Context, TpmError> {
        Context::new(self.conf.clone()).map_err(|e| TpmError::Unreachable {
            tcti: self.text.clone(),
            reason: e.to_string(),
        })
    }

    /// Connect and ask the TPM for a few random bytes: it is there and it answers.
    pub fn probe(&self) -> Result<(), TpmError> {
        let mut context = self.connect()?;
        context
            .get_random(8)
            .map(|_| ())
            .map_err(|e| TpmError::Unreachable {
                tcti: self.text.clone(),
                reason: e.to_string(),
            })
    }
}

fn key_error(
    purpose: KeyPurpose,
    make: fn(&'static str, String) -> KeyError,
) -> impl Fn(TpmError) -> KeyError {
    move |e| make(purpose.as_str(), e.to_string())
}

fn unavailable(e: TpmError) -> KeyError {
    KeyError::Unavailable {
        provider: PLATFORM_PROVIDER_NAME,
        reason: e.to_string(),
    }
}

/// Keys held by a TPM 2.0.
#[derive(Debug, Clone)]
pub struct TpmKeyProvider {
    tpm: Tpm,
}

impl TpmKeyProvider {
    /// A provider for the TPM at `tcti` (not contacted until used).
    pub fn new(tcti: &str) -> Result<Self, KeyError> {
        Ok(TpmKeyProvider {
            tpm: Tpm::new(tcti).map_err(unavailable)?,
        })
    }

    pub fn tpm(&self) -> &Tpm {
        &self.tpm
    }
}

impl KeyProvider for TpmKeyProvider {
    fn name(&self) -> &'static str {
        PLATFORM_PROVIDER_NAME
    }

    fn tpm_protected(&self) -> bool {
        true
    }

    fn create_key(&self, purpose: KeyPurpose) -> Result<Box<dyn ProviderKey>, KeyError> {
        let generate = |purpose: &'static str, reason| KeyError::Generate { purpose, reason };
        let blob = keys::create(&self.tpm, purpose).map_err(key_error(purpose, generate))?;
        let key =
            TpmKey::new(self.tpm.clone(), purpose, blob).map_err(key_error(purpose, generate))?;
        Ok(Box::new(key))
    }

    fn load_key(&self, purpose: KeyPurpose, blob: &[u8]) -> Result<Box<dyn ProviderKey>, KeyError> {
        let load = |purpose: &'static str, reason| KeyError::Load { purpose, reason };
        let blob = KeyBlob::from_bytes(blob).map_err(key_error(purpose, load))?;
        keys::check_loadable(&self.tpm, &blob).map_err(key_error(purpose, load))?;
        let key = TpmKey::new(self.tpm.clone(), purpose, blob).map_err(key_error(purpose, load))?;
        Ok(Box::new(key))
    }

    fn check_available(&self) -> Result<(), KeyError> {
        self.tpm.probe().map_err(unavailable)
    }

    fn tpm_tcti(&self) -> Option<String> {
        Some(self.tpm.tcti().to_string())
    }

    fn attestation_identity(&self) -> Result<Option<AttestationIdentity>, KeyError> {
        let ek_certificate = ek::read_ek_certificate(&self.tpm).map_err(attestation_error)?;
        let ak = attest::create_attestation_key(&self.tpm).map_err(attestation_error)?;
        Ok(Some(AttestationIdentity {
            ek_certificate,
            ak_public: ak
                .public
                .marshall()
                .map_err(|e| KeyError::Attestation(e.to_string()))?,
            ak_blob: ak.to_bytes().map_err(attestation_error)?,
        }))
    }

    fn import_session_key(
        &self,
        key: cxh_wire::prt_crypto::Key32,
    ) -> Result<Box<dyn crate::keys::SessionKey>, KeyError> {
        Ok(Box::new(session::import_session_key(&self.tpm, key)?))
    }

    fn load_session_key(&self, blob: &[u8]) -> Result<Box<dyn crate::keys::SessionKey>, KeyError> {
        Ok(Box::new(session::load_session_key(&self.tpm, blob)?))
    }

    fn activate_credential(
        &self,
        identity: &AttestationIdentity,
        credential_blob: &[u8],
        encrypted_secret: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let ak = KeyBlob::from_bytes(&identity.ak_blob).map_err(attestation_error)?;
        ek::activate_credential(&self.tpm, &ak, credential_blob, encrypted_secret)
            .map_err(attestation_error)
    }

    fn certify_keys(
        &self,
        identity: &AttestationIdentity,
        transport: &dyn ProviderKey,
        device: &dyn ProviderKey,
        qualifying_data: &[u8],
    ) -> Result<KeyAttestation, KeyError> {
        let blob =
            |key: &dyn ProviderKey| KeyBlob::from_bytes(&key.to_blob()?).map_err(attestation_error);
        let ak = KeyBlob::from_bytes(&identity.ak_blob).map_err(attestation_error)?;
        attest::certify_keys(
            &self.tpm,
            &ak,
            &blob(transport)?,
            &blob(device)?,
            qualifying_data,
        )
        .map_err(attestation_error)
    }
}

fn attestation_error(e: TpmError) -> KeyError {
    KeyError::Attestation(e.to_string())
}

/// Software keys chosen because the TPM could not be used (`tpm_if_possible`).
#[derive(Debug, Clone)]
pub struct SoftwareFallback {
    reason: String,
}

impl KeyProvider for SoftwareFallback {
    fn name(&self) -> &'static str {
        SOFTWARE_PROVIDER_NAME
    }

    fn tpm_protected(&self) -> bool {
        false
    }

    fn create_key(&self, purpose: KeyPurpose) -> Result<Box<dyn ProviderKey>, KeyError> {
        SoftwareKeyProvider.create_key(purpose)
    }

    fn load_key(&self, purpose: KeyPurpose, blob: &[u8]) -> Result<Box<dyn ProviderKey>, KeyError> {
        SoftwareKeyProvider.load_key(purpose, blob)
    }

    fn fallback_reason(&self) -> Option<String> {
        Some(self.reason.clone())
    }
}

/// The key-protection policy (`--key-protection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyProtection {
    /// Keys must be in the TPM; a join fails when there is none.
    Tpm,
    /// Keys in the TPM when one answers, else software keys (recorded as a fallback).
    #[default]
    TpmIfPossible,
    /// Software keys only.
    Software,
}

impl KeyProtection {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyProtection::Tpm => "tpm",
            KeyProtection::TpmIfPossible => "tpm_if_possible",
            KeyProtection::Software => "software",
        }
    }
}

/// The key provider a policy asks for. `tpm_if_possible` probes the TPM once, now.
pub fn provider_for_policy(
    policy: KeyProtection,
    tcti: &str,
) -> Result<Arc<dyn KeyProvider>, KeyError> {
    match policy {
        KeyProtection::Software => Ok(Arc::new(SoftwareKeyProvider)),
        KeyProtection::Tpm => Ok(Arc::new(TpmKeyProvider::new(tcti)?)),
        KeyProtection::TpmIfPossible => {
            let probed = TpmKeyProvider::new(tcti).and_then(|p| p.check_available().map(|_| p));
            match probed {
                Ok(provider) => Ok(Arc::new(provider)),
                Err(e) => {
                    let reason = e.to_string();
                    tracing::warn!(%reason, "no usable TPM: falling back to software keys");
                    Ok(Arc::new(SoftwareFallback { reason }))
                }
            }
        }
    }
}
