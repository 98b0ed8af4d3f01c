//! The TPM vendor roots DRS trusts, and the check of an endorsement key certificate against
//! them — as Entra trusts the TPM manufacturers' roots (Microsoft's TrustedTpm list) for key
//! attestation.
//!
//! The emulator is given a PEM bundle (`--tpm-root-ca`, repeatable): trust anchors and, like
//! the vendors' lists, their intermediate CAs. An EK certificate is accepted when it is
//! within its validity, its key is RSA-2048 (the EK whose certificate lives at NV index
//! 0x01C00002), and each certificate up to a self-signed one of the bundle is signed
//! (sha256WithRSAEncryption) by the next, every issuer being a CA of the bundle.

use der::{Decode, DecodePem, Encode};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;
use sha2::Sha256;
use signature::Verifier;
use x509_cert::der::referenced::OwnedToRef;
use x509_cert::Certificate;

const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";
/// Longest chain followed: EK, a few intermediates, the root.
const MAX_DEPTH: usize = 5;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EkTrustError {
    #[error("the EK certificate is not DER X.509: {0}")]
    Der(String),
    #[error("the EK certificate is not valid now (valid {not_before} to {not_after})")]
    Expired {
        not_before: String,
        not_after: String,
    },
    #[error("the EK certificate's key is not an RSA-2048 key")]
    NotRsa2048,
    #[error("no trusted TPM CA issued {0:?}")]
    UntrustedIssuer(String),
    #[error("{0:?} is signed with {1}; only sha256WithRSAEncryption is accepted")]
    Algorithm(String, String),
    #[error("the chain is longer than {MAX_DEPTH} certificates")]
    TooDeep,
    #[error("the emulator trusts no TPM root (start it with --tpm-root-ca)")]
    NoRoots,
}

/// TPM manufacturers' CAs (trust anchors and intermediates) DRS accepts EK certificates from.
#[derive(Debug, Clone, Default)]
pub struct TpmRoots {
    certs: Vec<Certificate>,
}

/// An EK certificate that chains to a trusted root.
#[derive(Debug, Clone)]
pub struct TrustedEk {
    pub public: RsaPublicKey,
    /// Leaf first, trust anchor last.
    pub chain: Vec<String>,
}

impl TpmRoots {
    /// Parse PEM bundles (each may hold several certificates).
    pub fn from_pem_bundles<'a>(
        bundles: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, EkTrustError> {
        let mut certs = Vec::new();
        for bundle in bundles {
            for block in bundle.split_inclusive("-----END CERTIFICATE-----") {
                let Some(start) = block.find("-----BEGIN CERTIFICATE-----") else {
                    continue;
                };
                let cert = Certificate::from_pem(&block.as_bytes()[start..])
                    .map_err(|e| EkTrustError::Der(e.to_string()))?;
                certs.push(cert);
            }
        }
        Ok(TpmRoots { certs })
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Check an EK certificate (DER) at `now` (Unix seconds).
    pub fn verify_ek(&self, ek_der: &[u8], now: i64) -> Result<TrustedEk, EkTrustError> {
        if self.certs.is_empty() {
            return Err(EkTrustError::NoRoots);
        }
        let leaf = Certificate::from_der(ek_der).map_err(|e| EkTrustError::Der(e.to_string()))?;
        check_validity(&leaf, now)?;
        let public = rsa_key(&leaf).ok_or(EkTrustError::NotRsa2048)?;
        if public.size() * 8 != 2048 {
            return Err(EkTrustError::NotRsa2048);
        }
        let mut chain = vec![format!(
            "EK certificate serial {} issued by {}",
            hex::encode(leaf.tbs_certificate.serial_number.as_bytes()),
            leaf.tbs_certificate.issuer
        )];
        let mut current = leaf;
        for _ in 0..MAX_DEPTH {
            let issuer = self.issuer_of(&current)?;
            check_validity(issuer, now)?;
            chain.push(issuer.tbs_certificate.subject.to_string());
            if issuer.tbs_certificate.subject == issuer.tbs_certificate.issuer {
                return Ok(TrustedEk { public, chain });
            }
            current = issuer.clone();
        }
        Err(EkTrustError::TooDeep)
    }

    /// The CA of the bundle whose subject is `cert`'s issuer and whose key signed it.
    fn issuer_of(&self, cert: &Certificate) -> Result<&Certificate, EkTrustError> {
        let issuer_name = &cert.tbs_certificate.issuer;
        let algorithm = cert.signature_algorithm.oid.to_string();
        if algorithm != SHA256_WITH_RSA {
            return Err(EkTrustError::Algorithm(issuer_name.to_string(), algorithm));
        }
        let tbs = cert
            .tbs_certificate
            .to_der()
            .map_err(|e| EkTrustError::Der(e.to_string()))?;
        let signature = cert.signature.raw_bytes();
        self.certs
            .iter()
            .filter(|ca| &ca.tbs_certificate.subject == issuer_name && is_ca(ca))
            .find(|ca| {
                let Some(key) = rsa_key(ca) else {
                    return false;
                };
                let Ok(signature) = Signature::try_from(signature) else {
                    return false;
                };
                VerifyingKey::<Sha256>::new(key)
                    .verify(&tbs, &signature)
                    .is_ok()
            })
            .ok_or_else(|| EkTrustError::UntrustedIssuer(issuer_name.to_string()))
    }
}

fn rsa_key(cert: &Certificate) -> Option<RsaPublicKey> {
    RsaPublicKey::try_from(cert.tbs_certificate.subject_public_key_info.owned_to_ref()).ok()
}

/// basicConstraints cA = TRUE.
fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id.to_string() == BASIC_CONSTRAINTS)
        .any(|e| {
            x509_cert::ext::pkix::BasicConstraints::from_der(e.extn_value.as_bytes())
                .map(|bc| bc.ca)
                .unwrap_or(false)
        })
}

fn check_validity(cert: &Certificate, now: i64) -> Result<(), EkTrustError> {
    let validity = &cert.tbs_certificate.validity;
    let not_before = validity.not_before.to_unix_duration().as_secs() as i64;
    let not_after = validity.not_after.to_unix_duration().as_secs() as i64;
    if now < not_before || now > not_after {
        return Err(EkTrustError::Expired {
            not_before: validity.not_before.to_string(),
            not_after: validity.not_after.to_string(),
        });
    }
    Ok(())
}
