//! The sign-in: the request to the authority (seed 001 phase B), the way back from the
//! sign-in page, and the check of the answer before the join.

use cxh_wire::bridge::HostContext;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::browser::{forget_fragment, now_seconds, page_origin, session};
use super::join::JoinAttempt;
use super::Controller;
use crate::authority::{authorize_url, fetch_jwks, fetch_openid_configuration};
use crate::crypto::random_hex;
use crate::flow::{
    starts_at_sign_in, ErrorReason, FlowError, JoinPath, Page, PendingSignIn, PhaseBoard,
    TokenResponse, WorkingOn,
};
use crate::id_token::{check_state, validate_id_token};

impl Controller {
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
        self.attempt.set_value(None);
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

    /// Sign in again, as the same or another account, without going back through the join
    /// options (a locked account, a reached quota, an expired sign-in).
    pub fn sign_in_again(self) {
        let session = session();
        session.clear_pending_sign_in();
        forget_fragment(false);
        self.attempt.set_value(None);
        self.phases.set(PhaseBoard::default());
        match self.host.get_untracked() {
            Some(_) => self.join_entra(),
            None => self.connect_then(|controller, _| controller.join_entra()),
        }
    }

    /// Back from the authority with an id_token: check it, then have the bridge join.
    pub(super) async fn finish_sign_in(self, response: TokenResponse) -> Result<(), FlowError> {
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
        self.display_name
            .set(Some(claims.name.clone()).filter(|name| !name.is_empty()));
        let attempt = JoinAttempt {
            id_token: response.id_token,
            nonce: pending.nonce,
            enrollment_url: crate::mdm::enrollment_url(&claims),
            opaque_blob: None,
        };
        self.run_join(attempt).await
    }
}
