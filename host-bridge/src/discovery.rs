//! DRS discovery (MS-DVRD): where to register a device of a given domain.
//!
//! `GET {drs}/{domain}/enrollmentserver/contract?api-version=1.2` with
//! `Accept: application/json` (the service answers XML otherwise), where the domain is the
//! UPN suffix of the signed-in user.

use cxh_wire::consts::DISCOVERY_API_VERSION;
use cxh_wire::discovery::DiscoveryDocument;
use thiserror::Error;
use url::Url;

use crate::http::{self, send, NetworkError};

#[derive(Debug, Error)]
pub enum DiscoveryError {
    #[error("the user name {0:?} has no domain part")]
    NoDomain(String),
    #[error("the domain {0:?} is not a valid DNS name")]
    BadDomain(String),
    #[error("the discovery service at {url} could not be reached: {cause}")]
    Unreachable {
        url: String,
        #[source]
        cause: NetworkError,
    },
    #[error("the discovery service at {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("the discovery document from {url} is not valid JSON of the expected shape: {reason}")]
    BadDocument { url: String, reason: String },
    #[error("the discovery document names the join endpoint {endpoint}, outside the DRS origin {drs}: the bearer token is not sent there")]
    ForeignJoinEndpoint { endpoint: String, drs: String },
}

/// The domain a UPN belongs to: `adele.vance@contoso.com` -> `contoso.com`.
pub fn upn_domain(upn: &str) -> Result<String, DiscoveryError> {
    let domain = upn
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty());
    let domain = domain
        .ok_or_else(|| DiscoveryError::NoDomain(upn.to_string()))?
        .to_ascii_lowercase();
    // The domain comes from a token but ends up in a URL path: allow DNS names only.
    let is_dns_name = domain.split('.').all(|label| {
        !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !is_dns_name {
        return Err(DiscoveryError::BadDomain(domain));
    }
    Ok(domain)
}

/// The discovery URL of a domain.
pub fn contract_url(drs: &Url, domain: &str) -> String {
    format!(
        "{}/{domain}/enrollmentserver/contract?api-version={DISCOVERY_API_VERSION}",
        drs.as_str().trim_end_matches('/')
    )
}

/// Fetch and parse the discovery document of `domain`.
pub async fn discover(
    http: &reqwest::Client,
    drs: &Url,
    domain: &str,
) -> Result<DiscoveryDocument, DiscoveryError> {
    let url = contract_url(drs, domain);
    let unreachable = |cause: NetworkError| DiscoveryError::Unreachable {
        url: url.clone(),
        cause,
    };
    let response = send(
        http.get(&url)
            .header(reqwest::header::ACCEPT, "application/json"),
    )
    .await
    .map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(DiscoveryError::Status {
            url,
            status: status.as_u16(),
        });
    }
    let body = http::body(response).await.map_err(unreachable)?;
    let document: DiscoveryDocument =
        serde_json::from_slice(&body).map_err(|e| DiscoveryError::BadDocument {
            url,
            reason: e.to_string(),
        })?;
    check_join_endpoint(drs, &document)?;
    Ok(document)
}

/// The registration POST carries the user's bearer token, so it goes only to the DRS the
/// bridge was configured with: the join endpoint discovery names must share its origin
/// (scheme, host and port), as the MDM services must share the enrollment URL's.
pub fn check_join_endpoint(drs: &Url, document: &DiscoveryDocument) -> Result<(), DiscoveryError> {
    let endpoint = &document.device_join_service.join_endpoint;
    let same_origin = Url::parse(endpoint)
        .map(|url| url.origin() == drs.origin())
        .unwrap_or(false);
    if !same_origin {
        return Err(DiscoveryError::ForeignJoinEndpoint {
            endpoint: endpoint.clone(),
            drs: drs.origin().ascii_serialization(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_is_the_upn_suffix_and_must_be_a_dns_name() {
        assert_eq!(
            upn_domain("adele.vance@Contoso.com").unwrap(),
            "contoso.com"
        );
        assert!(matches!(
            upn_domain("adele"),
            Err(DiscoveryError::NoDomain(_))
        ));
        assert!(matches!(upn_domain("a@"), Err(DiscoveryError::NoDomain(_))));
        assert!(matches!(
            upn_domain("a@../../x"),
            Err(DiscoveryError::BadDomain(_))
        ));
        assert!(matches!(
            upn_domain("a@x/y"),
            Err(DiscoveryError::BadDomain(_))
        ));
    }

    #[test]
    fn contract_url_follows_ms_dvrd() {
        let drs = Url::parse("https://enterpriseregistration.windows.net/").unwrap();
        assert_eq!(
            contract_url(&drs, "contoso.com"),
            "https://enterpriseregistration.windows.net/contoso.com/enrollmentserver/contract?api-version=1.2"
        );
    }
}
