//! Certificate authorities: the tenant's MS-Organization-Access CA that issues device
//! certificates, and the emulator's own TLS CA and server certificate.
//!
//! All keys are RSA-2048 and live in SQLite, created on first need, so that certificates issued
//! before a restart still chain to the same CA.
//!
//! Device certificate extensions (wire-facts.md §9): the GUID-valued ones (device id
//! `…284.2`, user object id `…284.3`, tenant id `…284.5`) carry the 16 GUID bytes in
//! Windows' mixed-endian order as the raw extension value, as Windows reads them back into a
//! `System.Guid`; the join type (`…284.7`) carries the decimal join type as ASCII ("0", "4").

use crate::db::{self, StoredKey};
use crate::error::InternalError;
use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePrivateKey;
use rsa::RsaPrivateKey;
use rusqlite::Connection;
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::{Duration, SystemTime};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

/// Size of every key the emulator creates.
pub const RSA_BITS: usize = 2048;
/// Device certificates are backdated to tolerate clock skew between device and service.
const BACKDATE: Duration = Duration::from_secs(10 * 60);
const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
const TLS_CA_NAME: &str = "tls";

/// A CA's private key and certificate, ready to sign.
pub struct CertificateAuthority {
    pub key: RsaPrivateKey,
    pub cert: Certificate,
}

/// What goes into a device certificate besides its public key.
pub struct DeviceCertificateRequest<'a> {
    pub device_id: uuid::Uuid,
    pub user_object_id: uuid::Uuid,
    pub tenant_id: uuid::Uuid,
    pub join_type: u32,
    pub public_key: &'a SubjectPublicKeyInfoOwned,
}

fn crypto(what: &str) -> impl Fn(String) -> InternalError + '_ {
    move |e| InternalError::Crypto(format!("{what}: {e}"))
}

pub fn generate_rsa_key() -> Result<RsaPrivateKey, InternalError> {
    RsaPrivateKey::new(&mut rand::thread_rng(), RSA_BITS)
        .map_err(|e| crypto("rsa keygen")(e.to_string()))
}

pub fn key_to_pkcs1_der(key: &RsaPrivateKey) -> Result<Vec<u8>, InternalError> {
    Ok(key
        .to_pkcs1_der()
        .map_err(|e| crypto("pkcs1 encode")(e.to_string()))?
        .as_bytes()
        .to_vec())
}

pub fn key_from_pkcs1_der(der: &[u8]) -> Result<RsaPrivateKey, InternalError> {
    RsaPrivateKey::from_pkcs1_der(der).map_err(|e| crypto("pkcs1 decode")(e.to_string()))
}

/// A random positive 128-bit serial number.
fn random_serial() -> Result<SerialNumber, InternalError> {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::new(&bytes).map_err(|e| crypto("serial")(e.to_string()))
}

fn validity(backdate: Duration, lifetime: Duration) -> Result<Validity, InternalError> {
    let now = SystemTime::now();
    let to_time = |t: SystemTime| Time::try_from(t).map_err(|e| crypto("validity")(e.to_string()));
    Ok(Validity {
        not_before: to_time(now - backdate)?,
        not_after: to_time(now + lifetime)?,
    })
}

fn spki_of(key: &RsaPrivateKey) -> Result<SubjectPublicKeyInfoOwned, InternalError> {
    SubjectPublicKeyInfoOwned::from_key(key.to_public_key())
        .map_err(|e| crypto("spki")(e.to_string()))
}

fn parse_name(text: &str) -> Result<Name, InternalError> {
    Name::from_str(text).map_err(|e| crypto("name")(e.to_string()))
}

/// A self-signed CA (or key-holder) certificate.
pub fn self_signed(key: &RsaPrivateKey, subject: &str) -> Result<Certificate, InternalError> {
    let signer = SigningKey::<Sha256>::new(key.clone());
    let builder = CertificateBuilder::new(
        Profile::Root,
        random_serial()?,
        validity(BACKDATE, TEN_YEARS)?,
        parse_name(subject)?,
        spki_of(key)?,
        &signer,
    )
    .map_err(|e| crypto("certificate builder")(e.to_string()))?;
    builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| crypto("certificate sign")(e.to_string()))
}

fn load_authority(stored: &StoredKey) -> Result<CertificateAuthority, InternalError> {
    Ok(CertificateAuthority {
        key: key_from_pkcs1_der(&stored.private_pkcs1_der)?,
        cert: Certificate::from_der(&stored.cert_der)
            .map_err(|e| crypto("CA certificate")(e.to_string()))?,
    })
}

/// Load the CA called `name`, or create it with `subject` and store it.
pub fn load_or_create_authority(
    conn: &Connection,
    name: &str,
    subject: &str,
) -> Result<CertificateAuthority, InternalError> {
    if let Some(stored) = db::certificate_authority(conn, name)? {
        return load_authority(&stored);
    }
    let key = generate_rsa_key()?;
    let cert = self_signed(&key, subject)?;
    let stored = db::insert_certificate_authority(
        conn,
        &StoredKey {
            name: name.to_string(),
            private_pkcs1_der: key_to_pkcs1_der(&key)?,
            cert_der: cert
                .to_der()
                .map_err(|e| crypto("CA encode")(e.to_string()))?,
        },
    )?;
    load_authority(&stored)
}

/// Issuer name of a tenant's device CA: one multi-valued RDN as the real service uses
/// (`DC=net + DC=windows + CN=MS-Organization-Access + OU=<guid>`, seed 001).
pub fn tenant_ca_subject(ou: &uuid::Uuid) -> String {
    format!(
        "DC=net+DC=windows+CN={}+OU={}",
        cxh_wire::consts::DEVICE_CA_CN,
        ou
    )
}

/// The tenant's MS-Organization-Access CA, created on first need.
pub fn tenant_ca(
    conn: &Connection,
    tenant_id: &str,
) -> Result<CertificateAuthority, InternalError> {
    // The OU GUID is tenant-specific but not the tenant id itself, as in the real service.
    let ou = uuid::Uuid::new_v4();
    load_or_create_authority(
        conn,
        &format!("tenant:{tenant_id}"),
        &tenant_ca_subject(&ou),
    )
}

/// Raw-bytes value of a private certificate extension.
struct RawExtension {
    oid: der::oid::ObjectIdentifier,
    value: Vec<u8>,
}

impl RawExtension {
    fn guid(oid: &str, guid: &uuid::Uuid) -> Result<Self, InternalError> {
        Self::new(oid, guid.to_bytes_le().to_vec())
    }

    fn new(oid: &str, value: Vec<u8>) -> Result<Self, InternalError> {
        let oid = der::oid::ObjectIdentifier::new(oid).map_err(|e| crypto("oid")(e.to_string()))?;
        Ok(RawExtension { oid, value })
    }

    fn to_extension(&self) -> Result<x509_cert::ext::Extension, InternalError> {
        Ok(x509_cert::ext::Extension {
            extn_id: self.oid,
            critical: false,
            extn_value: OctetString::new(self.value.clone())
                .map_err(|e| crypto("extension")(e.to_string()))?,
        })
    }
}

fn device_extensions(
    request: &DeviceCertificateRequest<'_>,
) -> Result<Vec<RawExtension>, InternalError> {
    use cxh_wire::consts::oid;
    Ok(vec![
        RawExtension::guid(oid::DEVICE_ID, &request.device_id)?,
        RawExtension::guid(oid::USER_OBJECT_ID, &request.user_object_id)?,
        RawExtension::guid(oid::TENANT_ID, &request.tenant_id)?,
        RawExtension::new(oid::JOIN_TYPE, request.join_type.to_string().into_bytes())?,
    ])
}

/// Issue a device certificate `CN=<deviceId>` for the CSR's public key.
pub fn issue_device_certificate(
    ca: &CertificateAuthority,
    request: &DeviceCertificateRequest<'_>,
) -> Result<Certificate, InternalError> {
    let mut cert = issue_client_auth_leaf(
        ca,
        &request.device_id.to_string(),
        request.public_key,
        TEN_YEARS,
    )?;
    let signer = SigningKey::<Sha256>::new(ca.key.clone());
    // The private extensions have runtime OIDs, which the builder's typed API cannot take;
    // append them and re-sign the TBS so the signature covers them.
    append_extensions_and_resign(&mut cert, &device_extensions(request)?, &signer)?;
    Ok(cert)
}

/// A `CN=<subject_cn>` client-authentication leaf (digitalSignature, keyEncipherment,
/// clientAuth) for `public_key`, signed by `ca`: the shape of both the device certificate
/// and the MDM management certificate.
fn issue_client_auth_leaf(
    ca: &CertificateAuthority,
    subject_cn: &str,
    public_key: &SubjectPublicKeyInfoOwned,
    lifetime: Duration,
) -> Result<Certificate, InternalError> {
    let signer = SigningKey::<Sha256>::new(ca.key.clone());
    let mut builder = CertificateBuilder::new(
        Profile::Manual {
            issuer: Some(ca.cert.tbs_certificate.subject.clone()),
        },
        random_serial()?,
        validity(BACKDATE, lifetime)?,
        parse_name(&format!("CN={subject_cn}"))?,
        public_key.clone(),
        &signer,
    )
    .map_err(|e| crypto("certificate builder")(e.to_string()))?;
    let add = |e: x509_cert::builder::Error| crypto("extension")(e.to_string());
    builder
        .add_extension(&KeyUsage(
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        ))
        .map_err(add)?;
    builder
        .add_extension(&ExtendedKeyUsage(vec![const_oid_client_auth()]))
        .map_err(add)?;
    builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| crypto("certificate sign")(e.to_string()))
}

fn const_oid_client_auth() -> der::oid::ObjectIdentifier {
    der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2")
}

fn append_extensions_and_resign(
    cert: &mut Certificate,
    extra: &[RawExtension],
    signer: &SigningKey<Sha256>,
) -> Result<(), InternalError> {
    use signature::{SignatureEncoding, Signer};
    let extensions = cert.tbs_certificate.extensions.get_or_insert_with(Vec::new);
    for ext in extra {
        extensions.push(ext.to_extension()?);
    }
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| crypto("tbs encode")(e.to_string()))?;
    let signature = signer
        .try_sign(&tbs)
        .map_err(|e| crypto("certificate sign")(e.to_string()))?;
    cert.signature = der::asn1::BitString::from_bytes(&signature.to_bytes())
        .map_err(|e| crypto("signature bits")(e.to_string()))?;
    Ok(())
}

/// The emulator's TLS CA (stable across restarts, so clients keep trusting it).
pub fn tls_ca(conn: &Connection) -> Result<CertificateAuthority, InternalError> {
    load_or_create_authority(
        conn,
        TLS_CA_NAME,
        "CN=cxh-join tenant emulator TLS CA,O=cxh-join",
    )
}

/// A fresh TLS server certificate for loopback names, and its PKCS#8 DER key.
pub fn tls_server_certificate(
    ca: &CertificateAuthority,
) -> Result<(Certificate, Vec<u8>), InternalError> {
    let key = generate_rsa_key()?;
    let signer = SigningKey::<Sha256>::new(ca.key.clone());
    let mut builder = CertificateBuilder::new(
        Profile::Manual {
            issuer: Some(ca.cert.tbs_certificate.subject.clone()),
        },
        random_serial()?,
        validity(BACKDATE, Duration::from_secs(365 * 24 * 3600))?,
        parse_name("CN=localhost")?,
        spki_of(&key)?,
        &signer,
    )
    .map_err(|e| crypto("certificate builder")(e.to_string()))?;
    let add = |e: x509_cert::builder::Error| crypto("extension")(e.to_string());
    builder.add_extension(&loopback_names()?).map_err(add)?;
    builder
        .add_extension(&BasicConstraints {
            ca: false,
            path_len_constraint: None,
        })
        .map_err(add)?;
    builder
        .add_extension(&KeyUsage(
            KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        ))
        .map_err(add)?;
    builder
        .add_extension(&ExtendedKeyUsage(vec![
            der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1"),
        ]))
        .map_err(add)?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| crypto("certificate sign")(e.to_string()))?;
    let key_der = key
        .to_pkcs8_der()
        .map_err(|e| crypto("pkcs8 encode")(e.to_string()))?
        .as_bytes()
        .to_vec();
    Ok((cert, key_der))
}

fn loopback_names() -> Result<SubjectAltName, InternalError> {
    let ip = |addr: IpAddr| -> Result<GeneralName, InternalError> {
        let bytes = match addr {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        Ok(GeneralName::IpAddress(
            OctetString::new(bytes).map_err(|e| crypto("san")(e.to_string()))?,
        ))
    };
    Ok(SubjectAltName(vec![
        GeneralName::DnsName(
            Ia5String::new("localhost").map_err(|e| crypto("san")(e.to_string()))?,
        ),
        ip(IpAddr::V4(Ipv4Addr::LOCALHOST))?,
        ip(IpAddr::V6(Ipv6Addr::LOCALHOST))?,
    ]))
}

/// PEM of a certificate (for the CA file clients trust).
pub fn certificate_pem(cert: &Certificate) -> Result<String, InternalError> {
    use der::EncodePem;
    cert.to_pem(der::pem::LineEnding::LF)
        .map_err(|e| InternalError::Encoding(format!("pem: {e}")))
}

/// The tenant's MDM CA, which signs management certificates; created on first need.
pub fn mdm_ca(conn: &Connection, tenant_id: &str) -> Result<CertificateAuthority, InternalError> {
    load_or_create_authority(
        conn,
        &format!("mdm:{tenant_id}"),
        &format!("CN=Emulated MDM Device CA,OU={tenant_id}"),
    )
}

/// Lifetime of an MDM management certificate (one year, renewed by the MDM client).
const MANAGEMENT_CERT_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Issue a client-authentication certificate `CN=<device id>` for an MDM enrollment.
pub fn issue_management_certificate(
    ca: &CertificateAuthority,
    device_id: &uuid::Uuid,
    public_key: &SubjectPublicKeyInfoOwned,
) -> Result<Certificate, InternalError> {
    issue_client_auth_leaf(
        ca,
        &device_id.to_string(),
        public_key,
        MANAGEMENT_CERT_LIFETIME,
    )
}
