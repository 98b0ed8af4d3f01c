//! The broker's background renewal (seed 003: a PRT is renewed when older than 4 hours): once at
//! start, then every period. A failed renewal leaves the last good PRT in place (the store
//! writes whole records only) unless the cloud says it is dead, which the record then says.

use std::sync::Arc;
use std::time::Duration;

use super::Broker;

/// How often the broker looks for PRTs due for renewal.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(30 * 60);

/// Run the renewal loop until the task is dropped.
pub async fn run(broker: Arc<Broker>, period: Duration) {
    loop {
        for (upn, outcome) in broker.renew_due().await {
            match outcome {
                Ok(()) => tracing::debug!(%upn, "PRT checked for renewal"),
                Err(e) => tracing::warn!(%upn, error = %e, "PRT renewal failed"),
            }
        }
        tokio::time::sleep(period).await;
    }
}
