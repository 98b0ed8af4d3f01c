//! The authority's side: verify an assertion against the federation trust (its shape, the
//! enveloped signature, issuer, audience and lifetime) and read its claims.

use super::*;
use crate::c14n::{canonicalize, EXC_C14N};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::{Document, Node};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};
use signature::Verifier;

/// What the authority trusts: the STS's issuer URI and its token-signing key.
pub struct Trust<'a> {
    pub issuer: &'a str,
    pub key: &'a RsaPublicKey,
}

pub(super) fn is(node: &Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

/// The only child element `ns:name` of `node`.
pub(super) fn only_child<'a, 'i>(
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
