//! The join flow as data: which page shows, what survives the full-page navigations of the
//! sign-in round trip, and what the URL the page was loaded with means.
//!
//! The sign-in leaves the app twice (to the authority's `authorize`, and the login form POST),
//! so the app restarts from scratch up to three times. Everything it must remember across those
//! restarts lives in `sessionStorage` under the `KEY_*` names below; everything else is
//! recomputed. The password is never among them.
//!
//! This module is pure (no browser calls) so it can be unit-tested natively; the browser's
//! storage is one implementation of [`SessionStore`].

use cxh_wire::bridge::{BridgeError, JoinResult};
use cxh_wire::bridge::{Edition, HostContext, JoinPhase, PhaseState};

/// `sessionStorage` key: WebSocket URL of the host bridge.
pub const KEY_BRIDGE_URL: &str = "cxh.bridge_url";
/// `sessionStorage` key: per-launch secret sent in `hello`.
pub const KEY_BRIDGE_SECRET: &str = "cxh.bridge_secret";
/// `sessionStorage` key: the host context of the last `welcome`, as JSON.
pub const KEY_HOST: &str = "cxh.host";
/// `sessionStorage` key: nonce of the pending sign-in request.
pub const KEY_NONCE: &str = "cxh.nonce";
/// `sessionStorage` key: state of the pending sign-in request.
pub const KEY_STATE: &str = "cxh.state";
/// `sessionStorage` key: the join path the user chose (see [`JoinPath`]).
pub const KEY_PATH: &str = "cxh.path";

/// `sessionStorage` key: the validated id_token waiting for the MDM terms round trip.
pub const KEY_TERMS_ID_TOKEN: &str = "cxh.terms_id_token";
/// `sessionStorage` key: the nonce that id_token must still carry when the terms answer.
pub const KEY_TERMS_NONCE: &str = "cxh.terms_nonce";

/// Every key the app writes, so "forget everything" cannot miss one.
pub const ALL_KEYS: [&str; 8] = [
    KEY_BRIDGE_URL,
    KEY_BRIDGE_SECRET,
    KEY_HOST,
    KEY_NONCE,
    KEY_STATE,
    KEY_PATH,
    KEY_TERMS_ID_TOKEN,
    KEY_TERMS_NONCE,
];

/// A join waiting for the MDM terms page's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTerms {
    pub id_token: String,
    pub nonce: String,
}

/// Somewhere to keep strings across page loads. Failures are silent on purpose: a browser
/// without storage must still show a page (an error page), never crash.
pub trait SessionStore {
    fn get(&self, key: &str) -> Option<String>;
    fn set(&self, key: &str, value: &str);
    fn remove(&self, key: &str);
}

/// Where the bridge listens and how to prove the page was launched by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeEndpoint {
    pub url: String,
    pub secret: String,
}

/// The values of a sign-in request in flight; the answer must echo `state` and its id_token
/// must carry `nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    pub nonce: String,
    pub state: String,
}

/// The way of setting up the device the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinPath {
    EntraJoin,
}

impl JoinPath {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinPath::EntraJoin => "entra_join",
        }
    }

    pub fn parse(value: &str) -> Option<JoinPath> {
        (value == "entra_join").then_some(JoinPath::EntraJoin)
    }
}

/// Typed access to the app's `sessionStorage` entries.
pub struct Session<S: SessionStore> {
    store: S,
}

impl<S: SessionStore> Session<S> {
    pub fn new(store: S) -> Self {
        Session { store }
    }

    fn non_empty(&self, key: &str) -> Option<String> {
        self.store.get(key).filter(|value| !value.is_empty())
    }

    pub fn bridge(&self) -> Option<BridgeEndpoint> {
        Some(BridgeEndpoint {
            url: self.non_empty(KEY_BRIDGE_URL)?,
            secret: self.non_empty(KEY_BRIDGE_SECRET)?,
        })
    }

    pub fn save_bridge(&self, endpoint: &BridgeEndpoint) {
        self.store.set(KEY_BRIDGE_URL, &endpoint.url);
        self.store.set(KEY_BRIDGE_SECRET, &endpoint.secret);
    }

    /// The host context saved at the last `welcome`; unreadable JSON counts as none.
    pub fn host(&self) -> Option<HostContext> {
        serde_json::from_str(&self.non_empty(KEY_HOST)?).ok()
    }

    pub fn save_host(&self, host: &HostContext) {
        if let Ok(json) = serde_json::to_string(host) {
            self.store.set(KEY_HOST, &json);
        }
    }

    pub fn pending_sign_in(&self) -> Option<PendingSignIn> {
        Some(PendingSignIn {
            nonce: self.non_empty(KEY_NONCE)?,
            state: self.non_empty(KEY_STATE)?,
        })
    }

    pub fn save_pending_sign_in(&self, pending: &PendingSignIn) {
        self.store.set(KEY_NONCE, &pending.nonce);
        self.store.set(KEY_STATE, &pending.state);
    }

    /// Forget the nonce and state: after a token was accepted (they are single-use) or when
    /// the user starts over.
    pub fn clear_pending_sign_in(&self) {
        self.store.remove(KEY_NONCE);
        self.store.remove(KEY_STATE);
    }

    pub fn path(&self) -> Option<JoinPath> {
        JoinPath::parse(&self.store.get(KEY_PATH)?)
    }

    pub fn save_path(&self, path: JoinPath) {
        self.store.set(KEY_PATH, path.as_str());
    }

    pub fn clear_path(&self) {
        self.store.remove(KEY_PATH);
    }

    pub fn pending_terms(&self) -> Option<PendingTerms> {
        Some(PendingTerms {
            id_token: self.non_empty(KEY_TERMS_ID_TOKEN)?,
            nonce: self.non_empty(KEY_TERMS_NONCE)?,
        })
    }

    pub fn save_pending_terms(&self, pending: &PendingTerms) {
        self.store.set(KEY_TERMS_ID_TOKEN, &pending.id_token);
        self.store.set(KEY_TERMS_NONCE, &pending.nonce);
    }

    /// Single use: the terms answer is read once.
    pub fn clear_pending_terms(&self) {
        self.store.remove(KEY_TERMS_ID_TOKEN);
        self.store.remove(KEY_TERMS_NONCE);
    }

    /// Whether a sign-in or terms round trip is under way: a nonce, state or terms token is
    /// pending in the session, or the authority's `sCtx` is in `query` (`location.search`).
    pub fn flow_in_progress(&self, query: &str) -> bool {
        [KEY_NONCE, KEY_STATE, KEY_TERMS_ID_TOKEN, KEY_TERMS_NONCE]
            .iter()
            .any(|key| self.non_empty(key).is_some())
            || lookup(&pairs(query), "sCtx").is_some()
    }

    /// Take a launcher's `#bridge=…&secret=…` hand-off, but only when no flow is in progress.
    /// Mid-flow, a new hand-off could point the app at another local listener, which would
    /// then receive the id_token (and in OOBE the password): it is ignored. Returns whether
    /// the endpoint was saved.
    pub fn accept_handoff(&self, endpoint: &BridgeEndpoint, query: &str) -> bool {
        if self.flow_in_progress(query) {
            return false;
        }
        self.save_bridge(endpoint);
        true
    }

    /// Forget everything (the join is over).
    pub fn clear_all(&self) {
        for key in ALL_KEYS {
            self.store.remove(key);
        }
    }
}

/// An error the authority reported (`error` / `error_description` in the redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityError {
    pub error: String,
    pub description: Option<String>,
}

/// The authority sent the browser back to let the user sign in (`?sCtx=`), maybe after a
/// failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInContext {
    /// Opaque login context; posted back as the `ctx` field.
    pub ctx: String,
    pub login_hint: Option<String>,
    pub error: Option<AuthorityError>,
}

/// The authority's successful answer (`#id_token=…&state=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub id_token: String,
    pub state: Option<String>,
    pub session_state: Option<String>,
}

/// What the URL the page was loaded with asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// The host opened the page: `#bridge=<ws-url>&secret=<secret>`.
    Handoff(BridgeEndpoint),
    /// Back from `authorize`: show the sign-in page.
    SignIn(SignInContext),
    /// The password was right and the authority asks for a second factor
    /// (`?sCtx=…&mfa=required`).
    SecondFactor(SignInContext),
    /// Back from a successful login with an id_token.
    Token(TokenResponse),
    /// Back from the authority with an error.
    AuthorityFailed(AuthorityError),
    /// Back from the MDM terms-of-use page (`?IsAccepted=…&OpaqueBlob=…`).
    Terms(crate::mdm::TermsAnswer),
    /// Nothing recognisable in the URL (a reload, or an unusable hand-off): continue from what
    /// the session remembers.
    Resume,
}

/// Decode `a=1&b=2` (with or without a leading `?` / `#`) into pairs; empty values count as
/// absent.
fn pairs(raw: &str) -> Vec<(String, String)> {
    let raw = raw.strip_prefix(['?', '#']).unwrap_or(raw);
    form_urlencoded::parse(raw.as_bytes())
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn lookup(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

fn authority_error(pairs: &[(String, String)]) -> Option<AuthorityError> {
    Some(AuthorityError {
        error: lookup(pairs, "error")?,
        description: lookup(pairs, "error_description"),
    })
}

/// Read the launch URL. `query` is `location.search`, `fragment` is `location.hash`.
///
/// The fragment wins over the query, because the authority answers in the fragment and a
/// stale query must not hide that answer.
pub fn parse_launch(query: &str, fragment: &str) -> Launch {
    let fragment = pairs(fragment);
    if let Some(id_token) = lookup(&fragment, "id_token") {
        return Launch::Token(TokenResponse {
            id_token,
            state: lookup(&fragment, "state"),
            session_state: lookup(&fragment, "session_state"),
        });
    }
    if let Some(error) = authority_error(&fragment) {
        return Launch::AuthorityFailed(error);
    }
    if let (Some(url), Some(secret)) = (lookup(&fragment, "bridge"), lookup(&fragment, "secret")) {
        if is_loopback_websocket(&url) {
            return Launch::Handoff(BridgeEndpoint { url, secret });
        }
        return Launch::Resume;
    }
    let query = pairs(query);
    if let Some(accepted) = lookup(&query, "IsAccepted") {
        return Launch::Terms(crate::mdm::TermsAnswer {
            accepted: accepted.eq_ignore_ascii_case("true"),
            opaque_blob: lookup(&query, "OpaqueBlob"),
        });
    }
    if let Some(ctx) = lookup(&query, "sCtx") {
        let context = SignInContext {
            ctx,
            login_hint: lookup(&query, "login_hint"),
            error: authority_error(&query),
        };
        if lookup(&query, "mfa").as_deref() == Some("required") {
            return Launch::SecondFactor(context);
        }
        return Launch::SignIn(context);
    }
    if let Some(error) = authority_error(&query) {
        return Launch::AuthorityFailed(error);
    }
    Launch::Resume
}

/// Only a WebSocket on this machine may be the bridge. The id_token goes to it later, so a
/// crafted launch link must not be able to point the app at a server elsewhere.
pub fn is_loopback_websocket(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, after)) if after.is_empty() || after.starts_with(':') => host,
            _ => return false,
        }
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "::1"
    )
}

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
}

impl FlowError {
    pub fn new(reason: ErrorReason, detail: Option<String>, can_start_over: bool) -> Self {
        FlowError {
            reason,
            detail,
            can_start_over,
            failed_phase: None,
        }
    }

    pub fn from_authority(error: &AuthorityError, can_start_over: bool) -> Self {
        let detail = match &error.description {
            Some(description) => description.clone(),
            None => error.error.clone(),
        };
        FlowError::new(ErrorReason::Authority, Some(detail), can_start_over)
    }

    pub fn from_bridge(error: &BridgeError) -> Self {
        let reason = match error.kind {
            cxh_wire::bridge::BridgeErrorKind::JoinedNotManaged => ErrorReason::JoinedNotManaged,
            _ => ErrorReason::JoinFailed,
        };
        FlowError {
            failed_phase: error.phase,
            ..FlowError::new(reason, Some(error.message.clone()), true)
        }
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
}

/// The first page for a host (seed 000 step 1): a joined device says so; Professional asks who
/// owns the device; Enterprise is a work device; Home is a personal device.
pub fn entry_page(host: &HostContext) -> Page {
    if let Some(device_id) = host.joined_device_id.as_ref().filter(|id| !id.is_empty()) {
        return Page::AlreadyJoined {
            device_id: device_id.clone(),
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

/// Where Back on the join options page goes: only Professional came through ownership.
pub fn join_options_back(host: &HostContext) -> Option<BackTo> {
    (host.edition == Edition::Professional).then_some(BackTo::Ownership)
}

/// Display state of one join phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhaseStatus {
    #[default]
    Pending,
    InProgress,
    Done,
    Failed,
}

impl PhaseStatus {
    /// Value of the item's `data-state`.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Pending => "pending",
            PhaseStatus::InProgress => "in_progress",
            PhaseStatus::Done => "done",
            PhaseStatus::Failed => "failed",
        }
    }
}

/// The status of every phase of [`JoinPhase::WITH_MDM`], in that order (the page shows the MDM
/// ones only when MDM applies).
pub type PhaseBoard = [PhaseStatus; JoinPhase::WITH_MDM.len()];

fn phase_index(phase: JoinPhase) -> usize {
    JoinPhase::WITH_MDM
        .iter()
        .position(|candidate| *candidate == phase)
        .unwrap_or_default()
}

/// Apply a `progress` frame. A started phase implies the earlier ones are done, so a missed
/// frame cannot leave a stale "in progress" above the current one.
pub fn apply_progress(board: &mut PhaseBoard, phase: JoinPhase, state: PhaseState) {
    let index = phase_index(phase);
    for earlier in board.iter_mut().take(index) {
        *earlier = PhaseStatus::Done;
    }
    board[index] = match state {
        PhaseState::Started => PhaseStatus::InProgress,
        PhaseState::Completed => PhaseStatus::Done,
    };
}

/// Apply a `joined` frame: everything is done.
pub fn complete_all(board: &mut PhaseBoard) {
    *board = [PhaseStatus::Done; JoinPhase::WITH_MDM.len()];
}

/// Apply a `failed` frame: the named phase (or else the one in progress) failed.
pub fn fail_phase(board: &mut PhaseBoard, phase: Option<JoinPhase>) {
    let index = match phase {
        Some(phase) => Some(phase_index(phase)),
        None => board
            .iter()
            .position(|status| *status == PhaseStatus::InProgress),
    };
    if let Some(index) = index {
        board[index] = PhaseStatus::Failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxh_wire::bridge::{HostFlow, Platform};
    use std::cell::RefCell;
    use std::collections::HashMap;

    #[derive(Default)]
    struct MemoryStore(RefCell<HashMap<String, String>>);

    impl SessionStore for &MemoryStore {
        fn get(&self, key: &str) -> Option<String> {
            self.0.borrow().get(key).cloned()
        }
        fn set(&self, key: &str, value: &str) {
            self.0.borrow_mut().insert(key.into(), value.into());
        }
        fn remove(&self, key: &str) {
            self.0.borrow_mut().remove(key);
        }
    }

    fn host(edition: Edition) -> HostContext {
        HostContext {
            flow: HostFlow::Oobe,
            edition,
            platform: Platform::Desktop,
            authority: "https://login.example".into(),
            device_name: "DESKTOP-1".into(),
            os_version: "10.0.26100".into(),
            language: None,
            joined_device_id: None,
            embedder_origin: None,
        }
    }

    #[test]
    fn handoff_fragment_names_the_bridge() {
        let launch = parse_launch(
            "",
            "#bridge=ws%3A%2F%2F127.0.0.1%3A4100%2Fbridge&secret=s3cr3t",
        );
        assert_eq!(
            launch,
            Launch::Handoff(BridgeEndpoint {
                url: "ws://127.0.0.1:4100/bridge".into(),
                secret: "s3cr3t".into()
            })
        );
    }

    #[test]
    fn a_handoff_mid_flow_does_not_replace_the_bridge() {
        let first = BridgeEndpoint {
            url: "ws://127.0.0.1:4100/".into(),
            secret: "first".into(),
        };
        let other = BridgeEndpoint {
            url: "ws://127.0.0.1:4999/".into(),
            secret: "other".into(),
        };
        let memory = MemoryStore::default();
        let session = Session::new(&memory);
        assert!(
            session.accept_handoff(&first, ""),
            "a fresh launch is taken"
        );
        session.save_pending_sign_in(&PendingSignIn {
            nonce: "n".into(),
            state: "s".into(),
        });
        assert!(!session.accept_handoff(&other, ""));
        assert_eq!(session.bridge(), Some(first.clone()));
        session.clear_pending_sign_in();
        assert!(
            !session.accept_handoff(&other, "?sCtx=ctx-1"),
            "back from authorize"
        );
        session.save_pending_terms(&PendingTerms {
            id_token: "t".into(),
            nonce: "n".into(),
        });
        assert!(
            !session.accept_handoff(&other, ""),
            "in the terms round trip"
        );
        assert_eq!(session.bridge(), Some(first));
        session.clear_pending_terms();
        assert!(
            session.accept_handoff(&other, ""),
            "no flow in progress any more"
        );
        assert_eq!(session.bridge(), Some(other));
    }

    #[test]
    fn handoff_to_a_remote_or_incomplete_bridge_is_ignored() {
        assert_eq!(
            parse_launch("", "#bridge=wss://evil.example/&secret=x"),
            Launch::Resume
        );
        assert_eq!(parse_launch("", "#bridge=ws://127.0.0.1:1"), Launch::Resume);
        assert_eq!(parse_launch("", "#bridge=&secret=x"), Launch::Resume);
    }

    #[test]
    fn loopback_check_reads_the_host_only() {
        assert!(is_loopback_websocket("ws://127.0.0.1:4100/"));
        assert!(is_loopback_websocket("ws://localhost:4100"));
        assert!(is_loopback_websocket("wss://[::1]:4100/x"));
        assert!(!is_loopback_websocket("ws://127.0.0.1.evil.example/"));
        assert!(!is_loopback_websocket("ws://evil.example@127.0.0.1/"));
        assert!(!is_loopback_websocket("ws://[::1]evil/"));
        assert!(!is_loopback_websocket("http://127.0.0.1/"));
        assert!(!is_loopback_websocket(""));
    }

    #[test]
    fn sign_in_context_with_and_without_a_failed_attempt() {
        assert_eq!(
            parse_launch("?sCtx=abc", ""),
            Launch::SignIn(SignInContext {
                ctx: "abc".into(),
                login_hint: None,
                error: None
            })
        );
        let retry = parse_launch(
            "?sCtx=abc&login_hint=ada%40contoso.com&error=invalid_grant&error_description=AADSTS50126%3A+Error+validating+credentials",
            "",
        );
        assert_eq!(
            retry,
            Launch::SignIn(SignInContext {
                ctx: "abc".into(),
                login_hint: Some("ada@contoso.com".into()),
                error: Some(AuthorityError {
                    error: "invalid_grant".into(),
                    description: Some("AADSTS50126: Error validating credentials".into()),
                }),
            })
        );
    }

    #[test]
    fn second_factor_prompt_and_its_retry() {
        let prompt = SignInContext {
            ctx: "abc".into(),
            login_hint: Some("lee@contoso.com".into()),
            error: None,
        };
        assert_eq!(
            parse_launch("?sCtx=abc&mfa=required&login_hint=lee%40contoso.com", ""),
            Launch::SecondFactor(prompt.clone())
        );
        let retry = parse_launch(
            "?sCtx=abc&mfa=required&login_hint=lee%40contoso.com&error=invalid_grant&error_description=AADSTS500121%3A+x",
            "",
        );
        let Launch::SecondFactor(context) = retry else {
            panic!("expected the code prompt, got {retry:?}");
        };
        assert_eq!(context.error.map(|e| e.error), Some("invalid_grant".into()));
        // Anything but `mfa=required` is the ordinary sign-in page.
        assert!(matches!(
            parse_launch("?sCtx=abc&mfa=maybe", ""),
            Launch::SignIn(_)
        ));
    }

    #[test]
    fn token_and_error_fragments() {
        assert_eq!(
            parse_launch("?sCtx=stale", "#id_token=a.b.c&state=st&session_state=ss"),
            Launch::Token(TokenResponse {
                id_token: "a.b.c".into(),
                state: Some("st".into()),
                session_state: Some("ss".into()),
            })
        );
        assert_eq!(
            parse_launch("", "#error=access_denied&error_description=No"),
            Launch::AuthorityFailed(AuthorityError {
                error: "access_denied".into(),
                description: Some("No".into())
            })
        );
        assert_eq!(
            parse_launch("?error=server_error", ""),
            Launch::AuthorityFailed(AuthorityError {
                error: "server_error".into(),
                description: None
            })
        );
    }

    #[test]
    fn terms_answers_and_pending_terms() {
        assert_eq!(
            parse_launch("?IsAccepted=true&OpaqueBlob=b1", ""),
            Launch::Terms(crate::mdm::TermsAnswer {
                accepted: true,
                opaque_blob: Some("b1".into())
            })
        );
        assert_eq!(
            parse_launch("?IsAccepted=false", ""),
            Launch::Terms(crate::mdm::TermsAnswer {
                accepted: false,
                opaque_blob: None
            })
        );
        let store = MemoryStore::default();
        let session = Session::new(&store);
        let pending = PendingTerms {
            id_token: "t".into(),
            nonce: "n".into(),
        };
        session.save_pending_terms(&pending);
        assert_eq!(session.pending_terms(), Some(pending));
        session.clear_pending_terms();
        assert_eq!(session.pending_terms(), None);
    }

    #[test]
    fn garbage_urls_resume() {
        for (query, fragment) in [
            ("", ""),
            ("?", "#"),
            ("?%%%", "#&&=="),
            ("?x=1", "#y"),
            ("?sCtx=", "#id_token="),
        ] {
            assert_eq!(
                parse_launch(query, fragment),
                Launch::Resume,
                "{query} {fragment}"
            );
        }
    }

    #[test]
    fn session_round_trips_and_forgets() {
        let store = MemoryStore::default();
        let session = Session::new(&store);
        assert_eq!(session.bridge(), None);
        assert_eq!(session.host(), None);
        let endpoint = BridgeEndpoint {
            url: "ws://127.0.0.1:1".into(),
            secret: "s".into(),
        };
        session.save_bridge(&endpoint);
        session.save_host(&host(Edition::Enterprise));
        session.save_pending_sign_in(&PendingSignIn {
            nonce: "n".into(),
            state: "st".into(),
        });
        session.save_path(JoinPath::EntraJoin);
        assert_eq!(session.bridge(), Some(endpoint));
        assert_eq!(session.host(), Some(host(Edition::Enterprise)));
        assert_eq!(
            session.pending_sign_in(),
            Some(PendingSignIn {
                nonce: "n".into(),
                state: "st".into()
            })
        );
        assert_eq!(session.path(), Some(JoinPath::EntraJoin));
        session.clear_pending_sign_in();
        assert_eq!(session.pending_sign_in(), None);
        assert!(session.bridge().is_some());
        session.clear_all();
        assert!(store.0.borrow().is_empty());
    }

    #[test]
    fn corrupt_host_json_counts_as_missing() {
        let store = MemoryStore::default();
        (&store).set(KEY_HOST, "{not json");
        assert_eq!(Session::new(&store).host(), None);
    }

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
        assert_eq!(
            entry_page(&joined),
            Page::AlreadyJoined {
                device_id: "d-1".into()
            }
        );
        assert_eq!(
            join_options_back(&host(Edition::Professional)),
            Some(BackTo::Ownership)
        );
        assert_eq!(join_options_back(&host(Edition::Enterprise)), None);
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
        };
        let error = FlowError::from_bridge(&bridge);
        assert_eq!(error.reason, ErrorReason::JoinFailed);
        assert_eq!(error.failed_phase, Some(JoinPhase::Registering));
        assert!(error.can_start_over);
    }

    #[test]
    fn progress_board_follows_frames() {
        let mut board = PhaseBoard::default();
        apply_progress(&mut board, JoinPhase::Discovering, PhaseState::Started);
        assert_eq!(board[0], PhaseStatus::InProgress);
        apply_progress(&mut board, JoinPhase::BuildingRequest, PhaseState::Started);
        assert_eq!(
            &board[..3],
            &[
                PhaseStatus::Done,
                PhaseStatus::Done,
                PhaseStatus::InProgress
            ]
        );
        assert_eq!(board[3], PhaseStatus::Pending);
        fail_phase(&mut board, None);
        assert_eq!(board[2], PhaseStatus::Failed);
        fail_phase(&mut board, Some(JoinPhase::Registering));
        assert_eq!(board[3], PhaseStatus::Failed);
        complete_all(&mut board);
        assert!(board.iter().all(|status| *status == PhaseStatus::Done));
        assert_eq!(PhaseStatus::InProgress.as_str(), "in_progress");
    }
}
