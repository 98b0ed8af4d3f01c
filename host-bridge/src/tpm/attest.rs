//! Attestation of the device and transport keys: a restricted attestation key (AK) created
//! under the SRK certifies each of them with TPM2_Certify. The TPM signs a TPMS_ATTEST carrying
//! the key's name (nameAlg || SHA-256 of its TPMT_PUBLIC) and the caller's qualifying data; a
//! restricted key signs only such TPM-made structures, so each statement says "this key lives
//! in the same TPM as the AK". What ties the AK to a genuine TPM is the credential activation
//! against the EK ([`super::ek`]) the verifier asks for before. The AK is wrapped by the TPM
//! and kept only for the length of one join.

use cxh_wire::key_attestation::{CertifiedKey, KeyAttestation};
use tss_esapi::handles::{KeyHandle, ObjectHandle};
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{Data, SignatureScheme};
use tss_esapi::traits::Marshall;
use tss_esapi::Context;

use super::keys::{attestation_key_template, create_under_srk, KeyBlob};
use super::srk::{with_loaded, with_srk};
use super::{command, Tpm, TpmError};

/// Create an attestation key under the SRK (wrapped, not loaded).
pub fn create_attestation_key(tpm: &Tpm) -> Result<KeyBlob, TpmError> {
    create_under_srk(tpm, attestation_key_template()?)
}

/// TPM2_Certify of `object` by `ak`; returns the marshalled TPMS_ATTEST and TPMT_SIGNATURE.
pub fn certify_loaded(
    context: &mut Context,
    object: KeyHandle,
    ak: KeyHandle,
    qualifying_data: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), TpmError> {
    let qualifying = Data::try_from(qualifying_data.to_vec()).map_err(command("Certify data"))?;
    let sessions = (
        Some(AuthSession::Password),
        Some(AuthSession::Password),
        None,
    );
    let (attest, signature) = context
        .execute_with_sessions(sessions, |ctx| {
            ctx.certify(
                ObjectHandle::from(object),
                ak,
                qualifying,
                SignatureScheme::Null,
            )
        })
        .map_err(command("Certify"))?;
    let attest = attest.marshall().map_err(command("Marshal attest"))?;
    let signature = signature.marshall().map_err(command("Marshal signature"))?;
    Ok((attest, signature))
}

/// Certify `key` with the already created `ak`; SRK, AK and key are loaded (three objects,
/// the minimum any TPM holds) and flushed again.
pub fn certify_with(
    tpm: &Tpm,
    ak: &KeyBlob,
    key: &KeyBlob,
    qualifying_data: &[u8],
) -> Result<CertifiedKey, TpmError> {
    let mut context = tpm.connect()?;
    let (certify_info, signature) = with_srk(&mut context, |ctx, srk| {
        with_loaded(ctx, srk, &ak.public, &ak.private, |ctx, ak_handle| {
            with_loaded(ctx, srk, &key.public, &key.private, |ctx, handle| {
                certify_loaded(ctx, handle, ak_handle, qualifying_data)
            })
        })
    })?;
    Ok(CertifiedKey {
        key_public: key.public.marshall().map_err(command("Marshal public"))?,
        certify_info,
        signature,
    })
}

/// Certify the transport key and the device key with `ak`, both bound to `qualifying_data`.
pub fn certify_keys(
    tpm: &Tpm,
    ak: &KeyBlob,
    transport: &KeyBlob,
    device: &KeyBlob,
    qualifying_data: &[u8],
) -> Result<KeyAttestation, TpmError> {
    Ok(KeyAttestation {
        ak_public: ak.public.marshall().map_err(command("Marshal public"))?,
        transport: certify_with(tpm, ak, transport, qualifying_data)?,
        device: certify_with(tpm, ak, device, qualifying_data)?,
    })
}
