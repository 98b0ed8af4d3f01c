//! The DRS registration body (`tenant_emulator::routes::drs_request::parse_registration`:
//! JSON with case-insensitive member names, then the MS-DVRE types), and the checks of what it
//! carries (CSR, transport key). Input: the request body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_emulator::csr::{verify_device_csr, verify_transport_key};
use tenant_emulator::routes::drs_request::parse_registration;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = parse_registration(data) {
        let csr = &request.certificate_request;
        let csr = verify_device_csr(&csr.kind, &csr.data).map(|_| ());
        let transport_key = verify_transport_key(&request.transport_key).map(|_| ());
        cxh_join_fuzz::show("csr, transport key", &(csr, transport_key));
    }
});
