//! The MDM role's SOAP (`tenant_emulator::routes::mdm::soap`): MS-MDE2 Discover, the
//! BinarySecurityToken of a request header, MS-XCEP GetPolicies, MS-WSTEP
//! RequestSecurityToken (with its PKCS#10, then checked as DRS's MDM route does). Input: XML.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tenant_emulator::routes::mdm::soap;

fuzz_target!(|data: &[u8]| {
    let Some(xml) = cxh_join_fuzz::text(data) else {
        return;
    };
    let _ = soap::parse_discover(xml);
    let _ = soap::security_token(xml);
    let _ = soap::parse_get_policies(xml);
    if let Ok(request) = soap::parse_enroll(xml) {
        let _ = request.context_item("DeviceID");
        let _ = tenant_emulator::csr::verify_enrollment_csr(&request.csr_der);
    }
});
