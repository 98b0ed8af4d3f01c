//! The PRT session key in a real TPM 2.0 (swtpm): the transport key unwraps `session_key_jwe`
//! with TPM2_RSA_Decrypt, the key becomes a TPM HMAC object, and the keys TPM2_HMAC derives
//! match the golden vectors computed by Python cryptography (KDF v1 and v2). Plus the refusals:
//! another transport key, a tampered answer, the TPM gone.

mod support;

use cxh_wire::prt_crypto::{encrypt_response, session_key_jwe};
use host_bridge::keys::{KeyError, KeyProvider, KeyPurpose, OaepHash};
use host_bridge::prt::client::decrypt_answer;
use host_bridge::prt::session::unwrap_session_key;
use host_bridge::prt::PrtError;
use host_bridge::tpm::TpmKeyProvider;
use rsa::Oaep;
use support::swtpm::{unreachable_tcti, Swtpm};

fn vectors() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/wire/tests/fixtures/prt-vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex_of(v: &serde_json::Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap()).unwrap()
}

fn key32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap()
}

#[test]
fn a_tpm_held_session_key_derives_the_golden_kdf_v1_and_v2_keys() {
    let temp = tempfile::tempdir().unwrap();
    let tpm = Swtpm::start(&temp.path().join("tpm"));
    let provider = TpmKeyProvider::new(&tpm.tcti()).unwrap();
    let v = vectors();
    let session_key = key32(&hex_of(&v, "session_key_hex"));
    let imported = provider
        .import_session_key(zeroize::Zeroizing::new(session_key))
        .unwrap();
    assert!(imported.tpm_held());
    assert_eq!(
        imported.derive(&hex_of(&v, "ctx_hex")).unwrap().to_vec(),
        hex_of(&v, "kdf_v1_derived_key_hex")
    );
    assert_eq!(
        imported
            .derive(&hex_of(&v, "kdf_v2_context_hex"))
            .unwrap()
            .to_vec(),
        hex_of(&v, "kdf_v2_derived_key_hex")
    );
    // The persisted blob is the TPM-wrapped object: the key is not in it, and it reloads.
    let blob = imported.to_blob().unwrap();
    assert!(!blob.windows(32).any(|w| w == session_key));
    let reloaded = provider.load_session_key(&blob).unwrap();
    assert_eq!(
        reloaded.derive(&hex_of(&v, "ctx_hex")).unwrap().to_vec(),
        hex_of(&v, "kdf_v1_derived_key_hex")
    );
    // The golden encrypted answer opens with the TPM-derived key.
    let answer = decrypt_answer(reloaded.as_ref(), v["response_jwe"].as_str().unwrap()).unwrap();
    assert_eq!(answer.access_token.as_deref(), Some("at-1"));
}

#[test]
fn the_transport_key_unwraps_the_session_key_inside_the_tpm_and_refuses_others() {
    let temp = tempfile::tempdir().unwrap();
    let tpm = Swtpm::start(&temp.path().join("tpm"));
    let provider = TpmKeyProvider::new(&tpm.tcti()).unwrap();
    let transport = provider.create_key(KeyPurpose::Transport).unwrap();
    let other = provider.create_key(KeyPurpose::Transport).unwrap();
    let session_key = [0x42u8; 32];
    let wrap = |to: &dyn host_bridge::keys::ProviderKey| {
        let encrypted = to
            .public_key()
            .encrypt(
                &mut rand::rngs::OsRng,
                Oaep::new::<sha1::Sha1>(),
                &session_key,
            )
            .unwrap();
        session_key_jwe(&encrypted, &session_key, &[7u8; 12])
    };
    let session =
        unwrap_session_key(&provider, transport.as_ref(), &wrap(transport.as_ref())).unwrap();
    assert!(session.tpm_held());
    let jwe = encrypt_response(
        &session_key,
        &[1u8; 24],
        &[2u8; 12],
        br#"{"token_type":"Bearer","expires_in":"60","access_token":"tok"}"#,
    );
    assert_eq!(
        decrypt_answer(session.as_ref(), &jwe)
            .unwrap()
            .access_token
            .as_deref(),
        Some("tok")
    );
    // A tampered answer fails its GCM tag.
    let mut parts: Vec<String> = jwe.split('.').map(String::from).collect();
    parts[4] = cxh_wire::prt_crypto::b64url(&[0u8; 16]);
    assert!(matches!(
        decrypt_answer(session.as_ref(), &parts.join(".")),
        Err(PrtError::BadResponse(_))
    ));
    // A session key encrypted to another transport key does not decrypt in this one.
    let err = unwrap_session_key(&provider, transport.as_ref(), &wrap(other.as_ref())).unwrap_err();
    assert!(
        matches!(&err, PrtError::Key(KeyError::Decrypt { reason, .. }) if reason.contains("RSA_Decrypt")),
        "{err}"
    );
}

#[test]
fn the_auto_logon_buffer_decrypts_with_oaep_sha256_in_the_tpm() {
    let temp = tempfile::tempdir().unwrap();
    let tpm = Swtpm::start(&temp.path().join("tpm"));
    let provider = TpmKeyProvider::new(&tpm.tcti()).unwrap();
    let transport = provider.create_key(KeyPurpose::Transport).unwrap();
    let ciphertext = host_bridge::autologon::encrypt(transport.public_key(), b"Pa55-word").unwrap();
    let plain = transport
        .decrypt_oaep(&ciphertext, OaepHash::Sha256)
        .unwrap();
    assert_eq!(plain.as_slice(), b"Pa55-word");
    assert!(transport.decrypt_oaep(&ciphertext, OaepHash::Sha1).is_err());
}

#[test]
fn a_session_key_without_its_tpm_is_a_clear_error() {
    let temp = tempfile::tempdir().unwrap();
    let tpm = Swtpm::start(&temp.path().join("tpm"));
    let provider = TpmKeyProvider::new(&tpm.tcti()).unwrap();
    let blob = provider
        .import_session_key(zeroize::Zeroizing::new([1u8; 32]))
        .unwrap()
        .to_blob()
        .unwrap();
    drop(tpm);
    let gone = TpmKeyProvider::new(&unreachable_tcti()).unwrap();
    let err = gone.load_session_key(&blob).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, KeyError::SessionKey { .. }) && text.contains("no TPM is reachable"),
        "{text}"
    );
}
