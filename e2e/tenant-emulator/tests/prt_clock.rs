//! PRT lifetime against the emulator's clock, moved through the `--test-hooks` clock route:
//! a stale nonce, the 14-day sliding window, the 90-day lifetime. The clock belongs to the
//! process, so the tests of this binary take turns ([`CLOCK`]) and reset it.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::prt_client::*;
use common::*;
use cxh_wire::prt::{aadsts as prt_aadsts, NONCE_LIFETIME_SECS};
use cxh_wire::prt_crypto::KdfVersion;
static CLOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const DAY: i64 = 24 * 3600;

/// Hold the clock for one test and start it at the system time.
async fn take_clock() -> tokio::sync::MutexGuard<'static, ()> {
    let guard = CLOCK.lock().await;
    tenant_emulator::tokens::set_clock_offset(0);
    guard
}

async fn advance(emu: &Emulator, secs: i64) {
    let reply = send(
        &emu.router,
        Request::post("/_emulator/clock")
            .header("content-type", "application/json")
            .body(Body::from(format!(r#"{{"advance_secs":{secs}}}"#)))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

async fn renew(emu: &Emulator, prt: &str, key: &[u8]) -> Reply {
    let n = nonce(&emu.router).await;
    signed_request(emu, key, &renew_payload(&n, prt), KdfVersion::V2).await
}

#[tokio::test]
async fn a_nonce_older_than_five_minutes_is_stale() {
    let _clock = take_clock().await;
    let emu = emulator();
    let joined = join(&emu).await;
    let n = nonce(&emu.router).await;
    advance(&emu, NONCE_LIFETIME_SECS + 1).await;
    let request = device_signed(
        device_key(),
        &joined.cert_der,
        &password_payload(&n, ADELE, ADELE_PASSWORD),
        true,
    );
    let reply = post_request(&emu.router, TOKEN_PATH, &request).await;
    assert_eq!(aadsts(&reply), prt_aadsts::INVALID_NONCE);
    tenant_emulator::tokens::set_clock_offset(0);
}

#[tokio::test]
async fn a_prt_unused_for_14_days_expires_and_use_keeps_it_alive() {
    let _clock = take_clock().await;
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    // Used every 13 days, it stays alive past 14 days after issue.
    advance(&emu, 13 * DAY).await;
    decrypt(&key, &renew(&emu, &prt.refresh_token, &key).await);
    advance(&emu, 13 * DAY).await;
    decrypt(&key, &renew(&emu, &prt.refresh_token, &key).await);
    // Then 15 days unused: expired.
    advance(&emu, 15 * DAY).await;
    let reply = renew(&emu, &prt.refresh_token, &key).await;
    assert_eq!(aadsts(&reply), prt_aadsts::PRT_EXPIRED);
    assert!(reply.text().contains("14 days"), "{}", reply.text());
    tenant_emulator::tokens::set_clock_offset(0);
}

#[tokio::test]
async fn a_prt_and_its_renewals_end_90_days_after_the_sign_in() {
    let _clock = take_clock().await;
    let emu = emulator();
    let joined = join(&emu).await;
    let (prt, key) = prt_with_password(&emu, &joined).await;
    let mut current = prt.refresh_token.clone();
    // Renewed every 10 days, always within the sliding window.
    for _ in 0..8 {
        advance(&emu, 10 * DAY).await;
        let answer = decrypt(&key, &renew(&emu, &current, &key).await);
        current = answer.refresh_token.expect("renewed");
    }
    // Day 80: the renewal says how long is left (10 days, less than the 14-day window).
    advance(&emu, 10 * DAY + 60).await;
    let reply = renew(&emu, &current, &key).await;
    assert_eq!(aadsts(&reply), prt_aadsts::PRT_EXPIRED);
    assert!(reply.text().contains("90-day"), "{}", reply.text());
    // The original PRT too.
    let reply = renew(&emu, &prt.refresh_token, &key).await;
    assert_eq!(aadsts(&reply), prt_aadsts::PRT_EXPIRED);
    // A new sign-in gives a new PRT.
    prt_with_password(&emu, &joined).await;
    tenant_emulator::tokens::set_clock_offset(0);
}

#[tokio::test]
async fn the_clock_hook_exists_only_with_test_hooks() {
    let _clock = take_clock().await;
    let file = tenant_file();
    let emu = emulator_with_config(
        &file,
        tenant_emulator::config::Config::new(PUBLIC_URL).with_extra_clients(&file.clients),
    );
    let reply = send(
        &emu.router,
        Request::post("/_emulator/clock")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"advance_secs":86400}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(tenant_emulator::tokens::clock_offset(), 0);
}
