//! The WAM role (seed 003): a long-running token broker in the user's session. It holds the
//! users' PRTs (through [`crate::prt`]), renews them when they are older than 4 hours, and
//! hands out access tokens and PRT SSO cookies silently, caching tokens per user, client and
//! scopes until shortly before they expire.
//!
//! - [`service`]: what each broker method does, without D-Bus (the tests and the CLI call it);
//! - [`accounts`]: the broker's view of a PRT record (the `getAccounts` entry) and finding the
//!   one a request names;
//! - [`cache`]: access tokens in memory only (never on disk), per user, client and scopes;
//! - [`pop`]: the device-held proof-of-possession key and the Signed HTTP Requests it signs
//!   (PoP tokens for apps, `generateSignedHttpRequest`);
//! - [`interactive`]: the sign-in window of `acquireTokenInteractively` (a new PRT when the
//!   silent path cannot answer);
//! - [`failure`]: errors as the broker's callers read them (MSAL runtime status);
//! - [`dbus`]: the interface of Microsoft's identity broker for Linux on the session bus
//!   (`com.microsoft.identity.broker1`), so MSAL, Edge and browser extensions work with ours;
//! - [`native_host`]: `host-bridge sso-native-host`, the browser SSO extension's native messaging
//!   host (forwards to the broker); [`sso_install`]: registering it with Chromium;
//! - [`renewal`]: the background renewal at start and on a period;
//! - [`daemon`]: the `host-bridge broker` command (serve until stopped).
//!
//! Who may call: any process of the session bus's user, as with Microsoft's broker: the session
//! bus is the user's own. The broker never logs a token or a PRT; its log lines carry the
//! method, the correlation id and the outcome.

pub mod accounts;
pub mod cache;
pub mod daemon;
pub mod dbus;
pub mod failure;
pub mod interactive;
pub mod native_host;
pub mod pop;
pub mod renewal;
pub mod service;
pub mod sso_install;

pub use failure::BrokerFailure;
pub use service::Broker;
