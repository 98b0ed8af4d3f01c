//! MDM in the join web app: the terms-of-use round trip and the silent authorization code the
//! worker (the bridge) needs to enroll.
//!
//! Who does the silent request: in Windows the worker uses the web view's cookie jar. Here the
//! app does it, because only the browser holds the `ESTSAUTH` session cookie of the sign-in:
//! it `fetch`es `authorize?prompt=none&response_type=code` on its own origin (the authority,
//! so the cookie is sent), follows the redirect back to itself and reads the `code` from the
//! final URL. The code (never a password) goes to the bridge in `mdm_grant`, which redeems it.
//!
//! The terms page wants a bearer token for the MDM application. A navigation cannot carry an
//! `Authorization` header (the CXH injects one into its web view), so the app redeems a second
//! silent code itself and POSTs a form with `access_token` to the terms page: the token never
//! lands in a URL or the history. The page answers `?IsAccepted=true&OpaqueBlob=…` (or
//! `error=access_denied`) on the app's URL; the id_token and nonce needed to continue wait in
//! `sessionStorage` meanwhile.

use cxh_wire::consts::MDM_CLIENT_ID;
use cxh_wire::oidc::IdTokenClaims;

/// The terms-of-use URL of a validated id_token, when present and non-empty.
pub fn terms_url(claims: &IdTokenClaims) -> Option<String> {
    claims
        .mdm_terms_of_use_url
        .clone()
        .filter(|u| !u.trim().is_empty())
}

/// The enrollment URL, when MDM applies to this user.
pub fn enrollment_url(claims: &IdTokenClaims) -> Option<String> {
    claims
        .mdm_enrollment_url
        .clone()
        .filter(|u| !u.trim().is_empty())
}

/// The enrollment service as a resource: its origin with a trailing slash (seed 001 step 5).
pub fn resource_of(enrollment_url: &str) -> Option<String> {
    let rest = enrollment_url
        .strip_prefix("https://")
        .map(|r| ("https://", r))
        .or_else(|| {
            enrollment_url
                .strip_prefix("http://")
                .map(|r| ("http://", r))
        })?;
    let host = rest
        .1
        .split(['/', '?', '#'])
        .next()
        .filter(|h| !h.is_empty())?;
    Some(format!("{}{host}/", rest.0))
}

/// The silent authorize request of seed 001 step 5 (plus `prompt=none` and `state`).
pub fn silent_authorize_url(
    authorization_endpoint: &str,
    redirect_uri: &str,
    resource: &str,
    nonce: &str,
    state: &str,
) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", MDM_CLIENT_ID)
        .append_pair("msafed", "0")
        .append_pair("nonce", nonce)
        .append_pair("prompt", "none")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("resource", resource)
        .append_pair("state", state)
        .finish();
    let separator = if authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{authorization_endpoint}{separator}{query}")
}

/// What the silent request's final URL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SilentAnswer {
    Code(String),
    Error {
        error: String,
        description: Option<String>,
    },
}

/// Read the code (checking `state`) or the error from the URL the redirect ended on.
pub fn read_silent_answer(final_url: &str, expected_state: &str) -> SilentAnswer {
    let query = final_url
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let query = query.split('#').next().unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if let Some(error) = get("error") {
        return SilentAnswer::Error {
            error,
            description: get("error_description"),
        };
    }
    match (get("code"), get("state")) {
        (Some(code), Some(state)) if state == expected_state && !code.is_empty() => {
            SilentAnswer::Code(code)
        }
        (Some(_), _) => SilentAnswer::Error {
            error: "state_mismatch".into(),
            description: Some("the silent sign-in answer does not belong to this request".into()),
        },
        _ => SilentAnswer::Error {
            error: "no_code".into(),
            description: Some("the silent sign-in returned no code".into()),
        },
    }
}

/// The terms page's answer on the app's URL (`?IsAccepted=…&OpaqueBlob=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsAnswer {
    pub accepted: bool,
    pub opaque_blob: Option<String>,
}

impl TermsAnswer {
    /// The blob of an acceptance; `None` for a decline or an acceptance without a blob.
    pub fn accepted_blob(&self) -> Option<&str> {
        self.opaque_blob
            .as_deref()
            .filter(|b| self.accepted && !b.is_empty())
    }
}

#[cfg(target_arch = "wasm32")]
pub use browser::{redeem_code, silent_code};

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::{read_silent_answer, silent_authorize_url, SilentAnswer};
    use cxh_wire::consts::MDM_CLIENT_ID;
    use cxh_wire::oidc::TokenResponse;
    use gloo_net::http::Request;

    /// Run the silent authorize on this origin (cookies included) and read the code.
    pub async fn silent_code(
        authorization_endpoint: &str,
        redirect_uri: &str,
        resource: &str,
    ) -> Result<String, String> {
        let (Some(nonce), Some(state)) = (crate::crypto::random_hex(), crate::crypto::random_hex())
        else {
            return Err("no randomness".into());
        };
        let url = silent_authorize_url(
            authorization_endpoint,
            redirect_uri,
            resource,
            &nonce,
            &state,
        );
        let response = Request::get(&url)
            .credentials(web_sys::RequestCredentials::SameOrigin)
            .send()
            .await
            .map_err(|e| format!("silent sign-in: {e}"))?;
        match read_silent_answer(&response.url(), &state) {
            SilentAnswer::Code(code) => Ok(code),
            SilentAnswer::Error { error, description } => {
                Err(description.map_or(error.clone(), |d| format!("{error}: {d}")))
            }
        }
    }

    /// Redeem a code for an access token at the token endpoint (for the terms page's bearer).
    pub async fn redeem_code(
        token_endpoint: &str,
        code: &str,
        redirect_uri: &str,
        resource: &str,
    ) -> Result<String, String> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("client_id", MDM_CLIENT_ID)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("resource", resource)
            .finish();
        let response = Request::post(token_endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .map_err(|e| e.to_string())?
            .send()
            .await
            .map_err(|e| format!("token endpoint: {e}"))?;
        if !response.ok() {
            return Err(format!("token endpoint: HTTP {}", response.status()));
        }
        let token: TokenResponse = response.json().await.map_err(|e| e.to_string())?;
        Ok(token.access_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_is_the_origin_with_a_slash() {
        assert_eq!(
            resource_of("http://127.0.0.1:4000/EnrollmentServer/Discovery.svc").as_deref(),
            Some("http://127.0.0.1:4000/")
        );
        assert_eq!(resource_of("ftp://x/"), None);
        assert_eq!(resource_of("https:///x"), None);
    }

    #[test]
    fn silent_request_is_seed_001s_plus_prompt_none() {
        let url = silent_authorize_url(
            "https://l/common/oauth2/authorize",
            "https://l/WebApp/CloudDomainJoin/4",
            "https://m/",
            "n",
            "s",
        );
        assert!(url.starts_with("https://l/common/oauth2/authorize?client_id=29d9ed98-a469-4536-ade2-f981bc1d605e&msafed=0&nonce=n&prompt=none"));
        assert!(url.contains("response_type=code&resource=https%3A%2F%2Fm%2F&state=s"));
    }

    #[test]
    fn silent_answers_need_the_right_state() {
        assert_eq!(
            read_silent_answer("https://l/WebApp/CloudDomainJoin/4?code=abc&state=s", "s"),
            SilentAnswer::Code("abc".into())
        );
        assert!(matches!(
            read_silent_answer("https://l/x?code=abc&state=other", "s"),
            SilentAnswer::Error { error, .. } if error == "state_mismatch"
        ));
        assert!(matches!(
            read_silent_answer("https://l/x?error=interaction_required&error_description=AADSTS50058&state=s", "s"),
            SilentAnswer::Error { error, .. } if error == "interaction_required"
        ));
        assert!(matches!(
            read_silent_answer("https://l/x", "s"),
            SilentAnswer::Error { .. }
        ));
    }

    #[test]
    fn only_an_acceptance_with_a_blob_counts() {
        let yes = TermsAnswer {
            accepted: true,
            opaque_blob: Some("b".into()),
        };
        assert_eq!(yes.accepted_blob(), Some("b"));
        let no = TermsAnswer {
            accepted: false,
            opaque_blob: Some("b".into()),
        };
        assert_eq!(no.accepted_blob(), None);
        let empty = TermsAnswer {
            accepted: true,
            opaque_blob: None,
        };
        assert_eq!(empty.accepted_blob(), None);
    }
}
