//! Test-only clock routes, mounted only with `--test-hooks` ([`Config::test_hooks`]):
//! - `GET /_emulator/clock`: `{"now": <unix seconds>, "offset_secs": <n>}`;
//! - `POST /_emulator/clock` `{"advance_secs": n}` (add to the offset) or `{"offset_secs": n}`
//!   (set it; 0 resets): moves the emulator's clock ([`crate::tokens::now`]), which drives
//!   every expiry check (nonces, PRTs and their sliding window, tokens, codes, sessions, login
//!   contexts, SAML validity). The clock only moves forward from the system time's point of
//!   view of the tests; a negative offset is refused.
//!
//! [`Config::test_hooks`]: crate::config::Config::test_hooks

use crate::error::AuthorityError;
use crate::tokens;
use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new().route("/_emulator/clock", get(clock).post(move_clock))
}

#[derive(Serialize)]
struct Clock {
    now: i64,
    offset_secs: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveClock {
    #[serde(default)]
    advance_secs: Option<i64>,
    #[serde(default)]
    offset_secs: Option<i64>,
}

async fn clock() -> Json<Clock> {
    Json(Clock {
        now: tokens::now(),
        offset_secs: tokens::clock_offset(),
    })
}

async fn move_clock(Json(request): Json<MoveClock>) -> Result<Json<Clock>, AuthorityError> {
    let offset = match (request.advance_secs, request.offset_secs) {
        (Some(advance), None) => tokens::clock_offset().saturating_add(advance),
        (None, Some(offset)) => offset,
        _ => {
            return Err(AuthorityError::InvalidRequest(
                "give exactly one of advance_secs and offset_secs".into(),
            ))
        }
    };
    if offset < 0 {
        return Err(AuthorityError::InvalidRequest(
            "the clock cannot run behind the system clock".into(),
        ));
    }
    tokens::set_clock_offset(offset);
    tracing::info!(offset, "emulator clock moved (test hook)");
    Ok(Json(Clock {
        now: tokens::now(),
        offset_secs: offset,
    }))
}
