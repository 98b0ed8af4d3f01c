//! The device side of MS-MDE2's SOAP: build Discover, GetPolicies (MS-XCEP) and
//! RequestSecurityToken (MS-WSTEP). Their answers are parsed by `cxh_wire::mdm_response`
//! (re-exported here), with the other bytes the bridge takes from the tenant.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::mdm::*;

pub use cxh_wire::mdm_response::*;

/// Escape text for XML content and attribute values.
pub use crate::markup::escape;

fn header(action: &str, message_id: &str, to: &str, security: &str) -> String {
    format!(
        "<s:Header><a:Action s:mustUnderstand=\"1\">{action}</a:Action>\
         <a:MessageID>urn:uuid:{message_id}</a:MessageID>\
         <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>\
         <a:To s:mustUnderstand=\"1\">{}</a:To>{security}</s:Header>",
        escape(to)
    )
}

/// The WS-Security header carrying the Entra access token (base64 of the JWT).
fn jwt_security(jwt: &str) -> String {
    format!(
        "<wsse:Security s:mustUnderstand=\"1\"><wsse:BinarySecurityToken ValueType=\"{VALUE_TYPE_JWT}\" \
         EncodingType=\"{ENCODING_BASE64}\">{}</wsse:BinarySecurityToken></wsse:Security>",
        STANDARD.encode(jwt.as_bytes())
    )
}

fn envelope(header: &str, body: &str) -> String {
    format!(
        "<s:Envelope xmlns:s=\"{NS_SOAP}\" xmlns:a=\"{NS_ADDRESSING}\" xmlns:u=\"{NS_WSU}\" \
         xmlns:wsse=\"{NS_WSSE}\" xmlns:wst=\"{NS_WST}\" xmlns:ac=\"{NS_AC}\">{header}<s:Body>{body}</s:Body></s:Envelope>"
    )
}

/// What the device says about itself in Discover and the RST.
pub struct DeviceFacts<'a> {
    pub upn: &'a str,
    pub os_version: &'a str,
    pub device_name: &'a str,
    pub device_id: &'a str,
}

/// MS-MDE2 Discover, asking for federated (Entra) authentication.
pub fn discover_request(message_id: &str, to: &str, device: &DeviceFacts<'_>) -> String {
    let body = format!(
        "<Discover xmlns=\"{NS_DISCOVERY}\"><request xmlns:i=\"{NS_XSI}\">\
         <EmailAddress>{}</EmailAddress><RequestVersion>{ENROLLMENT_VERSION}</RequestVersion>\
         <DeviceType>{DEVICE_TYPE_WINDOWS}</DeviceType><ApplicationVersion>{}</ApplicationVersion>\
         <OSEdition>48</OSEdition><AuthPolicies><AuthPolicy>{AUTH_POLICY_FEDERATED}</AuthPolicy></AuthPolicies>\
         </request></Discover>",
        escape(device.upn),
        escape(device.os_version)
    );
    envelope(&header(ACTION_DISCOVER, message_id, to, ""), &body)
}

/// MS-XCEP GetPolicies with the access token.
pub fn get_policies_request(message_id: &str, to: &str, jwt: &str) -> String {
    let body = format!(
        "<GetPolicies xmlns=\"{NS_XCEP}\"><client><lastUpdate xsi:nil=\"true\" xmlns:xsi=\"{NS_XSI}\"/>\
         <preferredLanguage xsi:nil=\"true\" xmlns:xsi=\"{NS_XSI}\"/></client>\
         <requestFilter xsi:nil=\"true\" xmlns:xsi=\"{NS_XSI}\"/></GetPolicies>"
    );
    envelope(
        &header(ACTION_GET_POLICIES, message_id, to, &jwt_security(jwt)),
        &body,
    )
}

/// MS-WSTEP RequestSecurityToken: the PKCS#10 and the AdditionalContext of an Entra-joined
/// device enrollment (EnrollmentType=Device, DeviceID, EnrollmentData = the OpaqueBlob).
pub fn enroll_request(
    message_id: &str,
    to: &str,
    jwt: &str,
    csr_der: &[u8],
    device: &DeviceFacts<'_>,
    opaque_blob: Option<&str>,
) -> String {
    let mut items = vec![
        ("UXInitiated", "true"),
        ("EnrollmentType", "Device"),
        ("DeviceType", DEVICE_TYPE_WINDOWS),
        ("ApplicationVersion", device.os_version),
        ("OSVersion", device.os_version),
        ("DeviceName", device.device_name),
        ("DeviceID", device.device_id),
    ];
    if let Some(blob) = opaque_blob {
        items.push(("EnrollmentData", blob));
    }
    let context: String = items
        .iter()
        .map(|(name, value)| {
            format!(
                "<ac:ContextItem Name=\"{name}\"><ac:Value>{}</ac:Value></ac:ContextItem>",
                escape(value)
            )
        })
        .collect();
    let body = format!(
        "<wst:RequestSecurityToken><wst:TokenType>{TOKEN_TYPE_DEVICE_ENROLLMENT}</wst:TokenType>\
         <wst:RequestType>{REQUEST_TYPE_ISSUE}</wst:RequestType>\
         <wsse:BinarySecurityToken ValueType=\"{VALUE_TYPE_PKCS10}\" EncodingType=\"{ENCODING_BASE64}\">{}</wsse:BinarySecurityToken>\
         <ac:AdditionalContext xmlns=\"{NS_AC}\">{context}</ac:AdditionalContext></wst:RequestSecurityToken>",
        STANDARD.encode(csr_der)
    );
    envelope(
        &header(ACTION_RST, message_id, to, &jwt_security(jwt)),
        &body,
    )
}
#[cfg(test)]
mod tests {
    use super::*;
    use cxh_wire::xml::text_of;
    use roxmltree::Document;

    fn device() -> DeviceFacts<'static> {
        DeviceFacts {
            upn: "nestor@contoso.com",
            os_version: "10.0.26100.1",
            device_name: "DESKTOP-1",
            device_id: "8e1c6f0a-1111-2222-3333-444455556666",
        }
    }

    #[test]
    fn built_requests_carry_what_ms_mde2_requires() {
        let discover = discover_request("1", "https://m/EnrollmentServer/Discovery.svc", &device());
        let doc = Document::parse(&discover).unwrap();
        assert_eq!(
            text_of(doc.root(), NS_DISCOVERY, "EmailAddress").as_deref(),
            Some("nestor@contoso.com")
        );
        assert_eq!(
            text_of(doc.root(), NS_ADDRESSING, "Action").as_deref(),
            Some(ACTION_DISCOVER)
        );

        let rst = enroll_request(
            "2",
            "https://m/E",
            "a.b.c",
            &[1, 2, 3],
            &device(),
            Some("blob&1"),
        );
        let doc = Document::parse(&rst).unwrap();
        let tokens: Vec<_> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "BinarySecurityToken")
            .collect();
        assert_eq!(tokens[0].attribute("ValueType"), Some(VALUE_TYPE_JWT));
        assert_eq!(
            STANDARD.decode(tokens[0].text().unwrap()).unwrap(),
            b"a.b.c"
        );
        assert_eq!(tokens[1].attribute("ValueType"), Some(VALUE_TYPE_PKCS10));
        assert_eq!(tokens[1].text(), Some("AQID"));
        let item = |name: &str| {
            doc.descendants()
                .find(|n| n.attribute("Name") == Some(name))
                .and_then(|n| text_of(n, NS_AC, "Value"))
        };
        assert_eq!(item("EnrollmentType").as_deref(), Some("Device"));
        assert_eq!(item("EnrollmentData").as_deref(), Some("blob&1"));
        assert_eq!(item("DeviceID").as_deref(), Some(device().device_id));
        let without = enroll_request("3", "https://m/E", "a.b.c", &[1], &device(), None);
        assert!(!without.contains("EnrollmentData"));
        Document::parse(&get_policies_request("4", "https://m/P", "a.b.c")).unwrap();
    }
}
