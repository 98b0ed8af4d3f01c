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
//!
//! Split along the two roles: [`issue`] is the STS's side (build, sign, wrap in an RSTR),
//! [`verify`] the authority's (check shape, signature and conditions, read claims). This
//! module holds what both share: names, errors, the claims and time formats.

mod issue;
mod verify;

pub use issue::{issue_assertion, wrap_rstr, Issue};
pub use verify::{claimed_issuer, verify, verify_assertion, Trust, Verified};

pub const SAML1_NS: &str = "urn:oasis:names:tc:SAML:1.0:assertion";
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256_DIGEST: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// The audience (and `wtrealm`) of Microsoft Online's relying party trust.
pub const MICROSOFT_ONLINE: &str = "urn:federation:MicrosoftOnline";
/// Claim namespaces AD FS's Microsoft Online rules use.
pub(crate) const UPN_NS: &str = "http://schemas.xmlsoap.org/claims";
pub(crate) const LIVEID_NS: &str = "http://schemas.microsoft.com/LiveID/Federation/2008/05";
pub(crate) const CLAIMS_NS: &str = "http://schemas.microsoft.com/claims";
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

pub(crate) fn parse_instant(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests;
