//! The broker's proof-of-possession key and the Signed HTTP Requests (SHR) it signs: the PoP
//! half of the WAM role ([`cxh_wire::pop`] has the wire shapes and why).
//!
//! One key per device, made by the device's key provider (in the TPM when the join's keys are
//! TPM keys) the first time an app asks for a PoP token or an SHR, and kept as the provider's
//! blob beside the PRTs (0600). It is not the device key: the device key signs only what this
//! bridge composes for the cloud, while an SHR's method, URI, nonce and claims come from the
//! app. The SHR is signed inside the provider; the private key never reaches this process when
//! the provider is the TPM.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cxh_wire::pop::{Cnf, PopParams, ReqCnf, RsaJwk, ShrClaims, ShrHeader, SHR_TYP};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

use super::BrokerFailure;
use crate::keys::{KeyProvider, KeyPurpose, ProviderKey};
use crate::prt::store;
use crate::prt::PrtError;
use crate::store::MachineStore;

pub struct PopKey {
    key: Box<dyn ProviderKey>,
    jwk: RsaJwk,
    kid: String,
    tpm_protected: bool,
}

impl PopKey {
    /// The device's PoP key: loaded from its blob, else made by `provider` and stored.
    pub fn load_or_create(
        machine: &MachineStore,
        provider: &dyn KeyProvider,
    ) -> Result<Self, PrtError> {
        let path = store::pop_key_path(machine);
        let key = match std::fs::read(&path) {
            Ok(blob) => provider.load_key(KeyPurpose::Pop, &blob)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = provider.create_key(KeyPurpose::Pop)?;
                store::write_private(machine, &path, &key.to_blob()?, "the PoP key")?;
                tracing::info!(
                    tpm = provider.tpm_protected(),
                    "created the broker's PoP key"
                );
                key
            }
            Err(e) => return Err(PrtError::Store(format!("cannot read the PoP key: {e}"))),
        };
        let public = key.public_key();
        let jwk = RsaJwk::from_components(&public.n().to_bytes_be(), &public.e().to_bytes_be());
        Ok(PopKey {
            kid: jwk.thumbprint(),
            jwk,
            key,
            tpm_protected: provider.tpm_protected(),
        })
    }

    /// The key's RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether the key is held by a TPM.
    pub fn tpm_protected(&self) -> bool {
        self.tpm_protected
    }

    /// The `req_cnf` that binds a token to this key.
    pub fn req_cnf(&self) -> String {
        ReqCnf {
            kid: self.kid.clone(),
        }
        .encode()
    }

    /// An SHR for the request `params` names, carrying `at` when given (a PoP token) or not
    /// (`generateSignedHttpRequest`), signed now.
    pub fn sign_request(
        &self,
        params: &PopParams,
        at: Option<&str>,
        now: i64,
    ) -> Result<String, BrokerFailure> {
        let target = RequestTarget::of(params)?;
        let claims = ShrClaims {
            at: at.map(str::to_string),
            ts: now,
            m: Some(target.method),
            u: Some(target.host),
            p: Some(target.path),
            nonce: params
                .shr_nonce
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>())),
            cnf: Cnf {
                kid: None,
                jwk: Some(self.jwk.clone()),
            },
            client_claims: params.shr_claims.clone().filter(|c| !c.trim().is_empty()),
        };
        let header = ShrHeader {
            alg: "RS256".into(),
            typ: SHR_TYP.into(),
            kid: self.kid.clone(),
        };
        let input = format!("{}.{}", b64_json(&header), b64_json(&claims));
        let signature = self
            .key
            .sign_sha256_digest(&Sha256::digest(input.as_bytes()))
            .map_err(PrtError::from)?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// `m`, `u` and `p` of an SHR from the caller's method and URI.
#[derive(Debug, PartialEq, Eq)]
struct RequestTarget {
    method: String,
    host: String,
    path: String,
}

impl RequestTarget {
    fn of(params: &PopParams) -> Result<Self, BrokerFailure> {
        let bad = |why: String| BrokerFailure::BadRequest(format!("popParams: {why}"));
        let method = params
            .resource_request_method
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| bad("resourceRequestMethod is missing".into()))?;
        if !method.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(bad(format!("{method:?} is not an HTTP method")));
        }
        let uri = params
            .resource_request_uri
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| bad("resourceRequestUri is missing".into()))?;
        let url = url::Url::parse(uri).map_err(|e| bad(format!("{uri:?} is not a URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| bad(format!("{uri:?} has no host")))?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(RequestTarget {
            method: method.to_ascii_uppercase(),
            host,
            path: url.path().to_string(),
        })
    }
}

/// base64url of a JWS part's JSON.
fn b64_json<T: serde::Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareKeyProvider;

    fn params(method: &str, uri: &str) -> PopParams {
        PopParams {
            resource_request_method: Some(method.into()),
            resource_request_uri: Some(uri.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_target_is_the_methods_host_port_and_path() {
        let target =
            RequestTarget::of(&params("get", "https://api.example:8443/v1/me?x=1")).unwrap();
        assert_eq!(
            target,
            RequestTarget {
                method: "GET".into(),
                host: "api.example:8443".into(),
                path: "/v1/me".into()
            }
        );
        let default_port = RequestTarget::of(&params("POST", "https://api.example:443/a")).unwrap();
        assert_eq!(default_port.host, "api.example");
    }

    #[test]
    fn a_request_without_method_or_with_a_bad_uri_is_refused() {
        for bad in [
            params("", "https://a/b"),
            params("GET\r\nX", "https://a/b"),
            params("GET", "not a url"),
            params("GET", ""),
        ] {
            assert!(
                matches!(RequestTarget::of(&bad), Err(BrokerFailure::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_key_is_made_once_and_signs_what_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let machine = MachineStore::at(dir.path());
        let first = PopKey::load_or_create(&machine, &SoftwareKeyProvider).unwrap();
        let again = PopKey::load_or_create(&machine, &SoftwareKeyProvider).unwrap();
        assert_eq!(first.kid(), again.kid());
        assert!(!first.tpm_protected());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(store::pop_key_path(&machine))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);

        let mut asked = params("GET", "https://api.example/me");
        asked.shr_nonce = Some("n-1".into());
        let shr = first
            .sign_request(&asked, Some("the-at"), 1_800_000_000)
            .unwrap();
        let parts: Vec<&str> = shr.split('.').collect();
        let header: ShrHeader =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: ShrClaims =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            (header.typ.as_str(), header.kid.as_str()),
            ("pop", first.kid())
        );
        assert_eq!(claims.at.as_deref(), Some("the-at"));
        assert_eq!(claims.nonce, "n-1");
        assert_eq!(claims.cnf.jwk.unwrap().thumbprint(), first.kid());
        // The signature is PKCS#1 v1.5 SHA-256 by the key the JWK names.
        let public = first.key.public_key().clone();
        let verifying = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(public);
        let signature = rsa::pkcs1v15::Signature::try_from(
            URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice(),
        )
        .unwrap();
        rsa::signature::Verifier::verify(
            &verifying,
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &signature,
        )
        .unwrap();
    }
}
