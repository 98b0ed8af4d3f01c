//! Device authentication: HTTPS to DRS with the device certificate as TLS client certificate,
//! its key staying where it lives (in the TPM: each handshake signature is a TPM2_Sign).
//!
//! Windows authenticates device calls to DRS (deleting the device on leave, reading its
//! object) with the device certificate. rustls signs the handshake through [`ProviderKey`].
//! The connection is TLS 1.2: the device key is an RSASSA-PKCS1-v1_5 key (its TPM scheme is
//! fixed to RSASSA-SHA256, as the CSR needs), and TLS 1.3 only allows RSA-PSS for client
//! signatures; TLS 1.2 allows `rsa_pkcs1_sha256`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use sha2::{Digest, Sha256};
use thiserror::Error;
use url::Url;

use crate::keys::{provider_for_name_at, KeyPurpose, ProviderKey};
use crate::registration::{refusal, RegistrationError};
use crate::store::{JoinInfo, MachineStore, CERT_DER_FILE, DEVICE_KEY_FILE};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Error)]
pub enum DeviceAuthError {
    #[error("the DRS at {0} is not HTTPS: the device certificate can only authenticate over TLS")]
    NotHttps(String),
    #[error("the device key or certificate cannot be used: {0}")]
    Credentials(String),
    #[error("cannot set up TLS with the device certificate: {0}")]
    Tls(String),
    #[error("{0}")]
    Drs(#[from] RegistrationError),
}

/// The device's key behind rustls' signing interface.
#[derive(Debug)]
struct ProviderSigningKey(Arc<dyn ProviderKey>);

impl SigningKey for ProviderSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::RSA_PKCS1_SHA256)
            .then(|| Box::new(ProviderSigner(self.0.clone())) as Box<dyn Signer>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RSA
    }
}

#[derive(Debug)]
struct ProviderSigner(Arc<dyn ProviderKey>);

impl Signer for ProviderSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.0
            .sign_sha256_digest(&Sha256::digest(message))
            .map_err(|e| rustls::Error::General(e.to_string()))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::RSA_PKCS1_SHA256
    }
}

/// Always the device certificate.
#[derive(Debug)]
struct DeviceCertificate(Arc<CertifiedKey>);

impl ResolvesClientCert for DeviceCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// An HTTPS client presenting `certificate_der` with `key`, trusting the web PKI roots and
/// `ca_file`.
pub fn device_client(
    ca_file: Option<&Path>,
    certificate_der: Vec<u8>,
    key: Arc<dyn ProviderKey>,
) -> Result<reqwest::Client, DeviceAuthError> {
    let tls = |e: rustls::Error| DeviceAuthError::Tls(e.to_string());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|e| DeviceAuthError::Tls(format!("{}: {e}", path.display())))?;
        for certificate in certificates {
            let certificate = certificate
                .map_err(|e| DeviceAuthError::Tls(format!("{}: {e}", path.display())))?;
            roots.add(certificate).map_err(tls)?;
        }
    }
    let certified = CertifiedKey::new(
        vec![CertificateDer::from(certificate_der)],
        Arc::new(ProviderSigningKey(key)),
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(tls)?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(DeviceCertificate(Arc::new(certified))));
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("cxh-host-bridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeviceAuthError::Tls(e.to_string()))
}

/// The joined device's key and certificate, from the machine store.
pub fn device_credentials(
    store: &MachineStore,
    info: &JoinInfo,
    tcti: Option<&str>,
) -> Result<(Vec<u8>, Arc<dyn ProviderKey>), DeviceAuthError> {
    let bad = |e: String| DeviceAuthError::Credentials(e);
    let tcti = tcti.or(info.key.tpm_tcti.as_deref());
    let provider =
        provider_for_name_at(&info.key.provider, tcti).map_err(|e| bad(e.to_string()))?;
    let blob = store
        .read_join_file(DEVICE_KEY_FILE)
        .map_err(|e| bad(e.to_string()))?;
    let key = provider
        .load_key(KeyPurpose::Device, &blob)
        .map_err(|e| bad(e.to_string()))?;
    let certificate = store
        .read_join_file(CERT_DER_FILE)
        .map_err(|e| bad(e.to_string()))?;
    Ok((certificate, Arc::from(key)))
}

/// `{drs}/EnrollmentServer/device/{id}`, which must be HTTPS.
pub fn device_object_url(drs: &Url, device_id: &str) -> Result<Url, DeviceAuthError> {
    if drs.scheme() != "https" {
        return Err(DeviceAuthError::NotHttps(drs.to_string()));
    }
    let url = crate::config::endpoint(drs, &format!("EnrollmentServer/device/{device_id}"));
    Url::parse(&url).map_err(|_| DeviceAuthError::Drs(RegistrationError::BadEndpoint(url)))
}

/// DELETE the device object, authenticated by the device certificate.
pub async fn delete_with_certificate(
    client: &reqwest::Client,
    drs: &Url,
    device_id: &str,
) -> Result<(), DeviceAuthError> {
    let url = device_object_url(drs, device_id)?;
    crate::registration::delete_device(client, url, None)
        .await
        .map_err(DeviceAuthError::from)
}

/// What the tenant says about the device, asked with its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantView {
    Enabled,
    /// Deleted, disabled, or the certificate is not the device's any more.
    Refused(String),
}

/// `GET {drs}/EnrollmentServer/device/{id}` with the device certificate.
pub async fn ask_tenant(
    client: &reqwest::Client,
    drs: &Url,
    device_id: &str,
) -> Result<TenantView, DeviceAuthError> {
    let url = device_object_url(drs, device_id)?;
    let unreachable = |cause: crate::http::NetworkError| {
        DeviceAuthError::Drs(RegistrationError::Unreachable {
            url: url.to_string(),
            cause,
        })
    };
    let response = crate::http::send(
        client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json"),
    )
    .await
    .map_err(unreachable)?;
    let status = response.status();
    let body = crate::http::body(response).await.map_err(unreachable)?;
    if status.is_success() {
        let enabled = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("Enabled").and_then(|e| e.as_bool()))
            .unwrap_or(false);
        return Ok(if enabled {
            TenantView::Enabled
        } else {
            TenantView::Refused("Device is either disabled or deleted.".into())
        });
    }
    match status.as_u16() {
        404 => Ok(TenantView::Refused(
            "The tenant has no such device (deleted there).".into(),
        )),
        401 | 403 => Ok(TenantView::Refused(format!(
            "The tenant refused the device certificate: {}",
            refusal(status.as_u16(), &body)
        ))),
        code => Err(DeviceAuthError::Drs(refusal(code, &body))),
    }
}
