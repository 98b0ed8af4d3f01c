//! The bridge's WebSocket text frames (`cxh_wire::bridge`): `ClientMessage`, as
//! `host-bridge/src/session.rs` reads every frame from the page (hello first, then the rest),
//! and `ServerMessage`, as the app reads the bridge's. Property: a frame that parses
//! serializes and parses back to itself, and its Debug form never shows a secret it held.
#![no_main]

use cxh_wire::bridge::{ClientMessage, ServerMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = cxh_join_fuzz::text(data) else {
        return;
    };
    if let Ok(message) = serde_json::from_str::<ClientMessage>(text) {
        let json = serde_json::to_string(&message).expect("a parsed frame serializes");
        assert_eq!(
            serde_json::from_str::<ClientMessage>(&json).ok(),
            Some(message.clone())
        );
        let shown = format!("{message:?}");
        // The secret, and what else the Debug form shows (which may contain it by chance).
        let (secret, shown_fields) = match &message {
            ClientMessage::Hello { secret, .. } => (Some(secret.as_str()), String::new()),
            ClientMessage::StartJoin { id_token, nonce } => {
                (Some(id_token.as_str()), nonce.clone())
            }
            ClientMessage::PrepareAutoLogon { upn, password } => {
                (Some(password.0.as_str()), upn.clone())
            }
            _ => (None, String::new()),
        };
        let by_chance = |s: &str| {
            shown_fields.contains(s)
                || "[redacted]StartJoinHelloPrepareAutoLogonprotocolid_tokennoncesecretupnpassword"
                    .contains(s)
        };
        if let Some(secret) = secret.filter(|s| s.len() >= 8 && !by_chance(s)) {
            assert!(!shown.contains(secret), "Debug shows a secret");
        }
    }
    if let Ok(message) = serde_json::from_str::<ServerMessage>(text) {
        let json = serde_json::to_string(&message).expect("a parsed frame serializes");
        let _ = serde_json::from_str::<ServerMessage>(&json);
    }
});
