//! `host-bridge broker`: open the joined device's PRT machinery, own the broker's name on the
//! bus, renew at start and on a period, and serve until SIGTERM or SIGINT.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::dbus::{self, Bus};
use super::{renewal, Broker};
use crate::prt::cli::Target;

/// Serve the broker until a stop signal.
pub async fn run(
    target: &Target<'_>,
    bus: &Bus,
    period: Duration,
    ready_file: Option<&Path>,
    window: super::interactive::SignInWindow,
) -> anyhow::Result<()> {
    let ctx =
        crate::prt::signin::PrtContext::open(target.state_dir, target.tpm_tcti, target.ca_file)
            .context("the broker needs a joined device")?;
    let broker = Arc::new(Broker::new(ctx).with_sign_in_window(window));
    let _connection = dbus::serve(broker.clone(), bus).await.with_context(|| {
        format!(
            "cannot own {} on the bus ({bus:?})",
            cxh_wire::broker::BUS_NAME
        )
    })?;
    let renewal = tokio::spawn(renewal::run(broker.clone(), period));
    tracing::info!(name = cxh_wire::broker::BUS_NAME, "token broker serving");
    if let Some(path) = ready_file {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    renewal.abort();
    tracing::info!("token broker stopped");
    Ok(())
}
