//! The join orchestrator: runs the dsreg phases in order and reports each one.
//!
//! Discovering -> CreatingKeys -> BuildingRequest -> Registering -> InstallingCertificate ->
//! SavingJoinInfo. Every artefact is written into a staging dir of the machine store and
//! becomes the device's join only at the very end, so an error in any phase (or a panic, or a
//! dropped future) leaves the machine as it was.
//!
//! Before the registration POST the journal ([`crate::journal`]) and the join's plan go to
//! disk, and DRS's answer right after it arrives ([`crate::recovery`]): a process killed from
//! then on is finished or undone on the next start. A stop request ([`crate::shutdown`]) is
//! honoured before each phase up to the POST, never after it. [`crate::pause`] points let the
//! fault tests stop a debug build at each of these moments.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::bridge::{JoinPhase, JoinResult, PhaseState};
use cxh_wire::discovery::DiscoveryDocument;
use cxh_wire::oidc::{AccessTokenClaims, IdTokenClaims};
use cxh_wire::registration::RegistrationResponse;
use time::format_description::well_known::Rfc3339;

use crate::attestation::{attest_keys, AttestationOutcome};
use crate::config::BridgeConfig;
use crate::csr::build_device_csr;
use crate::discovery::{discover, upn_domain};
use crate::error::{CloudCleanup, JoinError};
use crate::journal::{key_thumbprint, PendingRegistration};
use crate::keys::{KeyError, KeyProvider, KeyPurpose, ProviderKey};
use crate::recovery::{PlannedJoin, ANSWER_FILE, PLAN_FILE};
use crate::registration::{
    attach_attestation, build_request, delete_device, device_url, register, DeviceFacts,
    RegistrationError,
};
use crate::secret::Secret;
use crate::store::{
    check_certificate, CertificateError, CheckedCertificate, JoinInfo, KeyFacts, MachineStore,
    StagedJoin, StoreError, TenantFacts, UserFacts,
};

/// Who is joining the device, from a token the bridge has validated.
#[derive(Debug, Clone)]
pub struct JoinIdentity {
    /// Presented to DRS as the bearer.
    pub bearer: Secret,
    pub tenant_id: String,
    pub tenant_display_name: Option<String>,
    pub upn: String,
    pub object_id: String,
    pub sid: Option<String>,
    /// The validated claims, cached in join-info.json.
    pub claims: serde_json::Value,
}

impl JoinIdentity {
    /// The interactive join: the id_token the page received (aud = DRS client id).
    pub fn from_id_token(raw: &str, claims: &IdTokenClaims) -> Self {
        JoinIdentity {
            bearer: Secret::new(raw),
            tenant_id: claims.tid.clone(),
            tenant_display_name: Some(claims.tenant_display_name.clone()).filter(|n| !n.is_empty()),
            upn: claims.upn.clone(),
            object_id: claims.oid.clone(),
            sid: Some(claims.sid.clone()),
            claims: serde_json::to_value(claims).unwrap_or_default(),
        }
    }

    /// The scripted join: an access token for the DRS resource.
    pub fn from_access_token(raw: &str, claims: &AccessTokenClaims) -> Self {
        JoinIdentity {
            bearer: Secret::new(raw),
            tenant_id: claims.tid.clone(),
            tenant_display_name: None,
            upn: claims.upn.clone(),
            object_id: claims.oid.clone(),
            sid: None,
            claims: serde_json::to_value(claims).unwrap_or_default(),
        }
    }
}

/// What a join needs from its process.
#[derive(Clone)]
pub struct JoinContext {
    pub http: reqwest::Client,
    pub config: BridgeConfig,
    pub keys: Arc<dyn KeyProvider>,
    pub store: MachineStore,
}

/// Receives `Started`/`Completed` for each phase as it happens.
pub type Progress<'a> = dyn FnMut(JoinPhase, PhaseState) + Send + 'a;

/// The two keys of a join.
struct JoinKeys {
    device: Arc<dyn ProviderKey>,
    transport: Arc<dyn ProviderKey>,
    container_id: String,
}

/// The device's registration device id, if it is joined (readable join info or not).
pub fn already_joined(store: &MachineStore) -> Option<String> {
    if !store.is_joined() {
        return None;
    }
    let device_id = store
        .load_join_info()
        .ok()
        .flatten()
        .map(|info| info.device_id);
    Some(device_id.unwrap_or_else(|| "unknown".to_string()))
}

/// Run the whole join. On error nothing of this join remains in the store.
pub async fn run_join(
    ctx: &JoinContext,
    identity: &JoinIdentity,
    progress: &mut Progress<'_>,
) -> Result<JoinResult, JoinError> {
    if let Some(device_id) = already_joined(&ctx.store) {
        return Err(JoinError::AlreadyJoined(device_id));
    }
    let domain = upn_domain(&identity.upn)?;
    // A required TPM that is not there must stop the join before the cloud hears of it.
    blocking(ctx.keys.clone(), |provider| provider.check_available()).await?;

    phase_start(JoinPhase::Discovering, progress).await?;
    let discovery = discover(&ctx.http, &ctx.config.drs, &domain).await?;
    progress(JoinPhase::Discovering, PhaseState::Completed);

    phase_start(JoinPhase::CreatingKeys, progress).await?;
    let staged = ctx
        .store
        .begin_join()
        .map_err(|e| store_error(JoinPhase::CreatingKeys, e))?;
    let keys = create_keys(ctx.keys.clone()).await?;
    persist_keys(&staged, &keys)?;
    progress(JoinPhase::CreatingKeys, PhaseState::Completed);

    phase_start(JoinPhase::BuildingRequest, progress).await?;
    let csr = build_csr(keys.device.clone()).await?;
    let join_endpoint = &discovery.device_join_service.join_endpoint;
    let attestation = attest_keys(
        &ctx.http,
        ctx.keys.clone(),
        join_endpoint,
        &identity.bearer,
        keys.transport.clone(),
        keys.device.clone(),
        &csr,
    )
    .await;
    let facts = DeviceFacts {
        target_domain: ctx.config.drs.host_str().unwrap_or_default(),
        os_version: &ctx.config.host.os_version,
        device_display_name: &ctx.config.host.device_name,
    };
    let mut request = build_request(&csr, keys.transport.public_key(), &facts);
    if let Some(attestation) = &attestation.statement {
        attach_attestation(&mut request, attestation).map_err(JoinError::KeyCreation)?;
    }
    progress(JoinPhase::BuildingRequest, PhaseState::Completed);

    if crate::shutdown::stop_requested() {
        return Err(JoinError::Stopped(JoinPhase::Registering));
    }
    progress(JoinPhase::Registering, PhaseState::Started);
    // Before the POST: the plan, for finishing the join if the process dies after the answer.
    let plan = planned_join(ctx, identity, &discovery, &keys, &attestation);
    let plan_json =
        serde_json::to_vec_pretty(&plan).map_err(|e| JoinError::Internal(e.to_string()))?;
    staged
        .write_record(PLAN_FILE, &plan_json)
        .map_err(|e| store_error(JoinPhase::Registering, e))?;
    // Before the POST: what an administrator needs if its outcome is never learnt.
    let pending = PendingRegistration {
        device_name: ctx.config.host.device_name.clone(),
        key_thumbprint: key_thumbprint(keys.device.public_key()),
        started_at: time::OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default(),
        join_endpoint: join_endpoint.clone(),
    };
    crate::journal::record(&ctx.store, &pending).map_err(|source| {
        let path = ctx.store.root().join(crate::journal::JOURNAL_FILE);
        store_error(
            JoinPhase::Registering,
            StoreError::Io {
                action: "writing",
                path: path.display().to_string(),
                source,
            },
        )
    })?;
    crate::pause::point("registering").await;
    // The last safe point: after the POST the tenant holds a device object.
    if crate::shutdown::stop_requested() {
        crate::journal::clear(&ctx.store);
        return Err(JoinError::Stopped(JoinPhase::Registering));
    }
    let response = match register(&ctx.http, join_endpoint, &identity.bearer, &request).await {
        Ok(response) => response,
        Err(e) => {
            // A refusal is an answer: nothing was created. Anything else may have created it.
            if matches!(e, RegistrationError::Rejected { .. }) {
                crate::journal::clear(&ctx.store);
            }
            return Err(e.into());
        }
    };
    crate::pause::point("registered").await;
    // The answer, on disk before anything else: a kill from here on is recovered.
    let saved = serde_json::to_vec_pretty(&response)
        .map_err(|e| StoreError::BadJoinInfo(e.to_string()))
        .and_then(|json| staged.write_record(ANSWER_FILE, &json));
    if let Err(e) = saved {
        // Not fatal: the join goes on, only a kill now would not be recoverable.
        tracing::warn!(error = %e, "could not save the registration answer");
    }
    progress(JoinPhase::Registering, PhaseState::Completed);

    // From here on the tenant holds a device object: a failure must take it back out.
    match finish_join(&plan, staged, &response, &keys, progress).await {
        Ok(info) => {
            crate::pause::point("committed").await;
            crate::journal::clear(&ctx.store);
            tracing::info!(device_id = %info.device_id, thumbprint = %info.thumbprint, "device joined");
            Ok(join_result(&info))
        }
        Err(error) => {
            let cloud = undo_registration(ctx, join_endpoint, &identity.bearer, &response).await;
            if matches!(cloud, CloudCleanup::Removed { .. }) {
                crate::journal::clear(&ctx.store);
            }
            Err(JoinError::AfterRegistration {
                source: Box::new(error),
                cloud,
            })
        }
    }
}

/// A phase begins: stop first if the process is stopping (only before the POST), then
/// report it, then the phase's pause point.
async fn phase_start(phase: JoinPhase, progress: &mut Progress<'_>) -> Result<(), JoinError> {
    if crate::shutdown::stop_requested() {
        return Err(JoinError::Stopped(phase));
    }
    progress(phase, PhaseState::Started);
    crate::pause::point(phase.as_str()).await;
    Ok(())
}

/// The phases after DRS answered: install the certificate, write the join info, commit.
/// On error the staging dir is dropped (removed) before this returns.
async fn finish_join(
    plan: &PlannedJoin,
    staged: StagedJoin,
    response: &RegistrationResponse,
    keys: &JoinKeys,
    progress: &mut Progress<'_>,
) -> Result<JoinInfo, JoinError> {
    progress(JoinPhase::InstallingCertificate, PhaseState::Started);
    crate::pause::point(JoinPhase::InstallingCertificate.as_str()).await;
    let certificate = install_certificate(&staged, response, keys.device.as_ref())?;
    progress(JoinPhase::InstallingCertificate, PhaseState::Completed);

    progress(JoinPhase::SavingJoinInfo, PhaseState::Started);
    crate::pause::point(JoinPhase::SavingJoinInfo.as_str()).await;
    let info = plan.join_info(&certificate);
    staged
        .write_join_info(&info)
        .map_err(|e| store_error(JoinPhase::SavingJoinInfo, e))?;
    staged
        .commit()
        .map_err(|e| store_error(JoinPhase::SavingJoinInfo, e))?;
    progress(JoinPhase::SavingJoinInfo, PhaseState::Completed);
    Ok(info)
}

/// Best effort: DELETE the device object the registration created, with the same bearer.
/// The device id is the certificate's CN, read without the checks that may have refused it.
async fn undo_registration(
    ctx: &JoinContext,
    join_endpoint: &str,
    bearer: &Secret,
    response: &RegistrationResponse,
) -> CloudCleanup {
    let Some(device_id) = crate::recovery::registered_device_id(response) else {
        tracing::error!("a join failed after registration and the device id is unknown: the device object remains in the tenant");
        return CloudCleanup::UnknownDevice;
    };
    let outcome = match device_url(join_endpoint, &device_id) {
        Ok(url) => delete_device(&ctx.http, url, Some(bearer)).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            tracing::warn!(%device_id, "a join failed after registration; the device object was removed again");
            CloudCleanup::Removed { device_id }
        }
        Err(e) => {
            tracing::error!(%device_id, error = %e, "a join failed after registration; the device object could not be removed");
            CloudCleanup::NotRemoved {
                device_id,
                reason: e.to_string(),
            }
        }
    }
}

/// A store failure in a phase; "already joined" stays its own answer.
fn store_error(phase: JoinPhase, error: StoreError) -> JoinError {
    match error {
        StoreError::AlreadyJoined => JoinError::AlreadyJoined("unknown".to_string()),
        source => JoinError::Store { phase, source },
    }
}

/// Run a provider call off the async workers: key generation is CPU-bound and TPM calls block.
async fn blocking<T: Send + 'static>(
    provider: Arc<dyn KeyProvider>,
    f: impl FnOnce(&dyn KeyProvider) -> Result<T, KeyError> + Send + 'static,
) -> Result<T, JoinError> {
    tokio::task::spawn_blocking(move || f(provider.as_ref()))
        .await
        .map_err(|e| JoinError::Internal(format!("key task failed: {e}")))?
        .map_err(JoinError::KeyCreation)
}

async fn create_keys(provider: Arc<dyn KeyProvider>) -> Result<JoinKeys, JoinError> {
    let (device, transport) = blocking(provider, |provider| {
        let device = provider.create_key(KeyPurpose::Device)?;
        let transport = provider.create_key(KeyPurpose::Transport)?;
        Ok((device, transport))
    })
    .await?;
    Ok(JoinKeys {
        device: Arc::from(device),
        transport: Arc::from(transport),
        container_id: uuid::Uuid::new_v4().to_string(),
    })
}

/// The CSR, signed by the device key (inside the TPM for a TPM provider).
async fn build_csr(device: Arc<dyn ProviderKey>) -> Result<Vec<u8>, JoinError> {
    tokio::task::spawn_blocking(move || build_device_csr(device.as_ref()))
        .await
        .map_err(|e| JoinError::Internal(format!("CSR task failed: {e}")))?
        .map_err(JoinError::from)
}

fn persist_keys(staged: &StagedJoin, keys: &JoinKeys) -> Result<(), JoinError> {
    for key in [&keys.device, &keys.transport] {
        let blob = key.to_blob().map_err(JoinError::KeyCreation)?;
        staged
            .write_key_blob(key.purpose(), &blob)
            .map_err(|e| store_error(JoinPhase::CreatingKeys, e))?;
    }
    Ok(())
}

/// Accept the certificate only if it certifies our device key under a device id.
fn install_certificate(
    staged: &StagedJoin,
    response: &RegistrationResponse,
    device_key: &dyn ProviderKey,
) -> Result<CheckedCertificate, JoinError> {
    let refused = |e: CertificateError| JoinError::CertificateInstall(StoreError::Certificate(e));
    let der = STANDARD
        .decode(response.certificate.raw_body.trim())
        .map_err(|e| refused(CertificateError::Encoding(e.to_string())))?;
    let checked = check_certificate(
        &der,
        device_key.public_key(),
        &response.certificate.thumbprint,
    )
    .map_err(refused)?;
    staged
        .write_certificate(&checked)
        .map_err(JoinError::CertificateInstall)?;
    Ok(checked)
}

/// Everything the join info holds except what the certificate says, known before the POST.
fn planned_join(
    ctx: &JoinContext,
    identity: &JoinIdentity,
    discovery: &DiscoveryDocument,
    keys: &JoinKeys,
    attestation: &AttestationOutcome,
) -> PlannedJoin {
    PlannedJoin {
        device_name: ctx.config.host.device_name.clone(),
        os_version: ctx.config.host.os_version.clone(),
        tenant: TenantFacts {
            id: identity.tenant_id.clone(),
            display_name: tenant_display_name(identity, discovery),
        },
        user: UserFacts {
            upn: identity.upn.clone(),
            object_id: identity.object_id.clone(),
            sid: identity.sid.clone(),
        },
        token_claims: identity.claims.clone(),
        discovery: discovery.clone(),
        authority: ctx
            .config
            .authority
            .as_str()
            .trim_end_matches('/')
            .to_string(),
        drs: ctx.config.drs.as_str().trim_end_matches('/').to_string(),
        key: KeyFacts {
            provider: ctx.keys.name().to_string(),
            tpm_protected: ctx.keys.tpm_protected(),
            container_id: keys.container_id.clone(),
            tpm_tcti: ctx.keys.tpm_tcti(),
            software_fallback_reason: ctx.keys.fallback_reason(),
            transport_key_attested: attestation.facts.transport_key_attested,
            attestation: attestation.facts.clone(),
        },
        // Absolute, so a later command run from another directory finds it.
        ca_file: ctx
            .config
            .ca_file
            .as_deref()
            .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())),
    }
}

/// The id_token names the tenant; an access token does not, so fall back to discovery.
fn tenant_display_name(identity: &JoinIdentity, discovery: &DiscoveryDocument) -> String {
    identity
        .tenant_display_name
        .clone()
        .or_else(|| {
            discovery
                .tenant_info
                .as_ref()
                .map(|t| t.display_name.clone())
        })
        .unwrap_or_else(|| identity.tenant_id.clone())
}

pub fn join_result(info: &JoinInfo) -> JoinResult {
    JoinResult {
        device_id: info.device_id.clone(),
        thumbprint: info.thumbprint.clone(),
        tenant_id: info.tenant.id.clone(),
        tenant_display_name: info.tenant.display_name.clone(),
        device_name: info.device_name.clone(),
        user_upn: info.user.upn.clone(),
        key_provider: info.key.provider.clone(),
        tpm_protected: info.key.tpm_protected,
        auto_logon_prepared: false,
    }
}
