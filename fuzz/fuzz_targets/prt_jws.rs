//! A PRT request as the token endpoint takes it apart (MS-OAPXBC `jwt-bearer`,
//! `cxh_wire::prt_crypto::ParsedJws` and the `cxh_wire::prt` header/claims types): RS256 with
//! the `x5c` certificate (`tenant_emulator::routes::token::prt::verify_rs256`), or HS256 with
//! a key derived from `ctx` (KDF v1/v2). Input: the compact JWS.
#![no_main]

use base64::Engine;
use cxh_wire::prt::{DeviceSignedHeader, PrtRequestClaims, SessionSignedHeader};
use cxh_wire::prt_crypto::{decode_ctx, derive_key, kdf_context, KdfVersion, ParsedJws};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = cxh_join_fuzz::text(data) else {
        return;
    };
    let Ok(jws) = ParsedJws::parse(text) else {
        return;
    };
    let _ = serde_json::from_slice::<PrtRequestClaims>(&jws.payload);
    if let Ok(header) = serde_json::from_slice::<DeviceSignedHeader>(&jws.header) {
        let _ = KdfVersion::from_header(header.kdf_ver);
        if let Some(leaf) = header.x5c.leaf() {
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(leaf.trim()) {
                let verified = tenant_emulator::routes::token::prt::verify_rs256(&der, &jws);
                cxh_join_fuzz::show("verify_rs256", &verified);
            }
        }
    }
    if let Ok(header) = serde_json::from_slice::<SessionSignedHeader>(&jws.header) {
        let version = KdfVersion::from_header(header.kdf_ver);
        if let (Ok(version), Ok(ctx)) = (version, decode_ctx(&header.ctx)) {
            let key = derive_key(&[9; 32], &kdf_context(version, &ctx, &jws.payload));
            let _ = jws.verify_hs256(key.as_ref());
        }
    }
});
