//! Access tokens the broker handed out, in memory only (a token on disk would outlive the
//! session and be readable by whatever reads the state dir), per user, client and scopes, until
//! [`REFRESH_MARGIN_SECS`] before they expire: a cached answer is never one about to lapse.

use std::collections::HashMap;
use std::sync::Mutex;

use cxh_wire::broker::BrokerToken;

/// A cached token is handed out only while it has at least this long to live (MSAL's margin).
pub const REFRESH_MARGIN_SECS: i64 = 5 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    upn: String,
    client_id: String,
    scopes: String,
    /// Bound to the broker's PoP key (a PoP token never answers a bearer request, nor back).
    pop: bool,
}

impl CacheKey {
    /// Case-insensitive user and scopes, order of scopes ignored.
    pub fn new(upn: &str, client_id: &str, scopes: &[String]) -> Self {
        let mut scopes: Vec<String> = scopes.iter().map(|s| s.trim().to_lowercase()).collect();
        scopes.sort();
        scopes.dedup();
        CacheKey {
            upn: upn.trim().to_lowercase(),
            client_id: client_id.trim().to_lowercase(),
            scopes: scopes.join(" "),
            pop: false,
        }
    }

    /// The same key for a proof-of-possession token.
    pub fn for_pop(mut self) -> Self {
        self.pop = true;
        self
    }
}

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<CacheKey, BrokerToken>>,
}

impl TokenCache {
    /// The cached token for `key`, if it lives long enough; a stale one is dropped.
    pub fn get(&self, key: &CacheKey, now: i64) -> Option<BrokerToken> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some(token) if token.expires_on / 1000 - REFRESH_MARGIN_SECS > now => {
                Some(token.clone())
            }
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: CacheKey, token: BrokerToken) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(key, token);
    }

    /// Forget every token of `upn` (account removed, PRT dead).
    pub fn forget_user(&self, upn: &str) {
        let upn = upn.trim().to_lowercase();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|key, _| key.upn != upn);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxh_wire::broker::Account;

    fn token(expires_on_secs: i64) -> BrokerToken {
        BrokerToken {
            access_token: "at".into(),
            access_token_type: 0,
            account: Account::default(),
            client_info: String::new(),
            expires_on: expires_on_secs * 1000,
            extended_expires_on: expires_on_secs * 1000,
            granted_scopes: vec![],
            id_token: None,
        }
    }

    #[test]
    fn a_token_is_served_until_five_minutes_before_it_expires() {
        let cache = TokenCache::default();
        let key = CacheKey::new("Adele@x", "c", &["B".into(), "a".into()]);
        cache.put(key.clone(), token(10_000));
        let same = CacheKey::new("adele@X", "C", &["a".into(), "b".into()]);
        assert!(cache.get(&same, 10_000 - 301).is_some());
        assert!(cache.get(&same, 10_000 - 300).is_none());
        // The stale entry is gone, not only hidden.
        assert!(cache.is_empty());
    }

    #[test]
    fn other_scopes_clients_or_users_do_not_share_a_token() {
        let cache = TokenCache::default();
        cache.put(CacheKey::new("u", "c", &["a".into()]), token(10_000));
        assert!(cache
            .get(&CacheKey::new("u", "c", &["b".into()]), 0)
            .is_none());
        assert!(cache
            .get(&CacheKey::new("u", "d", &["a".into()]), 0)
            .is_none());
        assert!(cache
            .get(&CacheKey::new("v", "c", &["a".into()]), 0)
            .is_none());
        assert!(cache
            .get(&CacheKey::new("u", "c", &["a".into()]).for_pop(), 0)
            .is_none());
        cache.forget_user("U");
        assert!(cache.is_empty());
    }
}
