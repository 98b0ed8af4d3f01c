//! The fault suite: a real `host-bridge join` process killed with SIGKILL at every point of a
//! join ([`host_bridge::pause::POINTS`]: the start of each phase the progress frames report,
//! and the moments between them where the outcome differs), against the real emulator over
//! HTTPS (so an undo can authenticate with the device certificate). After each kill, and
//! again after the next start of the bridge (`serve`, which recovers), `status --json`, the
//! machine store and the tenant's device list must agree; then the next join must work.
//!
//! The emulator is killed too (SIGKILL, its own process), in the middle of the registration
//! request: before DRS stored the device and after. After it restarts on the same database,
//! the same three must agree, and the next join must work.
//!
//! Software keys, one emulator and one temp dir per test: the cases run in parallel.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host_bridge::pause::{PAUSE_AT_ENV, PAUSE_MARKER_ENV};
use support::emulator::{Emulator, ADELE, ADELE_PASSWORD, CONTOSO as CONTOSO_TENANT};
use support::emulator_process::EmulatorProcess;
use support::entries;

const DEVICE_NAME: &str = "DESKTOP-FAULTS";

/// The tenant side of a case: the in-process emulator, or the emulator as its own process.
trait Tenant: Sync {
    fn base(&self) -> &str;
    /// The tenant's devices named like ours: (device id, enabled).
    fn our_devices(&self) -> Vec<(String, bool)>;
}

fn ours(devices: Vec<tenant_emulator::db::Device>) -> Vec<(String, bool)> {
    devices
        .into_iter()
        .filter(|d| d.display_name == DEVICE_NAME)
        .map(|d| (d.device_id, d.enabled))
        .collect()
}

impl Tenant for Emulator {
    fn base(&self) -> &str {
        &self.base
    }
    fn our_devices(&self) -> Vec<(String, bool)> {
        ours(tenant_emulator::db::devices(&self.state.db()).unwrap())
    }
}

impl Tenant for EmulatorProcess {
    fn base(&self) -> &str {
        &self.base
    }
    fn our_devices(&self) -> Vec<(String, bool)> {
        ours(self.devices())
    }
}

fn bridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host-bridge"))
}

/// `host-bridge <args>` as `user` (password on stdin, software keys, the case's state dir),
/// paused at `pause_at` if given.
fn as_user(user: (&str, &str), args: &[&str], dir: &Path, pause_at: Option<&str>) -> Child {
    let (username, password) = user;
    let mut command = bridge();
    command
        .args(args)
        .args(["--username", username, "--password-stdin"])
        .args(["--key-protection", "software"])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env(PAUSE_MARKER_ENV, dir.join("paused"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(point) = pause_at {
        command.env(PAUSE_AT_ENV, point);
    }
    let mut child = command.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child
}

/// `host-bridge join` as Adele, paused at `pause_at` if given.
fn join_process(emulator: &impl Tenant, ca: &Path, dir: &Path, pause_at: Option<&str>) -> Child {
    let ca = ca.to_str().unwrap();
    let args = [
        "join",
        "--authority",
        emulator.base(),
        "--ca-file",
        ca,
        "--device-name",
        DEVICE_NAME,
    ];
    as_user((ADELE, ADELE_PASSWORD), &args, dir, pause_at)
}

/// Run a join to its end; returns (success, stdout).
async fn join_to_the_end(emulator: &impl Tenant, ca: &Path, dir: &Path) -> (bool, String) {
    let child = join_process(emulator, ca, dir, None);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (output.status.success(), format!("{stdout}\n{stderr}"))
}

async fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Kill the join with SIGKILL once it has paused at `point`.
async fn kill_at(emulator: &impl Tenant, ca: &Path, dir: &Path, point: &str) {
    let mut child = join_process(emulator, ca, dir, Some(point));
    wait_for(&dir.join("paused")).await;
    assert_eq!(std::fs::read_to_string(dir.join("paused")).unwrap(), point);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(dir.join("paused")).unwrap();
}

/// The next start of the bridge: `serve` until it is ready (recovery has run), then SIGTERM.
async fn restart(emulator: &impl Tenant, ca: Option<&Path>, dir: &Path) {
    let ready = dir.join("ready.json");
    let mut command = bridge();
    command
        .args(["serve", "--authority", emulator.base()])
        .args(["--allowed-origin", "http://127.0.0.1:9"])
        .args(["--key-protection", "software"])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(ca) = ca {
        command.arg("--ca-file").arg(ca);
    }
    let mut child = command.spawn().unwrap();
    wait_for(&ready).await;
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// What the three parties say.
#[derive(Debug)]
struct View {
    status: serde_json::Value,
    /// Entries of the state dir.
    store: Vec<String>,
    /// The tenant's devices named like ours: (device id, enabled).
    tenant: Vec<(String, bool)>,
}

impl View {
    fn joined_device(&self) -> Option<String> {
        self.status["device"]["device_id"]
            .as_str()
            .map(str::to_string)
    }

    fn pending(&self) -> bool {
        self.status.get("pending_registration").is_some()
    }
}

async fn observe(emulator: &impl Tenant, ca: &Path, dir: &Path) -> View {
    let state = dir.join("state");
    let ca = ca.to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        bridge()
            .args(["status", "--json", "--state-dir"])
            .arg(&state)
            .arg("--ca-file")
            .arg(&ca)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let tenant = emulator.our_devices();
    View {
        status,
        store: entries(&dir.join("state")),
        tenant,
    }
}

/// The machine is joined to exactly the device the tenant holds, and says SUCCESS for it.
fn assert_joined_and_agreeing(view: &View) {
    let device = view.joined_device().expect("status says joined");
    assert_eq!(view.status["azure_ad_joined"], true);
    assert_eq!(
        view.status["device"]["device_auth_status"], "SUCCESS",
        "{view:?}"
    );
    assert_eq!(view.tenant, vec![(device, true)], "{view:?}");
    assert!(
        !view.pending(),
        "a finished join still journalled: {view:?}"
    );
    assert_eq!(view.store, vec!["join".to_string()], "{view:?}");
}

/// Not joined, nothing half-made on the machine (but the staging dir a killed process leaves,
/// when `killed`: the next start sweeps it), the tenant holds `in_tenant` of our devices, and
/// status warns exactly when one may exist.
fn assert_not_joined(view: &View, in_tenant: usize, journal: bool, killed: bool) {
    assert_eq!(view.status["azure_ad_joined"], false, "{view:?}");
    assert_eq!(view.tenant.len(), in_tenant, "{view:?}");
    assert_eq!(view.pending(), journal, "{view:?}");
    let unexpected: Vec<_> = view
        .store
        .iter()
        .filter(|name| name.as_str() != host_bridge::journal::JOURNAL_FILE)
        .filter(|name| !(killed && name.starts_with(host_bridge::store::STAGING_PREFIX)))
        .collect();
    assert!(unexpected.is_empty(), "left in the store: {view:?}");
}

/// The next join works (after leaving, if the device is joined).
async fn next_join_works(emulator: &impl Tenant, ca: &Path, dir: &Path, orphans: usize) {
    let before = observe(emulator, ca, dir).await;
    if before.joined_device().is_some() {
        let output = bridge()
            .args(["leave", "--state-dir"])
            .arg(dir.join("state"))
            .arg("--ca-file")
            .arg(ca)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(
            said.contains("authenticated by its device certificate"),
            "{said}"
        );
    }
    let (joined, said) = join_to_the_end(emulator, ca, dir).await;
    assert!(joined, "{said}");
    let after = observe(emulator, ca, dir).await;
    let device = after.joined_device().expect("joined");
    assert!(after.tenant.contains(&(device, true)), "{after:?}");
    assert_eq!(after.tenant.len(), orphans + 1, "{after:?}");
    assert!(!after.pending(), "{after:?}");
}

struct Case {
    emulator: Emulator,
    ca: PathBuf,
    dir: tempfile::TempDir,
}

async fn case() -> Case {
    let (emulator, ca) = Emulator::start_tls(Default::default()).await;
    Case {
        emulator,
        ca,
        dir: tempfile::tempdir().unwrap(),
    }
}

/// Killed before the registration POST: nothing in the tenant, nothing on the machine; the
/// journal only from the point it is written (just before the POST).
async fn killed_before_drs(point: &str, journal: bool) {
    let Case { emulator, ca, dir } = case().await;
    kill_at(&emulator, &ca, dir.path(), point).await;
    assert_not_joined(&observe(&emulator, &ca, dir.path()).await, 0, journal, true);
    restart(&emulator, Some(&ca), dir.path()).await;
    assert_not_joined(
        &observe(&emulator, &ca, dir.path()).await,
        0,
        journal,
        false,
    );
    next_join_works(&emulator, &ca, dir.path(), 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_discovering() {
    killed_before_drs("discovering", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_creating_keys() {
    killed_before_drs("creating_keys", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_building_request() {
    killed_before_drs("building_request", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_just_before_the_registration_post() {
    killed_before_drs("registering", true).await;
}

/// DRS created the device and answered, but the answer died with the process: there is no
/// certificate to finish or to delete with, so status keeps telling the administrator which
/// device to look for (its key thumbprint is the tenant's device's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_drs_answered_before_the_answer_was_saved() {
    let Case { emulator, ca, dir } = case().await;
    kill_at(&emulator, &ca, dir.path(), "registered").await;
    let view = observe(&emulator, &ca, dir.path()).await;
    assert_eq!(view.tenant.len(), 1, "{view:?}");
    restart(&emulator, Some(&ca), dir.path()).await;
    let view = observe(&emulator, &ca, dir.path()).await;
    assert_not_joined(&view, 1, true, false);
    let pending = &view.status["pending_registration"];
    assert_eq!(pending["device_name"], DEVICE_NAME);
    let orphan = tenant_emulator::db::device(&emulator.state.db(), &view.tenant[0].0)
        .unwrap()
        .unwrap();
    let thumbprint = pending["key_thumbprint"].as_str().unwrap();
    assert!(
        orphan.alternative_security_id.contains(thumbprint),
        "{} does not name {thumbprint}",
        orphan.alternative_security_id
    );
    next_join_works(&emulator, &ca, dir.path(), 1).await;
}

/// Killed with DRS's answer on disk: the next start finishes the join.
async fn killed_with_the_answer_saved(point: &str) {
    let Case { emulator, ca, dir } = case().await;
    kill_at(&emulator, &ca, dir.path(), point).await;
    let view = observe(&emulator, &ca, dir.path()).await;
    assert_eq!(view.status["azure_ad_joined"], false, "{view:?}");
    assert!(view.pending(), "{view:?}");
    assert_eq!(view.tenant.len(), 1, "{view:?}");
    restart(&emulator, Some(&ca), dir.path()).await;
    let view = observe(&emulator, &ca, dir.path()).await;
    assert_joined_and_agreeing(&view);
    next_join_works(&emulator, &ca, dir.path(), 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_installing_the_certificate_is_finished_on_the_next_start() {
    killed_with_the_answer_saved("installing_certificate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_saving_the_join_info_is_finished_on_the_next_start() {
    killed_with_the_answer_saved("saving_join_info").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_commit_the_next_start_clears_the_journal() {
    let Case { emulator, ca, dir } = case().await;
    kill_at(&emulator, &ca, dir.path(), "committed").await;
    let view = observe(&emulator, &ca, dir.path()).await;
    assert!(view.pending(), "{view:?}");
    restart(&emulator, Some(&ca), dir.path()).await;
    assert_joined_and_agreeing(&observe(&emulator, &ca, dir.path()).await);
    next_join_works(&emulator, &ca, dir.path(), 0).await;
}

/// An answer that cannot be committed (here: the machine holds another join meanwhile) is
/// undone at DRS, authenticated by the answer's certificate; while DRS cannot be reached
/// (the next start does not trust its TLS certificate) it is kept and tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_cannot_be_committed_is_undone_at_drs_and_kept_until_then() {
    let Case { emulator, ca, dir } = case().await;
    kill_at(&emulator, &ca, dir.path(), "installing_certificate").await;
    let state = dir.path().join("state");
    std::fs::create_dir(state.join("join")).unwrap();
    assert_eq!(observe(&emulator, &ca, dir.path()).await.tenant.len(), 1);

    // Without the CA the delete cannot reach DRS: kept, journal kept.
    restart(&emulator, None, dir.path()).await;
    let left = entries(&state);
    assert!(
        left.iter().any(|name| name.starts_with(".unfinished-")),
        "{left:?}"
    );
    assert!(left.contains(&host_bridge::journal::JOURNAL_FILE.to_string()));
    assert_eq!(observe(&emulator, &ca, dir.path()).await.tenant.len(), 1);

    // With it: deleted in the tenant with the device certificate, nothing kept.
    restart(&emulator, Some(&ca), dir.path()).await;
    assert!(observe(&emulator, &ca, dir.path()).await.tenant.is_empty());
    assert_eq!(entries(&state), vec!["join".to_string()]);
}

/// The emulator killed in the middle of the registration request, before DRS stored the
/// device (`in_tenant` 0) or after (1, the answer never sent): the join fails with the network
/// error and its journal kept (the device may exist: the bridge cannot know), no half device
/// is in the tenant's database, and once the emulator is back on the same database, the next
/// start of the bridge and the next join agree with it.
async fn emulator_killed_at(point: &str, in_tenant: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut emulator = EmulatorProcess::start(dir.path(), Some(point));
    let ca = emulator.ca_file.clone();
    let join = join_process(&emulator, &ca, dir.path(), None);
    assert_eq!(emulator.wait_until_paused(), point);
    emulator.kill();
    let output = tokio::task::spawn_blocking(move || join.wait_with_output().unwrap())
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the join cannot have succeeded: {said}"
    );
    assert!(
        said.contains(emulator.base()),
        "the error names the host: {said}"
    );

    emulator.restart();
    let view = observe(&emulator, &ca, dir.path()).await;
    assert_not_joined(&view, in_tenant, true, false);
    assert_eq!(
        view.status["pending_registration"]["device_name"],
        DEVICE_NAME
    );
    restart(&emulator, Some(&ca), dir.path()).await;
    assert_not_joined(
        &observe(&emulator, &ca, dir.path()).await,
        in_tenant,
        true,
        false,
    );
    next_join_works(&emulator, &ca, dir.path(), in_tenant).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_killed_before_drs_stored_the_device() {
    emulator_killed_at(tenant_emulator::pause::POINTS[0], 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_killed_after_drs_stored_the_device_before_it_answered() {
    emulator_killed_at(tenant_emulator::pause::POINTS[1], 1).await;
}

const NESTOR: &str = "nestor.wilke@contoso.com";
const NESTOR_PASSWORD: &str = "Nestor-Pass-9";

fn as_nestor(args: &[&str], dir: &Path, pause_at: Option<&str>) -> Child {
    as_user((NESTOR, NESTOR_PASSWORD), args, dir, pause_at)
}

fn run_to_the_end(child: Child) -> String {
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    said
}

/// The management certificate thumbprint the tenant's MDM recorded for the device.
fn tenant_mdm_thumbprint(emulator: &Emulator, device_id: &str) -> Option<String> {
    emulator
        .state
        .db()
        .query_row(
            "SELECT thumbprint FROM mdm_enrollments WHERE device_id = lower(?1)",
            [device_id],
            |row| row.get(0),
        )
        .ok()
}

/// `mdm-enroll` (Nestor, in Contoso's MDM scope, on a device joined as in OOBE, with the
/// OpaqueBlob of his accepted terms that a failed OOBE enrollment leaves pending) killed at an
/// MDM phase: the device stays joined and
/// says the enrollment is pending (how to finish it) whether or not the MDM recorded it
/// (`tenant_enrolled`: killed after the service answered); the retry then enrolls, and the
/// device and the tenant name the same management certificate.
async fn mdm_killed_at(point: &str, tenant_enrolled: bool) {
    let Case { emulator, ca, dir } = case().await;
    let ca_arg = ca.to_str().unwrap();
    let base = emulator.base.clone();
    let joining = as_nestor(
        &[
            "join",
            "--authority",
            &base,
            "--ca-file",
            ca_arg,
            "--device-name",
            DEVICE_NAME,
        ],
        dir.path(),
        None,
    );
    tokio::task::spawn_blocking(move || run_to_the_end(joining))
        .await
        .unwrap();
    let view = observe(&emulator, &ca, dir.path()).await;
    let device = view.joined_device().expect("joined");
    // A scripted join's password-grant token names no MDM; an OOBE join's id_token does
    // (mdm_enrollment_url): make this join look like one.
    let info_path = dir.path().join("state/join/join-info.json");
    let mut info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&info_path).unwrap()).unwrap();
    info["token_claims"]["mdm_enrollment_url"] =
        format!("{base}/EnrollmentServer/Discovery.svc").into();
    std::fs::write(&info_path, serde_json::to_vec(&info).unwrap()).unwrap();
    let store = host_bridge::store::MachineStore::at(dir.path().join("state"));
    let info = store.load_join_info().unwrap().unwrap();
    let blob = "terms-accepted-blob";
    tenant_emulator::routes::mdm::store::insert_blob(
        &emulator.state.db(),
        blob,
        CONTOSO_TENANT,
        &info.user.object_id,
        tenant_emulator::tokens::now(),
    )
    .unwrap();
    host_bridge::mdm::store::save_pending(
        &store,
        &host_bridge::mdm::store::PendingEnrollment {
            enrollment_url: host_bridge::mdm::enrollment_url(&info.token_claims).unwrap(),
            opaque_blob: Some(blob.into()),
            reason: "the OOBE enrollment failed".into(),
        },
    )
    .unwrap();

    let mut enrolling = as_nestor(
        &["mdm-enroll", "--ca-file", ca_arg],
        dir.path(),
        Some(point),
    );
    wait_for(&dir.path().join("paused")).await;
    assert_eq!(
        std::fs::read_to_string(dir.path().join("paused")).unwrap(),
        point
    );
    enrolling.kill().unwrap();
    enrolling.wait().unwrap();
    std::fs::remove_file(dir.path().join("paused")).unwrap();

    let view = observe(&emulator, &ca, dir.path()).await;
    assert_eq!(
        view.joined_device().as_deref(),
        Some(device.as_str()),
        "{view:?}"
    );
    assert_eq!(view.status["mdm"]["enrolled"], false, "{view:?}");
    let reason = view.status["mdm"]["pending_reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("mdm-enroll"),
        "status says how to finish: {view:?}"
    );
    assert_eq!(
        tenant_mdm_thumbprint(&emulator, &device).is_some(),
        tenant_enrolled,
        "{view:?}"
    );

    let retry = as_nestor(&["mdm-enroll", "--ca-file", ca_arg], dir.path(), None);
    let said = tokio::task::spawn_blocking(move || run_to_the_end(retry))
        .await
        .unwrap();
    assert!(said.contains("enrolled"), "{said}");
    let view = observe(&emulator, &ca, dir.path()).await;
    assert_eq!(view.status["mdm"]["enrolled"], true, "{view:?}");
    assert!(
        view.status["mdm"].get("pending_reason").is_none(),
        "{view:?}"
    );
    assert_eq!(
        view.status["mdm"]["thumbprint"]
            .as_str()
            .map(str::to_ascii_uppercase),
        tenant_mdm_thumbprint(&emulator, &device).map(|t| t.to_ascii_uppercase()),
        "the device and the tenant name the same management certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdm_killed_discovering() {
    mdm_killed_at(host_bridge::pause::MDM_POINTS[0], false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdm_killed_enrolling() {
    mdm_killed_at(host_bridge::pause::MDM_POINTS[1], false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdm_killed_after_the_service_enrolled_the_device() {
    mdm_killed_at(host_bridge::pause::MDM_POINTS[2], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdm_killed_installing_the_policy() {
    mdm_killed_at(host_bridge::pause::MDM_POINTS[3], true).await;
}
