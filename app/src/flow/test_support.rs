//! Test doubles shared by the flow modules' unit tests.

use cxh_wire::bridge::{Edition, HostContext, HostFlow, Platform};
use std::cell::RefCell;
use std::collections::HashMap;

use super::session::SessionStore;

/// `sessionStorage` in memory.
#[derive(Default)]
pub struct MemoryStore(pub RefCell<HashMap<String, String>>);

impl SessionStore for &MemoryStore {
    fn get(&self, key: &str) -> Option<String> {
        self.0.borrow().get(key).cloned()
    }
    fn set(&self, key: &str, value: &str) {
        self.0.borrow_mut().insert(key.into(), value.into());
    }
    fn remove(&self, key: &str) {
        self.0.borrow_mut().remove(key);
    }
}

/// An OOBE host of `edition`, not joined.
pub fn host(edition: Edition) -> HostContext {
    HostContext {
        flow: HostFlow::Oobe,
        edition,
        platform: Platform::Desktop,
        authority: "https://login.example".into(),
        device_name: "DESKTOP-1".into(),
        os_version: "10.0.26100".into(),
        language: None,
        joined_device_id: None,
        joined_tenant: None,
        leave_command: None,
        can_leave: false,
        embedder_origin: None,
    }
}
