//! The browserless path: password grant, the same join pipeline, status from the store,
//! leave (DRS delete + local removal), and the CLI's front-door rules.

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use host_bridge::config::BridgeConfig;
use host_bridge::http::build_client;
use host_bridge::join::{run_join, JoinContext};
use host_bridge::keys::SoftwareKeyProvider;
use host_bridge::registration::unregister;
use host_bridge::scripted::{sign_in, Credentials, SignInError};
use host_bridge::secret::Secret;
use host_bridge::server::ReadyInfo;
use host_bridge::status::{collect, render_text};
use host_bridge::store::MachineStore;
use host_bridge::token::TokenValidator;
use support::{entries, FakeCloud, PASSWORD, UPN};

fn credentials(password: &str) -> Credentials {
    Credentials {
        username: UPN.into(),
        password: Secret::new(password),
    }
}

#[tokio::test]
async fn a_scripted_join_then_status_then_leave() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    let mut config = BridgeConfig::new(&cloud.base, temp.path()).unwrap();
    config.host.device_name = "DESKTOP-SCRIPT".into();
    let http = build_client(None).unwrap();
    let validator = TokenValidator::new(http.clone(), config.authority.clone());

    let refused = sign_in(&http, &validator, &config.authority, &credentials("wrong"))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, SignInError::Refused { description, .. } if description.starts_with("AADSTS50126"))
    );
    assert!(
        !refused.to_string().contains("wrong"),
        "the password must not appear in errors"
    );

    let identity = sign_in(&http, &validator, &config.authority, &credentials(PASSWORD))
        .await
        .unwrap();
    let store = MachineStore::open(temp.path()).unwrap();
    let context = JoinContext {
        http: http.clone(),
        config,
        keys: Arc::new(SoftwareKeyProvider),
        store: store.clone(),
    };
    let mut phases = Vec::new();
    let result = run_join(&context, &identity, &mut |phase, state| {
        phases.push((phase, state))
    })
    .await
    .unwrap();
    assert_eq!(phases.len(), 12);
    assert_eq!(
        result.tenant_display_name, "Contoso",
        "taken from discovery TenantInfo for access tokens"
    );

    let status = collect(&store, "ignored").unwrap();
    let text = render_text(&status);
    assert!(
        text.contains("             AzureAdJoined : YES\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "                  DeviceId : {}\n",
            result.device_id
        )),
        "{text}"
    );
    assert!(
        text.contains("          DeviceAuthStatus : SUCCESS\n"),
        "{text}"
    );
    assert!(
        text.contains("               Device Name : DESKTOP-SCRIPT\n"),
        "{text}"
    );
    assert!(
        text.contains("                TenantName : Contoso\n"),
        "{text}"
    );

    let bearer = Secret::new("some-token");
    unregister(&http, &context.config.drs, &result.device_id, Some(&bearer))
        .await
        .unwrap();
    assert_eq!(
        *cloud.deletes.lock().unwrap(),
        vec![result.device_id.clone()]
    );
    assert!(
        unregister(&http, &context.config.drs, &result.device_id, None)
            .await
            .is_err()
    );
    assert!(store.remove_join().unwrap());
    assert!(entries(temp.path()).is_empty());
    assert!(!collect(&store, "DESKTOP-X").unwrap().azure_ad_joined);
}

#[test]
fn serve_refuses_a_non_loopback_listen_address() {
    let temp = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_host-bridge"))
        .args([
            "serve",
            "--authority",
            "http://127.0.0.1:9",
            "--allowed-origin",
            "http://127.0.0.1:9",
        ])
        .args(["--listen", "0.0.0.0:0", "--state-dir"])
        .arg(temp.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}

#[test]
fn serve_writes_a_private_ready_file_and_keeps_the_secret_off_stdout() {
    let temp = tempfile::tempdir().unwrap();
    let ready = temp.path().join("ready.json");
    let child = Command::new(env!("CARGO_BIN_EXE_host-bridge"))
        .args([
            "serve",
            "--authority",
            "http://127.0.0.1:9",
            "--allowed-origin",
            "http://127.0.0.1:9",
        ])
        .arg("--state-dir")
        .arg(temp.path().join("state"))
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut waited = Duration::ZERO;
    while !ready.exists() && waited < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    }
    let text = std::fs::read_to_string(&ready).expect("ready file written");
    let info: ReadyInfo = serde_json::from_str(&text).unwrap();
    let mode = std::fs::metadata(&ready).unwrap().permissions().mode() & 0o777;
    // While serve holds the state dir, leave (and join) cannot interleave with it.
    let leave = Command::new(env!("CARGO_BIN_EXE_host-bridge"))
        .arg("leave")
        .arg("--state-dir")
        .arg(temp.path().join("state"))
        .output()
        .unwrap();
    let child_pid = child.id();
    terminate(child_pid);
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);

    assert_eq!(mode, 0o600);
    assert_eq!(info.pid, child_pid);
    assert!(
        info.ws_url.starts_with("ws://127.0.0.1:") && info.ws_url.ends_with('/'),
        "{}",
        info.ws_url
    );
    assert_eq!(info.secret.len(), 43);
    assert_eq!(
        stdout.trim(),
        format!("host-bridge listening on {}", info.ws_url)
    );
    assert!(!stdout.contains(&info.secret));
    assert!(!ready.exists(), "the ready file is removed on shutdown");
    assert!(!leave.status.success(), "leave ran beside serve");
    assert!(
        String::from_utf8_lossy(&leave.stderr).contains("is using the state dir"),
        "{}",
        String::from_utf8_lossy(&leave.stderr)
    );
}

/// SIGTERM the child this test started (by its pid), so it shuts down cleanly.
fn terminate(pid: u32) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn join_reads_the_password_from_stdin_only() {
    let temp = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_host-bridge"))
        .args([
            "join",
            "--authority",
            "http://127.0.0.1:9",
            "--username",
            UPN,
            "--state-dir",
        ])
        .arg(temp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    child.stdin.take().unwrap().write_all(b"secret\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "--password-stdin is required");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--password-stdin"));
    assert!(
        entries(temp.path()).is_empty(),
        "nothing is attempted without it"
    );
}

/// `host-bridge join` against a DRS that refuses (quota reached): a line names the phase that
/// failed, and the error is printed once (no "Caused by:" repeating the same sentence).
#[tokio::test]
async fn a_failed_cli_join_names_its_phase_and_prints_the_error_once() {
    let cloud = FakeCloud::start().await;
    cloud.set_mode(support::RegistrationMode::Reject);
    let temp = tempfile::tempdir().unwrap();
    let base = cloud.base.clone();
    let state = temp.path().join("state");
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_host-bridge"))
            .args(["join", "--authority", &base, "--username", UPN])
            .args([
                "--password-stdin",
                "--key-protection",
                "software",
                "--state-dir",
            ])
            .arg(&state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stdout.contains("[registering] started"), "{stdout}");
    assert!(stdout.contains("[registering] failed"), "{stdout}");
    let error_line = stderr
        .lines()
        .find(|line| line.starts_with("Error: "))
        .unwrap_or_else(|| panic!("no Error line in {stderr}"));
    assert!(error_line.contains("quota_exceeded"), "{error_line}");
    assert!(!stderr.contains("Caused by"), "{stderr}");
    assert_eq!(stderr.matches("quota_exceeded").count(), 1, "{stderr}");
    assert!(!stderr.contains(PASSWORD) && !stdout.contains(PASSWORD));
}

/// Every option of every subcommand has help text.
#[test]
fn every_cli_option_has_help_text() {
    for command in [
        "serve",
        "status",
        "leave",
        "join",
        "mdm-enroll",
        "tpm-bench",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_host-bridge"))
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{command}: {help}");
        // `--help` is the long form: each option's help is on the lines after it, so an
        // option without help is followed by a blank line or the next option at once.
        let lines: Vec<&str> = help.lines().map(str::trim).collect();
        let bare: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.starts_with("--") && !line.starts_with("--help"))
            .filter(|(index, line)| {
                let inline = line.split_whitespace().count() > 2
                    || (line.split_whitespace().count() == 2
                        && !line
                            .split_whitespace()
                            .nth(1)
                            .unwrap_or("")
                            .starts_with('<'));
                let next = lines.get(index + 1).copied().unwrap_or("");
                !inline && (next.is_empty() || next.starts_with('-'))
            })
            .map(|(_, line)| *line)
            .collect();
        assert!(bare.is_empty(), "{command} options without help: {bare:?}");
    }
}
