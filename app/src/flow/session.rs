//! What survives the full-page navigations of the sign-in round trip: the `sessionStorage`
//! entries under the `KEY_*` names, behind a typed [`Session`]. The password is never among them.

use cxh_wire::bridge::HostContext;

use super::launch::{lookup, pairs};

/// `sessionStorage` key: WebSocket URL of the host bridge.
pub const KEY_BRIDGE_URL: &str = "cxh.bridge_url";
/// `sessionStorage` key: per-launch secret sent in `hello`.
pub const KEY_BRIDGE_SECRET: &str = "cxh.bridge_secret";
/// `sessionStorage` key: the host context of the last `welcome`, as JSON.
pub const KEY_HOST: &str = "cxh.host";
/// `sessionStorage` key: nonce of the pending sign-in request.
pub const KEY_NONCE: &str = "cxh.nonce";
/// `sessionStorage` key: state of the pending sign-in request.
pub const KEY_STATE: &str = "cxh.state";
/// `sessionStorage` key: the join path the user chose (see [`JoinPath`]).
pub const KEY_PATH: &str = "cxh.path";

/// `sessionStorage` key: the validated id_token waiting for the MDM terms round trip.
pub const KEY_TERMS_ID_TOKEN: &str = "cxh.terms_id_token";
/// `sessionStorage` key: the nonce that id_token must still carry when the terms answer.
pub const KEY_TERMS_NONCE: &str = "cxh.terms_nonce";

/// Every key the app writes, so "forget everything" cannot miss one.
pub const ALL_KEYS: [&str; 8] = [
    KEY_BRIDGE_URL,
    KEY_BRIDGE_SECRET,
    KEY_HOST,
    KEY_NONCE,
    KEY_STATE,
    KEY_PATH,
    KEY_TERMS_ID_TOKEN,
    KEY_TERMS_NONCE,
];

/// A join waiting for the MDM terms page's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTerms {
    pub id_token: String,
    pub nonce: String,
}

/// Somewhere to keep strings across page loads. Failures are silent on purpose: a browser
/// without storage must still show a page (an error page), never crash.
pub trait SessionStore {
    fn get(&self, key: &str) -> Option<String>;
    fn set(&self, key: &str, value: &str);
    fn remove(&self, key: &str);
}

/// Where the bridge listens and how to prove the page was launched by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeEndpoint {
    pub url: String,
    pub secret: String,
}

/// The values of a sign-in request in flight; the answer must echo `state` and its id_token
/// must carry `nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    pub nonce: String,
    pub state: String,
}

/// The way of setting up the device the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinPath {
    EntraJoin,
}

impl JoinPath {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinPath::EntraJoin => "entra_join",
        }
    }

    pub fn parse(value: &str) -> Option<JoinPath> {
        (value == "entra_join").then_some(JoinPath::EntraJoin)
    }
}

/// Typed access to the app's `sessionStorage` entries.
pub struct Session<S: SessionStore> {
    store: S,
}

impl<S: SessionStore> Session<S> {
    pub fn new(store: S) -> Self {
        Session { store }
    }

    fn non_empty(&self, key: &str) -> Option<String> {
        self.store.get(key).filter(|value| !value.is_empty())
    }

    pub fn bridge(&self) -> Option<BridgeEndpoint> {
        Some(BridgeEndpoint {
            url: self.non_empty(KEY_BRIDGE_URL)?,
            secret: self.non_empty(KEY_BRIDGE_SECRET)?,
        })
    }

    pub fn save_bridge(&self, endpoint: &BridgeEndpoint) {
        self.store.set(KEY_BRIDGE_URL, &endpoint.url);
        self.store.set(KEY_BRIDGE_SECRET, &endpoint.secret);
    }

    /// The host context saved at the last `welcome`; unreadable JSON counts as none.
    pub fn host(&self) -> Option<HostContext> {
        serde_json::from_str(&self.non_empty(KEY_HOST)?).ok()
    }

    pub fn save_host(&self, host: &HostContext) {
        if let Ok(json) = serde_json::to_string(host) {
            self.store.set(KEY_HOST, &json);
        }
    }

    pub fn pending_sign_in(&self) -> Option<PendingSignIn> {
        Some(PendingSignIn {
            nonce: self.non_empty(KEY_NONCE)?,
            state: self.non_empty(KEY_STATE)?,
        })
    }

    pub fn save_pending_sign_in(&self, pending: &PendingSignIn) {
        self.store.set(KEY_NONCE, &pending.nonce);
        self.store.set(KEY_STATE, &pending.state);
    }

    /// Forget the nonce and state: after a token was accepted (they are single-use) or when
    /// the user starts over.
    pub fn clear_pending_sign_in(&self) {
        self.store.remove(KEY_NONCE);
        self.store.remove(KEY_STATE);
    }

    pub fn path(&self) -> Option<JoinPath> {
        JoinPath::parse(&self.store.get(KEY_PATH)?)
    }

    pub fn save_path(&self, path: JoinPath) {
        self.store.set(KEY_PATH, path.as_str());
    }

    pub fn clear_path(&self) {
        self.store.remove(KEY_PATH);
    }

    pub fn pending_terms(&self) -> Option<PendingTerms> {
        Some(PendingTerms {
            id_token: self.non_empty(KEY_TERMS_ID_TOKEN)?,
            nonce: self.non_empty(KEY_TERMS_NONCE)?,
        })
    }

    pub fn save_pending_terms(&self, pending: &PendingTerms) {
        self.store.set(KEY_TERMS_ID_TOKEN, &pending.id_token);
        self.store.set(KEY_TERMS_NONCE, &pending.nonce);
    }

    /// Single use: the terms answer is read once.
    pub fn clear_pending_terms(&self) {
        self.store.remove(KEY_TERMS_ID_TOKEN);
        self.store.remove(KEY_TERMS_NONCE);
    }

    /// Whether a sign-in or terms round trip is under way: a nonce, state or terms token is
    /// pending in the session, or the authority's `sCtx` is in `query` (`location.search`).
    pub fn flow_in_progress(&self, query: &str) -> bool {
        [KEY_NONCE, KEY_STATE, KEY_TERMS_ID_TOKEN, KEY_TERMS_NONCE]
            .iter()
            .any(|key| self.non_empty(key).is_some())
            || lookup(&pairs(query), "sCtx").is_some()
    }

    /// Take a launcher's `#bridge=…&secret=…` hand-off, but only when no flow is in progress.
    /// Mid-flow, a new hand-off could point the app at another local listener, which would
    /// then receive the id_token (and in OOBE the password): it is ignored. Returns whether
    /// the endpoint was saved.
    pub fn accept_handoff(&self, endpoint: &BridgeEndpoint, query: &str) -> bool {
        if self.flow_in_progress(query) {
            return false;
        }
        self.save_bridge(endpoint);
        true
    }

    /// Forget everything (the join is over).
    pub fn clear_all(&self) {
        for key in ALL_KEYS {
            self.store.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::test_support::{host, MemoryStore};
    use cxh_wire::bridge::Edition;

    #[test]
    fn a_handoff_mid_flow_does_not_replace_the_bridge() {
        let first = BridgeEndpoint {
            url: "ws://127.0.0.1:4100/".into(),
            secret: "first".into(),
        };
        let other = BridgeEndpoint {
            url: "ws://127.0.0.1:4999/".into(),
            secret: "other".into(),
        };
        let memory = MemoryStore::default();
        let session = Session::new(&memory);
        assert!(
            session.accept_handoff(&first, ""),
            "a fresh launch is taken"
        );
        session.save_pending_sign_in(&PendingSignIn {
            nonce: "n".into(),
            state: "s".into(),
        });
        assert!(!session.accept_handoff(&other, ""));
        assert_eq!(session.bridge(), Some(first.clone()));
        session.clear_pending_sign_in();
        assert!(
            !session.accept_handoff(&other, "?sCtx=ctx-1"),
            "back from authorize"
        );
        session.save_pending_terms(&PendingTerms {
            id_token: "t".into(),
            nonce: "n".into(),
        });
        assert!(
            !session.accept_handoff(&other, ""),
            "in the terms round trip"
        );
        assert_eq!(session.bridge(), Some(first));
        session.clear_pending_terms();
        assert!(
            session.accept_handoff(&other, ""),
            "no flow in progress any more"
        );
        assert_eq!(session.bridge(), Some(other));
    }

    #[test]
    fn session_round_trips_and_forgets() {
        let store = MemoryStore::default();
        let session = Session::new(&store);
        assert_eq!(session.bridge(), None);
        assert_eq!(session.host(), None);
        let endpoint = BridgeEndpoint {
            url: "ws://127.0.0.1:1".into(),
            secret: "s".into(),
        };
        session.save_bridge(&endpoint);
        session.save_host(&host(Edition::Enterprise));
        session.save_pending_sign_in(&PendingSignIn {
            nonce: "n".into(),
            state: "st".into(),
        });
        session.save_path(JoinPath::EntraJoin);
        assert_eq!(session.bridge(), Some(endpoint));
        assert_eq!(session.host(), Some(host(Edition::Enterprise)));
        assert_eq!(
            session.pending_sign_in(),
            Some(PendingSignIn {
                nonce: "n".into(),
                state: "st".into()
            })
        );
        assert_eq!(session.path(), Some(JoinPath::EntraJoin));
        session.clear_pending_sign_in();
        assert_eq!(session.pending_sign_in(), None);
        assert!(session.bridge().is_some());
        session.clear_all();
        assert!(store.0.borrow().is_empty());
    }

    #[test]
    fn corrupt_host_json_counts_as_missing() {
        let store = MemoryStore::default();
        (&store).set(KEY_HOST, "{not json");
        assert_eq!(Session::new(&store).host(), None);
    }
}
