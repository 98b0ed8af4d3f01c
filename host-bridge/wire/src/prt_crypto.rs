//! The PRT protocol's cryptography (feature `crypto`): the SP800-108 key derivation from the
//! session key, HS256 over JWS segments, the `dir`/A256GCM encrypted responses and the
//! `session_key_jwe` envelope. Shapes are in [`crate::prt`].
//!
//! KDF (SP800-108 counter mode, HMAC-SHA256, one 32-byte block):
//! `derived = HMAC-SHA256(session_key, 00000001 || "AzureAD-SecureConversation" || 00 || context || 00000100)`,
//! with `context = ctx` (KDF v1) or `context = SHA-256(ctx || payload bytes)` (KDF v2, header
//! `kdf_ver: 2`; the payload bytes are the JSON the JWS payload segment encodes). The fixed input
//! is public ([`kdf_fixed_input`]) so that a TPM holding the session key as an HMAC key computes
//! the derived key itself ([`derive_key`] is the software form, used by the emulator and tests).
//!
//! Encrypted responses: compact JWE `header..iv.ciphertext.tag` (no encrypted key: `alg: dir`),
//! AES-256-GCM with the key derived (KDF v1) from the header's `ctx`, the protected header's
//! base64url text as additional data (RFC 7516 §5.1). We produce and accept only GCM with a
//! 12-byte IV: some clients also decrypt AES-CBC when the IV has 16 bytes, but CBC here carries no
//! integrity, so such a response is refused ([`PrtCryptoError::UnsupportedAlgorithm`]).

use crate::prt::{EncryptedResponseHeader, SessionKeyJweHeader, KDF_LABEL, SESSION_KID};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// A 32-byte key (session key or derived key), wiped on drop.
pub type Key32 = Zeroizing<[u8; 32]>;

/// Why a PRT structure was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PrtCryptoError {
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the encrypted response does not decrypt with this key (wrong key or tampered)")]
    DecryptFailed,
    #[error("a key must be 32 bytes")]
    KeyLength,
}

/// Which context the KDF takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdfVersion {
    /// context = ctx.
    V1,
    /// context = SHA-256(ctx || payload bytes): binds the derived key to the signed payload.
    V2,
}

impl KdfVersion {
    /// From a JOSE header's `kdf_ver` (absent: v1).
    pub fn from_header(kdf_ver: Option<u32>) -> Result<Self, PrtCryptoError> {
        match kdf_ver {
            None | Some(1) => Ok(KdfVersion::V1),
            Some(2) => Ok(KdfVersion::V2),
            Some(other) => Err(PrtCryptoError::UnsupportedAlgorithm(format!(
                "kdf_ver {other}"
            ))),
        }
    }

    /// The header value to write.
    pub fn header_value(self) -> Option<u32> {
        match self {
            KdfVersion::V1 => None,
            KdfVersion::V2 => Some(2),
        }
    }
}

/// The KDF's fixed input for one 32-byte block: `00000001 || label || 00 || context || 00000100`.
pub fn kdf_fixed_input(context: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(4 + KDF_LABEL.len() + 1 + context.len() + 4);
    input.extend_from_slice(&1u32.to_be_bytes());
    input.extend_from_slice(KDF_LABEL);
    input.push(0);
    input.extend_from_slice(context);
    input.extend_from_slice(&256u32.to_be_bytes());
    input
}

/// The KDF context for `version`: `ctx` itself (v1) or SHA-256(ctx || payload) (v2).
pub fn kdf_context(version: KdfVersion, ctx: &[u8], payload: &[u8]) -> Vec<u8> {
    match version {
        KdfVersion::V1 => ctx.to_vec(),
        KdfVersion::V2 => Sha256::new()
            .chain_update(ctx)
            .chain_update(payload)
            .finalize()
            .to_vec(),
    }
}

/// The derived key, computed in software from a session key held in memory.
pub fn derive_key(session_key: &[u8], context: &[u8]) -> Key32 {
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(session_key).expect("HMAC takes any key length");
    mac.update(&kdf_fixed_input(context));
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// base64url without padding (JOSE).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url, tolerating padding (some clients pad).
pub fn b64url_decode(text: &str) -> Result<Vec<u8>, PrtCryptoError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| PrtCryptoError::Malformed("base64url"))
}

/// Decode the header's `ctx`: standard base64 as Windows writes it (base64url read too).
pub fn decode_ctx(ctx: &str) -> Result<Vec<u8>, PrtCryptoError> {
    let bytes = STANDARD
        .decode(ctx)
        .or_else(|_| b64url_decode(ctx))
        .map_err(|_| PrtCryptoError::Malformed("ctx"))?;
    // Windows sends 24 bytes, some clients 32: anything from 16 to 64 is a sensible context.
    if !(16..=64).contains(&bytes.len()) {
        return Err(PrtCryptoError::Malformed("ctx length"));
    }
    Ok(bytes)
}

/// Encode a `ctx` for a header (standard base64 with padding, as Windows does).
pub fn encode_ctx(ctx: &[u8]) -> String {
    STANDARD.encode(ctx)
}

/// The two first segments of a compact JWS, and the payload bytes they encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsSegments {
    pub header_b64: String,
    pub payload_b64: String,
    pub payload: Vec<u8>,
}

impl JwsSegments {
    /// Serialize header and payload (each once, so the v2 KDF hashes exactly what is sent).
    pub fn encode<H: Serialize, P: Serialize>(header: &H, payload: &P) -> Self {
        let header = serde_json::to_vec(header).expect("headers serialize");
        let payload = serde_json::to_vec(payload).expect("payloads serialize");
        JwsSegments {
            header_b64: b64url(&header),
            payload_b64: b64url(&payload),
            payload,
        }
    }

    /// `header.payload`, what the signature covers.
    pub fn signing_input(&self) -> String {
        format!("{}.{}", self.header_b64, self.payload_b64)
    }

    /// The compact JWS with `signature` appended.
    pub fn with_signature(&self, signature: &[u8]) -> String {
        format!("{}.{}", self.signing_input(), b64url(signature))
    }
}

/// A compact JWS taken apart (three segments), nothing verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedJws {
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    signing_input: String,
}

impl ParsedJws {
    pub fn parse(jws: &str) -> Result<Self, PrtCryptoError> {
        let mut parts = jws.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PrtCryptoError::Malformed("JWS (three segments)"));
        };
        Ok(ParsedJws {
            header: b64url_decode(h)?,
            payload: b64url_decode(p)?,
            signature: b64url_decode(s)?,
            signing_input: format!("{h}.{p}"),
        })
    }

    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// Check an HS256 signature with `key` (constant time).
    pub fn verify_hs256(&self, key: &[u8]) -> Result<(), PrtCryptoError> {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(key).map_err(|_| PrtCryptoError::KeyLength)?;
        mac.update(self.signing_input.as_bytes());
        mac.verify_slice(&self.signature)
            .map_err(|_| PrtCryptoError::BadSignature)
    }
}

/// HS256 (HMAC-SHA256) of a JWS signing input.
pub fn hs256(key: &[u8], signing_input: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    mac.finalize().into_bytes().into()
}

/// A compact JWE taken apart (five segments), nothing decrypted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedJwe {
    pub header_b64: String,
    pub header: Vec<u8>,
    pub encrypted_key: Vec<u8>,
    pub iv: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub tag: Vec<u8>,
}

impl ParsedJwe {
    pub fn parse(jwe: &str) -> Result<Self, PrtCryptoError> {
        let parts: Vec<&str> = jwe.split('.').collect();
        let [h, k, iv, c, t] = parts[..] else {
            return Err(PrtCryptoError::Malformed("JWE (five segments)"));
        };
        Ok(ParsedJwe {
            header_b64: h.to_string(),
            header: b64url_decode(h)?,
            encrypted_key: b64url_decode(k)?,
            iv: b64url_decode(iv)?,
            ciphertext: b64url_decode(c)?,
            tag: b64url_decode(t)?,
        })
    }

    /// AES-256-GCM decryption with the protected header as additional data.
    pub fn decrypt_gcm(&self, key: &[u8]) -> Result<Vec<u8>, PrtCryptoError> {
        if self.iv.len() != 12 || self.tag.len() != 16 {
            return Err(PrtCryptoError::UnsupportedAlgorithm(format!(
                "content encryption with a {}-byte IV (only A256GCM, 12-byte IV, is accepted)",
                self.iv.len()
            )));
        }
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| PrtCryptoError::KeyLength)?;
        let mut sealed = self.ciphertext.clone();
        sealed.extend_from_slice(&self.tag);
        cipher
            .decrypt(
                &Nonce::from(<[u8; 12]>::try_from(self.iv.as_slice()).expect("checked above")),
                Payload {
                    msg: &sealed,
                    aad: self.header_b64.as_bytes(),
                },
            )
            .map_err(|_| PrtCryptoError::DecryptFailed)
    }
}

/// AES-256-GCM with the protected header as additional data: `header_b64.<ek>.iv.ct.tag`.
fn seal_gcm(
    key: &[u8],
    header_b64: &str,
    encrypted_key: &[u8],
    iv: &[u8; 12],
    plaintext: &[u8],
) -> String {
    let cipher = Aes256Gcm::new_from_slice(key).expect("32-byte key");
    let sealed = cipher
        .encrypt(
            &Nonce::from(*iv),
            Payload {
                msg: plaintext,
                aad: header_b64.as_bytes(),
            },
        )
        .expect("AES-GCM encryption cannot fail for these sizes");
    let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
    format!(
        "{header_b64}.{}.{}.{}.{}",
        b64url(encrypted_key),
        b64url(iv),
        b64url(ciphertext),
        b64url(tag)
    )
}

/// The header of an encrypted response for `ctx`.
pub fn encrypted_response_header(ctx: &[u8]) -> EncryptedResponseHeader {
    EncryptedResponseHeader {
        alg: "dir".into(),
        enc: "A256GCM".into(),
        ctx: encode_ctx(ctx),
        kid: Some(SESSION_KID.into()),
    }
}

/// Encrypt a response with a key derived (KDF v1) from `session_key` and the fresh `ctx`.
pub fn encrypt_response(session_key: &[u8], ctx: &[u8], iv: &[u8; 12], plaintext: &[u8]) -> String {
    let header = encrypted_response_header(ctx);
    let header_b64 = b64url(&serde_json::to_vec(&header).expect("header serializes"));
    let key = derive_key(session_key, ctx);
    seal_gcm(key.as_ref(), &header_b64, &[], iv, plaintext)
}

/// Take an encrypted response apart: its header (for `ctx`) and the parsed JWE. The caller
/// derives the key from `ctx` (in the TPM, or with [`derive_key`]) and calls
/// [`ParsedJwe::decrypt_gcm`].
pub fn open_response(
    jwe: &str,
) -> Result<(EncryptedResponseHeader, Vec<u8>, ParsedJwe), PrtCryptoError> {
    let parsed = ParsedJwe::parse(jwe)?;
    let header: EncryptedResponseHeader = serde_json::from_slice(&parsed.header)
        .map_err(|_| PrtCryptoError::Malformed("encrypted response header"))?;
    if header.alg != "dir" || header.enc != "A256GCM" {
        return Err(PrtCryptoError::UnsupportedAlgorithm(format!(
            "{}/{}",
            header.alg, header.enc
        )));
    }
    if !parsed.encrypted_key.is_empty() {
        return Err(PrtCryptoError::Malformed("encrypted key of a dir JWE"));
    }
    let ctx = decode_ctx(&header.ctx)?;
    Ok((header, ctx, parsed))
}

/// Decrypt an encrypted response with a session key held in software.
pub fn decrypt_response(session_key: &[u8], jwe: &str) -> Result<Vec<u8>, PrtCryptoError> {
    let (_, ctx, parsed) = open_response(jwe)?;
    parsed.decrypt_gcm(derive_key(session_key, &ctx).as_ref())
}

/// `session_key_jwe`: header `{"enc":"A256GCM","alg":"RSA-OAEP"}`, `encrypted_key` = the
/// RSA-OAEP (SHA-1) encryption of `session_key` to the transport key (done by the caller, who
/// holds the RSA key). The content is empty, sealed with the session key itself, so a client can
/// check that it unwrapped the right key (clients that read only the encrypted key ignore it).
pub fn session_key_jwe(encrypted_key: &[u8], session_key: &[u8; 32], iv: &[u8; 12]) -> String {
    let header = SessionKeyJweHeader {
        enc: "A256GCM".into(),
        alg: "RSA-OAEP".into(),
    };
    let header_b64 = b64url(&serde_json::to_vec(&header).expect("header serializes"));
    seal_gcm(session_key, &header_b64, encrypted_key, iv, &[])
}

/// Take `session_key_jwe` apart: its RSA-OAEP encrypted key, to be decrypted by the transport key.
pub fn open_session_key_jwe(jwe: &str) -> Result<ParsedJwe, PrtCryptoError> {
    let parsed = ParsedJwe::parse(jwe)?;
    let header: SessionKeyJweHeader = serde_json::from_slice(&parsed.header)
        .map_err(|_| PrtCryptoError::Malformed("session_key_jwe header"))?;
    if header.alg != "RSA-OAEP" {
        return Err(PrtCryptoError::UnsupportedAlgorithm(header.alg));
    }
    if parsed.encrypted_key.is_empty() {
        return Err(PrtCryptoError::Malformed(
            "session_key_jwe without an encrypted key",
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_input_is_counter_label_separator_context_length() {
        let input = kdf_fixed_input(b"ctx");
        assert_eq!(&input[..4], &[0, 0, 0, 1]);
        assert_eq!(&input[4..30], KDF_LABEL);
        assert_eq!(input[30], 0);
        assert_eq!(&input[31..34], b"ctx");
        assert_eq!(&input[34..], &[0, 0, 1, 0]);
    }

    #[test]
    fn kdf_ver_header_values() {
        assert_eq!(KdfVersion::from_header(None), Ok(KdfVersion::V1));
        assert_eq!(KdfVersion::from_header(Some(2)), Ok(KdfVersion::V2));
        assert!(KdfVersion::from_header(Some(3)).is_err());
    }

    #[test]
    fn ctx_of_unreasonable_length_is_refused() {
        assert!(decode_ctx(&encode_ctx(&[1u8; 24])).is_ok());
        assert!(decode_ctx(&encode_ctx(&[1u8; 4])).is_err());
        assert!(decode_ctx("not base64!").is_err());
    }

    #[test]
    fn response_round_trip_and_refusals() {
        let session_key = [7u8; 32];
        let jwe = encrypt_response(&session_key, &[9u8; 24], &[1u8; 12], b"hello");
        assert_eq!(decrypt_response(&session_key, &jwe).unwrap(), b"hello");
        assert_eq!(
            decrypt_response(&[8u8; 32], &jwe),
            Err(PrtCryptoError::DecryptFailed)
        );
        // A flipped ciphertext byte fails the tag.
        let mut parts: Vec<String> = jwe.split('.').map(String::from).collect();
        let mut ct = b64url_decode(&parts[3]).unwrap();
        ct[0] ^= 1;
        parts[3] = b64url(&ct);
        assert_eq!(
            decrypt_response(&session_key, &parts.join(".")),
            Err(PrtCryptoError::DecryptFailed)
        );
        // A 16-byte IV (the CBC form some clients read) is refused, not decrypted.
        parts[2] = b64url(&[0u8; 16]);
        assert!(matches!(
            decrypt_response(&session_key, &parts.join(".")),
            Err(PrtCryptoError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn session_key_jwe_carries_the_encrypted_key_and_seals_with_the_session_key() {
        let key = [3u8; 32];
        let jwe = session_key_jwe(b"rsa-oaep-bytes", &key, &[2u8; 12]);
        let parsed = open_session_key_jwe(&jwe).unwrap();
        assert_eq!(parsed.encrypted_key, b"rsa-oaep-bytes");
        assert_eq!(parsed.decrypt_gcm(&key).unwrap(), b"");
        assert_eq!(
            parsed.decrypt_gcm(&[4u8; 32]),
            Err(PrtCryptoError::DecryptFailed)
        );
    }

    #[test]
    fn jws_with_extra_segments_is_malformed() {
        assert!(ParsedJws::parse("a.b").is_err());
        assert!(ParsedJws::parse("a.b.c.d").is_err());
    }
}
