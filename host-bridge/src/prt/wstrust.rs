//! A federated user's SAML 1.1 assertion (seed 003: how a federated PRT is obtained): the user
//! realm (`api-version=1.0`) names the STS's WS-Trust 1.3 `usernamemixed` endpoint; a SOAP 1.2
//! RST with a UsernameToken, AppliesTo `urn:federation:MicrosoftOnline`, bearer key type, gets
//! an RSTR whose `RequestedSecurityToken` holds the assertion, taken byte for byte (it is
//! signed).
//!
//! The endpoint must be https, even on loopback: the user's password goes there, and AD FS
//! (the emulated one too) serves it over TLS only, so an http endpoint is refused before any
//! request, as the client libraries that keep only the https endpoints of a MEX do. The
//! STS's certificate is checked by the bridge's one HTTP client (a private CA via
//! `--ca-file`).

use cxh_wire::realm::{AccountType, UserRealmV1};
use zeroize::Zeroizing;

use super::PrtError;

use cxh_wire::wstrust_response::{SOAP12_NS, WST13_NS};
const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";
const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const WSP_NS: &str = "http://schemas.xmlsoap.org/ws/2004/09/policy";
const RST_ISSUE_13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue";
const REQUEST_TYPE_ISSUE_13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue";
const KEY_TYPE_BEARER_13: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer";
const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
/// The audience Microsoft Online's STS relying party has.
pub const MICROSOFT_ONLINE_URN: &str = "urn:federation:MicrosoftOnline";

/// The user's realm at the authority (`api-version=1.0`).
pub async fn user_realm(
    http: &reqwest::Client,
    authority: &str,
    upn: &str,
) -> Result<UserRealmV1, PrtError> {
    let url = format!("{authority}/common/userrealm/");
    let response = http
        .get(&url)
        .query(&[("user", upn), ("api-version", "1.0")])
        .send()
        .await
        .map_err(|e| PrtError::Network(format!("{url}: {e}")))?;
    if !response.status().is_success() {
        return Err(PrtError::BadResponse(format!(
            "user realm: HTTP {}",
            response.status()
        )));
    }
    response
        .json()
        .await
        .map_err(|e| PrtError::BadResponse(format!("user realm: {e}")))
}

/// The `usernamemixed` endpoint of a federated realm (an https URL), `None` for a managed one.
pub fn active_endpoint(realm: &UserRealmV1) -> Result<Option<String>, PrtError> {
    match realm.account_type {
        AccountType::Federated => {
            let endpoint = realm.federation_active_auth_url.clone().ok_or_else(|| {
                PrtError::BadResponse("a federated realm without an STS endpoint".into())
            })?;
            let https = url::Url::parse(&endpoint)
                .map(|url| url.scheme() == "https" && url.host().is_some())
                .unwrap_or(false);
            if !https {
                return Err(PrtError::BadResponse(format!(
                    "the user realm names the STS endpoint {endpoint}, which is not https: the password is sent to an STS only over TLS"
                )));
            }
            Ok(Some(endpoint))
        }
        _ => Ok(None),
    }
}

use crate::markup::escape;

fn iso(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The RST (it holds the password: wiped when dropped).
fn rst(endpoint: &str, username: &str, password: &str) -> Zeroizing<String> {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let now = time::OffsetDateTime::now_utc();
    Zeroizing::new(format!(
        "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:wsa=\"{WSA_NS}\" xmlns:wsu=\"{WSU_NS}\">\
<s:Header><wsa:Action s:mustUnderstand=\"1\">{RST_ISSUE_13}</wsa:Action>\
<wsa:MessageID>{id}</wsa:MessageID>\
<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>\
<wsa:To s:mustUnderstand=\"1\">{to}</wsa:To>\
<wsse:Security s:mustUnderstand=\"1\" xmlns:wsse=\"{WSSE_NS}\">\
<wsu:Timestamp wsu:Id=\"_0\"><wsu:Created>{created}</wsu:Created><wsu:Expires>{expires}</wsu:Expires></wsu:Timestamp>\
<wsse:UsernameToken wsu:Id=\"uuid-{id}\"><wsse:Username>{user}</wsse:Username>\
<wsse:Password Type=\"{PASSWORD_TEXT}\">{password}</wsse:Password></wsse:UsernameToken></wsse:Security></s:Header>\
<s:Body><wst:RequestSecurityToken xmlns:wst=\"{WST13_NS}\"><wsp:AppliesTo xmlns:wsp=\"{WSP_NS}\">\
<wsa:EndpointReference><wsa:Address>{MICROSOFT_ONLINE_URN}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>\
<wst:KeyType>{KEY_TYPE_BEARER_13}</wst:KeyType><wst:RequestType>{REQUEST_TYPE_ISSUE_13}</wst:RequestType>\
</wst:RequestSecurityToken></s:Body></s:Envelope>",
        to = escape(endpoint),
        created = iso(now),
        expires = iso(now + time::Duration::minutes(10)),
        user = escape(username),
        password = escape(password),
    ))
}

/// The assertion inside the RSTR, byte for byte; a SOAP fault's reason otherwise
/// (`cxh_wire::wstrust_response`).
pub fn assertion_of(rstr: &str) -> Result<String, PrtError> {
    cxh_wire::wstrust_response::assertion_of(rstr).map_err(|e| PrtError::Sts(e.to_string()))
}

/// Ask the STS for the user's assertion for Microsoft Online.
pub async fn saml_assertion(
    http: &reqwest::Client,
    endpoint: &str,
    username: &str,
    password: &str,
) -> Result<String, PrtError> {
    let body = rst(endpoint, username, password);
    let response = http
        .post(endpoint)
        .header("Content-Type", "application/soap+xml; charset=utf-8")
        .body(body.as_bytes().to_vec())
        .send()
        .await
        .map_err(|e| PrtError::Network(format!("{endpoint}: {e}")))?;
    let text = response
        .text()
        .await
        .map_err(|e| PrtError::Network(format!("{endpoint}: {e}")))?;
    assertion_of(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn federated(endpoint: Option<&str>) -> UserRealmV1 {
        serde_json::from_value(serde_json::json!({
            "ver": "1.0",
            "account_type": "Federated",
            "domain_name": "fabrikam-corp.com",
            "federation_active_auth_url": endpoint,
        }))
        .unwrap()
    }

    #[test]
    fn only_an_https_sts_endpoint_gets_the_password() {
        let endpoint = "https://127.0.0.1:4433/adfs/services/trust/13/usernamemixed";
        assert_eq!(
            active_endpoint(&federated(Some(endpoint))).unwrap(),
            Some(endpoint.to_string())
        );
        for refused in [
            "http://127.0.0.1:4433/adfs/services/trust/13/usernamemixed",
            "http://sts.fabrikam-corp.com/adfs/services/trust/13/usernamemixed",
            "ftp://sts.fabrikam-corp.com/x",
            "not a url",
        ] {
            let error = active_endpoint(&federated(Some(refused))).unwrap_err();
            assert!(
                matches!(&error, PrtError::BadResponse(r) if r.contains("not https")),
                "{refused}: {error}"
            );
        }
        assert!(active_endpoint(&federated(None)).is_err());
    }

    #[test]
    fn the_rst_escapes_its_input_and_a_fault_is_an_sts_error() {
        let body = rst("http://sts/x", "a<b@c", "p&\"w");
        assert!(body.contains("a&lt;b@c") && body.contains("p&amp;&quot;w"));
        let fault = format!("<s:Envelope xmlns:s=\"{SOAP12_NS}\"><s:Body><s:Fault><s:Reason><s:Text>ID3242: bad password</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>");
        assert!(matches!(assertion_of(&fault), Err(PrtError::Sts(r)) if r.contains("ID3242")));
        let ok = format!("<s:Envelope xmlns:s=\"{SOAP12_NS}\"><s:Body><t:RSTR xmlns:t=\"{WST13_NS}\"><t:RequestedSecurityToken><saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" A=\"1\"/></t:RequestedSecurityToken></t:RSTR></s:Body></s:Envelope>");
        assert!(assertion_of(&ok).unwrap().starts_with("<saml:Assertion"));
    }
}
