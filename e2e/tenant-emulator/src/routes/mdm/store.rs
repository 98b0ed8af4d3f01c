//! The MDM role's own tables: terms-of-use views, issued OpaqueBlobs and enrollments.
//!
//! Kept apart from `db.rs` (the directory and DRS): created with `IF NOT EXISTS` at start.

use crate::error::InternalError;
use rusqlite::{params, Connection, OptionalExtension};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS mdm_terms_views (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_object_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS mdm_opaque_blobs (
    blob TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_object_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS mdm_enrollments (
    device_id TEXT PRIMARY KEY,
    enrollment_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    user_object_id TEXT NOT NULL,
    thumbprint TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"#;

pub fn init(conn: &Connection) -> Result<(), InternalError> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// A terms page shown to a user, waiting for Accept.
pub struct TermsView {
    pub tenant_id: String,
    pub user_object_id: String,
    pub redirect_uri: String,
}

pub fn insert_view(
    conn: &Connection,
    id: &str,
    view: &TermsView,
    expires_at: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO mdm_terms_views (id, tenant_id, user_object_id, redirect_uri, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, view.tenant_id, view.user_object_id, view.redirect_uri, expires_at],
    )?;
    Ok(())
}

/// Take a live view (single use).
pub fn take_view(
    conn: &Connection,
    id: &str,
    now: i64,
) -> Result<Option<TermsView>, InternalError> {
    let found = conn
        .query_row(
            "SELECT tenant_id, user_object_id, redirect_uri FROM mdm_terms_views
             WHERE id = ?1 AND used = 0 AND expires_at >= ?2",
            params![id, now],
            |row| {
                Ok(TermsView {
                    tenant_id: row.get(0)?,
                    user_object_id: row.get(1)?,
                    redirect_uri: row.get(2)?,
                })
            },
        )
        .optional()?;
    conn.execute(
        "UPDATE mdm_terms_views SET used = 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(found)
}

pub fn insert_blob(
    conn: &Connection,
    blob: &str,
    tenant_id: &str,
    user_object_id: &str,
    now: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO mdm_opaque_blobs (blob, tenant_id, user_object_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![blob, tenant_id, user_object_id, now],
    )?;
    Ok(())
}

/// Whether `blob` was issued to this user of this tenant; marks it used when it was.
pub fn redeem_blob(
    conn: &Connection,
    blob: &str,
    tenant_id: &str,
    user_object_id: &str,
) -> Result<bool, InternalError> {
    let changed = conn.execute(
        "UPDATE mdm_opaque_blobs SET used = 1
         WHERE blob = ?1 AND lower(tenant_id) = lower(?2) AND lower(user_object_id) = lower(?3)",
        params![blob, tenant_id, user_object_id],
    )?;
    Ok(changed == 1)
}

/// An enrollment recorded against a device object.
pub struct Enrollment {
    pub device_id: String,
    pub enrollment_id: String,
    pub tenant_id: String,
    pub user_object_id: String,
    pub thumbprint: String,
    pub created_at: String,
}

/// Record (or replace, on re-enrollment) the device's enrollment.
pub fn upsert_enrollment(conn: &Connection, e: &Enrollment) -> Result<(), InternalError> {
    conn.execute(
        "INSERT OR REPLACE INTO mdm_enrollments (device_id, enrollment_id, tenant_id, user_object_id, thumbprint, created_at)
         VALUES (lower(?1), ?2, ?3, ?4, ?5, ?6)",
        params![e.device_id, e.enrollment_id, e.tenant_id, e.user_object_id, e.thumbprint, e.created_at],
    )?;
    Ok(())
}

/// The enrollment id of a device, if it is enrolled.
pub fn enrollment_id(conn: &Connection, device_id: &str) -> Result<Option<String>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT enrollment_id FROM mdm_enrollments WHERE device_id = lower(?1)",
            params![device_id],
            |row| row.get(0),
        )
        .optional()?)
}
