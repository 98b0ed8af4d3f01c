//! The BCRYPT_RSAKEY_BLOB ("RSA1") of `TransportKey`: `cxh_wire::transport_key::decode` and
//! DRS's check of it (`tenant_emulator::csr::verify_transport_key`). Input: blob bytes.
//! Property: a blob that decodes re-encodes to the same parts.
#![no_main]

use base64::Engine;
use cxh_wire::transport_key::{decode, encode};
use libfuzzer_sys::fuzz_target;
use tenant_emulator::csr::verify_transport_key;

fuzz_target!(|data: &[u8]| {
    if let Ok(parts) = decode(data) {
        assert_eq!(parts.modulus.len() as u32, parts.bit_length.div_ceil(8));
        let again = decode(&encode(&parts.exponent, &parts.modulus));
        // encode strips leading zeros, so only a blob without them round-trips exactly.
        if parts.modulus.first() != Some(&0) && parts.exponent.first() != Some(&0) {
            assert_eq!(again.as_ref(), Ok(&parts));
        }
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let _ = verify_transport_key(&b64);
});
