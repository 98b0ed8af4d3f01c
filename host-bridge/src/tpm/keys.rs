//! TPM-held device and transport keys: their templates, their wrapped form in the machine
//! store, and signing inside the TPM.
//!
//! Both keys are RSA-2048 children of the SRK with fixedTPM | fixedParent |
//! sensitiveDataOrigin | userWithAuth: generated in the TPM, never duplicable. The device key
//! signs (RSASSA-PKCS1-v1_5 with SHA-256), the transport key decrypts (scheme chosen per
//! call, e.g. OAEP for the PRT session key). A [`KeyBlob`] is `TPM2B_PUBLIC || TPM2B_PRIVATE`,
//! the private part encrypted by the TPM under the SRK (the layout tpm2-tools uses).

use std::fmt;

use rsa::{BigUint, RsaPublicKey};
use tss_esapi::attributes::{ObjectAttributes, ObjectAttributesBuilder};
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::structures::{
    Digest, HashScheme, HashcheckTicket, Private, Public, PublicBuilder, PublicKeyRsa,
    PublicRsaParametersBuilder, RsaExponent, RsaScheme, Signature, SignatureScheme,
    SymmetricDefinitionObject,
};
use tss_esapi::traits::{Marshall, UnMarshall};
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;

use super::srk::{with_loaded, with_password, with_srk};
use super::{command, Tpm, TpmError};
use crate::keys::{check_sha256_digest, KeyError, KeyPurpose, ProviderKey};

/// The exponent a TPM means by 0.
const DEFAULT_EXPONENT: u32 = 65_537;

/// fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth, plus the usage bits.
fn key_attributes(
    sign: bool,
    decrypt: bool,
    restricted: bool,
) -> Result<ObjectAttributes, TpmError> {
    ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_sign_encrypt(sign)
        .with_decrypt(decrypt)
        .with_restricted(restricted)
        .build()
        .map_err(command("Create template"))
}

fn rsassa_sha256() -> RsaScheme {
    RsaScheme::RsaSsa(HashScheme::new(HashingAlgorithm::Sha256))
}

fn rsa_template(
    attributes: ObjectAttributes,
    parameters: PublicRsaParametersBuilder,
) -> Result<Public, TpmError> {
    let parameters = parameters.build().map_err(command("Create template"))?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Rsa)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_rsa_parameters(parameters)
        .with_rsa_unique_identifier(PublicKeyRsa::default())
        .build()
        .map_err(command("Create template"))
}

/// The device key: an unrestricted RSASSA-SHA256 signing key.
pub fn device_key_template() -> Result<Public, TpmError> {
    rsa_template(
        key_attributes(true, false, false)?,
        PublicRsaParametersBuilder::new_unrestricted_signing_key(
            rsassa_sha256(),
            RsaKeyBits::Rsa2048,
            RsaExponent::default(),
        ),
    )
}

/// The transport key: an unrestricted decryption key (no fixed scheme).
pub fn transport_key_template() -> Result<Public, TpmError> {
    rsa_template(
        key_attributes(false, true, false)?,
        PublicRsaParametersBuilder::new()
            .with_scheme(RsaScheme::Null)
            .with_key_bits(RsaKeyBits::Rsa2048)
            .with_exponent(RsaExponent::default())
            .with_is_decryption_key(true)
            .with_is_signing_key(false)
            .with_restricted(false)
            .with_symmetric(SymmetricDefinitionObject::Null),
    )
}

/// The attestation key: a restricted RSASSA-SHA256 signing key (signs only TPM-made data).
pub fn attestation_key_template() -> Result<Public, TpmError> {
    rsa_template(
        key_attributes(true, false, true)?,
        PublicRsaParametersBuilder::new_unrestricted_signing_key(
            rsassa_sha256(),
            RsaKeyBits::Rsa2048,
            RsaExponent::default(),
        )
        .with_restricted(true),
    )
}

pub fn template_for(purpose: KeyPurpose) -> Result<Public, TpmError> {
    match purpose {
        // The MDM management certificate's key and the broker's PoP key sign, like the device key.
        KeyPurpose::Device | KeyPurpose::MdmEnrollment | KeyPurpose::Pop => device_key_template(),
        KeyPurpose::Transport => transport_key_template(),
    }
}

/// A key as the TPM wrapped it: its public area and its SRK-encrypted private area.
#[derive(Clone)]
pub struct KeyBlob {
    pub public: Public,
    pub private: Private,
}

impl fmt::Debug for KeyBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyBlob")
            .field("attributes", &self.public.object_attributes())
            .finish_non_exhaustive()
    }
}

fn put_sized(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), TpmError> {
    let len = u16::try_from(bytes.len()).map_err(|_| TpmError::BadBlob("part too large".into()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn take_sized<'a>(input: &mut &'a [u8], what: &str) -> Result<&'a [u8], TpmError> {
    let truncated = || TpmError::BadBlob(format!("its {what} is truncated"));
    let size = input.get(..2).ok_or_else(truncated)?;
    let len = u16::from_be_bytes([size[0], size[1]]) as usize;
    let value = input.get(2..2 + len).ok_or_else(truncated)?;
    *input = &input[2 + len..];
    Ok(value)
}

impl KeyBlob {
    /// `TPM2B_PUBLIC || TPM2B_PRIVATE`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, TpmError> {
        let public = self.public.marshall().map_err(command("Marshal public"))?;
        let mut out = Vec::with_capacity(4 + public.len() + self.private.value().len());
        put_sized(&mut out, &public)?;
        put_sized(&mut out, self.private.value())?;
        Ok(out)
    }

    pub fn from_bytes(mut bytes: &[u8]) -> Result<Self, TpmError> {
        let public = take_sized(&mut bytes, "public area")?;
        let private = take_sized(&mut bytes, "private area")?;
        if !bytes.is_empty() {
            return Err(TpmError::BadBlob(format!("{} trailing bytes", bytes.len())));
        }
        let public = Public::unmarshall(public).map_err(|e| TpmError::BadBlob(e.to_string()))?;
        let private =
            Private::try_from(private.to_vec()).map_err(|e| TpmError::BadBlob(e.to_string()))?;
        Ok(KeyBlob { public, private })
    }

    /// The RSA public key of the public area.
    pub fn rsa_public(&self) -> Result<RsaPublicKey, TpmError> {
        rsa_public_of(&self.public)
    }
}

/// The RSA public key of a TPMT_PUBLIC (exponent 0 means 65537).
pub fn rsa_public_of(public: &Public) -> Result<RsaPublicKey, TpmError> {
    let Public::Rsa {
        parameters, unique, ..
    } = public
    else {
        return Err(TpmError::Unexpected("non-RSA public area"));
    };
    let exponent = match parameters.exponent().value() {
        0 => DEFAULT_EXPONENT,
        e => e,
    };
    RsaPublicKey::new(
        BigUint::from_bytes_be(unique.value()),
        BigUint::from(exponent),
    )
    .map_err(|_| TpmError::Unexpected("RSA public key"))
}

/// Create a key of `purpose` under the SRK; the TPM returns it wrapped.
pub fn create(tpm: &Tpm, purpose: KeyPurpose) -> Result<KeyBlob, TpmError> {
    create_under_srk(tpm, template_for(purpose)?)
}

/// Create any child of the SRK from a template.
pub fn create_under_srk(tpm: &Tpm, template: Public) -> Result<KeyBlob, TpmError> {
    let mut context = tpm.connect()?;
    with_srk(&mut context, |ctx, srk| {
        let created = with_password(ctx, |ctx| ctx.create(srk, template, None, None, None, None))
            .map_err(command("Create"))?;
        Ok(KeyBlob {
            public: created.out_public,
            private: created.out_private,
        })
    })
}

/// Load a blob under the SRK once, to prove it belongs to this TPM.
pub fn check_loadable(tpm: &Tpm, blob: &KeyBlob) -> Result<(), TpmError> {
    let mut context = tpm.connect()?;
    with_srk(&mut context, |ctx, srk| {
        with_loaded(ctx, srk, &blob.public, &blob.private, |_, _| Ok(()))
    })
}

/// The ticket an unrestricted key signs with: "this digest was not checked by the TPM".
fn null_ticket() -> Result<HashcheckTicket, TpmError> {
    HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
        tag: TPM2_ST_HASHCHECK,
        hierarchy: TPM2_RH_NULL,
        digest: Default::default(),
    })
    .map_err(command("Sign ticket"))
}

/// RSASSA-PKCS1-v1_5 over a SHA-256 digest, computed in the TPM.
pub fn sign_digest(tpm: &Tpm, blob: &KeyBlob, digest: &[u8]) -> Result<Vec<u8>, TpmError> {
    let digest = Digest::try_from(digest.to_vec()).map_err(command("Sign digest"))?;
    let mut context = tpm.connect()?;
    let signature = with_srk(&mut context, |ctx, srk| {
        with_loaded(ctx, srk, &blob.public, &blob.private, |ctx, key| {
            let scheme = SignatureScheme::RsaSsa {
                hash_scheme: HashScheme::new(HashingAlgorithm::Sha256),
            };
            let ticket = null_ticket()?;
            with_password(ctx, |ctx| ctx.sign(key, digest, scheme, ticket)).map_err(command("Sign"))
        })
    })?;
    match signature {
        Signature::RsaSsa(rsa) => Ok(rsa.signature().value().to_vec()),
        _ => Err(TpmError::Unexpected("signature scheme")),
    }
}

/// A key in the TPM. `Debug` shows only the purpose: the blob is not for logs.
pub struct TpmKey {
    tpm: Tpm,
    purpose: KeyPurpose,
    blob: KeyBlob,
    public: RsaPublicKey,
}

impl TpmKey {
    pub fn new(tpm: Tpm, purpose: KeyPurpose, blob: KeyBlob) -> Result<Self, TpmError> {
        let public = blob.rsa_public()?;
        Ok(TpmKey {
            tpm,
            purpose,
            blob,
            public,
        })
    }

    pub fn blob(&self) -> &KeyBlob {
        &self.blob
    }
}

impl fmt::Debug for TpmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TpmKey")
            .field("purpose", &self.purpose)
            .field("tcti", &self.tpm.tcti())
            .finish_non_exhaustive()
    }
}

impl ProviderKey for TpmKey {
    fn purpose(&self) -> KeyPurpose {
        self.purpose
    }

    fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    fn sign_sha256_digest(&self, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        check_sha256_digest(digest)?;
        sign_digest(&self.tpm, &self.blob, digest).map_err(|e| KeyError::Sign {
            purpose: self.purpose.as_str(),
            reason: e.to_string(),
        })
    }

    fn to_blob(&self) -> Result<Vec<u8>, KeyError> {
        self.blob.to_bytes().map_err(|e| KeyError::Persist {
            purpose: self.purpose.as_str(),
            reason: e.to_string(),
        })
    }

    fn decrypt_oaep(
        &self,
        ciphertext: &[u8],
        hash: crate::keys::OaepHash,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        super::session::rsa_decrypt_oaep(&self.tpm, &self.blob, ciphertext, hash).map_err(|e| {
            KeyError::Decrypt {
                purpose: self.purpose.as_str(),
                reason: e.to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_non_exportable_and_fit_their_use() {
        for (template, sign, decrypt, restricted) in [
            (device_key_template().unwrap(), true, false, false),
            (transport_key_template().unwrap(), false, true, false),
            (attestation_key_template().unwrap(), true, false, true),
        ] {
            let a = template.object_attributes();
            assert!(a.fixed_tpm() && a.fixed_parent() && a.sensitive_data_origin());
            assert_eq!(
                (a.sign_encrypt(), a.decrypt(), a.restricted()),
                (sign, decrypt, restricted)
            );
        }
    }

    #[test]
    fn a_blob_round_trips_and_truncation_is_refused() {
        let blob = KeyBlob {
            public: device_key_template().unwrap(),
            private: Private::try_from(vec![7u8; 40]).unwrap(),
        };
        let bytes = blob.to_bytes().unwrap();
        let back = KeyBlob::from_bytes(&bytes).unwrap();
        assert_eq!(back.public, blob.public);
        assert_eq!(back.private.value(), blob.private.value());
        assert!(KeyBlob::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(!format!("{back:?}").contains("private"));
    }
}
