//! The PRT SSO cookie at `authorize` (seed 003 "Browser SSO"; MS-OAPXBC 3.1.5.1.3): a browser
//! on a joined device sends `x-ms-RefreshTokenCredential` (as a header or a cookie), a JWS
//! HS256 signed with a key derived from the PRT's session key over `refresh_token` (the PRT),
//! `is_primary` and `request_nonce` (an `sso_nonce` this authority issued) or, in the older
//! form, `iat`. A valid one signs the user in without a page, as the PRT's user and device.
//!
//! Verdicts: [`CookieVerdict::SignedIn`] when the signature checks ([`verified_record`]), the
//! device is enabled, the PRT is live and the nonce is one this authority issued and that has
//! not expired (or `iat` is within [`NONCE_LIFETIME_SECS`]); [`CookieVerdict::StaleNonce`] when
//! all holds but the nonce has expired or is unknown (the caller redirects with a fresh
//! `sso_nonce` so the browser can sign a new cookie); [`CookieVerdict::Invalid`] otherwise,
//! with the reason (the caller logs it and shows the normal sign-in). Using the cookie counts
//! as a use of the PRT.

use crate::db::{self, User};
use crate::routes::shared::TenantScope;
use crate::routes::token::prt::check_live;
use crate::routes::token::prt_signed::verified_record;
use crate::routes::token::store;
use crate::tokens;
use crate::AppState;
use axum::http::HeaderMap;
use cxh_wire::prt::{PrtCookieClaims, NONCE_LIFETIME_SECS, PRT_COOKIE_NAME};
use cxh_wire::prt_crypto::ParsedJws;

/// Who a valid cookie signs in, from which device, with the PRT's authentication methods.
pub struct DeviceSignIn {
    pub user: User,
    pub device_id: String,
    pub amr: Vec<String>,
}

pub enum CookieVerdict {
    SignedIn(Box<DeviceSignIn>),
    StaleNonce,
    Invalid(String),
}

/// The cookie's value, from the `x-ms-RefreshTokenCredential` header or the cookie of that
/// name (extensions use either).
pub fn from_headers(headers: &HeaderMap) -> Option<String> {
    let from_header = headers
        .get(PRT_COOKIE_NAME)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    from_header
        .map(str::to_string)
        .or_else(|| crate::routes::shared::cookie_value(headers, PRT_COOKIE_NAME))
        .filter(|v| !v.is_empty())
}

/// Judge `cookie` for a sign-in at a tenant `scope` admits.
pub(crate) fn verify(state: &AppState, scope: &TenantScope, cookie: &str) -> CookieVerdict {
    match check(state, scope, cookie) {
        Ok(verdict) => verdict,
        Err(reason) => CookieVerdict::Invalid(reason),
    }
}

fn check(state: &AppState, scope: &TenantScope, cookie: &str) -> Result<CookieVerdict, String> {
    let jws = ParsedJws::parse(cookie).map_err(|e| e.to_string())?;
    let claims: PrtCookieClaims =
        serde_json::from_slice(&jws.payload).map_err(|e| format!("payload: {e}"))?;
    if claims.refresh_token.is_empty() {
        return Err("the cookie carries no refresh_token".into());
    }
    let record =
        verified_record(state, scope, &jws, &claims.refresh_token).map_err(|e| e.to_string())?;
    // Each lookup takes the database lock for itself (it is not reentrant).
    let device = db::device(&state.db(), &record.device_id)
        .map_err(|e| e.to_string())?
        .filter(|d| d.enabled)
        .ok_or("the PRT's device is disabled or deleted")?;
    let now = tokens::now();
    check_live(&record, now).map_err(|e| e.to_string())?;
    let user = db::user_by_object_id(&state.db(), &record.user_object_id)
        .map_err(|e| e.to_string())?
        .ok_or("the PRT's user no longer exists")?;
    if !nonce_is_fresh(state, &claims, now)? {
        return Ok(CookieVerdict::StaleNonce);
    }
    store::touch_prt(&state.db(), &record.token_hash, now).map_err(|e| e.to_string())?;
    Ok(CookieVerdict::SignedIn(Box::new(DeviceSignIn {
        user,
        device_id: device.device_id,
        amr: record.amr,
    })))
}

/// The cookie's `request_nonce` is a live nonce of this authority, or (older form, no nonce)
/// its `iat` is recent.
fn nonce_is_fresh(state: &AppState, claims: &PrtCookieClaims, now: i64) -> Result<bool, String> {
    match (claims.request_nonce.as_deref(), claims.iat) {
        (Some(nonce), _) if !nonce.is_empty() => {
            store::nonce_is_live(&state.db(), nonce, now).map_err(|e| e.to_string())
        }
        (_, Some(iat)) => Ok((now - iat).abs() <= NONCE_LIFETIME_SECS),
        _ => Err("the cookie has neither request_nonce nor iat".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue};

    #[test]
    fn the_cookie_is_read_from_its_header_or_from_the_cookie_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(from_headers(&headers), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("ESTSAUTH=s; x-ms-RefreshTokenCredential=a.b.c"),
        );
        assert_eq!(from_headers(&headers).as_deref(), Some("a.b.c"));
        headers.insert(PRT_COOKIE_NAME, HeaderValue::from_static("h.e.d"));
        assert_eq!(from_headers(&headers).as_deref(), Some("h.e.d"));
    }
}
