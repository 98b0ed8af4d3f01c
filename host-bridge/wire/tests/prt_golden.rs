//! Golden tests of the PRT cryptography against vectors computed by an independent
//! implementation (Python `cryptography`'s KBKDFHMAC and AESGCM: `fixtures/prt_vectors.py`
//! wrote `fixtures/prt-vectors.json`), so that the bridge and the emulator, which both use
//! this crate, cannot agree on a shared mistake in the KDF, HS256 or the JWE layout.
#![cfg(feature = "crypto")]

use cxh_wire::prt::{EncryptedResponseHeader, PrtCookieClaims, SessionSignedHeader};
use cxh_wire::prt_crypto::{
    decrypt_response, derive_key, encrypt_response, hs256, kdf_context, kdf_fixed_input,
    open_response, JwsSegments, KdfVersion, ParsedJws,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = format!(
        "{}/tests/fixtures/prt-vectors.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex_of(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap()).unwrap()
}

#[test]
fn kdf_v1_matches_the_independent_vector() {
    let v = vectors();
    let key = derive_key(&hex_of(&v, "session_key_hex"), &hex_of(&v, "ctx_hex"));
    assert_eq!(key.to_vec(), hex_of(&v, "kdf_v1_derived_key_hex"));
}

#[test]
fn kdf_v2_context_and_key_match_the_independent_vector() {
    let v = vectors();
    let payload = v["payload"].as_str().unwrap().as_bytes();
    let context = kdf_context(KdfVersion::V2, &hex_of(&v, "ctx_hex"), payload);
    assert_eq!(context, hex_of(&v, "kdf_v2_context_hex"));
    let key = derive_key(&hex_of(&v, "session_key_hex"), &context);
    assert_eq!(key.to_vec(), hex_of(&v, "kdf_v2_derived_key_hex"));
    // v1 and v2 differ: a v1 key never verifies a v2 signature.
    assert_ne!(key.to_vec(), hex_of(&v, "kdf_v1_derived_key_hex"));
}

#[test]
fn the_fixed_input_is_what_an_hmac_of_the_session_key_takes() {
    // The TPM computes HMAC(session key, fixed input) itself: the fixed input alone must give
    // the same key as the software KDF.
    use hmac::{Hmac, Mac};
    let v = vectors();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&hex_of(&v, "session_key_hex")).unwrap();
    mac.update(&kdf_fixed_input(&hex_of(&v, "ctx_hex")));
    assert_eq!(
        mac.finalize().into_bytes().to_vec(),
        hex_of(&v, "kdf_v1_derived_key_hex")
    );
}

#[test]
fn hs256_cookie_with_kdf_v2_is_byte_for_byte_the_vector() {
    let v = vectors();
    let header: SessionSignedHeader =
        serde_json::from_str(v["hs256_header"].as_str().unwrap()).unwrap();
    let claims: PrtCookieClaims = serde_json::from_str(v["payload"].as_str().unwrap()).unwrap();
    let segments = JwsSegments::encode(&header, &claims);
    assert_eq!(segments.payload, v["payload"].as_str().unwrap().as_bytes());
    let context = kdf_context(KdfVersion::V2, &hex_of(&v, "ctx_hex"), &segments.payload);
    let key = derive_key(&hex_of(&v, "session_key_hex"), &context);
    let jws = segments.with_signature(&hs256(key.as_ref(), &segments.signing_input()));
    assert_eq!(jws, v["hs256_jws_kdf_v2"].as_str().unwrap());

    let parsed = ParsedJws::parse(&jws).unwrap();
    parsed.verify_hs256(key.as_ref()).unwrap();
    let v1_key = derive_key(&hex_of(&v, "session_key_hex"), &hex_of(&v, "ctx_hex"));
    assert!(
        parsed.verify_hs256(v1_key.as_ref()).is_err(),
        "a v1 key must not verify a v2 JWS"
    );
}

#[test]
fn encrypted_response_is_byte_for_byte_the_vector_and_decrypts() {
    let v = vectors();
    let iv: [u8; 12] = hex_of(&v, "response_iv_hex").try_into().unwrap();
    let plaintext = v["response_plaintext"].as_str().unwrap().as_bytes();
    let session_key = hex_of(&v, "session_key_hex");
    let jwe = encrypt_response(
        &session_key,
        &hex_of(&v, "response_ctx_hex"),
        &iv,
        plaintext,
    );
    assert_eq!(jwe, v["response_jwe"].as_str().unwrap());

    let (header, ctx, parsed) = open_response(v["response_jwe"].as_str().unwrap()).unwrap();
    let expected: EncryptedResponseHeader =
        serde_json::from_str(v["response_header"].as_str().unwrap()).unwrap();
    assert_eq!(header, expected);
    assert_eq!(
        derive_key(&session_key, &ctx).to_vec(),
        hex_of(&v, "response_key_hex")
    );
    assert_eq!(
        parsed.decrypt_gcm(&hex_of(&v, "response_key_hex")).unwrap(),
        plaintext
    );
    assert_eq!(decrypt_response(&session_key, &jwe).unwrap(), plaintext);
}
