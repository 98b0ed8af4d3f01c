//! The SSO extension's native messaging host as Chromium runs it: the `host-bridge
//! sso-native-host` binary with the caller's origin as its argument, native messaging framing
//! on stdin/stdout, the broker on a real dbus-daemon, the emulator behind it. The cookie it
//! hands out signs the browser in at the authority; a caller that is not the extension gets
//! nothing.

mod support;

use std::process::Stdio;

use host_bridge::broker::native_host::{read_message, write_message, EXTENSION_ORIGIN};
use support::broker::{authorize_with_cookie, serve, software_device};
use support::emulator::{Emulator, ADELE};
use tokio::process::Command;

fn native_host(state: &std::path::Path, bus: &str, origin: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host-bridge"));
    command
        .args(["sso-native-host", "--state-dir"])
        .arg(state)
        .args(["--bus-address", bus, origin])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extension_gets_a_cookie_that_signs_the_browser_in_and_others_get_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(Default::default()).await;
    let device = software_device(&emulator, temp.path()).await;
    let served = serve(&device).await;

    let mut host = native_host(&device.state, &served.bus.address, EXTENSION_ORIGIN)
        .spawn()
        .unwrap();
    let mut stdin = host.stdin.take().unwrap();
    let mut stdout = host.stdout.take().unwrap();
    write_message(&mut stdin, &serde_json::json!({"command": "getAccounts"}))
        .await
        .unwrap();
    let accounts: serde_json::Value =
        serde_json::from_slice(&read_message(&mut stdout).await.unwrap().unwrap()).unwrap();
    assert_eq!(accounts["accounts"][0]["username"], ADELE, "{accounts}");

    write_message(
        &mut stdin,
        &serde_json::json!({"command": "acquirePrtSsoCookie", "ssoUrl": null}),
    )
    .await
    .unwrap();
    let cookie: serde_json::Value =
        serde_json::from_slice(&read_message(&mut stdout).await.unwrap().unwrap()).unwrap();
    assert_eq!(cookie["authority"], emulator.base.as_str(), "{cookie}");
    assert_eq!(cookie["cookieName"], "x-ms-RefreshTokenCredential");

    let location =
        authorize_with_cookie(&emulator, cookie["cookieContent"].as_str().unwrap()).await;
    assert!(location.contains("code="), "{location}");

    write_message(&mut stdin, &serde_json::json!({"command": "rm -rf"}))
        .await
        .unwrap();
    let refused: serde_json::Value =
        serde_json::from_slice(&read_message(&mut stdout).await.unwrap().unwrap()).unwrap();
    assert_eq!(refused["error"]["status"], 6);
    drop(stdin);
    assert!(
        host.wait().await.unwrap().success(),
        "the host ends when the browser closes the port"
    );

    let other = native_host(
        &device.state,
        &served.bus.address,
        "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/",
    )
    .output()
    .await
    .unwrap();
    assert!(!other.status.success());
    assert!(other.stdout.is_empty(), "nothing is said to another caller");
    assert!(String::from_utf8_lossy(&other.stderr).contains("not the SSO extension"));
}
