//! tenant-emulator: a protocol-faithful stand-in for the Entra cloud (authority + DRS).
//!
//! It serves the real endpoint paths (seed 001, wire-facts.md) with the JSON shapes of
//! `cxh-wire`, so a client written for Entra works against it by changing only the host.
//! [`app`] builds the router from an [`AppState`]; integration tests run it in-process.

pub mod attestation;
pub mod c14n;
pub mod ca;
pub mod conditional_access;
pub mod config;
pub mod csr;
pub mod db;
pub mod ek_trust;
pub mod error;
pub mod federation;
pub mod keys;
pub mod make_credential;
pub mod pause;
pub mod pkce;
pub mod pop;
pub mod routes;
pub mod saml;
pub mod serve;
pub mod sts;
pub mod tenant_file;
pub mod tls;
pub mod tokens;
pub mod totp;
pub mod wstrust;

use crate::config::Config;
use crate::error::InternalError;
use crate::keys::SigningKeys;
use crate::tenant_file::TenantFile;
use axum::Router;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Shared state of every route: configuration, the database and the signing key.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    db: Mutex<Connection>,
    keys: SigningKeys,
}

impl AppState {
    /// Open the database at `db_path`, upsert the tenant file and load (or create) the
    /// signing key.
    pub fn open(
        db_path: &Path,
        tenants: &TenantFile,
        config: Config,
    ) -> Result<Self, InternalError> {
        let mut conn = db::open(db_path)?;
        db::seed(&mut conn, tenants)?;
        routes::mdm::store::init(&conn)?;
        routes::bulk::store::init(&conn)?;
        routes::token::store::init(&conn, tenants)?;
        routes::attestation::init(&conn)?;
        federation::seed(&mut conn, tenants)?;
        let keys = SigningKeys::load_or_create(&conn)?;
        Ok(AppState {
            inner: Arc::new(Inner {
                config,
                db: Mutex::new(conn),
                keys,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.inner.keys
    }

    /// The database connection; a poisoned lock is still usable (SQLite keeps itself
    /// consistent), so a panic elsewhere does not take the emulator down.
    pub fn db(&self) -> MutexGuard<'_, Connection> {
        self.inner
            .db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The emulator's router: authority, DRS, the emulator-only admin API and the join web app.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}
