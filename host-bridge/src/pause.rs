//! Deterministic stops inside a join, for the fault tests (debug builds only).
//!
//! A test that must kill the bridge at an exact point of a join (tests/faults.rs) starts it
//! with `CXH_BRIDGE_PAUSE_AT=<point>` and `CXH_BRIDGE_PAUSE_MARKER=<file>`: when the join
//! reaches that point the bridge writes the point's name to the marker file and waits there
//! (for `CXH_BRIDGE_PAUSE_MS` milliseconds, else for a day), so the test knows the state the
//! kill hits. The points are the join phases' names as the progress frames report them, at
//! the start of each phase, plus the moments between them where the outcome differs (see
//! [`crate::join`]). In a release build [`point`] is empty: the environment is never read,
//! so nothing (no page, no user's environment) can stop a shipped bridge this way.

/// Every pause point, in the order a join passes them.
pub const POINTS: [&str; 8] = [
    "discovering",
    "creating_keys",
    "building_request",
    // The journal is written; the registration POST is about to go out.
    "registering",
    // DRS answered (the device exists in the tenant); the answer is not saved yet.
    "registered",
    // The answer is saved in the staging dir; the certificate is about to be checked.
    "installing_certificate",
    // The certificate is in the staging dir; the join info and the commit are next.
    "saving_join_info",
    // The join is committed; the journal is still there.
    "committed",
];

/// The pause points of the MDM enrollment after a join, in order (see [`crate::mdm`]).
pub const MDM_POINTS: [&str; 4] = [
    "mdm_discovering",
    "mdm_enrolling",
    // The enrollment service answered (the tenant records the enrollment); nothing saved yet.
    "mdm_enrolled",
    "mdm_installing_policy",
];

pub const PAUSE_AT_ENV: &str = "CXH_BRIDGE_PAUSE_AT";
pub const PAUSE_MARKER_ENV: &str = "CXH_BRIDGE_PAUSE_MARKER";
pub const PAUSE_MS_ENV: &str = "CXH_BRIDGE_PAUSE_MS";

/// Pause here if the test environment names this point.
#[cfg(debug_assertions)]
pub async fn point(name: &str) {
    if std::env::var(PAUSE_AT_ENV).ok().as_deref() != Some(name) {
        return;
    }
    let wait = std::env::var(PAUSE_MS_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(std::time::Duration::from_millis)
        .unwrap_or(std::time::Duration::from_secs(24 * 3600));
    if let Ok(marker) = std::env::var(PAUSE_MARKER_ENV) {
        // Written to a temporary name and renamed, so the test never reads it half-written.
        let tmp = format!("{marker}.tmp");
        let _ = std::fs::write(&tmp, name).and_then(|()| std::fs::rename(&tmp, &marker));
    }
    tracing::warn!(point = name, ?wait, "paused for a fault test");
    tokio::time::sleep(wait).await;
}

/// Release builds: no pause points.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub async fn point(_name: &str) {}
