//! SQLite state of the token endpoint: `srv_challenge` nonces, PRT records (with their session
//! keys), per-user password lockout and each tenant's PRT policy (KDF v2 required).
//!
//! Everything is in the database, not in process memory, so that several emulator instances
//! sharing one database agree on what was spent. PRTs are stored by the SHA-256 of the opaque
//! string the client holds; the session key is stored as is, because the emulator must derive
//! the same keys as the device to verify its signatures (the real service holds it too).

use crate::error::InternalError;
use crate::tenant_file::TenantFile;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS prt_nonces (
    nonce TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS prts (
    token_hash TEXT PRIMARY KEY,
    user_object_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    amr TEXT NOT NULL,
    session_key BLOB NOT NULL,
    issued_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS prts_by_user ON prts(user_object_id);
CREATE TABLE IF NOT EXISTS password_lockout (
    object_id TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS prt_policy (
    tenant_id TEXT PRIMARY KEY COLLATE NOCASE,
    require_kdf_v2 INTEGER NOT NULL
);
"#;

/// Create the tables and write each tenant's PRT policy from the tenant file.
pub fn init(conn: &Connection, tenants: &TenantFile) -> Result<(), InternalError> {
    conn.execute_batch(SCHEMA)?;
    for tenant in &tenants.tenants {
        conn.execute(
            "INSERT INTO prt_policy (tenant_id, require_kdf_v2) VALUES (?1, ?2)
             ON CONFLICT(tenant_id) DO UPDATE SET require_kdf_v2 = ?2",
            params![tenant.id, tenant.require_kdf_v2],
        )?;
    }
    Ok(())
}

/// Whether the tenant refuses KDF v1 signatures (tenant file `require_kdf_v2`).
pub fn kdf_v2_required(conn: &Connection, tenant_id: &str) -> Result<bool, InternalError> {
    Ok(conn
        .query_row(
            "SELECT require_kdf_v2 FROM prt_policy WHERE tenant_id = ?1",
            params![tenant_id],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// Remember a fresh nonce (and forget the expired ones).
pub fn insert_nonce(
    conn: &Connection,
    nonce: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), InternalError> {
    conn.execute("DELETE FROM prt_nonces WHERE expires_at < ?1", params![now])?;
    conn.execute(
        "INSERT INTO prt_nonces (nonce, expires_at) VALUES (?1, ?2)",
        params![nonce, expires_at],
    )?;
    Ok(())
}

/// Spend a nonce: true only for a known, unexpired, unspent one (one statement, so two
/// requests cannot both spend it).
pub fn consume_nonce(conn: &Connection, nonce: &str, now: i64) -> Result<bool, InternalError> {
    let deleted = conn.execute(
        "DELETE FROM prt_nonces WHERE nonce = ?1 AND expires_at >= ?2",
        params![nonce, now],
    )?;
    Ok(deleted == 1)
}

/// Whether `nonce` was issued and has not expired, spent or not: the PRT SSO cookie carries
/// one for its whole life (a browser sends the same cookie with every request of a sign-in).
pub fn nonce_is_live(conn: &Connection, nonce: &str, now: i64) -> Result<bool, InternalError> {
    Ok(conn
        .prepare("SELECT 1 FROM prt_nonces WHERE nonce = ?1 AND expires_at >= ?2")?
        .exists(params![nonce, now])?)
}

/// The SHA-256 (hex) under which a PRT is stored.
pub fn prt_hash(prt: &str) -> String {
    hex::encode(Sha256::digest(prt.as_bytes()))
}

/// One PRT as the emulator keeps it.
#[derive(Clone)]
pub struct PrtRecord {
    pub token_hash: String,
    pub user_object_id: String,
    pub device_id: String,
    pub tenant_id: String,
    pub amr: Vec<String>,
    pub session_key: zeroize::Zeroizing<Vec<u8>>,
    pub issued_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

pub fn insert_prt(conn: &Connection, prt: &PrtRecord) -> Result<(), InternalError> {
    let amr =
        serde_json::to_string(&prt.amr).map_err(|e| InternalError::Encoding(e.to_string()))?;
    conn.execute(
        "INSERT INTO prts (token_hash, user_object_id, device_id, tenant_id, amr, session_key,
             issued_at, last_used_at, expires_at, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            prt.token_hash,
            prt.user_object_id,
            prt.device_id,
            prt.tenant_id,
            amr,
            prt.session_key.as_slice(),
            prt.issued_at,
            prt.last_used_at,
            prt.expires_at,
            prt.revoked
        ],
    )?;
    Ok(())
}

/// The record of the PRT string `prt`, if the emulator issued it.
pub fn prt_by_token(conn: &Connection, prt: &str) -> Result<Option<PrtRecord>, InternalError> {
    let row = conn
        .query_row(
            "SELECT token_hash, user_object_id, device_id, tenant_id, amr, session_key,
                 issued_at, last_used_at, expires_at, revoked FROM prts WHERE token_hash = ?1",
            params![prt_hash(prt)],
            |row| {
                Ok((
                    PrtRecord {
                        token_hash: row.get(0)?,
                        user_object_id: row.get(1)?,
                        device_id: row.get(2)?,
                        tenant_id: row.get(3)?,
                        amr: Vec::new(),
                        session_key: zeroize::Zeroizing::new(row.get(5)?),
                        issued_at: row.get(6)?,
                        last_used_at: row.get(7)?,
                        expires_at: row.get(8)?,
                        revoked: row.get(9)?,
                    },
                    row.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    row.map(|(mut record, amr)| {
        record.amr =
            serde_json::from_str(&amr).map_err(|e| InternalError::Encoding(e.to_string()))?;
        Ok(record)
    })
    .transpose()
}

/// The PRT was used now: its 14-day sliding window starts again.
pub fn touch_prt(conn: &Connection, token_hash: &str, now: i64) -> Result<(), InternalError> {
    conn.execute(
        "UPDATE prts SET last_used_at = ?2 WHERE token_hash = ?1",
        params![token_hash, now],
    )?;
    Ok(())
}

/// Revoke every PRT of a user (password change or reset); returns how many were live.
pub fn revoke_user_prts(conn: &Connection, user_object_id: &str) -> Result<usize, InternalError> {
    Ok(conn.execute(
        "UPDATE prts SET revoked = 1 WHERE user_object_id = ?1 COLLATE NOCASE AND revoked = 0",
        params![user_object_id],
    )?)
}

/// The device whose certificate has this thumbprint (SHA-1 hex, any case).
pub fn device_id_by_thumbprint(
    conn: &Connection,
    thumbprint: &str,
) -> Result<Option<String>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT device_id FROM devices WHERE thumbprint = ?1 COLLATE NOCASE",
            params![thumbprint],
            |row| row.get(0),
        )
        .optional()?)
}

/// Enable or disable a device object; false when there is no such device.
pub fn set_device_enabled(
    conn: &Connection,
    device_id: &str,
    enabled: bool,
) -> Result<bool, InternalError> {
    Ok(conn.execute(
        "UPDATE devices SET enabled = ?2 WHERE device_id = ?1 COLLATE NOCASE",
        params![device_id, enabled],
    )? == 1)
}

/// A user's password lockout state: failures in a row and until when sign-in is refused.
pub fn lockout(conn: &Connection, object_id: &str) -> Result<(u32, i64), InternalError> {
    Ok(conn
        .query_row(
            "SELECT failures, locked_until FROM password_lockout WHERE object_id = ?1",
            params![object_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, 0)))
}

pub fn set_lockout(
    conn: &Connection,
    object_id: &str,
    failures: u32,
    locked_until: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO password_lockout (object_id, failures, locked_until) VALUES (?1, ?2, ?3)
         ON CONFLICT(object_id) DO UPDATE SET failures = ?2, locked_until = ?3",
        params![object_id, failures, locked_until],
    )?;
    Ok(())
}

/// Set a user's password (admin action); the caller revokes the PRTs in the same breath.
pub fn set_password_hash(
    conn: &Connection,
    object_id: &str,
    hash: &str,
) -> Result<bool, InternalError> {
    Ok(conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE object_id = ?1 COLLATE NOCASE",
        params![object_id, hash],
    )? == 1)
}
