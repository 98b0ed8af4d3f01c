//! The flow running in the browser: reads the launch URL, keeps the session, talks to the
//! bridge and the authority, and decides which [`Page`] shows. Pages call its methods; it is
//! shared with them as a Leptos context.

use cxh_wire::bridge::{ClientMessage, HostContext, ServerMessage};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::authority::{authorize_url, fetch_jwks, fetch_openid_configuration};
use crate::bridge::{BridgeConnection, BridgeFailure};
use crate::crypto::random_hex;
use crate::embed::Outcome;
use crate::flow::{
    apply_progress, complete_all, entry_page, fail_phase, parse_launch, starts_at_sign_in, BackTo,
    ErrorReason, FlowError, JoinPath, Launch, OtherChoice, Page, PendingSignIn, PhaseBoard,
    Session, SessionStore, TokenResponse, WorkingOn,
};
use crate::i18n::{set_language, t, Language, Text};
use crate::id_token::{check_state, validate_id_token};

/// `sessionStorage`, or nothing when the browser refuses it (private modes, sandboxed frames).
pub struct BrowserStore(Option<web_sys::Storage>);

impl BrowserStore {
    fn open() -> Self {
        BrowserStore(web_sys::window().and_then(|window| window.session_storage().ok().flatten()))
    }
}

impl SessionStore for BrowserStore {
    fn get(&self, key: &str) -> Option<String> {
        self.0.as_ref()?.get_item(key).ok().flatten()
    }
    fn set(&self, key: &str, value: &str) {
        if let Some(storage) = &self.0 {
            let _ = storage.set_item(key, value);
        }
    }
    fn remove(&self, key: &str) {
        if let Some(storage) = &self.0 {
            let _ = storage.remove_item(key);
        }
    }
}

fn session() -> Session<BrowserStore> {
    Session::new(BrowserStore::open())
}

/// `location.search` and `location.hash`, empty when unreadable.
fn launch_url_parts() -> (String, String) {
    let Some(location) = web_sys::window().map(|window| window.location()) else {
        return (String::new(), String::new());
    };
    (
        location.search().unwrap_or_default(),
        location.hash().unwrap_or_default(),
    )
}

/// Drop the fragment (bridge secret, id_token) from the address bar and history, keeping the
/// path, so neither lingers where it could be copied or bookmarked.
fn forget_fragment(keep_query: bool) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let mut url = location.pathname().unwrap_or_default();
    if keep_query {
        url.push_str(&location.search().unwrap_or_default());
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

fn page_origin() -> String {
    web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .unwrap_or_default()
}

/// The browser's preferred languages (`navigator.languages`), most preferred first.
fn browser_languages() -> Vec<String> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    window
        .navigator()
        .languages()
        .iter()
        .filter_map(|tag| tag.as_string())
        .collect()
}

/// Dress the document for the host: UI language (`lang`, `dir`, title) and theme (the dark
/// OOBE theme, the light Settings one). Pages rendered afterwards use the language.
pub fn present(host: Option<&HostContext>) {
    let language = Language::choose(
        host.and_then(|host| host.language.as_deref()),
        &browser_languages(),
    );
    set_language(language);
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    document.set_title(t(Text::AppTitle));
    if let Some(root) = document.document_element() {
        let _ = root.set_attribute("lang", language.tag());
        let _ = root.set_attribute("dir", language.direction().as_str());
    }
    let settings = host.is_some_and(|host| host.flow == cxh_wire::bridge::HostFlow::Settings);
    if let Some(body) = document.body() {
        body.set_class_name(if settings {
            "theme-light flow-settings"
        } else {
            "theme-dark flow-oobe"
        });
    }
}

fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The flow's reactive state, shared by all pages.
#[derive(Clone, Copy)]
pub struct Controller {
    pub page: RwSignal<Page>,
    /// The host context from the bridge's welcome (or the session, after a navigation).
    pub host: RwSignal<Option<HostContext>>,
    pub phases: RwSignal<PhaseBoard>,
    /// Whether the join under way includes MDM enrollment (the progress page shows its phases).
    pub mdm: RwSignal<bool>,
}

/// The controller provided by [`crate::App`].
pub fn use_controller() -> Controller {
    expect_context::<Controller>()
}

impl Controller {
    /// Initial state: the host context remembered by the session, if any.
    pub fn from_session() -> Self {
        let host = session().host();
        present(host.as_ref());
        Controller {
            page: RwSignal::new(Page::Working(WorkingOn::Connecting)),
            host: RwSignal::new(host),
            phases: RwSignal::new(PhaseBoard::default()),
            mdm: RwSignal::new(false),
        }
    }

    fn show(self, page: Page) {
        // The Settings host page hears how the join ended (see `embed`).
        let outcome = match &page {
            Page::Done(result) => Some(Outcome::Joined {
                device_id: result.device_id.clone(),
                tenant: result.tenant_display_name.clone(),
            }),
            Page::Error(error) => Some(Outcome::Failed {
                error: error.reason.as_str().to_string(),
                detail: error.detail.clone(),
            }),
            _ => None,
        };
        if let Some(outcome) = outcome {
            self.post(outcome);
        }
        self.page.set(page);
    }

    fn post(self, outcome: Outcome) {
        crate::embed::post(self.host.get_untracked().as_ref(), outcome);
    }

    /// The first page for this host, or straight on to the sign-in (Settings).
    fn enter(self, host: &HostContext) {
        if starts_at_sign_in(host) {
            self.join_entra();
        } else {
            self.show(entry_page(host));
        }
    }

    /// Cancel (Settings, before signing in): the pending request is abandoned and the host
    /// page hears `cancelled`; closing the frame is its call.
    pub fn cancel(self) {
        let session = session();
        session.clear_pending_sign_in();
        session.clear_path();
        self.post(Outcome::Cancelled);
    }

    /// Show an error; Start over is offered when a host is known to start over with.
    fn fail(self, reason: ErrorReason, detail: Option<String>) {
        let can_start_over = self.host.get_untracked().is_some();
        self.show(Page::Error(FlowError::new(reason, detail, can_start_over)));
    }

    /// Decide the first page from the URL the app was loaded with.
    pub fn boot(self) {
        let (query, fragment) = launch_url_parts();
        match parse_launch(&query, &fragment) {
            Launch::Handoff(endpoint) => {
                // Mid-flow a hand-off is ignored (see `Session::accept_handoff`): the page
                // carries on with the bridge it started with.
                let taken = session().accept_handoff(&endpoint, &query);
                forget_fragment(!taken);
                self.connect_then(|controller, host| controller.enter(&host));
            }
            Launch::Resume => {
                forget_fragment(true);
                self.connect_then(|controller, host| controller.enter(&host));
            }
            Launch::SignIn(context) => {
                if self.host.get_untracked().is_some() {
                    self.show(Page::SignIn(context));
                } else {
                    self.connect_then(move |controller, _| controller.show(Page::SignIn(context)));
                }
            }
            Launch::SecondFactor(context) => {
                forget_fragment(true);
                if self.host.get_untracked().is_some() {
                    self.show(Page::SecondFactor(context));
                } else {
                    self.connect_then(move |controller, _| {
                        controller.show(Page::SecondFactor(context))
                    });
                }
            }
            Launch::Token(response) => {
                forget_fragment(false);
                self.show(Page::Working(WorkingOn::CheckingSignIn));
                spawn_local(async move {
                    if let Err(error) = self.finish_sign_in(response).await {
                        self.show(Page::Error(error));
                    }
                });
            }
            Launch::Terms(answer) => {
                forget_fragment(false);
                self.show(Page::Working(WorkingOn::CheckingSignIn));
                spawn_local(async move {
                    if let Err(error) = self.resume_after_terms(answer).await {
                        self.show(Page::Error(error));
                    }
                });
            }
            Launch::AuthorityFailed(error) if session().pending_terms().is_some() => {
                // The terms page's error redirect (`error=access_denied`): no join.
                forget_fragment(false);
                session().clear_pending_terms();
                let detail = error.description.clone().unwrap_or(error.error.clone());
                self.fail(ErrorReason::TermsNotAccepted, Some(detail));
            }
            Launch::AuthorityFailed(error) => {
                forget_fragment(false);
                let can_start_over = self.host.get_untracked().is_some();
                self.show(Page::Error(FlowError::from_authority(
                    &error,
                    can_start_over,
                )));
            }
        }
    }

    /// OOBE, managed user, just before the sign-in form is posted: hand the password to the
    /// bridge for the automatic sign-in buffer. Resolves (with whether it was accepted) in
    /// time for the form submission either way.
    pub async fn prepare_auto_logon(self, upn: String, password: String) -> bool {
        match session().bridge() {
            Some(endpoint) => crate::bridge::prepare_auto_logon(&endpoint, upn, password).await,
            None => false,
        }
    }

    /// Connect to the bridge from the session, remember its host context, then go on.
    fn connect_then(self, next: impl FnOnce(Controller, HostContext) + 'static) {
        let Some(endpoint) = session().bridge() else {
            self.show(Page::Error(FlowError::new(
                ErrorReason::NoHost,
                None,
                false,
            )));
            return;
        };
        self.show(Page::Working(WorkingOn::Connecting));
        spawn_local(async move {
            match BridgeConnection::connect(&endpoint).await {
                Ok(connection) => {
                    let host = connection.host.clone();
                    connection.close();
                    session().save_host(&host);
                    present(Some(&host));
                    self.host.set(Some(host.clone()));
                    next(self, host);
                }
                Err(failure) => self.fail(ErrorReason::BridgeUnreachable, Some(failure.describe())),
            }
        });
    }

    /// Ownership: a work device goes on to the join options.
    pub fn choose_work(self) {
        self.show(Page::JoinOptions);
    }

    /// Personal use, local account or domain join: explain they are not covered.
    pub fn choose_other(self, choice: OtherChoice) {
        let back = match choice {
            OtherChoice::Personal => BackTo::Ownership,
            OtherChoice::LocalAccount | OtherChoice::DomainJoin => BackTo::JoinOptions,
        };
        self.show(Page::NotCovered {
            choice,
            back: Some(back),
        });
    }

    pub fn go_back(self, to: BackTo) {
        self.show(match to {
            BackTo::Ownership => Page::Ownership,
            BackTo::JoinOptions => Page::JoinOptions,
        });
    }

    /// Join Entra ID: make the sign-in request (seed 001 phase B) and leave for the authority.
    pub fn join_entra(self) {
        self.show(Page::Working(WorkingOn::Redirecting));
        spawn_local(async move {
            let configuration = match fetch_openid_configuration().await {
                Ok(configuration) => configuration,
                Err(why) => return self.fail(ErrorReason::AuthorityUnreachable, Some(why)),
            };
            // The nonce is the bridge's: it accepts a token only for a nonce it issued.
            let Some(endpoint) = session().bridge() else {
                return self.fail(ErrorReason::NoHost, None);
            };
            let nonce = match crate::bridge::request_nonce(&endpoint).await {
                Ok(nonce) => nonce,
                Err(failure) => {
                    return self.fail(ErrorReason::BridgeUnreachable, Some(failure.describe()))
                }
            };
            let Some(state) = random_hex() else {
                return self.fail(ErrorReason::NoRandomness, None);
            };
            let pending = PendingSignIn { nonce, state };
            let session = session();
            session.save_pending_sign_in(&pending);
            session.save_path(JoinPath::EntraJoin);
            // Without storage the answer could never be checked: stop here, not after sign-in.
            if session.pending_sign_in().as_ref() != Some(&pending) {
                return self.fail(
                    ErrorReason::SessionLost,
                    Some("sessionStorage is unavailable".into()),
                );
            }
            let url = authorize_url(
                &configuration.authorization_endpoint,
                &page_origin(),
                &pending.nonce,
                &pending.state,
            );
            let navigated = web_sys::window().map(|window| window.location().assign(&url));
            if !matches!(navigated, Some(Ok(()))) {
                self.fail(ErrorReason::AuthorityUnreachable, None);
            }
        });
    }

    /// The `state` of the sign-in request in flight, which a federated sign-in carries
    /// through the STS in `wctx`.
    pub fn pending_state(self) -> Option<String> {
        session().pending_sign_in().map(|pending| pending.state)
    }

    /// Leave for the organization's STS (federated realm).
    pub fn go_to_sts(self, url: &str) {
        self.show(Page::Working(WorkingOn::Redirecting));
        let navigated = web_sys::window().map(|window| window.location().assign(url));
        if !matches!(navigated, Some(Ok(()))) {
            self.fail(ErrorReason::AuthorityUnreachable, None);
        }
    }

    /// Back from the sign-in page: the pending request is abandoned.
    pub fn back_from_sign_in(self) {
        let session = session();
        session.clear_pending_sign_in();
        session.clear_path();
        forget_fragment(false);
        self.show(Page::JoinOptions);
    }

    /// Start over after an error: forget the sign-in, back to the join options.
    pub fn start_over(self) {
        let session = session();
        session.clear_pending_sign_in();
        session.clear_path();
        forget_fragment(false);
        self.phases.set(PhaseBoard::default());
        let restart = |controller: Controller, host: &HostContext| {
            if starts_at_sign_in(host) {
                controller.join_entra();
            } else {
                controller.show(Page::JoinOptions);
            }
        };
        match self.host.get_untracked() {
            Some(host) => restart(self, &host),
            None => self.connect_then(move |controller, host| restart(controller, &host)),
        }
    }

    /// The user finished on the done page: the session is no longer needed. What comes next
    /// (the rest of OOBE, or signing out in Settings) belongs to the host, which the window
    /// returns to.
    pub fn finish(self) {
        if let Page::Done(result) = self.page.get_untracked() {
            self.post(Outcome::SignOut {
                device_id: Some(result.device_id),
            });
        }
        session().clear_all();
        if let Some(window) = web_sys::window() {
            let _ = window.close();
        }
    }

    /// Back from the authority with an id_token: check it, then have the bridge join.
    async fn finish_sign_in(self, response: TokenResponse) -> Result<(), FlowError> {
        let can_start_over = self.host.get_untracked().is_some();
        let session = session();
        let pending = session
            .pending_sign_in()
            .ok_or_else(|| FlowError::new(ErrorReason::SessionLost, None, can_start_over))?;
        let invalid = |error: crate::id_token::TokenError| {
            FlowError::new(
                ErrorReason::InvalidToken,
                Some(error.to_string()),
                can_start_over,
            )
        };
        let unreachable = |why: String| {
            FlowError::new(ErrorReason::AuthorityUnreachable, Some(why), can_start_over)
        };

        check_state(response.state.as_deref(), &pending.state).map_err(invalid)?;
        let configuration = fetch_openid_configuration().await.map_err(unreachable)?;
        let jwks = fetch_jwks(&configuration.jwks_uri)
            .await
            .map_err(unreachable)?;
        let claims = validate_id_token(
            &response.id_token,
            &jwks,
            &configuration.issuer,
            &pending.nonce,
            now_seconds(),
        )
        .map_err(invalid)?;
        // Single use: a replayed redirect must not pass again.
        session.clear_pending_sign_in();
        if let Some(terms_url) = crate::mdm::terms_url(&claims) {
            return self
                .leave_for_terms(
                    &configuration,
                    &claims,
                    terms_url,
                    response.id_token,
                    pending.nonce,
                )
                .await;
        }
        let grant = match crate::mdm::enrollment_url(&claims) {
            Some(url) => Some(mdm_grant(&configuration, &url, None).await),
            None => None,
        };
        self.run_join(response.id_token, pending.nonce, grant).await
    }

    /// Get a bearer for the MDM app, remember the join, and leave for the terms page.
    async fn leave_for_terms(
        self,
        configuration: &cxh_wire::oidc::OpenIdConfiguration,
        claims: &cxh_wire::oidc::IdTokenClaims,
        terms_url: String,
        id_token: String,
        nonce: String,
    ) -> Result<(), FlowError> {
        let failed = |why: String| FlowError::new(ErrorReason::TermsNotAccepted, Some(why), true);
        let enrollment = crate::mdm::enrollment_url(claims)
            .ok_or_else(|| failed("the token names terms but no MDM enrollment URL".into()))?;
        let resource = crate::mdm::resource_of(&enrollment)
            .ok_or_else(|| failed("the MDM enrollment URL is invalid".into()))?;
        let redirect = crate::authority::redirect_uri(&page_origin());
        let code =
            crate::mdm::silent_code(&configuration.authorization_endpoint, &redirect, &resource)
                .await
                .map_err(failed)?;
        let token =
            crate::mdm::redeem_code(&configuration.token_endpoint, &code, &redirect, &resource)
                .await
                .map_err(failed)?;
        let session = session();
        session.save_pending_terms(&crate::flow::PendingTerms { id_token, nonce });
        let fields = vec![
            ("redirect_uri".to_string(), redirect),
            (
                "client-request-id".to_string(),
                crate::crypto::random_hex().unwrap_or_default(),
            ),
            ("api-version".to_string(), "1.0".to_string()),
            ("mode".to_string(), "azureadjoin".to_string()),
            ("access_token".to_string(), token),
        ];
        self.show(Page::Terms(crate::flow::TermsVisit {
            url: terms_url,
            fields,
        }));
        Ok(())
    }

    /// Back from the terms page: only an acceptance with a blob, for a join this session was
    /// waiting for, with an id_token that still validates, goes on to the join.
    async fn resume_after_terms(self, answer: crate::mdm::TermsAnswer) -> Result<(), FlowError> {
        let session = session();
        let pending = session.pending_terms().ok_or_else(|| {
            FlowError::new(
                ErrorReason::TermsUnexpected,
                None,
                self.host.get_untracked().is_some(),
            )
        })?;
        session.clear_pending_terms();
        let blob = answer
            .accepted_blob()
            .map(str::to_string)
            .ok_or_else(|| FlowError::new(ErrorReason::TermsNotAccepted, None, true))?;
        let unreachable =
            |why: String| FlowError::new(ErrorReason::AuthorityUnreachable, Some(why), true);
        let configuration = fetch_openid_configuration().await.map_err(unreachable)?;
        let jwks = fetch_jwks(&configuration.jwks_uri)
            .await
            .map_err(unreachable)?;
        let claims = validate_id_token(
            &pending.id_token,
            &jwks,
            &configuration.issuer,
            &pending.nonce,
            now_seconds(),
        )
        .map_err(|e| FlowError::new(ErrorReason::InvalidToken, Some(e.to_string()), true))?;
        let url = crate::mdm::enrollment_url(&claims)
            .ok_or_else(|| FlowError::new(ErrorReason::TermsUnexpected, None, true))?;
        let grant = mdm_grant(&configuration, &url, Some(blob)).await;
        self.run_join(pending.id_token, pending.nonce, Some(grant))
            .await
    }

    /// Have the bridge join (and enroll, when `grant` is set), following its progress.
    async fn run_join(
        self,
        id_token: String,
        nonce: String,
        grant: Option<ClientMessage>,
    ) -> Result<(), FlowError> {
        let can_start_over = self.host.get_untracked().is_some();
        let session = session();
        let endpoint = session
            .bridge()
            .ok_or_else(|| FlowError::new(ErrorReason::NoHost, None, false))?;
        let mut bridge = BridgeConnection::connect(&endpoint)
            .await
            .map_err(|failure| {
                FlowError::new(
                    ErrorReason::BridgeUnreachable,
                    Some(failure.describe()),
                    can_start_over,
                )
            })?;
        session.save_host(&bridge.host);
        self.host.set(Some(bridge.host.clone()));
        self.phases.set(PhaseBoard::default());
        self.mdm.set(grant.is_some());
        self.show(Page::Progress);

        let lost = |failure: BridgeFailure| {
            FlowError::new(ErrorReason::BridgeLost, Some(failure.describe()), true)
        };
        if let Some(grant) = &grant {
            bridge.send(grant).await.map_err(lost)?;
        }
        bridge.start_join(&id_token, &nonce).await.map_err(lost)?;
        loop {
            match bridge.next().await.map_err(lost)? {
                ServerMessage::Progress { phase, state } => self
                    .phases
                    .update(|board| apply_progress(board, phase, state)),
                ServerMessage::Joined { result } => {
                    bridge.close();
                    self.phases.update(complete_all);
                    session.clear_path();
                    self.show(Page::Done(result));
                    return Ok(());
                }
                ServerMessage::Failed { error } => {
                    bridge.close();
                    self.phases.update(|board| fail_phase(board, error.phase));
                    return Err(FlowError::from_bridge(&error));
                }
                // A repeated welcome carries nothing new for a join under way; the
                // automatic sign-in answer and nonces belong to other connections.
                ServerMessage::Welcome { .. }
                | ServerMessage::AutoLogonBuffer { .. }
                | ServerMessage::Nonce { .. } => {}
            }
        }
    }
}

/// The `mdm_grant` for the bridge: a silent code for the enrollment service (or none, when the
/// silent sign-in failed: the bridge then reports the join as not managed) and the blob.
async fn mdm_grant(
    configuration: &cxh_wire::oidc::OpenIdConfiguration,
    enrollment_url: &str,
    opaque_blob: Option<String>,
) -> ClientMessage {
    let redirect_uri = crate::authority::redirect_uri(&page_origin());
    let code = match crate::mdm::resource_of(enrollment_url) {
        Some(resource) => crate::mdm::silent_code(
            &configuration.authorization_endpoint,
            &redirect_uri,
            &resource,
        )
        .await
        .ok(),
        None => None,
    };
    ClientMessage::MdmGrant {
        code,
        redirect_uri,
        opaque_blob,
    }
}
