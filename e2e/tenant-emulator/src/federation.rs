//! Federation and MFA state: the on-premises STSs (AD FS) and their users, federated domains,
//! the synced cloud users they map to (by ImmutableID), TOTP secrets and wrong-code counters.
//!
//! Kept in its own tables, created and seeded here after [`crate::db::seed`], so the core
//! schema stays as it was. STS token-signing keys live in the `certificate_authorities` table
//! (name `adfs:<sts id>`), like the emulator's other keys.

use crate::ca;
use crate::db;
use crate::error::InternalError;
use crate::tenant_file::{TenantFile, TenantSpec};
use rsa::pkcs8::DecodePublicKey;
use rsa::{RsaPrivateKey, RsaPublicKey};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;

/// Wrong one-time codes allowed before the user's second factor locks.
pub const MAX_CODE_FAILURES: u32 = 5;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS sts (
    id TEXT PRIMARY KEY,
    brand_name TEXT NOT NULL,
    issuer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS federated_domains (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    tenant_id TEXT NOT NULL,
    sts_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sts_users (
    upn TEXT PRIMARY KEY COLLATE NOCASE,
    sts_id TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    immutable_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    totp_secret TEXT
);
CREATE TABLE IF NOT EXISTS second_factors (
    owner TEXT PRIMARY KEY,
    totp_secret TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_step INTEGER
);
CREATE TABLE IF NOT EXISTS used_assertions (
    sts_id TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (sts_id, assertion_id)
);
CREATE TABLE IF NOT EXISTS mfa_pending (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    payload TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
"#;

/// `[[sts]]`: an on-premises AD FS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsSpec {
    pub id: String,
    /// FederationBrandName shown by the realm answer and the STS page.
    pub brand_name: String,
    /// The STS's issuer URI (AD FS: `http://<host>/adfs/services/trust`).
    pub issuer: String,
    #[serde(default, rename = "user")]
    pub users: Vec<StsUserSpec>,
}

/// `[[sts.user]]`: an on-premises account, synced to the tenant of its UPN's domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsUserSpec {
    pub upn: String,
    pub password: String,
    /// Source anchor (base64 of the on-premises objectGUID), sent as NameIdentifier.
    pub immutable_id: String,
    /// Object id of the synced cloud user.
    pub object_id: String,
    pub display_name: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    /// Base32 TOTP secret: the STS asks for a code after the password.
    #[serde(default)]
    pub totp_secret: Option<String>,
    /// Base32 TOTP secret registered at the authority (Entra MFA) for the synced cloud user:
    /// when the STS did not claim `multipleauthn`, the authority asks for a code after the
    /// federated sign-in.
    #[serde(default)]
    pub authority_totp_secret: Option<String>,
}

/// `[[tenant.federated_domain]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederatedDomainSpec {
    pub domain: String,
    pub sts: String,
}

/// A configured STS with its token-signing key and certificate.
pub struct Sts {
    pub id: String,
    pub brand_name: String,
    pub issuer: String,
    pub key: RsaPrivateKey,
    pub cert_der: Vec<u8>,
}

impl Sts {
    pub fn public_key(&self) -> Result<RsaPublicKey, InternalError> {
        public_key_of(&self.cert_der)
    }
}

/// An on-premises account as the STS sees it.
pub struct StsUser {
    pub upn: String,
    pub sts_id: String,
    pub password_hash: String,
    pub immutable_id: String,
    pub totp_secret: Option<String>,
}

/// Cross-checks the plain deserialization cannot do.
pub fn check_specs(file: &TenantFile) -> Result<(), String> {
    for tenant in &file.tenants {
        for domain in &tenant.federated_domains {
            if !file.sts.iter().any(|s| s.id == domain.sts) {
                return Err(format!(
                    "domain {} names unknown STS {}",
                    domain.domain, domain.sts
                ));
            }
        }
    }
    for sts in &file.sts {
        for user in &sts.users {
            uuid::Uuid::parse_str(&user.object_id)
                .map_err(|_| format!("STS user {} object_id is not a GUID", user.upn))?;
            if let Some(secret) = &user.totp_secret {
                crate::totp::decode_secret(secret).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

fn public_key_of(cert_der: &[u8]) -> Result<RsaPublicKey, InternalError> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert_der)
        .map_err(|e| InternalError::Crypto(format!("STS certificate: {e}")))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| InternalError::Crypto(format!("STS key: {e}")))?;
    RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| InternalError::Crypto(format!("STS key: {e}")))
}

/// Create the tables and upsert the tenant file's federation data.
pub fn seed(conn: &mut Connection, file: &TenantFile) -> Result<(), InternalError> {
    conn.execute_batch(SCHEMA)?;
    migrate(conn)?;
    for sts in &file.sts {
        seed_sts(conn, file, sts)?;
    }
    for tenant in &file.tenants {
        for domain in &tenant.federated_domains {
            conn.execute(
                "INSERT INTO federated_domains (name, tenant_id, sts_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET tenant_id = ?2, sts_id = ?3",
                params![domain.domain, tenant.id, domain.sts],
            )?;
            // DRS and the token's tenant lookups find the tenant by the user's domain.
            conn.execute(
                "INSERT INTO domains (name, tenant_id, is_initial) VALUES (?1, ?2, 0)
                 ON CONFLICT(name) DO UPDATE SET tenant_id = ?2",
                params![domain.domain, tenant.id],
            )?;
        }
        for user in &tenant.users {
            if let Some(secret) = &user.totp_secret {
                set_second_factor(conn, &user.object_id, secret)?;
            }
        }
    }
    Ok(())
}

fn seed_sts(conn: &Connection, file: &TenantFile, sts: &StsSpec) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO sts (id, brand_name, issuer) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET brand_name = ?2, issuer = ?3",
        params![sts.id, sts.brand_name, sts.issuer],
    )?;
    let subject = format!("CN=ADFS Signing - {}", sts.id);
    ca::load_or_create_authority(conn, &format!("adfs:{}", sts.id), &subject)?;
    for user in &sts.users {
        seed_sts_user(conn, file, sts, user)?;
    }
    Ok(())
}

/// The on-premises account, and its synced cloud user (unusable cloud password: it signs in
/// only through its STS).
fn seed_sts_user(
    conn: &Connection,
    file: &TenantFile,
    sts: &StsSpec,
    user: &StsUserSpec,
) -> Result<(), InternalError> {
    let tenant = tenant_of_federated_user(file, user)?;
    upsert_sts_account(conn, sts, user)?;
    upsert_synced_cloud_user(conn, &tenant.id, user)?;
    seed_sts_user_second_factors(conn, user)
}

/// The tenant one of whose federated domains holds the user's UPN.
fn tenant_of_federated_user<'a>(
    file: &'a TenantFile,
    user: &StsUserSpec,
) -> Result<&'a TenantSpec, InternalError> {
    let domain = user.upn.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    file.tenants
        .iter()
        .find(|t| {
            t.federated_domains
                .iter()
                .any(|d| d.domain.eq_ignore_ascii_case(domain))
        })
        .ok_or_else(|| InternalError::Encoding(format!("{} is in no federated domain", user.upn)))
}

/// The STS's own account; an unchanged password keeps its stored hash.
fn upsert_sts_account(
    conn: &Connection,
    sts: &StsSpec,
    user: &StsUserSpec,
) -> Result<(), InternalError> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT password_hash FROM sts_users WHERE upn = ?1",
            params![user.upn],
            |r| r.get(0),
        )
        .optional()?;
    let hash = match existing {
        Some(hash) if db::verify_password(&hash, &user.password) => hash,
        _ => db::hash_password(&user.password)?,
    };
    conn.execute(
        "INSERT INTO sts_users (upn, sts_id, password_hash, immutable_id, object_id, totp_secret)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(upn) DO UPDATE SET sts_id = ?2, password_hash = ?3, immutable_id = ?4,
             object_id = ?5, totp_secret = ?6",
        params![
            user.upn,
            sts.id,
            hash,
            user.immutable_id,
            user.object_id,
            user.totp_secret
        ],
    )?;
    Ok(())
}

/// The synced cloud user: a new one gets a random (unusable) password hash, an existing one
/// keeps its hash.
fn upsert_synced_cloud_user(
    conn: &Connection,
    tenant_id: &str,
    user: &StsUserSpec,
) -> Result<(), InternalError> {
    let cloud_exists: bool = conn
        .query_row(
            "SELECT 1 FROM users WHERE object_id = ?1",
            params![user.object_id],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    let unusable = if cloud_exists {
        None
    } else {
        let random: [u8; 32] = rand::random();
        Some(db::hash_password(&hex::encode(random))?)
    };
    conn.execute(
        "INSERT INTO users (object_id, tenant_id, upn, password_hash, display_name, given_name, family_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(object_id) DO UPDATE SET tenant_id = ?2, upn = ?3, display_name = ?5,
             given_name = ?6, family_name = ?7",
        params![
            user.object_id,
            tenant_id,
            user.upn,
            unusable.unwrap_or_default(),
            user.display_name,
            user.given_name,
            user.family_name
        ],
    )?;
    Ok(())
}

/// The TOTP secret proved at the STS, and the one (if any) proved at the authority.
fn seed_sts_user_second_factors(
    conn: &Connection,
    user: &StsUserSpec,
) -> Result<(), InternalError> {
    if let Some(secret) = &user.totp_secret {
        set_second_factor(conn, &sts_owner(&user.upn), secret)?;
    }
    if let Some(secret) = &user.authority_totp_secret {
        set_second_factor(conn, &user.object_id, secret)?;
    }
    Ok(())
}

/// Bring a database created by an older emulator up to [`SCHEMA`]: `second_factors` gained
/// `last_step` (the last accepted TOTP time step).
fn migrate(conn: &Connection) -> Result<(), InternalError> {
    let has_last_step: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('second_factors') WHERE name = 'last_step'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_last_step {
        conn.execute_batch("ALTER TABLE second_factors ADD COLUMN last_step INTEGER")?;
    }
    Ok(())
}

/// Owner key of an on-premises account's second factor (cloud users use their object id).
pub fn sts_owner(upn: &str) -> String {
    format!("sts:{}", upn.to_ascii_lowercase())
}

fn set_second_factor(conn: &Connection, owner: &str, secret: &str) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO second_factors (owner, totp_secret) VALUES (?1, ?2)
         ON CONFLICT(owner) DO UPDATE SET totp_secret = ?2,
             last_step = CASE WHEN totp_secret = ?2 THEN last_step ELSE NULL END",
        params![owner, secret],
    )?;
    Ok(())
}

/// The STS a domain is federated to, if any.
pub fn sts_for_domain(conn: &Connection, domain: &str) -> Result<Option<Sts>, InternalError> {
    let id: Option<String> = conn
        .query_row(
            "SELECT sts_id FROM federated_domains WHERE name = ?1",
            params![domain],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => sts_by_id(conn, &id),
        None => Ok(None),
    }
}

pub fn sts_by_id(conn: &Connection, id: &str) -> Result<Option<Sts>, InternalError> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT brand_name, issuer FROM sts WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((brand_name, issuer)) = row else {
        return Ok(None);
    };
    let Some(stored) = db::certificate_authority(conn, &format!("adfs:{id}"))? else {
        return Ok(None);
    };
    Ok(Some(Sts {
        id: id.to_string(),
        brand_name,
        issuer,
        key: ca::key_from_pkcs1_der(&stored.private_pkcs1_der)?,
        cert_der: stored.cert_der,
    }))
}

/// The STS whose issuer URI is `issuer` (the federation trust of an incoming assertion).
pub fn sts_by_issuer(conn: &Connection, issuer: &str) -> Result<Option<Sts>, InternalError> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM sts WHERE issuer = ?1",
            params![issuer],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => sts_by_id(conn, &id),
        None => Ok(None),
    }
}

pub fn sts_user(
    conn: &Connection,
    sts_id: &str,
    upn: &str,
) -> Result<Option<StsUser>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT upn, sts_id, password_hash, immutable_id, totp_secret FROM sts_users
             WHERE upn = ?1 AND sts_id = ?2",
            params![upn.trim(), sts_id],
            |r| {
                Ok(StsUser {
                    upn: r.get(0)?,
                    sts_id: r.get(1)?,
                    password_hash: r.get(2)?,
                    immutable_id: r.get(3)?,
                    totp_secret: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// The synced cloud user whose source anchor is `immutable_id`, in the tenant that federates
/// to `sts_id`.
pub fn cloud_user_by_immutable_id(
    conn: &Connection,
    sts_id: &str,
    immutable_id: &str,
) -> Result<Option<db::User>, InternalError> {
    let object_id: Option<String> = conn
        .query_row(
            "SELECT object_id FROM sts_users WHERE immutable_id = ?1 AND sts_id = ?2",
            params![immutable_id, sts_id],
            |r| r.get(0),
        )
        .optional()?;
    match object_id {
        Some(id) => db::user_by_object_id(conn, &id),
        None => Ok(None),
    }
}

/// The outcome of checking a one-time code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    /// Wrong; this many tries are left.
    Wrong(u32),
    Locked,
}

/// The owner's TOTP secret, when a second factor is configured.
pub fn second_factor(conn: &Connection, owner: &str) -> Result<Option<String>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT totp_secret FROM second_factors WHERE owner = ?1",
            params![owner],
            |r| r.get(0),
        )
        .optional()?)
}

/// Check `code` for `owner`, counting wrong codes; a correct code resets the count. A code
/// of a time step at or before the last accepted one is refused like a wrong code (RFC 6238
/// §5.2: a code is accepted at most once), and an accepted step is remembered.
pub fn check_code(
    conn: &Connection,
    owner: &str,
    code: &str,
    now: i64,
) -> Result<CodeCheck, InternalError> {
    let row: Option<(String, u32, Option<i64>)> = conn
        .query_row(
            "SELECT totp_secret, failures, last_step FROM second_factors WHERE owner = ?1",
            params![owner],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((secret, failures, last_step)) = row else {
        return Ok(CodeCheck::Locked);
    };
    if failures >= MAX_CODE_FAILURES {
        return Ok(CodeCheck::Locked);
    }
    let key =
        crate::totp::decode_secret(&secret).map_err(|e| InternalError::Crypto(e.to_string()))?;
    let fresh = crate::totp::matching_step(&key, code, now)
        .filter(|step| last_step.is_none_or(|last| *step > last));
    if let Some(step) = fresh {
        // Conditional on the step, so two concurrent checks of one code cannot both pass.
        let accepted = conn.execute(
            "UPDATE second_factors SET failures = 0, last_step = ?2
             WHERE owner = ?1 AND (last_step IS NULL OR last_step < ?2)",
            params![owner, step],
        )?;
        if accepted == 1 {
            return Ok(CodeCheck::Accepted);
        }
    }
    conn.execute(
        "UPDATE second_factors SET failures = failures + 1 WHERE owner = ?1",
        params![owner],
    )?;
    let left = MAX_CODE_FAILURES.saturating_sub(failures + 1);
    Ok(if left == 0 {
        CodeCheck::Locked
    } else {
        CodeCheck::Wrong(left)
    })
}

/// Remember a sign-in waiting for its second factor (`payload` is the route's JSON).
pub fn insert_pending(
    conn: &Connection,
    id: &str,
    owner: &str,
    payload: &str,
    expires_at: i64,
) -> Result<(), InternalError> {
    conn.execute(
        "INSERT INTO mfa_pending (id, owner, payload, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET owner = ?2, payload = ?3, expires_at = ?4",
        params![id, owner, payload, expires_at],
    )?;
    Ok(())
}

/// A pending second-factor sign-in that has not expired: (owner, payload).
pub fn pending(
    conn: &Connection,
    id: &str,
    now: i64,
) -> Result<Option<(String, String)>, InternalError> {
    Ok(conn
        .query_row(
            "SELECT owner, payload FROM mfa_pending WHERE id = ?1 AND expires_at >= ?2",
            params![id, now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub fn delete_pending(conn: &Connection, id: &str) -> Result<(), InternalError> {
    conn.execute("DELETE FROM mfa_pending WHERE id = ?1", params![id])?;
    Ok(())
}

/// Record that STS `sts_id`'s assertion `assertion_id` was consumed; `false` when it already
/// was (a replay). Entries are kept until `expires_at`, when the assertion would be refused
/// as expired anyway; older ones are purged here.
pub fn consume_assertion(
    conn: &Connection,
    sts_id: &str,
    assertion_id: &str,
    expires_at: i64,
    now: i64,
) -> Result<bool, InternalError> {
    conn.execute(
        "DELETE FROM used_assertions WHERE expires_at < ?1",
        params![now],
    )?;
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO used_assertions (sts_id, assertion_id, expires_at) VALUES (?1, ?2, ?3)",
        params![sts_id, assertion_id, expires_at],
    )?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DP";
    const NOW: i64 = 1_800_000_015;

    fn with_factor() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        migrate(&conn).unwrap();
        set_second_factor(&conn, "owner-1", SECRET).unwrap();
        conn
    }

    fn code(at: i64) -> String {
        let key = crate::totp::decode_secret(SECRET).unwrap();
        format!("{:06}", crate::totp::code_at(&key, at))
    }

    #[test]
    fn an_accepted_code_is_not_accepted_again() {
        let conn = with_factor();
        let first = code(NOW);
        assert_eq!(
            check_code(&conn, "owner-1", &first, NOW).unwrap(),
            CodeCheck::Accepted
        );
        // Same code, same step (RFC 6238 §5.2: a verifier must not accept it twice).
        assert!(matches!(
            check_code(&conn, "owner-1", &first, NOW + 1).unwrap(),
            CodeCheck::Wrong(_)
        ));
        // Still inside the drift window one step later: refused too.
        assert!(matches!(
            check_code(&conn, "owner-1", &first, NOW + STEP).unwrap(),
            CodeCheck::Wrong(_)
        ));
        // The next step's code is fine; then the earlier step is refused even if in the window.
        assert_eq!(
            check_code(&conn, "owner-1", &code(NOW + STEP), NOW + STEP).unwrap(),
            CodeCheck::Accepted
        );
        assert!(matches!(
            check_code(&conn, "owner-1", &code(NOW), NOW + STEP).unwrap(),
            CodeCheck::Wrong(_)
        ));
    }

    const STEP: i64 = crate::totp::STEP_SECS;
}
