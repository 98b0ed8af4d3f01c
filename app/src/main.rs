//! Entry point of the join web app: mounts the UI into the page (browser build only).

#[cfg(target_arch = "wasm32")]
fn main() {
    cxh_join_app::mount();
}

/// The app is a browser app; natively there is nothing to run (the crate builds natively only
/// so that its pure logic can be unit-tested).
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "cxh-join-app runs in a browser: build it with `trunk build` and open it from the host."
    );
}
