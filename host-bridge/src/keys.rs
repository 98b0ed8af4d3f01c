//! Key storage providers: where the device and transport keys live and how they sign.
//!
//! Windows keeps these keys in a CNG key storage provider, in the TPM when there is one
//! ("Microsoft Platform Crypto Provider") or in software otherwise ("Microsoft Software Key
//! Storage Provider"). The rest of the bridge only sees the [`KeyProvider`] and [`ProviderKey`]
//! traits: public keys come out, digests go in, signatures come out, and what is persisted is an
//! opaque blob. The TPM provider ([`crate::tpm`]) implements the same traits: there the
//! private key never leaves the chip and the blob is a TPM-wrapped key.

use std::fmt;

use cxh_wire::key_attestation::KeyAttestation;
use cxh_wire::prt_crypto::{derive_key, Key32};
use zeroize::Zeroizing;

use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::tpm::{default_tcti, TpmKeyProvider};

/// Provider name Windows reports for software keys.
pub const SOFTWARE_PROVIDER_NAME: &str = "Microsoft Software Key Storage Provider";
/// Provider name Windows reports for TPM-held keys.
pub const PLATFORM_PROVIDER_NAME: &str = "Microsoft Platform Crypto Provider";
/// DRS requires RSA-2048 for both keys.
pub const KEY_BITS: usize = 2048;
/// Length of a SHA-256 digest, the only digest the keys sign.
pub const SHA256_LEN: usize = 32;

/// Which of the join's two keys a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPurpose {
    /// Proves the device: its public key is in the device certificate.
    Device,
    /// Receives secrets from the cloud (the PRT session key is encrypted to it).
    Transport,
    /// The MDM management certificate's key (MS-WSTEP enrollment).
    MdmEnrollment,
    /// The broker's proof-of-possession key: signs the Signed HTTP Requests that carry PoP
    /// access tokens (its own key, so that nothing an app asks for is signed by the device key).
    Pop,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Device => "device",
            KeyPurpose::Transport => "transport",
            KeyPurpose::MdmEnrollment => "mdm_enrollment",
            KeyPurpose::Pop => "pop",
        }
    }
}

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("generating the RSA-{KEY_BITS} {purpose} key failed: {reason}")]
    Generate {
        purpose: &'static str,
        reason: String,
    },
    #[error("signing with the {purpose} key failed: {reason}")]
    Sign {
        purpose: &'static str,
        reason: String,
    },
    #[error("expected a {SHA256_LEN}-byte SHA-256 digest, got {0} bytes")]
    DigestLength(usize),
    #[error("the stored {purpose} key cannot be loaded: {reason}")]
    Load {
        purpose: &'static str,
        reason: String,
    },
    #[error("the {purpose} key cannot be persisted: {reason}")]
    Persist {
        purpose: &'static str,
        reason: String,
    },
    #[error("unknown key provider {0:?}")]
    UnknownProvider(String),
    #[error("the {provider} cannot be used: {reason}")]
    Unavailable {
        provider: &'static str,
        reason: String,
    },
    #[error("the keys could not be attested: {0}")]
    Attestation(String),
    #[error("decrypting with the {purpose} key failed: {reason}")]
    Decrypt {
        purpose: &'static str,
        reason: String,
    },
    #[error("the PRT session key cannot be {action}: {reason}")]
    SessionKey {
        action: &'static str,
        reason: String,
    },
}

/// The OAEP hash (and MGF1 hash) of an RSA decryption: SHA-1 for the PRT session key (the wire
/// format says RSA-OAEP), SHA-256 for the automatic sign-in buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepHash {
    Sha1,
    Sha256,
}

/// The PRT session key as a provider holds it: only derived keys come out
/// (`HMAC-SHA256(session key, kdf_fixed_input(context))`, the SP800-108 KDF block).
pub trait SessionKey: Send + Sync + fmt::Debug {
    /// One derived key for `context` (the KDF v1 or v2 context).
    fn derive(&self, context: &[u8]) -> Result<Key32, KeyError>;
    /// The persisted form (TPM: the wrapped HMAC key object; software: the raw key, 0600).
    fn to_blob(&self) -> Result<Vec<u8>, KeyError>;
    /// Whether the key is held by a TPM (never in process memory after the import).
    fn tpm_held(&self) -> bool;
}

/// A session key in process memory (software keys only, by the key-protection policy).
pub struct SoftwareSessionKey(Key32);

impl fmt::Debug for SoftwareSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SoftwareSessionKey(<redacted>)")
    }
}

impl SessionKey for SoftwareSessionKey {
    fn derive(&self, context: &[u8]) -> Result<Key32, KeyError> {
        Ok(derive_key(self.0.as_ref(), context))
    }

    fn to_blob(&self) -> Result<Vec<u8>, KeyError> {
        Ok(self.0.to_vec())
    }

    fn tpm_held(&self) -> bool {
        false
    }
}

/// Load a software session key from its 32-byte blob.
pub fn software_session_key(blob: &[u8]) -> Result<Box<dyn SessionKey>, KeyError> {
    let key: [u8; 32] = blob.try_into().map_err(|_| KeyError::SessionKey {
        action: "loaded",
        reason: format!(
            "a software session key has 32 bytes, this one {}",
            blob.len()
        ),
    })?;
    Ok(Box::new(SoftwareSessionKey(Zeroizing::new(key))))
}

/// One key held by a provider. Signing goes through here; the private key is never handed out.
pub trait ProviderKey: Send + Sync + fmt::Debug {
    fn purpose(&self) -> KeyPurpose;
    fn public_key(&self) -> &RsaPublicKey;
    /// Sign a SHA-256 digest with RSASSA-PKCS1-v1_5 (the DigestInfo is added by the provider,
    /// as TPM2_Sign with an RSASSA scheme does).
    fn sign_sha256_digest(&self, digest: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// The opaque form persisted in the machine store (TPM: a wrapped key; software: PKCS#8).
    fn to_blob(&self) -> Result<Vec<u8>, KeyError>;
    /// RSA-OAEP decryption (empty label) inside the provider (TPM2_RSA_Decrypt in a TPM).
    fn decrypt_oaep(
        &self,
        ciphertext: &[u8],
        hash: OaepHash,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError>;
}

/// A key storage provider.
pub trait KeyProvider: Send + Sync {
    /// The CNG provider name shown by `dsregcmd /status` (`KeyProvider`).
    fn name(&self) -> &'static str;
    /// Whether keys are protected by a TPM (`TpmProtected`).
    fn tpm_protected(&self) -> bool;
    /// Create a fresh RSA-2048 key. Slow (key generation): call from a blocking context.
    fn create_key(&self, purpose: KeyPurpose) -> Result<Box<dyn ProviderKey>, KeyError>;
    /// Load a key from a blob produced by [`ProviderKey::to_blob`].
    fn load_key(&self, purpose: KeyPurpose, blob: &[u8]) -> Result<Box<dyn ProviderKey>, KeyError>;
    /// Fail early (before a join talks to the cloud) when keys cannot be made at all.
    fn check_available(&self) -> Result<(), KeyError> {
        Ok(())
    }
    /// A fresh attestation key and the TPM's EK certificate, to prove to the verifier by
    /// credential activation that the AK sits beside that EK. Providers without a TPM have
    /// nothing to offer (`None`).
    fn attestation_identity(&self) -> Result<Option<AttestationIdentity>, KeyError> {
        Ok(None)
    }
    /// TPM2_ActivateCredential of the verifier's challenge with the identity's AK and EK.
    fn activate_credential(
        &self,
        _identity: &AttestationIdentity,
        _credential_blob: &[u8],
        _encrypted_secret: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        Err(KeyError::Attestation("these keys are not in a TPM".into()))
    }
    /// Certify the transport key and the device key with the identity's AK (TPM2_Certify),
    /// binding `qualifying_data` into both statements.
    fn certify_keys(
        &self,
        _identity: &AttestationIdentity,
        _transport: &dyn ProviderKey,
        _device: &dyn ProviderKey,
        _qualifying_data: &[u8],
    ) -> Result<KeyAttestation, KeyError> {
        Err(KeyError::Attestation("these keys are not in a TPM".into()))
    }
    /// Why software keys are used although a TPM was preferred (`tpm_if_possible`).
    fn fallback_reason(&self) -> Option<String> {
        None
    }
    /// The TCTI of the TPM holding the keys (TPM providers only).
    fn tpm_tcti(&self) -> Option<String> {
        None
    }
    /// Take a freshly unwrapped PRT session key into the provider's keeping (a TPM imports it
    /// as an HMAC key object under the SRK). `key` is wiped when this returns.
    fn import_session_key(&self, key: Key32) -> Result<Box<dyn SessionKey>, KeyError> {
        Ok(Box::new(SoftwareSessionKey(key)))
    }
    /// Load a session key from [`SessionKey::to_blob`].
    fn load_session_key(&self, blob: &[u8]) -> Result<Box<dyn SessionKey>, KeyError> {
        software_session_key(blob)
    }
}

/// An attestation key made for one join, and the EK certificate of its TPM.
#[derive(Clone)]
pub struct AttestationIdentity {
    /// DER X.509 of the EK (from the TPM's NV index 0x01C00002).
    pub ek_certificate: Vec<u8>,
    /// Marshalled TPMT_PUBLIC of the AK (what the verifier names the credential for).
    pub ak_public: Vec<u8>,
    /// The provider's opaque form of the AK (a TPM-wrapped key).
    pub ak_blob: Vec<u8>,
}

impl fmt::Debug for AttestationIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttestationIdentity")
            .field("ek_certificate_len", &self.ek_certificate.len())
            .finish_non_exhaustive()
    }
}

/// Pick a provider by the name recorded in join-info.json (a TPM at the default TCTI).
pub fn provider_for_name(name: &str) -> Result<Box<dyn KeyProvider>, KeyError> {
    provider_for_name_at(name, None)
}

/// Pick a provider by name; a TPM provider talks to `tcti` (or the default TCTI).
pub fn provider_for_name_at(
    name: &str,
    tcti: Option<&str>,
) -> Result<Box<dyn KeyProvider>, KeyError> {
    match name {
        SOFTWARE_PROVIDER_NAME => Ok(Box::new(SoftwareKeyProvider)),
        PLATFORM_PROVIDER_NAME => {
            let tcti = tcti.map(str::to_string).unwrap_or_else(default_tcti);
            Ok(Box::new(TpmKeyProvider::new(&tcti)?))
        }
        other => Err(KeyError::UnknownProvider(other.to_string())),
    }
}

/// Keys generated and held in process memory, persisted as PKCS#8 in 0600 files.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftwareKeyProvider;

impl KeyProvider for SoftwareKeyProvider {
    fn name(&self) -> &'static str {
        SOFTWARE_PROVIDER_NAME
    }

    fn tpm_protected(&self) -> bool {
        false
    }

    fn create_key(&self, purpose: KeyPurpose) -> Result<Box<dyn ProviderKey>, KeyError> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).map_err(|e| {
            KeyError::Generate {
                purpose: purpose.as_str(),
                reason: e.to_string(),
            }
        })?;
        Ok(Box::new(SoftwareKey::new(purpose, private)))
    }

    fn load_key(&self, purpose: KeyPurpose, blob: &[u8]) -> Result<Box<dyn ProviderKey>, KeyError> {
        let private = RsaPrivateKey::from_pkcs8_der(blob).map_err(|e| KeyError::Load {
            purpose: purpose.as_str(),
            reason: e.to_string(),
        })?;
        if private.size() * 8 != KEY_BITS {
            let reason = format!("key is {} bits, expected {KEY_BITS}", private.size() * 8);
            return Err(KeyError::Load {
                purpose: purpose.as_str(),
                reason,
            });
        }
        Ok(Box::new(SoftwareKey::new(purpose, private)))
    }
}

/// A software RSA key. `Debug` shows only the purpose and modulus size.
struct SoftwareKey {
    purpose: KeyPurpose,
    private: RsaPrivateKey,
    public: RsaPublicKey,
}

impl SoftwareKey {
    fn new(purpose: KeyPurpose, private: RsaPrivateKey) -> Self {
        let public = private.to_public_key();
        SoftwareKey {
            purpose,
            private,
            public,
        }
    }
}

/// Every provider signs SHA-256 digests only: refuse anything else before it reaches a key.
pub fn check_sha256_digest(digest: &[u8]) -> Result<(), KeyError> {
    if digest.len() == SHA256_LEN {
        Ok(())
    } else {
        Err(KeyError::DigestLength(digest.len()))
    }
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("purpose", &self.purpose)
            .field("bits", &(self.public.size() * 8))
            .finish_non_exhaustive()
    }
}

impl ProviderKey for SoftwareKey {
    fn purpose(&self) -> KeyPurpose {
        self.purpose
    }

    fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    fn sign_sha256_digest(&self, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        check_sha256_digest(digest)?;
        self.private
            .sign(Pkcs1v15Sign::new::<Sha256>(), digest)
            .map_err(|e| KeyError::Sign {
                purpose: self.purpose.as_str(),
                reason: e.to_string(),
            })
    }

    fn to_blob(&self) -> Result<Vec<u8>, KeyError> {
        let document = self.private.to_pkcs8_der().map_err(|e| KeyError::Persist {
            purpose: self.purpose.as_str(),
            reason: e.to_string(),
        })?;
        Ok(document.as_bytes().to_vec())
    }

    fn decrypt_oaep(
        &self,
        ciphertext: &[u8],
        hash: OaepHash,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let padding = match hash {
            OaepHash::Sha1 => Oaep::new::<sha1::Sha1>(),
            OaepHash::Sha256 => Oaep::new::<Sha256>(),
        };
        self.private
            .decrypt(padding, ciphertext)
            .map(Zeroizing::new)
            .map_err(|e| KeyError::Decrypt {
                purpose: self.purpose.as_str(),
                reason: e.to_string(),
            })
    }
}

/// Public exponent and modulus, big-endian, as the transport key blob wants them.
pub fn public_parts(key: &RsaPublicKey) -> (Vec<u8>, Vec<u8>) {
    (key.e().to_bytes_be(), key.n().to_bytes_be())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn software_key_signs_verifiably_and_round_trips_its_blob() {
        let provider = SoftwareKeyProvider;
        let key = provider.create_key(KeyPurpose::Device).unwrap();
        assert_eq!(key.public_key().size() * 8, 2048);
        let digest = Sha256::digest(b"hello");
        let signature = key.sign_sha256_digest(&digest).unwrap();
        key.public_key()
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
            .unwrap();

        let reloaded = provider
            .load_key(KeyPurpose::Device, &key.to_blob().unwrap())
            .unwrap();
        assert_eq!(reloaded.public_key(), key.public_key());
        assert!(matches!(
            key.sign_sha256_digest(b"short"),
            Err(KeyError::DigestLength(5))
        ));
        assert!(!format!("{key:?}").contains("private"));
    }

    #[test]
    fn provider_names_match_windows() {
        assert_eq!(
            SoftwareKeyProvider.name(),
            "Microsoft Software Key Storage Provider"
        );
        assert!(!SoftwareKeyProvider.tpm_protected());
        assert!(provider_for_name(SOFTWARE_PROVIDER_NAME).is_ok());
        assert!(provider_for_name("nope").is_err());
    }
}
