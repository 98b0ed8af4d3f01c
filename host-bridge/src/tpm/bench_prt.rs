//! `host-bridge prt bench`: the TPM operations of the PRT path, each timed on its own (median
//! of several rounds): the PRT request's device signature (TPM2_Sign), the session key's unwrap
//! (TPM2_RSA_Decrypt, OAEP SHA-1), its import as an HMAC object (TPM2_Create) and one derived
//! key (TPM2_HMAC, done once per signed request or decrypted answer). Each includes recreating
//! the SRK and loading the key, as the bridge does per operation.

use std::time::Duration;

use rsa::Oaep;
use sha2::{Digest, Sha256};

use super::bench::{median_ms, timed};
use super::keys::{create, sign_digest, KeyBlob};
use super::session::{hmac, import_hmac_key, rsa_decrypt_oaep};
use super::{Tpm, TpmError};
use crate::keys::{KeyPurpose, OaepHash};

pub const STEPS: [&str; 4] = [
    "prt_request_signature",
    "session_key_decrypt",
    "session_key_import",
    "derive_key_hmac",
];

/// Run `rounds` rounds; returns (step, median ms).
pub fn run(tpm: &Tpm, rounds: usize) -> Result<Vec<(&'static str, f64)>, TpmError> {
    let device = create(tpm, KeyPurpose::Device)?;
    let transport: KeyBlob = create(tpm, KeyPurpose::Transport)?;
    let public = transport.rsa_public()?;
    let mut samples: [Vec<Duration>; 4] = Default::default();
    for _ in 0..rounds.max(1) {
        let digest = Sha256::digest(b"prt request");
        timed(&mut samples, 0, || sign_digest(tpm, &device, &digest))?;
        let wrapped = public
            .encrypt(
                &mut rand::rngs::OsRng,
                Oaep::new::<sha1::Sha1>(),
                &[7u8; 32],
            )
            .map_err(|_| TpmError::Unexpected("OAEP encryption"))?;
        let key = timed(&mut samples, 1, || {
            rsa_decrypt_oaep(tpm, &transport, &wrapped, OaepHash::Sha1)
        })?;
        let object = timed(&mut samples, 2, || import_hmac_key(tpm, &key))?;
        drop(key);
        timed(&mut samples, 3, || hmac(tpm, &object, &[1u8; 67]))?;
    }
    Ok(STEPS
        .iter()
        .zip(samples.iter())
        .map(|(step, s)| (*step, median_ms(s)))
        .collect())
}
