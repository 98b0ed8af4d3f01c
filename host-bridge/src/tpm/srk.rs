//! The storage root key: the RSA-2048 primary of the owner hierarchy, from the standard SRK
//! template (TCG TPM v2.0 Provisioning Guidance): restricted decrypt, AES-128-CFB for its
//! children, fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | noDA, SHA-256 name,
//! empty auth policy and a 256-byte zero `unique`. The template makes the key deterministic
//! for a given owner seed, so it is recreated on demand rather than persisted, and flushed
//! after each use.

use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::handles::{KeyHandle, ObjectHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{
    Private, Public, PublicBuilder, PublicKeyRsa, PublicRsaParametersBuilder, RsaExponent,
    SymmetricDefinitionObject,
};
use tss_esapi::Context;

use super::{command, TpmError};

/// The standard SRK template.
pub fn srk_template() -> Result<Public, TpmError> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(true)
        .with_decrypt(true)
        .build()
        .map_err(command("CreatePrimary template"))?;
    let parameters = PublicRsaParametersBuilder::new_restricted_decryption_key(
        SymmetricDefinitionObject::AES_128_CFB,
        RsaKeyBits::Rsa2048,
        RsaExponent::default(),
    )
    .build()
    .map_err(command("CreatePrimary template"))?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Rsa)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_rsa_parameters(parameters)
        .with_rsa_unique_identifier(PublicKeyRsa::new_empty_with_size(RsaKeyBits::Rsa2048))
        .build()
        .map_err(command("CreatePrimary template"))
}

/// Run `f` with a password (empty auth) session, as every object here has an empty auth.
pub fn with_password<T>(context: &mut Context, f: impl FnOnce(&mut Context) -> T) -> T {
    context.execute_with_sessions((Some(AuthSession::Password), None, None), f)
}

/// Create the SRK in the owner hierarchy (transient handle).
pub fn create_srk(context: &mut Context) -> Result<KeyHandle, TpmError> {
    let template = srk_template()?;
    with_password(context, |ctx| {
        ctx.create_primary(Hierarchy::Owner, template, None, None, None, None)
    })
    .map(|result| result.key_handle)
    .map_err(command("CreatePrimary"))
}

/// Flush a transient object, logging (not failing) when the TPM refuses.
pub fn flush(context: &mut Context, handle: KeyHandle) {
    if let Err(e) = context.flush_context(ObjectHandle::from(handle)) {
        tracing::warn!(error = %e, "could not flush a transient TPM object");
    }
}

/// Run `f` with the SRK loaded, flushing it afterwards whatever `f` returned.
pub fn with_srk<T>(
    context: &mut Context,
    f: impl FnOnce(&mut Context, KeyHandle) -> Result<T, TpmError>,
) -> Result<T, TpmError> {
    let srk = create_srk(context)?;
    let result = f(context, srk);
    flush(context, srk);
    result
}

/// Run `f` with a child of `parent` loaded from its wrapped parts, flushing it afterwards.
pub fn with_loaded<T>(
    context: &mut Context,
    parent: KeyHandle,
    public: &Public,
    private: &Private,
    f: impl FnOnce(&mut Context, KeyHandle) -> Result<T, TpmError>,
) -> Result<T, TpmError> {
    let handle = with_password(context, |ctx| {
        ctx.load(parent, private.clone(), public.clone())
    })
    .map_err(command("Load"))?;
    let result = f(context, handle);
    flush(context, handle);
    result
}
