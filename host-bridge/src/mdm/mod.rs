//! MDM enrollment after registration (seed 000 step 5, MS-MDE2): the worker's last act.
//!
//! It applies when the validated id_token carried `mdm_enrollment_url`. The access token for
//! the enrollment service comes from an authorization code: in the browser flow the join web
//! app obtains it silently (`prompt=none`, same origin as the authority, so the `ESTSAUTH`
//! session cookie of the DRS sign-in rides along) and hands the code, never a password, to the
//! bridge in `mdm_grant`; the bridge redeems it at the token endpoint. The retry command
//! (`host-bridge mdm-enroll`) has no browser session, so it signs in with the resource-owner
//! password grant for the MDM application instead.
//!
//! Phases: MdmDiscovering (code -> token, Discover), MdmEnrolling (GetPolicies, management key
//! through the [`KeyProvider`], PKCS#10, RequestSecurityToken), MdmInstallingPolicy (check the
//! certificate against our key, our device id and the CA delivered with it, store certificate,
//! CA, key and policy).

pub mod soap;
pub mod store;

use std::str::FromStr;
use std::sync::Arc;

use cxh_wire::bridge::{JoinPhase, PhaseState};
use cxh_wire::consts::MDM_CLIENT_ID;
use cxh_wire::oidc::{OAuthError, TokenResponse};
use der::{Decode, Encode};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::RsaPublicKey;
use sha1::{Digest, Sha1};
use signature::Verifier;
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::csr::ProviderSigner;
use crate::http::{self, send, NetworkError};
use crate::join::{JoinContext, Progress};
use crate::keys::{KeyError, KeyProvider, KeyPurpose, ProviderKey, KEY_BITS};
use crate::secret::Secret;
use crate::store::{subject_common_name, JoinInfo, StoreError};

/// Why the enrollment failed; the device stays joined.
#[derive(Debug, thiserror::Error)]
pub enum MdmError {
    #[error("no authorization for the MDM enrollment service was handed over (the silent sign-in failed: {0})")]
    NoGrant(String),
    #[error("the MDM access token could not be obtained: {0}")]
    Token(String),
    #[error("{url} could not be reached: {cause}")]
    Unreachable {
        url: String,
        #[source]
        cause: NetworkError,
    },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("the MDM's answer was refused: {0}")]
    Soap(#[from] soap::SoapError),
    #[error("Discover names a {service} outside the enrollment URL's origin ({url}); the access token is not sent there")]
    ForeignService { service: &'static str, url: String },
    #[error("the MDM asks for RSA keys of at least {0} bits; this device makes {KEY_BITS}")]
    KeyPolicy(u32),
    #[error("the management key could not be created: {0}")]
    Key(#[from] KeyError),
    #[error("the management certificate request could not be built: {0}")]
    Csr(String),
    #[error("the management certificate was refused: {0}")]
    Certificate(String),
    #[error("the enrollment could not be stored: {0}")]
    Store(#[from] StoreError),
}

impl MdmError {
    /// The MDM phase this error belongs to.
    pub fn phase(&self) -> JoinPhase {
        match self {
            MdmError::NoGrant(_) | MdmError::Token(_) | MdmError::ForeignService { .. } => {
                JoinPhase::MdmDiscovering
            }
            MdmError::Certificate(_) | MdmError::Store(_) => JoinPhase::MdmInstallingPolicy,
            _ => JoinPhase::MdmEnrolling,
        }
    }
}

/// What the page handed over for the enrollment.
#[derive(Debug, Clone)]
pub struct MdmGrant {
    pub code: Option<Secret>,
    pub redirect_uri: String,
    pub opaque_blob: Option<String>,
}

/// How the enrollment gets its access token.
pub enum TokenSource {
    /// An authorization code from the browser's SSO session.
    Code { code: Secret, redirect_uri: String },
    /// The retry command's sign-in.
    Password { username: String, password: Secret },
}

/// The MDM enrollment URL of the join's id_token, when MDM applies.
pub fn enrollment_url(claims: &serde_json::Value) -> Option<String> {
    claims
        .get("mdm_enrollment_url")
        .and_then(|v| v.as_str())
        .filter(|u| !u.is_empty())
        .map(str::to_string)
}

/// The enrollment service as an OAuth resource: its origin with a trailing slash (seed 001
/// shows `resource=https://manage-beta.microsoft.com/`).
pub fn resource_of(enrollment_url: &str) -> Result<String, MdmError> {
    let url = url::Url::parse(enrollment_url)
        .map_err(|e| MdmError::Token(format!("the enrollment URL is invalid: {e}")))?;
    Ok(format!("{}/", url.origin().ascii_serialization()))
}

/// Why a pending enrollment is pending while its phases run: what status shows if the process
/// dies before it ends (a crash, a kill), so the user knows to run `mdm-enroll`.
const INTERRUPTED: &str =
    "the MDM enrollment was interrupted before it finished: run `host-bridge mdm-enroll` to finish it";

/// Run the three MDM phases for a committed join. What a retry needs is written first (so a
/// killed enrollment leaves it too), replaced by the error on failure and removed on success.
pub async fn enroll(
    ctx: &JoinContext,
    info: &JoinInfo,
    source: TokenSource,
    opaque_blob: Option<&str>,
    progress: &mut Progress<'_>,
) -> Result<store::EnrollmentInfo, MdmError> {
    let url = enrollment_url(&info.token_claims)
        .ok_or_else(|| MdmError::NoGrant("the join's token names no MDM".into()))?;
    let pending = |reason: String| store::PendingEnrollment {
        enrollment_url: url.clone(),
        opaque_blob: opaque_blob.map(str::to_string),
        reason,
    };
    if let Err(e) = store::save_pending(&ctx.store, &pending(INTERRUPTED.to_string())) {
        tracing::warn!(error = %e, "could not remember the enrollment for a retry");
    }
    let outcome = run_phases(ctx, info, &url, source, opaque_blob, progress).await;
    if let Err(error) = &outcome {
        if let Err(e) = store::save_pending(&ctx.store, &pending(error.to_string())) {
            tracing::warn!(error = %e, "could not remember the failed enrollment for a retry");
        }
    }
    outcome
}

async fn run_phases(
    ctx: &JoinContext,
    info: &JoinInfo,
    url: &str,
    source: TokenSource,
    opaque_blob: Option<&str>,
    progress: &mut Progress<'_>,
) -> Result<store::EnrollmentInfo, MdmError> {
    use crate::pause::{point, MDM_POINTS};
    progress(JoinPhase::MdmDiscovering, PhaseState::Started);
    point(MDM_POINTS[0]).await;
    let token = access_token(ctx, info, url, source).await?;
    let facts = soap::DeviceFacts {
        upn: &info.user.upn,
        os_version: &info.os_version,
        device_name: &info.device_name,
        device_id: &info.device_id,
    };
    let discovered = discover(&ctx.http, url, &facts).await?;
    progress(JoinPhase::MdmDiscovering, PhaseState::Completed);

    progress(JoinPhase::MdmEnrolling, PhaseState::Started);
    point(MDM_POINTS[1]).await;
    let policy_xml =
        soap::get_policies_request(&new_id(), &discovered.policy_service_url, token.expose());
    let policy = soap::parse_get_policies_response(
        &post_soap(&ctx.http, &discovered.policy_service_url, policy_xml).await?,
    )?;
    if policy.minimal_key_length > KEY_BITS as u32 {
        return Err(MdmError::KeyPolicy(policy.minimal_key_length));
    }
    let key = create_key(ctx.keys.clone()).await?;
    let csr = management_csr(key.as_ref(), &info.device_id)?;
    let rst = soap::enroll_request(
        &new_id(),
        &discovered.enrollment_service_url,
        token.expose(),
        &csr,
        &facts,
        opaque_blob,
    );
    let answer = post_soap(&ctx.http, &discovered.enrollment_service_url, rst).await?;
    let doc_xml = soap::parse_enroll_response(&answer)?;
    point(MDM_POINTS[2]).await;
    progress(JoinPhase::MdmEnrolling, PhaseState::Completed);

    progress(JoinPhase::MdmInstallingPolicy, PhaseState::Started);
    point(MDM_POINTS[3]).await;
    let doc = soap::parse_provisioning_doc(&doc_xml)?;
    let (thumbprint, not_after_unix) =
        check_management_certificate(&doc, key.public_key(), &info.device_id)?;
    let enrollment = store::EnrollmentInfo {
        enrollment_url: url.to_string(),
        enrollment_service_url: discovered.enrollment_service_url.clone(),
        provider_id: doc.provider_id.clone(),
        server_url: doc.server_url.clone(),
        thumbprint,
        not_after_unix,
        policies: doc.policies.clone(),
        enrolled_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    let key_blob = key.to_blob()?;
    store::save(
        &ctx.store,
        &store::EnrollmentFiles {
            key_blob: &key_blob,
            cert_der: &doc.client_cert_der,
            ca_der: &doc.ca_cert_der,
            provisioning_doc: &doc_xml,
            info: &enrollment,
        },
    )?;
    progress(JoinPhase::MdmInstallingPolicy, PhaseState::Completed);
    tracing::info!(thumbprint = %enrollment.thumbprint, "device enrolled in MDM");
    Ok(enrollment)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The access token for the enrollment service (never logged).
async fn access_token(
    ctx: &JoinContext,
    info: &JoinInfo,
    url: &str,
    source: TokenSource,
) -> Result<Secret, MdmError> {
    let resource = resource_of(url)?;
    let token_url = format!("{}/{}/oauth2/token", info.authority, info.tenant.id);
    let form: Vec<(&str, String)> = match &source {
        TokenSource::Code { code, redirect_uri } => vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.expose().to_string()),
            ("client_id", MDM_CLIENT_ID.into()),
            ("redirect_uri", redirect_uri.clone()),
            ("resource", resource),
        ],
        TokenSource::Password { username, password } => vec![
            ("grant_type", "password".into()),
            ("client_id", MDM_CLIENT_ID.into()),
            ("resource", resource),
            ("username", username.clone()),
            ("password", password.expose().to_string()),
        ],
    };
    let unreachable = |cause: NetworkError| MdmError::Unreachable {
        url: token_url.clone(),
        cause,
    };
    let response = send(ctx.http.post(&token_url).form(&form))
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body = http::body(response).await.map_err(unreachable)?;
    if !status.is_success() {
        let why = serde_json::from_slice::<OAuthError>(&body)
            .map(|e| e.error_description)
            .unwrap_or_else(|_| format!("HTTP {status}"));
        return Err(MdmError::Token(why));
    }
    let token: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| MdmError::Token(e.to_string()))?;
    Ok(Secret::new(token.access_token))
}

/// Probe the discovery URL with GET (MS-MDE2), then POST Discover.
async fn discover(
    http: &reqwest::Client,
    url: &str,
    facts: &soap::DeviceFacts<'_>,
) -> Result<soap::Discovered, MdmError> {
    let unreachable = |cause: NetworkError| MdmError::Unreachable {
        url: url.to_string(),
        cause,
    };
    let probe = send(http.get(url)).await.map_err(unreachable)?;
    if !probe.status().is_success() {
        return Err(MdmError::Status {
            url: url.to_string(),
            status: probe.status().as_u16(),
        });
    }
    let answer = post_soap(http, url, soap::discover_request(&new_id(), url, facts)).await?;
    let discovered = soap::parse_discover_response(&answer)?;
    check_service_origins(url, &discovered)?;
    Ok(discovered)
}

/// POST a SOAP 1.2 message. A success is returned as text (its parser still checks for a
/// fault); an error status is the SOAP fault its body carries, if it parses as one, else the
/// bare status.
async fn post_soap(http: &reqwest::Client, url: &str, xml: String) -> Result<String, MdmError> {
    let unreachable = |cause: NetworkError| MdmError::Unreachable {
        url: url.to_string(),
        cause,
    };
    let response = send(
        http.post(url)
            .header("Content-Type", "application/soap+xml; charset=utf-8")
            .body(xml),
    )
    .await
    .map_err(unreachable)?;
    let status = response.status();
    let text = http::text(response).await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(match soap::fault_in(&text) {
            Some(fault) => MdmError::Soap(fault),
            None => MdmError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            },
        });
    }
    Ok(text)
}

/// The bearer token goes to the policy and enrollment services Discover names: they must be on
/// the enrollment URL's origin (the one the token was issued for, see [`resource_of`]), so a
/// tampered or foreign Discover answer cannot send the token elsewhere.
pub fn check_service_origins(
    enrollment_url: &str,
    discovered: &soap::Discovered,
) -> Result<(), MdmError> {
    let origin_of = |url: &str| url::Url::parse(url).ok().map(|u| u.origin());
    let expected = origin_of(enrollment_url)
        .filter(|o| o.is_tuple())
        .ok_or_else(|| {
            MdmError::Token(format!("the enrollment URL {enrollment_url:?} is invalid"))
        })?;
    for (service, url) in [
        ("EnrollmentPolicyServiceUrl", &discovered.policy_service_url),
        ("EnrollmentServiceUrl", &discovered.enrollment_service_url),
    ] {
        if origin_of(url).as_ref() != Some(&expected) {
            return Err(MdmError::ForeignService {
                service,
                url: url.clone(),
            });
        }
    }
    Ok(())
}

async fn create_key(provider: Arc<dyn KeyProvider>) -> Result<Box<dyn ProviderKey>, MdmError> {
    tokio::task::spawn_blocking(move || provider.create_key(KeyPurpose::MdmEnrollment))
        .await
        .map_err(|e| {
            MdmError::Key(KeyError::Generate {
                purpose: KeyPurpose::MdmEnrollment.as_str(),
                reason: e.to_string(),
            })
        })?
        .map_err(MdmError::Key)
}

/// The PKCS#10 for the management certificate, `CN=<device id>`, signed by the new key.
pub fn management_csr(key: &dyn ProviderKey, device_id: &str) -> Result<Vec<u8>, MdmError> {
    let subject =
        Name::from_str(&format!("CN={device_id}")).map_err(|e| MdmError::Csr(e.to_string()))?;
    let signer = ProviderSigner::new(key);
    let request = RequestBuilder::new(subject, &signer)
        .map_err(|e| MdmError::Csr(e.to_string()))?
        .build::<Signature>()
        .map_err(|e| MdmError::Csr(e.to_string()))?;
    request.to_der().map_err(|e| MdmError::Csr(e.to_string()))
}

/// The management certificate must certify our key, name our device and be signed by the CA
/// certificate delivered in the same provisioning document. That last check is consistency
/// only, not proof of the MDM's identity: a service that forged the certificate would forge
/// its CA along with it. Trust in the enrollment rests on the TLS connection to the enrollment
/// service, which must be on the enrollment URL's origin ([`check_service_origins`]); no MDM
/// CA is pinned. Returns the certificate's thumbprint and expiry.
fn check_management_certificate(
    doc: &soap::ProvisioningDoc,
    key: &RsaPublicKey,
    device_id: &str,
) -> Result<(String, i64), MdmError> {
    let refuse = |why: String| MdmError::Certificate(why);
    let cert = Certificate::from_der(&doc.client_cert_der).map_err(|e| refuse(e.to_string()))?;
    let ca = Certificate::from_der(&doc.ca_cert_der).map_err(|e| refuse(format!("CA: {e}")))?;
    let certified = spki_key(&cert)?;
    if &certified != key {
        return Err(refuse("it does not certify the management key".into()));
    }
    let cn = subject_common_name(&cert).map_err(|e| refuse(e.to_string()))?;
    if !cn.eq_ignore_ascii_case(device_id) {
        return Err(refuse(format!(
            "its subject CN {cn:?} is not the device id"
        )));
    }
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| refuse(e.to_string()))?;
    let signature =
        Signature::try_from(cert.signature.raw_bytes()).map_err(|e| refuse(e.to_string()))?;
    VerifyingKey::<sha2::Sha256>::new(spki_key(&ca)?)
        .verify(&tbs, &signature)
        .map_err(|_| refuse("it is not signed by the CA delivered with it".into()))?;
    let not_after = cert
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs() as i64;
    Ok((
        hex::encode_upper(Sha1::digest(&doc.client_cert_der)),
        not_after,
    ))
}

fn spki_key(cert: &Certificate) -> Result<RsaPublicKey, MdmError> {
    use der::referenced::OwnedToRef;
    RsaPublicKey::try_from(cert.tbs_certificate.subject_public_key_info.owned_to_ref())
        .map_err(|_| MdmError::Certificate("its key is not RSA".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovered(policy: &str, enrollment: &str) -> soap::Discovered {
        soap::Discovered {
            auth_policy: "OAuth".into(),
            policy_service_url: policy.into(),
            enrollment_service_url: enrollment.into(),
        }
    }

    #[test]
    fn the_token_goes_only_to_services_on_the_enrollment_origin() {
        let url = "https://mdm.example:8443/EnrollmentServer/Discovery.svc";
        let same = discovered(
            "https://mdm.example:8443/EnrollmentServer/Policy.svc",
            "https://mdm.example:8443/EnrollmentServer/Enrollment.svc",
        );
        assert!(check_service_origins(url, &same).is_ok());
        for (policy, enrollment, refused) in [
            (
                "https://evil.example/p",
                "https://mdm.example:8443/e",
                "EnrollmentPolicyServiceUrl",
            ),
            (
                "https://mdm.example:8443/p",
                "https://mdm.example/e",
                "EnrollmentServiceUrl",
            ),
            (
                "https://mdm.example:8443/p",
                "http://mdm.example:8443/e",
                "EnrollmentServiceUrl",
            ),
            (
                "not a url",
                "https://mdm.example:8443/e",
                "EnrollmentPolicyServiceUrl",
            ),
        ] {
            let err = check_service_origins(url, &discovered(policy, enrollment)).unwrap_err();
            assert!(
                matches!(&err, MdmError::ForeignService { service, .. } if *service == refused),
                "{err}"
            );
            assert_eq!(err.phase(), JoinPhase::MdmDiscovering);
        }
    }
}
