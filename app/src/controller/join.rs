//! The join itself: the bridge runs the dsreg phases (and MDM enrollment) while the page
//! follows its progress; a retryable failure can be tried again with the same sign-in.

use cxh_wire::bridge::{ClientMessage, ServerMessage};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::browser::{page_origin, session};
use super::Controller;
use crate::authority::fetch_openid_configuration;
use crate::bridge::{BridgeConnection, BridgeFailure};
use crate::flow::{
    apply_progress, complete_all, fail_phase, ErrorReason, FlowError, Page, PhaseBoard,
};

/// A validated sign-in, ready for the bridge. Held in memory only: the id_token is a bearer
/// and never goes to `sessionStorage` outside the terms round trip.
#[derive(Clone)]
pub struct JoinAttempt {
    pub id_token: String,
    pub nonce: String,
    /// The MDM enrollment URL the token names, when MDM applies.
    pub enrollment_url: Option<String>,
    /// The terms-of-use acceptance (reusable after a failed enrollment).
    pub opaque_blob: Option<String>,
}

impl Controller {
    /// Have the bridge join (and enroll, when the token names an MDM), following its
    /// progress. The attempt is kept for Try again until the join succeeds or the user
    /// starts over.
    pub(super) async fn run_join(self, attempt: JoinAttempt) -> Result<(), FlowError> {
        self.attempt.set_value(Some(attempt.clone()));
        let grant = match &attempt.enrollment_url {
            Some(url) => {
                let configuration = fetch_openid_configuration().await.map_err(|why| {
                    FlowError::new(ErrorReason::AuthorityUnreachable, Some(why), true)
                })?;
                Some(mdm_grant(&configuration, url, attempt.opaque_blob.clone()).await)
            }
            None => None,
        };
        let (id_token, nonce) = (attempt.id_token, attempt.nonce);
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
                    self.attempt.set_value(None);
                    self.show(Page::Done(result));
                    return Ok(());
                }
                ServerMessage::Failed { error } => {
                    bridge.close();
                    self.phases.update(|board| fail_phase(board, error.phase));
                    return Err(FlowError::from_bridge(&error));
                }
                // A repeated welcome carries nothing new for a join under way; the
                // automatic sign-in answer, nonces and leaves belong to other connections.
                ServerMessage::Welcome { .. }
                | ServerMessage::AutoLogonBuffer { .. }
                | ServerMessage::Nonce { .. }
                | ServerMessage::Left { .. } => {}
            }
        }
    }

    /// Try again after a retryable failure: the same sign-in joins again (nothing of the
    /// failed attempt is left on the device or in the tenant); without one, start over.
    pub fn try_again(self) {
        let Some(attempt) = self.attempt.get_value() else {
            return self.start_over();
        };
        spawn_local(async move {
            if let Err(error) = self.run_join(attempt).await {
                self.show(Page::Error(error));
            }
        });
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
