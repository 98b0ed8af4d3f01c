//! The PRT session key inside the TPM: RSA-OAEP decryption by the transport key
//! (TPM2_RSA_Decrypt), the import of the unwrapped key as a keyed-hash HMAC-SHA256 object under
//! the SRK (TPM2_Create with the key as sensitive data), and every derived key computed by
//! TPM2_HMAC over the SP800-108 fixed input.
//!
//! Why this shape: the wire format encrypts the session key with RSA-OAEP to the transport key,
//! not as a TPM2_Duplicate blob, so a TPM2_Import that never exposes it is impossible. The key
//! is therefore in process memory for one instant (between RSA_Decrypt and Create, checked
//! against the JWE's GCM tag in between) and wiped; from then on only the TPM-wrapped object is
//! on disk and only derived keys come out. Open implementations keep the key sealed and unseal
//! it into memory for every use; this is stronger than that and weaker than a true import.

use std::fmt;

use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::handles::ObjectHandle;
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::structures::{
    Data, Digest, HashScheme, KeyedHashScheme, MaxBuffer, Public, PublicBuilder, PublicKeyRsa,
    PublicKeyedHashParameters, RsaDecryptionScheme, SensitiveData,
};
use zeroize::Zeroizing;

use super::keys::KeyBlob;
use super::srk::{with_loaded, with_password, with_srk};
use super::{command, Tpm, TpmError};
use crate::keys::{KeyError, OaepHash, SessionKey};
use cxh_wire::prt_crypto::{kdf_fixed_input, Key32};

/// RSA-OAEP decryption (empty label) with a TPM-held key; the plaintext comes back wiped on drop.
pub fn rsa_decrypt_oaep(
    tpm: &Tpm,
    blob: &KeyBlob,
    ciphertext: &[u8],
    hash: OaepHash,
) -> Result<Zeroizing<Vec<u8>>, TpmError> {
    let hash = match hash {
        OaepHash::Sha1 => HashingAlgorithm::Sha1,
        OaepHash::Sha256 => HashingAlgorithm::Sha256,
    };
    let cipher = PublicKeyRsa::try_from(ciphertext.to_vec()).map_err(command("RSA_Decrypt"))?;
    let mut context = tpm.connect()?;
    with_srk(&mut context, |ctx, srk| {
        with_loaded(ctx, srk, &blob.public, &blob.private, |ctx, key| {
            let plain = with_password(ctx, |ctx| {
                ctx.rsa_decrypt(
                    key,
                    cipher,
                    RsaDecryptionScheme::Oaep(HashScheme::new(hash)),
                    Data::default(),
                )
            })
            .map_err(command("RSA_Decrypt"))?;
            Ok(Zeroizing::new(plain.value().to_vec()))
        })
    })
}

/// An HMAC-SHA256 keyed-hash template: sign only, fixedTPM | fixedParent | userWithAuth, and
/// not sensitiveDataOrigin (the key is ours to give, once).
pub fn hmac_key_template() -> Result<Public, TpmError> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_user_with_auth(true)
        .with_sign_encrypt(true)
        .build()
        .map_err(command("Create template"))?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::KeyedHash)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_keyed_hash_parameters(PublicKeyedHashParameters::new(
            KeyedHashScheme::HMAC_SHA_256,
        ))
        .with_keyed_hash_unique_identifier(Digest::default())
        .build()
        .map_err(command("Create template"))
}

/// Import `key` as an HMAC key object under the SRK; the TPM returns it wrapped.
pub fn import_hmac_key(tpm: &Tpm, key: &[u8]) -> Result<KeyBlob, TpmError> {
    let template = hmac_key_template()?;
    let sensitive = SensitiveData::try_from(key.to_vec()).map_err(command("Create"))?;
    let mut context = tpm.connect()?;
    with_srk(&mut context, |ctx, srk| {
        let created = with_password(ctx, |ctx| {
            ctx.create(srk, template, None, Some(sensitive), None, None)
        })
        .map_err(command("Create"))?;
        Ok(KeyBlob {
            public: created.out_public,
            private: created.out_private,
        })
    })
}

/// TPM2_HMAC (SHA-256) of `data` with a wrapped HMAC key object.
pub fn hmac(tpm: &Tpm, blob: &KeyBlob, data: &[u8]) -> Result<Key32, TpmError> {
    let buffer = MaxBuffer::try_from(data.to_vec()).map_err(command("HMAC"))?;
    let mut context = tpm.connect()?;
    with_srk(&mut context, |ctx, srk| {
        with_loaded(ctx, srk, &blob.public, &blob.private, |ctx, key| {
            let digest = with_password(ctx, |ctx| {
                ctx.hmac(ObjectHandle::from(key), buffer, HashingAlgorithm::Sha256)
            })
            .map_err(command("HMAC"))?;
            let bytes: [u8; 32] = digest
                .value()
                .try_into()
                .map_err(|_| TpmError::Unexpected("HMAC length"))?;
            Ok(Zeroizing::new(bytes))
        })
    })
}

/// The session key as a TPM HMAC key object.
pub struct TpmSessionKey {
    tpm: Tpm,
    blob: KeyBlob,
}

impl TpmSessionKey {
    pub fn new(tpm: Tpm, blob: KeyBlob) -> Result<Self, TpmError> {
        if !matches!(blob.public, Public::KeyedHash { .. }) {
            return Err(TpmError::BadBlob("not a keyed-hash object".into()));
        }
        Ok(TpmSessionKey { tpm, blob })
    }
}

impl fmt::Debug for TpmSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TpmSessionKey")
            .field("tcti", &self.tpm.tcti())
            .finish_non_exhaustive()
    }
}

fn session_error(action: &'static str) -> impl FnOnce(TpmError) -> KeyError {
    move |e| KeyError::SessionKey {
        action,
        reason: e.to_string(),
    }
}

impl SessionKey for TpmSessionKey {
    fn derive(&self, context: &[u8]) -> Result<Key32, KeyError> {
        hmac(&self.tpm, &self.blob, &kdf_fixed_input(context)).map_err(session_error("used"))
    }

    fn to_blob(&self) -> Result<Vec<u8>, KeyError> {
        self.blob.to_bytes().map_err(session_error("persisted"))
    }

    fn tpm_held(&self) -> bool {
        true
    }
}

/// Import (consuming and wiping `key`) and wrap as a [`TpmSessionKey`].
pub fn import_session_key(tpm: &Tpm, key: Key32) -> Result<TpmSessionKey, KeyError> {
    let blob = import_hmac_key(tpm, key.as_ref()).map_err(session_error("imported"));
    drop(key);
    TpmSessionKey::new(tpm.clone(), blob?).map_err(session_error("imported"))
}

/// Load a persisted session key object (loading it once proves it belongs to this TPM).
pub fn load_session_key(tpm: &Tpm, blob: &[u8]) -> Result<TpmSessionKey, KeyError> {
    let blob = KeyBlob::from_bytes(blob).map_err(session_error("loaded"))?;
    super::keys::check_loadable(tpm, &blob).map_err(session_error("loaded"))?;
    TpmSessionKey::new(tpm.clone(), blob).map_err(session_error("loaded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hmac_template_signs_only_and_stays_in_its_tpm() {
        let template = hmac_key_template().unwrap();
        let a = template.object_attributes();
        assert!(a.fixed_tpm() && a.fixed_parent() && a.sign_encrypt());
        assert!(!a.decrypt() && !a.sensitive_data_origin());
    }
}
