//! The browser around the flow: `sessionStorage`, the launch URL, the address bar, the
//! document's language and theme.

use cxh_wire::bridge::HostContext;

use crate::flow::{Session, SessionStore};
use crate::i18n::{set_language, t, Language, Text};

/// `sessionStorage`, or nothing when the browser refuses it (private modes, sandboxed frames).
pub struct BrowserStore(Option<web_sys::Storage>);

impl BrowserStore {
    fn open() -> Self {
        BrowserStore(web_sys::window().and_then(|window| window.session_storage().ok().flatten()))
    }
}

impl SessionStore for BrowserStore {
    fn get(&self, key: &str) -> Option<String> {
        self.0.as_ref()?.get_item(key).ok().flatten()
    }
    fn set(&self, key: &str, value: &str) {
        if let Some(storage) = &self.0 {
            let _ = storage.set_item(key, value);
        }
    }
    fn remove(&self, key: &str) {
        if let Some(storage) = &self.0 {
            let _ = storage.remove_item(key);
        }
    }
}

pub(crate) fn session() -> Session<BrowserStore> {
    Session::new(BrowserStore::open())
}

/// `location.search` and `location.hash`, empty when unreadable.
pub(crate) fn launch_url_parts() -> (String, String) {
    let Some(location) = web_sys::window().map(|window| window.location()) else {
        return (String::new(), String::new());
    };
    (
        location.search().unwrap_or_default(),
        location.hash().unwrap_or_default(),
    )
}

/// Drop the fragment (bridge secret, id_token) from the address bar and history, keeping the
/// path, so neither lingers where it could be copied or bookmarked.
pub(crate) fn forget_fragment(keep_query: bool) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let mut url = location.pathname().unwrap_or_default();
    if keep_query {
        url.push_str(&location.search().unwrap_or_default());
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

pub(crate) fn page_origin() -> String {
    web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .unwrap_or_default()
}

/// The browser's preferred languages (`navigator.languages`), most preferred first.
fn browser_languages() -> Vec<String> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    window
        .navigator()
        .languages()
        .iter()
        .filter_map(|tag| tag.as_string())
        .collect()
}

/// Dress the document for the host: UI language (`lang`, `dir`, title) and theme (the dark
/// OOBE theme, the light Settings one). Pages rendered afterwards use the language.
pub fn present(host: Option<&HostContext>) {
    let language = Language::choose(
        host.and_then(|host| host.language.as_deref()),
        &browser_languages(),
    );
    set_language(language);
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    document.set_title(t(Text::AppTitle));
    if let Some(root) = document.document_element() {
        let _ = root.set_attribute("lang", language.tag());
        let _ = root.set_attribute("dir", language.direction().as_str());
    }
    let settings = host.is_some_and(|host| host.flow == cxh_wire::bridge::HostFlow::Settings);
    if let Some(body) = document.body() {
        body.set_class_name(if settings {
            "theme-light flow-settings"
        } else {
            "theme-dark flow-oobe"
        });
    }
}

pub(crate) fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}
