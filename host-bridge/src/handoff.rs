//! Handing the per-launch secret to the browser without exposing it.
//!
//! The page learns the bridge's URL and secret from the fragment of its launch URL
//! (`…/WebApp/CloudDomainJoin/4#bridge=<ws-url>&secret=<secret>`). Printing that URL, or
//! passing it on Chromium's command line, shows the secret to anyone who can read the
//! terminal or `/proc/<pid>/cmdline` (every local user). Instead the bridge writes a handoff
//! page (`serve --handoff-page FILE`): an HTML file created 0600, so only the bridge's user can
//! read it, that sends the browser on to the launch URL (`location.replace`, with a meta
//! refresh as fallback). The launcher opens `file://FILE`: the command line carries a path,
//! not the secret. The bridge deletes the file as soon as a page has said a valid hello (the
//! secret then lives in that page's `sessionStorage`) and when it exits.
//!
//! Why not a one-time code on the command line, exchanged for the secret over the socket:
//! whoever reads the command line can redeem the code first. A file only the user can read
//! has no such race.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Path of the join web app under the authority, as the real authority serves it.
pub const APP_PATH: &str = "WebApp/CloudDomainJoin/4";

/// The launch URL with the bridge's URL and secret in the fragment (never sent to a server).
pub fn launch_url(app_url: &str, ws_url: &str, secret: &str) -> String {
    let encode =
        |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    format!(
        "{}#bridge={}&secret={}",
        app_url.trim_end_matches('#'),
        encode(ws_url),
        encode(secret)
    )
}

/// The handoff page for `launch_url`: no external resources, no referrer, nothing shown.
pub fn page(launch_url: &str) -> String {
    let attribute = crate::markup::escape(launch_url);
    // A JSON string is a JS string literal; `<` escaped so no `</script>` can close the tag.
    let script = serde_json::to_string(launch_url)
        .expect("a string serialises")
        .replace('<', "\\u003c");
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0;url={attribute}\">\
         <title>Starting the join experience</title></head>\
         <body><script>location.replace({script});</script></body></html>\n"
    )
}

/// Write the page atomically (temp file 0600, renamed), so it is never readable by others.
pub fn write_page(path: &Path, launch_url: &str) -> std::io::Result<()> {
    crate::atomic_file::write(path, page(launch_url).as_bytes(), 0o600)
}

/// The handoff page of a running bridge, removed once spent.
#[derive(Debug, Default)]
pub struct Handoff(Mutex<Option<PathBuf>>);

impl Handoff {
    pub fn new(path: Option<PathBuf>) -> Self {
        Handoff(Mutex::new(path))
    }

    /// Write the page for this launch at `path` and remember it for removal.
    pub fn publish(
        &self,
        path: &Path,
        app_url: &str,
        ws_url: &str,
        secret: &str,
    ) -> std::io::Result<()> {
        write_page(path, &launch_url(app_url, ws_url, secret))?;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.to_path_buf());
        Ok(())
    }

    /// A page proved it has the secret: the file is of no further use, remove it.
    pub fn spend(&self) {
        let taken = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(path) = taken {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!(path = %path.display(), "handoff page removed"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot remove the handoff page")
                }
            }
        }
    }
}

impl Drop for Handoff {
    fn drop(&mut self) {
        self.spend();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_page_is_private_and_sends_the_browser_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handoff.html");
        let url = launch_url(
            "http://127.0.0.1:8080/WebApp/CloudDomainJoin/4",
            "ws://127.0.0.1:9/",
            "s3cret_-x",
        );
        assert_eq!(
            url,
            "http://127.0.0.1:8080/WebApp/CloudDomainJoin/4#bridge=ws%3A%2F%2F127.0.0.1%3A9%2F&secret=s3cret_-x"
        );
        write_page(&path, &url).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(
            html.contains(&format!("location.replace(\"{url}\")")),
            "{html}"
        );
        assert!(html.contains("url=http://127.0.0.1:8080/WebApp/CloudDomainJoin/4#bridge=ws%3A%2F%2F127.0.0.1%3A9%2F&amp;secret=s3cret_-x"));
        assert!(!html.contains("<script src"), "no external resources");

        let handoff = Handoff::new(Some(path.clone()));
        handoff.spend();
        assert!(!path.exists());
        handoff.spend();
    }

    #[test]
    fn markup_in_the_url_cannot_break_out() {
        let html = page("http://x/#a</script><script>alert(1)//\"");
        assert!(!html.contains("</script><script>alert"), "{html}");
        assert!(!html.contains("alert(1)//\">"), "{html}");
    }
}
