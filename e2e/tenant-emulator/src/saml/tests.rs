//! Both roles together: assertions issued here, then verified, tampered with or wrapped.

use super::issue::{attribute_xml, sign_assertion, unsigned_assertion};
use super::verify::{is, only_child};
use super::*;
use crate::c14n::canonicalize;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use roxmltree::Document;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};
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
    let xml = signed_with(|x| x.replace("diego@fabrikam.example", "diego@fabrikam.example.evil"));
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
    let xml = signed_with(|x| x.replace("diego@fabrikam.example", "diego@fabrikam.example.evil"))
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
