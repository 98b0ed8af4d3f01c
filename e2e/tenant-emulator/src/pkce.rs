//! PKCE (RFC 7636), as ESTS applies it: an authorize request may carry `code_challenge` (with
//! `code_challenge_method` `S256`, or `plain` when absent); the code it yields is then redeemed
//! only with the `code_verifier` that answers it (AADSTS50148 otherwise). Public clients such
//! as single-page apps (MSAL.js) and native apps always send one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::AuthorityError;

/// RFC 7636 §4.1/§4.2: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

/// Check an authorize request's challenge and method; the method to store.
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<String, AuthorityError> {
    let method = match method.unwrap_or("plain") {
        "S256" => "S256",
        "plain" => "plain",
        other => {
            return Err(AuthorityError::InvalidRequest(format!(
                "code_challenge_method {other:?} is not supported (S256 or plain)"
            )))
        }
    };
    if !well_formed(challenge) {
        return Err(AuthorityError::InvalidRequest(
            "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]".into(),
        ));
    }
    Ok(method.to_string())
}

/// Whether `verifier` answers `challenge` under `method`.
pub fn verifies(challenge: &str, method: &str, verifier: &str) -> bool {
    if !well_formed(verifier) {
        return false;
    }
    let expected = match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        _ => verifier.to_string(),
    };
    subtle_equal(expected.as_bytes(), challenge.as_bytes())
}

/// Compare without stopping at the first difference.
fn subtle_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies_and_nothing_else_does() {
        let verifier = VERIFIER;
        assert!(verifies(CHALLENGE, "S256", verifier));
        assert!(!verifies(
            CHALLENGE,
            "S256",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"
        ));
        assert!(!verifies(CHALLENGE, "plain", verifier));
        assert!(verifies(verifier, "plain", verifier));
        assert!(!verifies(CHALLENGE, "S256", "short"));
    }

    #[test]
    fn a_bad_method_or_challenge_is_refused_at_authorize() {
        assert_eq!(check_challenge(CHALLENGE, Some("S256")).unwrap(), "S256");
        assert_eq!(check_challenge(CHALLENGE, None).unwrap(), "plain");
        assert!(check_challenge(CHALLENGE, Some("S512")).is_err());
        assert!(check_challenge("too-short", Some("S256")).is_err());
        assert!(check_challenge(&"a".repeat(129), Some("plain")).is_err());
    }
}
