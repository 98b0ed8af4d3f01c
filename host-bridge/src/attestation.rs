//! Key attestation for a join: prove to DRS that the device and transport keys are in a TPM
//! whose endorsement key (EK) chains to a TPM maker's root.
//!
//! Windows gets an AIK certificate from a privacy CA (the EK certificate and TPM2_MakeCredential
//! round trip happen there). We have no privacy CA, so DRS plays that part itself (our design,
//! wire in `cxh_wire::key_attestation`):
//! 1. the TPM provider creates a fresh AK and reads the EK certificate from NV;
//! 2. `POST {DRS}/EnrollmentServer/attestation/challenge?api-version=1.0` with both; DRS checks
//!    the EK certificate against its trusted TPM roots and answers MakeCredential(EK, secret,
//!    name(AK));
//! 3. TPM2_ActivateCredential releases the secret, which only that TPM with that AK can do;
//! 4. the AK certifies the transport and device keys with qualifying data
//!    `SHA-256(secret || SHA-256(CSR))`, sent as `AttestationData`.
//!
//! A failed step does not stop the join: the registration goes without `AttestationData`
//! (the tenant decides whether it accepts unattested devices) and the reason is kept.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::key_attestation::{
    AttestationChallengeRequest, AttestationChallengeResponse, KeyAttestation,
    CHALLENGE_API_VERSION, CHALLENGE_PATH,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::keys::{KeyError, KeyProvider, ProviderKey};
use crate::registration::refusal;
use crate::secret::Secret;

/// What the join info records about the attestation sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationFacts {
    /// Whether the registration carried a TPM certification of the device key.
    #[serde(default)]
    pub device_key_attested: bool,
    /// ... and of the transport key.
    #[serde(default)]
    pub transport_key_attested: bool,
    /// The EK certificate chain DRS verified before its challenge, leaf first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ek_chain: Vec<String>,
    /// Why the keys are not attested although they are in a TPM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_attested_reason: Option<String>,
}

/// The statement to send (if any) and what to record.
#[derive(Debug, Default)]
pub struct AttestationOutcome {
    pub statement: Option<KeyAttestation>,
    pub facts: AttestationFacts,
}

/// `{origin of the join endpoint}/EnrollmentServer/attestation/challenge?api-version=1.0`.
pub fn challenge_url(join_endpoint: &str) -> Option<Url> {
    let mut url = Url::parse(join_endpoint).ok()?.join(CHALLENGE_PATH).ok()?;
    url.query_pairs_mut()
        .append_pair("api-version", CHALLENGE_API_VERSION);
    Some(url)
}

/// Run the attestation exchange; never fails the join (see the module doc).
pub async fn attest_keys(
    http: &reqwest::Client,
    provider: Arc<dyn KeyProvider>,
    join_endpoint: &str,
    bearer: &Secret,
    transport: Arc<dyn ProviderKey>,
    device: Arc<dyn ProviderKey>,
    csr: &[u8],
) -> AttestationOutcome {
    match exchange(
        http,
        provider,
        join_endpoint,
        bearer,
        transport,
        device,
        csr,
    )
    .await
    {
        Ok(Some((statement, ek_chain))) => AttestationOutcome {
            statement: Some(statement),
            facts: AttestationFacts {
                device_key_attested: true,
                transport_key_attested: true,
                ek_chain,
                not_attested_reason: None,
            },
        },
        Ok(None) => AttestationOutcome::default(),
        Err(reason) => {
            tracing::warn!(%reason, "the keys are registered without TPM attestation");
            AttestationOutcome {
                statement: None,
                facts: AttestationFacts {
                    not_attested_reason: Some(reason),
                    ..Default::default()
                },
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    provider: Arc<dyn KeyProvider>,
    f: impl FnOnce(&dyn KeyProvider) -> Result<T, KeyError> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(move || f(provider.as_ref()))
        .await
        .map_err(|e| format!("TPM task failed: {e}"))?
        .map_err(|e| e.to_string())
}

async fn exchange(
    http: &reqwest::Client,
    provider: Arc<dyn KeyProvider>,
    join_endpoint: &str,
    bearer: &Secret,
    transport: Arc<dyn ProviderKey>,
    device: Arc<dyn ProviderKey>,
    csr: &[u8],
) -> Result<Option<(KeyAttestation, Vec<String>)>, String> {
    let Some(identity) = blocking(provider.clone(), |p| p.attestation_identity()).await? else {
        return Ok(None);
    };
    let challenge = ask_challenge(
        http,
        join_endpoint,
        bearer,
        &identity.ak_public,
        &identity.ek_certificate,
    )
    .await?;
    let credential_blob = STANDARD
        .decode(challenge.credential_blob.trim())
        .map_err(|_| "DRS's CredentialBlob is not base64".to_string())?;
    let encrypted_secret = STANDARD
        .decode(challenge.encrypted_secret.trim())
        .map_err(|_| "DRS's EncryptedSecret is not base64".to_string())?;
    let identity = Arc::new(identity);
    let id = identity.clone();
    let secret = blocking(provider.clone(), move |p| {
        p.activate_credential(&id, &credential_blob, &encrypted_secret)
    })
    .await?;
    let mut hasher = Sha256::new();
    hasher.update(&secret);
    hasher.update(Sha256::digest(csr));
    let qualifying = hasher.finalize().to_vec();
    let statement = blocking(provider, move |p| {
        p.certify_keys(&identity, transport.as_ref(), device.as_ref(), &qualifying)
    })
    .await?;
    Ok(Some((statement, challenge.ek_chain)))
}

async fn ask_challenge(
    http: &reqwest::Client,
    join_endpoint: &str,
    bearer: &Secret,
    ak_public: &[u8],
    ek_certificate: &[u8],
) -> Result<AttestationChallengeResponse, String> {
    let url = challenge_url(join_endpoint)
        .ok_or_else(|| format!("no challenge URL for the join endpoint {join_endpoint:?}"))?;
    let request = AttestationChallengeRequest {
        ek_certificate: STANDARD.encode(ek_certificate),
        ak_public: STANDARD.encode(ak_public),
    };
    let response = crate::http::send(
        http.post(url.clone())
            .bearer_auth(bearer.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&request),
    )
    .await
    .map_err(|e| format!("the attestation challenge at {url} could not be asked: {e}"))?;
    let status = response.status();
    let body = crate::http::body(response)
        .await
        .map_err(|e| format!("the attestation challenge at {url} did not answer: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "DRS refused the attestation challenge: {}",
            refusal(status.as_u16(), &body)
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|e| format!("DRS's attestation challenge is malformed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_sits_on_the_join_endpoints_origin() {
        let url = challenge_url("https://drs.example:8443/EnrollmentServer/device/?x=1").unwrap();
        assert_eq!(
            url.as_str(),
            "https://drs.example:8443/EnrollmentServer/attestation/challenge?api-version=1.0"
        );
        assert!(challenge_url("not a url").is_none());
    }
}
