//! The device's PKCS#10 certificate request (MS-DVRE): subject CN=7E980AD9-…, RSA-2048,
//! sha256WithRSAEncryption, signed by the device key through its [`KeyProvider`](crate::keys).
//!
//! x509-cert's `RequestBuilder` wants a `signature::Keypair + Signer`; [`ProviderSigner`]
//! adapts a [`ProviderKey`] to those traits so the private key never leaves its provider.

use std::str::FromStr;

use cxh_wire::consts::CSR_SUBJECT_CN;
use der::asn1::ObjectIdentifier;
use der::{Any, Encode};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use signature::{Keypair, Signer};
use spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier};
use thiserror::Error;
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::name::Name;

use crate::keys::ProviderKey;

/// sha256WithRSAEncryption (RFC 4055).
pub const SHA256_WITH_RSA_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

#[derive(Debug, Error)]
pub enum CsrError {
    #[error("the CSR subject is invalid: {0}")]
    Subject(String),
    #[error("building or signing the CSR failed: {0}")]
    Build(String),
    #[error("encoding the CSR failed: {0}")]
    Encode(String),
}

/// Adapts a provider-held key to the `signature` traits x509-cert's builders expect.
pub struct ProviderSigner<'k> {
    key: &'k dyn ProviderKey,
    verifying_key: VerifyingKey<Sha256>,
}

impl<'k> ProviderSigner<'k> {
    pub fn new(key: &'k dyn ProviderKey) -> Self {
        let verifying_key = VerifyingKey::<Sha256>::new(key.public_key().clone());
        ProviderSigner { key, verifying_key }
    }
}

impl Keypair for ProviderSigner<'_> {
    type VerifyingKey = VerifyingKey<Sha256>;

    fn verifying_key(&self) -> Self::VerifyingKey {
        self.verifying_key.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for ProviderSigner<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        // RFC 4055 requires the NULL parameter for sha256WithRSAEncryption.
        Ok(AlgorithmIdentifierOwned {
            oid: SHA256_WITH_RSA_OID,
            parameters: Some(Any::null()),
        })
    }
}

impl Signer<Signature> for ProviderSigner<'_> {
    fn try_sign(&self, message: &[u8]) -> Result<Signature, signature::Error> {
        let digest = Sha256::digest(message);
        let raw = self
            .key
            .sign_sha256_digest(&digest)
            .map_err(signature::Error::from_source)?;
        Signature::try_from(raw.as_slice())
    }
}

/// Build the DER-encoded PKCS#10 request Windows sends with a join.
pub fn build_device_csr(device_key: &dyn ProviderKey) -> Result<Vec<u8>, CsrError> {
    let subject = Name::from_str(&format!("CN={CSR_SUBJECT_CN}"))
        .map_err(|e| CsrError::Subject(e.to_string()))?;
    let signer = ProviderSigner::new(device_key);
    let builder =
        RequestBuilder::new(subject, &signer).map_err(|e| CsrError::Build(e.to_string()))?;
    let request = builder
        .build::<Signature>()
        .map_err(|e| CsrError::Build(e.to_string()))?;
    request
        .to_der()
        .map_err(|e| CsrError::Encode(e.to_string()))
}
