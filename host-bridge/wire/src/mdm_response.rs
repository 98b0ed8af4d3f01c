//! The device side of MS-MDE2's SOAP answers: DiscoverResponse, GetPoliciesResponse
//! (MS-XCEP), the RequestSecurityTokenResponseCollection (MS-WSTEP), SOAP 1.2 faults, and the
//! `wap-provisioningdoc` the enrollment returns. Bytes from the MDM service: fuzzed
//! (`fuzz/fuzz_targets/bridge_responses.rs`). The requests are built by the host bridge
//! (`host-bridge/src/mdm/soap.rs`).

use crate::mdm::*;
use crate::xml::{find, text_of};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::{Document, Node};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SoapError {
    #[error("the answer is not well-formed XML: {0}")]
    Xml(String),
    #[error("the answer has no {0}")]
    Missing(&'static str),
    #[error("the {0} is not valid base64")]
    Base64(&'static str),
    #[error("the service answered a SOAP fault ({code}): {reason}")]
    Fault { code: String, reason: String },
}

fn parse(xml: &str) -> Result<Document<'_>, SoapError> {
    Document::parse(xml).map_err(|e| SoapError::Xml(e.to_string()))
}

/// A SOAP fault in the answer, as an error.
fn check_fault(doc: &Document<'_>) -> Result<(), SoapError> {
    let Some(fault) = find(doc.root(), NS_SOAP, "Fault") else {
        return Ok(());
    };
    let code = fault
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Value")
        .filter_map(|n| n.text())
        .next_back()
        .unwrap_or("unknown")
        .to_string();
    let reason = text_of(fault, NS_SOAP, "Text").unwrap_or_default();
    Err(SoapError::Fault { code, reason })
}

/// The SOAP 1.2 fault `xml` carries as its body (`Envelope/Body/Fault`, in the SOAP
/// namespace), if it is one; `None` for anything else (an HTML error page, a normal answer,
/// or text that merely mentions "Fault").
pub fn fault_in(xml: &str) -> Option<SoapError> {
    let doc = parse(xml).ok()?;
    let envelope = doc.root_element();
    if envelope.tag_name().namespace() != Some(NS_SOAP) || envelope.tag_name().name() != "Envelope"
    {
        return None;
    }
    let body = envelope.children().find(|n| {
        n.is_element() && n.tag_name().namespace() == Some(NS_SOAP) && n.tag_name().name() == "Body"
    })?;
    let first = body.children().find(|n| n.is_element())?;
    if first.tag_name().namespace() != Some(NS_SOAP) || first.tag_name().name() != "Fault" {
        return None;
    }
    check_fault(&doc).err()
}

/// The services a DiscoverResponse names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub auth_policy: String,
    pub policy_service_url: String,
    pub enrollment_service_url: String,
}

pub fn parse_discover_response(xml: &str) -> Result<Discovered, SoapError> {
    let doc = parse(xml)?;
    check_fault(&doc)?;
    let result = find(doc.root(), NS_DISCOVERY, "DiscoverResult")
        .ok_or(SoapError::Missing("DiscoverResult"))?;
    let get =
        |name: &'static str| text_of(result, NS_DISCOVERY, name).ok_or(SoapError::Missing(name));
    Ok(Discovered {
        auth_policy: get("AuthPolicy")?,
        policy_service_url: get("EnrollmentPolicyServiceUrl")?,
        enrollment_service_url: get("EnrollmentServiceUrl")?,
    })
}

/// What the certificate policy asks of the key and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePolicy {
    pub minimal_key_length: u32,
    /// The hash algorithm OID, when the policy names one.
    pub hash_oid: Option<String>,
}

pub fn parse_get_policies_response(xml: &str) -> Result<CertificatePolicy, SoapError> {
    let doc = parse(xml)?;
    check_fault(&doc)?;
    let response = find(doc.root(), NS_XCEP, "GetPoliciesResponse")
        .ok_or(SoapError::Missing("GetPoliciesResponse"))?;
    let minimal_key_length = text_of(response, NS_XCEP, "minimalKeyLength")
        .and_then(|v| v.parse().ok())
        .ok_or(SoapError::Missing("minimalKeyLength"))?;
    let hash_ref = text_of(response, NS_XCEP, "hashAlgorithmOIDReference");
    let hash_oid = find(response, NS_XCEP, "oIDs").and_then(|oids| {
        oids.children()
            .filter(|n| n.is_element())
            .find(|oid| text_of(*oid, NS_XCEP, "oIDReferenceID") == hash_ref)
            .and_then(|oid| text_of(oid, NS_XCEP, "value"))
    });
    Ok(CertificatePolicy {
        minimal_key_length,
        hash_oid,
    })
}

/// The provisioning document (decoded) from a RequestSecurityTokenResponseCollection.
pub fn parse_enroll_response(xml: &str) -> Result<String, SoapError> {
    let doc = parse(xml)?;
    check_fault(&doc)?;
    let token = doc
        .descendants()
        .find(|n| {
            n.is_element()
                && n.tag_name().name() == "BinarySecurityToken"
                && n.attribute("ValueType") == Some(VALUE_TYPE_PROVISION_DOC)
        })
        .ok_or(SoapError::Missing(
            "provisioning document BinarySecurityToken",
        ))?;
    let compact: String = token
        .text()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|_| SoapError::Base64("provisioning document"))?;
    String::from_utf8(bytes).map_err(|_| SoapError::Base64("provisioning document"))
}

/// What the `wap-provisioningdoc` installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningDoc {
    /// DER of the MDM's root CA (CertificateStore/Root/System).
    pub ca_cert_der: Vec<u8>,
    /// DER of the device's management certificate (CertificateStore/My/System).
    pub client_cert_der: Vec<u8>,
    /// The DM client's provider id (DMClient/Provider/<id>).
    pub provider_id: Option<String>,
    /// The management server (DMClient/Provider/<id>/ServerList).
    pub server_url: Option<String>,
    /// Every policy delivered: (path under `Policy/`, value).
    pub policies: Vec<(String, String)>,
}

/// The `characteristic type` path from the document root down to `node`.
fn characteristic_path(node: Node<'_, '_>) -> Vec<String> {
    let mut path: Vec<String> = node
        .ancestors()
        .filter(|n| n.is_element() && n.tag_name().name() == "characteristic")
        .filter_map(|n| n.attribute("type").map(str::to_string))
        .collect();
    path.reverse();
    path
}

fn encoded_certificate(doc: &Document<'_>, store: &str) -> Result<Vec<u8>, SoapError> {
    let parm = doc
        .descendants()
        .find(|n| {
            n.attribute("name") == Some("EncodedCertificate")
                && characteristic_path(*n).get(1).map(String::as_str) == Some(store)
        })
        .ok_or(SoapError::Missing("EncodedCertificate"))?;
    STANDARD
        .decode(parm.attribute("value").unwrap_or_default())
        .map_err(|_| SoapError::Base64("EncodedCertificate"))
}

pub fn parse_provisioning_doc(xml: &str) -> Result<ProvisioningDoc, SoapError> {
    let doc = parse(xml)?;
    if doc.root_element().tag_name().name() != "wap-provisioningdoc" {
        return Err(SoapError::Missing("wap-provisioningdoc"));
    }
    let parms: Vec<(Vec<String>, String, String)> = doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "parm")
        .map(|n| {
            (
                characteristic_path(n),
                n.attribute("name").unwrap_or_default().to_string(),
                n.attribute("value").unwrap_or_default().to_string(),
            )
        })
        .collect();
    let provider = parms.iter().find(|(path, name, _)| {
        path.first().map(String::as_str) == Some("DMClient") && name == "ServerList"
    });
    let policies = parms
        .iter()
        .filter(|(path, _, _)| path.first().map(String::as_str) == Some("Policy"))
        .map(|(path, name, value)| (format!("{}/{name}", path.join("/")), value.clone()))
        .collect();
    Ok(ProvisioningDoc {
        ca_cert_der: encoded_certificate(&doc, "Root")?,
        client_cert_der: encoded_certificate(&doc, "My")?,
        provider_id: provider.and_then(|(path, _, _)| path.get(2).cloned()),
        server_url: provider.map(|(_, _, value)| value.clone()),
        policies,
    })
}
#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    /// DiscoverResponse and GetPoliciesResponse as MS-MDE2 4.2 / MS-XCEP 4.1 show them.
    #[test]
    fn parses_the_spec_responses() {
        let discover = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">
  <s:Header><a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/DiscoverResponse</a:Action>
    <a:RelatesTo>urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478</a:RelatesTo></s:Header>
  <s:Body><DiscoverResponse xmlns="http://schemas.microsoft.com/windows/management/2012/01/enrollment">
    <DiscoverResult><AuthPolicy>Federated</AuthPolicy><EnrollmentVersion>4.0</EnrollmentVersion>
      <EnrollmentPolicyServiceUrl>https://mdm.contoso.com/EnrollmentServer/Policy.svc</EnrollmentPolicyServiceUrl>
      <EnrollmentServiceUrl>https://mdm.contoso.com/EnrollmentServer/Enrollment.svc</EnrollmentServiceUrl>
    </DiscoverResult></DiscoverResponse></s:Body></s:Envelope>"#;
        let found = parse_discover_response(discover).unwrap();
        assert_eq!(found.auth_policy, "Federated");
        assert!(found.enrollment_service_url.ends_with("/Enrollment.svc"));

        let policies = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
  <GetPoliciesResponse xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <response><policyID/><policies><policy><policyOIDReference>0</policyOIDReference><cAs xsi:nil="true"/>
      <attributes><commonName>CEPUnitTest</commonName><policySchema>3</policySchema>
        <privateKeyAttributes><minimalKeyLength>2048</minimalKeyLength><keySpec xsi:nil="true"/></privateKeyAttributes>
        <hashAlgorithmOIDReference>0</hashAlgorithmOIDReference></attributes></policy></policies></response>
    <cAs xsi:nil="true"/>
    <oIDs><oID><value>2.16.840.1.101.3.4.2.1</value><group>1</group><oIDReferenceID>0</oIDReferenceID><defaultName>szOID_NIST_sha256</defaultName></oID></oIDs>
  </GetPoliciesResponse></s:Body></s:Envelope>"#;
        let policy = parse_get_policies_response(policies).unwrap();
        assert_eq!(policy.minimal_key_length, 2048);
        assert_eq!(policy.hash_oid.as_deref(), Some("2.16.840.1.101.3.4.2.1"));
    }

    #[test]
    fn a_fault_is_an_error_with_its_reason() {
        let fault = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>
  <s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>s:Authorization</s:Value></s:Subcode></s:Code>
  <s:Reason><s:Text xml:lang="en-US">forged blob</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#;
        assert_eq!(
            parse_enroll_response(fault),
            Err(SoapError::Fault {
                code: "s:Authorization".into(),
                reason: "forged blob".into()
            })
        );
    }

    #[test]
    fn only_a_soap_fault_body_counts_as_a_fault() {
        let fault = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>
  <s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>s:Authorization</s:Value></s:Subcode></s:Code>
  <s:Reason><s:Text xml:lang="en-US">token expired</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"#;
        assert!(matches!(
            fault_in(fault),
            Some(SoapError::Fault { code, reason }) if code == "s:Authorization" && reason == "token expired"
        ));
        // A proxy's error page that mentions the word, or a fault outside the SOAP namespace.
        assert!(fault_in("<html><body>Fault tolerance is down</body></html>").is_none());
        assert!(fault_in("Fault").is_none());
        let foreign = r#"<s:Envelope xmlns:s="urn:other"><s:Body><s:Fault/></s:Body></s:Envelope>"#;
        assert!(fault_in(foreign).is_none());
    }

    #[test]
    fn parses_an_rstr_and_its_provisioning_document() {
        let wap = r#"<wap-provisioningdoc version="1.1">
  <characteristic type="CertificateStore">
    <characteristic type="Root"><characteristic type="System"><characteristic type="AA">
      <parm name="EncodedCertificate" value="REVG"/></characteristic></characteristic></characteristic>
    <characteristic type="My"><characteristic type="System"><characteristic type="BB">
      <parm name="EncodedCertificate" value="QUJD"/></characteristic></characteristic></characteristic>
  </characteristic>
  <characteristic type="DMClient"><characteristic type="Provider"><characteristic type="Contoso">
    <parm name="ServerList" value="https://mdm.contoso.com/omadm"/></characteristic></characteristic></characteristic>
  <characteristic type="Policy"><characteristic type="Config"><characteristic type="Authentication">
    <parm name="EnableWebSignIn" value="1" datatype="integer"/></characteristic></characteristic></characteristic>
</wap-provisioningdoc>"#;
        let rstr = format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
  <RequestSecurityTokenResponseCollection xmlns="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><RequestSecurityTokenResponse>
    <TokenType>http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken</TokenType>
    <RequestedSecurityToken><BinarySecurityToken ValueType="http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">{}</BinarySecurityToken></RequestedSecurityToken>
    <RequestID xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollment">0</RequestID>
  </RequestSecurityTokenResponse></RequestSecurityTokenResponseCollection></s:Body></s:Envelope>"#,
            STANDARD.encode(wap)
        );
        let doc = parse_enroll_response(&rstr).unwrap();
        assert_eq!(doc, wap);
        let parsed = parse_provisioning_doc(&doc).unwrap();
        assert_eq!(parsed.ca_cert_der, b"DEF");
        assert_eq!(parsed.client_cert_der, b"ABC");
        assert_eq!(parsed.provider_id.as_deref(), Some("Contoso"));
        assert_eq!(
            parsed.server_url.as_deref(),
            Some("https://mdm.contoso.com/omadm")
        );
        assert_eq!(
            parsed.policies,
            vec![(
                "Policy/Config/Authentication/EnableWebSignIn".to_string(),
                "1".to_string()
            )]
        );
    }
}
