//! The page model: which page shows, why the flow stopped, and the first page for a host.

use cxh_wire::bridge::{BridgeError, Edition, HostContext, JoinPhase, JoinResult};

use super::launch::{AuthorityError, SignInContext};

/// Which choice led away from Entra join (they all end on the "not covered" page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherChoice {
    Personal,
    LocalAccount,
    DomainJoin,
}

/// Where a Back button returns to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackTo {
    Ownership,
    JoinOptions,
}

/// Why the flow stopped; the error page picks its text from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    NoHost,
    BridgeUnreachable,
    BridgeLost,
    Authority,
    AuthorityUnreachable,
    InvalidToken,
    SessionLost,
    JoinFailed,
    NoRandomness,
    /// The MDM terms page refused or the terms were not accepted.
    TermsNotAccepted,
    /// A terms answer arrived that no join here was waiting for (or it was tampered with).
    TermsUnexpected,
    /// Joined, but the MDM enrollment failed.
    JoinedNotManaged,
}

impl ErrorReason {
    /// Name of the reason in the Settings embed's `failed` message.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorReason::NoHost => "no_host",
            ErrorReason::BridgeUnreachable => "bridge_unreachable",
            ErrorReason::BridgeLost => "bridge_lost",
            ErrorReason::Authority => "authority",
            ErrorReason::AuthorityUnreachable => "authority_unreachable",
            ErrorReason::InvalidToken => "invalid_token",
            ErrorReason::SessionLost => "session_lost",
            ErrorReason::JoinFailed => "join_failed",
            ErrorReason::NoRandomness => "no_randomness",
            ErrorReason::TermsNotAccepted => "terms_not_accepted",
            ErrorReason::TermsUnexpected => "terms_unexpected",
            ErrorReason::JoinedNotManaged => "joined_not_managed",
        }
    }
}

/// What the error page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    pub reason: ErrorReason,
    /// Text from the authority, the bridge or the token check, shown as is.
    pub detail: Option<String>,
    /// Whether "Start over" makes sense (it needs a host to start over with).
    pub can_start_over: bool,
    /// The join phase that failed, when the bridge named one.
    pub failed_phase: Option<JoinPhase>,
    /// The code the message is chosen by and the "Error code" line shows (see
    /// [`crate::errors`]): the service's own code, else the reason's.
    pub code: String,
}

impl ErrorReason {
    /// The [`crate::errors`] code of a failure no service named.
    pub fn code(self) -> &'static str {
        match self {
            // The DRS has an `invalid_token` of its own.
            ErrorReason::InvalidToken => "invalid_token_local",
            ErrorReason::JoinFailed => "unknown",
            ErrorReason::Authority => "AADSTS",
            other => other.as_str(),
        }
    }
}

impl FlowError {
    pub fn new(reason: ErrorReason, detail: Option<String>, can_start_over: bool) -> Self {
        FlowError {
            reason,
            detail,
            can_start_over,
            failed_phase: None,
            code: reason.code().to_string(),
        }
    }

    pub fn from_authority(error: &AuthorityError, can_start_over: bool) -> Self {
        let detail = match &error.description {
            Some(description) => description.clone(),
            None => error.error.clone(),
        };
        FlowError {
            code: crate::errors::authority_code(error),
            ..FlowError::new(ErrorReason::Authority, Some(detail), can_start_over)
        }
    }

    pub fn from_bridge(error: &BridgeError) -> Self {
        use cxh_wire::bridge::BridgeErrorKind;
        let reason = match error.kind {
            BridgeErrorKind::JoinedNotManaged => ErrorReason::JoinedNotManaged,
            _ => ErrorReason::JoinFailed,
        };
        let code = match (&error.code, error.kind) {
            (Some(code), _) => code.clone(),
            (None, BridgeErrorKind::InvalidToken) => "invalid_token_local".to_string(),
            (None, BridgeErrorKind::Discovery | BridgeErrorKind::Registration) => {
                "unknown".to_string()
            }
            (None, kind) => serde_json::to_value(kind)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_else(|| "unknown".to_string()),
        };
        FlowError {
            failed_phase: error.phase,
            code,
            ..FlowError::new(reason, Some(error.message.clone()), true)
        }
    }

    /// What the user is told: the catalog entry of this error's code.
    pub fn entry(&self) -> &'static crate::errors::Entry {
        crate::errors::lookup(&self.code, self.reason == ErrorReason::JoinedNotManaged)
    }
}

/// What the app is showing.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    /// Waiting for something (the bridge, the authority); the text says what.
    Working(WorkingOn),
    Ownership,
    JoinOptions,
    AlreadyJoined {
        device_id: String,
        /// The organization it is joined to, when the host knows.
        tenant: Option<String>,
        /// The command that leaves, when the host has no button for it.
        leave_command: Option<String>,
        /// The host lets the page leave: a "Leave <organization>" button.
        can_leave: bool,
    },
    /// "Leave <organization>?": what leaving does, Leave or Cancel.
    ConfirmLeave {
        device_id: String,
        tenant: Option<String>,
    },
    NotCovered {
        choice: OtherChoice,
        back: Option<BackTo>,
    },
    SignIn(SignInContext),
    /// Leaving for the MDM terms page: a form POST carrying the bearer.
    Terms(TermsVisit),
    /// The code prompt of the authority's second factor.
    SecondFactor(SignInContext),
    Progress,
    Done(JoinResult),
    /// After Continue on the done page (OOBE): where the user goes next.
    Handover(JoinResult),
    Error(FlowError),
}

/// The terms page to visit and the fields of the form posted to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsVisit {
    pub url: String,
    pub fields: Vec<(String, String)>,
}

/// What a [`Page::Working`] is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkingOn {
    Connecting,
    Redirecting,
    CheckingSignIn,
    Leaving,
}

/// What the start page says after the device left its organization from this app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftNotice {
    /// The organization it left, when the host named it.
    pub tenant: Option<String>,
    /// The device object was deleted at DRS; otherwise it remains in the tenant.
    pub deleted_in_tenant: bool,
}

/// The first page for a host (seed 000 step 1): a joined device says so; Professional asks who
/// owns the device; Enterprise is a work device; Home is a personal device.
pub fn entry_page(host: &HostContext) -> Page {
    if let Some(device_id) = host.joined_device_id.as_ref().filter(|id| !id.is_empty()) {
        return Page::AlreadyJoined {
            device_id: device_id.clone(),
            tenant: host.joined_tenant.clone(),
            leave_command: host.leave_command.clone(),
            can_leave: host.can_leave,
        };
    }
    match host.edition {
        Edition::Professional => Page::Ownership,
        Edition::Enterprise => Page::JoinOptions,
        Edition::Home => Page::NotCovered {
            choice: OtherChoice::Personal,
            back: None,
        },
    }
}

/// Whether the experience goes straight to the sign-in: in Settings the user already chose
/// "Join this device to Microsoft Entra ID" (seed 000 step 1: "If the user runs Azure AD Join
/// from Settings … the user will see the experience described from this point on"), so the
/// ownership and join-options pages are OOBE-only. A joined device still says so.
pub fn starts_at_sign_in(host: &HostContext) -> bool {
    host.flow == cxh_wire::bridge::HostFlow::Settings
        && host
            .joined_device_id
            .as_deref()
            .unwrap_or_default()
            .is_empty()
}

/// Where the app goes once the device left: the start of the join. In OOBE that is the
/// edition's first page; in Settings (whose start is the sign-in itself) the join options,
/// so that the user reads what leaving did before choosing to join again.
pub fn after_leave_page(host: &HostContext) -> Page {
    let mut left = host.clone();
    left.joined_device_id = None;
    left.joined_tenant = None;
    left.leave_command = None;
    match host.flow {
        cxh_wire::bridge::HostFlow::Settings => Page::JoinOptions,
        cxh_wire::bridge::HostFlow::Oobe => entry_page(&left),
    }
}

/// Where Back on the join options page goes: only Professional came through ownership.
pub fn join_options_back(host: &HostContext) -> Option<BackTo> {
    (host.edition == Edition::Professional).then_some(BackTo::Ownership)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::test_support::host;
    use cxh_wire::bridge::HostFlow;

    #[test]
    fn entry_page_follows_edition_and_join_state() {
        assert_eq!(entry_page(&host(Edition::Professional)), Page::Ownership);
        assert_eq!(entry_page(&host(Edition::Enterprise)), Page::JoinOptions);
        assert_eq!(
            entry_page(&host(Edition::Home)),
            Page::NotCovered {
                choice: OtherChoice::Personal,
                back: None
            }
        );
        let mut joined = host(Edition::Professional);
        joined.joined_device_id = Some("d-1".into());
        joined.joined_tenant = Some("Contoso".into());
        joined.leave_command = Some("host-bridge leave --state-dir /s".into());
        assert_eq!(
            entry_page(&joined),
            Page::AlreadyJoined {
                device_id: "d-1".into(),
                tenant: Some("Contoso".into()),
                leave_command: Some("host-bridge leave --state-dir /s".into()),
                can_leave: false,
            }
        );
        joined.can_leave = true;
        assert!(matches!(
            entry_page(&joined),
            Page::AlreadyJoined {
                can_leave: true,
                ..
            }
        ));
        assert_eq!(
            join_options_back(&host(Edition::Professional)),
            Some(BackTo::Ownership)
        );
        assert_eq!(join_options_back(&host(Edition::Enterprise)), None);
    }

    #[test]
    fn after_leaving_the_join_starts_again() {
        let mut joined = host(Edition::Enterprise);
        joined.joined_device_id = Some("d-1".into());
        assert_eq!(after_leave_page(&joined), Page::JoinOptions);
        joined.edition = Edition::Professional;
        assert_eq!(after_leave_page(&joined), Page::Ownership);
        joined.flow = HostFlow::Settings;
        assert_eq!(after_leave_page(&joined), Page::JoinOptions);
    }

    #[test]
    fn settings_starts_at_the_sign_in_unless_joined() {
        assert!(!starts_at_sign_in(&host(Edition::Professional)));
        let mut settings = host(Edition::Home);
        settings.flow = HostFlow::Settings;
        assert!(starts_at_sign_in(&settings));
        settings.joined_device_id = Some("d-1".into());
        assert!(!starts_at_sign_in(&settings));
    }

    #[test]
    fn errors_keep_what_the_page_shows() {
        let authority = AuthorityError {
            error: "invalid_request".into(),
            description: Some("AADSTS900144: x".into()),
        };
        let error = FlowError::from_authority(&authority, false);
        assert_eq!(
            (error.reason, error.detail.as_deref()),
            (ErrorReason::Authority, Some("AADSTS900144: x"))
        );
        let bare = AuthorityError {
            error: "server_error".into(),
            description: None,
        };
        assert_eq!(
            FlowError::from_authority(&bare, true).detail.as_deref(),
            Some("server_error")
        );
        let bridge = BridgeError {
            kind: cxh_wire::bridge::BridgeErrorKind::Registration,
            message: "DRS said no".into(),
            phase: Some(JoinPhase::Registering),
            code: Some("quota_exceeded".into()),
        };
        let error = FlowError::from_bridge(&bridge);
        assert_eq!(error.reason, ErrorReason::JoinFailed);
        assert_eq!(error.failed_phase, Some(JoinPhase::Registering));
        assert!(error.can_start_over);
        assert_eq!(error.code, "quota_exceeded");
        assert_eq!(error.entry().summary, crate::i18n::Text::ErrQuota);
        // Without a service code the kind decides; the bridge's token check is not DRS's.
        let local = BridgeError {
            kind: cxh_wire::bridge::BridgeErrorKind::InvalidToken,
            message: "m".into(),
            phase: None,
            code: None,
        };
        assert_eq!(FlowError::from_bridge(&local).code, "invalid_token_local");
        let keys = BridgeError {
            kind: cxh_wire::bridge::BridgeErrorKind::KeyCreation,
            ..local
        };
        assert_eq!(FlowError::from_bridge(&keys).code, "key_creation");
        let mdm = BridgeError {
            kind: cxh_wire::bridge::BridgeErrorKind::JoinedNotManaged,
            message: "m".into(),
            phase: Some(JoinPhase::MdmEnrolling),
            code: Some("DeviceCapReached".into()),
        };
        assert_eq!(
            FlowError::from_bridge(&mdm).entry().summary,
            crate::i18n::Text::ErrMdmCap
        );
        assert_eq!(
            FlowError::from_authority(&authority, true).code,
            "AADSTS900144"
        );
    }
}
