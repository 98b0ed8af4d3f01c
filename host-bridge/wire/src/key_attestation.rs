//! `AttestationData` of the registration request: the TPM's certification of the transport
//! key and of the device key, by an attestation key (AK) proven to sit in the same TPM as an
//! endorsement key (EK) whose certificate chains to a TPM vendor root the tenant trusts.
//!
//! The envelope is the KeyAttestationStatement of MS-WCCE 2.2.2.5 (what Windows' key
//! attestation produces): seven u32 little-endian header fields — Magic `KAST` (0x5453414B),
//! Version 1, Platform 2 (TPM 2.0), HeaderSize 28, cbIdBinding, cbKeyAttestation, cbAIKOpaque —
//! then the three byte arrays. What we put in them (TPM structures are big-endian, TPM 2.0
//! Part 2):
//! - `idBinding`: the attestation key's `TPM2B_PUBLIC`. MS-WCCE lists a TPM2B_CREATION_DATA,
//!   a TPM2B_ATTEST and a TPMT_SIGNATURE after it, which Windows uses to have a privacy CA
//!   (the Microsoft AIK CA) vouch for the AK; we have no privacy CA. Instead DRS itself runs
//!   the credential activation a privacy CA runs (see [`AttestationChallengeRequest`]) before
//!   the registration, so the AK is tied to the EK without an `AikCertificate`.
//! - `keyAttestation`: for the transport key, then for the device key: `TPM2B_PUBLIC` of the
//!   key, `TPM2B_ATTEST` (the TPMS_ATTEST produced by TPM2_Certify), and the AK's
//!   `TPMT_SIGNATURE` as a TPM2B (u16 size first). MS-WCCE does not spell this part out for
//!   TPM 2.0; this layout is our documented choice.
//! - `aikOpaque`: empty.
//!
//! Each TPMS_ATTEST carries as extraData `SHA-256(activated secret || SHA-256(CSR))`: made
//! after the credential was activated, and for this request only.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// "KAST" read as a little-endian u32.
pub const MAGIC: u32 = 0x5453_414B;
pub const VERSION: u32 = 1;
/// TPM 2.0.
pub const PLATFORM_TPM20: u32 = 2;
const HEADER_LEN: usize = 28;

/// Path of DRS's credential activation challenge (our design, see
/// [`AttestationChallengeRequest`]), on the origin of the join endpoint.
pub const CHALLENGE_PATH: &str = "/EnrollmentServer/attestation/challenge";
pub const CHALLENGE_API_VERSION: &str = "1.0";

/// One key certified by the AK with TPM2_Certify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedKey {
    /// TPMT_PUBLIC of the certified key.
    pub key_public: Vec<u8>,
    /// TPMS_ATTEST of type TPM_ST_ATTEST_CERTIFY.
    pub certify_info: Vec<u8>,
    /// TPMT_SIGNATURE by the AK over `certify_info`.
    pub signature: Vec<u8>,
}

/// The AK and its certifications of the transport key and the device key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttestation {
    /// TPMT_PUBLIC of the attestation key (restricted signing key).
    pub ak_public: Vec<u8>,
    pub transport: CertifiedKey,
    pub device: CertifiedKey,
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
    #[error("AttestationData has {0} unexpected bytes after the device key's certification")]
    Trailing(usize),
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

impl CertifiedKey {
    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), KeyAttestationError> {
        out.extend(sized(&self.key_public)?);
        out.extend(sized(&self.certify_info)?);
        out.extend(sized(&self.signature)?);
        Ok(())
    }

    fn decode_from(input: &mut &[u8], which: &'static str) -> Result<Self, KeyAttestationError> {
        Ok(CertifiedKey {
            key_public: take_sized(input, which)?.to_vec(),
            certify_info: take_sized(input, which)?.to_vec(),
            signature: take_sized(input, which)?.to_vec(),
        })
    }
}

impl KeyAttestation {
    /// Encode as a KeyAttestationStatement.
    pub fn encode(&self) -> Result<Vec<u8>, KeyAttestationError> {
        let id_binding = sized(&self.ak_public)?;
        let mut key_attestation = Vec::new();
        self.transport.encode_into(&mut key_attestation)?;
        self.device.encode_into(&mut key_attestation)?;
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
        let total = header
            .checked_add(id_len)
            .and_then(|n| n.checked_add(key_len))
            .and_then(|n| n.checked_add(opaque_len));
        if header < HEADER_LEN || total != Some(bytes.len()) {
            return Err(KeyAttestationError::LengthMismatch(bytes.len()));
        }
        let mut id_binding = &bytes[header..header + id_len];
        let mut key_part = &bytes[header + id_len..header + id_len + key_len];
        let ak_public = take_sized(&mut id_binding, "AK public area")?.to_vec();
        let transport = CertifiedKey::decode_from(&mut key_part, "transport key certification")?;
        let device = CertifiedKey::decode_from(&mut key_part, "device key certification")?;
        if !key_part.is_empty() {
            return Err(KeyAttestationError::Trailing(key_part.len()));
        }
        Ok(KeyAttestation {
            ak_public,
            transport,
            device,
        })
    }
}

/// `POST {drs}/EnrollmentServer/attestation/challenge?api-version=1.0` (bearer: the joining
/// user's DRS token), sent before the registration. Our design, in the place of Windows'
/// privacy CA round trip: the device names its EK (by the EK certificate from the TPM's NV
/// index 0x01C00002) and a fresh AK; DRS checks the EK certificate against the TPM roots it
/// trusts and answers TPM2_MakeCredential(EK, secret, name(AK)). Only the TPM holding that
/// EK's private key, with that very AK loaded, can recover the secret (TPM2_ActivateCredential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttestationChallengeRequest {
    /// Base64 DER of the EK certificate.
    pub ek_certificate: String,
    /// Base64 TPMT_PUBLIC of the AK.
    pub ak_public: String,
}

/// DRS's answer: the TPM2_MakeCredential output and the chain it verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttestationChallengeResponse {
    /// Base64 of TPM2B_ID_OBJECT's contents (integrityHMAC TPM2B, then encIdentity).
    pub credential_blob: String,
    /// Base64 of TPM2B_ENCRYPTED_SECRET's contents (the seed, RSA-OAEP to the EK).
    pub encrypted_secret: String,
    /// Subjects of the EK certificate chain DRS verified, leaf first, trust anchor last.
    pub ek_chain: Vec<String>,
    /// Seconds the challenge stays valid.
    pub expires_in: u64,
}

/// Which keys of a device the tenant holds for attested, and by what chain (device object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAttestation {
    pub device_key_attested: bool,
    pub transport_key_attested: bool,
    /// `ek-credential-activation` when attested.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// EK certificate chain, leaf first, trust anchor last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ek_chain: Vec<String>,
}

/// The `method` of an attestation by EK certificate and credential activation.
pub const METHOD_EK_ACTIVATION: &str = "ek-credential-activation";

#[cfg(test)]
mod tests {
    use super::*;

    fn certified(tag: u8) -> CertifiedKey {
        CertifiedKey {
            key_public: vec![tag; 10],
            certify_info: vec![0xFF, 0x54, 0x43, 0x47],
            signature: vec![0, 0x14, 0, 0x0B, 0, 1, 9],
        }
    }

    fn sample() -> KeyAttestation {
        KeyAttestation {
            ak_public: vec![0, 1, 2],
            transport: certified(3),
            device: certified(4),
        }
    }

    #[test]
    fn golden_header_and_round_trip() {
        let bytes = sample().encode().unwrap();
        assert_eq!(&bytes[..4], b"KAST");
        assert_eq!(&bytes[4..12], &[1, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&bytes[12..16], &[28, 0, 0, 0]);
        assert_eq!(&bytes[16..20], &[5, 0, 0, 0], "idBinding = 2 + 3");
        assert_eq!(&bytes[20..24], &[54, 0, 0, 0], "2 x (12 + 6 + 9)");
        assert_eq!(&bytes[28..33], &[0, 3, 0, 1, 2]);
        assert_eq!(&bytes[33..36], &[0, 10, 3], "transport key first");
        assert_eq!(&bytes[60..63], &[0, 10, 4], "then the device key");
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
        let mut huge = good.clone();
        huge[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            KeyAttestation::decode(&huge),
            Err(KeyAttestationError::LengthMismatch(_))
        ));
    }

    #[test]
    fn a_statement_without_the_device_key_is_refused() {
        let full = sample().encode().unwrap();
        // Drop the device key's certification and fix up cbKeyAttestation.
        let mut short = full[..full.len() - 27].to_vec();
        short[20..24].copy_from_slice(&27u32.to_le_bytes());
        assert_eq!(
            KeyAttestation::decode(&short),
            Err(KeyAttestationError::Truncated("device key certification"))
        );
    }
}
