//! The endorsement key certificate of a credential activation challenge
//! (`tenant_emulator::ek_trust::TpmRoots::verify_ek`, against the project's test TPM roots).
//! Input: certificate DER.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let verified = cxh_join_fuzz::tpm_roots().verify_ek(data, cxh_join_fuzz::NOW);
    cxh_join_fuzz::show("verify_ek", &verified.map(|ek| ek.chain));
});
