//! The join flow as data: which page shows, what survives the full-page navigations of the
//! sign-in round trip, and what the URL the page was loaded with means.
//!
//! The sign-in leaves the app twice (to the authority's `authorize`, and the login form POST),
//! so the app restarts from scratch up to three times. Everything it must remember across those
//! restarts lives in `sessionStorage` under the `KEY_*` names below; everything else is
//! recomputed. The password is never among them.
//!
//! This module is pure (no browser calls) so it can be unit-tested natively; the browser's
//! storage is one implementation of [`SessionStore`].
//!
//! One file per role: [`session`] (storage), [`launch`] (the launch URL), [`page`] (the page
//! model and errors), [`board`] (the progress board).

pub mod board;
pub mod launch;
pub mod page;
pub mod session;
#[cfg(test)]
mod test_support;

pub use board::*;
pub use launch::*;
pub use page::*;
pub use session::*;
