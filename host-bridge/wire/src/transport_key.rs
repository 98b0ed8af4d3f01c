//! BCRYPT_RSAKEY_BLOB ("RSA1") encoding of the transport key's public part.
//!
//! Layout (all u32 little-endian): magic `RSA1`, BitLength, cbPublicExp, cbModulus,
//! cbPrime1 = 0, cbPrime2 = 0; then the exponent and the modulus, big-endian.
//! Azure DRS rejects blobs that carry primes, and so do we.

use thiserror::Error;

const MAGIC: &[u8; 4] = b"RSA1";
const HEADER_LEN: usize = 24;

/// The public part of an RSA key as big-endian byte strings, without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicParts {
    pub bit_length: u32,
    pub exponent: Vec<u8>,
    pub modulus: Vec<u8>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BlobError {
    #[error("transport key blob is {0} bytes, shorter than the 24-byte header")]
    TooShort(usize),
    #[error("transport key blob magic is {0:?}, expected \"RSA1\"")]
    BadMagic([u8; 4]),
    #[error("transport key blob declares private primes (cbPrime1={0}, cbPrime2={1}); only public keys are accepted")]
    HasPrimes(u32, u32),
    #[error("transport key blob length {actual} does not match its header ({expected})")]
    LengthMismatch { expected: usize, actual: usize },
    #[error("transport key blob bit length {bits} does not match a {modulus_len}-byte modulus")]
    BitLengthMismatch { bits: u32, modulus_len: usize },
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Encode a public key as a BCRYPT_RSAKEY_BLOB (RSA1).
pub fn encode(exponent_be: &[u8], modulus_be: &[u8]) -> Vec<u8> {
    let exponent = strip_leading_zeros(exponent_be);
    let modulus = strip_leading_zeros(modulus_be);
    let bit_length = (modulus.len() as u32) * 8;
    let mut blob = Vec::with_capacity(HEADER_LEN + exponent.len() + modulus.len());
    blob.extend_from_slice(MAGIC);
    for field in [
        bit_length,
        exponent.len() as u32,
        modulus.len() as u32,
        0,
        0,
    ] {
        blob.extend_from_slice(&field.to_le_bytes());
    }
    blob.extend_from_slice(exponent);
    blob.extend_from_slice(modulus);
    blob
}

fn read_u32(blob: &[u8], index: usize) -> u32 {
    let at = 4 + index * 4;
    u32::from_le_bytes([blob[at], blob[at + 1], blob[at + 2], blob[at + 3]])
}

/// Decode and check a BCRYPT_RSAKEY_BLOB holding only a public key.
pub fn decode(blob: &[u8]) -> Result<RsaPublicParts, BlobError> {
    if blob.len() < HEADER_LEN {
        return Err(BlobError::TooShort(blob.len()));
    }
    let magic: [u8; 4] = [blob[0], blob[1], blob[2], blob[3]];
    if &magic != MAGIC {
        return Err(BlobError::BadMagic(magic));
    }
    let (bit_length, exp_len, mod_len) = (read_u32(blob, 0), read_u32(blob, 1), read_u32(blob, 2));
    let (prime1, prime2) = (read_u32(blob, 3), read_u32(blob, 4));
    if prime1 != 0 || prime2 != 0 {
        return Err(BlobError::HasPrimes(prime1, prime2));
    }
    let expected = HEADER_LEN + exp_len as usize + mod_len as usize;
    if blob.len() != expected {
        return Err(BlobError::LengthMismatch {
            expected,
            actual: blob.len(),
        });
    }
    if bit_length.div_ceil(8) != mod_len {
        return Err(BlobError::BitLengthMismatch {
            bits: bit_length,
            modulus_len: mod_len as usize,
        });
    }
    let exponent = blob[HEADER_LEN..HEADER_LEN + exp_len as usize].to_vec();
    let modulus = blob[HEADER_LEN + exp_len as usize..].to_vec();
    Ok(RsaPublicParts {
        bit_length,
        exponent,
        modulus,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn sample_modulus() -> Vec<u8> {
        let mut m = vec![0xC5u8; 256];
        m[255] = 0x01;
        m
    }

    #[test]
    fn golden_prefix_of_a_2048_bit_key_with_exponent_65537() {
        // wire-facts.md §8 / aad-join-spec: a 2048-bit key with e=65537 encodes to "UlNBMQAIAAAD…".
        let blob = encode(&[0x01, 0x00, 0x01], &sample_modulus());
        let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
        assert!(b64.starts_with("UlNBMQAIAAAD"), "{b64}");
        assert_eq!(
            &blob[..24],
            &[b'R', b'S', b'A', b'1', 0, 8, 0, 0, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(blob.len(), 24 + 3 + 256);
    }

    #[test]
    fn round_trips_and_strips_leading_zeros() {
        let mut padded = vec![0u8];
        padded.extend(sample_modulus());
        let blob = encode(&[0, 1, 0, 1], &padded);
        let parts = decode(&blob).unwrap();
        assert_eq!(parts.bit_length, 2048);
        assert_eq!(parts.exponent, vec![1, 0, 1]);
        assert_eq!(parts.modulus, sample_modulus());
    }

    #[test]
    fn rejects_primes_bad_magic_and_truncation() {
        let mut blob = encode(&[1, 0, 1], &sample_modulus());
        blob[16] = 128;
        assert_eq!(decode(&blob), Err(BlobError::HasPrimes(128, 0)));
        let mut bad = encode(&[1, 0, 1], &sample_modulus());
        bad[3] = b'2';
        assert!(matches!(decode(&bad), Err(BlobError::BadMagic(_))));
        let good = encode(&[1, 0, 1], &sample_modulus());
        assert!(matches!(
            decode(&good[..100]),
            Err(BlobError::LengthMismatch { .. })
        ));
        assert_eq!(decode(&good[..10]), Err(BlobError::TooShort(10)));
    }
}
