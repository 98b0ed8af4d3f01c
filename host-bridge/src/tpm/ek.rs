//! The endorsement key (EK) side of key attestation: the EK certificate the TPM's maker (here
//! swtpm_setup with its local CA) stored at NV index 0x01C00002, and TPM2_ActivateCredential,
//! which releases a verifier's secret only if the EK of that certificate and the named AK are
//! in this TPM.
//!
//! The EK is the RSA-2048 primary of the endorsement hierarchy from the TCG default template
//! (EK Credential Profile, policy A: PolicySecret(TPM_RH_ENDORSEMENT)); it is deterministic, so
//! it is recreated here rather than read from a persistent handle, and flushed after use.

use tss_esapi::abstraction::ek::{create_ek_object_2, retrieve_ek_pubcert};
use tss_esapi::abstraction::AsymmetricAlgorithmSelection;
use tss_esapi::constants::SessionType;
use tss_esapi::handles::AuthHandle;
use tss_esapi::handles::{KeyHandle, ObjectHandle, SessionHandle};
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{EncryptedSecret, IdObject, SymmetricDefinition};
use tss_esapi::Context;

use super::keys::KeyBlob;
use super::srk::{flush, with_password, with_srk};
use super::{command, Tpm, TpmError};

const RSA_2048: AsymmetricAlgorithmSelection =
    AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048);

/// The DER EK certificate of the RSA-2048 EK, or why there is none.
pub fn read_ek_certificate(tpm: &Tpm) -> Result<Vec<u8>, TpmError> {
    let mut context = tpm.connect()?;
    retrieve_ek_pubcert(&mut context, RSA_2048).map_err(|e| TpmError::Command {
        command: "NV_Read (EK certificate at 0x01C00002)",
        reason: e.to_string(),
    })
}

/// The EK's RSA public key as the TPM derives it (to compare with its certificate).
pub fn ek_public(tpm: &Tpm) -> Result<rsa::RsaPublicKey, TpmError> {
    let mut context = tpm.connect()?;
    let ek = create_ek(&mut context)?;
    let public = context.read_public(ek).map_err(command("ReadPublic"));
    flush(&mut context, ek);
    super::keys::rsa_public_of(&public?.0)
}

fn create_ek(context: &mut Context) -> Result<KeyHandle, TpmError> {
    create_ek_object_2(context, RSA_2048, None).map_err(command("CreatePrimary (EK)"))
}

/// TPM2_ActivateCredential: `ak` (a child of the SRK) and the EK loaded, the EK authorised by
/// its policy (PolicySecret of the endorsement hierarchy). Returns the released secret.
pub fn activate_credential(
    tpm: &Tpm,
    ak: &KeyBlob,
    credential_blob: &[u8],
    encrypted_secret: &[u8],
) -> Result<Vec<u8>, TpmError> {
    let blob =
        IdObject::try_from(credential_blob.to_vec()).map_err(command("ActivateCredential blob"))?;
    let secret = EncryptedSecret::try_from(encrypted_secret.to_vec())
        .map_err(command("ActivateCredential secret"))?;
    let mut context = tpm.connect()?;
    // Load the AK under the SRK, then drop the SRK: the swtpm holds only three objects.
    let ak_handle = with_srk(&mut context, |ctx, srk| {
        with_password(ctx, |ctx| {
            ctx.load(srk, ak.private.clone(), ak.public.clone())
        })
        .map_err(command("Load"))
    })?;
    let result = create_ek(&mut context).and_then(|ek| {
        let activated = activate_loaded(&mut context, ak_handle, ek, blob, secret);
        flush(&mut context, ek);
        activated
    });
    flush(&mut context, ak_handle);
    result
}

fn activate_loaded(
    context: &mut Context,
    ak: KeyHandle,
    ek: KeyHandle,
    blob: IdObject,
    secret: EncryptedSecret,
) -> Result<Vec<u8>, TpmError> {
    let session = context
        .start_auth_session(
            None,
            None,
            None,
            SessionType::Policy,
            SymmetricDefinition::AES_128_CFB,
            HashingAlgorithm::Sha256,
        )
        .map_err(command("StartAuthSession"))?
        .ok_or(TpmError::Unexpected("missing policy session"))?;
    let result = (|| {
        let policy = PolicySession::try_from(session).map_err(command("PolicySecret"))?;
        with_password(context, |ctx| {
            ctx.policy_secret(
                policy,
                AuthHandle::Endorsement,
                Default::default(),
                Default::default(),
                Default::default(),
                None,
            )
        })
        .map_err(command("PolicySecret"))?;
        context
            .execute_with_sessions((Some(AuthSession::Password), Some(session), None), |ctx| {
                ctx.activate_credential(ak, ek, blob, secret)
            })
            .map(|digest| digest.value().to_vec())
            .map_err(command("ActivateCredential"))
    })();
    if let Err(e) = context.flush_context(ObjectHandle::from(SessionHandle::from(session))) {
        tracing::warn!(error = %e, "could not flush the policy session");
    }
    result
}
