//! `AttestationData` of the registration request: the TPM's certification of the transport key.
//!
//! The envelope is the KeyAttestationStatement of MS-WCCE 2.2.2.5 (what Windows' key
//! attestation produces): seven u32 little-endian header fields — Magic `KAST` (0x5453414B),
//! Version 1, Platform 2 (TPM 2.0), HeaderSize 28, cbIdBinding, cbKeyAttestation, cbAIKOpaque —
//! then the three byte arrays. What we put in them (TPM structures are big-endian, TPM 2.0
//! Part 2):
//! - `idBinding`: the attestation key's `TPM2B_PUBLIC`. MS-WCCE lists a TPM2B_CREATION_DATA,
//!   a TPM2B_ATTEST and a TPMT_SIGNATURE after it, which bind the AK to the endorsement key
//!   through a privacy CA; there is no privacy CA here, so they are left out and the AK is
//!   trusted on first use. `AikCertificate` is therefore not sent.
//! - `keyAttestation`: `TPM2B_PUBLIC` of the transport key, then `TPM2B_ATTEST` (the
//!   TPMS_ATTEST produced by TPM2_Certify), then the `TPMT_SIGNATURE` by the AK (to the end).
//!   MS-WCCE does not spell this part out for TPM 2.0; this order is our documented choice.
//! - `aikOpaque`: empty.

use thiserror::Error;

/// "KAST" read as a little-endian u32.
pub const MAGIC: u32 = 0x5453_414B;
pub const VERSION: u32 = 1;
/// TPM 2.0.
pub const PLATFORM_TPM20: u32 = 2;
const HEADER_LEN: usize = 28;

/// The parts of a transport key certification, each a marshalled TPM 2.0 structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttestation {
    /// TPMT_PUBLIC of the attestation key (restricted signing key).
    pub ak_public: Vec<u8>,
    /// TPMT_PUBLIC of the certified (transport) key.
    pub key_public: Vec<u8>,
    /// TPMS_ATTEST of type TPM_ST_ATTEST_CERTIFY.
    pub certify_info: Vec<u8>,
    /// TPMT_SIGNATURE by the AK over `certify_info`.
    pub signature: Vec<u8>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyAttestationError {
    #[error("AttestationData is {0} bytes, shorter than its 28-byte header")]
    TooShort(usize),
    #[error("AttestationData magic is {0:#010x}, expected 0x5453414B (\"KAST\")")]
    BadMagic(u32),
    #[error("AttestationData version {version}, platform {platform}: only version 1, platform 2 (TPM 2.0) is known")]
    Unsupported { version: u32, platform: u32 },
    #[error("AttestationData lengths do not add up to its size ({0})")]
    LengthMismatch(usize),
    #[error("AttestationData {0} is truncated")]
    Truncated(&'static str),
    #[error("a TPM structure is larger than 65535 bytes")]
    TooLarge,
}

fn sized(bytes: &[u8]) -> Result<Vec<u8>, KeyAttestationError> {
    let len = u16::try_from(bytes.len()).map_err(|_| KeyAttestationError::TooLarge)?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    Ok(out)
}

/// Split a TPM2B (u16 big-endian size, then the bytes) off the front of `input`.
fn take_sized<'a>(
    input: &mut &'a [u8],
    what: &'static str,
) -> Result<&'a [u8], KeyAttestationError> {
    if input.len() < 2 {
        return Err(KeyAttestationError::Truncated(what));
    }
    let len = u16::from_be_bytes([input[0], input[1]]) as usize;
    let rest = &input[2..];
    if rest.len() < len {
        return Err(KeyAttestationError::Truncated(what));
    }
    let (value, tail) = rest.split_at(len);
    *input = tail;
    Ok(value)
}

impl KeyAttestation {
    /// Encode as a KeyAttestationStatement.
    pub fn encode(&self) -> Result<Vec<u8>, KeyAttestationError> {
        let id_binding = sized(&self.ak_public)?;
        let mut key_attestation = sized(&self.key_public)?;
        key_attestation.extend(sized(&self.certify_info)?);
        key_attestation.extend_from_slice(&self.signature);
        let mut out = Vec::with_capacity(HEADER_LEN + id_binding.len() + key_attestation.len());
        for field in [
            MAGIC,
            VERSION,
            PLATFORM_TPM20,
            HEADER_LEN as u32,
            id_binding.len() as u32,
            key_attestation.len() as u32,
            0,
        ] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend(id_binding);
        out.extend(key_attestation);
        Ok(out)
    }

    /// Decode a KeyAttestationStatement written by [`KeyAttestation::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, KeyAttestationError> {
        if bytes.len() < HEADER_LEN {
            return Err(KeyAttestationError::TooShort(bytes.len()));
        }
        let field = |i: usize| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap());
        if field(0) != MAGIC {
            return Err(KeyAttestationError::BadMagic(field(0)));
        }
        if field(1) != VERSION || field(2) != PLATFORM_TPM20 {
            return Err(KeyAttestationError::Unsupported {
                version: field(1),
                platform: field(2),
            });
        }
        let header = field(3) as usize;
        let (id_len, key_len, opaque_len) =
            (field(4) as usize, field(5) as usize, field(6) as usize);
        if header < HEADER_LEN || header + id_len + key_len + opaque_len != bytes.len() {
            return Err(KeyAttestationError::LengthMismatch(bytes.len()));
        }
        let mut id_binding = &bytes[header..header + id_len];
        let mut key_part = &bytes[header + id_len..header + id_len + key_len];
        let ak_public = take_sized(&mut id_binding, "AK public area")?.to_vec();
        let key_public = take_sized(&mut key_part, "transport key public area")?.to_vec();
        let certify_info = take_sized(&mut key_part, "certification")?.to_vec();
        Ok(KeyAttestation {
            ak_public,
            key_public,
            certify_info,
            signature: key_part.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KeyAttestation {
        KeyAttestation {
            ak_public: vec![0, 1, 2],
            key_public: vec![3; 10],
            certify_info: vec![0xFF, 0x54, 0x43, 0x47],
            signature: vec![0, 0x14, 0, 0x0B, 0, 1, 9],
        }
    }

    #[test]
    fn golden_header_and_round_trip() {
        let bytes = sample().encode().unwrap();
        assert_eq!(&bytes[..4], b"KAST");
        assert_eq!(&bytes[4..12], &[1, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&bytes[12..16], &[28, 0, 0, 0]);
        assert_eq!(&bytes[16..20], &[5, 0, 0, 0], "idBinding = 2 + 3");
        assert_eq!(&bytes[20..24], &[25, 0, 0, 0], "12 + 6 + 7");
        assert_eq!(&bytes[28..33], &[0, 3, 0, 1, 2]);
        assert_eq!(KeyAttestation::decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn rejects_bad_magic_lengths_and_truncation() {
        let good = sample().encode().unwrap();
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(
            KeyAttestation::decode(&bad),
            Err(KeyAttestationError::BadMagic(_))
        ));
        assert!(matches!(
            KeyAttestation::decode(&good[..good.len() - 1]),
            Err(KeyAttestationError::LengthMismatch(_))
        ));
        assert_eq!(
            KeyAttestation::decode(&good[..5]),
            Err(KeyAttestationError::TooShort(5))
        );
        let mut truncated = good.clone();
        truncated[29] = 200; // AK public claims 200 bytes
        assert_eq!(
            KeyAttestation::decode(&truncated),
            Err(KeyAttestationError::Truncated("AK public area"))
        );
    }
}
