//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 6 digits, 30 s
//! steps, the parameters authenticator apps use by default. Secrets are base32 (RFC 4648, no
//! padding) as in the `otpauth://` URIs those apps scan.
//!
//! The code arithmetic and the comparison are the `totp-rs` crate's (its `check` compares in
//! constant time); this module adds what the verifier needs on top: which time step matched,
//! so a code of that or an earlier step is refused next time (RFC 6238 §5.2).

use totp_rs::{Algorithm, TOTP};

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

/// A generator for `key` with `digits` digits and no drift window (the window is walked here,
/// step by step, to learn which step matched). `new_unchecked`: tenant files may hold the
/// 80-bit secrets many authenticator setups use, below the crate's 128-bit minimum.
fn totp(key: &[u8], digits: u32) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        digits as usize,
        0,
        STEP_SECS as u64,
        key.to_vec(),
    )
}

/// The 6-digit code at `unix_time`.
pub fn code_at(key: &[u8], unix_time: i64) -> u32 {
    totp(key, DIGITS)
        .generate(unix_time.max(0) as u64)
        .parse()
        .unwrap_or(0)
}

/// Whether `code` (exactly six digits) is valid at `unix_time`, within the drift window.
pub fn verify(key: &[u8], code: &str, unix_time: i64) -> bool {
    matching_step(key, code, unix_time).is_some()
}

/// The time step (`unix_time / STEP_SECS`, within the drift window) whose code `code` is, the
/// latest one when several match; the verifier remembers it to refuse replays (RFC 6238 §5.2).
/// Each step is compared in constant time (`TOTP::check`).
pub fn matching_step(key: &[u8], code: &str, unix_time: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let generator = totp(key, DIGITS);
    let now_step = unix_time.max(0) / STEP_SECS;
    (-DRIFT_STEPS..=DRIFT_STEPS)
        .rev()
        .map(|drift| now_step + drift)
        .filter(|step| *step >= 0)
        .find(|step| generator.check(code, (*step * STEP_SECS) as u64))
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
            assert_eq!(
                totp(SEED, 8).generate(time as u64),
                format!("{eight_digits:08}"),
                "t={time}"
            );
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
    fn the_latest_matching_step_is_reported_for_the_replay_check() {
        let now = 1_700_000_010;
        let step = now / STEP_SECS;
        let current = format!("{:06}", code_at(SEED, now));
        assert_eq!(matching_step(SEED, &current, now), Some(step));
        let previous = format!("{:06}", code_at(SEED, now - STEP_SECS));
        assert_eq!(matching_step(SEED, &previous, now), Some(step - 1));
        let wrong = format!("{:06}", (code_at(SEED, now) + 1) % 1_000_000);
        assert_eq!(matching_step(SEED, &wrong, now), None);
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
