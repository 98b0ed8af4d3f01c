//! Leaving the organization from the already-joined page, on a host that allows it: confirm,
//! have the bridge leave (the same logic as its `leave` command), then start the join again
//! with a notice saying what happened in the tenant.

use cxh_wire::bridge::{ClientMessage, ServerMessage};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::browser::session;
use super::Controller;
use crate::bridge::{BridgeConnection, BridgeFailure};
use crate::flow::{after_leave_page, ErrorReason, FlowError, LeftNotice, Page, WorkingOn};

impl Controller {
    /// "Leave <organization>": ask first.
    pub fn ask_leave(self, device_id: String, tenant: Option<String>) {
        self.show(Page::ConfirmLeave { device_id, tenant });
    }

    /// Cancel on the confirmation: back to the already-joined page, nothing changed.
    pub fn keep_joined(self) {
        if let Some(host) = self.host.get_untracked() {
            self.show(crate::flow::entry_page(&host));
        }
    }

    /// Leave confirmed: the bridge leaves, then the join starts again (a fresh welcome says
    /// the device is not joined any more).
    pub fn leave(self, tenant: Option<String>) {
        self.show(Page::Working(WorkingOn::Leaving));
        spawn_local(async move {
            match self.leave_at_bridge().await {
                Ok(deleted_in_tenant) => self.connect_then(move |controller, host| {
                    controller.left.set(Some(LeftNotice {
                        tenant,
                        deleted_in_tenant,
                    }));
                    controller.show(after_leave_page(&host));
                }),
                Err(error) => self.show(Page::Error(error)),
            }
        });
    }

    /// `leave` on its own connection; whether the device object was deleted in the tenant.
    /// (The session's host context still says joined: `connect_then` replaces it with the
    /// next welcome's.)
    async fn leave_at_bridge(self) -> Result<bool, FlowError> {
        let endpoint = session()
            .bridge()
            .ok_or_else(|| FlowError::new(ErrorReason::NoHost, None, false))?;
        let unreachable = |failure: BridgeFailure| {
            FlowError::new(
                ErrorReason::BridgeUnreachable,
                Some(failure.describe()),
                true,
            )
        };
        let mut bridge = BridgeConnection::connect(&endpoint)
            .await
            .map_err(unreachable)?;
        bridge
            .send(&ClientMessage::Leave)
            .await
            .map_err(unreachable)?;
        let answer = bridge.next().await;
        bridge.close();
        match answer {
            Ok(ServerMessage::Left {
                deleted_in_tenant, ..
            }) => Ok(deleted_in_tenant),
            Ok(ServerMessage::Failed { error }) => Err(FlowError::from_bridge(&error)),
            Ok(other) => Err(FlowError::new(
                ErrorReason::BridgeLost,
                Some(format!("expected left, got {other:?}")),
                true,
            )),
            Err(failure) => Err(FlowError::new(
                ErrorReason::BridgeLost,
                Some(failure.describe()),
                true,
            )),
        }
    }
}
