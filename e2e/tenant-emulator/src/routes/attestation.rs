//! DRS's credential activation challenge, asked before a TPM-attested registration (our
//! design in the place of Windows' privacy CA round trip; wire in `cxh_wire::key_attestation`).
//!
//! `POST /EnrollmentServer/attestation/challenge?api-version=1.0`, bearer: the joining user's
//! DRS token. DRS checks the EK certificate against the TPM roots it trusts and the AK's
//! public area (a restricted, fixedTPM signing key with a SHA-256 name), then answers
//! TPM2_MakeCredential(EK, fresh 32-byte secret, name(AK)). The challenge is kept (SQLite,
//! keyed by the AK's name, for this tenant and user) for five minutes; a registration whose
//! statement names that AK takes it, once.

use crate::attestation::{attr, name_of, parse_rsa_public, Activation};
use crate::csr::decode_base64;
use crate::error::{DrsServiceError, InternalError};
use crate::make_credential::make_credential;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cxh_wire::key_attestation::{
    AttestationChallengeRequest, AttestationChallengeResponse, CHALLENGE_API_VERSION,
    CHALLENGE_PATH,
};
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// How long a challenge may wait for its registration.
pub const CHALLENGE_LIFETIME_SECS: u64 = 300;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS attestation_challenges (
    ak_name TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    owner_object_id TEXT NOT NULL,
    secret BLOB NOT NULL,
    ek_chain TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);";

pub fn init(conn: &Connection) -> Result<(), InternalError> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

pub fn routes() -> Router<AppState> {
    Router::new().route(CHALLENGE_PATH, post(challenge))
}

async fn challenge(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<AttestationChallengeResponse>, DrsServiceError> {
    let version = query.get("api-version").map(String::as_str).unwrap_or("");
    if version != CHALLENGE_API_VERSION {
        return Err(DrsServiceError::BadApiVersion(version.to_string()));
    }
    let caller = super::drs::authenticate_caller(&state, &headers)?;
    let invalid = |why: String| DrsServiceError::InvalidRequest(why);
    let request: AttestationChallengeRequest = serde_json::from_slice(&body)
        .map_err(|e| invalid(format!("the challenge request is not valid JSON: {e}")))?;
    let ek_der = decode_base64(&request.ek_certificate)
        .ok_or_else(|| invalid("EkCertificate is not valid base64".into()))?;
    let ak_public = decode_base64(&request.ak_public)
        .ok_or_else(|| invalid("AkPublic is not valid base64".into()))?;
    let ek = state
        .config()
        .tpm_roots
        .verify_ek(&ek_der, crate::tokens::now())
        .map_err(|e| DrsServiceError::Attestation(e.into()))?;
    let ak = parse_rsa_public(&ak_public, "attestation key")?;
    let needs = attr::FIXED_TPM | attr::FIXED_PARENT | attr::RESTRICTED | attr::SIGN;
    if ak.attributes & needs != needs {
        return Err(crate::attestation::AttestationError::Attributes {
            what: "attestation key",
            has: ak.attributes,
            needs,
        }
        .into());
    }
    let name = name_of(&ak_public);
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let made = make_credential(&ek.public, &secret, &name)
        .map_err(|e| InternalError::Encoding(e.to_string()))?;
    let chain =
        serde_json::to_string(&ek.chain).map_err(|e| InternalError::Encoding(e.to_string()))?;
    state
        .db()
        .execute(
            "INSERT OR REPLACE INTO attestation_challenges
             (ak_name, tenant_id, owner_object_id, secret, ek_chain, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                hex::encode(&name),
                caller.tenant.id,
                caller.user.object_id,
                secret.to_vec(),
                chain,
                crate::tokens::now() + CHALLENGE_LIFETIME_SECS as i64
            ],
        )
        .map_err(InternalError::from)?;
    tracing::info!(owner = %caller.user.upn, ek_root = %ek.chain.last().cloned().unwrap_or_default(), "credential activation challenge issued");
    Ok(Json(AttestationChallengeResponse {
        credential_blob: STANDARD.encode(&made.credential_blob),
        encrypted_secret: STANDARD.encode(&made.encrypted_secret),
        ek_chain: ek.chain,
        expires_in: CHALLENGE_LIFETIME_SECS,
    }))
}

/// Take (once) the live challenge of `ak_name` issued to this tenant's user.
pub fn take_activation(
    conn: &Connection,
    ak_name: &[u8],
    tenant_id: &str,
    owner_object_id: &str,
) -> Result<Option<Activation>, InternalError> {
    let key = hex::encode(ak_name);
    let row: Option<(Vec<u8>, String)> = conn
        .query_row(
            "SELECT secret, ek_chain FROM attestation_challenges
             WHERE ak_name = ?1 AND tenant_id = ?2 COLLATE NOCASE
               AND owner_object_id = ?3 COLLATE NOCASE AND expires_at >= ?4",
            params![key, tenant_id, owner_object_id, crate::tokens::now()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    conn.execute(
        "DELETE FROM attestation_challenges WHERE ak_name = ?1 OR expires_at < ?2",
        params![key, crate::tokens::now()],
    )?;
    Ok(row.map(|(secret, chain)| Activation {
        secret,
        ek_chain: serde_json::from_str(&chain).unwrap_or_default(),
    }))
}
