//! The authority's token signing key: RSA-2048, created on first start and kept in SQLite,
//! published as a JWKS at `/common/discovery/keys`.
//!
//! Like Entra, the key is published with a self-signed certificate (`x5c`), and both `kid`
//! and `x5t` are the base64url SHA-1 thumbprint of that certificate.

use crate::ca;
use crate::db::{self, StoredKey};
use crate::error::InternalError;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use cxh_wire::oidc::{Jwk, Jwks};
use der::Encode;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;
use rusqlite::Connection;
use sha1::{Digest, Sha1};

/// Subject of the signing key's certificate, as on the real service's keys.
const SIGNING_CERT_SUBJECT: &str = "CN=accounts.accesscontrol.windows.net";

/// The signing key with everything derived from it that requests need.
pub struct SigningKeys {
    pub kid: String,
    pub x5t: String,
    pub cert_der: Vec<u8>,
    pub public_key: RsaPublicKey,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
}

impl SigningKeys {
    /// Load the stored key or create, store and return a new one.
    pub fn load_or_create(conn: &Connection) -> Result<Self, InternalError> {
        if let Some(stored) = db::signing_key(conn)? {
            return Self::from_stored(&stored);
        }
        let key = ca::generate_rsa_key()?;
        let cert = ca::self_signed(&key, SIGNING_CERT_SUBJECT)?;
        let cert_der = cert
            .to_der()
            .map_err(|e| InternalError::Encoding(format!("signing cert: {e}")))?;
        let stored = StoredKey {
            name: thumbprint_b64url(&cert_der),
            private_pkcs1_der: ca::key_to_pkcs1_der(&key)?,
            cert_der,
        };
        db::insert_signing_key(conn, &stored, crate::tokens::now())?;
        tracing::info!(kid = %stored.name, "created the authority's token signing key");
        Self::from_stored(&stored)
    }

    fn from_stored(stored: &StoredKey) -> Result<Self, InternalError> {
        let private = ca::key_from_pkcs1_der(&stored.private_pkcs1_der)?;
        let public_key = private.to_public_key();
        let decoding_key = DecodingKey::from_rsa_raw_components(
            &public_key.n().to_bytes_be(),
            &public_key.e().to_bytes_be(),
        );
        Ok(SigningKeys {
            kid: stored.name.clone(),
            x5t: thumbprint_b64url(&stored.cert_der),
            cert_der: stored.cert_der.clone(),
            public_key,
            encoding_key: EncodingKey::from_rsa_der(&stored.private_pkcs1_der),
            decoding_key,
        })
    }

    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding_key
    }

    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding_key
    }

    /// The JWKS entry of this key.
    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "RSA".into(),
            use_: "sig".into(),
            kid: self.kid.clone(),
            x5t: Some(self.x5t.clone()),
            n: URL_SAFE_NO_PAD.encode(self.public_key.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(self.public_key.e().to_bytes_be()),
            x5c: vec![STANDARD.encode(&self.cert_der)],
            issuer: None,
        }
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![self.jwk()],
        }
    }
}

/// base64url (no padding) of the SHA-1 of a DER certificate: the JWT `x5t`.
pub fn thumbprint_b64url(cert_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha1::digest(cert_der))
}
