//! The TPM key provider against a real TPM 2.0 (swtpm): non-exportable keys, a join whose
//! certificate is bound to the TPM device key, persistence across a bridge and TPM restart,
//! and the key-protection policy when no TPM answers.

mod support;

use host_bridge::config::BridgeConfig;
use host_bridge::http::build_client;
use host_bridge::join::{run_join, JoinContext, JoinIdentity};
use host_bridge::keys::{KeyError, KeyProvider, KeyPurpose, PLATFORM_PROVIDER_NAME};
use host_bridge::scripted::{sign_in, Credentials};
use host_bridge::secret::Secret;
use host_bridge::status::collect_at;
use host_bridge::store::{MachineStore, CERT_DER_FILE, DEVICE_KEY_FILE};
use host_bridge::token::TokenValidator;
use host_bridge::tpm::keys::KeyBlob;
use host_bridge::tpm::srk::{with_loaded, with_srk};
use host_bridge::tpm::{provider_for_policy, KeyProtection, Tpm, TpmKeyProvider};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};
use support::swtpm::{unreachable_tcti, Swtpm};
use support::{entries, FakeCloud, PASSWORD, UPN};
use tss_esapi::handles::ObjectHandle;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::SymmetricDefinitionObject;
use x509_cert::der::referenced::OwnedToRef;
use x509_cert::der::Decode;

async fn identity(cloud: &FakeCloud, config: &BridgeConfig) -> JoinIdentity {
    let http = build_client(None).unwrap();
    let validator = TokenValidator::new(http.clone(), config.authority.clone());
    let credentials = Credentials {
        username: UPN.into(),
        password: Secret::new(PASSWORD),
    };
    let _ = cloud;
    sign_in(&http, &validator, &config.authority, &credentials)
        .await
        .unwrap()
}

fn certified_key(store: &MachineStore) -> RsaPublicKey {
    let der = store.read_join_file(CERT_DER_FILE).unwrap();
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    RsaPublicKey::try_from(cert.tbs_certificate.subject_public_key_info.owned_to_ref()).unwrap()
}

#[test]
fn tpm_keys_cannot_be_duplicated_or_used_in_another_tpm() {
    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(&temp.path().join("tpm"));
    let provider = TpmKeyProvider::new(&swtpm.tcti()).unwrap();
    let key = provider.create_key(KeyPurpose::Transport).unwrap();
    let blob = KeyBlob::from_bytes(&key.to_blob().unwrap()).unwrap();
    let attributes = blob.public.object_attributes();
    assert!(attributes.fixed_tpm() && attributes.fixed_parent());
    assert!(attributes.sensitive_data_origin());

    // TPM2_Duplicate is the only way a private area leaves a TPM; it is refused (it needs a
    // policy session the key has no policy for, and fixedParent forbids it anyway).
    let tpm = Tpm::new(&swtpm.tcti()).unwrap();
    let mut context = tpm.connect().unwrap();
    let duplicated = with_srk(&mut context, |ctx, srk| {
        with_loaded(ctx, srk, &blob.public, &blob.private, |ctx, handle| {
            let attempt =
                ctx.execute_with_sessions((Some(AuthSession::Password), None, None), |ctx| {
                    ctx.duplicate(
                        ObjectHandle::from(handle),
                        ObjectHandle::Null,
                        None,
                        SymmetricDefinitionObject::Null,
                    )
                });
            Ok(attempt.map(|_| ()).map_err(|e| e.to_string()))
        })
    })
    .unwrap();
    let refusal = duplicated.expect_err("a fixedParent key must not be duplicable");
    assert!(!refusal.is_empty());

    // The wrapped blob means nothing to another TPM (another storage root).
    let other = Swtpm::start(&temp.path().join("other-tpm"));
    let stranger = TpmKeyProvider::new(&other.tcti()).unwrap();
    let err = stranger
        .load_key(KeyPurpose::Transport, &key.to_blob().unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("TPM2_Load failed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tpm_join_survives_a_restart_of_the_bridge_and_the_tpm() {
    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(&temp.path().join("tpm"));
    let cloud = FakeCloud::start().await;
    let config = BridgeConfig::new(&cloud.base, temp.path().join("state")).unwrap();
    let identity = identity(&cloud, &config).await;
    let store = MachineStore::open(&config.state_dir).unwrap();
    let context = JoinContext {
        http: build_client(None).unwrap(),
        config,
        keys: provider_for_policy(KeyProtection::Tpm, &swtpm.tcti()).unwrap(),
        store: store.clone(),
    };
    let result = run_join(&context, &identity, &mut |_, _| {}).await.unwrap();
    assert!(result.tpm_protected);
    assert_eq!(result.key_provider, PLATFORM_PROVIDER_NAME);

    // The certificate DRS issued certifies exactly the TPM device key.
    let device_blob = store.read_join_file(DEVICE_KEY_FILE).unwrap();
    let tpm_public = KeyBlob::from_bytes(&device_blob)
        .unwrap()
        .rsa_public()
        .unwrap();
    assert_eq!(certified_key(&store), tpm_public);
    // This fake DRS has no credential activation challenge: the keys are registered without
    // AttestationData and the reason is kept (attestation itself: tests/attestation.rs).
    let (_, request) = cloud.registrations.lock().unwrap()[0].clone();
    assert!(request.attestation_data.is_none());
    let info = store.load_join_info().unwrap().unwrap();
    assert!(!info.key.transport_key_attested);
    let reason = info.key.attestation.not_attested_reason.unwrap();
    assert!(reason.contains("attestation challenge"), "{reason}");

    // Reboot: the bridge process is gone, swtpm restarts on the same state and a new port.
    drop(context);
    let swtpm = swtpm.restart();
    let provider = TpmKeyProvider::new(&swtpm.tcti()).unwrap();
    let device = provider.load_key(KeyPurpose::Device, &device_blob).unwrap();
    let digest = Sha256::digest(b"after the reboot");
    let signature = device.sign_sha256_digest(&digest).unwrap();
    certified_key(&store)
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .expect("the reloaded TPM key signs for the certificate");

    let status = collect_at(&store, "unused", Some(&swtpm.tcti())).unwrap();
    let device = status.device.unwrap();
    assert!(device.tpm_protected);
    assert_eq!(device.key_provider, "Microsoft Platform Crypto Provider");
    assert_eq!(device.device_auth_status, "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_tpm_without_a_tpm_fails_before_drs_and_leaves_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::start().await;
    let config = BridgeConfig::new(&cloud.base, temp.path().join("state")).unwrap();
    let identity = identity(&cloud, &config).await;
    let store = MachineStore::open(&config.state_dir).unwrap();
    let context = JoinContext {
        http: build_client(None).unwrap(),
        config,
        keys: provider_for_policy(KeyProtection::Tpm, &unreachable_tcti()).unwrap(),
        store: store.clone(),
    };
    let err = run_join(&context, &identity, &mut |_, _| {})
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("Microsoft Platform Crypto Provider cannot be used")
            && message.contains("no TPM is reachable"),
        "{message}"
    );
    assert_eq!(
        cloud
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert!(cloud.registrations.lock().unwrap().is_empty());
    assert!(entries(store.root()).is_empty());
}

#[test]
fn tpm_if_possible_falls_back_to_software_and_says_why() {
    let provider = provider_for_policy(KeyProtection::TpmIfPossible, &unreachable_tcti()).unwrap();
    assert!(!provider.tpm_protected());
    assert_eq!(provider.name(), "Microsoft Software Key Storage Provider");
    assert!(provider
        .fallback_reason()
        .unwrap()
        .contains("no TPM is reachable"));
    let bad = provider_for_policy(KeyProtection::Tpm, "carrier-pigeon:").err();
    assert!(matches!(bad, Some(KeyError::Unavailable { .. })));

    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(temp.path());
    let provider = provider_for_policy(KeyProtection::TpmIfPossible, &swtpm.tcti()).unwrap();
    assert!(provider.tpm_protected());
    assert_eq!(provider.fallback_reason(), None);
}
