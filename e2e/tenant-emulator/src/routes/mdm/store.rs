//! The MDM role's own tables: terms-of-use views, issued OpaqueBlobs and enrollments.
//!
//! An OpaqueBlob (issued when the terms are accepted) is redeemable by the user it was issued
//! to for [`BLOB_LIFETIME_SECS`], and is spent by the first SUCCESSFUL enrollment, in the same
//! transaction that records it; a failed enrollment leaves it for a retry. The device that
//! spent it may redeem it again within its lifetime (its enrollment is then replaced): that is
//! the retry of an enrollment whose answer never reached the device (a crash, a lost
//! connection), which would otherwise need the terms accepted anew. No other device may.
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
    used INTEGER NOT NULL DEFAULT 0,
    spent_by TEXT
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

/// How long an OpaqueBlob stays redeemable after the terms were accepted.
pub const BLOB_LIFETIME_SECS: i64 = 24 * 60 * 60;

pub fn init(conn: &Connection) -> Result<(), InternalError> {
    conn.execute_batch(SCHEMA)?;
    // A database from before retries by the spending device lacks `spent_by`.
    let has: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('mdm_opaque_blobs') WHERE name = 'spent_by'")?
        .exists([])?;
    if !has {
        conn.execute_batch("ALTER TABLE mdm_opaque_blobs ADD COLUMN spent_by TEXT")?;
    }
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

/// What an OpaqueBlob presented at enrollment is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobState {
    /// Issued to this user of this tenant, not yet spent, not expired.
    Valid,
    /// Not issued by this MDM, or to someone else.
    Unknown,
    /// Spent by a completed enrollment of another device.
    Used,
    /// Spent by this very device, within its lifetime: the retry of an enrollment whose answer
    /// the device never got.
    RetryBySpender,
    /// Older than [`BLOB_LIFETIME_SECS`].
    Expired,
}

/// Who presents a blob: the user it must have been issued to, and the device enrolling.
pub struct BlobHolder<'a> {
    pub tenant_id: &'a str,
    pub user_object_id: &'a str,
    pub device_id: &'a str,
}

/// The state of `blob` for `holder` at `now` (nothing is changed: a blob is spent only with a
/// successful enrollment, by [`record_enrollment`]).
pub fn blob_state(
    conn: &Connection,
    blob: &str,
    holder: &BlobHolder<'_>,
    now: i64,
) -> Result<BlobState, InternalError> {
    let row: Option<(i64, bool, Option<String>)> = conn
        .query_row(
            "SELECT created_at, used, spent_by FROM mdm_opaque_blobs
             WHERE blob = ?1 AND lower(tenant_id) = lower(?2) AND lower(user_object_id) = lower(?3)",
            params![blob, holder.tenant_id, holder.user_object_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((created_at, used, spent_by)) = row else {
        return Ok(BlobState::Unknown);
    };
    let by_this_device = spent_by.is_some_and(|d| d.eq_ignore_ascii_case(holder.device_id));
    Ok(match (used, by_this_device) {
        (true, false) => BlobState::Used,
        _ if now > created_at + BLOB_LIFETIME_SECS => BlobState::Expired,
        (true, true) => BlobState::RetryBySpender,
        (false, _) => BlobState::Valid,
    })
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

/// Record (or replace, on re-enrollment) the device's enrollment and, in the same
/// transaction, spend the OpaqueBlob it was made with: the blob is single use after a
/// SUCCESSFUL enrollment (a failed attempt leaves it for a retry until it expires). Returns
/// `false`, recording nothing, when the blob was spent meanwhile by another device (a
/// concurrent enrollment).
pub fn record_enrollment(
    conn: &mut Connection,
    e: &Enrollment,
    blob: Option<&str>,
) -> Result<bool, InternalError> {
    let tx = conn.transaction()?;
    if let Some(blob) = blob {
        let spent = tx.execute(
            "UPDATE mdm_opaque_blobs SET used = 1, spent_by = lower(?4)
             WHERE blob = ?1 AND (used = 0 OR spent_by = lower(?4))
               AND lower(tenant_id) = lower(?2) AND lower(user_object_id) = lower(?3)",
            params![blob, e.tenant_id, e.user_object_id, e.device_id],
        )?;
        if spent != 1 {
            return Ok(false);
        }
    }
    tx.execute(
        "INSERT OR REPLACE INTO mdm_enrollments (device_id, enrollment_id, tenant_id, user_object_id, thumbprint, created_at)
         VALUES (lower(?1), ?2, ?3, ?4, ?5, ?6)",
        params![e.device_id, e.enrollment_id, e.tenant_id, e.user_object_id, e.thumbprint, e.created_at],
    )?;
    tx.commit()?;
    Ok(true)
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
