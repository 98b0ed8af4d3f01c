//! The STS's active (WS-Trust 1.3) side, for non-interactive clients: the WS-MetadataExchange
//! document that lists its `usernamemixed` endpoint with the WS-SecurityPolicy a username/password
//! client looks for, the parsing of a SOAP 1.2 `RequestSecurityToken` carrying a WS-Security
//! `UsernameToken`, and the `RequestSecurityTokenResponseCollection` / SOAP fault answers.
//!
//! Parsing uses `roxmltree`; documents are built by hand with every value XML-escaped. The
//! password read from a request is only compared, never kept or logged.

use crate::saml::{instant, xml_escape};
use roxmltree::{Document, Node};

pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";
pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
pub const WST13_NS: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
pub const WSP_NS: &str = "http://schemas.xmlsoap.org/ws/2004/09/policy";
pub const SP13_NS: &str = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702";
pub const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
pub const WSDL_SOAP12_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
/// SOAP action (and `wsa:Action`) of a WS-Trust 1.3 Issue request.
pub const RST_ISSUE_13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue";
/// `wsa:Action` of the final answer to an Issue request.
pub const RSTRC_ISSUE_FINAL_13: &str =
    "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal";
pub const REQUEST_TYPE_ISSUE_13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue";
pub const KEY_TYPE_BEARER_13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer";
pub const PASSWORD_TEXT: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
pub const SAML11_TOKEN_TYPE: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
const SOAP_HTTP_TRANSPORT: &str = "http://schemas.xmlsoap.org/soap/http";
const FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";
/// Where the username/password endpoint sits under the STS's origin.
pub const USERNAMEMIXED_13_PATH: &str = "/adfs/services/trust/13/usernamemixed";
pub const MEX_PATH: &str = "/adfs/services/trust/mex";

/// Why a WS-Trust request was refused before any credential check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WsTrustError {
    #[error("the request is not a well-formed SOAP 1.2 envelope: {0}")]
    Malformed(String),
    #[error("the request is not a WS-Trust 1.3 Issue request")]
    NotIssue,
    #[error("the request carries no WS-Security UsernameToken with a clear-text password")]
    NoUsernameToken,
    #[error("the request does not apply to urn:federation:MicrosoftOnline")]
    WrongAppliesTo,
}

/// A parsed `RequestSecurityToken` with its UsernameToken.
pub struct UsernameRequest {
    pub message_id: Option<String>,
    pub username: String,
    /// Compared once, then dropped with the request.
    pub password: String,
    pub applies_to: String,
}

fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is(c, ns, name))
}

fn text_of(node: Option<Node<'_, '_>>) -> Option<String> {
    node.and_then(|n| n.text()).map(|t| t.trim().to_string())
}

/// Parse a SOAP 1.2 WS-Trust 1.3 RST (as MSAL and the Windows logon send it).
pub fn parse_rst(xml: &str) -> Result<UsernameRequest, WsTrustError> {
    let doc = Document::parse(xml).map_err(|e| WsTrustError::Malformed(e.to_string()))?;
    let envelope = doc.root_element();
    if !is(&envelope, SOAP12_NS, "Envelope") {
        return Err(WsTrustError::Malformed(
            "root is not a SOAP 1.2 Envelope".into(),
        ));
    }
    let header = child(envelope, SOAP12_NS, "Header")
        .ok_or_else(|| WsTrustError::Malformed("no Header".into()))?;
    let body = child(envelope, SOAP12_NS, "Body")
        .ok_or_else(|| WsTrustError::Malformed("no Body".into()))?;
    if text_of(child(header, WSA_NS, "Action")).as_deref() != Some(RST_ISSUE_13) {
        return Err(WsTrustError::NotIssue);
    }
    let rst = child(body, WST13_NS, "RequestSecurityToken").ok_or(WsTrustError::NotIssue)?;
    if text_of(child(rst, WST13_NS, "RequestType")).as_deref() != Some(REQUEST_TYPE_ISSUE_13) {
        return Err(WsTrustError::NotIssue);
    }
    let token = child(header, WSSE_NS, "Security")
        .and_then(|s| child(s, WSSE_NS, "UsernameToken"))
        .ok_or(WsTrustError::NoUsernameToken)?;
    let username =
        text_of(child(token, WSSE_NS, "Username")).ok_or(WsTrustError::NoUsernameToken)?;
    let password_node = child(token, WSSE_NS, "Password").ok_or(WsTrustError::NoUsernameToken)?;
    if password_node
        .attribute("Type")
        .is_some_and(|t| t != PASSWORD_TEXT)
    {
        return Err(WsTrustError::NoUsernameToken);
    }
    let password = password_node.text().unwrap_or("").to_string();
    let applies_to = child(rst, WSP_NS, "AppliesTo")
        .and_then(|a| child(a, WSA_NS, "EndpointReference"))
        .and_then(|e| text_of(child(e, WSA_NS, "Address")))
        .ok_or(WsTrustError::WrongAppliesTo)?;
    Ok(UsernameRequest {
        message_id: text_of(child(header, WSA_NS, "MessageID")),
        username,
        password,
        applies_to,
    })
}

/// The MEX document of an STS at `base` (its https origin): one policy requiring a
/// UsernameToken (WssUsernameToken10) inside SignedEncryptedSupportingTokens over transport
/// security (HttpsToken), one SOAP 1.2 binding of the WS-Trust 1.3 Issue operation under that
/// policy, one port. Client libraries keep only https addresses from it; no windowstransport
/// port is listed, as this STS has no integrated Windows authentication to offer.
pub fn mex_document(base: &str) -> String {
    let address = xml_escape(&format!("{base}{USERNAMEMIXED_13_PATH}"));
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<wsdl:definitions name=\"SecurityTokenService\" targetNamespace=\"http://tempuri.org/\" \
xmlns:wsdl=\"{WSDL_NS}\" xmlns:soap12=\"{WSDL_SOAP12_NS}\" xmlns:wsp=\"{WSP_NS}\" \
xmlns:wsu=\"{WSU_NS}\" xmlns:sp=\"{SP13_NS}\" xmlns:wsa10=\"{WSA_NS}\" xmlns:tns=\"http://tempuri.org/\">\
<wsp:Policy wsu:Id=\"UserNameWSTrustBinding_IWSTrust13Async_policy\"><wsp:ExactlyOne><wsp:All>\
<sp:TransportBinding><wsp:Policy><sp:TransportToken><wsp:Policy><sp:HttpsToken/></wsp:Policy></sp:TransportToken>\
<sp:AlgorithmSuite><wsp:Policy><sp:Basic256/></wsp:Policy></sp:AlgorithmSuite>\
<sp:Layout><wsp:Policy><sp:Strict/></wsp:Policy></sp:Layout><sp:IncludeTimestamp/></wsp:Policy></sp:TransportBinding>\
<sp:SignedEncryptedSupportingTokens><wsp:Policy>\
<sp:UsernameToken sp:IncludeToken=\"http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient\">\
<wsp:Policy><sp:WssUsernameToken10/></wsp:Policy></sp:UsernameToken></wsp:Policy></sp:SignedEncryptedSupportingTokens>\
<sp:Wss11><wsp:Policy/></sp:Wss11><sp:Trust13><wsp:Policy><sp:MustSupportIssuedTokens/>\
<sp:RequireClientEntropy/><sp:RequireServerEntropy/></wsp:Policy></sp:Trust13>\
</wsp:All></wsp:ExactlyOne></wsp:Policy>\
<wsdl:binding name=\"UserNameWSTrustBinding_IWSTrust13Async\" type=\"tns:IWSTrust13Async\">\
<wsp:PolicyReference URI=\"#UserNameWSTrustBinding_IWSTrust13Async_policy\"/>\
<soap12:binding transport=\"{SOAP_HTTP_TRANSPORT}\"/>\
<wsdl:operation name=\"Trust13IssueAsync\"><soap12:operation soapAction=\"{RST_ISSUE_13}\" style=\"document\"/>\
<wsdl:input><soap12:body use=\"literal\"/></wsdl:input><wsdl:output><soap12:body use=\"literal\"/></wsdl:output>\
</wsdl:operation></wsdl:binding>\
<wsdl:service name=\"SecurityTokenService\">\
<wsdl:port name=\"UserNameWSTrustBinding_IWSTrust13Async\" binding=\"tns:UserNameWSTrustBinding_IWSTrust13Async\">\
<soap12:address location=\"{address}\"/>\
<wsa10:EndpointReference><wsa10:Address>{address}</wsa10:Address></wsa10:EndpointReference>\
</wsdl:port></wsdl:service></wsdl:definitions>"
    )
}

fn relates_to(message_id: Option<&str>) -> String {
    message_id
        .map(|id| format!("<a:RelatesTo>{}</a:RelatesTo>", xml_escape(id)))
        .unwrap_or_default()
}

/// The RSTR collection carrying `assertion` (a signed SAML 1.1 assertion, inserted verbatim).
pub fn rstr_collection(
    assertion: &str,
    created: i64,
    expires: i64,
    message_id: Option<&str>,
) -> String {
    let (created, expires) = (instant(created), instant(expires));
    format!(
        "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:a=\"{WSA_NS}\" xmlns:u=\"{WSU_NS}\">\
<s:Header><a:Action s:mustUnderstand=\"1\">{RSTRC_ISSUE_FINAL_13}</a:Action>{relates}\
<o:Security s:mustUnderstand=\"1\" xmlns:o=\"{WSSE_NS}\"><u:Timestamp u:Id=\"_0\">\
<u:Created>{created}</u:Created><u:Expires>{short}</u:Expires></u:Timestamp></o:Security></s:Header>\
<s:Body><trust:RequestSecurityTokenResponseCollection xmlns:trust=\"{WST13_NS}\">\
<trust:RequestSecurityTokenResponse><trust:Lifetime><u:Created>{created}</u:Created><u:Expires>{expires}</u:Expires></trust:Lifetime>\
<wsp:AppliesTo xmlns:wsp=\"{WSP_NS}\"><a:EndpointReference><a:Address>{online}</a:Address></a:EndpointReference></wsp:AppliesTo>\
<trust:RequestedSecurityToken>{assertion}</trust:RequestedSecurityToken>\
<trust:TokenType>{SAML11_TOKEN_TYPE}</trust:TokenType>\
<trust:RequestType>{REQUEST_TYPE_ISSUE_13}</trust:RequestType>\
<trust:KeyType>{KEY_TYPE_BEARER_13}</trust:KeyType>\
</trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection></s:Body></s:Envelope>",
        relates = relates_to(message_id),
        short = instant(crate::tokens::now() + 300),
        online = crate::saml::MICROSOFT_ONLINE,
    )
}

/// Fault subcodes this STS answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// `wsse:FailedAuthentication`: wrong user name or password, or a factor the endpoint
    /// cannot prove.
    FailedAuthentication,
    /// `trust:InvalidRequest`: not an Issue request for Microsoft Online.
    InvalidRequest,
}

/// A SOAP 1.2 `Sender` fault.
pub fn fault(code: FaultCode, reason: &str, message_id: Option<&str>) -> String {
    let (ns, name) = match code {
        FaultCode::FailedAuthentication => (WSSE_NS, "FailedAuthentication"),
        FaultCode::InvalidRequest => (WST13_NS, "InvalidRequest"),
    };
    format!(
        "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:a=\"{WSA_NS}\">\
<s:Header><a:Action s:mustUnderstand=\"1\">{FAULT_ACTION}</a:Action>{relates}</s:Header>\
<s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value xmlns:f=\"{ns}\">f:{name}</s:Value></s:Subcode></s:Code>\
<s:Reason><s:Text xml:lang=\"en-US\">{reason}</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>",
        relates = relates_to(message_id),
        reason = xml_escape(reason),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rst(action: &str, applies_to: &str, password_type: &str) -> String {
        format!(
            "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:a=\"{WSA_NS}\"><s:Header><a:Action>{action}</a:Action>\
<a:MessageID>urn:uuid:1</a:MessageID><o:Security xmlns:o=\"{WSSE_NS}\"><o:UsernameToken>\
<o:Username>u@x.test</o:Username><o:Password Type=\"{password_type}\">p&amp;w</o:Password></o:UsernameToken></o:Security></s:Header>\
<s:Body><t:RequestSecurityToken xmlns:t=\"{WST13_NS}\"><p:AppliesTo xmlns:p=\"{WSP_NS}\"><a:EndpointReference>\
<a:Address>{applies_to}</a:Address></a:EndpointReference></p:AppliesTo><t:KeyType>{KEY_TYPE_BEARER_13}</t:KeyType>\
<t:RequestType>{REQUEST_TYPE_ISSUE_13}</t:RequestType></t:RequestSecurityToken></s:Body></s:Envelope>"
        )
    }

    #[test]
    fn a_username_rst_is_read() {
        let request = parse_rst(&rst(
            RST_ISSUE_13,
            "urn:federation:MicrosoftOnline",
            PASSWORD_TEXT,
        ))
        .unwrap();
        assert_eq!(request.username, "u@x.test");
        assert_eq!(request.password, "p&w");
        assert_eq!(request.applies_to, "urn:federation:MicrosoftOnline");
        assert_eq!(request.message_id.as_deref(), Some("urn:uuid:1"));
    }

    #[test]
    fn other_actions_digests_and_documents_are_refused() {
        let online = "urn:federation:MicrosoftOnline";
        let ws2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue";
        assert_eq!(
            parse_rst(&rst(ws2005, online, PASSWORD_TEXT)).err(),
            Some(WsTrustError::NotIssue)
        );
        let digest = PASSWORD_TEXT.replace("Text", "Digest");
        assert_eq!(
            parse_rst(&rst(RST_ISSUE_13, online, &digest)).err(),
            Some(WsTrustError::NoUsernameToken)
        );
        assert!(matches!(parse_rst("<x"), Err(WsTrustError::Malformed(_))));
    }

    #[test]
    fn the_mex_document_and_fault_are_well_formed_and_escaped() {
        let mex = mex_document("https://sts.test/a&b");
        let doc = Document::parse(&mex).unwrap();
        let address = doc
            .descendants()
            .find(|n| is(n, WSA_NS, "Address"))
            .and_then(|n| n.text())
            .unwrap();
        assert_eq!(
            address,
            "https://sts.test/a&b/adfs/services/trust/13/usernamemixed"
        );
        let fault = fault(FaultCode::FailedAuthentication, "<no>", Some("urn:uuid:1"));
        let doc = Document::parse(&fault).unwrap();
        assert!(doc.descendants().any(|n| n.text() == Some("<no>")));
    }
}
