//! SQLite state of the emulator: schema, seeding from the tenant file, and every query.
//!
//! One connection behind a mutex is plenty for an emulator; every function here takes the
//! connection so that the routes decide how long they hold it (never across an `.await`).

use crate::error::InternalError;
use crate::tenant_file::{TenantFile, TenantSpec, UserSpec};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    initial_domain TEXT NOT NULL,
    device_quota INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS domains (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    is_initial INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    object_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    upn TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    given_name TEXT,
    family_name TEXT,
    onprem_sid TEXT
);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    private_pkcs1_der BLOB NOT NULL,
    cert_der BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS certificate_authorities (
    name TEXT PRIMARY KEY,
    private_pkcs1_der BLOB NOT NULL,
    cert_der BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS login_contexts (
    id TEXT PRIMARY KEY,
    request_json TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    consumed INTEGER NOT NULL DEFAULT 0,
    cxhflow TEXT,
    cxhver TEXT,
    cxhplatform TEXT
);
CREATE TABLE IF NOT EXISTS auth_codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    user_object_id TEXT NOT NULL,
    nonce TEXT,
    resource TEXT,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    device_id TEXT,
    amr TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY,
    user_object_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user_object_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    owner_object_id TEXT NOT NULL,
    owner_upn TEXT NOT NULL,
    display_name TEXT NOT NULL,
    os_type TEXT NOT NULL,
    os_version TEXT NOT NULL,
    trust_type TEXT NOT NULL,
    join_type INTEGER NOT NULL,
    alternative_security_id TEXT NOT NULL,
    thumbprint TEXT NOT NULL,
    transport_key TEXT NOT NULL,
    cert_der BLOB NOT NULL,
    enabled INTEGER NOT NULL,
    attested INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    attestation TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS attestation_policy (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    required INTEGER NOT NULL
);
"#;

pub struct Tenant {
    pub id: String,
    pub display_name: String,
    pub initial_domain: String,
    pub device_quota: u32,
}

pub struct User {
    pub object_id: String,
    pub tenant_id: String,
    pub upn: String,
    pub password_hash: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub onprem_sid: Option<String>,
}

/// A pending authorize request, waiting for the user's credentials.
pub struct LoginContext {
    pub id: String,
    pub request_json: String,
    pub expires_at: i64,
    pub failures: u32,
    pub consumed: bool,
}

/// A stored, not yet redeemed authorization code.
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_object_id: String,
    pub nonce: Option<String>,
    pub resource: Option<String>,
    pub expires_at: i64,
    pub used: bool,
    /// The device a PRT cookie sign-in proved, and that PRT's authentication methods.
    pub device_id: Option<String>,
    pub amr: Option<Vec<String>>,
    /// PKCE: the challenge and its method (`S256`/`plain`) the redemption must answer.
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A device object as DRS keeps it.
#[derive(Debug, Clone)]
pub struct Device {
    pub device_id: String,
    pub object_id: String,
    pub tenant_id: String,
    pub owner_object_id: String,
    pub owner_upn: String,
    pub display_name: String,
    pub os_type: String,
    pub os_version: String,
    pub trust_type: String,
    pub join_type: u32,
    pub alternative_security_id: String,
    pub thumbprint: String,
    pub transport_key: String,
    pub cert_der: Vec<u8>,
    pub enabled: bool,
    pub attested: bool,
    /// Which keys are attested and by what chain (stored as JSON).
    pub attestation: cxh_wire::key_attestation::DeviceAttestation,
    pub created_at: String,
}

/// A stored RSA key with its certificate (token signing key or a CA).
pub struct StoredKey {
    pub name: String,
    pub private_pkcs1_der: Vec<u8>,
    pub cert_der: Vec<u8>,
}

/// Open (or create) the database and make sure the schema exists.
///
/// The file holds the tenants' signing and CA private keys: it is created (or tightened to)
/// 0600 before SQLite opens it, and SQLite gives its `-wal` and `-shm` files the database
/// file's mode.
pub fn open(path: &Path) -> Result<Connection, InternalError> {
    owner_only(path)
        .map_err(|e| InternalError::Storage(format!("securing {}: {e}", path.display())))?;
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;")?;
    conn.execute_batch(SCHEMA)?;
    add_attestation_column(&conn)?;
    add_code_device_columns(&conn)?;
    Ok(conn)
}

/// Create `path` as an empty 0600 file if missing, else set its mode to 0600.
fn owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// A database from before per-key attestation lacks the `attestation` column: add it.
fn add_attestation_column(conn: &Connection) -> Result<(), InternalError> {
    let has: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('devices') WHERE name = 'attestation'")?
        .exists([])?;
    if !has {
        conn.execute_batch("ALTER TABLE devices ADD COLUMN attestation TEXT NOT NULL DEFAULT ''")?;
    }
    Ok(())
}

/// Databases made before codes could carry a device and a PKCE challenge get those columns.
fn add_code_device_columns(conn: &Connection) -> Result<(), InternalError> {
    for column in [
        "device_id",
        "amr",
        "code_challenge",
        "code_challenge_method",
    ] {
        let has: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('auth_codes') WHERE name = ?1")?
            .exists([column])?;
        if !has {
            conn.execute_batch(&format!("ALTER TABLE auth_codes ADD COLUMN {column} TEXT"))?;
        }
    }
    Ok(())
}

/// Upsert every tenant, domain and user of the tenant file.
pub fn seed(conn: &mut Connection, file: &TenantFile) -> Result<(), InternalError> {
    let tx = conn.transaction()?;
    for tenant in &file.tenants {
        upsert_tenant(&tx, tenant)?;
        set_attestation_required(&tx, &tenant.id, tenant.require_attestation)?;
        for user in &tenant.users {
            upsert_user(&tx, &tenant.id, user)?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn set_attestation_required(
    conn: &Connection,
    tenant_id: &str,
    required: bool,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO attestation_policy (tenant_id, required) VALUES (?1, ?2)
         ON CONFLICT(tenant_id) DO UPDATE SET required = ?2",
        params![tenant_id, required],
    )?;
    Ok(())
}

/// Whether the tenant requires a TPM-attested transport key (tenant file `require_attestation`).
pub fn attestation_required(conn: &Connection, tenant_id: &str) -> Result<bool, InternalError> {
    let required: Option<bool> = conn
        .query_row(
            "SELECT required FROM attestation_policy WHERE tenant_id = ?1 COLLATE NOCASE",
            params![tenant_id],
            |row| row.get(0),
        )
        .optional()?;
    Ok(required.unwrap_or(false))
}

fn upsert_tenant(conn: &Connection, tenant: &TenantSpec) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO tenants (id, display_name, initial_domain, device_quota) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET display_name = ?2, initial_domain = ?3, device_quota = ?4",
        params![tenant.id, tenant.display_name, tenant.initial_domain, tenant.device_quota()],
    )?;
    conn.execute(
        "DELETE FROM domains WHERE tenant_id = ?1",
        params![tenant.id],
    )?;
    let initial = std::iter::once((&tenant.initial_domain, true));
    let verified = tenant.verified_domains.iter().map(|d| (d, false));
    for (name, is_initial) in initial.chain(verified) {
        conn.execute(
            "INSERT INTO domains (name, tenant_id, is_initial) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET tenant_id = ?2, is_initial = ?3",
            params![name, tenant.id, is_initial],
        )?;
    }
    Ok(())
}

fn upsert_user(conn: &Connection, tenant_id: &str, user: &UserSpec) -> Result<(), InternalError> {
    // Re-hash only when the password changed, so restarts keep the stored hash (and are fast).
    let existing: Option<String> = conn
        .query_row(
            "SELECT password_hash FROM users WHERE object_id = ?1",
            params![user.object_id],
            |row| row.get(0),
        )
        .optional()?;
    let password_hash = match existing {
        Some(hash) if verify_password(&hash, &user.password) => hash,
        _ => hash_password(&user.password)?,
    };
    conn.execute(
        "INSERT INTO users (object_id, tenant_id, upn, password_hash, display_name, given_name, family_name, onprem_sid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(object_id) DO UPDATE SET tenant_id = ?2, upn = ?3, password_hash = ?4,
             display_name = ?5, given_name = ?6, family_name = ?7, onprem_sid = ?8",
        params![
            user.object_id,
            tenant_id,
            user.upn,
            password_hash,
            user.display_name,
            user.given_name,
            user.family_name,
            user.onprem_sid
        ],
    )?;
    Ok(())
}

/// The Argon2id cost of the emulator's password hashes: 1 MiB, one pass, one lane (~1 ms),
/// instead of the library's default for a real directory (19 MiB, two passes: ~28 ms of CPU,
/// which bounded a load run at ~35 sign-ins/s on two cores). The emulator's passwords stand in
/// clear in its tenant file: the hash keeps them out of the database and runs the same verify
/// path a directory does, but its cost would protect nothing. A hash stored with other
/// parameters (an older database) still verifies: the PHC string carries its own.
pub const PASSWORD_HASH_PARAMS: (u32, u32, u32) = (1024, 1, 1);

fn emulator_argon2() -> Argon2<'static> {
    let (memory_kib, passes, lanes) = PASSWORD_HASH_PARAMS;
    let params =
        argon2::Params::new(memory_kib, passes, lanes, None).expect("valid Argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Argon2id hash in PHC string format, at [`PASSWORD_HASH_PARAMS`].
pub fn hash_password(password: &str) -> Result<String, InternalError> {
    let salt = SaltString::generate(&mut OsRng);
    emulator_argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| InternalError::Crypto(format!("argon2: {e}")))
}

/// Whether `password` matches a stored PHC hash; a malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn tenant_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: row.get(0)?,
        display_name: row.get(1)?,
        initial_domain: row.get(2)?,
        device_quota: row.get(3)?,
    })
}

pub fn tenant_by_id(conn: &Connection, id: &str) -> Result<Option<Tenant>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT id, display_name, initial_domain, device_quota FROM tenants WHERE id = ?1 COLLATE NOCASE",
            params![id],
            tenant_from_row,
        )
        .optional()?)
}

/// The tenant that owns a verified or initial domain.
pub fn tenant_by_domain(conn: &Connection, domain: &str) -> Result<Option<Tenant>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT t.id, t.display_name, t.initial_domain, t.device_quota
             FROM tenants t JOIN domains d ON d.tenant_id = t.id WHERE d.name = ?1",
            params![domain],
            tenant_from_row,
        )
        .optional()?)
}

/// Resolve the `{tenant}` path segment: a tenant id or one of its domains.
pub fn tenant_by_id_or_domain(
    conn: &Connection,
    key: &str,
) -> Result<Option<Tenant>, InternalError> {
    match tenant_by_id(conn, key)? {
        Some(t) => Ok(Some(t)),
        None => tenant_by_domain(conn, key),
    }
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        object_id: row.get(0)?,
        tenant_id: row.get(1)?,
        upn: row.get(2)?,
        password_hash: row.get(3)?,
        display_name: row.get(4)?,
        given_name: row.get(5)?,
        family_name: row.get(6)?,
        onprem_sid: row.get(7)?,
    })
}

const USER_COLUMNS: &str =
    "object_id, tenant_id, upn, password_hash, display_name, given_name, family_name, onprem_sid";

pub fn user_by_upn(conn: &Connection, upn: &str) -> Result<Option<User>, InternalError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE upn = ?1");
    Ok(conn
        .query_row(&sql, params![upn], user_from_row)
        .optional()?)
}

pub fn user_by_object_id(
    conn: &Connection,
    object_id: &str,
) -> Result<Option<User>, InternalError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE object_id = ?1 COLLATE NOCASE");
    Ok(conn
        .query_row(&sql, params![object_id], user_from_row)
        .optional()?)
}

/// The newest token signing key, if one was created.
pub fn signing_key(conn: &Connection) -> Result<Option<StoredKey>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT kid, private_pkcs1_der, cert_der FROM signing_keys ORDER BY created_at DESC LIMIT 1",
            [],
            stored_key_from_row,
        )
        .optional()?)
}

pub fn insert_signing_key(
    conn: &Connection,
    key: &StoredKey,
    now: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO signing_keys (kid, private_pkcs1_der, cert_der, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![key.name, key.private_pkcs1_der, key.cert_der, now],
    )?;
    Ok(())
}

fn stored_key_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        name: row.get(0)?,
        private_pkcs1_der: row.get(1)?,
        cert_der: row.get(2)?,
    })
}

/// A certificate authority by name (`tenant:<id>` or `tls`).
pub fn certificate_authority(
    conn: &Connection,
    name: &str,
) -> Result<Option<StoredKey>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT name, private_pkcs1_der, cert_der FROM certificate_authorities WHERE name = ?1",
            params![name],
            stored_key_from_row,
        )
        .optional()?)
}

/// Store a CA unless one with that name already exists; returns the stored one.
pub fn insert_certificate_authority(
    conn: &Connection,
    key: &StoredKey,
) -> Result<StoredKey, InternalError> {
    conn.execute(
        "INSERT OR IGNORE INTO certificate_authorities (name, private_pkcs1_der, cert_der) VALUES (?1, ?2, ?3)",
        params![key.name, key.private_pkcs1_der, key.cert_der],
    )?;
    certificate_authority(conn, &key.name)?
        .ok_or_else(|| InternalError::Encoding("CA vanished after insert".into()))
}

pub fn insert_login_context(
    conn: &Connection,
    id: &str,
    request_json: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO login_contexts (id, request_json, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, request_json, now, expires_at],
    )?;
    Ok(())
}

pub fn login_context(conn: &Connection, id: &str) -> Result<Option<LoginContext>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT id, request_json, expires_at, failures, consumed FROM login_contexts WHERE id = ?1",
            params![id],
            |row| {
                Ok(LoginContext {
                    id: row.get(0)?,
                    request_json: row.get(1)?,
                    expires_at: row.get(2)?,
                    failures: row.get(3)?,
                    consumed: row.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Remember which CXH flow and platform posted the credentials (seed 001 `cxhflow`…).
pub fn record_cxh_params(
    conn: &Connection,
    id: &str,
    flow: Option<&str>,
    version: Option<&str>,
    platform: Option<&str>,
) -> Result<(), InternalError> {
    conn.execute(
        "UPDATE login_contexts SET cxhflow = ?2, cxhver = ?3, cxhplatform = ?4 WHERE id = ?1",
        params![id, flow, version, platform],
    )?;
    Ok(())
}

/// Count one failed attempt; returns the new failure count.
pub fn record_login_failure(conn: &Connection, id: &str) -> Result<u32, InternalError> {
    conn.execute(
        "UPDATE login_contexts SET failures = failures + 1 WHERE id = ?1",
        params![id],
    )?;
    Ok(conn.query_row(
        "SELECT failures FROM login_contexts WHERE id = ?1",
        params![id],
        |row| row.get(0),
    )?)
}

/// Mark the context used; false when another request consumed it first.
pub fn consume_login_context(conn: &Connection, id: &str) -> Result<bool, InternalError> {
    let changed = conn.execute(
        "UPDATE login_contexts SET consumed = 1 WHERE id = ?1 AND consumed = 0",
        params![id],
    )?;
    Ok(changed == 1)
}

pub fn insert_auth_code(
    conn: &Connection,
    code: &str,
    data: &AuthCode,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO auth_codes (code, client_id, redirect_uri, user_object_id, nonce, resource, expires_at, device_id, amr, code_challenge, code_challenge_method)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            code,
            data.client_id,
            data.redirect_uri,
            data.user_object_id,
            data.nonce,
            data.resource,
            data.expires_at,
            data.device_id,
            data.amr.as_ref().map(|amr| amr.join(" ")),
            data.code_challenge,
            data.code_challenge_method
        ],
    )?;
    Ok(())
}

/// Fetch a code and mark it used in one step (codes are single use).
pub fn take_auth_code(conn: &Connection, code: &str) -> Result<Option<AuthCode>, InternalError> {
    let found = conn
        .query_row(
            "SELECT client_id, redirect_uri, user_object_id, nonce, resource, expires_at, used, device_id, amr, code_challenge, code_challenge_method
             FROM auth_codes WHERE code = ?1",
            params![code],
            |row| {
                Ok(AuthCode {
                    client_id: row.get(0)?,
                    redirect_uri: row.get(1)?,
                    user_object_id: row.get(2)?,
                    nonce: row.get(3)?,
                    resource: row.get(4)?,
                    expires_at: row.get(5)?,
                    used: row.get(6)?,
                    device_id: row.get(7)?,
                    amr: row
                        .get::<_, Option<String>>(8)?
                        .map(|amr| amr.split_whitespace().map(str::to_string).collect()),
                    code_challenge: row.get(9)?,
                    code_challenge_method: row.get(10)?,
                })
            },
        )
        .optional()?;
    conn.execute(
        "UPDATE auth_codes SET used = 1 WHERE code = ?1",
        params![code],
    )?;
    Ok(found)
}

pub fn insert_refresh_token(
    conn: &Connection,
    token: &str,
    user_object_id: &str,
    client_id: &str,
    resource: &str,
    now: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO refresh_tokens (token, user_object_id, client_id, resource, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token, user_object_id, client_id, resource, now],
    )?;
    Ok(())
}

/// A refresh token the token endpoint issued.
pub struct StoredRefreshToken {
    pub user_object_id: String,
    pub client_id: String,
    pub resource: String,
}

pub fn refresh_token(
    conn: &Connection,
    token: &str,
) -> Result<Option<StoredRefreshToken>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT user_object_id, client_id, resource FROM refresh_tokens WHERE token = ?1",
            params![token],
            |row| {
                Ok(StoredRefreshToken {
                    user_object_id: row.get(0)?,
                    client_id: row.get(1)?,
                    resource: row.get(2)?,
                })
            },
        )
        .optional()?)
}

pub fn insert_session(
    conn: &Connection,
    id: &str,
    user_object_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO sessions (id, user_object_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, user_object_id, now, expires_at],
    )?;
    Ok(())
}

pub fn count_devices_of_owner(
    conn: &Connection,
    owner_object_id: &str,
) -> Result<u32, InternalError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM devices WHERE owner_object_id = ?1",
        params![owner_object_id],
        |row| row.get(0),
    )?)
}

/// Write a device object; the quota is checked inside the same transaction so that two
/// concurrent registrations cannot both take the last slot.
pub fn insert_device_within_quota(
    conn: &mut Connection,
    device: &Device,
    quota: u32,
) -> Result<bool, InternalError> {
    let tx = conn.transaction()?;
    if count_devices_of_owner(&tx, &device.owner_object_id)? >= quota {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO devices (device_id, object_id, tenant_id, owner_object_id, owner_upn, display_name,
             os_type, os_version, trust_type, join_type, alternative_security_id, thumbprint,
             transport_key, cert_der, enabled, attested, created_at, attestation)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            device.device_id,
            device.object_id,
            device.tenant_id,
            device.owner_object_id,
            device.owner_upn,
            device.display_name,
            device.os_type,
            device.os_version,
            device.trust_type,
            device.join_type,
            device.alternative_security_id,
            device.thumbprint,
            device.transport_key,
            device.cert_der,
            device.enabled,
            device.attested,
            device.created_at,
            serde_json::to_string(&device.attestation).unwrap_or_default()
        ],
    )?;
    tx.commit()?;
    Ok(true)
}

const DEVICE_COLUMNS: &str =
    "device_id, object_id, tenant_id, owner_object_id, owner_upn, display_name,
    os_type, os_version, trust_type, join_type, alternative_security_id, thumbprint, transport_key,
    cert_der, enabled, attested, created_at, attestation";

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        device_id: row.get(0)?,
        object_id: row.get(1)?,
        tenant_id: row.get(2)?,
        owner_object_id: row.get(3)?,
        owner_upn: row.get(4)?,
        display_name: row.get(5)?,
        os_type: row.get(6)?,
        os_version: row.get(7)?,
        trust_type: row.get(8)?,
        join_type: row.get(9)?,
        alternative_security_id: row.get(10)?,
        thumbprint: row.get(11)?,
        transport_key: row.get(12)?,
        cert_der: row.get(13)?,
        enabled: row.get(14)?,
        attested: row.get(15)?,
        created_at: row.get(16)?,
        attestation: serde_json::from_str(&row.get::<_, String>(17)?).unwrap_or_default(),
    })
}

pub fn device(conn: &Connection, device_id: &str) -> Result<Option<Device>, InternalError> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = ?1 COLLATE NOCASE");
    Ok(conn
        .query_row(&sql, params![device_id], device_from_row)
        .optional()?)
}

pub fn devices(conn: &Connection) -> Result<Vec<Device>, InternalError> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY created_at, device_id");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], device_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn delete_device(conn: &Connection, device_id: &str) -> Result<bool, InternalError> {
    let changed = conn.execute(
        "DELETE FROM devices WHERE device_id = ?1 COLLATE NOCASE",
        params![device_id],
    )?;
    Ok(changed == 1)
}

#[cfg(test)]
mod file_mode_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_database_and_its_wal_are_owner_only_even_when_the_file_existed_0644() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.sqlite");
        let conn = open(&fresh).unwrap();
        conn.execute_batch("CREATE TABLE probe (x); INSERT INTO probe VALUES (1);")
            .unwrap();
        assert_eq!(mode(&fresh), 0o600);
        let wal = dir.path().join("fresh.sqlite-wal");
        assert!(wal.exists(), "WAL mode writes a -wal file");
        assert_eq!(mode(&wal), 0o600);

        let loose = dir.path().join("loose.sqlite");
        std::fs::write(&loose, b"").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open(&loose).unwrap());
        assert_eq!(mode(&loose), 0o600);
    }
}

#[cfg(test)]
mod password_hash_tests {
    use super::*;

    #[test]
    fn hashes_use_the_emulators_cost_and_verify_only_the_right_password() {
        let hash = hash_password("Correct-Horse-42").unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let param = |name: &str| parsed.params.get_decimal(name);
        let (memory_kib, passes, lanes) = PASSWORD_HASH_PARAMS;
        assert_eq!(param("m"), Some(memory_kib));
        assert_eq!(param("t"), Some(passes));
        assert_eq!(param("p"), Some(lanes));
        assert!(verify_password(&hash, "Correct-Horse-42"));
        assert!(!verify_password(&hash, "Correct-Horse-43"));
        assert!(!verify_password("not a PHC string", "Correct-Horse-42"));
    }

    #[test]
    fn a_hash_made_at_the_librarys_default_cost_still_verifies() {
        let salt = SaltString::generate(&mut OsRng);
        let old = Argon2::default()
            .hash_password(b"Correct-Horse-42", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password(&old, "Correct-Horse-42"));
        assert!(!verify_password(&old, "wrong"));
    }
}
