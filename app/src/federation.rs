//! Federated sign-in from the join web app: where to send the browser when the user realm
//! says Federated (seed 002, federated table, phase C).
//!
//! The realm's `AuthURL` is the STS's WS-Federation passive endpoint and ends in `wctx=`; the
//! app fills `wctx` with the authority's login context and the request's `state`
//! (`estsrequest=<sCtx>&state=<state>`), which the STS posts back with its token so the
//! authority can continue exactly this sign-in request. Pure, so it is tested natively.

/// The `wctx` value for a login context and the pending request's state.
pub fn wctx(ctx: &str, state: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("estsrequest", ctx)
        .append_pair("state", state)
        .finish()
}

/// `AuthURL` with `wctx` filled in; `None` unless the URL is http(s) and asks for a
/// WS-Federation sign-in (`wa=wsignin1.0`).
pub fn sts_sign_in_url(auth_url: &str, ctx: &str, state: &str) -> Option<String> {
    let is_web = auth_url.starts_with("https://") || auth_url.starts_with("http://");
    if !is_web || !auth_url.contains("wa=wsignin1.0") {
        return None;
    }
    let value: String = form_urlencoded::byte_serialize(wctx(ctx, state).as_bytes()).collect();
    let base = auth_url
        .strip_suffix("wctx=")
        .map(str::to_string)
        .unwrap_or_else(|| {
            let separator = if auth_url.contains('?') { "&" } else { "?" };
            format!("{auth_url}{separator}")
        });
    Some(format!("{base}wctx={value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH_URL: &str = "http://127.0.0.1:4200/adfs/ls/?username=diego%40fabrikam-corp.com&wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx=";

    #[test]
    fn fills_the_empty_wctx_of_the_realm_answer() {
        let url = sts_sign_in_url(AUTH_URL, "c+/x", "s1").unwrap();
        assert_eq!(
            url,
            format!("{AUTH_URL}estsrequest%3Dc%252B%252Fx%26state%3Ds1")
        );
        let query = url.split_once('?').unwrap().1;
        let wctx_value = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "wctx")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(wctx_value, wctx("c+/x", "s1"));
    }

    #[test]
    fn appends_wctx_when_the_url_has_none() {
        let url = sts_sign_in_url("https://sts.example/adfs/ls/?wa=wsignin1.0", "c", "s").unwrap();
        assert_eq!(
            url,
            "https://sts.example/adfs/ls/?wa=wsignin1.0&wctx=estsrequest%3Dc%26state%3Ds"
        );
    }

    #[test]
    fn refuses_urls_that_are_not_ws_federation_pages() {
        assert_eq!(
            sts_sign_in_url("javascript:alert(1)//wa=wsignin1.0", "c", "s"),
            None
        );
        assert_eq!(
            sts_sign_in_url("https://sts.example/adfs/ls/", "c", "s"),
            None
        );
    }
}
