//! The STS's WS-Trust 1.3 RequestSecurityToken with a UsernameToken
//! (`tenant_emulator::wstrust::parse_rst`). Input: the SOAP 1.2 envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(xml) = cxh_join_fuzz::text(data) {
        let _ = tenant_emulator::wstrust::parse_rst(xml);
    }
});
