//! `leave` and `status` authenticated by the device certificate (TLS client authentication,
//! the key in the TPM) against the real emulator over HTTPS: no password needed to delete the
//! device; another device's certificate or none is refused; a device deleted in the tenant is
//! not SUCCESS in `status`.

mod support;

use std::path::Path;
use std::sync::Arc;

use host_bridge::config::BridgeConfig;
use host_bridge::device_auth::{delete_with_certificate, device_client, device_credentials};
use host_bridge::http::build_client;
use host_bridge::keys::KeyProvider;
use host_bridge::leave::{leave, LeaveOptions};
use host_bridge::status::{check_with_tenant, collect_at};
use host_bridge::store::MachineStore;
use host_bridge::tpm::{provider_for_policy, KeyProtection};
use support::emulator::{join_as_adele, Emulator};
use support::swtpm::Swtpm;

async fn join(
    emulator: &Emulator,
    ca: &Path,
    state: &Path,
    keys: Arc<dyn KeyProvider>,
) -> (MachineStore, String) {
    let mut config = BridgeConfig::new(&emulator.base, state).unwrap();
    config.ca_file = Some(ca.to_path_buf());
    join_as_adele(&config, keys).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_deletes_the_device_with_its_tpm_held_certificate_and_no_password() {
    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(&temp.path().join("tpm"));
    let (emulator, ca) = Emulator::start_tls(Default::default()).await;
    let keys = provider_for_policy(KeyProtection::Tpm, &swtpm.tcti()).unwrap();
    let (store, device_id) = join(&emulator, &ca, &temp.path().join("state"), keys).await;

    let mut status = collect_at(&store, "unused", None).unwrap();
    check_with_tenant(&mut status, &store, Some(&ca), None).await;
    assert_eq!(status.device.unwrap().device_auth_status, "SUCCESS");

    let options = LeaveOptions {
        ca_file: Some(ca.clone()),
        ..Default::default()
    };
    let report = leave(&store, &options).await.unwrap();
    assert!(report.deleted_in_tenant, "{:?}", report.lines);
    assert!(report.lines[0].contains("authenticated by its device certificate"));
    assert!(emulator.device(&device_id).is_none());
    assert!(!store.is_joined());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_devices_certificate_or_none_cannot_delete_and_a_deleted_device_is_not_success() {
    let temp = tempfile::tempdir().unwrap();
    let (emulator, ca) = Emulator::start_tls(Default::default()).await;
    let software = || provider_for_policy(KeyProtection::Software, "unused").unwrap();
    let (store_a, device_a) = join(&emulator, &ca, &temp.path().join("a"), software()).await;
    let (store_b, device_b) = join(&emulator, &ca, &temp.path().join("b"), software()).await;
    let drs = url::Url::parse(&emulator.base).unwrap();

    // Device A's certificate (and key) against device B's object.
    let info_a = store_a.load_join_info().unwrap().unwrap();
    let (certificate, key) = device_credentials(&store_a, &info_a, None).unwrap();
    let client_a = device_client(Some(&ca), certificate, key).unwrap();
    let err = delete_with_certificate(&client_a, &drs, &device_b)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("device_authentication_failed"), "{err}");
    assert!(emulator.device(&device_b).is_some());

    // Neither a certificate nor a bearer.
    let anonymous = build_client(Some(&ca)).unwrap();
    let url = url::Url::parse(&format!(
        "{}/EnrollmentServer/device/{device_b}",
        emulator.base
    ))
    .unwrap();
    let err = host_bridge::registration::delete_device(&anonymous, url, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("401"), "{err}");
    assert!(emulator.device(&device_b).is_some());

    // An administrator deletes device B in the tenant: its status is no longer SUCCESS.
    tenant_emulator::db::delete_device(&emulator.state.db(), &device_b).unwrap();
    let mut status = collect_at(&store_b, "unused", None).unwrap();
    assert_eq!(
        status.device.as_ref().unwrap().device_auth_status,
        "SUCCESS"
    );
    check_with_tenant(&mut status, &store_b, Some(&ca), None).await;
    let shown = status.device.unwrap().device_auth_status;
    assert!(shown.starts_with("FAILED."), "{shown}");
    assert!(emulator.device(&device_a).is_some());
}

/// The CA the join trusted (`--ca-file`) is recorded with it (join-info `ca_file`, absolute):
/// `status` and `leave` given no CA of their own reach the tenant with it, and one given
/// another CA does not fall back to the recorded one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_leave_trust_the_ca_the_join_trusted() {
    let temp = tempfile::tempdir().unwrap();
    let (emulator, ca) = Emulator::start_tls(Default::default()).await;
    let software = provider_for_policy(KeyProtection::Software, "unused").unwrap();
    let (store, device_id) = join(&emulator, &ca, &temp.path().join("state"), software).await;
    let info = store.load_join_info().unwrap().unwrap();
    assert_eq!(
        info.ca_file.as_deref(),
        Some(std::path::absolute(&ca).unwrap().as_path())
    );

    let mut status = collect_at(&store, "unused", None).unwrap();
    check_with_tenant(&mut status, &store, None, None).await;
    assert_eq!(status.device.unwrap().device_auth_status, "SUCCESS");

    // Another CA given explicitly is the one used: the emulator's certificate fails there.
    let (_other, other_ca) = Emulator::start_tls(Default::default()).await;
    let refused = leave(
        &store,
        &LeaveOptions {
            ca_file: Some(other_ca),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!refused.deleted_in_tenant, "{:?}", refused.lines);
    assert!(emulator.device(&device_id).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_with_no_ca_given_deletes_with_the_joins_ca() {
    let temp = tempfile::tempdir().unwrap();
    let (emulator, ca) = Emulator::start_tls(Default::default()).await;
    let software = provider_for_policy(KeyProtection::Software, "unused").unwrap();
    let (store, device_id) = join(&emulator, &ca, &temp.path().join("state"), software).await;
    let report = leave(&store, &LeaveOptions::default()).await.unwrap();
    assert!(report.deleted_in_tenant, "{:?}", report.lines);
    assert!(emulator.device(&device_id).is_none());
}
