//! Talking to the authority that serves this app: its OpenID configuration, signing keys and
//! user realm (fetched from the page's own origin, so no CORS), and the URLs of the sign-in
//! request and of the login form.
//!
//! URL building is pure and tested natively; the fetches exist only in the browser build.

use cxh_wire::bridge::HostFlow;
use cxh_wire::bridge::Platform;
use cxh_wire::consts::{CXH_VERSION, DRS_CLIENT_ID, JOIN_WEB_APP_PATH, USER_REALM_API_VERSION};

/// Where the authority publishes its configuration (seed 001, phase A).
pub const OPENID_CONFIGURATION_PATH: &str = "/common/.well-known/openid-configuration";

/// The join web app is its own redirect URI (seed 001): the authority sends the browser back
/// here with `?sCtx=` or `#id_token=`.
pub fn redirect_uri(origin: &str) -> String {
    format!("{}{JOIN_WEB_APP_PATH}", origin.trim_end_matches('/'))
}

/// Append form-encoded `params` to `base`, keeping their order.
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{}", query.finish())
}

/// The sign-in request of the join web app: the parameters of seed 001 in its order, plus
/// `state`, which the redirect must echo.
pub fn authorize_url(
    authorization_endpoint: &str,
    origin: &str,
    nonce: &str,
    state: &str,
) -> String {
    let redirect = redirect_uri(origin);
    with_query(
        authorization_endpoint,
        &[
            ("client_id", DRS_CLIENT_ID),
            ("msafed", "0"),
            ("nonce", nonce),
            ("prompt", "login"),
            ("redirect_uri", &redirect),
            ("response_type", "id_token"),
            ("scope", "openid sid"),
            ("state", state),
            ("uxoptin", "true"),
            ("windows_api_version", "2.0"),
        ],
    )
}

/// User realm discovery for a UPN (seed 001, phase C).
pub fn user_realm_url(upn: &str) -> String {
    with_query(
        "/common/userrealm/",
        &[("user", upn), ("api-version", USER_REALM_API_VERSION)],
    )
}

/// Where the sign-in form posts: the CXH login endpoint, told where the join runs.
pub fn login_action(flow: HostFlow, platform: Platform) -> String {
    with_query(
        "/common/login",
        &[
            ("cxhflow", flow.cxhflow()),
            ("cxhver", CXH_VERSION),
            ("cxhplatform", platform.as_str()),
        ],
    )
}

/// The domain a realm answer applies to, lower-cased; `None` until the UPN looks like
/// `name@domain.tld` (no point asking about half-typed domains).
pub fn realm_domain(upn: &str) -> Option<String> {
    let (local, domain) = upn.trim().rsplit_once('@')?;
    let domain = domain.to_ascii_lowercase();
    let labels_ok =
        domain.split('.').count() >= 2 && domain.split('.').all(|label| !label.is_empty());
    (!local.is_empty() && labels_ok && !domain.contains(char::is_whitespace)).then_some(domain)
}

/// What is wrong with a typed username, checked in the page (the form has `novalidate`:
/// the browser's own bubble would speak English whatever the UI language): nothing typed, or
/// not an address with a domain.
pub fn username_problem(upn: &str) -> Option<crate::i18n::Text> {
    if upn.trim().is_empty() {
        return Some(crate::i18n::Text::UpnRequired);
    }
    realm_domain(upn)
        .is_none()
        .then_some(crate::i18n::Text::UpnInvalid)
}

#[cfg(target_arch = "wasm32")]
pub use browser::*;

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::{user_realm_url, OPENID_CONFIGURATION_PATH};
    use cxh_wire::oidc::{Jwks, OpenIdConfiguration};
    use cxh_wire::realm::UserRealm;
    use gloo_net::http::Request;
    use serde::de::DeserializeOwned;

    /// GET a JSON document; any failure becomes a readable reason.
    async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, String> {
        let response = Request::get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|error| format!("{url}: {error}"))?;
        if !response.ok() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        response
            .json::<T>()
            .await
            .map_err(|error| format!("{url}: {error}"))
    }

    pub async fn fetch_openid_configuration() -> Result<OpenIdConfiguration, String> {
        get_json(OPENID_CONFIGURATION_PATH).await
    }

    pub async fn fetch_jwks(jwks_uri: &str) -> Result<Jwks, String> {
        get_json(jwks_uri).await
    }

    pub async fn fetch_user_realm(upn: &str) -> Result<UserRealm, String> {
        get_json(&user_realm_url(upn)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_matches_seed_001_plus_state() {
        let url = authorize_url(
            "https://login.example/common/oauth2/authorize",
            "https://login.example",
            "5724294428562708",
            "st ate&=",
        );
        assert_eq!(
            url,
            "https://login.example/common/oauth2/authorize\
             ?client_id=01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9\
             &msafed=0\
             &nonce=5724294428562708\
             &prompt=login\
             &redirect_uri=https%3A%2F%2Flogin.example%2FWebApp%2FCloudDomainJoin%2F4\
             &response_type=id_token\
             &scope=openid+sid\
             &state=st+ate%26%3D\
             &uxoptin=true\
             &windows_api_version=2.0"
        );
    }

    #[test]
    fn authorize_url_extends_an_endpoint_that_has_a_query() {
        let url = authorize_url(
            "https://a.example/authorize?x=1",
            "https://a.example/",
            "n",
            "s",
        );
        assert!(
            url.starts_with("https://a.example/authorize?x=1&client_id="),
            "{url}"
        );
        assert!(
            url.contains("redirect_uri=https%3A%2F%2Fa.example%2FWebApp%2FCloudDomainJoin%2F4&")
        );
    }

    #[test]
    fn realm_and_login_urls() {
        assert_eq!(
            user_realm_url("ada+x@contoso.com"),
            "/common/userrealm/?user=ada%2Bx%40contoso.com&api-version=2.1"
        );
        assert_eq!(
            login_action(HostFlow::Settings, Platform::Desktop),
            "/common/login?cxhflow=MOSET&cxhver=1.0&cxhplatform=Desktop"
        );
        assert_eq!(
            login_action(HostFlow::Oobe, Platform::Mobile),
            "/common/login?cxhflow=FRX&cxhver=1.0&cxhplatform=Mobile"
        );
    }

    #[test]
    fn realm_domain_waits_for_a_whole_domain() {
        assert_eq!(
            realm_domain(" Ada@Contoso.COM "),
            Some("contoso.com".into())
        );
        assert_eq!(
            realm_domain("a@b@fabrikam.org"),
            Some("fabrikam.org".into())
        );
        for partial in [
            "",
            "ada",
            "ada@",
            "@contoso.com",
            "ada@contoso",
            "ada@contoso.",
            "ada@.com",
            "ada@con toso.com",
        ] {
            assert_eq!(realm_domain(partial), None, "{partial}");
        }
    }

    #[test]
    fn usernames_are_checked_in_the_page() {
        use crate::i18n::Text;
        assert_eq!(username_problem("  "), Some(Text::UpnRequired));
        assert_eq!(username_problem("adele"), Some(Text::UpnInvalid));
        assert_eq!(username_problem("adele@contoso"), Some(Text::UpnInvalid));
        assert_eq!(username_problem("@contoso.com"), Some(Text::UpnInvalid));
        assert_eq!(username_problem("adele.vance@contoso.com"), None);
    }
}
