//! Booting from the launch URL, and connecting to the bridge.

use cxh_wire::bridge::HostContext;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::browser::{forget_fragment, launch_url_parts, present, session};
use super::Controller;
use crate::bridge::BridgeConnection;
use crate::flow::{parse_launch, ErrorReason, FlowError, Launch, Page, WorkingOn};

impl Controller {
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

    /// Connect to the bridge from the session, remember its host context, then go on.
    pub(super) fn connect_then(self, next: impl FnOnce(Controller, HostContext) + 'static) {
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
}
