//! A WS-Trust 1.3 RequestSecurityTokenResponse (RSTR) as the STS answers a federated user's
//! `usernamemixed` request (seed 003): the SAML assertion inside `RequestedSecurityToken`,
//! taken byte for byte (it is signed), or the reason of a SOAP 1.2 fault. Bytes from the STS:
//! fuzzed (`fuzz/fuzz_targets/bridge_responses.rs`). The host bridge builds the request
//! (`host-bridge/src/prt/wstrust.rs`).

use crate::xml::find;
use roxmltree::Document;

pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const WST13_NS: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RstrError {
    #[error("the answer is not XML: {0}")]
    NotXml(String),
    /// The fault's reason text, as the STS gave it (AD FS: `ID3242: …`).
    #[error("{0}")]
    Fault(String),
    #[error("no RequestedSecurityToken in the answer")]
    NoRequestedToken,
    #[error("no SAML assertion in the answer")]
    NoAssertion,
}

/// The assertion inside the RSTR, byte for byte; a SOAP fault's reason otherwise.
pub fn assertion_of(rstr: &str) -> Result<String, RstrError> {
    let doc = Document::parse(rstr).map_err(|e| RstrError::NotXml(e.to_string()))?;
    if let Some(fault) = find(doc.root(), SOAP12_NS, "Fault") {
        let reason = find(fault, SOAP12_NS, "Text")
            .and_then(|n| n.text())
            .unwrap_or("a SOAP fault");
        return Err(RstrError::Fault(reason.to_string()));
    }
    let requested =
        find(doc.root(), WST13_NS, "RequestedSecurityToken").ok_or(RstrError::NoRequestedToken)?;
    let assertion = requested
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == "Assertion")
        .ok_or(RstrError::NoAssertion)?;
    Ok(rstr[assertion.range()].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assertion_is_taken_byte_for_byte_and_a_fault_gives_its_reason() {
        let fault = format!("<s:Envelope xmlns:s=\"{SOAP12_NS}\"><s:Body><s:Fault><s:Reason><s:Text>ID3242: bad password</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>");
        assert_eq!(
            assertion_of(&fault),
            Err(RstrError::Fault("ID3242: bad password".into()))
        );
        let assertion = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\"  A=\"1\"><!-- kept --></saml:Assertion>";
        let ok = format!("<s:Envelope xmlns:s=\"{SOAP12_NS}\"><s:Body><t:RSTR xmlns:t=\"{WST13_NS}\"><t:RequestedSecurityToken>{assertion}</t:RequestedSecurityToken></t:RSTR></s:Body></s:Envelope>");
        assert_eq!(assertion_of(&ok).unwrap(), assertion);
        let empty = format!("<s:Envelope xmlns:s=\"{SOAP12_NS}\"><s:Body><t:RequestedSecurityToken xmlns:t=\"{WST13_NS}\"/></s:Body></s:Envelope>");
        assert_eq!(assertion_of(&empty), Err(RstrError::NoAssertion));
        assert_eq!(assertion_of("<a/>"), Err(RstrError::NoRequestedToken));
        assert!(matches!(assertion_of("<a>"), Err(RstrError::NotXml(_))));
    }
}
