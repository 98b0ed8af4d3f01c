//! The emulator's HTTPS listeners: a server certificate from its stable TLS CA, presented by
//! the authority's HTTPS listener and by every emulated AD FS (served over HTTPS only, like a
//! real one: clients keep only the https endpoints of its MEX), and device certificate
//! authentication (TLS client authentication) as DRS does it.
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

/// The emulator's HTTPS identity: a fresh server certificate (loopback names) from its stable
/// TLS CA, whose PEM is written to `<dir>/emulator-ca.pem` for clients to trust. Every HTTPS
/// listener (the authority and DRS, each emulated AD FS) presents it.
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
    provider: Arc<CryptoProvider>,
    /// Where the CA's PEM was written.
    pub ca_file: PathBuf,
}

impl TlsIdentity {
    /// Issue the server certificate and write the CA's PEM into `dir`.
    pub fn issue(state: &AppState, dir: &Path) -> Result<Self, InternalError> {
        let io = |e: io::Error| InternalError::Encoding(format!("{}: {e}", dir.display()));
        let authority = ca::tls_ca(&state.db())?;
        let (server_cert, server_key) = ca::tls_server_certificate(&authority)?;
        std::fs::create_dir_all(dir).map_err(io)?;
        let ca_file = dir.join("emulator-ca.pem");
        std::fs::write(&ca_file, ca::certificate_pem(&authority.cert)?).map_err(io)?;
        let der = |c: &x509_cert::Certificate| -> Result<CertificateDer<'static>, InternalError> {
            Ok(der::Encode::to_der(c)
                .map_err(|e| InternalError::Encoding(e.to_string()))?
                .into())
        };
        Ok(TlsIdentity {
            chain: vec![der(&server_cert)?, der(&authority.cert)?],
            key: server_key,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            ca_file,
        })
    }

    fn builder(
        &self,
    ) -> Result<rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier>, InternalError>
    {
        rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls_error)
    }

    fn key(&self) -> rustls::pki_types::PrivateKeyDer<'static> {
        rustls::pki_types::PrivateKeyDer::Pkcs8(self.key.clone().into())
    }

    /// The authority's and DRS's listener: asks for (does not require) a client certificate,
    /// which the device-certificate routes read.
    pub fn authority_config(&self) -> Result<Arc<rustls::ServerConfig>, InternalError> {
        let verifier = Arc::new(DeviceCertificateVerifier {
            provider: self.provider.clone(),
        });
        let config = self
            .builder()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key())
            .map_err(tls_error)?;
        Ok(Arc::new(config))
    }

    /// An emulated AD FS's listener: server authentication only (its sign-ins are passwords
    /// and codes, like AD FS's forms and `usernamemixed` endpoints).
    pub fn sts_config(&self) -> Result<Arc<rustls::ServerConfig>, InternalError> {
        let config = self
            .builder()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key())
            .map_err(tls_error)?;
        Ok(Arc::new(config))
    }
}

/// The authority's HTTPS configuration (see [`TlsIdentity::authority_config`]) and the path of
/// the CA PEM written into `dir`: what an in-process test server needs.
pub fn server_config(
    state: &AppState,
    dir: &Path,
) -> Result<(Arc<rustls::ServerConfig>, PathBuf), InternalError> {
    let identity = TlsIdentity::issue(state, dir)?;
    Ok((identity.authority_config()?, identity.ca_file))
}

fn tls_error(e: rustls::Error) -> InternalError {
    InternalError::Encoding(format!("TLS setup: {e}"))
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
