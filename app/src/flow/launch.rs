//! What the URL the page was loaded with means: a launcher's hand-off, the authority's
//! answers (sign-in context, second factor, id_token, error) or the MDM terms page's.

use super::session::BridgeEndpoint;

/// An error the authority reported (`error` / `error_description` in the redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityError {
    pub error: String,
    pub description: Option<String>,
}

/// The authority sent the browser back to let the user sign in (`?sCtx=`), maybe after a
/// failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInContext {
    /// Opaque login context; posted back as the `ctx` field.
    pub ctx: String,
    pub login_hint: Option<String>,
    pub error: Option<AuthorityError>,
}

/// The authority's successful answer (`#id_token=…&state=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub id_token: String,
    pub state: Option<String>,
    pub session_state: Option<String>,
}

/// What the URL the page was loaded with asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// The host opened the page: `#bridge=<ws-url>&secret=<secret>`.
    Handoff(BridgeEndpoint),
    /// Back from `authorize`: show the sign-in page.
    SignIn(SignInContext),
    /// The password was right and the authority asks for a second factor
    /// (`?sCtx=…&mfa=required`).
    SecondFactor(SignInContext),
    /// Back from a successful login with an id_token.
    Token(TokenResponse),
    /// Back from the authority with an error.
    AuthorityFailed(AuthorityError),
    /// Back from the MDM terms-of-use page (`?IsAccepted=…&OpaqueBlob=…`).
    Terms(crate::mdm::TermsAnswer),
    /// Nothing recognisable in the URL (a reload, or an unusable hand-off): continue from what
    /// the session remembers.
    Resume,
}

/// Decode `a=1&b=2` (with or without a leading `?` / `#`) into pairs; empty values count as
/// absent.
pub(crate) fn pairs(raw: &str) -> Vec<(String, String)> {
    let raw = raw.strip_prefix(['?', '#']).unwrap_or(raw);
    form_urlencoded::parse(raw.as_bytes())
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

pub(crate) fn lookup(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

fn authority_error(pairs: &[(String, String)]) -> Option<AuthorityError> {
    Some(AuthorityError {
        error: lookup(pairs, "error")?,
        description: lookup(pairs, "error_description"),
    })
}

/// Read the launch URL. `query` is `location.search`, `fragment` is `location.hash`.
///
/// The fragment wins over the query, because the authority answers in the fragment and a
/// stale query must not hide that answer.
pub fn parse_launch(query: &str, fragment: &str) -> Launch {
    let fragment = pairs(fragment);
    if let Some(id_token) = lookup(&fragment, "id_token") {
        return Launch::Token(TokenResponse {
            id_token,
            state: lookup(&fragment, "state"),
            session_state: lookup(&fragment, "session_state"),
        });
    }
    if let Some(error) = authority_error(&fragment) {
        return Launch::AuthorityFailed(error);
    }
    if let (Some(url), Some(secret)) = (lookup(&fragment, "bridge"), lookup(&fragment, "secret")) {
        if is_loopback_websocket(&url) {
            return Launch::Handoff(BridgeEndpoint { url, secret });
        }
        return Launch::Resume;
    }
    let query = pairs(query);
    if let Some(accepted) = lookup(&query, "IsAccepted") {
        return Launch::Terms(crate::mdm::TermsAnswer {
            accepted: accepted.eq_ignore_ascii_case("true"),
            opaque_blob: lookup(&query, "OpaqueBlob"),
        });
    }
    if let Some(ctx) = lookup(&query, "sCtx") {
        let context = SignInContext {
            ctx,
            login_hint: lookup(&query, "login_hint"),
            error: authority_error(&query),
        };
        if lookup(&query, "mfa").as_deref() == Some("required") {
            return Launch::SecondFactor(context);
        }
        return Launch::SignIn(context);
    }
    if let Some(error) = authority_error(&query) {
        return Launch::AuthorityFailed(error);
    }
    Launch::Resume
}

/// Only a WebSocket on this machine may be the bridge. The id_token goes to it later, so a
/// crafted launch link must not be able to point the app at a server elsewhere.
pub fn is_loopback_websocket(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, after)) if after.is_empty() || after.starts_with(':') => host,
            _ => return false,
        }
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "::1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::session::{PendingTerms, Session};
    use crate::flow::test_support::MemoryStore;

    #[test]
    fn handoff_fragment_names_the_bridge() {
        let launch = parse_launch(
            "",
            "#bridge=ws%3A%2F%2F127.0.0.1%3A4100%2Fbridge&secret=s3cr3t",
        );
        assert_eq!(
            launch,
            Launch::Handoff(BridgeEndpoint {
                url: "ws://127.0.0.1:4100/bridge".into(),
                secret: "s3cr3t".into()
            })
        );
    }

    #[test]
    fn handoff_to_a_remote_or_incomplete_bridge_is_ignored() {
        assert_eq!(
            parse_launch("", "#bridge=wss://evil.example/&secret=x"),
            Launch::Resume
        );
        assert_eq!(parse_launch("", "#bridge=ws://127.0.0.1:1"), Launch::Resume);
        assert_eq!(parse_launch("", "#bridge=&secret=x"), Launch::Resume);
    }

    #[test]
    fn loopback_check_reads_the_host_only() {
        assert!(is_loopback_websocket("ws://127.0.0.1:4100/"));
        assert!(is_loopback_websocket("ws://localhost:4100"));
        assert!(is_loopback_websocket("wss://[::1]:4100/x"));
        assert!(!is_loopback_websocket("ws://127.0.0.1.evil.example/"));
        assert!(!is_loopback_websocket("ws://evil.example@127.0.0.1/"));
        assert!(!is_loopback_websocket("ws://[::1]evil/"));
        assert!(!is_loopback_websocket("http://127.0.0.1/"));
        assert!(!is_loopback_websocket(""));
    }

    #[test]
    fn sign_in_context_with_and_without_a_failed_attempt() {
        assert_eq!(
            parse_launch("?sCtx=abc", ""),
            Launch::SignIn(SignInContext {
                ctx: "abc".into(),
                login_hint: None,
                error: None
            })
        );
        let retry = parse_launch(
            "?sCtx=abc&login_hint=ada%40contoso.com&error=invalid_grant&error_description=AADSTS50126%3A+Error+validating+credentials",
            "",
        );
        assert_eq!(
            retry,
            Launch::SignIn(SignInContext {
                ctx: "abc".into(),
                login_hint: Some("ada@contoso.com".into()),
                error: Some(AuthorityError {
                    error: "invalid_grant".into(),
                    description: Some("AADSTS50126: Error validating credentials".into()),
                }),
            })
        );
    }

    #[test]
    fn second_factor_prompt_and_its_retry() {
        let prompt = SignInContext {
            ctx: "abc".into(),
            login_hint: Some("lee@contoso.com".into()),
            error: None,
        };
        assert_eq!(
            parse_launch("?sCtx=abc&mfa=required&login_hint=lee%40contoso.com", ""),
            Launch::SecondFactor(prompt.clone())
        );
        let retry = parse_launch(
            "?sCtx=abc&mfa=required&login_hint=lee%40contoso.com&error=invalid_grant&error_description=AADSTS500121%3A+x",
            "",
        );
        let Launch::SecondFactor(context) = retry else {
            panic!("expected the code prompt, got {retry:?}");
        };
        assert_eq!(context.error.map(|e| e.error), Some("invalid_grant".into()));
        // Anything but `mfa=required` is the ordinary sign-in page.
        assert!(matches!(
            parse_launch("?sCtx=abc&mfa=maybe", ""),
            Launch::SignIn(_)
        ));
    }

    #[test]
    fn token_and_error_fragments() {
        assert_eq!(
            parse_launch("?sCtx=stale", "#id_token=a.b.c&state=st&session_state=ss"),
            Launch::Token(TokenResponse {
                id_token: "a.b.c".into(),
                state: Some("st".into()),
                session_state: Some("ss".into()),
            })
        );
        assert_eq!(
            parse_launch("", "#error=access_denied&error_description=No"),
            Launch::AuthorityFailed(AuthorityError {
                error: "access_denied".into(),
                description: Some("No".into())
            })
        );
        assert_eq!(
            parse_launch("?error=server_error", ""),
            Launch::AuthorityFailed(AuthorityError {
                error: "server_error".into(),
                description: None
            })
        );
    }

    #[test]
    fn terms_answers_and_pending_terms() {
        assert_eq!(
            parse_launch("?IsAccepted=true&OpaqueBlob=b1", ""),
            Launch::Terms(crate::mdm::TermsAnswer {
                accepted: true,
                opaque_blob: Some("b1".into())
            })
        );
        assert_eq!(
            parse_launch("?IsAccepted=false", ""),
            Launch::Terms(crate::mdm::TermsAnswer {
                accepted: false,
                opaque_blob: None
            })
        );
        let store = MemoryStore::default();
        let session = Session::new(&store);
        let pending = PendingTerms {
            id_token: "t".into(),
            nonce: "n".into(),
        };
        session.save_pending_terms(&pending);
        assert_eq!(session.pending_terms(), Some(pending));
        session.clear_pending_terms();
        assert_eq!(session.pending_terms(), None);
    }

    #[test]
    fn garbage_urls_resume() {
        for (query, fragment) in [
            ("", ""),
            ("?", "#"),
            ("?%%%", "#&&=="),
            ("?x=1", "#y"),
            ("?sCtx=", "#id_token="),
        ] {
            assert_eq!(
                parse_launch(query, fragment),
                Launch::Resume,
                "{query} {fragment}"
            );
        }
    }
}
