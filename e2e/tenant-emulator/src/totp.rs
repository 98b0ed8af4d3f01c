//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 6 digits, 30 s
//! steps, the parameters authenticator apps use by default. Secrets are base32 (RFC 4648, no
//! padding) as in the `otpauth://` URIs those apps scan.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps accepted on either side of now, for clock drift (RFC 6238 §5.2 recommends one).
const DRIFT_STEPS: i64 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TotpError {
    #[error("the TOTP secret is not valid base32")]
    BadSecret,
}

/// Decode a base32 secret (case-insensitive, spaces and padding ignored).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, TotpError> {
    let cleaned: String = secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .map_err(|_| TotpError::BadSecret)
}

/// HOTP value for `counter` (RFC 4226 §5.3 dynamic truncation).
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

/// The 6-digit code at `unix_time`.
pub fn code_at(key: &[u8], unix_time: i64) -> u32 {
    hotp(key, (unix_time.max(0) / STEP_SECS) as u64, DIGITS)
}

/// Whether `code` (exactly six digits) is valid at `unix_time`, within the drift window.
pub fn verify(key: &[u8], code: &str, unix_time: i64) -> bool {
    matching_step(key, code, unix_time).is_some()
}

/// The time step (`unix_time / STEP_SECS`, within the drift window) whose code `code` is, the
/// latest one when several match; the verifier remembers it to refuse replays (RFC 6238 §5.2).
pub fn matching_step(key: &[u8], code: &str, unix_time: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = code.parse::<u32>().ok()?;
    let now_step = unix_time.max(0) / STEP_SECS;
    (-DRIFT_STEPS..=DRIFT_STEPS)
        .rev()
        .map(|drift| now_step + drift)
        .filter(|step| *step >= 0)
        .find(|step| hotp(key, *step as u64, DIGITS) == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890".
    const SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_rfc6238_test_vectors() {
        for (time, eight_digits) in [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1234567890, 89005924),
            (2000000000, 69279037),
        ] {
            assert_eq!(hotp(SEED, time as u64 / 30, 8), eight_digits, "t={time}");
            assert_eq!(code_at(SEED, time), eight_digits % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn verify_accepts_one_step_of_drift_only() {
        let now = 1_700_000_000;
        let code = format!("{:06}", code_at(SEED, now));
        assert!(verify(SEED, &code, now));
        assert!(verify(SEED, &code, now + 30));
        assert!(!verify(SEED, &code, now + 95));
        assert!(!verify(SEED, "12345", now));
        assert!(!verify(SEED, "abcdef", now));
    }

    #[test]
    fn base32_secrets_decode() {
        assert_eq!(decode_secret("GEZDGNBV GY3TQOJQ").unwrap(), b"1234567890");
        assert_eq!(
            decode_secret("gezdgnbvgy3tqojq====").unwrap(),
            b"1234567890"
        );
        assert_eq!(decode_secret("not base32!"), Err(TotpError::BadSecret));
    }
}
