//! Deterministic stops inside a request, for the fault tests that kill the emulator (SIGKILL)
//! in the middle of one (debug builds only), as `host_bridge::pause` does for the bridge.
//!
//! Started with `CXH_EMULATOR_PAUSE_AT=<point>` and `CXH_EMULATOR_PAUSE_MARKER=<file>`, the
//! emulator writes the point's name to the marker file when a request reaches that point and
//! waits there (for a day), so the test knows what state its kill hits. In a release build
//! [`point`] is empty: the environment is never read.

/// Every pause point, in the order a registration passes them.
pub const POINTS: [&str; 2] = [
    // The registration request is checked; the device is not stored yet.
    "drs_request_checked",
    // The device is stored (committed); the answer has not been sent.
    "drs_device_stored",
];

pub const PAUSE_AT_ENV: &str = "CXH_EMULATOR_PAUSE_AT";
pub const PAUSE_MARKER_ENV: &str = "CXH_EMULATOR_PAUSE_MARKER";

/// Pause here if the test environment names this point.
#[cfg(debug_assertions)]
pub async fn point(name: &str) {
    if std::env::var(PAUSE_AT_ENV).ok().as_deref() != Some(name) {
        return;
    }
    if let Ok(marker) = std::env::var(PAUSE_MARKER_ENV) {
        // Written to a temporary name and renamed, so the test never reads it half-written.
        let tmp = format!("{marker}.tmp");
        let _ = std::fs::write(&tmp, name).and_then(|()| std::fs::rename(&tmp, &marker));
    }
    tracing::warn!(point = name, "paused for a fault test");
    tokio::time::sleep(std::time::Duration::from_secs(24 * 3600)).await;
}

/// Release builds: no pause points.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub async fn point(_name: &str) {}
