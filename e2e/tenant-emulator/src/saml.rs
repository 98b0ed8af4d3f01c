//! SAML 1.1 assertions as AD FS issues them to Microsoft Online (WS-Federation passive and
//! WS-Trust), signed with enveloped XML-DSig (RSA-SHA256, SHA-256 digest, exclusive C14N), and
//! their verification by the authority against the federation trust.
//!
//! Verification reads claims only from the one assertion whose own signature covers it (the
//! Reference must point at its `AssertionID`, and a document with more than one assertion is
//! refused), so a signed assertion cannot be wrapped around unsigned claims. The assertion
//! must have the shape AD FS emits (`Conditions`, `AttributeStatement`,
//! `AuthenticationStatement`, then `ds:Signature` as the last child); the signature may hold
//! only `SignedInfo`, `SignatureValue` and a `KeyInfo` with X.509 certificates (neither is
//! covered by the enveloped digest, so no `ds:Object` and nothing else in `KeyInfo`); claims
//! are read only from the direct `Attribute` children of the assertion's own
//! `AttributeStatement`, with exactly one UPN and one ImmutableID value.

use crate::c14n::{canonicalize, EXC_C14N};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::{Document, Node};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use signature::{SignatureEncoding, Signer, Verifier};

pub const SAML1_NS: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256_DIGEST: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// The audience (and `wtrealm`) of Microsoft Online's relying party trust.
pub const MICROSOFT_ONLINE: &str = "urn:federation:MicrosoftOnline";
/// Claim namespaces AD FS's Microsoft Online rules use.
const UPN_NS: &str = "http://schemas.xmlsoap.org/claims";
const LIVEID_NS: &str = "http://schemas.microsoft.com/LiveID/Federation/2008/05";
const CLAIMS_NS: &str = "http://schemas.microsoft.com/claims";
/// `authnmethodsreferences` values: password, and AD FS's "multiple factors were used".
pub const AUTHN_PASSWORD: &str =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
pub const AUTHN_MULTIPLE: &str = "http://schemas.microsoft.com/claims/multipleauthn";
/// Clock skew tolerated on NotBefore / NotOnOrAfter (the project's one skew).
pub const SKEW_SECS: i64 = cxh_wire::consts::CLOCK_SKEW_SECS as i64;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SamlError {
    #[error("the token is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the token must contain exactly one SAML 1.1 assertion")]
    AssertionCount,
    #[error("the assertion is not signed as required: {0}")]
    SignatureShape(String),
    #[error("the assertion's digest does not match its content")]
    DigestMismatch,
    #[error("the assertion's signature does not verify with the federation trust's certificate")]
    BadSignature,
    #[error("the assertion's issuer {0:?} is not the federation trust's issuer")]
    WrongIssuer(String),
    #[error("the assertion is not for audience {MICROSOFT_ONLINE}")]
    WrongAudience,
    #[error("the assertion has expired")]
    Expired,
    #[error("the assertion is not yet valid")]
    NotYetValid,
    #[error("the assertion lacks the {0} claim")]
    MissingClaim(&'static str),
    #[error("the assertion has no Conditions element")]
    MissingConditions,
    #[error("the assertion's Conditions lack NotBefore or NotOnOrAfter")]
    MissingValidity,
    #[error("the assertion carries more than one {0} value")]
    DuplicateClaim(&'static str),
    #[error("the assertion's subject does not match its ImmutableID claim")]
    SubjectMismatch,
    #[error("the signed value of {0} holds a comment or an element (only text is accepted)")]
    MixedContent(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

/// What the STS asserts about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub upn: String,
    pub immutable_id: String,
    /// `authnmethodsreferences` values (passed through to the authority).
    pub auth_methods: Vec<String>,
}

/// Who issues the assertion and for how long it is valid.
pub struct Issue<'a> {
    pub issuer: &'a str,
    pub key: &'a RsaPrivateKey,
    pub cert_der: &'a [u8],
    pub now: i64,
    pub lifetime_secs: i64,
}

/// What the authority trusts: the STS's issuer URI and its token-signing key.
pub struct Trust<'a> {
    pub issuer: &'a str,
    pub key: &'a RsaPublicKey,
}

pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// UTC instant in the `xs:dateTime` form SAML uses.
pub fn instant(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn parse_instant(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

fn subject_xml(immutable_id: &str) -> String {
    format!(
        "<saml:Subject><saml:NameIdentifier Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\">{}</saml:NameIdentifier>\
         <saml:SubjectConfirmation><saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject>",
        xml_escape(immutable_id)
    )
}

fn attribute_xml(name: &str, namespace: &str, values: &[String]) -> String {
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
fn unsigned_assertion(id: &str, issue: &Issue<'_>, claims: &Claims) -> String {
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
fn sign_assertion(id: &str, unsigned: &str, issue: &Issue<'_>) -> Result<String, SamlError> {
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

fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

/// The only child element `ns:name` of `node`.
fn only_child<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &str,
    name: &'static str,
) -> Result<Node<'a, 'i>, SamlError> {
    let mut matches = node.children().filter(|c| is(c, ns, name));
    match (matches.next(), matches.next()) {
        (Some(found), None) => Ok(found),
        _ => Err(SamlError::SignatureShape(format!("expected one {name}"))),
    }
}

fn algorithm<'a>(node: Node<'a, '_>, ns: &str, name: &'static str) -> Result<&'a str, SamlError> {
    only_child(node, ns, name)?
        .attribute("Algorithm")
        .ok_or_else(|| SamlError::SignatureShape(format!("{name} has no Algorithm")))
}

fn require(actual: &str, expected: &str, what: &str) -> Result<(), SamlError> {
    if actual == expected {
        Ok(())
    } else {
        Err(SamlError::SignatureShape(format!(
            "{what} {actual:?} is not accepted"
        )))
    }
}

/// The whole text of a value element: every text child joined, and nothing but text.
///
/// Exclusive C14N drops comments, so `victim@x<!---->.evil` digests as `victim@x.evil`: a
/// reader that took only the first text node (`victim@x`) would read another value than the
/// one signed. A comment, processing instruction or element inside a value is refused.
fn text_value(node: Node<'_, '_>) -> Result<String, SamlError> {
    let mut text = String::new();
    for child in node.children() {
        match child.text() {
            Some(part) if child.is_text() => text.push_str(part),
            _ => return Err(SamlError::MixedContent(node.tag_name().name().to_string())),
        }
    }
    Ok(text)
}

fn base64_text(node: Node<'_, '_>) -> Result<Vec<u8>, SamlError> {
    let text: String = text_value(node)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(text)
        .map_err(|_| SamlError::SignatureShape("value is not base64".into()))
}

/// The element children of `node` (text between them is whitespace in what AD FS emits and
/// is covered by the digest either way).
fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

/// The assertion's shape as AD FS emits it: `Conditions`, then its statements, then the
/// enveloped `ds:Signature` as the last child (SAML 1.1's schema position). Returns the
/// signature. Nothing else (`Advice`, other statements, a second signature) is accepted.
fn signature_of<'a, 'i>(assertion: Node<'a, 'i>) -> Result<Node<'a, 'i>, SamlError> {
    let children: Vec<Node> = elements(assertion).collect();
    let Some((signature, content)) = children.split_last() else {
        return Err(SamlError::SignatureShape("the assertion is empty".into()));
    };
    if !is(signature, DSIG_NS, "Signature") {
        return Err(SamlError::SignatureShape(
            "ds:Signature must be the assertion's last child".into(),
        ));
    }
    for child in content {
        let allowed = [
            "Conditions",
            "AttributeStatement",
            "AuthenticationStatement",
        ]
        .iter()
        .any(|name| is(child, SAML1_NS, name));
        if !allowed {
            return Err(SamlError::SignatureShape(format!(
                "unexpected element {} in the assertion",
                child.tag_name().name()
            )));
        }
    }
    check_signature_children(*signature)?;
    Ok(*signature)
}

/// `ds:Signature` holds exactly `SignedInfo`, `SignatureValue` and optionally a `KeyInfo`
/// with only `X509Data`/`X509Certificate`: neither `KeyInfo` nor `ds:Object` is covered by
/// the enveloped digest, so nothing may hide there.
fn check_signature_children(signature: Node<'_, '_>) -> Result<(), SamlError> {
    let children: Vec<Node> = elements(signature).collect();
    let (fixed, key_info) = match children.as_slice() {
        [a, b] => ([a, b], None),
        [a, b, c] => ([a, b], Some(*c)),
        _ => {
            return Err(SamlError::SignatureShape(
                "ds:Signature must hold SignedInfo, SignatureValue and KeyInfo only".into(),
            ))
        }
    };
    if !is(fixed[0], DSIG_NS, "SignedInfo") || !is(fixed[1], DSIG_NS, "SignatureValue") {
        return Err(SamlError::SignatureShape(
            "ds:Signature must start with SignedInfo and SignatureValue".into(),
        ));
    }
    let Some(key_info) = key_info else {
        return Ok(());
    };
    let only_certificates = is(&key_info, DSIG_NS, "KeyInfo")
        && elements(key_info).all(|data| {
            is(&data, DSIG_NS, "X509Data")
                && elements(data).all(|cert| {
                    is(&cert, DSIG_NS, "X509Certificate") && elements(cert).next().is_none()
                })
        });
    if only_certificates {
        Ok(())
    } else {
        Err(SamlError::SignatureShape(
            "ds:KeyInfo may hold only X509Data with X509Certificate".into(),
        ))
    }
}

/// Check the enveloped signature of `assertion` with `key`.
fn verify_signature(assertion: Node<'_, '_>, key: &RsaPublicKey) -> Result<(), SamlError> {
    let signature = signature_of(assertion)?;
    let signed_info = only_child(signature, DSIG_NS, "SignedInfo")?;
    require(
        algorithm(signed_info, DSIG_NS, "CanonicalizationMethod")?,
        EXC_C14N,
        "canonicalization",
    )?;
    require(
        algorithm(signed_info, DSIG_NS, "SignatureMethod")?,
        RSA_SHA256,
        "signature method",
    )?;
    let reference = only_child(signed_info, DSIG_NS, "Reference")?;
    let id = assertion.attribute("AssertionID").unwrap_or("");
    require(
        reference.attribute("URI").unwrap_or(""),
        &format!("#{id}"),
        "reference",
    )?;
    let transforms: Vec<&str> = only_child(reference, DSIG_NS, "Transforms")?
        .children()
        .filter(|c| is(c, DSIG_NS, "Transform"))
        .map(|t| t.attribute("Algorithm").unwrap_or(""))
        .collect();
    if transforms != [ENVELOPED, EXC_C14N] {
        return Err(SamlError::SignatureShape("unexpected transforms".into()));
    }
    require(
        algorithm(reference, DSIG_NS, "DigestMethod")?,
        SHA256_DIGEST,
        "digest method",
    )?;
    let expected = base64_text(only_child(reference, DSIG_NS, "DigestValue")?)?;
    let actual = Sha256::digest(canonicalize(assertion, Some(signature.id())).as_bytes());
    if expected.as_slice() != &actual[..] {
        return Err(SamlError::DigestMismatch);
    }
    let value = base64_text(only_child(signature, DSIG_NS, "SignatureValue")?)?;
    let signature = Signature::try_from(value.as_slice()).map_err(|_| SamlError::BadSignature)?;
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(canonicalize(signed_info, None).as_bytes(), &signature)
        .map_err(|_| SamlError::BadSignature)
}

/// The validity window and the audience: the one `Conditions` element must bound the
/// assertion in time, and EVERY `AudienceRestrictionCondition` in it (at least one) must
/// name Microsoft Online (SAML 1.1 §2.3.2.1.3: each condition must hold). Returns
/// `NotOnOrAfter`.
fn check_conditions(assertion: Node<'_, '_>, now: i64) -> Result<i64, SamlError> {
    let mut all = elements(assertion).filter(|n| is(n, SAML1_NS, "Conditions"));
    let conditions = match (all.next(), all.next()) {
        (Some(conditions), None) => conditions,
        (None, _) => return Err(SamlError::MissingConditions),
        (Some(_), Some(_)) => {
            return Err(SamlError::SignatureShape("more than one Conditions".into()))
        }
    };
    let bound = |name| conditions.attribute(name).and_then(parse_instant);
    let (Some(not_before), Some(not_on_or_after)) = (bound("NotBefore"), bound("NotOnOrAfter"))
    else {
        return Err(SamlError::MissingValidity);
    };
    if now + SKEW_SECS < not_before {
        return Err(SamlError::NotYetValid);
    }
    if now - SKEW_SECS >= not_on_or_after {
        return Err(SamlError::Expired);
    }
    let restrictions: Vec<Node> = elements(conditions)
        .filter(|n| is(n, SAML1_NS, "AudienceRestrictionCondition"))
        .collect();
    let mut all_name_us = !restrictions.is_empty();
    for restriction in &restrictions {
        let mut names_us = false;
        for audience in elements(*restriction).filter(|n| is(n, SAML1_NS, "Audience")) {
            names_us |= text_value(audience)?.trim() == MICROSOFT_ONLINE;
        }
        all_name_us &= names_us;
    }
    if all_name_us {
        Ok(not_on_or_after)
    } else {
        Err(SamlError::WrongAudience)
    }
}

/// The one `saml:AttributeStatement` child of the assertion.
fn attribute_statement<'a, 'i>(assertion: Node<'a, 'i>) -> Result<Node<'a, 'i>, SamlError> {
    let mut all = elements(assertion).filter(|n| is(n, SAML1_NS, "AttributeStatement"));
    match (all.next(), all.next()) {
        (Some(statement), None) => Ok(statement),
        (None, _) => Err(SamlError::MissingClaim("AttributeStatement")),
        (Some(_), Some(_)) => Err(SamlError::SignatureShape(
            "more than one AttributeStatement".into(),
        )),
    }
}

/// The values of attribute `name`, read only from the statement's own `Attribute` children.
fn attribute_values(statement: Node<'_, '_>, name: &str) -> Result<Vec<String>, SamlError> {
    elements(statement)
        .filter(|n| is(n, SAML1_NS, "Attribute") && n.attribute("AttributeName") == Some(name))
        .flat_map(elements)
        .filter(|v| is(v, SAML1_NS, "AttributeValue"))
        .map(|v| Ok(text_value(v)?.trim().to_string()))
        .collect()
}

/// The single value of claim `name` (none and several are both refused).
fn single_value(statement: Node<'_, '_>, name: &'static str) -> Result<String, SamlError> {
    let mut values = attribute_values(statement, name)?.into_iter();
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        (None, _) => Err(SamlError::MissingClaim(name)),
        (Some(_), Some(_)) => Err(SamlError::DuplicateClaim(name)),
    }
}

/// The `NameIdentifier` of a statement's own `Subject`.
fn subject_name(statement: Node<'_, '_>) -> Result<Option<String>, SamlError> {
    let name = elements(statement)
        .find(|n| is(n, SAML1_NS, "Subject"))
        .and_then(|subject| elements(subject).find(|n| is(n, SAML1_NS, "NameIdentifier")));
    name.map(|n| Ok(text_value(n)?.trim().to_string()))
        .transpose()
}

/// The claims of the signed assertion: only the direct children of its own
/// `AttributeStatement` count, and the subject of every statement must be the ImmutableID.
fn read_claims(assertion: Node<'_, '_>) -> Result<Claims, SamlError> {
    let statement = attribute_statement(assertion)?;
    let upn = single_value(statement, "UPN")?;
    let immutable_id = single_value(statement, "ImmutableID")?;
    let statements = elements(assertion).filter(|n| {
        is(n, SAML1_NS, "AttributeStatement") || is(n, SAML1_NS, "AuthenticationStatement")
    });
    for statement in statements {
        if subject_name(statement)?.as_deref() != Some(immutable_id.as_str()) {
            return Err(SamlError::SubjectMismatch);
        }
    }
    Ok(Claims {
        upn,
        immutable_id,
        auth_methods: attribute_values(statement, "authnmethodsreferences")?,
    })
}

/// A verified assertion: its claims and what a replay cache needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub claims: Claims,
    /// The signed `AssertionID` (unique per issuer).
    pub assertion_id: String,
    /// `NotOnOrAfter` of its `Conditions` (Unix seconds): after it (plus [`SKEW_SECS`]) the
    /// assertion is refused as expired anyway.
    pub not_on_or_after: i64,
}

/// Verify a `wresult` (or a bare assertion) against `trust` at `now` and return its claims.
pub fn verify(xml: &str, trust: &Trust<'_>, now: i64) -> Result<Claims, SamlError> {
    verify_assertion(xml, trust, now).map(|v| v.claims)
}

/// [`verify`], also returning the assertion's id and validity end for replay detection.
pub fn verify_assertion(xml: &str, trust: &Trust<'_>, now: i64) -> Result<Verified, SamlError> {
    let doc = Document::parse(xml).map_err(|e| SamlError::Malformed(e.to_string()))?;
    let assertions: Vec<Node> = doc
        .descendants()
        .filter(|n| is(n, SAML1_NS, "Assertion"))
        .collect();
    let [assertion] = assertions.as_slice() else {
        return Err(SamlError::AssertionCount);
    };
    verify_signature(*assertion, trust.key)?;
    let issuer = assertion.attribute("Issuer").unwrap_or("");
    if issuer != trust.issuer {
        return Err(SamlError::WrongIssuer(issuer.to_string()));
    }
    let not_on_or_after = check_conditions(*assertion, now)?;
    Ok(Verified {
        claims: read_claims(*assertion)?,
        assertion_id: assertion.attribute("AssertionID").unwrap_or("").to_string(),
        not_on_or_after,
    })
}

/// The issuer named by an assertion, read before verification to pick the trust to verify
/// it with (the result is trusted only once [`verify`] passed).
pub fn claimed_issuer(xml: &str) -> Option<String> {
    let doc = Document::parse(xml).ok()?;
    let issuer = doc
        .descendants()
        .find(|n| is(n, SAML1_NS, "Assertion"))?
        .attribute("Issuer")?
        .to_string();
    Some(issuer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    const ISSUER: &str = "http://sts.fabrikam.example/adfs/services/trust";
    const NOW: i64 = 1_800_000_000;

    fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
        static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
        KEYS.get_or_init(|| {
            let mut rng = rand::thread_rng();
            (
                RsaPrivateKey::new(&mut rng, 2048).unwrap(),
                RsaPrivateKey::new(&mut rng, 2048).unwrap(),
            )
        })
    }

    fn claims() -> Claims {
        Claims {
            upn: "diego@fabrikam.example".into(),
            immutable_id: "aW1tdXRhYmxl".into(),
            auth_methods: vec![AUTHN_PASSWORD.into()],
        }
    }

    fn issued(now: i64) -> String {
        let key = &keys().0;
        let assertion = issue_assertion(
            &Issue {
                issuer: ISSUER,
                key,
                cert_der: b"not-a-real-cert",
                now,
                lifetime_secs: 3600,
            },
            &claims(),
        )
        .unwrap();
        wrap_rstr(&assertion, now, now + 3600)
    }

    fn check(xml: &str, now: i64) -> Result<Claims, SamlError> {
        let public = keys().0.to_public_key();
        verify(
            xml,
            &Trust {
                issuer: ISSUER,
                key: &public,
            },
            now,
        )
    }

    #[test]
    fn a_fresh_assertion_verifies_and_yields_its_claims() {
        assert_eq!(check(&issued(NOW), NOW + 10), Ok(claims()));
    }

    #[test]
    fn a_changed_attribute_value_breaks_the_digest() {
        let xml = issued(NOW).replace("diego@fabrikam.example", "admin@fabrikam.example");
        assert_eq!(check(&xml, NOW), Err(SamlError::DigestMismatch));
    }

    #[test]
    fn a_changed_digest_breaks_the_signature() {
        let xml = issued(NOW);
        let start = xml.find("<ds:DigestValue>").unwrap() + "<ds:DigestValue>".len();
        let original = &xml[start..start + 4];
        let replacement = if original == "AAAA" { "BBBB" } else { "AAAA" };
        let tampered = format!("{}{replacement}{}", &xml[..start], &xml[start + 4..]);
        // The digest no longer matches the content; were it recomputed, SignedInfo changed.
        assert_eq!(check(&tampered, NOW), Err(SamlError::DigestMismatch));
    }

    #[test]
    fn a_recomputed_digest_does_not_verify_with_the_old_signature() {
        let xml = issued(NOW).replace("diego@fabrikam.example", "admin@fabrikam.example");
        let doc = Document::parse(&xml).unwrap();
        let assertion = doc
            .descendants()
            .find(|n| is(n, SAML1_NS, "Assertion"))
            .unwrap();
        let signature = only_child(assertion, DSIG_NS, "Signature").unwrap();
        let digest = STANDARD.encode(Sha256::digest(
            canonicalize(assertion, Some(signature.id())).as_bytes(),
        ));
        let start = xml.find("<ds:DigestValue>").unwrap() + "<ds:DigestValue>".len();
        let end = xml.find("</ds:DigestValue>").unwrap();
        let tampered = format!("{}{digest}{}", &xml[..start], &xml[end..]);
        assert_eq!(check(&tampered, NOW), Err(SamlError::BadSignature));
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let other = keys().1.to_public_key();
        let result = verify(
            &issued(NOW),
            &Trust {
                issuer: ISSUER,
                key: &other,
            },
            NOW,
        );
        assert_eq!(result, Err(SamlError::BadSignature));
    }

    #[test]
    fn expired_and_future_assertions_are_refused() {
        assert_eq!(
            check(&issued(NOW), NOW + 3600 + SKEW_SECS),
            Err(SamlError::Expired)
        );
        assert_eq!(
            check(&issued(NOW), NOW - SKEW_SECS - 1),
            Err(SamlError::NotYetValid)
        );
    }

    #[test]
    fn another_issuer_is_refused() {
        let public = keys().0.to_public_key();
        let trust = Trust {
            issuer: "http://other/adfs/services/trust",
            key: &public,
        };
        assert!(matches!(
            verify(&issued(NOW), &trust, NOW),
            Err(SamlError::WrongIssuer(_))
        ));
    }

    #[test]
    fn a_second_assertion_or_a_missing_signature_is_refused() {
        let xml = issued(NOW);
        let doubled = xml.replace(
            "<t:TokenType>",
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" AssertionID=\"_x\"/><t:TokenType>",
        );
        assert_eq!(check(&doubled, NOW), Err(SamlError::AssertionCount));
        let start = xml.find("<ds:Signature").unwrap();
        let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let unsigned = format!("{}{}", &xml[..start], &xml[end..]);
        assert!(matches!(
            check(&unsigned, NOW),
            Err(SamlError::SignatureShape(_))
        ));
    }

    #[test]
    fn reformatting_that_c14n_removes_keeps_the_signature_valid() {
        // Attribute order and quoting are not part of the canonical form.
        let xml = issued(NOW).replace(
            "MajorVersion=\"1\" MinorVersion=\"1\"",
            "MinorVersion='1' MajorVersion='1'",
        );
        assert_eq!(check(&xml, NOW), Ok(claims()));
    }

    /// An assertion built from the issuer's own template after `edit`, then genuinely signed:
    /// what a compromised or misconfigured STS could emit.
    fn signed_with(edit: impl Fn(String) -> String) -> String {
        let issue = Issue {
            issuer: ISSUER,
            key: &keys().0,
            cert_der: b"not-a-real-cert",
            now: NOW,
            lifetime_secs: 3600,
        };
        let unsigned = edit(unsigned_assertion("_edited", &issue, &claims()));
        let assertion = sign_assertion("_edited", &unsigned, &issue).unwrap();
        wrap_rstr(&assertion, NOW, NOW + 3600)
    }

    #[test]
    fn a_comment_inside_a_signed_value_cannot_change_the_claim_read() {
        // A genuine user `diego@fabrikam.example.evil` gets a genuine assertion, then puts a
        // comment into the signed UPN: exclusive C14N drops it, so the digest still matches;
        // a first-text-node reader would see `diego@fabrikam.example`.
        let xml =
            signed_with(|x| x.replace("diego@fabrikam.example", "diego@fabrikam.example.evil"));
        let edited = xml.replace(
            "diego@fabrikam.example.evil",
            "diego@fabrikam.example<!---->.evil",
        );
        assert_ne!(xml, edited);
        assert_eq!(
            check(&edited, NOW),
            Err(SamlError::MixedContent("AttributeValue".into()))
        );
        // The same comment in the subject or an audience is refused too; the untouched
        // token still verifies with the whole value.
        let in_subject = xml.replacen(
            "unspecified\">aW1tdXRhYmxl<",
            "unspecified\">aW1t<!-- -->dXRhYmxl<",
            1,
        );
        assert_ne!(in_subject, xml);
        assert_eq!(
            check(&in_subject, NOW),
            Err(SamlError::MixedContent("NameIdentifier".into()))
        );
        let in_audience = xml.replace(
            ">urn:federation:MicrosoftOnline<",
            ">urn:federation:<!---->MicrosoftOnline<",
        );
        assert_ne!(in_audience, xml);
        assert_eq!(
            check(&in_audience, NOW),
            Err(SamlError::MixedContent("Audience".into()))
        );
        assert_eq!(
            check(&xml, NOW).map(|c| c.upn),
            Ok("diego@fabrikam.example.evil".to_string())
        );
    }

    #[test]
    fn cdata_in_a_value_reads_as_its_whole_text() {
        // CDATA is text to C14N and to the reader alike: the value is the whole string.
        let xml =
            signed_with(|x| x.replace("diego@fabrikam.example", "diego@fabrikam.example.evil"))
                .replace(
                    "diego@fabrikam.example.evil",
                    "diego@fabrikam.example<![CDATA[.evil]]>",
                );
        assert_eq!(
            check(&xml, NOW).map(|c| c.upn),
            Ok("diego@fabrikam.example.evil".to_string())
        );
    }

    /// Victim claims as an attacker would smuggle them (outside the digested content).
    fn victim_attributes() -> String {
        format!(
            "{}{}{}",
            attribute_xml("UPN", UPN_NS, &["victim@fabrikam.example".into()]),
            attribute_xml("ImmutableID", LIVEID_NS, &["dmljdGlt".into()]),
            attribute_xml(
                "authnmethodsreferences",
                CLAIMS_NS,
                &[AUTHN_MULTIPLE.into()]
            ),
        )
    }

    /// `xml` with its `<ds:Signature>` cut out, and the signature.
    fn cut_signature(xml: &str) -> (String, String) {
        let start = xml.find("<ds:Signature").unwrap();
        let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        (
            format!("{}{}", &xml[..start], &xml[end..]),
            xml[start..end].to_string(),
        )
    }

    #[test]
    fn claims_inside_key_info_of_a_moved_signature_are_refused() {
        // The signature moved to the assertion's first child, victim claims inside KeyInfo:
        // the digest (which leaves the signature out) and SignedInfo are unchanged.
        let (rest, signature) = cut_signature(&issued(NOW));
        let signature = signature.replace(
            "<ds:KeyInfo>",
            &format!(
                "<ds:KeyInfo><saml:AttributeStatement xmlns:saml=\"{SAML1_NS}\">{}</saml:AttributeStatement>",
                victim_attributes()
            ),
        );
        let at = rest.find("<saml:Conditions").unwrap();
        let wrapped = format!("{}{signature}{}", &rest[..at], &rest[at..]);
        assert!(matches!(
            check(&wrapped, NOW),
            Err(SamlError::SignatureShape(_))
        ));
    }

    #[test]
    fn claims_inside_key_info_or_an_object_are_refused_at_the_usual_position() {
        let xml = issued(NOW);
        let smuggled = format!(
            "<saml:AttributeStatement xmlns:saml=\"{SAML1_NS}\">{}</saml:AttributeStatement>",
            victim_attributes()
        );
        let in_key_info = xml.replace("<ds:KeyInfo>", &format!("<ds:KeyInfo>{smuggled}"));
        let in_x509_data = xml.replace("<ds:X509Data>", &format!("<ds:X509Data>{smuggled}"));
        let in_object = xml.replace(
            "</ds:KeyInfo>",
            &format!("</ds:KeyInfo><ds:Object>{smuggled}</ds:Object>"),
        );
        for tampered in [in_key_info, in_x509_data, in_object] {
            assert!(
                matches!(check(&tampered, NOW), Err(SamlError::SignatureShape(_))),
                "{tampered}"
            );
        }
    }

    #[test]
    fn a_signature_that_is_not_the_last_child_is_refused() {
        let (rest, signature) = cut_signature(&issued(NOW));
        let at = rest.find("<saml:AuthenticationStatement").unwrap();
        let moved = format!("{}{signature}{}", &rest[..at], &rest[at..]);
        assert!(matches!(
            check(&moved, NOW),
            Err(SamlError::SignatureShape(_))
        ));
    }

    #[test]
    fn claims_are_read_only_from_the_assertions_own_statements() {
        // Signed, but the victim's attributes sit in an element AD FS never emits.
        let xml = signed_with(|unsigned| {
            unsigned.replace(
                "<saml:AttributeStatement>",
                &format!(
                    "<saml:Advice>{}</saml:Advice><saml:AttributeStatement>",
                    victim_attributes()
                ),
            )
        });
        assert!(check(&xml, NOW).is_err());
    }

    #[test]
    fn a_second_upn_or_immutable_id_value_is_refused() {
        let two_upns = signed_with(|unsigned| {
            unsigned.replace(
                "<saml:AttributeValue>diego@fabrikam.example</saml:AttributeValue>",
                "<saml:AttributeValue>diego@fabrikam.example</saml:AttributeValue>\
                 <saml:AttributeValue>victim@fabrikam.example</saml:AttributeValue>",
            )
        });
        assert_eq!(check(&two_upns, NOW), Err(SamlError::DuplicateClaim("UPN")));
        let two_attributes = signed_with(|unsigned| {
            unsigned.replace(
                "</saml:AttributeStatement>",
                &format!(
                    "{}</saml:AttributeStatement>",
                    attribute_xml("ImmutableID", LIVEID_NS, &["dmljdGlt".into()])
                ),
            )
        });
        assert_eq!(
            check(&two_attributes, NOW),
            Err(SamlError::DuplicateClaim("ImmutableID"))
        );
    }

    #[test]
    fn every_audience_restriction_must_name_microsoft_online() {
        let extra = signed_with(|unsigned| {
            unsigned.replace(
                "</saml:Conditions>",
                "<saml:AudienceRestrictionCondition><saml:Audience>urn:other:rp</saml:Audience>\
                 </saml:AudienceRestrictionCondition></saml:Conditions>",
            )
        });
        assert_eq!(check(&extra, NOW), Err(SamlError::WrongAudience));
        let none = signed_with(|unsigned| {
            let start = unsigned
                .find("<saml:AudienceRestrictionCondition>")
                .unwrap();
            let end = unsigned.find("</saml:Conditions>").unwrap();
            format!("{}{}", &unsigned[..start], &unsigned[end..])
        });
        assert_eq!(check(&none, NOW), Err(SamlError::WrongAudience));
    }

    #[test]
    fn a_missing_conditions_element_is_its_own_error() {
        let xml = signed_with(|unsigned| {
            let start = unsigned.find("<saml:Conditions").unwrap();
            let end = unsigned.find("</saml:Conditions>").unwrap() + "</saml:Conditions>".len();
            format!("{}{}", &unsigned[..start], &unsigned[end..])
        });
        assert_eq!(check(&xml, NOW), Err(SamlError::MissingConditions));
    }
}
