//! Attestation of the transport key: a restricted attestation key (AK) created under the SRK
//! certifies the transport key with TPM2_Certify. The TPM signs a TPMS_ATTEST carrying the
//! transport key's name (nameAlg || SHA-256 of its TPMT_PUBLIC) and the caller's qualifying
//! data; a restricted key signs only such TPM-made structures, so the statement says "this
//! key lives in the same TPM as the AK". With no privacy CA the AK itself is not vouched for
//! (see `cxh_wire::key_attestation`). The AK is transient: created, used once, flushed.

use cxh_wire::key_attestation::KeyAttestation;
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

/// Certify `transport` with the already created `ak`; SRK, AK and key are loaded (three
/// objects, the minimum any TPM holds) and flushed again.
pub fn certify_with(
    tpm: &Tpm,
    ak: &KeyBlob,
    transport: &KeyBlob,
    qualifying_data: &[u8],
) -> Result<KeyAttestation, TpmError> {
    let mut context = tpm.connect()?;
    let (certify_info, signature) = with_srk(&mut context, |ctx, srk| {
        with_loaded(ctx, srk, &ak.public, &ak.private, |ctx, ak_handle| {
            with_loaded(
                ctx,
                srk,
                &transport.public,
                &transport.private,
                |ctx, tk| certify_loaded(ctx, tk, ak_handle, qualifying_data),
            )
        })
    })?;
    Ok(KeyAttestation {
        ak_public: ak.public.marshall().map_err(command("Marshal public"))?,
        key_public: transport
            .public
            .marshall()
            .map_err(command("Marshal public"))?,
        certify_info,
        signature,
    })
}

/// Create an AK and certify the transport key with it.
pub fn certify_transport_key(
    tpm: &Tpm,
    transport: &KeyBlob,
    qualifying_data: &[u8],
) -> Result<KeyAttestation, TpmError> {
    let ak = create_attestation_key(tpm)?;
    certify_with(tpm, &ak, transport, qualifying_data)
}
