//! Verification of the key attestation (`AttestationData`): the transport key and the device
//! key certified by an attestation key (AK) that credential activation tied to a trusted EK.
//!
//! The device sends a KeyAttestationStatement (`cxh_wire::key_attestation`) holding the AK's
//! TPMT_PUBLIC and, for each key, its TPMT_PUBLIC, the TPMS_ATTEST produced by TPM2_Certify and
//! the AK's TPMT_SIGNATURE over it. DRS accepts it when:
//! - the AK's name has a live credential activation challenge of this caller (the AK was shown
//!   to DRS with an EK certificate that chains to a trusted TPM root, `crate::ek_trust`, and
//!   answered TPM2_MakeCredential for that EK and name, `crate::make_credential`): without it
//!   the AK could be a software key whatever its attributes say;
//! - the AK is a restricted, fixedTPM signing key and its RSASSA-SHA256 signatures verify;
//! - each TPMS_ATTEST has magic TPM_GENERATED_VALUE and type TPM_ST_ATTEST_CERTIFY, certifies
//!   the name (nameAlg || SHA-256 of TPMT_PUBLIC) of the key sent, and carries as extraData
//!   `SHA-256(activated secret || SHA-256(CSR))`: only the TPM that activated the credential
//!   knows the secret, and the CSR binds it to this request;
//! - the transport key is a fixedTPM, fixedParent, sensitiveDataOrigin decryption key whose
//!   modulus and exponent are those of the RSA1 blob in `TransportKey`; the device key is such
//!   a signing key and is the key of the CSR.
//!
//! Structures follow TPM 2.0 Part 2 (big-endian).

use cxh_wire::key_attestation::{
    CertifiedKey, DeviceAttestation, KeyAttestation, METHOD_EK_ACTIVATION,
};
use cxh_wire::transport_key::RsaPublicParts;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::{BigUint, RsaPublicKey};
use sha2::{Digest, Sha256};
use signature::Verifier;

/// TPM_GENERATED_VALUE.
pub const TPM_GENERATED: u32 = 0xFF54_4347;
pub const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;
pub const TPM_ALG_RSA: u16 = 0x0001;
pub const TPM_ALG_SHA256: u16 = 0x000B;
pub const TPM_ALG_NULL: u16 = 0x0010;
pub const TPM_ALG_RSASSA: u16 = 0x0014;
const TPM_ALG_RSAES: u16 = 0x0015;
const TPM_ALG_RSAPSS: u16 = 0x0016;
const TPM_ALG_OAEP: u16 = 0x0017;

/// TPMA_OBJECT bits (Part 2 §8.3).
pub mod attr {
    pub const FIXED_TPM: u32 = 1 << 1;
    pub const FIXED_PARENT: u32 = 1 << 4;
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    pub const RESTRICTED: u32 = 1 << 16;
    pub const DECRYPT: u32 = 1 << 17;
    pub const SIGN: u32 = 1 << 18;
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttestationError {
    #[error("the tenant requires TPM-attested keys and the request carries no AttestationData")]
    Missing,
    #[error("AttestationData is not valid base64")]
    Base64,
    #[error("AttestationData: {0}")]
    Envelope(#[from] cxh_wire::key_attestation::KeyAttestationError),
    #[error("the {0} is truncated")]
    Truncated(&'static str),
    #[error("the {what} has {extra} unexpected trailing bytes")]
    Trailing { what: &'static str, extra: usize },
    #[error("the {0} is not an RSA key with a SHA-256 name")]
    NotRsa(&'static str),
    #[error("the {what} has unsupported algorithm {alg:#06x}")]
    Algorithm { what: &'static str, alg: u16 },
    #[error("the {what} lacks required attributes (has {has:#010x}, needs {needs:#010x})")]
    Attributes {
        what: &'static str,
        has: u32,
        needs: u32,
    },
    #[error("the certification magic is {0:#010x}, not TPM_GENERATED_VALUE")]
    Magic(u32),
    #[error("the attestation type is {0:#06x}, not TPM_ST_ATTEST_CERTIFY")]
    Type(u16),
    #[error("the certified name is not the name of the transport key sent")]
    NameMismatch,
    #[error("the certification is not bound to this request's activated credential and certificate request")]
    NotBound,
    #[error("the certified key is not the transport key of the RSA1 blob")]
    KeyMismatch,
    #[error("the certified device key is not the key of the certificate request")]
    DeviceKeyMismatch,
    #[error("the attestation key was not proven to be in a TPM with a trusted endorsement key (no credential activation challenge for it: a software key cannot be attested)")]
    NotActivated,
    #[error("the endorsement key certificate is not trusted: {0}")]
    EkNotTrusted(#[from] crate::ek_trust::EkTrustError),
    #[error("the attestation key's signature over the certification does not verify")]
    BadSignature,
}

/// A cursor over big-endian TPM structures.
struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AttestationError> {
        if self.bytes.len() < n {
            return Err(AttestationError::Truncated(self.what));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, AttestationError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, AttestationError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, AttestationError> {
        let b = self.take(8)?;
        Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    /// A TPM2B: u16 size, then that many bytes.
    fn sized(&mut self) -> Result<&'a [u8], AttestationError> {
        let n = self.u16()? as usize;
        self.take(n)
    }

    fn finish(self) -> Result<(), AttestationError> {
        match self.bytes.len() {
            0 => Ok(()),
            extra => Err(AttestationError::Trailing {
                what: self.what,
                extra,
            }),
        }
    }
}

/// The parts of an RSA TPMT_PUBLIC that matter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicArea {
    pub attributes: u32,
    /// The scheme of TPMT_RSA_SCHEME (TPM_ALG_NULL when none).
    pub scheme: u16,
    pub key_bits: u16,
    /// As stored: 0 means 65537.
    pub exponent: u32,
    pub modulus: Vec<u8>,
}

impl RsaPublicArea {
    pub fn exponent_value(&self) -> u32 {
        if self.exponent == 0 {
            65_537
        } else {
            self.exponent
        }
    }

    fn require(&self, what: &'static str, needs: u32) -> Result<(), AttestationError> {
        if self.attributes & needs != needs {
            return Err(AttestationError::Attributes {
                what,
                has: self.attributes,
                needs,
            });
        }
        Ok(())
    }
}

/// Parse an RSA TPMT_PUBLIC with nameAlg SHA-256 (Part 2 §12.2.4, §12.2.3.5).
pub fn parse_rsa_public(
    bytes: &[u8],
    what: &'static str,
) -> Result<RsaPublicArea, AttestationError> {
    let mut r = Reader::new(bytes, what);
    if r.u16()? != TPM_ALG_RSA || r.u16()? != TPM_ALG_SHA256 {
        return Err(AttestationError::NotRsa(what));
    }
    let attributes = r.u32()?;
    r.sized()?; // authPolicy
    let symmetric = r.u16()?;
    if symmetric != TPM_ALG_NULL {
        r.take(4)?; // keyBits, mode
    }
    let scheme = r.u16()?;
    match scheme {
        TPM_ALG_NULL | TPM_ALG_RSAES => {}
        TPM_ALG_RSASSA | TPM_ALG_RSAPSS | TPM_ALG_OAEP => {
            r.u16()?; // hashAlg of the scheme
        }
        alg => return Err(AttestationError::Algorithm { what, alg }),
    }
    let key_bits = r.u16()?;
    let exponent = r.u32()?;
    let modulus = r.sized()?.to_vec();
    r.finish()?;
    Ok(RsaPublicArea {
        attributes,
        scheme,
        key_bits,
        exponent,
        modulus,
    })
}

/// The TPM name of an object: nameAlg (SHA-256) || SHA-256(TPMT_PUBLIC).
pub fn name_of(public: &[u8]) -> Vec<u8> {
    let mut name = TPM_ALG_SHA256.to_be_bytes().to_vec();
    name.extend_from_slice(&Sha256::digest(public));
    name
}

/// A TPMS_ATTEST of type certify (Part 2 §10.12.12, §10.12.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifyAttest {
    pub qualified_signer: Vec<u8>,
    pub extra_data: Vec<u8>,
    pub clock: u64,
    pub reset_count: u32,
    pub restart_count: u32,
    pub safe: bool,
    pub firmware_version: u64,
    pub name: Vec<u8>,
    pub qualified_name: Vec<u8>,
}

pub fn parse_certify_attest(bytes: &[u8]) -> Result<CertifyAttest, AttestationError> {
    let mut r = Reader::new(bytes, "certification (TPMS_ATTEST)");
    let magic = r.u32()?;
    if magic != TPM_GENERATED {
        return Err(AttestationError::Magic(magic));
    }
    let kind = r.u16()?;
    if kind != TPM_ST_ATTEST_CERTIFY {
        return Err(AttestationError::Type(kind));
    }
    let attest = CertifyAttest {
        qualified_signer: r.sized()?.to_vec(),
        extra_data: r.sized()?.to_vec(),
        clock: r.u64()?,
        reset_count: r.u32()?,
        restart_count: r.u32()?,
        safe: r.take(1)?[0] != 0,
        firmware_version: r.u64()?,
        name: r.sized()?.to_vec(),
        qualified_name: r.sized()?.to_vec(),
    };
    r.finish()?;
    Ok(attest)
}

/// Parse an RSASSA-SHA256 TPMT_SIGNATURE (Part 2 §11.3.4); returns the signature bytes.
pub fn parse_rsassa_signature(bytes: &[u8]) -> Result<Vec<u8>, AttestationError> {
    let what = "signature (TPMT_SIGNATURE)";
    let mut r = Reader::new(bytes, what);
    let alg = r.u16()?;
    if alg != TPM_ALG_RSASSA {
        return Err(AttestationError::Algorithm { what, alg });
    }
    let hash = r.u16()?;
    if hash != TPM_ALG_SHA256 {
        return Err(AttestationError::Algorithm { what, alg: hash });
    }
    let signature = r.sized()?.to_vec();
    r.finish()?;
    Ok(signature)
}

fn rsa_key(area: &RsaPublicArea) -> Result<RsaPublicKey, AttestationError> {
    RsaPublicKey::new(
        BigUint::from_bytes_be(&area.modulus),
        BigUint::from(area.exponent_value()),
    )
    .map_err(|_| AttestationError::NotRsa("attestation key"))
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// What a credential activation challenge left for the registration: the secret the TPM
/// released and the EK chain DRS verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    pub secret: Vec<u8>,
    pub ek_chain: Vec<String>,
}

/// The extraData every certification must carry: SHA-256(secret || SHA-256(CSR)).
pub fn qualifying_data(secret: &[u8], csr_der: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(secret);
    hasher.update(Sha256::digest(csr_der));
    hasher.finalize().to_vec()
}

/// The keys a statement must certify, as the request carries them.
pub struct ExpectedKeys<'a> {
    pub transport_key: &'a RsaPublicParts,
    /// Modulus of the CSR's key (big-endian).
    pub device_modulus: &'a [u8],
    pub csr_der: &'a [u8],
}

/// Check one certification by the AK; returns the certified key's public area.
fn verify_certification(
    ak: &RsaPublicKey,
    certified: &CertifiedKey,
    qualifying: &[u8],
) -> Result<RsaPublicArea, AttestationError> {
    let signature = parse_rsassa_signature(&certified.signature)?;
    let signature =
        Signature::try_from(signature.as_slice()).map_err(|_| AttestationError::BadSignature)?;
    VerifyingKey::<Sha256>::new(ak.clone())
        .verify(&certified.certify_info, &signature)
        .map_err(|_| AttestationError::BadSignature)?;
    let attest = parse_certify_attest(&certified.certify_info)?;
    if attest.name != name_of(&certified.key_public) {
        return Err(AttestationError::NameMismatch);
    }
    if attest.extra_data != qualifying {
        return Err(AttestationError::NotBound);
    }
    parse_rsa_public(&certified.key_public, "certified key")
}

/// Verify a decoded statement: `activation` is the challenge found for its AK's name.
pub fn verify(
    statement: &KeyAttestation,
    expected: &ExpectedKeys<'_>,
    activation: Option<&Activation>,
) -> Result<DeviceAttestation, AttestationError> {
    let ak = parse_rsa_public(&statement.ak_public, "attestation key")?;
    ak.require(
        "attestation key",
        attr::FIXED_TPM | attr::RESTRICTED | attr::SIGN,
    )?;
    let activation = activation.ok_or(AttestationError::NotActivated)?;
    let ak_key = rsa_key(&ak)?;
    let qualifying = qualifying_data(&activation.secret, expected.csr_der);
    let fixed = attr::FIXED_TPM | attr::FIXED_PARENT | attr::SENSITIVE_DATA_ORIGIN;

    let tk = verify_certification(&ak_key, &statement.transport, &qualifying)?;
    tk.require("transport key", fixed | attr::DECRYPT)?;
    let same_modulus = strip_zeros(&tk.modulus) == strip_zeros(&expected.transport_key.modulus);
    let exponent = tk.exponent_value().to_be_bytes();
    let same_exponent = strip_zeros(&exponent) == strip_zeros(&expected.transport_key.exponent);
    if !(same_modulus && same_exponent) {
        return Err(AttestationError::KeyMismatch);
    }

    let dk = verify_certification(&ak_key, &statement.device, &qualifying)?;
    dk.require("device key", fixed | attr::SIGN)?;
    if strip_zeros(&dk.modulus) != strip_zeros(expected.device_modulus)
        || dk.exponent_value() != 65_537
    {
        return Err(AttestationError::DeviceKeyMismatch);
    }
    Ok(DeviceAttestation {
        device_key_attested: true,
        transport_key_attested: true,
        method: METHOD_EK_ACTIVATION.to_string(),
        ek_chain: activation.ek_chain.clone(),
    })
}

/// The AK's TPM name in a statement, to find its challenge (None when it does not parse).
pub fn ak_name(attestation_data: &str) -> Option<Vec<u8>> {
    let bytes = crate::csr::decode_base64(attestation_data)?;
    let statement = KeyAttestation::decode(&bytes).ok()?;
    Some(name_of(&statement.ak_public))
}

/// Decide a registration's attestation under the tenant's policy: which keys are attested
/// (none when no statement came, or an invalid one came and the tenant does not require it).
pub fn assess(
    attestation_data: Option<&str>,
    expected: &ExpectedKeys<'_>,
    activation: Option<&Activation>,
    required: bool,
) -> Result<DeviceAttestation, AttestationError> {
    let Some(data) = attestation_data.filter(|d| !d.trim().is_empty()) else {
        return if required {
            Err(AttestationError::Missing)
        } else {
            Ok(DeviceAttestation::default())
        };
    };
    let checked = crate::csr::decode_base64(data)
        .ok_or(AttestationError::Base64)
        .and_then(|bytes| Ok(KeyAttestation::decode(&bytes)?))
        .and_then(|statement| verify(&statement, expected, activation));
    match checked {
        Ok(attested) => Ok(attested),
        Err(e) if required => Err(e),
        Err(e) => {
            tracing::warn!(reason = %e, "key attestation not accepted; device not attested");
            Ok(DeviceAttestation::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use rsa::traits::PublicKeyParts;
    use rsa::RsaPrivateKey;
    use signature::{SignatureEncoding, Signer};

    /// A TPMS_ATTEST laid out by hand from Part 2 §10.12.12: magic, type, qualifiedSigner,
    /// extraData, clockInfo (clock, resetCount, restartCount, safe), firmwareVersion, then
    /// TPMS_CERTIFY_INFO (name, qualifiedName).
    fn golden_attest(name: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut b = vec![0xFF, 0x54, 0x43, 0x47, 0x80, 0x17];
        b.extend([0x00, 0x04, 0x00, 0x0B, 0xAA, 0xBB]); // qualifiedSigner (4 bytes)
        b.extend((extra.len() as u16).to_be_bytes());
        b.extend(extra);
        b.extend(0x0000_0000_0001_E240u64.to_be_bytes()); // clock = 123456
        b.extend(7u32.to_be_bytes()); // resetCount
        b.extend(2u32.to_be_bytes()); // restartCount
        b.push(1); // safe
        b.extend(0x2019_1023_0016_3600u64.to_be_bytes()); // firmwareVersion
        b.extend((name.len() as u16).to_be_bytes());
        b.extend(name);
        b.extend([0x00, 0x02, 0x00, 0x0B]); // qualifiedName (2 bytes)
        b
    }

    #[test]
    fn golden_tpms_attest_parses_field_by_field() {
        let name = [0x00, 0x0B, 1, 2, 3];
        let attest = parse_certify_attest(&golden_attest(&name, b"xyz")).unwrap();
        assert_eq!(attest.qualified_signer, vec![0x00, 0x0B, 0xAA, 0xBB]);
        assert_eq!(attest.extra_data, b"xyz");
        assert_eq!(
            (attest.clock, attest.reset_count, attest.restart_count),
            (123_456, 7, 2)
        );
        assert!(attest.safe);
        assert_eq!(attest.firmware_version, 0x2019_1023_0016_3600);
        assert_eq!(attest.name, name);
        assert_eq!(attest.qualified_name, vec![0x00, 0x0B]);

        let mut wrong_magic = golden_attest(&name, b"");
        wrong_magic[0] = 0;
        assert_eq!(
            parse_certify_attest(&wrong_magic),
            Err(AttestationError::Magic(0x0054_4347))
        );
        let mut quote = golden_attest(&name, b"");
        quote[5] = 0x18; // TPM_ST_ATTEST_QUOTE
        assert_eq!(
            parse_certify_attest(&quote),
            Err(AttestationError::Type(0x8018))
        );
        let full = golden_attest(&name, b"");
        assert_eq!(
            parse_certify_attest(&full[..full.len() - 1]),
            Err(AttestationError::Truncated("certification (TPMS_ATTEST)"))
        );
    }

    /// An RSA TPMT_PUBLIC by the Part 2 layout.
    fn rsa_public(attributes: u32, scheme: &[u8], modulus: &[u8]) -> Vec<u8> {
        let mut b = vec![0x00, 0x01, 0x00, 0x0B];
        b.extend(attributes.to_be_bytes());
        b.extend([0x00, 0x00]); // empty authPolicy
        b.extend([0x00, 0x10]); // symmetric: TPM_ALG_NULL
        b.extend(scheme);
        b.extend(2048u16.to_be_bytes());
        b.extend(0u32.to_be_bytes());
        b.extend((modulus.len() as u16).to_be_bytes());
        b.extend(modulus);
        b
    }

    struct Fixture {
        statement: KeyAttestation,
        parts: RsaPublicParts,
        device_modulus: Vec<u8>,
        ak: RsaPrivateKey,
        csr: Vec<u8>,
        activation: Activation,
    }

    impl Fixture {
        fn expected(&self) -> ExpectedKeys<'_> {
            ExpectedKeys {
                transport_key: &self.parts,
                device_modulus: &self.device_modulus,
                csr_der: &self.csr,
            }
        }
    }

    fn sign(ak: &RsaPrivateKey, data: &[u8]) -> Vec<u8> {
        let signature = rsa::pkcs1v15::SigningKey::<Sha256>::new(ak.clone()).sign(data);
        let bytes = signature.to_vec();
        let mut b = vec![0x00, 0x14, 0x00, 0x0B];
        b.extend((bytes.len() as u16).to_be_bytes());
        b.extend(bytes);
        b
    }

    fn certified(ak: &RsaPrivateKey, key_public: Vec<u8>, extra: &[u8]) -> CertifiedKey {
        let certify_info = golden_attest(&name_of(&key_public), extra);
        let signature = sign(ak, &certify_info);
        CertifiedKey {
            key_public,
            certify_info,
            signature,
        }
    }

    const FIXED: u32 = attr::FIXED_TPM | attr::FIXED_PARENT | attr::SENSITIVE_DATA_ORIGIN;

    /// A statement laid out as a TPM would make it, by a software "AK" with TPM attributes:
    /// the structures alone cannot tell it from a TPM's, only the activation can.
    fn fixture() -> Fixture {
        let mut rng = rand::thread_rng();
        let ak = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let tk = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let dk = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let tk_modulus = tk.n().to_bytes_be();
        let ak_public = rsa_public(
            attr::FIXED_TPM | attr::RESTRICTED | attr::SIGN | attr::FIXED_PARENT,
            &[0x00, 0x14, 0x00, 0x0B],
            &ak.n().to_bytes_be(),
        );
        let key_public = rsa_public(FIXED | attr::DECRYPT, &[0x00, 0x10], &tk_modulus);
        let device_public = rsa_public(
            FIXED | attr::SIGN,
            &[0x00, 0x14, 0x00, 0x0B],
            &dk.n().to_bytes_be(),
        );
        let csr = b"a certificate request".to_vec();
        let activation = Activation {
            secret: b"the activated secret".to_vec(),
            ek_chain: vec!["EK".into(), "CN=root".into()],
        };
        let extra = qualifying_data(&activation.secret, &csr);
        Fixture {
            statement: KeyAttestation {
                transport: certified(&ak, key_public, &extra),
                device: certified(&ak, device_public, &extra),
                ak_public,
            },
            parts: RsaPublicParts {
                bit_length: 1024,
                exponent: vec![1, 0, 1],
                modulus: tk_modulus,
            },
            device_modulus: dk.n().to_bytes_be(),
            ak,
            csr,
            activation,
        }
    }

    #[test]
    fn a_valid_statement_attests_both_keys_with_its_chain() {
        let f = fixture();
        let attested = verify(&f.statement, &f.expected(), Some(&f.activation)).unwrap();
        assert!(attested.device_key_attested && attested.transport_key_attested);
        assert_eq!(attested.method, METHOD_EK_ACTIVATION);
        assert_eq!(attested.ek_chain, f.activation.ek_chain);
    }

    /// Before credential activation this statement verified: a software key with TPM
    /// attributes was recorded as Attested. Without a challenge for its name it is refused.
    #[test]
    fn a_software_ak_without_credential_activation_is_refused() {
        let f = fixture();
        assert_eq!(
            verify(&f.statement, &f.expected(), None),
            Err(AttestationError::NotActivated)
        );
        // Guessing the secret does not help: the extraData is bound to the real one.
        let guessed = Activation {
            secret: b"a guess".to_vec(),
            ..f.activation.clone()
        };
        assert_eq!(
            verify(&f.statement, &f.expected(), Some(&guessed)),
            Err(AttestationError::NotBound)
        );
    }

    #[test]
    fn forgeries_are_each_refused_for_their_reason() {
        let f = fixture();
        let act = Some(&f.activation);
        let mut forged = f.statement.clone();
        let last = forged.transport.signature.len() - 1;
        forged.transport.signature[last] ^= 1;
        assert_eq!(
            verify(&forged, &f.expected(), act),
            Err(AttestationError::BadSignature)
        );

        let other = fixture();
        let wrong_tk = ExpectedKeys {
            transport_key: &other.parts,
            ..f.expected()
        };
        assert_eq!(
            verify(&f.statement, &wrong_tk, act),
            Err(AttestationError::KeyMismatch)
        );
        let wrong_dk = ExpectedKeys {
            device_modulus: &other.device_modulus,
            ..f.expected()
        };
        assert_eq!(
            verify(&f.statement, &wrong_dk, act),
            Err(AttestationError::DeviceKeyMismatch)
        );

        let mut swapped = f.statement.clone();
        swapped.transport.key_public = other.statement.transport.key_public.clone();
        assert_eq!(
            verify(&swapped, &f.expected(), act),
            Err(AttestationError::NameMismatch)
        );

        let other_csr = ExpectedKeys {
            csr_der: b"another CSR",
            ..f.expected()
        };
        assert_eq!(
            verify(&f.statement, &other_csr, act),
            Err(AttestationError::NotBound)
        );

        let mut unrestricted = f.statement.clone();
        unrestricted.ak_public = rsa_public(
            attr::FIXED_TPM | attr::SIGN,
            &[0x00, 0x14, 0x00, 0x0B],
            &f.ak.n().to_bytes_be(),
        );
        assert!(matches!(
            verify(&unrestricted, &f.expected(), act),
            Err(AttestationError::Attributes { .. })
        ));

        // A device key that could leave the TPM (no fixedTPM) is not attested.
        let mut exportable = f.statement.clone();
        exportable.device = certified(
            &f.ak,
            rsa_public(
                attr::SIGN | attr::SENSITIVE_DATA_ORIGIN,
                &[0x00, 0x14, 0x00, 0x0B],
                &f.device_modulus,
            ),
            &qualifying_data(&f.activation.secret, &f.csr),
        );
        assert!(matches!(
            verify(&exportable, &f.expected(), act),
            Err(AttestationError::Attributes {
                what: "device key",
                ..
            })
        ));
    }

    #[test]
    fn assess_follows_the_tenant_policy() {
        let f = fixture();
        let b64 = base64::engine::general_purpose::STANDARD.encode(f.statement.encode().unwrap());
        let act = Some(&f.activation);
        assert!(
            assess(Some(&b64), &f.expected(), act, true)
                .unwrap()
                .device_key_attested
        );
        assert_eq!(ak_name(&b64), Some(name_of(&f.statement.ak_public)));
        assert_eq!(
            assess(None, &f.expected(), act, true),
            Err(AttestationError::Missing)
        );
        assert_eq!(
            assess(None, &f.expected(), act, false),
            Ok(DeviceAttestation::default())
        );
        assert_eq!(
            assess(Some(&b64), &f.expected(), None, false),
            Ok(DeviceAttestation::default())
        );
        assert_eq!(
            assess(Some(&b64), &f.expected(), None, true),
            Err(AttestationError::NotActivated)
        );
        assert_eq!(
            assess(Some("!!"), &f.expected(), act, true),
            Err(AttestationError::Base64)
        );
    }

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_present_certification_that_fails_is_logged_with_its_reason_when_not_required() {
        let f = fixture();
        let b64 = base64::engine::general_purpose::STANDARD.encode(f.statement.encode().unwrap());
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let other_csr = ExpectedKeys {
            csr_der: b"other",
            ..f.expected()
        };
        let outcome = tracing::subscriber::with_default(subscriber, || {
            assess(Some(&b64), &other_csr, Some(&f.activation), false)
        });
        assert_eq!(outcome, Ok(DeviceAttestation::default()));
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("WARN"), "{log}");
        assert!(log.contains("not attested"), "{log}");
        assert!(
            log.contains(&AttestationError::NotBound.to_string()),
            "{log}"
        );
    }
}
