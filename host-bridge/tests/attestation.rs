//! TPM key attestation end to end, against a real TPM (swtpm manufactured with an EK
//! certificate from a local CA) and the real emulator: the AK is tied to the EK by credential
//! activation before DRS counts any key as attested; a software AK, an EK certificate of an
//! untrusted CA and a TPM without EK certificate are each refused or left unattested.

mod support;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::key_attestation::{
    AttestationChallengeRequest, AttestationChallengeResponse, CertifiedKey, KeyAttestation,
};
use host_bridge::attestation::challenge_url;
use host_bridge::config::BridgeConfig;
use host_bridge::csr::build_device_csr;
use host_bridge::http::build_client;
use host_bridge::join::{run_join, JoinContext, JoinIdentity};
use host_bridge::keys::{KeyProvider, KeyPurpose, SoftwareKeyProvider};
use host_bridge::registration::{attach_attestation, build_request, register, DeviceFacts};
use host_bridge::scripted::{sign_in, Credentials};
use host_bridge::secret::Secret;
use host_bridge::status::collect_at;
use host_bridge::store::MachineStore;
use host_bridge::token::TokenValidator;
use host_bridge::tpm::{ek, provider_for_policy, KeyProtection, Tpm};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use support::emulator::{Emulator, ADELE, ADELE_PASSWORD};
use support::swtpm::{tpm_ca_bundle, Swtpm};
use tenant_emulator::ek_trust::TpmRoots;

fn trusted_roots() -> TpmRoots {
    TpmRoots::from_pem_bundles([tpm_ca_bundle().as_str()]).unwrap()
}

async fn identity(emulator: &Emulator) -> JoinIdentity {
    let http = build_client(None).unwrap();
    let authority = url::Url::parse(&emulator.base).unwrap();
    let validator = TokenValidator::new(http.clone(), authority.clone());
    let credentials = Credentials {
        username: ADELE.into(),
        password: Secret::new(ADELE_PASSWORD),
    };
    sign_in(&http, &validator, &authority, &credentials)
        .await
        .unwrap()
}

fn context(
    emulator: &Emulator,
    state: &std::path::Path,
    keys: Arc<dyn KeyProvider>,
) -> JoinContext {
    let config = BridgeConfig::new(&emulator.base, state).unwrap();
    JoinContext {
        http: build_client(None).unwrap(),
        store: MachineStore::open(&config.state_dir).unwrap(),
        config,
        keys,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tpm_join_attests_both_keys_by_the_ek_chain_after_credential_activation() {
    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(&temp.path().join("tpm"));
    let emulator = Emulator::start(trusted_roots()).await;
    emulator.require_attestation();
    let identity = identity(&emulator).await;
    let keys = provider_for_policy(KeyProtection::Tpm, &swtpm.tcti()).unwrap();
    let ctx = context(&emulator, &temp.path().join("state"), keys);
    let result = run_join(&ctx, &identity, &mut |_, _| {}).await.unwrap();

    let device = emulator.device(&result.device_id).expect("device object");
    assert!(device.attested);
    assert!(device.attestation.device_key_attested && device.attestation.transport_key_attested);
    assert_eq!(device.attestation.method, "ek-credential-activation");
    assert_eq!(
        device.attestation.ek_chain.last().map(String::as_str),
        Some("CN=swtpm-localca-rootca"),
        "{:?}",
        device.attestation.ek_chain
    );

    let info = ctx.store.load_join_info().unwrap().unwrap();
    assert!(info.key.attestation.device_key_attested);
    assert!(info.key.transport_key_attested);
    assert_eq!(info.key.attestation.ek_chain, device.attestation.ek_chain);
    let status = collect_at(&ctx.store, "unused", Some(&swtpm.tcti())).unwrap();
    let shown = status.device.unwrap();
    assert!(shown.device_key_attested && shown.transport_key_attested);
    assert!(shown.attestation_chain.contains("CN=swtpm-localca-rootca"));
}

/// The attacker holds a genuine EK certificate (it is public) but no TPM with its private
/// key: the challenge is issued, but a software AK cannot activate it, and a statement signed
/// by the software AK with a guessed secret is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_software_ak_with_a_genuine_ek_certificate_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(&temp.path().join("tpm"));
    let ek_certificate = ek::read_ek_certificate(&Tpm::new(&swtpm.tcti()).unwrap()).unwrap();
    let emulator = Emulator::start(trusted_roots()).await;
    emulator.require_attestation();
    let identity = identity(&emulator).await;
    let http = build_client(None).unwrap();
    let join_endpoint = format!("{}/EnrollmentServer/device/", emulator.base);

    let ak = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let ak_public = tpm_rsa_public(
        0x0005_0072,
        &[0x00, 0x14, 0x00, 0x0B],
        &ak.n().to_bytes_be(),
    );
    let challenge: AttestationChallengeResponse = http
        .post(challenge_url(&join_endpoint).unwrap())
        .bearer_auth(identity.bearer.expose())
        .json(&AttestationChallengeRequest {
            ek_certificate: STANDARD.encode(&ek_certificate),
            ak_public: STANDARD.encode(&ak_public),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!challenge.encrypted_secret.is_empty());

    let software = SoftwareKeyProvider;
    let device = software.create_key(KeyPurpose::Device).unwrap();
    let transport = software.create_key(KeyPurpose::Transport).unwrap();
    let csr = build_device_csr(device.as_ref()).unwrap();
    let guessed = [0u8; 32];
    let mut extra = Sha256::new();
    extra.update(guessed);
    extra.update(Sha256::digest(&csr));
    let extra = extra.finalize();
    let certify = |key: &rsa::RsaPublicKey, attributes: u32, scheme: &[u8]| {
        let key_public = tpm_rsa_public(attributes, scheme, &key.n().to_bytes_be());
        let mut name = vec![0x00, 0x0B];
        name.extend(Sha256::digest(&key_public));
        let certify_info = certify_attest(&name, &extra);
        let signature = rsa::pkcs1v15::SigningKey::<Sha256>::new(ak.clone());
        let signature = signature::SignatureEncoding::to_vec(&signature::Signer::sign(
            &signature,
            &certify_info,
        ));
        let mut sig = vec![0x00, 0x14, 0x00, 0x0B];
        sig.extend((signature.len() as u16).to_be_bytes());
        sig.extend(signature);
        CertifiedKey {
            key_public,
            certify_info,
            signature: sig,
        }
    };
    let statement = KeyAttestation {
        ak_public,
        transport: certify(transport.public_key(), 0x0002_0072, &[0x00, 0x10]),
        device: certify(device.public_key(), 0x0004_0072, &[0x00, 0x14, 0x00, 0x0B]),
    };
    let facts = DeviceFacts {
        target_domain: "127.0.0.1",
        os_version: "10.0.26100",
        device_display_name: "ATTACKER",
    };
    let mut request = build_request(&csr, transport.public_key(), &facts);
    attach_attestation(&mut request, &statement).unwrap();
    let err = register(&http, &join_endpoint, &identity.bearer, &request)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("attestation_failed"), "{err}");
    assert!(err.contains("not bound"), "{err}");
    assert!(tenant_emulator::db::devices(&emulator.state.db())
        .unwrap()
        .is_empty());

    // Without the challenge at all (a statement for an AK DRS never saw) it is refused too.
    let err = register(&http, &join_endpoint, &identity.bearer, &request)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no credential activation"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ek_of_an_untrusted_ca_or_no_ek_certificate_leaves_the_device_unattested() {
    let temp = tempfile::tempdir().unwrap();
    let swtpm = Swtpm::start(&temp.path().join("tpm"));
    // An emulator trusting some other TPM maker only.
    let other_ca = tenant_emulator::ca::self_signed(
        &rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap(),
        "CN=Another TPM Maker Root",
    )
    .unwrap();
    let pem = tenant_emulator::ca::certificate_pem(&other_ca).unwrap();
    let emulator = Emulator::start(TpmRoots::from_pem_bundles([pem.as_str()]).unwrap()).await;
    let identity = identity(&emulator).await;
    let keys = provider_for_policy(KeyProtection::Tpm, &swtpm.tcti()).unwrap();
    let ctx = context(&emulator, &temp.path().join("state"), keys);
    let result = run_join(&ctx, &identity, &mut |_, _| {}).await.unwrap();
    let device = emulator.device(&result.device_id).unwrap();
    assert!(!device.attested && !device.attestation.device_key_attested);
    let info = ctx.store.load_join_info().unwrap().unwrap();
    let reason = info.key.attestation.not_attested_reason.unwrap();
    assert!(reason.contains("no trusted TPM CA issued"), "{reason}");

    // A TPM that was never manufactured with an EK certificate.
    let bare = Swtpm::start_unprovisioned(&temp.path().join("bare-tpm"));
    let keys = provider_for_policy(KeyProtection::Tpm, &bare.tcti()).unwrap();
    let ctx = context(&emulator, &temp.path().join("state-2"), keys);
    let result = run_join(&ctx, &identity, &mut |_, _| {}).await.unwrap();
    assert!(!emulator.device(&result.device_id).unwrap().attested);
    let info = ctx.store.load_join_info().unwrap().unwrap();
    let reason = info.key.attestation.not_attested_reason.unwrap();
    assert!(reason.contains("EK certificate"), "{reason}");
}

/// An RSA-2048 TPMT_PUBLIC (Part 2 layout) with the given attributes and scheme.
fn tpm_rsa_public(attributes: u32, scheme: &[u8], modulus: &[u8]) -> Vec<u8> {
    let mut b = vec![0x00, 0x01, 0x00, 0x0B];
    b.extend(attributes.to_be_bytes());
    b.extend([0x00, 0x00, 0x00, 0x10]);
    b.extend(scheme);
    b.extend(2048u16.to_be_bytes());
    b.extend(0u32.to_be_bytes());
    b.extend((modulus.len() as u16).to_be_bytes());
    b.extend(modulus);
    b
}

/// A TPMS_ATTEST of type certify for `name` with `extra` as extraData.
fn certify_attest(name: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut b = vec![0xFF, 0x54, 0x43, 0x47, 0x80, 0x17, 0x00, 0x00];
    b.extend((extra.len() as u16).to_be_bytes());
    b.extend(extra);
    b.extend([0u8; 17]);
    b.extend([0u8; 8]);
    b.extend((name.len() as u16).to_be_bytes());
    b.extend(name);
    b.extend([0x00, 0x00]);
    b
}
