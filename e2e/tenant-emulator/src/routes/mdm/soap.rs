//! The MDM role's SOAP: parse MS-MDE2 Discover, MS-XCEP GetPolicies and MS-WSTEP
//! RequestSecurityToken; build their responses, the `wap-provisioningdoc` and SOAP faults.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::mdm::*;
use cxh_wire::xml::{find, text_of};
use roxmltree::{Document, Node};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SoapError {
    #[error("the body is not well-formed XML: {0}")]
    Xml(String),
    #[error("the message has no {0} element")]
    Missing(&'static str),
    #[error("the {0} is not valid base64")]
    Base64(&'static str),
    #[error("the security token has ValueType {0:?}; expected {VALUE_TYPE_JWT}")]
    TokenType(String),
}

/// A parsed Discover request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverRequest {
    pub message_id: Option<String>,
    pub email: Option<String>,
    pub request_version: Option<String>,
    pub auth_policies: Vec<String>,
}

/// A parsed RequestSecurityToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollRequest {
    pub message_id: Option<String>,
    /// The JWT from the header's BinarySecurityToken (decoded from base64).
    pub token: String,
    /// The PKCS#10 request, DER.
    pub csr_der: Vec<u8>,
    /// AdditionalContext items, in order.
    pub context: Vec<(String, String)>,
}

impl EnrollRequest {
    pub fn context_item(&self, name: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn parse(xml: &str) -> Result<Document<'_>, SoapError> {
    Document::parse(xml).map_err(|e| SoapError::Xml(e.to_string()))
}

fn message_id(root: Node<'_, '_>) -> Option<String> {
    text_of(root, NS_ADDRESSING, "MessageID")
}

fn decode(text: &str, what: &'static str) -> Result<Vec<u8>, SoapError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(compact)
        .map_err(|_| SoapError::Base64(what))
}

/// Parse `Discover` (MS-MDE2 3.1.4.1).
pub fn parse_discover(xml: &str) -> Result<DiscoverRequest, SoapError> {
    let doc = parse(xml)?;
    let root = doc.root();
    let discover = find(root, NS_DISCOVERY, "Discover").ok_or(SoapError::Missing("Discover"))?;
    Ok(DiscoverRequest {
        message_id: message_id(root),
        email: text_of(discover, NS_DISCOVERY, "EmailAddress"),
        request_version: text_of(discover, NS_DISCOVERY, "RequestVersion"),
        auth_policies: discover
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "AuthPolicy")
            .filter_map(|n| n.text().map(|t| t.trim().to_string()))
            .collect(),
    })
}

/// The federated security token of a request header: the JWT, base64 in a
/// `wsse:BinarySecurityToken` of ValueType `urn:ietf:params:oauth:token-type:jwt`.
pub fn security_token(xml: &str) -> Result<String, SoapError> {
    let doc = parse(xml)?;
    let security = find(doc.root(), NS_WSSE, "Security").ok_or(SoapError::Missing("Security"))?;
    let token = find(security, NS_WSSE, "BinarySecurityToken")
        .ok_or(SoapError::Missing("BinarySecurityToken"))?;
    let value_type = token.attribute("ValueType").unwrap_or_default();
    if value_type != VALUE_TYPE_JWT {
        return Err(SoapError::TokenType(value_type.to_string()));
    }
    let raw = decode(token.text().unwrap_or_default(), "security token")?;
    String::from_utf8(raw).map_err(|_| SoapError::Base64("security token"))
}

/// Message id of a GetPolicies request (checking it is one).
pub fn parse_get_policies(xml: &str) -> Result<Option<String>, SoapError> {
    let doc = parse(xml)?;
    find(doc.root(), NS_XCEP, "GetPolicies").ok_or(SoapError::Missing("GetPolicies"))?;
    Ok(message_id(doc.root()))
}

/// Parse `RequestSecurityToken` (MS-WSTEP with the MS-MDE2 AdditionalContext).
pub fn parse_enroll(xml: &str) -> Result<EnrollRequest, SoapError> {
    let token = security_token(xml)?;
    let doc = parse(xml)?;
    let root = doc.root();
    let rst = find(root, NS_WST, "RequestSecurityToken")
        .ok_or(SoapError::Missing("RequestSecurityToken"))?;
    let csr = rst
        .descendants()
        .find(|n| {
            n.is_element()
                && n.tag_name().name() == "BinarySecurityToken"
                && n.attribute("ValueType") == Some(VALUE_TYPE_PKCS10)
        })
        .ok_or(SoapError::Missing("PKCS#10 BinarySecurityToken"))?;
    let context = find(rst, NS_AC, "AdditionalContext")
        .map(|ac| {
            ac.children()
                .filter(|n| n.is_element() && n.tag_name().name() == "ContextItem")
                .map(|item| {
                    let value = text_of(item, NS_AC, "Value").unwrap_or_default();
                    (
                        item.attribute("Name").unwrap_or_default().to_string(),
                        value,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(EnrollRequest {
        message_id: message_id(root),
        token,
        csr_der: decode(csr.text().unwrap_or_default(), "PKCS#10 request")?,
        context,
    })
}

/// Escape text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn envelope(action: &str, relates_to: Option<&str>, body: &str) -> String {
    let relates = relates_to
        .map(|id| format!("<a:RelatesTo>{}</a:RelatesTo>", escape(id)))
        .unwrap_or_default();
    format!(
        "<s:Envelope xmlns:s=\"{NS_SOAP}\" xmlns:a=\"{NS_ADDRESSING}\">\
         <s:Header><a:Action s:mustUnderstand=\"1\">{action}</a:Action>{relates}</s:Header>\
         <s:Body>{body}</s:Body></s:Envelope>"
    )
}

/// `DiscoverResponse`: Federated auth, the policy and enrollment service URLs.
pub fn discover_response(
    relates_to: Option<&str>,
    policy_url: &str,
    enrollment_url: &str,
) -> String {
    let body = format!(
        "<DiscoverResponse xmlns=\"{NS_DISCOVERY}\"><DiscoverResult>\
         <AuthPolicy>{AUTH_POLICY_FEDERATED}</AuthPolicy>\
         <EnrollmentVersion>{ENROLLMENT_VERSION}</EnrollmentVersion>\
         <EnrollmentPolicyServiceUrl>{}</EnrollmentPolicyServiceUrl>\
         <EnrollmentServiceUrl>{}</EnrollmentServiceUrl>\
         </DiscoverResult></DiscoverResponse>",
        escape(policy_url),
        escape(enrollment_url)
    );
    envelope(ACTION_DISCOVER_RESPONSE, relates_to, &body)
}

/// `GetPoliciesResponse`: one policy, RSA-2048 minimum, SHA-256.
pub fn get_policies_response(relates_to: Option<&str>) -> String {
    let nil = "xsi:nil=\"true\"";
    let body = format!(
        "<GetPoliciesResponse xmlns=\"{NS_XCEP}\" xmlns:xsi=\"{NS_XSI}\"><response>\
         <policyID/><policyFriendlyName {nil}/><nextUpdateHours {nil}/><policiesNotChanged {nil}/>\
         <policies><policy><policyOIDReference>0</policyOIDReference><cAs {nil}/><attributes>\
         <commonName>MdmDeviceEnrollment</commonName><policySchema>3</policySchema>\
         <certificateValidity><validityPeriodSeconds>31536000</validityPeriodSeconds>\
         <renewalPeriodSeconds>2592000</renewalPeriodSeconds></certificateValidity>\
         <permission><enroll>true</enroll><autoEnroll>false</autoEnroll></permission>\
         <privateKeyAttributes><minimalKeyLength>2048</minimalKeyLength><keySpec {nil}/>\
         <keyUsageProperty {nil}/><permissions {nil}/><algorithmOIDReference {nil}/>\
         <cryptoProviders {nil}/></privateKeyAttributes>\
         <revision><majorRevision>101</majorRevision><minorRevision>0</minorRevision></revision>\
         <supersededPolicies {nil}/><privateKeyFlags {nil}/><subjectNameFlags {nil}/>\
         <enrollmentFlags {nil}/><generalFlags {nil}/>\
         <hashAlgorithmOIDReference>0</hashAlgorithmOIDReference><rARequirements {nil}/>\
         <keyArchivalAttributes {nil}/><extensions {nil}/></attributes></policy></policies>\
         </response><cAs {nil}/><oIDs><oID><value>2.16.840.1.101.3.4.2.1</value><group>1</group>\
         <oIDReferenceID>0</oIDReferenceID><defaultName>szOID_NIST_sha256</defaultName></oID></oIDs>\
         </GetPoliciesResponse>"
    );
    envelope(ACTION_GET_POLICIES_RESPONSE, relates_to, &body)
}

/// What the provisioning document installs.
pub struct Provisioning<'a> {
    /// Base64 DER of the management certificate and of the MDM CA.
    pub client_cert_b64: &'a str,
    pub client_thumbprint: &'a str,
    pub ca_cert_b64: &'a str,
    pub ca_thumbprint: &'a str,
    pub provider_id: &'a str,
    pub server_url: &'a str,
    /// Value of the first (sign-in) policy.
    pub sign_in_policy: &'a str,
}

/// The `wap-provisioningdoc` (MS-MDE2 3.1.4.2.2): the CA in Root, the client certificate in
/// My, the DM client's server, and the first policy.
pub fn provisioning_doc(p: &Provisioning<'_>) -> String {
    let parm = |name: &str, value: &str, datatype: &str| {
        format!(
            "<parm name=\"{}\" value=\"{}\" datatype=\"{datatype}\"/>",
            escape(name),
            escape(value)
        )
    };
    let (policy_area, policy_name) = SIGN_IN_POLICY_PATH
        .rsplit_once('/')
        .unwrap_or(("Policy", SIGN_IN_POLICY_PATH));
    let policy_nodes: Vec<&str> = policy_area.split('/').collect();
    let open: String = policy_nodes
        .iter()
        .map(|n| format!("<characteristic type=\"{n}\">"))
        .collect();
    let close = "</characteristic>".repeat(policy_nodes.len());
    format!(
        "<wap-provisioningdoc version=\"1.1\">\
         <characteristic type=\"CertificateStore\"><characteristic type=\"Root\">\
         <characteristic type=\"System\"><characteristic type=\"{ca_tp}\">{ca}</characteristic>\
         </characteristic></characteristic>\
         <characteristic type=\"My\"><characteristic type=\"System\">\
         <characteristic type=\"{client_tp}\">{client}</characteristic></characteristic></characteristic>\
         </characteristic>\
         <characteristic type=\"DMClient\"><characteristic type=\"Provider\">\
         <characteristic type=\"{provider}\">{server}{entdm}</characteristic></characteristic></characteristic>\
         {open}{policy}{close}\
         </wap-provisioningdoc>",
        ca_tp = escape(p.ca_thumbprint),
        ca = parm("EncodedCertificate", p.ca_cert_b64, "string"),
        client_tp = escape(p.client_thumbprint),
        client = parm("EncodedCertificate", p.client_cert_b64, "string"),
        provider = escape(p.provider_id),
        server = parm("ServerList", p.server_url, "string"),
        entdm = parm("EntDMID", p.provider_id, "string"),
        policy = parm(policy_name, p.sign_in_policy, "integer"),
    )
}

/// `RequestSecurityTokenResponseCollection` with the base64 provisioning document.
pub fn enroll_response(relates_to: Option<&str>, provisioning_doc: &str) -> String {
    let doc_b64 = STANDARD.encode(provisioning_doc.as_bytes());
    let body = format!(
        "<RequestSecurityTokenResponseCollection xmlns=\"{NS_WST}\"><RequestSecurityTokenResponse>\
         <TokenType>{TOKEN_TYPE_DEVICE_ENROLLMENT}</TokenType><RequestedSecurityToken>\
         <BinarySecurityToken xmlns=\"{NS_WSSE}\" ValueType=\"{VALUE_TYPE_PROVISION_DOC}\" \
         EncodingType=\"{ENCODING_BASE64}\">{doc_b64}</BinarySecurityToken>\
         </RequestedSecurityToken><RequestID xmlns=\"{NS_ENROLLMENT}\">0</RequestID>\
         </RequestSecurityTokenResponse></RequestSecurityTokenResponseCollection>"
    );
    envelope(ACTION_RSTRC, relates_to, &body)
}

/// A SOAP 1.2 fault with an MS-MDE2 error subcode (e.g. `s:Authentication`).
pub fn fault(sender: bool, subcode: &str, reason: &str) -> String {
    let code = if sender { "s:Sender" } else { "s:Receiver" };
    let body = format!(
        "<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>s:{}</s:Value>\
         </s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en-US\">{}</s:Text></s:Reason></s:Fault>",
        escape(subcode),
        escape(reason)
    );
    envelope(
        "http://www.w3.org/2005/08/addressing/soap/fault",
        None,
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Discover request as MS-MDE2 4.1 shows it (values ours).
    const DISCOVER: &str = r#"<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover</a:Action>
    <a:MessageID>urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478</a:MessageID>
    <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
    <a:To s:mustUnderstand="1">https://mdm.contoso.com/EnrollmentServer/Discovery.svc</a:To>
  </s:Header>
  <s:Body>
    <Discover xmlns="http://schemas.microsoft.com/windows/management/2012/01/enrollment">
      <request xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
        <EmailAddress>user@contoso.com</EmailAddress>
        <RequestVersion>4.0</RequestVersion>
        <DeviceType>CIMClient_Windows</DeviceType>
        <ApplicationVersion>10.0.26100.1</ApplicationVersion>
        <OSEdition>48</OSEdition>
        <AuthPolicies><AuthPolicy>OnPremise</AuthPolicy><AuthPolicy>Federated</AuthPolicy></AuthPolicies>
      </request>
    </Discover>
  </s:Body>
</s:Envelope>"#;

    fn rst(token_type: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" xmlns:ac="http://schemas.xmlsoap.org/ws/2006/12/authorization">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep</a:Action>
    <a:MessageID>urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749</a:MessageID>
    <wsse:Security s:mustUnderstand="1">
      <wsse:BinarySecurityToken ValueType="{token_type}" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary">ZXlKaGJHY2lPaUpTVXpJMU5pSjkuZS5m</wsse:BinarySecurityToken>
    </wsse:Security>
  </s:Header>
  <s:Body>
    <wst:RequestSecurityToken>
      <wst:TokenType>http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken</wst:TokenType>
      <wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType>
      <wsse:BinarySecurityToken ValueType="http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary">AQID</wsse:BinarySecurityToken>
      <ac:AdditionalContext xmlns="http://schemas.xmlsoap.org/ws/2006/12/authorization">
        <ac:ContextItem Name="UXInitiated"><ac:Value>true</ac:Value></ac:ContextItem>
        <ac:ContextItem Name="EnrollmentType"><ac:Value>Device</ac:Value></ac:ContextItem>
        <ac:ContextItem Name="DeviceID"><ac:Value>8e1c6f0a-1111-2222-3333-444455556666</ac:Value></ac:ContextItem>
        <ac:ContextItem Name="EnrollmentData"><ac:Value>blob-1</ac:Value></ac:ContextItem>
      </ac:AdditionalContext>
    </wst:RequestSecurityToken>
  </s:Body>
</s:Envelope>"#
        )
    }

    #[test]
    fn parses_the_spec_discover_request() {
        let request = parse_discover(DISCOVER).unwrap();
        assert_eq!(request.email.as_deref(), Some("user@contoso.com"));
        assert_eq!(request.request_version.as_deref(), Some("4.0"));
        assert_eq!(request.auth_policies, vec!["OnPremise", "Federated"]);
        assert_eq!(
            request.message_id.as_deref(),
            Some("urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478")
        );
        assert_eq!(parse_discover("<a/>"), Err(SoapError::Missing("Discover")));
    }

    #[test]
    fn parses_the_spec_rst_with_its_context() {
        let request = parse_enroll(&rst(VALUE_TYPE_JWT)).unwrap();
        assert_eq!(request.token, "eyJhbGciOiJSUzI1NiJ9.e.f");
        assert_eq!(request.csr_der, vec![1, 2, 3]);
        assert_eq!(request.context_item("EnrollmentType"), Some("Device"));
        assert_eq!(request.context_item("enrollmentdata"), Some("blob-1"));
        assert_eq!(
            request.context_item("DeviceID"),
            Some("8e1c6f0a-1111-2222-3333-444455556666")
        );
        assert!(matches!(
            parse_enroll(&rst("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3")),
            Err(SoapError::TokenType(_))
        ));
    }

    #[test]
    fn responses_are_well_formed_and_carry_the_document() {
        let discover = discover_response(Some("urn:uuid:1"), "https://m/P", "https://m/E?a=1&b=2");
        let doc = Document::parse(&discover).unwrap();
        assert_eq!(
            text_of(doc.root(), NS_DISCOVERY, "EnrollmentServiceUrl").as_deref(),
            Some("https://m/E?a=1&b=2")
        );
        Document::parse(&get_policies_response(None)).unwrap();
        let wap = provisioning_doc(&Provisioning {
            client_cert_b64: "QUJD",
            client_thumbprint: "AA",
            ca_cert_b64: "REVG",
            ca_thumbprint: "BB",
            provider_id: "cxh-emulator-mdm",
            server_url: "https://m/omadm",
            sign_in_policy: "1",
        });
        let wap_doc = Document::parse(&wap).unwrap();
        assert!(wap_doc
            .descendants()
            .any(|n| n.attribute("name") == Some("EnableWebSignIn")));
        let rstr = enroll_response(Some("urn:uuid:2"), &wap);
        let doc = Document::parse(&rstr).unwrap();
        let token = find(doc.root(), NS_WSSE, "BinarySecurityToken").unwrap();
        assert_eq!(token.attribute("ValueType"), Some(VALUE_TYPE_PROVISION_DOC));
        let decoded = STANDARD.decode(token.text().unwrap()).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), wap);
        Document::parse(&fault(true, "Authentication", "bad <token>")).unwrap();
    }
}
