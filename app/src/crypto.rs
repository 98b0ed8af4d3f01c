//! Random values for the sign-in request (nonce and state), from the browser's WebCrypto
//! `crypto.getRandomValues` (a CSPRNG): guessable values would let another page forge or
//! replay a sign-in answer.

/// Bytes of randomness in a nonce or state: 128 bits, the usual strength for both.
pub const RANDOM_BYTES: usize = 16;

/// Lower-case hex: URL-safe without encoding, and easy to compare in logs of the emulator.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

/// A fresh random value as hex, or `None` when the browser offers no WebCrypto (then the
/// sign-in must not start at all, rather than fall back to a weak source).
#[cfg(target_arch = "wasm32")]
pub fn random_hex() -> Option<String> {
    let crypto = web_sys::window()?.crypto().ok()?;
    let mut bytes = [0u8; RANDOM_BYTES];
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(to_hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_two_digits_per_byte() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(to_hex(&[]), "");
    }
}
