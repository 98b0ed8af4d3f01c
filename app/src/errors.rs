//! Every error code the join can meet, and what the user is told about it.
//!
//! The authority (AADSTS numbers, OAuth `error` names), the STS (its refusals reach the app as
//! AADSTS numbers through the authority), DRS (its JSON `code`), the MDM (MS-MDE2 SOAP fault
//! subcodes), the network and the device itself each name their failures; [`lookup`] maps a
//! code to an [`Entry`]: a plain summary, advice on what to do, and the [`Action`] the page
//! offers. Retryable failures (network, timeouts, a service that is down) offer Try again;
//! the others say what would help instead (another account, the administrator). The raw
//! code is still shown, on an "Error code" line, for support.
//!
//! [`CATALOG`] is the table `docs/errors.md` is generated from (see the test
//! `the_docs_table_is_current`), in every UI language.

use crate::flow::AuthorityError;
use crate::i18n::{Language, Text};

/// Which service speaks the code (the sections of the docs table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The authority (and the STS, whose refusals it relays as AADSTS numbers).
    Authority,
    /// The Device Registration Service.
    Drs,
    /// The MDM enrollment service, after the device was joined.
    Mdm,
    /// No service answered.
    Network,
    /// This device: the setup host, the browser, the TPM, the machine store.
    Device,
}

impl Source {
    pub const ALL: [Source; 5] = [
        Source::Authority,
        Source::Drs,
        Source::Mdm,
        Source::Network,
        Source::Device,
    ];

    fn title(self) -> &'static str {
        match self {
            Source::Authority => "Authority and STS",
            Source::Drs => "Device Registration Service",
            Source::Mdm => "MDM enrollment (the device is joined)",
            Source::Network => "Network",
            Source::Device => "This device",
        }
    }
}

/// What the page offers after the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stay on the password step and enter it again.
    ReenterPassword,
    /// Back to the username step, the name kept, to correct it.
    ChangeUsername,
    /// Stay on the code prompt and enter the current code.
    ReenterCode,
    /// Retryable: the same join again with the same sign-in (network, a service down).
    TryAgain,
    /// Not retryable as is: sign in again, as the same or another account.
    SignInAgain,
    /// Back to the start of the experience.
    StartOver,
    /// The device is joined; nothing to retry here: go on.
    Finish,
}

impl Action {
    /// Whether trying the same thing again may succeed (the fault is outside the user's hands).
    pub fn retryable(self) -> bool {
        self == Action::TryAgain
    }

    fn describe(self) -> &'static str {
        match self {
            Action::ReenterPassword => "password again",
            Action::ChangeUsername => "correct the username",
            Action::ReenterCode => "code again",
            Action::TryAgain => "Try again (retryable)",
            Action::SignInAgain => "sign in again (same or another account)",
            Action::StartOver => "Start over",
            Action::Finish => "Continue (joined)",
        }
    }
}

/// One code and what the user is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// As shown on the "Error code" line (`AADSTS50126`, `quota_exceeded`, `http_5xx`).
    pub code: &'static str,
    pub source: Source,
    pub summary: Text,
    pub advice: Text,
    pub action: Action,
}

const fn entry(
    code: &'static str,
    source: Source,
    summary: Text,
    advice: Text,
    action: Action,
) -> Entry {
    Entry {
        code,
        source,
        summary,
        advice,
        action,
    }
}

use Action::*;
use Source::*;

/// Every code the product can meet. Codes of one family that are told the same way share a
/// line (`http_5xx`); [`lookup`] falls back to `AADSTS` (an unlisted AADSTS number), `http_4xx`
/// and `unknown`.
#[rustfmt::skip]
pub const CATALOG: &[Entry] = &[
    // Authority (login.microsoftonline.com analogue) and, relayed by it, the STS.
    entry("AADSTS50126", Authority, Text::ErrWrongPassword, Text::AdvReenterPassword, ReenterPassword),
    entry("AADSTS50034", Authority, Text::RealmUnknown, Text::AdvCheckUsername, ChangeUsername),
    entry("AADSTS50053", Authority, Text::ErrLocked, Text::AdvLocked, SignInAgain),
    entry("AADSTS500121", Authority, Text::ErrWrongCode, Text::AdvReenterCode, ReenterCode),
    entry("AADSTS50076", Authority, Text::ErrMfaRequired, Text::AdvSignInAgain, SignInAgain),
    entry("AADSTS50008", Authority, Text::ErrFederationToken, Text::AdvAskAdmin, SignInAgain),
    entry("AADSTS50013", Authority, Text::ErrFederationToken, Text::AdvSignInAgain, SignInAgain),
    entry("AADSTS90100", Authority, Text::ErrFederationMismatch, Text::AdvSignInAgain, SignInAgain),
    entry("AADSTS50058", Authority, Text::ErrSignInExpired, Text::AdvSignInAgain, SignInAgain),
    entry("AADSTS70008", Authority, Text::ErrSignInExpired, Text::AdvSignInAgain, SignInAgain),
    entry("AADSTS700082", Authority, Text::ErrSignInExpired, Text::AdvSignInAgain, SignInAgain),
    entry("AADSTS50011", Authority, Text::ErrAppNotAllowed, Text::AdvAskAdmin, StartOver),
    entry("AADSTS700016", Authority, Text::ErrAppNotAllowed, Text::AdvAskAdmin, StartOver),
    entry("AADSTS900144", Authority, Text::ErrBadRequest, Text::AdvStartOver, StartOver),
    entry("AADSTS700054", Authority, Text::ErrBadRequest, Text::AdvAskAdmin, StartOver),
    entry("AADSTS70003", Authority, Text::ErrBadRequest, Text::AdvAskAdmin, StartOver),
    entry("AADSTS90002", Authority, Text::ErrTenantNotFound, Text::AdvCheckUsername, SignInAgain),
    entry("access_denied", Authority, Text::ErrAccessDenied, Text::AdvAskAdmin, SignInAgain),
    entry("temporarily_unavailable", Authority, Text::ErrSignInUnavailable, Text::AdvTryAgainLater, StartOver),
    entry("server_error", Authority, Text::ErrorAuthority, Text::AdvTryAgainLater, StartOver),
    entry("AADSTS", Authority, Text::ErrorAuthority, Text::AdvAskAdmin, StartOver),
    // Device Registration Service.
    entry("quota_exceeded", Drs, Text::ErrQuota, Text::AdvQuota, SignInAgain),
    entry("tenant_not_found", Drs, Text::ErrDrsNoTenant, Text::AdvAskAdmin, SignInAgain),
    entry("invalid_token", Drs, Text::ErrDrsToken, Text::AdvSignInAgain, SignInAgain),
    entry("authorization_failed", Drs, Text::ErrDrsToken, Text::AdvSignInAgain, SignInAgain),
    entry("not_supported", Drs, Text::ErrDrsNotSupported, Text::AdvAskAdmin, StartOver),
    entry("attestation_failed", Drs, Text::ErrAttestation, Text::AdvAskAdmin, StartOver),
    entry("invalid_request", Drs, Text::ErrDrsRequest, Text::AdvAskAdmin, StartOver),
    entry("internal_error", Drs, Text::ErrServiceDown, Text::AdvTryAgainLater, TryAgain),
    entry("http_5xx", Drs, Text::ErrServiceDown, Text::AdvTryAgainLater, TryAgain),
    entry("http_4xx", Drs, Text::ErrDrsRequest, Text::AdvAskAdmin, StartOver),
    // No service answered.
    entry("network", Network, Text::ErrNetwork, Text::AdvCheckNetwork, TryAgain),
    entry("authority_unreachable", Network, Text::ErrorAuthorityUnreachable, Text::AdvCheckNetwork, StartOver),
    // This device.
    entry("already_joined", Device, Text::ErrAlreadyJoined, Text::AdvLeaveFirst, StartOver),
    entry("busy", Device, Text::ErrBusy, Text::AdvTryAgainLater, TryAgain),
    entry("leave_not_allowed", Device, Text::ErrLeaveNotAllowed, Text::AdvLeaveCommand, StartOver),
    entry("key_creation", Device, Text::ErrKeys, Text::AdvAskAdmin, TryAgain),
    entry("certificate_request", Device, Text::ErrorJoinFailed, Text::AdvAskAdmin, StartOver),
    entry("certificate_install", Device, Text::ErrDeviceStore, Text::AdvAskAdmin, StartOver),
    entry("store", Device, Text::ErrDeviceStore, Text::AdvAskAdmin, StartOver),
    entry("internal", Device, Text::ErrorJoinFailed, Text::AdvAskAdmin, StartOver),
    entry("invalid_message", Device, Text::ErrorJoinFailed, Text::AdvStartOver, StartOver),
    entry("protocol_mismatch", Device, Text::ErrorJoinFailed, Text::AdvAskAdmin, StartOver),
    entry("unauthorized", Device, Text::ErrorNoHost, Text::AdvStartOver, StartOver),
    entry("no_host", Device, Text::ErrorNoHost, Text::AdvAskAdmin, StartOver),
    entry("bridge_unreachable", Device, Text::ErrorBridgeUnreachable, Text::AdvTryAgainLater, StartOver),
    entry("bridge_lost", Device, Text::ErrorBridgeLost, Text::AdvTryAgainLater, TryAgain),
    entry("invalid_token_local", Device, Text::ErrorInvalidToken, Text::AdvSignInAgain, SignInAgain),
    entry("session_lost", Device, Text::ErrorSessionLost, Text::AdvStartOver, StartOver),
    entry("no_randomness", Device, Text::ErrorNoRandomness, Text::AdvAskAdmin, StartOver),
    entry("terms_not_accepted", Device, Text::ErrorTermsNotAccepted, Text::AdvStartOver, StartOver),
    entry("terms_unexpected", Device, Text::ErrorTermsUnexpected, Text::AdvStartOver, StartOver),
    entry("unknown", Device, Text::ErrorJoinFailed, Text::AdvAskAdmin, StartOver),
];

/// MDM codes (MS-MDE2 §2.2.4 fault subcodes, and how the service failed to answer): the
/// device is joined by then, so each says so and offers to go on.
#[rustfmt::skip]
pub const MDM_CATALOG: &[Entry] = &[
    entry("DeviceCapReached", Mdm, Text::ErrMdmCap, Text::AdvMdmLater, Finish),
    entry("UserLicense", Mdm, Text::ErrMdmLicense, Text::AdvMdmLater, Finish),
    entry("Authentication", Mdm, Text::ErrMdmDenied, Text::AdvMdmLater, Finish),
    entry("Authorization", Mdm, Text::ErrMdmDenied, Text::AdvMdmLater, Finish),
    entry("InvalidSecurityToken", Mdm, Text::ErrMdmDenied, Text::AdvMdmLater, Finish),
    entry("mdm_no_token", Mdm, Text::ErrMdmDenied, Text::AdvMdmLater, Finish),
    entry("DeviceNotSupported", Mdm, Text::ErrMdmUnsupported, Text::AdvMdmLater, Finish),
    entry("EnrollmentNotSupported", Mdm, Text::ErrMdmUnsupported, Text::AdvMdmLater, Finish),
    entry("NotEligibleForRenewal", Mdm, Text::ErrMdmUnsupported, Text::AdvMdmLater, Finish),
    entry("MessageFormat", Mdm, Text::ErrMdmRequest, Text::AdvMdmLater, Finish),
    entry("CertificateRequest", Mdm, Text::ErrMdmRequest, Text::AdvMdmLater, Finish),
    entry("InvalidEnrollmentData", Mdm, Text::ErrMdmRequest, Text::AdvMdmLater, Finish),
    entry("InMaintenance", Mdm, Text::ErrMdmDown, Text::AdvMdmLater, Finish),
    entry("EnrollmentServer", Mdm, Text::ErrMdmDown, Text::AdvMdmLater, Finish),
    entry("InternalServiceFault", Mdm, Text::ErrMdmDown, Text::AdvMdmLater, Finish),
    entry("network", Mdm, Text::ErrMdmDown, Text::AdvMdmLater, Finish),
    entry("http_5xx", Mdm, Text::ErrMdmDown, Text::AdvMdmLater, Finish),
    entry("joined_not_managed", Mdm, Text::ErrorJoinedNotManaged, Text::AdvMdmLater, Finish),
];

fn find(table: &'static [Entry], code: &str) -> Option<&'static Entry> {
    table.iter().find(|entry| entry.code == code)
}

/// The family a code without its own line belongs to: `http_503` -> `http_5xx`, an unlisted
/// AADSTS number -> `AADSTS`.
fn family(code: &str) -> &'static str {
    if let Some(status) = code.strip_prefix("http_") {
        return if status.starts_with('5') {
            "http_5xx"
        } else {
            "http_4xx"
        };
    }
    if code.starts_with("AADSTS") {
        return "AADSTS";
    }
    "unknown"
}

/// The entry of `code`. `mdm`: the failure came from the MDM enrollment after the join.
pub fn lookup(code: &str, mdm: bool) -> &'static Entry {
    let table = if mdm { MDM_CATALOG } else { CATALOG };
    let fallback = if mdm { "joined_not_managed" } else { "unknown" };
    find(table, code)
        .or_else(|| find(table, family(code)))
        .or_else(|| find(table, fallback))
        .unwrap_or(&CATALOG[CATALOG.len() - 1])
}

/// The code of an authority error: `AADSTS<n>` from the description ESTS starts with it,
/// else the OAuth `error`.
pub fn authority_code(error: &AuthorityError) -> String {
    let number = error.description.as_deref().and_then(|text| {
        let rest = text.trim_start().strip_prefix("AADSTS")?;
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        (end > 0).then(|| rest[..end].to_string())
    });
    match number {
        Some(number) => format!("AADSTS{number}"),
        None => error.error.clone(),
    }
}

/// How many codes may still be tried, when the refusal says (`… (4 tries left)`, the
/// emulator's AADSTS500121 description); shown in the UI language.
pub fn tries_left(description: &str) -> Option<u32> {
    let before = description.split(" tries left").next()?;
    if before.len() == description.len() {
        return None;
    }
    let digits: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// The docs table (`docs/errors.md`): every code with its summary and advice in every UI
/// language.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "# Error codes and what the user is told\n\n\
         Generated from `app/src/errors.rs` (`CATALOG`, `MDM_CATALOG`); the test \
         `errors::tests::the_docs_table_is_current` fails when this file is stale \
         (`CXH_WRITE_ERRORS_DOC=1 cargo test -p cxh-join-app errors` rewrites it). The page shows the \
         summary, the advice, the action, and the code on an \"Error code\" line.\n",
    );
    for source in Source::ALL {
        out.push_str(&format!("\n## {}\n\n| Code | Action |", source.title()));
        for language in Language::ALL {
            out.push_str(&format!(" {} |", language.tag()));
        }
        out.push_str("\n|---|---|");
        for _ in Language::ALL {
            out.push_str("---|");
        }
        out.push('\n');
        for entry in CATALOG
            .iter()
            .chain(MDM_CATALOG)
            .filter(|e| e.source == source)
        {
            out.push_str(&format!(
                "| `{}` | {} |",
                entry.code,
                entry.action.describe()
            ));
            for &language in Language::ALL {
                out.push_str(&format!(
                    " {} {} |",
                    language.text(entry.summary),
                    language.text(entry.advice)
                ));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> impl Iterator<Item = &'static Entry> {
        CATALOG.iter().chain(MDM_CATALOG)
    }

    #[test]
    fn the_codes_the_services_send_have_their_own_message() {
        assert_eq!(lookup("AADSTS50126", false).summary, Text::ErrWrongPassword);
        assert_eq!(lookup("AADSTS50034", false).action, Action::ChangeUsername);
        assert_eq!(lookup("AADSTS50053", false).summary, Text::ErrLocked);
        assert_eq!(lookup("quota_exceeded", false).summary, Text::ErrQuota);
        assert_eq!(lookup("quota_exceeded", false).advice, Text::AdvQuota);
        assert_eq!(lookup("DeviceCapReached", true).summary, Text::ErrMdmCap);
    }

    #[test]
    fn families_and_unknown_codes_fall_back() {
        assert_eq!(lookup("http_503", false).code, "http_5xx");
        assert_eq!(lookup("http_404", false).code, "http_4xx");
        assert_eq!(lookup("AADSTS123456", false).code, "AADSTS");
        assert_eq!(lookup("something_new", false).code, "unknown");
        assert_eq!(lookup("something_new", true).code, "joined_not_managed");
        assert_eq!(lookup("http_502", true).summary, Text::ErrMdmDown);
    }

    /// Retryable are the failures outside the user's hands (network, timeouts, a service
    /// down); a reached quota is not, and says what helps instead.
    #[test]
    fn retryable_and_final_failures_are_told_apart() {
        for code in ["network", "http_503", "internal_error", "bridge_lost"] {
            assert!(lookup(code, false).action.retryable(), "{code}");
        }
        for code in [
            "quota_exceeded",
            "AADSTS50053",
            "AADSTS50126",
            "attestation_failed",
        ] {
            assert!(!lookup(code, false).action.retryable(), "{code}");
        }
        assert_eq!(lookup("network", true).action, Action::Finish);
    }

    #[test]
    fn codes_are_listed_once_per_table() {
        for table in [CATALOG, MDM_CATALOG] {
            for (index, entry) in table.iter().enumerate() {
                assert!(
                    table[index + 1..]
                        .iter()
                        .all(|other| other.code != entry.code),
                    "{} twice",
                    entry.code
                );
            }
        }
    }

    /// Every message exists in every language, is not the English one outside en-US, and is
    /// not raw: no code, no AADSTS, no snake_case name shows in the sentence.
    #[test]
    fn no_message_is_untranslated_or_raw() {
        for entry in all() {
            for &language in Language::ALL {
                for key in [entry.summary, entry.advice] {
                    let text = language.text(key);
                    assert!(!text.trim().is_empty(), "{key:?} {}", language.tag());
                    if language != Language::EnUs {
                        assert_ne!(text, Language::EnUs.text(key), "{key:?} {}", language.tag());
                    }
                    // A code that is a plain word ("network", "store") may be in a sentence.
                    let plain_word = entry.code.chars().all(|c| c.is_ascii_lowercase());
                    assert!(
                        plain_word || !text.contains(entry.code),
                        "{} raw in {key:?}",
                        entry.code
                    );
                    assert!(!text.contains("AADSTS"), "{key:?}");
                    let snake = text.split_whitespace().any(|word| {
                        word.contains('_')
                            && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    });
                    assert!(!snake, "{key:?} names a code in {}", language.tag());
                }
            }
        }
    }

    #[test]
    fn authority_codes_come_from_the_description() {
        let error = |error: &str, description: Option<&str>| AuthorityError {
            error: error.into(),
            description: description.map(str::to_string),
        };
        assert_eq!(
            authority_code(&error(
                "invalid_grant",
                Some("AADSTS50126: Error validating")
            )),
            "AADSTS50126"
        );
        assert_eq!(
            authority_code(&error("access_denied", None)),
            "access_denied"
        );
        assert_eq!(
            authority_code(&error("access_denied", Some("AADSTS: no number"))),
            "access_denied"
        );
    }

    #[test]
    fn tries_left_is_read_from_the_refusal() {
        let text = "AADSTS500121: strong authentication failed: the verification code is not correct (4 tries left)";
        assert_eq!(tries_left(text), Some(4));
        assert_eq!(tries_left("AADSTS500121: wrong"), None);
        assert_eq!(tries_left("x tries left"), None);
    }

    #[test]
    fn the_docs_table_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/errors.md");
        let table = markdown_table();
        if std::env::var_os("CXH_WRITE_ERRORS_DOC").is_some() {
            std::fs::write(path, &table).expect("write docs/errors.md");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == table,
            "docs/errors.md is stale: run CXH_WRITE_ERRORS_DOC=1 cargo test -p cxh-join-app errors"
        );
        for entry in all() {
            assert!(
                on_disk.contains(&format!("`{}`", entry.code)),
                "{}",
                entry.code
            );
        }
    }
}
