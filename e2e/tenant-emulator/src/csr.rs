//! Checks of what a device sends to DRS: the PKCS#10 request and the transport key blob.
//!
//! DRS must refuse anything it would not issue for: the CSR must be RSA-2048, SHA256withRSA,
//! `CN=7E980AD9-…` and signed by the key it carries (proof of possession); the transport key
//! must be a public-only 2048-bit RSA1 blob.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use der::{Decode, Encode};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;
use sha2::Sha256;
use signature::Verifier;
use x509_cert::request::CertReq;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const REQUIRED_BITS: usize = 2048;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsrError {
    #[error("CertificateRequest.Type is {0:?}; only \"pkcs10\" is accepted")]
    NotPkcs10(String),
    #[error("CertificateRequest.Data is not valid base64")]
    Base64,
    #[error("CertificateRequest.Data is not a DER PKCS#10 request: {0}")]
    Der(String),
    #[error("the CSR is signed with {0}; only sha256WithRSAEncryption is accepted")]
    WrongSignatureAlgorithm(String),
    #[error("the CSR key is not an RSA key")]
    NotRsa,
    #[error("the CSR key is {0} bits; 2048 are required")]
    KeySize(usize),
    #[error("the CSR subject is {0:?}; expected CN={expected}", expected = cxh_wire::consts::CSR_SUBJECT_CN)]
    WrongSubject(String),
    #[error("the CSR signature does not verify with its own public key")]
    BadSignature,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransportKeyError {
    #[error("TransportKey is not valid base64")]
    Base64,
    #[error("{0}")]
    Blob(#[from] cxh_wire::transport_key::BlobError),
    #[error("the transport key is {0} bits; 2048 are required")]
    KeySize(u32),
}

/// Base64 as clients send it: standard alphabet, padded or not, maybe with line breaks.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| STANDARD_NO_PAD.decode(&compact))
        .ok()
}

/// Verify a registration CSR; on success, the public key to certify.
pub fn verify_device_csr(
    kind: &str,
    data_b64: &str,
) -> Result<SubjectPublicKeyInfoOwned, CsrError> {
    if !kind.eq_ignore_ascii_case("pkcs10") {
        return Err(CsrError::NotPkcs10(kind.to_string()));
    }
    let der = decode_base64(data_b64).ok_or(CsrError::Base64)?;
    let request = CertReq::from_der(&der).map_err(|e| CsrError::Der(e.to_string()))?;
    check_signature_algorithm(&request)?;
    check_subject(&request)?;
    let public_key = rsa_key_of(&request.info.public_key)?;
    check_proof_of_possession(&request, public_key)?;
    Ok(request.info.public_key)
}

/// Verify an MDM enrollment PKCS#10 (MS-WSTEP): any subject (the MDM names the certificate
/// itself), RSA-2048, SHA-256 with RSA, proof of possession.
pub fn verify_enrollment_csr(der: &[u8]) -> Result<SubjectPublicKeyInfoOwned, CsrError> {
    let request = CertReq::from_der(der).map_err(|e| CsrError::Der(e.to_string()))?;
    check_signature_algorithm(&request)?;
    let public_key = rsa_key_of(&request.info.public_key)?;
    check_proof_of_possession(&request, public_key)?;
    Ok(request.info.public_key)
}

fn check_signature_algorithm(request: &CertReq) -> Result<(), CsrError> {
    let oid = request.algorithm.oid.to_string();
    if oid != SHA256_WITH_RSA {
        return Err(CsrError::WrongSignatureAlgorithm(oid));
    }
    Ok(())
}

fn check_subject(request: &CertReq) -> Result<(), CsrError> {
    let subject = request.info.subject.to_string();
    if subject != format!("CN={}", cxh_wire::consts::CSR_SUBJECT_CN) {
        return Err(CsrError::WrongSubject(subject));
    }
    Ok(())
}

fn rsa_key_of(spki: &SubjectPublicKeyInfoOwned) -> Result<RsaPublicKey, CsrError> {
    if spki.algorithm.oid.to_string() != RSA_ENCRYPTION {
        return Err(CsrError::NotRsa);
    }
    let der = spki.to_der().map_err(|e| CsrError::Der(e.to_string()))?;
    let key = RsaPublicKey::from_public_key_der(&der).map_err(|_| CsrError::NotRsa)?;
    let bits = key.n().bits();
    if bits != REQUIRED_BITS {
        return Err(CsrError::KeySize(bits));
    }
    Ok(key)
}

fn check_proof_of_possession(request: &CertReq, key: RsaPublicKey) -> Result<(), CsrError> {
    let signed = request
        .info
        .to_der()
        .map_err(|e| CsrError::Der(e.to_string()))?;
    let signature_bytes = request.signature.as_bytes().ok_or(CsrError::BadSignature)?;
    let signature = Signature::try_from(signature_bytes).map_err(|_| CsrError::BadSignature)?;
    VerifyingKey::<Sha256>::new(key)
        .verify(&signed, &signature)
        .map_err(|_| CsrError::BadSignature)
}

/// Decode and check the transport key; returns the blob bytes to store.
pub fn verify_transport_key(blob_b64: &str) -> Result<Vec<u8>, TransportKeyError> {
    let blob = decode_base64(blob_b64).ok_or(TransportKeyError::Base64)?;
    let parts = cxh_wire::transport_key::decode(&blob)?;
    if parts.bit_length as usize != REQUIRED_BITS {
        return Err(TransportKeyError::KeySize(parts.bit_length));
    }
    Ok(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_pkcs10_and_garbage() {
        assert_eq!(
            verify_device_csr("pkcs7", "AAAA"),
            Err(CsrError::NotPkcs10("pkcs7".into()))
        );
        assert_eq!(verify_device_csr("pkcs10", "!!!"), Err(CsrError::Base64));
        assert!(matches!(
            verify_device_csr("pkcs10", "AAAA"),
            Err(CsrError::Der(_))
        ));
    }

    #[test]
    fn transport_key_must_be_2048_bits() {
        let blob = cxh_wire::transport_key::encode(&[1, 0, 1], &[0xC1; 128]);
        let b64 = STANDARD.encode(blob);
        assert_eq!(
            verify_transport_key(&b64),
            Err(TransportKeyError::KeySize(1024))
        );
    }
}
