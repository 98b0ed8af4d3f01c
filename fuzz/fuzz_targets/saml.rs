//! The authority's SAML 1.1 verification (`tenant_emulator::saml::verify_assertion`: XML,
//! assertion shape, XML-DSig with exclusive C14N, conditions, claims) and the issuer read
//! before it (`saml::claimed_issuer`). Input: the `wresult` / assertion XML.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_emulator::saml::{claimed_issuer, verify_assertion, Trust};

fuzz_target!(|data: &[u8]| {
    let Some(xml) = cxh_join_fuzz::text(data) else {
        return;
    };
    let _ = claimed_issuer(xml);
    let trust = Trust {
        issuer: cxh_join_fuzz::STS_ISSUER,
        key: cxh_join_fuzz::sts_key(),
    };
    cxh_join_fuzz::show(
        "verify_assertion",
        &verify_assertion(xml, &trust, cxh_join_fuzz::NOW),
    );
});
