//! `acquireTokenInteractively` on a real dbus-daemon against the emulator: the user's PRT is
//! revoked by a password reset, a silent request says "interaction required", and the
//! interactive request opens the broker's sign-in window. The "browser" here is a script that
//! records the file it was asked to open; the test then does what a browser does with it:
//! follows the handoff page to the window, is refused for a wrong password (the D-Bus call
//! stays pending) and for a request without the flow's secret, signs in with the new password,
//! and the app's D-Bus call returns a token with the device id from the new PRT. A flow can be
//! cancelled, and the caller then reads USER_CANCELED.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cxh_wire::broker::status;
use host_bridge::broker::interactive::SignInWindow;
use support::broker::{
    call, claims, first_account, serve_with, silent, silent_request, software_device, token_of,
    Device, Running, GRAPH,
};
use support::emulator::{Emulator, ADELE};

const NEW_PASSWORD: &str = "A-New-Pass-77";

/// A "browser" that writes the path it was given to `opened`.
fn recording_browser(dir: &Path) -> (String, PathBuf) {
    let opened = dir.join("opened");
    let script = dir.join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    (script.display().to_string(), opened)
}

/// The window's URL (with the secret in its fragment), read from the handoff file the
/// "browser" was given.
async fn window_url(opened: &Path) -> String {
    for _ in 0..200 {
        if let Ok(path) = std::fs::read_to_string(opened) {
            let page = std::fs::read_to_string(&path).unwrap();
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&path).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o600, "the handoff file is the user's only");
            let start = page.find("location.replace(\"").unwrap() + "location.replace(\"".len();
            let end = start + page[start..].find('"').unwrap();
            return page[start..end].to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the broker never opened its window");
}

async fn post(url: &str, secret: &str, password: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .form(&[
            ("secret", secret),
            ("username", ADELE),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn revoke_by_password_reset(emulator: &Emulator) {
    let reset = reqwest::Client::new()
        .post(format!(
            "{}/_emulator/users/{ADELE}/password",
            emulator.base
        ))
        .json(&serde_json::json!({"password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
}

/// A joined, signed-in device whose PRT was revoked, its broker opening the window with the
/// recording "browser". Destructure it binding `_temp` and `_emulator` (not `..` alone): they
/// keep the state dir and the emulator alive for the test.
struct Revoked {
    _temp: tempfile::TempDir,
    _emulator: Emulator,
    device: Device,
    served: Running,
    account: serde_json::Value,
    opened: PathBuf,
}

async fn revoked_device(browser: Option<&str>) -> Revoked {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start_with_test_hooks().await;
    let device = software_device(&emulator, temp.path()).await;
    let (recording, opened) = recording_browser(temp.path());
    let window = SignInWindow {
        browser: browser.map(str::to_string).unwrap_or(recording),
        handoff_dir: temp.path().to_path_buf(),
    };
    let served = serve_with(&device, window).await;
    let account = first_account(&served.client).await;
    revoke_by_password_reset(&emulator).await;
    Revoked {
        _temp: temp,
        _emulator: emulator,
        device,
        served,
        account,
        opened,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_prt_is_replaced_by_signing_in_in_the_brokers_window() {
    let Revoked {
        _temp,
        _emulator,
        device,
        served,
        account,
        opened,
        ..
    } = revoked_device(None).await;
    let error = silent(&served.client, &account, &[GRAPH])
        .await
        .unwrap_err();
    assert_eq!(error.status, status::INTERACTION_REQUIRED);

    let client = served.client.clone();
    let request = silent_request(&account, &[GRAPH]);
    let pending =
        tokio::spawn(async move { call(&client, "acquireTokenInteractively", request).await });
    let url = window_url(&opened).await;
    let (page_url, secret) = url.split_once("#secret=").unwrap();
    let page = reqwest::get(page_url).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Sign in to") && page.contains("readonly"),
        "{page}"
    );
    assert!(
        !page.contains(secret),
        "the served page never carries the secret"
    );

    let (code, _) = post(page_url, "not-the-secret", NEW_PASSWORD).await;
    assert_eq!(code, 403);
    let (code, page) = post(page_url, secret, "Correct-Horse-42").await;
    assert_eq!(code, 200);
    assert!(page.contains("incorrect"), "{page}");
    assert!(
        !pending.is_finished(),
        "a wrong password keeps the flow open"
    );

    let (code, page) = post(page_url, secret, NEW_PASSWORD).await;
    assert_eq!(code, 200);
    assert!(page.contains("signed in"), "{page}");
    let answer = tokio::time::timeout(Duration::from_secs(30), pending)
        .await
        .unwrap()
        .unwrap();
    let token = token_of(&answer).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        claims(&token.access_token)["deviceid"],
        device.device_id.as_str()
    );
    // The new PRT answers silently from now on, and the handoff file is gone.
    silent(&served.client, &account, &["User.Read"])
        .await
        .unwrap();
    let handoff = std::fs::read_to_string(&opened).unwrap();
    assert!(!Path::new(&handoff).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_flow_answers_user_canceled_and_closes_the_window() {
    let Revoked {
        _temp,
        _emulator,
        served,
        account,
        opened,
        ..
    } = revoked_device(None).await;

    let client = served.client.clone();
    let request = silent_request(&account, &[GRAPH]);
    let pending =
        tokio::spawn(async move { call(&client, "acquireTokenInteractively", request).await });
    let url = window_url(&opened).await;
    let answer = call(
        &served.client,
        "cancelInteractiveFlow",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(answer, "{}");
    let answer = tokio::time::timeout(Duration::from_secs(30), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token_of(&answer).unwrap_err().status, status::USER_CANCELED);
    let (page_url, _) = url.split_once('#').unwrap();
    assert!(
        reqwest::get(page_url).await.is_err(),
        "the window's listener is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_browser_the_interactive_request_says_why() {
    let Revoked {
        _temp,
        _emulator,
        served,
        account,
        ..
    } = revoked_device(Some("/nonexistent/no-such-browser")).await;
    let answer = call(
        &served.client,
        "acquireTokenInteractively",
        silent_request(&account, &[GRAPH]),
    )
    .await;
    let error = token_of(&answer).unwrap_err();
    assert!(error.context.contains("--browser"), "{error:?}");
}
