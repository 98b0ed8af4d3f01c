//! `session_key_jwe` -> a session key the provider holds.
//!
//! The JWE's encrypted key is RSA-OAEP (SHA-1) to the transport key: the provider decrypts it
//! (TPM2_RSA_Decrypt in a TPM). The JWE's content is empty and sealed (A256GCM) with the session
//! key itself, so its tag proves we unwrapped the key the authority meant, before anything is
//! kept. Then the key goes straight to [`KeyProvider::import_session_key`] (a TPM HMAC object)
//! and the plaintext is wiped.

use cxh_wire::prt_crypto::{open_session_key_jwe, Key32};
use zeroize::Zeroizing;

use super::PrtError;
use crate::keys::{KeyProvider, OaepHash, ProviderKey, SessionKey};

/// Unwrap and import the session key of a PRT response.
pub fn unwrap_session_key(
    keys: &dyn KeyProvider,
    transport: &dyn ProviderKey,
    session_key_jwe: &str,
) -> Result<Box<dyn SessionKey>, PrtError> {
    let parsed = open_session_key_jwe(session_key_jwe)
        .map_err(|e| PrtError::BadResponse(format!("session_key_jwe: {e}")))?;
    let plain = transport.decrypt_oaep(&parsed.encrypted_key, OaepHash::Sha1)?;
    let key: Key32 = Zeroizing::new(plain.as_slice().try_into().map_err(|_| {
        PrtError::BadResponse(format!("the session key has {} bytes, not 32", plain.len()))
    })?);
    drop(plain);
    parsed.decrypt_gcm(key.as_ref()).map_err(|e| {
        PrtError::BadResponse(format!(
            "session_key_jwe does not open with the unwrapped key ({e})"
        ))
    })?;
    Ok(keys.import_session_key(key)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPurpose, SoftwareKeyProvider};
    use cxh_wire::prt_crypto::{derive_key, session_key_jwe};
    use rsa::Oaep;

    fn jwe_for(transport: &dyn ProviderKey, key: &[u8; 32]) -> String {
        let encrypted = transport
            .public_key()
            .encrypt(&mut rand::rngs::OsRng, Oaep::new::<sha1::Sha1>(), key)
            .unwrap();
        session_key_jwe(&encrypted, key, &[5u8; 12])
    }

    #[test]
    fn the_session_key_unwraps_with_the_transport_key_and_derives_like_the_spec() {
        let keys = SoftwareKeyProvider;
        let transport = keys.create_key(KeyPurpose::Transport).unwrap();
        let key = [9u8; 32];
        let session = unwrap_session_key(
            &keys,
            transport.as_ref(),
            &jwe_for(transport.as_ref(), &key),
        )
        .unwrap();
        assert!(!session.tpm_held());
        assert_eq!(
            *session.derive(b"context").unwrap(),
            *derive_key(&key, b"context")
        );
    }

    #[test]
    fn a_session_key_for_another_transport_key_is_refused() {
        let keys = SoftwareKeyProvider;
        let ours = keys.create_key(KeyPurpose::Transport).unwrap();
        let other = keys.create_key(KeyPurpose::Transport).unwrap();
        let err = unwrap_session_key(&keys, ours.as_ref(), &jwe_for(other.as_ref(), &[1u8; 32]))
            .unwrap_err();
        assert!(
            matches!(err, PrtError::Key(crate::keys::KeyError::Decrypt { .. })),
            "{err}"
        );
    }

    #[test]
    fn a_session_key_jwe_whose_tag_does_not_match_is_refused() {
        let keys = SoftwareKeyProvider;
        let transport = keys.create_key(KeyPurpose::Transport).unwrap();
        let jwe = jwe_for(transport.as_ref(), &[1u8; 32]);
        let mut parts: Vec<&str> = jwe.split('.').collect();
        let forged_tag = cxh_wire::prt_crypto::b64url(&[0u8; 16]);
        parts[4] = &forged_tag;
        let err = unwrap_session_key(&keys, transport.as_ref(), &parts.join(".")).unwrap_err();
        assert!(matches!(err, PrtError::BadResponse(_)), "{err}");
    }
}
