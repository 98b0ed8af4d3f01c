//! The registration journal: a join interrupted after its POST reached DRS (the process killed
//! or the answer lost: here the join future is dropped while DRS holds the answer) leaves what
//! an administrator needs in `status`; a refused or completed registration leaves nothing.

mod support;

use std::sync::Arc;
use std::time::Duration;

use host_bridge::config::BridgeConfig;
use host_bridge::http::build_client;
use host_bridge::join::{run_join, JoinContext};
use host_bridge::journal::key_thumbprint;
use host_bridge::keys::SoftwareKeyProvider;
use host_bridge::scripted::{sign_in, Credentials};
use host_bridge::secret::Secret;
use host_bridge::status::{collect, render_text};
use host_bridge::store::MachineStore;
use host_bridge::token::TokenValidator;
use support::{FakeCloud, RegistrationMode, PASSWORD, UPN};

async fn context(
    cloud: &FakeCloud,
    state: &std::path::Path,
) -> (JoinContext, host_bridge::join::JoinIdentity) {
    let mut config = BridgeConfig::new(&cloud.base, state).unwrap();
    config.host.device_name = "DESKTOP-JOURNAL".into();
    let http = build_client(None).unwrap();
    let validator = TokenValidator::new(http.clone(), config.authority.clone());
    let credentials = Credentials {
        username: UPN.into(),
        password: Secret::new(PASSWORD),
    };
    let identity = sign_in(&http, &validator, &config.authority, &credentials)
        .await
        .unwrap();
    let ctx = JoinContext {
        http,
        store: MachineStore::open(&config.state_dir).unwrap(),
        config,
        keys: Arc::new(SoftwareKeyProvider),
    };
    (ctx, identity)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_whose_answer_never_arrived_is_reported_with_what_an_admin_needs() {
    let cloud = FakeCloud::start().await;
    cloud.set_mode(RegistrationMode::Slow);
    let temp = tempfile::tempdir().unwrap();
    let (ctx, identity) = context(&cloud, temp.path()).await;
    let store = ctx.store.clone();
    let join = tokio::spawn(async move { run_join(&ctx, &identity, &mut |_, _| {}).await });
    // Wait until DRS has the request, then kill the join before its answer arrives.
    for _ in 0..200 {
        if !cloud.registrations.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    join.abort();
    let _ = join.await;
    let (_, request) = cloud.registrations.lock().unwrap()[0].clone();

    let status = collect(&store, "unused").unwrap();
    assert!(!status.azure_ad_joined);
    let pending = status.pending_registration.clone().expect("journal kept");
    assert_eq!(pending.device_name, "DESKTOP-JOURNAL");
    assert_eq!(request.device_display_name, "DESKTOP-JOURNAL");
    // The thumbprint is the device key's: the one in the CSR DRS received.
    let csr = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &request.certificate_request.data,
    )
    .unwrap();
    let csr = <x509_cert::request::CertReq as der::Decode>::from_der(&csr).unwrap();
    let key = rsa::RsaPublicKey::try_from(x509_cert::der::referenced::OwnedToRef::owned_to_ref(
        &csr.info.public_key,
    ))
    .unwrap();
    assert_eq!(pending.key_thumbprint, key_thumbprint(&key));
    let text = render_text(&status);
    assert!(
        text.contains("this device may exist in the tenant"),
        "{text}"
    );
    assert!(text.contains(&pending.key_thumbprint), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_completed_registration_leaves_no_journal() {
    let cloud = FakeCloud::start().await;
    let temp = tempfile::tempdir().unwrap();
    cloud.set_mode(RegistrationMode::Reject);
    let (ctx, identity) = context(&cloud, temp.path()).await;
    run_join(&ctx, &identity, &mut |_, _| {}).await.unwrap_err();
    assert!(collect(&ctx.store, "unused")
        .unwrap()
        .pending_registration
        .is_none());

    cloud.set_mode(RegistrationMode::Issue);
    run_join(&ctx, &identity, &mut |_, _| {}).await.unwrap();
    let status = collect(&ctx.store, "unused").unwrap();
    assert!(status.azure_ad_joined);
    assert!(status.pending_registration.is_none());
}
