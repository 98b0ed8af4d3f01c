//! DRS registration's PKCS#10 check (`tenant_emulator::csr::verify_device_csr`, as
//! `CertificateRequest.Data` base64) and the MDM enrollment CSR (`verify_enrollment_csr`, DER
//! out of MS-WSTEP's BinarySecurityToken). Input: DER bytes.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tenant_emulator::csr::{verify_device_csr, verify_enrollment_csr};

fuzz_target!(|data: &[u8]| {
    let _ = verify_enrollment_csr(data);
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    cxh_join_fuzz::show(
        "verify_device_csr",
        &verify_device_csr("pkcs10", &b64).map(|_| ()),
    );
    // The raw bytes as the (text) Data member itself: the base64 reader's own input.
    if let Some(text) = cxh_join_fuzz::text(data) {
        let _ = verify_device_csr("PKCS10", text);
    }
});
