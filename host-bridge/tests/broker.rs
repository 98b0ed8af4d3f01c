//! The token broker (WAM) on a real, private dbus-daemon against the real emulator: a device
//! joins, its user gets a PRT, and then a D-Bus caller (our zbus client, and `dbus-send` as a
//! client we did not write) gets accounts and tokens for another app without a password; the
//! token carries the device id; a second request is served from the cache; and each refusal
//! (password reset revoking the PRT, a disabled device, an unknown account, a malformed request,
//! another tenant, a removed account) answers the status callers act on.

mod support;

use cxh_wire::broker::{
    status, AccountsResponse, CookieResponse, ErrorResponse, BUS_NAME, INTERFACE, OBJECT_PATH,
};
use host_bridge::broker::service::Served;
use host_bridge::status::collect_at;
use host_bridge::store::MachineStore;
use host_bridge::tpm::{provider_for_policy, KeyProtection};
use support::broker::{
    authorize_with_cookie, call, claims, dbus_send, first_account, join_and_sign_in, serve, silent,
    silent_request, software_device, token_of, EDGE, GRAPH,
};
use support::emulator::{Emulator, ADELE, CONTOSO};
use support::swtpm::Swtpm;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dbus_caller_gets_a_token_for_another_app_silently_with_the_device_id_from_a_tpm_prt() {
    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(&temp.path().join("tpm"));
    let emulator = Emulator::start(Default::default()).await;
    let keys = provider_for_policy(KeyProtection::Tpm, &swtpm.tcti()).unwrap();
    let device = join_and_sign_in(&emulator, &temp.path().join("state"), keys).await;
    let served = serve(&device).await;

    let answer = call(
        &served.client,
        "getAccounts",
        serde_json::json!({"clientId": EDGE}),
    )
    .await;
    let accounts: AccountsResponse = serde_json::from_str(&answer).unwrap();
    assert_eq!(accounts.accounts.len(), 1, "{answer}");
    let account = &accounts.accounts[0];
    assert_eq!(account.username, ADELE);
    assert_eq!(account.name, "Adele Vance");
    assert_eq!(account.realm, CONTOSO);
    assert!(!answer.contains("refresh_token") && !answer.contains("prt"));

    let account_json = serde_json::to_value(account).unwrap();
    let answer = call(
        &served.client,
        "acquireTokenSilently",
        silent_request(&account_json, &[GRAPH]),
    )
    .await;
    let token = token_of(&answer).unwrap();
    let access = claims(&token.access_token);
    assert_eq!(access["deviceid"], device.device_id.as_str(), "{access}");
    assert_eq!(access["upn"], ADELE);
    assert_eq!(access["appid"], EDGE, "{access}");
    assert!(token.expires_on > host_bridge::prt::now_unix() * 1000);

    let status = collect_at(&MachineStore::at(&device.state), "unused", None).unwrap();
    let sso = status.sso.expect("SSO State");
    assert!(sso.azure_ad_prt && sso.session_key_tpm_held, "{sso:?}");
    assert!(!sso.enterprise_prt);
    drop(swtpm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_request_is_served_from_the_cache_and_another_scope_is_not() {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(Default::default()).await;
    let device = software_device(&emulator, temp.path()).await;
    let served = serve(&device).await;
    let account = first_account(&served.client).await;

    let request = silent_request(&account, &[GRAPH]);
    let first =
        token_of(&call(&served.client, "acquireTokenSilently", request.clone()).await).unwrap();
    let parsed: cxh_wire::broker::TokenRequest = serde_json::from_value(request).unwrap();
    let (again, how) = served.broker.token(&parsed).await.unwrap();
    assert_eq!(how, Served::FromCache);
    assert_eq!(again.access_token, first.access_token);

    let other: cxh_wire::broker::TokenRequest =
        serde_json::from_value(silent_request(&account, &["User.Read"])).unwrap();
    let (_, how) = served.broker.token(&other).await.unwrap();
    assert_eq!(how, Served::FromAuthority);
    assert_eq!(served.broker.cached_tokens(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbus_send_a_client_we_did_not_write_gets_the_version_and_a_token() {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(Default::default()).await;
    let device = software_device(&emulator, temp.path()).await;
    let served = serve(&device).await;
    let account = first_account(&served.client).await;
    let version = dbus_send(&served.bus.address, "getLinuxBrokerVersion", "{}".into()).await;
    let version: cxh_wire::broker::VersionResponse = serde_json::from_str(&version).unwrap();
    assert_eq!(version.linux_broker_version, env!("CARGO_PKG_VERSION"));
    let request = silent_request(&account, &[GRAPH]).to_string();
    let reply = dbus_send(&served.bus.address, "acquireTokenSilently", request).await;
    let token = token_of(reply.trim()).unwrap();
    assert_eq!(
        claims(&token.access_token)["deviceid"],
        device.device_id.as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_revokes_the_prt_and_the_broker_says_interaction_required() {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start_with_test_hooks().await;
    let device = software_device(&emulator, temp.path()).await;
    let served = serve(&device).await;
    let account = first_account(&served.client).await;
    silent(&served.client, &account, &[GRAPH]).await.unwrap();

    let reset = reqwest::Client::new()
        .post(format!(
            "{}/_emulator/users/{ADELE}/password",
            emulator.base
        ))
        .json(&serde_json::json!({"password": "A-New-Pass-77"}))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    let error = silent(&served.client, &account, &["User.Read"])
        .await
        .unwrap_err();
    assert_eq!(error.status, status::INTERACTION_REQUIRED, "{error:?}");
    assert_eq!(error.error_code, cxh_wire::prt::aadsts::PRT_REVOKED);
    // The cached token of the revoked PRT is not handed out either.
    let error = silent(&served.client, &account, &[GRAPH])
        .await
        .unwrap_err();
    assert_eq!(error.status, status::INTERACTION_REQUIRED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_device_gets_no_token_and_interaction_required() {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start_with_test_hooks().await;
    let device = software_device(&emulator, temp.path()).await;
    let served = serve(&device).await;
    let account = first_account(&served.client).await;
    let disabled = reqwest::Client::new()
        .post(format!(
            "{}/_emulator/devices/{}/disable",
            emulator.base, device.device_id
        ))
        .send()
        .await
        .unwrap();
    assert!(disabled.status().is_success());
    let error = silent(&served.client, &account, &[GRAPH])
        .await
        .unwrap_err();
    assert_eq!(error.status, status::INTERACTION_REQUIRED, "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_the_status_callers_read() {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(Default::default()).await;
    let device = software_device(&emulator, temp.path()).await;
    let served = serve(&device).await;
    let account = first_account(&served.client).await;

    let mut mallory = account.clone();
    mallory["username"] = "mallory@contoso.com".into();
    let error = silent(&served.client, &mallory, &[GRAPH])
        .await
        .unwrap_err();
    assert_eq!(error.status, status::ACCOUNT_NOT_FOUND);

    let proxy = zbus::Proxy::new(&served.client, BUS_NAME, OBJECT_PATH, INTERFACE)
        .await
        .unwrap();
    let answer: String = proxy
        .call("acquireTokenSilently", &("0.0", "c", "{not json"))
        .await
        .unwrap();
    assert_eq!(
        token_of(&answer).unwrap_err().status,
        status::API_CONTRACT_VIOLATION
    );

    let no_scopes = silent_request(&account, &[]);
    let error =
        token_of(&call(&served.client, "acquireTokenSilently", no_scopes).await).unwrap_err();
    assert_eq!(error.status, status::API_CONTRACT_VIOLATION);

    let mut elsewhere = silent_request(&account, &[GRAPH]);
    elsewhere["authParameters"]["authority"] =
        "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555".into();
    let error =
        token_of(&call(&served.client, "acquireTokenSilently", elsewhere).await).unwrap_err();
    assert_eq!(error.status, status::INCORRECT_CONFIGURATION, "{error:?}");

    let answer = call(
        &served.client,
        "generateSignedHttpRequest",
        serde_json::json!({}),
    )
    .await;
    let refused: ErrorResponse = serde_json::from_str(&answer).unwrap();
    assert_eq!(refused.error.status, status::API_CONTRACT_VIOLATION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sso_cookie_carries_the_prt_and_a_removed_account_is_gone() {
    let temp = tempfile::tempdir().unwrap();
    let emulator = Emulator::start(Default::default()).await;
    let device = software_device(&emulator, temp.path()).await;
    let served = serve(&device).await;
    let account = first_account(&served.client).await;

    let request = serde_json::json!({
        "account": account,
        "authParameters": silent_request(&account, &[GRAPH])["authParameters"],
        "mamEnrollment": false,
        "ssoUrl": "https://login.microsoftonline.com/"
    });
    let answer = call(&served.client, "acquirePrtSsoCookie", request).await;
    let cookie: CookieResponse =
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(cookie.cookie_name, "x-ms-RefreshTokenCredential");
    let record = host_bridge::prt::store::load(&MachineStore::at(&device.state), ADELE)
        .unwrap()
        .unwrap();
    let payload = claims(&cookie.cookie_content);
    assert_eq!(payload["refresh_token"], record.prt.unwrap().as_str());
    assert_eq!(payload["is_primary"], "true");
    assert!(payload["request_nonce"]
        .as_str()
        .is_some_and(|n| !n.is_empty()));
    // The authority takes it: a browser sending it is signed in without a page, as the device.
    let location = authorize_with_cookie(&emulator, &cookie.cookie_content).await;
    assert!(location.contains("code="), "{location}");

    let answer = call(
        &served.client,
        "removeAccount",
        serde_json::json!({"account": account}),
    )
    .await;
    assert_eq!(answer, "{}");
    let answer = call(&served.client, "getAccounts", serde_json::json!({})).await;
    let accounts: AccountsResponse = serde_json::from_str(&answer).unwrap();
    assert!(accounts.accounts.is_empty());
    let error = silent(&served.client, &account, &[GRAPH])
        .await
        .unwrap_err();
    assert_eq!(error.status, status::ACCOUNT_NOT_FOUND);
}
