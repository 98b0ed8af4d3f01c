//! What the device reads back from the PRT endpoints (`cxh_wire::prt_crypto`): the encrypted
//! token response (`open_response`, `decrypt_response`: `dir`/A256GCM JWE, KDF from its
//! `ctx`), `session_key_jwe` (`open_session_key_jwe`) and the decrypted answer
//! (`cxh_wire::prt::PrtTokenResponse`). Input: the compact JWE.
#![no_main]

use cxh_wire::prt::{PrtResponse, PrtTokenResponse};
use cxh_wire::prt_crypto::{decrypt_response, open_response, open_session_key_jwe, ParsedJwe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<PrtTokenResponse>(data);
    let _ = serde_json::from_slice::<PrtResponse>(data);
    let Some(text) = cxh_join_fuzz::text(data) else {
        return;
    };
    if let Ok(parsed) = ParsedJwe::parse(text) {
        let _ = parsed.decrypt_gcm(&[3; 32]);
        let _ = parsed.decrypt_gcm(&parsed.header);
    }
    let _ = open_response(text);
    if let Ok(plain) = decrypt_response(&[3; 32], text) {
        let _ = serde_json::from_slice::<PrtTokenResponse>(&plain);
    }
    let _ = open_session_key_jwe(text);
});
