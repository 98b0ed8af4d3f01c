//! Bulk enrollment's tables: the package accounts' bulk tokens (BPRTs) and the begin/poll
//! flows that hand them out.
//!
//! A bulk token is a refresh token of its package account (`package_<pid>@<domain>`, a user of
//! the tenant with no usable password) for the device registration client and DRS. It is
//! checked here on every redemption: revoked or past its expiry, it is refused. Redeeming it
//! answers an access token only, never a new refresh token, so revoking the bulk token ends
//! every device's way in.

use crate::error::InternalError;
use rusqlite::{params, Connection, OptionalExtension};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS bulk_tokens (
    pid TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    package_object_id TEXT NOT NULL,
    package_upn TEXT NOT NULL,
    display_name TEXT NOT NULL,
    creator_object_id TEXT NOT NULL,
    refresh_token TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bulk_flows (
    flow_token TEXT PRIMARY KEY,
    caller_object_id TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"#;

pub fn init(conn: &Connection) -> Result<(), InternalError> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// One bulk token and its package account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BulkToken {
    pub pid: String,
    pub tenant_id: String,
    pub package_object_id: String,
    pub package_upn: String,
    pub display_name: String,
    pub creator_object_id: String,
    #[serde(skip)]
    pub refresh_token: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

/// Create (or, for a `pid` seen before, replace) the package account and its bulk token, in
/// one transaction: the account keeps its object id, the old token stops working.
pub fn put(
    conn: &mut Connection,
    token: &BulkToken,
    password_hash: &str,
) -> Result<(), InternalError> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO users (object_id, tenant_id, upn, password_hash, display_name)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(object_id) DO UPDATE SET display_name = excluded.display_name",
        params![
            token.package_object_id,
            token.tenant_id,
            token.package_upn,
            password_hash,
            token.display_name
        ],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO bulk_tokens (pid, tenant_id, package_object_id, package_upn,
             display_name, creator_object_id, refresh_token, created_at, expires_at, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0)",
        params![
            token.pid,
            token.tenant_id,
            token.package_object_id,
            token.package_upn,
            token.display_name,
            token.creator_object_id,
            token.refresh_token,
            token.created_at,
            token.expires_at
        ],
    )?;
    tx.commit()?;
    Ok(())
}

const COLUMNS: &str = "pid, tenant_id, package_object_id, package_upn, display_name, creator_object_id, refresh_token, created_at, expires_at, revoked";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<BulkToken> {
    Ok(BulkToken {
        pid: row.get(0)?,
        tenant_id: row.get(1)?,
        package_object_id: row.get(2)?,
        package_upn: row.get(3)?,
        display_name: row.get(4)?,
        creator_object_id: row.get(5)?,
        refresh_token: row.get(6)?,
        created_at: row.get(7)?,
        expires_at: row.get(8)?,
        revoked: row.get(9)?,
    })
}

/// The package account's object id of `pid`, if it exists already.
pub fn package_object_id(conn: &Connection, pid: &str) -> Result<Option<String>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT package_object_id FROM bulk_tokens WHERE lower(pid) = lower(?1)",
            params![pid],
            |row| row.get(0),
        )
        .optional()?)
}

/// The bulk token a refresh token is, if it is one.
pub fn by_refresh_token(
    conn: &Connection,
    token: &str,
) -> Result<Option<BulkToken>, InternalError> {
    let sql = format!("SELECT {COLUMNS} FROM bulk_tokens WHERE refresh_token = ?1");
    Ok(conn.query_row(&sql, params![token], from_row).optional()?)
}

/// Whether a user is a package account (its devices count toward no user's quota).
pub fn is_package_account(conn: &Connection, object_id: &str) -> Result<bool, InternalError> {
    Ok(conn
        .prepare("SELECT 1 FROM bulk_tokens WHERE lower(package_object_id) = lower(?1)")?
        .exists(params![object_id])?)
}

/// Every bulk token of every tenant, newest first (the admin API).
pub fn list(conn: &Connection) -> Result<Vec<BulkToken>, InternalError> {
    let sql = format!("SELECT {COLUMNS} FROM bulk_tokens ORDER BY created_at DESC, pid");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revoke `pid`'s bulk token; whether it existed.
pub fn revoke(conn: &Connection, pid: &str) -> Result<bool, InternalError> {
    Ok(conn.execute(
        "UPDATE bulk_tokens SET revoked = 1 WHERE lower(pid) = lower(?1)",
        params![pid],
    )? == 1)
}

pub fn insert_flow(
    conn: &Connection,
    flow_token: &str,
    caller_object_id: &str,
    result: &str,
    now: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO bulk_flows (flow_token, caller_object_id, result, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![flow_token, caller_object_id, result, now],
    )?;
    Ok(())
}

/// The result of a flow begun by `caller_object_id`, taken (a flow answers once).
pub fn take_flow(
    conn: &Connection,
    flow_token: &str,
    caller_object_id: &str,
) -> Result<Option<String>, InternalError> {
    let result: Option<String> = conn
        .query_row(
            "SELECT result FROM bulk_flows WHERE flow_token = ?1 AND lower(caller_object_id) = lower(?2)",
            params![flow_token, caller_object_id],
            |row| row.get(0),
        )
        .optional()?;
    if result.is_some() {
        conn.execute(
            "DELETE FROM bulk_flows WHERE flow_token = ?1",
            params![flow_token],
        )?;
    }
    Ok(result)
}
