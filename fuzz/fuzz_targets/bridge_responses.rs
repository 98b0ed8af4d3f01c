//! The SOAP answers the host bridge reads from the tenant (`cxh_wire::mdm_response`,
//! `cxh_wire::wstrust_response`): MS-MDE2 DiscoverResponse, MS-XCEP GetPoliciesResponse, the
//! MS-WSTEP RSTR collection and the `wap-provisioningdoc` inside it, SOAP faults, and the STS's
//! WS-Trust 1.3 RSTR. Input: XML. Property: no panic; an assertion taken from an RSTR is a
//! slice of the input, and a provisioning document decoded from an RSTR parses or fails cleanly.
#![no_main]

use cxh_wire::mdm_response as mdm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(xml) = cxh_join_fuzz::text(data) else {
        return;
    };
    let _ = mdm::fault_in(xml);
    let _ = mdm::parse_discover_response(xml);
    let _ = mdm::parse_get_policies_response(xml);
    let _ = mdm::parse_provisioning_doc(xml);
    if let Ok(doc) = mdm::parse_enroll_response(xml) {
        let _ = mdm::parse_provisioning_doc(&doc);
    }
    if let Ok(assertion) = cxh_wire::wstrust_response::assertion_of(xml) {
        assert!(
            xml.contains(&assertion),
            "the assertion is taken byte for byte"
        );
    }
});
