//! The STS's side: a SAML 1.1 assertion as AD FS issues it, signed with enveloped XML-DSig
//! (exclusive C14N, RSA-SHA256, SHA-256), wrapped in a WS-Trust 2005 RSTR.

use super::*;
use crate::c14n::{canonicalize, EXC_C14N};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::Document;
use rsa::pkcs1v15::SigningKey;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};
use signature::{SignatureEncoding, Signer};

/// Who issues the assertion and for how long it is valid.
pub struct Issue<'a> {
    pub issuer: &'a str,
    pub key: &'a RsaPrivateKey,
    pub cert_der: &'a [u8],
    pub now: i64,
    pub lifetime_secs: i64,
}

fn subject_xml(immutable_id: &str) -> String {
    format!(
        "<saml:Subject><saml:NameIdentifier Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">{}</saml:NameIdentifier>\
         <saml:SubjectConfirmation><saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject>",
        xml_escape(immutable_id)
    )
}

pub(super) fn attribute_xml(name: &str, namespace: &str, values: &[String]) -> String {
    let values: String = values
        .iter()
        .map(|v| {
            format!(
                "<saml:AttributeValue>{}</saml:AttributeValue>",
                xml_escape(v)
            )
        })
        .collect();
    format!("<saml:Attribute AttributeName=\"{name}\" AttributeNamespace=\"{namespace}\">{values}</saml:Attribute>")
}

/// The assertion without its signature.
pub(super) fn unsigned_assertion(id: &str, issue: &Issue<'_>, claims: &Claims) -> String {
    let now = instant(issue.now);
    let subject = subject_xml(&claims.immutable_id);
    format!(
        "<saml:Assertion xmlns:saml=\"{SAML1_NS}\" MajorVersion=\"1\" MinorVersion=\"1\" AssertionID=\"{id}\" Issuer=\"{issuer}\" IssueInstant=\"{now}\">\
         <saml:Conditions NotBefore=\"{now}\" NotOnOrAfter=\"{until}\"><saml:AudienceRestrictionCondition><saml:Audience>{MICROSOFT_ONLINE}</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>\
         <saml:AttributeStatement>{subject}{upn}{immutable}{amr}</saml:AttributeStatement>\
         <saml:AuthenticationStatement AuthenticationMethod=\"urn:oasis:names:tc:SAML:1.0:am:password\" AuthenticationInstant=\"{now}\">{subject}</saml:AuthenticationStatement>\
         </saml:Assertion>",
        issuer = xml_escape(issue.issuer),
        until = instant(issue.now + issue.lifetime_secs),
        upn = attribute_xml("UPN", UPN_NS, std::slice::from_ref(&claims.upn)),
        immutable = attribute_xml("ImmutableID", LIVEID_NS, std::slice::from_ref(&claims.immutable_id)),
        amr = attribute_xml("authnmethodsreferences", CLAIMS_NS, &claims.auth_methods),
    )
}

fn signed_info_xml(id: &str, digest_b64: &str) -> String {
    format!(
        "<ds:SignedInfo xmlns:ds=\"{DSIG_NS}\"><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod>\
         <ds:SignatureMethod Algorithm=\"{RSA_SHA256}\"></ds:SignatureMethod><ds:Reference URI=\"#{id}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"{ENVELOPED}\"></ds:Transform><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"{SHA256_DIGEST}\"></ds:DigestMethod><ds:DigestValue>{digest_b64}</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    )
}

fn canonical_root(xml: &str) -> Result<String, SamlError> {
    let doc = Document::parse(xml).map_err(|e| SamlError::Malformed(e.to_string()))?;
    Ok(canonicalize(doc.root_element(), None))
}

/// Issue a signed assertion for `claims`.
pub fn issue_assertion(issue: &Issue<'_>, claims: &Claims) -> Result<String, SamlError> {
    let id = format!("_{}", uuid::Uuid::new_v4());
    let unsigned = unsigned_assertion(&id, issue, claims);
    sign_assertion(&id, &unsigned, issue)
}

/// Append the enveloped signature (as AD FS places it: the assertion's last child) to the
/// serialized assertion `unsigned` whose `AssertionID` is `id`.
pub(super) fn sign_assertion(
    id: &str,
    unsigned: &str,
    issue: &Issue<'_>,
) -> Result<String, SamlError> {
    let digest = STANDARD.encode(Sha256::digest(canonical_root(unsigned)?.as_bytes()));
    let signed_info = signed_info_xml(id, &digest);
    let to_sign = canonical_root(&signed_info)?;
    let signer = SigningKey::<Sha256>::new(issue.key.clone());
    let signature = signer
        .try_sign(to_sign.as_bytes())
        .map_err(|e| SamlError::Signing(e.to_string()))?;
    let signature_xml = format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NS}\">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        STANDARD.encode(signature.to_bytes()),
        STANDARD.encode(issue.cert_der),
    );
    let close = "</saml:Assertion>";
    let body = unsigned.strip_suffix(close).unwrap_or(unsigned);
    Ok(format!("{body}{signature_xml}{close}"))
}

/// The WS-Trust 2005 `RequestSecurityTokenResponse` AD FS posts as `wresult`.
pub fn wrap_rstr(assertion: &str, created: i64, expires: i64) -> String {
    format!(
        "<t:RequestSecurityTokenResponse xmlns:t=\"http://schemas.xmlsoap.org/ws/2005/02/trust\">\
         <t:Lifetime><wsu:Created xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{}</wsu:Created>\
         <wsu:Expires xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{}</wsu:Expires></t:Lifetime>\
         <wsp:AppliesTo xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\"><wsa:EndpointReference xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">\
         <wsa:Address>{MICROSOFT_ONLINE}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>\
         <t:RequestedSecurityToken>{assertion}</t:RequestedSecurityToken>\
         <t:TokenType>urn:oasis:names:tc:SAML:1.0:assertion</t:TokenType>\
         <t:RequestType>http://schemas.xmlsoap.org/ws/2005/02/trust/Issue</t:RequestType>\
         <t:KeyType>http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey</t:KeyType>\
         </t:RequestSecurityTokenResponse>",
        instant(created),
        instant(expires)
    )
}
