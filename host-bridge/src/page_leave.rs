//! The page's `leave` (the "Leave <organization>" button of a joined device): only on a host
//! that allows it (`--allow-leave`), never while a join runs, and by the same logic as the
//! `leave` command ([`crate::leave`]): the device certificate deletes the device object at DRS
//! when it can (HTTPS), and the local join goes either way; `left` says which happened, so the
//! page can tell the user honestly whether the object remains in the tenant.

use std::sync::Arc;

use cxh_wire::bridge::{BridgeErrorKind, ServerMessage};
use tokio::sync::mpsc::UnboundedSender;

use crate::error::{protocol_error, JoinError};
use crate::leave::{leave_locked, LeaveError, LeaveOptions};
use crate::server::BridgeState;

/// Refuse at once when the host does not allow it or a join is under way; otherwise leave in
/// the background and answer `left` (or `failed`).
pub fn leave_from_page(state: &Arc<BridgeState>, outbox: &UnboundedSender<ServerMessage>) {
    let refuse = |error| {
        let _ = outbox.send(ServerMessage::Failed { error });
    };
    if !state.config.host.allow_leave {
        tracing::warn!("refused a leave from the page: this host does not allow it");
        return refuse(protocol_error(
            BridgeErrorKind::LeaveNotAllowed,
            "this host does not let the page leave the organization; run host-bridge leave",
        ));
    }
    // The join lock keeps a join from starting while the store is taken apart (and the
    // reverse); the state dir's flock is the bridge's already.
    let Ok(guard) = state.join_lock.clone().try_lock_owned() else {
        return refuse(JoinError::Busy.to_bridge_error());
    };
    let (state, outbox) = (state.clone(), outbox.clone());
    // Not tied to the socket: a leave DRS has answered should finish locally too.
    tokio::spawn(async move {
        let _no_join_meanwhile = guard;
        let options = LeaveOptions {
            ca_file: state.config.ca_file.clone(),
            ..Default::default()
        };
        let answer = match leave_locked(&state.join.store, &options).await {
            Ok(report) => {
                for line in &report.lines {
                    tracing::info!("leave: {line}");
                }
                ServerMessage::Left {
                    device_id: report.device_id,
                    deleted_in_tenant: report.deleted_in_tenant,
                }
            }
            Err(error) => {
                tracing::warn!(%error, "leave from the page failed");
                let kind = match error {
                    LeaveError::Store(_) => BridgeErrorKind::Store,
                    LeaveError::Config(_) => BridgeErrorKind::Internal,
                };
                ServerMessage::Failed {
                    error: protocol_error(kind, error.to_string()),
                }
            }
        };
        let _ = outbox.send(answer);
    });
}
