//! Leave (`dsregcmd /leave`): delete the device object at DRS, then the local join.
//!
//! The DELETE is authenticated by the device certificate over TLS ([`crate::device_auth`]),
//! as Windows does; a user's sign-in (password grant) is only a fallback, e.g. when the DRS is
//! not HTTPS. The local join goes whatever DRS answered: a device that wants to leave must not
//! stay joined because the cloud is unreachable, and the report says what remains there.

use std::path::PathBuf;

use thiserror::Error;

use crate::config::parse_base_url;
use crate::device_auth::{delete_with_certificate, device_client, device_credentials};
use crate::http::build_client;
use crate::registration::unregister;
use crate::scripted::{password_grant, Credentials};
use crate::store::{MachineStore, StoreError};

/// What `leave` was given.
#[derive(Debug, Default)]
pub struct LeaveOptions {
    /// Authority to sign in at (fallback); defaults to the join's.
    pub authority: Option<String>,
    /// DRS to delete the device at; defaults to `authority`, else the join's.
    pub drs: Option<String>,
    /// Sign in as this user when the device certificate cannot authenticate the DELETE.
    pub credentials: Option<Credentials>,
    pub ca_file: Option<PathBuf>,
    /// TCTI of the TPM holding the device key (default: the join's).
    pub tpm_tcti: Option<String>,
}

#[derive(Debug, Error)]
pub enum LeaveError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Config(String),
}

/// What happened, line by line, for the CLI to print.
#[derive(Debug, Default)]
pub struct LeaveReport {
    pub lines: Vec<String>,
    /// The device object is gone from the tenant.
    pub deleted_in_tenant: bool,
    /// The device that left, when a join (with readable join info) was there to leave.
    pub device_id: Option<String>,
}

/// Leave: DRS first (device certificate, then the fallback), then the local join.
pub async fn leave(
    store: &MachineStore,
    options: &LeaveOptions,
) -> Result<LeaveReport, LeaveError> {
    if !store.root().exists() {
        let mut report = LeaveReport::default();
        report
            .lines
            .push("This device is not joined; nothing to leave.".into());
        return Ok(report);
    }
    let _lock = store.lock()?;
    leave_locked(store, options).await
}

/// [`leave`] for a caller that already holds the state dir's lock: the serving bridge holds
/// it for its lifetime ([`crate::server::BridgeState`]), and a second `flock` from the same
/// process would be refused as [`StoreError::Locked`].
pub async fn leave_locked(
    store: &MachineStore,
    options: &LeaveOptions,
) -> Result<LeaveReport, LeaveError> {
    let mut report = LeaveReport::default();
    let info = match store.load_join_info() {
        Ok(Some(info)) => info,
        Ok(None) | Err(_) if store.is_joined() => {
            // A join dir without readable join info: no device id to delete at DRS, but the
            // local half must go or it blocks every later join.
            store.remove_join()?;
            crate::mdm::store::remove(store)?;
            report.lines.push("Removed a local join whose join info was missing or unreadable; its device object (if any) was not deleted at DRS.".into());
            return Ok(report);
        }
        Ok(None) => {
            // An mdm/ a crashed leave left behind goes too.
            crate::mdm::store::remove(store)?;
            report
                .lines
                .push("This device is not joined; nothing to leave.".into());
            return Ok(report);
        }
        Err(e) => return Err(e.into()),
    };
    report.device_id = Some(info.device_id.clone());
    let config = |e: crate::config::ConfigError| LeaveError::Config(e.to_string());
    let drs_text = options
        .drs
        .as_deref()
        .or(options.authority.as_deref())
        .unwrap_or(&info.drs);
    let drs = parse_base_url("DRS URL", drs_text).map_err(config)?;

    let ca_file = info.trusted_ca(options.ca_file.as_deref());
    // 1. The device certificate (TLS client authentication).
    let by_certificate = match device_credentials(store, &info, options.tpm_tcti.as_deref()) {
        Ok((certificate, key)) => match device_client(ca_file.as_deref(), certificate, key) {
            Ok(client) => delete_with_certificate(&client, &drs, &info.device_id)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    match by_certificate {
        Ok(()) => {
            report.deleted_in_tenant = true;
            report.lines.push(format!(
                "Device {} deleted at {drs} (authenticated by its device certificate).",
                info.device_id
            ));
        }
        Err(reason) => {
            report.lines.push(format!(
                "The device certificate could not delete device {} at DRS: {reason}",
                info.device_id
            ));
            // 2. A user's sign-in, when one was given.
            if let Some(credentials) = &options.credentials {
                let authority = parse_base_url(
                    "authority",
                    options.authority.as_deref().unwrap_or(&info.authority),
                )
                .map_err(config)?;
                let http = build_client(ca_file.as_deref())
                    .map_err(|e| LeaveError::Config(e.to_string()))?;
                let outcome = match password_grant(&http, &authority, credentials).await {
                    Ok(token) => unregister(&http, &drs, &info.device_id, Some(&token))
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(format!("sign-in failed: {e}")),
                };
                match outcome {
                    Ok(()) => {
                        report.deleted_in_tenant = true;
                        report.lines.push(format!(
                            "Device {} deleted at {drs} (authorised by {}).",
                            info.device_id, credentials.username
                        ));
                    }
                    Err(e) => report
                        .lines
                        .push(format!("Not deleted with the sign-in either: {e}")),
                }
            }
            if !report.deleted_in_tenant {
                report.lines.push(format!(
                    "Removing the local join anyway; the device object {} remains in the tenant for an administrator to delete.",
                    info.device_id
                ));
            }
        }
    }
    // join/ is the source of truth, so it goes first: a crash after it leaves a device that
    // is not joined, with an inert mdm/ that the next leave removes.
    store.remove_join()?;
    crate::mdm::store::remove(store)?;
    report.lines.push(format!(
        "Local join removed: keys, certificate and join info of device {} are gone.",
        info.device_id
    ));
    Ok(report)
}
