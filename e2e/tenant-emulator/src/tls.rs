//! The emulator's HTTPS listener: a server certificate from its stable TLS CA, and device
//! certificate authentication (TLS client authentication) as DRS does it.
//!
//! The handshake asks for a client certificate but does not require one (the authority's
//! routes on the same listener are used without). [`DeviceCertificateVerifier`] checks only the
//! client's proof of possession (the CertificateVerify signature over the handshake, with the
//! certificate's key); the certificate itself reaches the routes as a [`ClientCertificate`]
//! extension (set per connection by `serve`), and the route that relies on it decides whether it
//! is exactly the certificate DRS issued to an enabled device (`routes::drs`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::error::InternalError;
use crate::{ca, AppState};

/// The DER client certificate of the connection a request came on (`None` without one).
#[derive(Debug, Clone)]
pub struct ClientCertificate(pub Option<Vec<u8>>);

/// Accept any client certificate whose holder proves its key; the routes judge the rest.
#[derive(Debug)]
pub struct DeviceCertificateVerifier {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for DeviceCertificateVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// rustls (ring provider) with a fresh server certificate from the emulator's stable TLS CA,
/// whose PEM is written to `<dir>/emulator-ca.pem`, asking for (not requiring) client
/// certificates.
pub fn server_config(
    state: &AppState,
    dir: &Path,
) -> Result<(Arc<rustls::ServerConfig>, PathBuf), InternalError> {
    let io = |e: io::Error| InternalError::Encoding(format!("{}: {e}", dir.display()));
    let tls = |e: rustls::Error| InternalError::Encoding(format!("TLS setup: {e}"));
    let authority = ca::tls_ca(&state.db())?;
    let (server_cert, server_key) = ca::tls_server_certificate(&authority)?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let pem_path = dir.join("emulator-ca.pem");
    std::fs::write(&pem_path, ca::certificate_pem(&authority.cert)?).map_err(io)?;
    let der = |c: &x509_cert::Certificate| -> Result<CertificateDer<'static>, InternalError> {
        Ok(der::Encode::to_der(c)
            .map_err(|e| InternalError::Encoding(e.to_string()))?
            .into())
    };
    let chain = vec![der(&server_cert)?, der(&authority.cert)?];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(DeviceCertificateVerifier {
        provider: provider.clone(),
    });
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(tls)?;
    Ok((Arc::new(config), pem_path))
}

/// The leaf certificate a TLS client presented on this connection, if any.
pub fn peer_certificate<I>(stream: &tokio_rustls::server::TlsStream<I>) -> ClientCertificate {
    ClientCertificate(
        stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|c| c.to_vec()),
    )
}
