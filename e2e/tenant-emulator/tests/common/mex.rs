//! How a username/password client library reads an STS's WS-MetadataExchange document (MSAL
//! Python's `mex.py`, ADAL .NET's `MexParser`): a policy whose SignedEncryptedSupportingTokens
//! require a WssUsernameToken10, a SOAP 1.2 binding referencing it with the WS-Trust 1.3 Issue
//! action, and the port of that binding with its `wsa10:EndpointReference` address, kept only
//! when it is an https URL (an http endpoint is dropped, so an STS served over plain http has
//! no usable endpoint for them).

use roxmltree::{Document, Node};
use tenant_emulator::wstrust::*;

fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

/// The usernamemixed endpoint such a client would use, if any.
pub fn usernamemixed_endpoint(mex: &str) -> Option<String> {
    let doc = Document::parse(mex).ok()?;
    let definitions = doc.root_element();
    let policy_ids: Vec<&str> = definitions
        .children()
        .filter(|n| is(n, WSP_NS, "Policy"))
        .filter(|policy| {
            policy.descendants().any(|n| {
                is(&n, SP13_NS, "WssUsernameToken10")
                    && n.ancestors()
                        .any(|a| is(&a, SP13_NS, "SignedEncryptedSupportingTokens"))
            })
        })
        .filter_map(|policy| policy.attribute((WSU_NS, "Id")))
        .collect();
    let binding_names: Vec<&str> = definitions
        .children()
        .filter(|n| is(n, WSDL_NS, "binding"))
        .filter(|binding| {
            let referenced = binding
                .children()
                .filter(|n| is(n, WSP_NS, "PolicyReference"))
                .filter_map(|n| n.attribute("URI"))
                .any(|uri| policy_ids.iter().any(|id| uri == format!("#{id}")));
            let soap12 = binding.children().any(|n| {
                is(&n, WSDL_SOAP12_NS, "binding")
                    && n.attribute("transport") == Some("http://schemas.xmlsoap.org/soap/http")
            });
            let trust13 = binding.descendants().any(|n| {
                is(&n, WSDL_SOAP12_NS, "operation")
                    && n.attribute("soapAction") == Some(RST_ISSUE_13)
            });
            referenced && soap12 && trust13
        })
        .filter_map(|binding| binding.attribute("name"))
        .collect();
    definitions
        .descendants()
        .filter(|n| is(n, WSDL_NS, "port"))
        .filter(|port| {
            port.attribute("binding")
                .and_then(|b| b.rsplit(':').next())
                .is_some_and(|name| binding_names.contains(&name))
        })
        .filter_map(|port| {
            port.descendants()
                .find(|n| is(n, WSA_NS, "Address"))
                .and_then(|n| n.text())
        })
        .map(str::trim)
        .find(|address| address.to_ascii_lowercase().starts_with("https://"))
        .map(str::to_string)
}

/// Every endpoint address of the document (`soap12:address` locations and `wsa10:Address`
/// texts) that is not https.
pub fn plain_http_addresses(mex: &str) -> Vec<String> {
    let doc = Document::parse(mex).expect("MEX is XML");
    doc.descendants()
        .filter_map(|n| {
            if is(&n, WSDL_SOAP12_NS, "address") {
                n.attribute("location").map(str::to_string)
            } else if is(&n, WSA_NS, "Address") {
                n.text().map(|t| t.trim().to_string())
            } else {
                None
            }
        })
        .filter(|address| !address.to_ascii_lowercase().starts_with("https://"))
        .collect()
}
