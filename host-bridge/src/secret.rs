//! A string that must never reach a log, a `Debug` dump or an error message.
//!
//! Bearer tokens, passwords and the per-launch bridge secret all travel in this wrapper so
//! that an accidental `{:?}` or `tracing` field prints `[redacted]` instead of the value.

use std::fmt;

use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// A secret value; reading it requires the explicit [`Secret::expose`]. It has no `==`
/// (comparing is [`Secret::matches`], in constant time) and its memory is wiped on drop.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// A fresh random secret: 32 bytes from the OS RNG, base64url without padding.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value itself; call sites are few and easy to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compare with a candidate in time independent of where they differ, so that a page
    /// probing the bridge cannot learn the secret byte by byte from response timing.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_secrets_are_32_bytes_base64url_and_distinct() {
        let a = Secret::random();
        let b = Secret::random();
        assert_eq!(a.expose().len(), 43, "32 bytes base64url without padding");
        assert!(a
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn matches_only_the_exact_value() {
        let s = Secret::new("abc");
        assert!(s.matches("abc"));
        assert!(!s.matches("abd"));
        assert!(!s.matches("ab"));
        assert!(!s.matches(""));
    }
}
