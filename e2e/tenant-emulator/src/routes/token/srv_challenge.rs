//! `grant_type=srv_challenge`: the nonce a PRT request (and every session-key signed request)
//! must carry as `request_nonce` (MS-OAPXBC). Answered before any other check: real clients
//! send no `client_id`. A nonce is single use and lives
//! [`cxh_wire::prt::NONCE_LIFETIME_SECS`]; it is kept in SQLite ([`super::store`]).

use super::error::GrantError;
use super::store;
use crate::error::AuthorityError;
use crate::routes::shared::random_token;
use crate::tokens;
use crate::AppState;
use cxh_wire::prt::{NonceResponse, NONCE_LIFETIME_SECS};

/// Issue a fresh nonce.
pub fn issue(state: &AppState) -> Result<NonceResponse, AuthorityError> {
    let nonce = random_token(32);
    let now = tokens::now();
    store::insert_nonce(&state.db(), &nonce, now, now + NONCE_LIFETIME_SECS)?;
    Ok(NonceResponse { nonce })
}

/// Spend the nonce a request carries: unknown, spent or expired is AADSTS90044.
pub fn spend(state: &AppState, nonce: &str) -> Result<(), AuthorityError> {
    if nonce.is_empty() || !store::consume_nonce(&state.db(), nonce, tokens::now())? {
        return Err(GrantError::InvalidNonce.into());
    }
    Ok(())
}
