//! host-bridge: the native side of the join, the analogue of Windows' CXH host and dsreg.
//!
//! The join web app (running in a browser) cannot create keys, hold certificates or write
//! machine state, so it hands the signed-in user's token to this process over a loopback
//! WebSocket ([`server`], [`session`]). The bridge then performs the device join against the
//! Device Registration Service one dsreg step per module:
//! [`token`] (validate what the app handed over) -> [`discovery`] -> [`keys`] -> [`csr`] -> [`attestation`] ->
//! [`registration`] -> [`store`], orchestrated by [`join`]. [`status`] prints the result the
//! way `dsregcmd /status` does, [`mdm`] enrolls the joined device in its MDM (MS-MDE2), [`scripted`] runs the same pipeline without a browser, and [`autologon`] keeps the OOBE automatic sign-in buffer.

pub mod atomic_file;
pub mod attestation;
pub mod autologon;
pub mod broker;
pub mod config;
pub mod csr;
pub mod device_auth;
pub mod discovery;
pub mod error;
pub mod handoff;
pub mod host;
pub mod http;
pub mod join;
pub mod journal;
pub mod keys;
pub mod leave;
pub mod listener;
pub mod markup;
pub mod mdm;
pub mod nonce;
pub mod page_leave;
pub mod pause;
pub mod prt;
pub mod recovery;
pub mod registration;
pub mod scripted;
pub mod secret;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod status;
pub mod store;
pub mod token;
pub mod tpm;
