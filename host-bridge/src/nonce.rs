//! The id_token nonces this bridge issued (`request_nonce` -> `nonce{value}`).
//!
//! A nonce the page chose and then sent beside the token would prove nothing: whoever holds a
//! token also holds its nonce. So the bridge makes the nonce (128 random bits), the page puts
//! it in the sign-in request, and a join is started only by a token whose `nonce` claim is one
//! of these, unexpired ([`NONCE_LIFETIME_SECS`]) and not used before: [`NonceBook::spend`]
//! removes it. The book holds at most [`MAX_OUTSTANDING`] nonces (the oldest go first), so a
//! page asking in a loop cannot grow the bridge's memory.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cxh_wire::bridge::NONCE_LIFETIME_SECS;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// Sign-ins started but not finished at the same time: a person uses one, a few retries more.
pub const MAX_OUTSTANDING: usize = 32;

/// Why a token's nonce was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceRefusal {
    /// Never issued by this bridge process, or already spent (the two look alike on purpose:
    /// a spent nonce is forgotten).
    Unknown,
    /// Issued, but longer ago than the lifetime.
    Expired,
}

/// The outstanding nonces of one bridge process.
#[derive(Debug)]
pub struct NonceBook {
    lifetime: Duration,
    issued: Mutex<VecDeque<(String, Instant)>>,
}

impl Default for NonceBook {
    fn default() -> Self {
        NonceBook::with_lifetime(Duration::from_secs(NONCE_LIFETIME_SECS))
    }
}

impl NonceBook {
    pub fn with_lifetime(lifetime: Duration) -> Self {
        NonceBook {
            lifetime,
            issued: Mutex::new(VecDeque::new()),
        }
    }

    /// A new nonce (32 hex digits), remembered until spent, expired or pushed out.
    pub fn issue(&self) -> String {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let value = hex::encode(bytes);
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        issued.retain(|(_, at)| now.duration_since(*at) <= self.lifetime);
        while issued.len() >= MAX_OUTSTANDING {
            issued.pop_front();
        }
        issued.push_back((value.clone(), now));
        value
    }

    /// Take a spent nonce back after a join that failed for a reason a retry can fix (the
    /// network, DRS down) and left nothing behind, so the page's Try again may use the same
    /// sign-in; a refused or completed join never gives its nonce back.
    pub fn give_back(&self, nonce: &str) {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        while issued.len() >= MAX_OUTSTANDING {
            issued.pop_front();
        }
        issued.push_back((nonce.to_string(), Instant::now()));
    }

    /// Accept `nonce` once: it must be outstanding and unexpired; it is removed either way.
    pub fn spend(&self, nonce: &str) -> Result<(), NonceRefusal> {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let found = issued
            .iter()
            .position(|(value, _)| bool::from(value.as_bytes().ct_eq(nonce.as_bytes())));
        let (_, at) = found
            .and_then(|index| issued.remove(index))
            .ok_or(NonceRefusal::Unknown)?;
        if at.elapsed() > self.lifetime {
            return Err(NonceRefusal::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_and_only_when_issued() {
        let book = NonceBook::default();
        let nonce = book.issue();
        assert_eq!(nonce.len(), 32);
        assert_ne!(book.issue(), nonce, "each nonce is fresh");
        assert_eq!(
            book.spend("made-up-by-the-page"),
            Err(NonceRefusal::Unknown)
        );
        assert_eq!(book.spend(&nonce), Ok(()));
        assert_eq!(book.spend(&nonce), Err(NonceRefusal::Unknown), "spent");
    }

    #[test]
    fn an_expired_nonce_is_refused() {
        let book = NonceBook::with_lifetime(Duration::from_millis(10));
        let nonce = book.issue();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(book.spend(&nonce), Err(NonceRefusal::Expired));
    }

    #[test]
    fn the_book_is_bounded_and_drops_the_oldest() {
        let book = NonceBook::default();
        let first = book.issue();
        let rest: Vec<_> = (0..MAX_OUTSTANDING).map(|_| book.issue()).collect();
        assert_eq!(book.issued.lock().unwrap().len(), MAX_OUTSTANDING);
        assert_eq!(book.spend(&first), Err(NonceRefusal::Unknown));
        assert_eq!(book.spend(&rest[0]), Ok(()));
    }
}
