//! The CloudAP flows end to end on a TPM join (swtpm) against the in-test authority's PRT
//! grants (tests/support/prt.rs, built from the cxh-wire contract): sign-in, status SSO State,
//! renewal, a silent token for another app, the refusals (wrong password, replayed nonce,
//! forged session signature, revocation, 4-hour renewal, 14-day and 90-day expiry, a killed
//! renewal) and that neither the PRT nor the session key reach the disk in clear.

mod support;

use base64::Engine;
use host_bridge::config::BridgeConfig;
use host_bridge::http::build_client;
use host_bridge::join::{run_join, JoinContext};
use host_bridge::prt::client::{self, Audience};
use host_bridge::prt::signin::PrtContext;
use host_bridge::prt::{store, PrtError};
use host_bridge::scripted::{sign_in, Credentials};
use host_bridge::secret::Secret;
use host_bridge::status::collect_at;
use host_bridge::store::{MachineStore, DEVICE_KEY_FILE, TRANSPORT_KEY_FILE};
use host_bridge::token::TokenValidator;
use host_bridge::tpm::keys::KeyBlob;
use host_bridge::tpm::{provider_for_policy, KeyProtection};
use std::sync::Arc;
use support::swtpm::Swtpm;
use support::{FakeCloud, PASSWORD, UPN};

struct Joined {
    _temp: tempfile::TempDir,
    _tpm: Swtpm,
    tcti: String,
    cloud: Arc<FakeCloud>,
    state: std::path::PathBuf,
}

async fn joined() -> Joined {
    let temp = tempfile::tempdir().unwrap();
    let tpm = Swtpm::start(&temp.path().join("tpm"));
    let cloud = FakeCloud::start().await;
    let config = BridgeConfig::new(&cloud.base, temp.path().join("state")).unwrap();
    let http = build_client(None).unwrap();
    let validator = TokenValidator::new(http.clone(), config.authority.clone());
    let credentials = Credentials {
        username: UPN.into(),
        password: Secret::new(PASSWORD),
    };
    let identity = sign_in(&http, &validator, &config.authority, &credentials)
        .await
        .unwrap();
    let store = MachineStore::open(&config.state_dir).unwrap();
    let state = config.state_dir.clone();
    let context = JoinContext {
        http,
        config,
        keys: provider_for_policy(KeyProtection::Tpm, &tpm.tcti()).unwrap(),
        store: store.clone(),
    };
    run_join(&context, &identity, &mut |_, _| {}).await.unwrap();
    let public = |file| {
        KeyBlob::from_bytes(&store.read_join_file(file).unwrap())
            .unwrap()
            .rsa_public()
            .unwrap()
    };
    {
        let mut fake = cloud.prt.state.lock().unwrap();
        fake.device_key = Some(public(DEVICE_KEY_FILE));
        fake.transport_key = Some(public(TRANSPORT_KEY_FILE));
        fake.password = PASSWORD.into();
    }
    Joined {
        tcti: tpm.tcti(),
        _tpm: tpm,
        _temp: temp,
        cloud,
        state,
    }
}

impl Joined {
    fn ctx(&self) -> PrtContext {
        PrtContext::open(&self.state, Some(&self.tcti), None).unwrap()
    }

    /// Move the record's clock back by `secs` (the device's view of time passing).
    fn age(&self, secs: i64) {
        let store = MachineStore::at(&self.state);
        let mut record = store::load(&store, UPN).unwrap().unwrap();
        record.issued_at -= secs;
        record.updated_at -= secs;
        record.expires_at -= secs;
        store::save(&store, &record).unwrap();
    }
}

fn files_under(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(std::fs::read(entry.path()).unwrap());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_gives_a_tpm_bound_prt_and_a_silent_token_for_another_app() {
    let j = joined().await;
    let ctx = j.ctx();
    let wrong = ctx.sign_in(UPN, "wrong").await.unwrap_err();
    assert!(
        matches!(wrong, PrtError::Cloud { code: 50126, .. }),
        "{wrong}"
    );
    let record = ctx.sign_in(UPN, PASSWORD).await.unwrap();
    assert!(record.session_key_tpm_held && !record.federated);
    assert_eq!(record.object_id.as_deref(), Some("oid-1"));

    // status: SSO State.
    let status = collect_at(&MachineStore::at(&j.state), "x", Some(&j.tcti)).unwrap();
    let sso = status.sso.expect("SSO State");
    assert!(sso.azure_ad_prt && sso.session_key_tpm_held && !sso.enterprise_prt);
    let text = host_bridge::status::render_text(
        &collect_at(&MachineStore::at(&j.state), "x", Some(&j.tcti)).unwrap(),
    );
    assert!(
        text.contains("AzureAdPrt : YES") && text.contains("SessionKeyTpmHeld : YES"),
        "{text}"
    );

    // A token for another app, without a password; no renewal (the PRT is fresh).
    let client_id = "d3590ed6-52b3-4102-aeff-aad2292ab01c";
    let answer = ctx
        .app_token(
            UPN,
            client_id,
            &Audience::Scope("https://graph.microsoft.com/.default".into()),
            None,
        )
        .await
        .unwrap();
    let token = answer.access_token.unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], client_id);
    assert_eq!(j.cloud.prt.state.lock().unwrap().renewals, 0);

    // Neither the PRT nor the session key are on disk in clear (the PRT record holds the PRT
    // itself, 0600: that is the one place it lives; the session key is nowhere).
    let fake = j.cloud.prt.state.lock().unwrap();
    let key = fake.session_key.unwrap();
    for bytes in files_under(&j.state) {
        assert!(!bytes.windows(32).any(|w| w == key));
        assert!(!String::from_utf8_lossy(&bytes).contains(&support::prt::b64(&key)));
    }
    // prt show prints no secret.
    let shown = host_bridge::prt::cli::render(&host_bridge::prt::cli::show(&j.state));
    assert!(!shown.contains(fake.prt.as_deref().unwrap()) && shown.contains(UPN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prt_whose_id_token_does_not_verify_is_refused_and_nothing_is_kept() {
    let j = joined().await;
    j.cloud.prt.state.lock().unwrap().forge_id_token = true;
    let err = j.ctx().sign_in(UPN, PASSWORD).await.unwrap_err();
    assert!(
        matches!(&err, PrtError::BadResponse(m) if m.contains("id_token")),
        "{err}"
    );
    assert!(store::load(&MachineStore::at(&j.state), UPN)
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prt_renews_after_four_hours_and_expires_after_14_days_unused_or_90_days() {
    let j = joined().await;
    let ctx = j.ctx();
    let first = ctx.sign_in(UPN, PASSWORD).await.unwrap();
    j.age(cxh_wire::prt::PRT_RENEW_AFTER_SECS + 60);
    let renewed = ctx.renew_if_due(UPN).await.unwrap();
    assert_ne!(renewed.prt, first.prt);
    assert_eq!(j.cloud.prt.state.lock().unwrap().renewals, 1);
    // Fresh again: no second renewal.
    ctx.renew_if_due(UPN).await.unwrap();
    assert_eq!(j.cloud.prt.state.lock().unwrap().renewals, 1);

    // 14 days unused: interaction required, and the PRT is dropped from the record.
    j.age(cxh_wire::prt::PRT_SLIDING_WINDOW_SECS);
    let err = ctx
        .app_token(
            UPN,
            "c1",
            &Audience::Resource("https://graph.microsoft.com".into()),
            None,
        )
        .await
        .unwrap_err();
    assert!(err.interaction_required(), "{err}");
    let record = store::load(&MachineStore::at(&j.state), UPN)
        .unwrap()
        .unwrap();
    assert!(record.prt.is_none() && record.dead_reason.is_some());
    let sso = collect_at(&MachineStore::at(&j.state), "x", Some(&j.tcti))
        .unwrap()
        .sso
        .unwrap();
    assert!(!sso.azure_ad_prt);

    // 90 days: a PRT renewed every day still ends at its lifetime.
    ctx.sign_in(UPN, PASSWORD).await.unwrap();
    let store = MachineStore::at(&j.state);
    let mut record = store::load(&store, UPN).unwrap().unwrap();
    record.expires_at = host_bridge::prt::now_unix() - 1;
    store::save(&store, &record).unwrap();
    let err = ctx.renew(UPN).await.unwrap_err();
    assert!(
        matches!(&err, PrtError::Unusable { reason, .. } if reason.contains("lifetime")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_prt_needs_interaction_and_is_dropped() {
    let j = joined().await;
    let ctx = j.ctx();
    ctx.sign_in(UPN, PASSWORD).await.unwrap();
    // The password changed: the cloud revoked the user's PRTs.
    j.cloud.prt.state.lock().unwrap().revoked = true;
    let err = ctx
        .app_token(UPN, "c1", &Audience::Scope("openid".into()), None)
        .await
        .unwrap_err();
    assert!(err.interaction_required() && err.prt_is_dead(), "{err}");
    let record = store::load(&MachineStore::at(&j.state), UPN)
        .unwrap()
        .unwrap();
    assert!(record.prt.is_none());
    assert!(record.dead_reason.unwrap().contains("50173"));
    // And it stays so without asking the cloud again.
    let again = ctx.renew(UPN).await.unwrap_err();
    assert!(matches!(again, PrtError::Unusable { .. }), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_nonce_and_a_forged_session_signature_are_refused() {
    let j = joined().await;
    let ctx = j.ctx();
    ctx.sign_in(UPN, PASSWORD).await.unwrap();
    let (record, session) = ctx.usable(UPN, host_bridge::prt::now_unix()).unwrap();
    let prt = record.prt.unwrap();
    let http = build_client(None).unwrap();
    let endpoint = ctx.endpoint();
    let nonce = client::nonce(&http, &endpoint).await.unwrap();
    let claims = client::renewal_claims(&prt, &nonce);
    client::session_request(&http, &endpoint, session.as_ref(), &claims)
        .await
        .unwrap();
    // The same nonce again.
    let err = client::session_request(&http, &endpoint, session.as_ref(), &claims)
        .await
        .unwrap_err();
    assert!(matches!(err, PrtError::Cloud { code: 90044, .. }), "{err}");
    // Signed by another key than the session key.
    let forged = host_bridge::keys::software_session_key(&[0u8; 32]).unwrap();
    let nonce = client::nonce(&http, &endpoint).await.unwrap();
    let err = client::session_request(
        &http,
        &endpoint,
        forged.as_ref(),
        &client::renewal_claims(&prt, &nonce),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PrtError::Cloud { code: 50155, .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_killed_before_its_write_leaves_the_last_good_prt() {
    let j = joined().await;
    let ctx = j.ctx();
    let good = ctx.sign_in(UPN, PASSWORD).await.unwrap();
    // A broker killed mid-write leaves only its temp file behind.
    let path = store::path_for(&MachineStore::at(&j.state), UPN);
    std::fs::write(path.with_extension("tmp-4242"), b"{\"upn\":\"half").unwrap();
    let (record, _) = ctx.usable(UPN, host_bridge::prt::now_unix()).unwrap();
    assert_eq!(record.prt, good.prt);
    ctx.app_token(UPN, "c1", &Audience::Scope("openid".into()), None)
        .await
        .unwrap();
}
