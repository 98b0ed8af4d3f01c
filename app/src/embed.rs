//! The Settings embed contract: when the app runs in an iframe of the Settings host page, it
//! tells that page how the join ended with `window.parent.postMessage`.
//!
//! Who may hear it: only the origin the bridge named in the host context
//! (`HostContext.embedder_origin`, from `host-bridge serve --embedder-origin`). The bridge is
//! reached with the per-launch secret, so a page that merely frames the app cannot choose this
//! origin. The message is posted with that origin as `targetOrigin`, so the browser drops it when
//! the parent is anyone else; the app also checks `location.ancestorOrigins` first and posts
//! nothing when the frame's parent is not the named origin (or when there is no parent, or the
//! flow is OOBE). The receiving page must check `event.origin` against the app's origin (the
//! authority) and `event.source` against its iframe.
//!
//! Messages (JSON objects, `version` 1):
//!
//! | `outcome` | when | extra fields |
//! |---|---|---|
//! | `joined` | the bridge reported the join done (done page) | `device_id`, `tenant` |
//! | `sign_out` | the user pressed "Sign out to finish" on the done page | `device_id` |
//! | `cancelled` | the user pressed Cancel before signing in | — |
//! | `failed` | an error page shows | `error` (the reason), `detail` |
//!
//! Every message has `"source": "cxh-join"` and `"version": 1`.

use cxh_wire::bridge::{HostContext, HostFlow};
use serde::Serialize;

/// Value of `source` in every message.
pub const SOURCE: &str = "cxh-join";

/// How the join ended, as the embedding page reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Joined {
        device_id: String,
        tenant: String,
    },
    SignOut {
        device_id: Option<String>,
    },
    Cancelled,
    Failed {
        error: String,
        detail: Option<String>,
    },
}

/// One message to the embedding page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmbedMessage {
    pub source: &'static str,
    pub version: u32,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl EmbedMessage {
    pub fn new(outcome: Outcome) -> Self {
        EmbedMessage {
            source: SOURCE,
            version: 1,
            outcome,
        }
    }
}

/// The origin to post to, when this host wants outcomes posted at all: the Settings flow
/// with an embedder origin.
pub fn target_origin(host: &HostContext) -> Option<&str> {
    if host.flow != HostFlow::Settings {
        return None;
    }
    host.embedder_origin
        .as_deref()
        .map(|origin| origin.trim_end_matches('/'))
        .filter(|origin| origin.starts_with("http://") || origin.starts_with("https://"))
}

/// Whether the frame's actual parent (`location.ancestorOrigins[0]`, when the browser tells)
/// is the origin the host named.
pub fn parent_matches(target: &str, parent: Option<&str>) -> bool {
    match parent {
        Some(parent) => parent.trim_end_matches('/') == target,
        // Browsers without ancestorOrigins: targetOrigin alone still keeps it from others.
        None => true,
    }
}

/// Post `outcome` to the embedding page, if the host context asks for it and the parent is
/// the named origin.
#[cfg(target_arch = "wasm32")]
pub fn post(host: Option<&HostContext>, outcome: Outcome) {
    let Some(target) = host.and_then(target_origin) else {
        return;
    };
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(parent) = window.parent().ok().flatten() else {
        return;
    };
    // A top-level page is its own parent: nobody embeds it.
    if parent == window {
        return;
    }
    // `location.ancestorOrigins` (Chromium, WebKit) is not in web-sys's WebIDL: read it by name.
    let first = js_sys::Reflect::get(&window.location(), &"ancestorOrigins".into())
        .ok()
        .filter(|list| !list.is_undefined())
        .and_then(|list| js_sys::Reflect::get(&list, &0u32.into()).ok())
        .and_then(|origin| origin.as_string());
    if !parent_matches(target, first.as_deref()) {
        return;
    }
    let Ok(json) = serde_json::to_string(&EmbedMessage::new(outcome)) else {
        return;
    };
    if let Ok(value) = js_sys::JSON::parse(&json) {
        let _ = parent.post_message(&value, target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxh_wire::bridge::{Edition, Platform};

    fn host(flow: HostFlow, embedder: Option<&str>) -> HostContext {
        HostContext {
            flow,
            edition: Edition::Enterprise,
            platform: Platform::Desktop,
            authority: "https://login.example".into(),
            device_name: "D".into(),
            os_version: "10".into(),
            language: None,
            joined_device_id: None,
            joined_tenant: None,
            leave_command: None,
            can_leave: false,
            embedder_origin: embedder.map(str::to_string),
        }
    }

    #[test]
    fn only_settings_with_a_named_origin_posts() {
        assert_eq!(
            target_origin(&host(HostFlow::Settings, Some("http://127.0.0.1:5/"))),
            Some("http://127.0.0.1:5")
        );
        assert_eq!(target_origin(&host(HostFlow::Settings, None)), None);
        assert_eq!(
            target_origin(&host(HostFlow::Oobe, Some("http://127.0.0.1:5"))),
            None
        );
        // "*" (anyone) or junk is never a target.
        assert_eq!(target_origin(&host(HostFlow::Settings, Some("*"))), None);
    }

    #[test]
    fn another_parent_gets_nothing() {
        assert!(parent_matches("http://a.example", Some("http://a.example")));
        assert!(!parent_matches(
            "http://a.example",
            Some("http://evil.example")
        ));
        assert!(parent_matches("http://a.example", None));
    }

    #[test]
    fn messages_have_the_documented_shape() {
        let joined = EmbedMessage::new(Outcome::Joined {
            device_id: "d-1".into(),
            tenant: "Contoso".into(),
        });
        assert_eq!(
            serde_json::to_value(&joined).unwrap(),
            serde_json::json!({"source":"cxh-join","version":1,"outcome":"joined","device_id":"d-1","tenant":"Contoso"})
        );
        assert_eq!(
            serde_json::to_value(EmbedMessage::new(Outcome::Cancelled)).unwrap(),
            serde_json::json!({"source":"cxh-join","version":1,"outcome":"cancelled"})
        );
        let failed = serde_json::to_value(EmbedMessage::new(Outcome::Failed {
            error: "join_failed".into(),
            detail: None,
        }))
        .unwrap();
        assert_eq!(failed["outcome"], "failed");
        assert_eq!(failed["error"], "join_failed");
    }
}
