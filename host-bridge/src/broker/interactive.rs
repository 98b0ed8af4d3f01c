//! `acquireTokenInteractively`'s sign-in window: when the silent path cannot answer (the user
//! has no PRT on this device, or it expired or was revoked), the broker asks the user to sign
//! in again, as Windows does at the lock screen, and turns the password into a new PRT
//! ([`crate::prt::signin::PrtContext::sign_in`]: managed users with the password grant,
//! federated users through their STS). The app's token then comes silently from that PRT,
//! carrying the device like every other.
//!
//! The window is a page the broker serves on loopback for this one flow, opened in the user's
//! browser (`--browser`, else `$BROWSER`, else `xdg-open`). The flow's secret never reaches a
//! command line: the browser is given the path of a 0600 handoff file (as the join's launch
//! does, [`crate::handoff`]) that forwards to the page with the secret in the URL fragment; the
//! page posts it back with the form, and the broker compares it in constant time. The flow
//! ends at the first good sign-in, after [`MAX_ATTEMPTS`] refused ones, at [`FLOW_TIMEOUT`],
//! or when a caller cancels it (`cancelInteractiveFlow`); one flow runs at a time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

use super::BrokerFailure;
use crate::markup::escape;
use crate::prt::PrtError;
use crate::secret::Secret;

/// Refused sign-ins before the flow gives up.
pub const MAX_ATTEMPTS: u32 = 5;
/// How long the window waits for the user.
pub const FLOW_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The page's path on the flow's loopback listener.
const PAGE_PATH: &str = "/sign-in";

/// How the broker opens its sign-in window.
#[derive(Debug, Clone)]
pub struct SignInWindow {
    /// The command that opens a URL or file in the user's browser (given one argument).
    pub browser: String,
    /// Where the handoff file is written (0600; removed when the flow ends).
    pub handoff_dir: PathBuf,
}

impl Default for SignInWindow {
    fn default() -> Self {
        SignInWindow {
            browser: std::env::var("BROWSER")
                .ok()
                .filter(|b| !b.trim().is_empty())
                .unwrap_or_else(|| "xdg-open".into()),
            handoff_dir: std::env::var_os("XDG_RUNTIME_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir),
        }
    }
}

/// A user name and password the page posted, and where to send the verdict.
pub struct Attempt {
    pub username: String,
    pub password: Zeroizing<String>,
    reply: oneshot::Sender<Result<(), String>>,
}

impl Attempt {
    /// Tell the page how the sign-in went (`Err` carries the sentence it shows).
    pub fn answer(self, outcome: Result<(), String>) {
        let _ = self.reply.send(outcome);
    }
}

/// A running window: attempts arrive on `attempts`; dropping it closes the page's listener
/// and removes the handoff file.
pub struct OpenWindow {
    pub attempts: mpsc::Receiver<Attempt>,
    handoff: crate::handoff::Handoff,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for OpenWindow {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handoff.spend();
    }
}

impl OpenWindow {
    /// Close the page's listener after the last answer went out (the rest is [`Drop`]'s).
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
    }
}

/// What the page's handlers share.
struct PageState {
    secret: Secret,
    organization: String,
    username: Option<String>,
    attempts: mpsc::Sender<Attempt>,
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl SignInWindow {
    /// Serve the page on a fresh loopback port and open it in the browser.
    pub async fn open(
        &self,
        organization: &str,
        username: Option<&str>,
    ) -> Result<OpenWindow, BrokerFailure> {
        let unavailable =
            |why: String| BrokerFailure::Unsupported(format!("the sign-in window: {why}"));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| unavailable(format!("cannot listen on loopback: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| unavailable(e.to_string()))?
            .port();
        let secret = Secret::random();
        let url = format!(
            "http://127.0.0.1:{port}{PAGE_PATH}#secret={}",
            secret.expose()
        );
        let (attempts_tx, attempts) = mpsc::channel(1);
        let state = Arc::new(PageState {
            secret,
            organization: organization.to_string(),
            username: username.map(str::to_string),
            attempts: attempts_tx,
        });
        let router = Router::new()
            .route(PAGE_PATH, get(show_page).post(post_sign_in))
            .with_state(state);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        let path = self
            .handoff_dir
            .join(format!("cxh-broker-sign-in-{}.html", uuid::Uuid::new_v4()));
        crate::handoff::write_page(&path, &url)
            .map_err(|e| unavailable(format!("cannot write {}: {e}", path.display())))?;
        let window = OpenWindow {
            attempts,
            handoff: crate::handoff::Handoff::new(Some(path.clone())),
            stop: Some(stop),
            server: Some(server),
        };
        launch_browser(&self.browser, &path)?;
        tracing::info!(port, handoff = %path.display(), "sign-in window opened");
        Ok(window)
    }
}

/// Start the browser on the handoff file; it is not waited for (it may outlive the flow).
fn launch_browser(browser: &str, page: &Path) -> Result<(), BrokerFailure> {
    let child = tokio::process::Command::new(browser)
        .arg(page)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            BrokerFailure::Unsupported(format!(
                "cannot open the sign-in window with {browser:?} ({e}): set --browser or $BROWSER"
            ))
        })?;
    tokio::spawn(async move {
        let mut child = child;
        let _ = child.wait().await;
    });
    Ok(())
}

async fn show_page(State(state): State<Arc<PageState>>) -> Response {
    Html(page(&state, None)).into_response()
}

async fn post_sign_in(
    State(state): State<Arc<PageState>>,
    Form(form): Form<SignInForm>,
) -> Response {
    if !state.secret.matches(&form.secret) {
        return (
            StatusCode::FORBIDDEN,
            "this sign-in window belongs to another flow",
        )
            .into_response();
    }
    let (reply, verdict) = oneshot::channel();
    let attempt = Attempt {
        username: state.username.clone().unwrap_or(form.username),
        password: Zeroizing::new(form.password),
        reply,
    };
    if state.attempts.send(attempt).await.is_err() {
        return (
            StatusCode::GONE,
            Html(closed_page("This sign-in has ended.")),
        )
            .into_response();
    }
    match verdict.await {
        Ok(Ok(())) => Html(closed_page(
            "You're signed in. You can close this window and go back to your app.",
        ))
        .into_response(),
        Ok(Err(message)) => Html(page(&state, Some(&message))).into_response(),
        Err(_) => (
            StatusCode::GONE,
            Html(closed_page("This sign-in has ended.")),
        )
            .into_response(),
    }
}

/// The sentence the page shows for a refused sign-in (the code stays in the broker's log).
pub fn message_for(error: &PrtError) -> String {
    match error {
        PrtError::Cloud { code: 50126, .. } | PrtError::Sts(_) => {
            "Your account or password is incorrect.".into()
        }
        PrtError::Cloud { code, .. }
            if [crate::prt::AADSTS_MFA_REQUIRED, crate::prt::AADSTS_MFA_ENROLL].contains(code) =>
        {
            "This account needs a second factor, which this window cannot ask for: sign in to the device itself.".into()
        }
        PrtError::Input(_) => "Enter your account and password.".into(),
        PrtError::Network(_) => "Your organization cannot be reached. Check the network and try again.".into(),
        other => format!("The sign-in did not succeed: {other}"),
    }
}

const STYLE: &str = "body{font-family:'Segoe UI',system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}\
    label{display:block;margin:.75rem 0}input{display:block;width:100%;padding:.4rem;font:inherit}\
    button{margin-top:1rem;padding:.5rem 1.5rem;font:inherit;background:#0067b8;color:#fff;border:0}\
    #error{color:#a4262c}";

fn page(state: &PageState, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p id=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let username = match &state.username {
        Some(name) => format!(
            "<input id=\"username\" name=\"username\" type=\"email\" value=\"{}\" readonly autocomplete=\"username\">",
            escape(name)
        ),
        None => "<input id=\"username\" name=\"username\" type=\"email\" required autocomplete=\"username\">".into(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>Sign in to {org}</title><style>{STYLE}</style></head>\
         <body><main><h1>Sign in to {org}</h1>\
         <p>An app on this device needs you to sign in again.</p>{error}\
         <form method=\"post\" action=\"{PAGE_PATH}\">\
         <input type=\"hidden\" name=\"secret\" id=\"secret\">\
         <label for=\"username\">Account</label>{username}\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" required autocomplete=\"current-password\" autofocus>\
         <button type=\"submit\">Sign in</button></form></main>\
         <script>(function(){{var m=/secret=([^&]+)/.exec(location.hash);\
         if(m){{sessionStorage.setItem('secret',decodeURIComponent(m[1]));history.replaceState(null,'',location.pathname);}}\
         document.getElementById('secret').value=sessionStorage.getItem('secret')||'';}})();</script>\
         </body></html>",
        org = escape(&state.organization),
    )
}

fn closed_page(message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in</title>\
         <style>{STYLE}</style></head><body><main><p role=\"status\">{}</p></main></body></html>",
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(username: Option<&str>) -> PageState {
        PageState {
            secret: Secret::new("s"),
            organization: "Contoso <Ltd>".into(),
            username: username.map(str::to_string),
            attempts: mpsc::channel(1).0,
        }
    }

    #[test]
    fn the_page_escapes_what_it_shows_and_never_contains_the_secret() {
        let html = page(&state(Some("a\"b@contoso.com")), Some("<bad>"));
        assert!(html.contains("Sign in to Contoso &lt;Ltd&gt;"));
        assert!(html.contains("value=\"a&quot;b@contoso.com\" readonly"));
        assert!(html.contains("&lt;bad&gt;") && !html.contains("<bad>"));
        assert!(!html.contains("value=\"s\""));
    }

    #[test]
    fn refusals_read_as_sentences() {
        let wrong = PrtError::Cloud {
            error: "invalid_grant".into(),
            code: 50126,
            description: "AADSTS50126: …".into(),
        };
        assert_eq!(
            message_for(&wrong),
            "Your account or password is incorrect."
        );
        let mfa = PrtError::Cloud {
            error: "interaction_required".into(),
            code: 50076,
            description: String::new(),
        };
        assert!(message_for(&mfa).contains("second factor"));
    }
}
