//! The flow running in the browser: reads the launch URL, keeps the session, talks to the
//! bridge and the authority, and decides which [`Page`] shows. Pages call its methods; it is
//! shared with them as a Leptos context.
//!
//! One file per role: [`browser`] (storage, URL, document), [`boot`] (the launch URL and the
//! bridge connection), [`sign_in`] (the sign-in request and its answer), [`terms`] (the MDM
//! terms round trip), [`join`] (the bridge's join and its retry), [`leave`] (leaving the
//! organization, where the host allows it). This file holds the shared
//! state and the navigation between pages.

mod boot;
pub mod browser;
mod join;
mod leave;
mod sign_in;
mod terms;

use cxh_wire::bridge::{HostContext, HostFlow};
use leptos::prelude::*;

use crate::embed::Outcome;
use crate::errors::Action;
use crate::flow::{
    entry_page, starts_at_sign_in, BackTo, ErrorReason, FlowError, LeftNotice, OtherChoice, Page,
    PhaseBoard, WorkingOn,
};
pub use browser::present;
use browser::session;
pub use join::JoinAttempt;

/// The flow's reactive state, shared by all pages.
#[derive(Clone, Copy)]
pub struct Controller {
    pub page: RwSignal<Page>,
    /// The host context from the bridge's welcome (or the session, after a navigation).
    pub host: RwSignal<Option<HostContext>>,
    pub phases: RwSignal<PhaseBoard>,
    /// Whether the join under way includes MDM enrollment (the progress page shows its phases).
    pub mdm: RwSignal<bool>,
    /// The signed-in user's display name (`name` claim of the validated id_token).
    pub display_name: RwSignal<Option<String>>,
    /// The device left its organization from this app: the start page says so (and whether
    /// the device object remains in the tenant).
    pub left: RwSignal<Option<LeftNotice>>,
    /// The validated sign-in of the join under way, kept in memory (never in the session) so
    /// that Try again after a retryable failure joins again without a new sign-in.
    attempt: StoredValue<Option<JoinAttempt>>,
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
            display_name: RwSignal::new(None),
            left: RwSignal::new(None),
            attempt: StoredValue::new(None),
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
        // The notice of a leave belongs to the start pages; going on means it was read.
        if !matches!(page, Page::Ownership | Page::JoinOptions | Page::Working(_)) {
            self.left.set(None);
        }
        self.page.set(page);
    }

    fn post(self, outcome: Outcome) {
        crate::embed::post(self.host.get_untracked().as_ref(), outcome);
    }

    fn in_settings(self) -> bool {
        self.host
            .get_untracked()
            .is_some_and(|host| host.flow == HostFlow::Settings)
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

    /// OOBE, managed user, just before the sign-in form is posted: hand the password to the
    /// bridge for the automatic sign-in buffer. Resolves (with whether it was accepted) in
    /// time for the form submission either way.
    pub async fn prepare_auto_logon(self, upn: String, password: String) -> bool {
        match session().bridge() {
            Some(endpoint) => crate::bridge::prepare_auto_logon(&endpoint, upn, password).await,
            None => false,
        }
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

    /// The error page's action.
    pub fn act(self, action: Action) {
        match action {
            Action::TryAgain => self.try_again(),
            Action::SignInAgain | Action::ReenterPassword | Action::ChangeUsername => {
                self.sign_in_again()
            }
            Action::ReenterCode | Action::StartOver => self.start_over(),
            Action::Finish => self.finish(),
        }
    }

    /// The user finished on the done page: the session is no longer needed. In OOBE the page
    /// says where setup goes next (the user's first sign-in) before the window returns to the
    /// host; in Settings the host page hears `sign_out`.
    pub fn finish(self) {
        let page = self.page.get_untracked();
        if let Page::Done(result) = &page {
            self.post(Outcome::SignOut {
                device_id: Some(result.device_id.clone()),
            });
        }
        session().clear_all();
        self.attempt.set_value(None);
        if let (Page::Done(result), false) = (page, self.in_settings()) {
            self.show(Page::Handover(result));
        }
        if let Some(window) = web_sys::window() {
            let _ = window.close();
        }
    }
}
