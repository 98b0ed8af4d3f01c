//! Device registration (MS-DVRE): build the request Windows sends and POST it to the join
//! endpoint from discovery, `{JoinEndpoint}?api-version=2.0`, with the user's bearer token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::consts::REGISTRATION_API_VERSION;
use cxh_wire::key_attestation::KeyAttestation;
use cxh_wire::oidc::OAuthError;
use cxh_wire::registration::{
    join_type, CertificateRequest, DrsError, RegistrationAttributes, RegistrationRequest,
    RegistrationResponse,
};
use cxh_wire::transport_key;
use rsa::RsaPublicKey;
use thiserror::Error;
use url::Url;

use crate::http::{self, send, NetworkError};
use crate::keys::{public_parts, KeyError};
use crate::secret::Secret;

/// DRS error bodies can be long HTML pages from a proxy: keep reasons short.
const MAX_REASON_CHARS: usize = 300;

#[derive(Debug, Error)]
pub enum RegistrationError {
    #[error("the join endpoint {0:?} from discovery is not a valid URL")]
    BadEndpoint(String),
    #[error("the registration service at {url} could not be reached: {cause}")]
    Unreachable {
        url: String,
        #[source]
        cause: NetworkError,
    },
    #[error("the registration service refused the request (HTTP {status}, {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the registration response is not of the expected shape: {0}")]
    BadResponse(String),
}

/// The facts that go into a registration request besides the keys.
#[derive(Debug, Clone)]
pub struct DeviceFacts<'a> {
    /// Host of the DRS the request goes to (`TargetDomain`).
    pub target_domain: &'a str,
    pub os_version: &'a str,
    pub device_display_name: &'a str,
}

/// Build the request body: CSR, RSA1 transport key blob, and the attributes Windows sends.
pub fn build_request(
    csr_der: &[u8],
    transport_key: &RsaPublicKey,
    facts: &DeviceFacts<'_>,
) -> RegistrationRequest {
    let (exponent, modulus) = public_parts(transport_key);
    RegistrationRequest {
        certificate_request: CertificateRequest {
            kind: "pkcs10".to_string(),
            data: STANDARD.encode(csr_der),
        },
        transport_key: STANDARD.encode(transport_key::encode(&exponent, &modulus)),
        target_domain: facts.target_domain.to_string(),
        device_type: "Windows".to_string(),
        os_version: facts.os_version.to_string(),
        device_display_name: facts.device_display_name.to_string(),
        join_type: join_type::AZURE_AD_JOIN,
        aik_certificate: None,
        attestation_data: None,
        attributes: RegistrationAttributes {
            reuse_device: Some(true),
            return_client_sid: Some(true),
            shared_device: Some(false),
        },
    }
}

/// Carry the TPM's certification of the transport key as `AttestationData` (base64 of the
/// KeyAttestationStatement, see `cxh_wire::key_attestation`). `AikCertificate` stays absent:
/// without a privacy CA there is no AIK certificate, and the AK's public area travels inside
/// the statement instead.
pub fn attach_attestation(
    request: &mut RegistrationRequest,
    attestation: &KeyAttestation,
) -> Result<(), KeyError> {
    let encoded = attestation
        .encode()
        .map_err(|e| KeyError::Attestation(e.to_string()))?;
    request.attestation_data = Some(STANDARD.encode(encoded));
    request.aik_certificate = None;
    Ok(())
}

/// `{JoinEndpoint}?api-version=2.0`, keeping any query the endpoint already has.
pub fn registration_url(join_endpoint: &str) -> Result<Url, RegistrationError> {
    let mut url = Url::parse(join_endpoint)
        .map_err(|_| RegistrationError::BadEndpoint(join_endpoint.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RegistrationError::BadEndpoint(join_endpoint.to_string()));
    }
    url.query_pairs_mut()
        .append_pair("api-version", REGISTRATION_API_VERSION);
    Ok(url)
}

/// POST the request; a refusal carries the service's own code and message.
pub async fn register(
    http: &reqwest::Client,
    join_endpoint: &str,
    bearer: &Secret,
    request: &RegistrationRequest,
) -> Result<RegistrationResponse, RegistrationError> {
    let url = registration_url(join_endpoint)?;
    let request_id = uuid::Uuid::new_v4();
    tracing::info!(%url, client_request_id = %request_id, "registering the device");
    let unreachable = |cause: NetworkError| RegistrationError::Unreachable {
        url: url.to_string(),
        cause,
    };
    let response = send(
        http.post(url.clone())
            .bearer_auth(bearer.expose())
            .header("client-request-id", request_id.to_string())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(request),
    )
    .await
    .map_err(unreachable)?;
    let status = response.status();
    let body = http::body(response).await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(refusal(status.as_u16(), &body));
    }
    serde_json::from_slice(&body).map_err(|e| RegistrationError::BadResponse(e.to_string()))
}

/// `DELETE {drs}/EnrollmentServer/device/{deviceId}`: remove the device object (leave).
pub async fn unregister(
    http: &reqwest::Client,
    drs: &Url,
    device_id: &str,
    bearer: Option<&Secret>,
) -> Result<(), RegistrationError> {
    let url = crate::config::endpoint(drs, &format!("EnrollmentServer/device/{device_id}"));
    let url = Url::parse(&url).map_err(|_| RegistrationError::BadEndpoint(url.clone()))?;
    delete_device(http, url, bearer).await
}

/// `{JoinEndpoint}{deviceId}`: the device object under the join endpoint discovery named
/// (`…/EnrollmentServer/device/` + id), the object a registration there created.
pub fn device_url(join_endpoint: &str, device_id: &str) -> Result<Url, RegistrationError> {
    let bad = || RegistrationError::BadEndpoint(join_endpoint.to_string());
    let mut url = Url::parse(join_endpoint).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || uuid::Uuid::parse_str(device_id).is_err() {
        return Err(bad());
    }
    url.set_query(None);
    let path = format!("{}/{device_id}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

/// DELETE one device object; any 2xx is success, a refusal carries the service's reason.
pub async fn delete_device(
    http: &reqwest::Client,
    url: Url,
    bearer: Option<&Secret>,
) -> Result<(), RegistrationError> {
    let mut request = http
        .delete(url.clone())
        .header("client-request-id", uuid::Uuid::new_v4().to_string())
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer.expose());
    }
    let unreachable = |cause: NetworkError| RegistrationError::Unreachable {
        url: url.to_string(),
        cause,
    };
    let response = send(request).await.map_err(unreachable)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = http::body(response).await.map_err(unreachable)?;
    Err(refusal(status.as_u16(), &body))
}

/// Turn an error body into a typed refusal: DRS JSON, else AADSTS JSON, else a short excerpt.
pub fn refusal(status: u16, body: &[u8]) -> RegistrationError {
    if let Ok(drs) = serde_json::from_slice::<DrsError>(body) {
        let code = match drs.subcode {
            Some(sub) if !sub.is_empty() => format!("{}/{sub}", drs.code),
            _ => drs.code,
        };
        return RegistrationError::Rejected {
            status,
            code,
            message: drs.message,
        };
    }
    if let Ok(oauth) = serde_json::from_slice::<OAuthError>(body) {
        return RegistrationError::Rejected {
            status,
            code: oauth.error,
            message: oauth.error_description,
        };
    }
    let excerpt: String = String::from_utf8_lossy(body)
        .chars()
        .take(MAX_REASON_CHARS)
        .collect();
    let message = if excerpt.trim().is_empty() {
        "no error body".to_string()
    } else {
        excerpt
    };
    RegistrationError::Rejected {
        status,
        code: "http_error".to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_is_appended_to_the_join_endpoint() {
        let url =
            registration_url("https://enterpriseregistration.windows.net/EnrollmentServer/device/")
                .unwrap();
        assert_eq!(
            url.as_str(),
            "https://enterpriseregistration.windows.net/EnrollmentServer/device/?api-version=2.0"
        );
        assert!(registration_url("not a url").is_err());
    }

    #[test]
    fn the_device_object_sits_under_the_join_endpoint() {
        let id = "7e980ad9-b86d-4306-9425-9ac066f4b3c1";
        let url = device_url("https://drs.example/EnrollmentServer/device/", id).unwrap();
        assert_eq!(
            url.as_str(),
            format!("https://drs.example/EnrollmentServer/device/{id}")
        );
        let url = device_url("https://drs.example/EnrollmentServer/device?x=1", id).unwrap();
        assert_eq!(
            url.as_str(),
            format!("https://drs.example/EnrollmentServer/device/{id}")
        );
        assert!(device_url("https://drs.example/EnrollmentServer/device/", "../x").is_err());
        assert!(device_url("file:///EnrollmentServer/device/", id).is_err());
    }

    #[test]
    fn refusals_keep_the_servers_reason() {
        let drs = br#"{"code":"Forbidden","subcode":"DeviceQuotaExceeded","message":"quota reached","operationId":"x","time":"t"}"#;
        let err = refusal(403, drs);
        assert!(
            matches!(&err, RegistrationError::Rejected { status: 403, code, message }
            if code == "Forbidden/DeviceQuotaExceeded" && message == "quota reached")
        );
        let oauth = br#"{"error":"invalid_grant","error_description":"AADSTS50126: bad password"}"#;
        assert!(err_message(refusal(400, oauth)).contains("AADSTS50126"));
        assert!(err_message(refusal(502, b"")).contains("no error body"));
    }

    fn err_message(err: RegistrationError) -> String {
        err.to_string()
    }
}
