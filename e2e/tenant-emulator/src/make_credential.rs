//! TPM2_MakeCredential in software, as a privacy CA (here: DRS) runs it (TPM 2.0 Part 1
//! §24 "Credential Protection", Part 3 §12.6, Part 1 §11.4.10.2 KDFa).
//!
//! The credential (a random secret) is sealed so that only a TPM holding the EK's private key
//! and with an object of the given name loaded can release it with TPM2_ActivateCredential:
//! - `seed`: 32 random bytes (the size of SHA-256, the EK's nameAlg), RSA-OAEP-SHA-256
//!   encrypted to the EK with the label `"IDENTITY\0"` (the encrypted secret);
//! - `symKey = KDFa(SHA-256, seed, "STORAGE", name, ∅, 128)`: AES-128-CFB (the EK's symmetric
//!   algorithm, IV zero) encrypts the marshalled TPM2B_DIGEST of the credential (encIdentity);
//! - `HMACkey = KDFa(SHA-256, seed, "INTEGRITY", ∅, ∅, 256)`;
//!   `integrity = HMAC-SHA-256(HMACkey, encIdentity || name)`;
//! - the credential blob (TPM2B_ID_OBJECT contents) is `TPM2B(integrity) || encIdentity`.

use aes::cipher::{BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rsa::{Oaep, RsaPublicKey};
use sha2::Sha256;

/// What DRS sends back: the credential blob and the encrypted seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeCredential {
    pub credential_blob: Vec<u8>,
    pub encrypted_secret: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MakeCredentialError {
    #[error("the credential must be 1 to 32 bytes")]
    CredentialSize,
    #[error("the EK's public key cannot encrypt the seed: {0}")]
    Encrypt(String),
}

/// KDFa with SHA-256 (SP 800-108 counter mode, HMAC): `bits` of output.
pub fn kdfa(key: &[u8], label: &str, context_u: &[u8], context_v: &[u8], bits: u32) -> Vec<u8> {
    let bytes = bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(bytes + 32);
    let mut counter: u32 = 1;
    while out.len() < bytes {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(&counter.to_be_bytes());
        mac.update(label.as_bytes());
        mac.update(&[0]); // the label's terminating zero is part of the input
        mac.update(context_u);
        mac.update(context_v);
        mac.update(&bits.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
        counter += 1;
    }
    out.truncate(bytes);
    out
}

/// AES-128 in CFB mode (full-block feedback), IV zero, as TPM parameter encryption uses it.
pub fn aes128_cfb_encrypt(key: &[u8], data: &[u8]) -> Vec<u8> {
    let cipher = aes::Aes128::new_from_slice(key).expect("16-byte key");
    let mut feedback = [0u8; 16];
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(16) {
        let mut block = aes::Block::from(feedback);
        cipher.encrypt_block(&mut block);
        let cipher_block: Vec<u8> = chunk.iter().zip(block.iter()).map(|(p, k)| p ^ k).collect();
        feedback[..cipher_block.len()].copy_from_slice(&cipher_block);
        out.extend_from_slice(&cipher_block);
    }
    out
}

/// MakeCredential with a given seed (deterministic: for golden tests).
pub fn make_credential_with_seed(
    ek: &RsaPublicKey,
    credential: &[u8],
    object_name: &[u8],
    seed: &[u8],
) -> Result<MadeCredential, MakeCredentialError> {
    if credential.is_empty() || credential.len() > 32 {
        return Err(MakeCredentialError::CredentialSize);
    }
    let encrypted_secret = ek
        .encrypt(
            &mut rand::rngs::OsRng,
            Oaep::new_with_label::<Sha256, _>("IDENTITY\0"),
            seed,
        )
        .map_err(|e| MakeCredentialError::Encrypt(e.to_string()))?;
    let sym_key = kdfa(seed, "STORAGE", object_name, &[], 128);
    let mut plain = (credential.len() as u16).to_be_bytes().to_vec();
    plain.extend_from_slice(credential);
    let enc_identity = aes128_cfb_encrypt(&sym_key, &plain);
    let hmac_key = kdfa(seed, "INTEGRITY", &[], &[], 256);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&hmac_key).expect("HMAC takes any key");
    mac.update(&enc_identity);
    mac.update(object_name);
    let integrity = mac.finalize().into_bytes();
    let mut credential_blob = (integrity.len() as u16).to_be_bytes().to_vec();
    credential_blob.extend_from_slice(&integrity);
    credential_blob.extend_from_slice(&enc_identity);
    Ok(MadeCredential {
        credential_blob,
        encrypted_secret,
    })
}

/// MakeCredential with a fresh random seed.
pub fn make_credential(
    ek: &RsaPublicKey,
    credential: &[u8],
    object_name: &[u8],
) -> Result<MadeCredential, MakeCredentialError> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    make_credential_with_seed(ek, credential, object_name, &seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CFB with IV 0 over a zero block is AES(key, 0): under the zero key the well-known
    /// 66e94bd4… (the real proof is the TPM activating our blobs, in the bridge's tests).
    #[test]
    fn cfb_with_zero_iv_starts_with_the_block_cipher_of_zero() {
        let key = [0u8; 16];
        let first = aes128_cfb_encrypt(&key, &[0u8; 16]);
        // AES-128 of the zero block under the zero key (well-known value).
        assert_eq!(hex::encode(&first), "66e94bd4ef8a2c3b884cfa59ca342b2e");
        // A partial last block is XORed, not padded.
        assert_eq!(aes128_cfb_encrypt(&key, &[0u8; 20]).len(), 20);
    }

    #[test]
    fn kdfa_has_the_asked_length_and_depends_on_every_input() {
        let a = kdfa(b"seed", "STORAGE", b"name", &[], 128);
        assert_eq!(a.len(), 16);
        assert_eq!(kdfa(b"seed", "INTEGRITY", &[], &[], 256).len(), 32);
        assert_eq!(kdfa(b"seed", "X", &[], &[], 520).len(), 65);
        assert_ne!(a, kdfa(b"seed", "STORAGE", b"other", &[], 128));
        assert_ne!(a, kdfa(b"seed", "INTEGRITX", b"name", &[], 128));
        assert_ne!(a, kdfa(b"seee", "STORAGE", b"name", &[], 128));
    }

    #[test]
    fn the_blob_is_hmac_then_encrypted_identity_and_binds_the_name() {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let seed = [7u8; 32];
        let made =
            make_credential_with_seed(&key.to_public_key(), b"secret", b"name", &seed).unwrap();
        assert_eq!(&made.credential_blob[..2], &[0, 32]);
        assert_eq!(made.credential_blob.len(), 2 + 32 + 2 + 6);
        let seed_back = key
            .decrypt(
                Oaep::new_with_label::<Sha256, _>("IDENTITY\0"),
                &made.encrypted_secret,
            )
            .unwrap();
        assert_eq!(seed_back, seed);
        let other =
            make_credential_with_seed(&key.to_public_key(), b"secret", b"other", &seed).unwrap();
        assert_ne!(other.credential_blob, made.credential_blob);
        assert_eq!(
            make_credential(&key.to_public_key(), &[0; 33], b"n"),
            Err(MakeCredentialError::CredentialSize)
        );
    }
}
