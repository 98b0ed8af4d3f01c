//! Stopping the bridge without breaking a join (SIGTERM, SIGINT).
//!
//! On a signal the server stops accepting connections and waits for a running join to end
//! on its own, up to a grace period (60 s by default): a join that has sent its registration
//! should be installed, or the tenant keeps a device the machine forgot. When the grace
//! period is over, [`request_stop`] asks the join to stop at its next safe point: every point
//! before the registration POST (nothing exists in the tenant yet). A join already past the
//! POST has only local steps left and is waited for a little longer (the POST's own timeout);
//! if the process still has to go, the next start recovers it ([`crate::recovery`]).
//!
//! The flag is process-wide because a signal is: only `serve` sets it.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static NO_NEW_JOINS: AtomicBool = AtomicBool::new(false);

/// From now on a `start_join` is refused (the bridge is going away).
pub fn refuse_new_joins() {
    NO_NEW_JOINS.store(true, Ordering::SeqCst);
}

/// Whether new joins are refused.
pub fn refusing_new_joins() -> bool {
    NO_NEW_JOINS.load(Ordering::SeqCst)
}

/// Ask a running join to stop at its next safe point.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether the process is stopping (checked by the join before each phase up to the POST).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
