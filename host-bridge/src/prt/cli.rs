//! What the `sign-in`, `logon`, `prt show`, `prt renew` and `token` commands do (main.rs only
//! parses their arguments). Nothing secret is printed except the access token `token` was asked
//! for; `prt show` prints metadata only.

use std::path::Path;

use serde::Serialize;

use super::client::Audience;
use super::signin::PrtContext;
use super::store::{self, PrtRecord};
use super::PrtError;
use crate::status::format_utc;
use crate::store::MachineStore;

/// Exit code of `token` when only an interactive sign-in can help (expired/revoked PRT, MFA,
/// disabled device), distinct from other failures (1).
pub const EXIT_INTERACTION_REQUIRED: i32 = 4;

/// Where the device state and the TPM are.
pub struct Target<'a> {
    pub state_dir: &'a Path,
    pub tpm_tcti: Option<&'a str>,
    pub ca_file: Option<&'a Path>,
}

impl Target<'_> {
    fn open(&self) -> Result<PrtContext, PrtError> {
        PrtContext::open(self.state_dir, self.tpm_tcti, self.ca_file)
    }
}

/// The metadata line of a record (no secrets).
#[derive(Debug, Serialize)]
pub struct PrtSummary {
    pub upn: String,
    pub tenant_id: String,
    pub authority: String,
    pub federated: bool,
    pub usable: bool,
    pub issued: String,
    pub updated: String,
    pub expires: String,
    pub session_key_tpm_held: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_reason: Option<String>,
}

impl From<&PrtRecord> for PrtSummary {
    fn from(r: &PrtRecord) -> Self {
        PrtSummary {
            upn: r.upn.clone(),
            tenant_id: r.tenant_id.clone(),
            authority: r.authority.clone(),
            federated: r.federated,
            usable: r.prt.is_some() && r.dead_reason.is_none(),
            issued: format_utc(r.issued_at),
            updated: format_utc(r.updated_at),
            expires: format_utc(r.expires_at),
            session_key_tpm_held: r.session_key_tpm_held,
            dead_reason: r.dead_reason.clone(),
        }
    }
}

/// `sign-in`: a PRT with the password (read from stdin by main).
pub async fn sign_in(
    target: &Target<'_>,
    upn: &str,
    password: &str,
) -> Result<PrtSummary, PrtError> {
    let ctx = target.open()?;
    Ok(PrtSummary::from(&ctx.sign_in(upn, password).await?))
}

/// `logon`: a PRT with the OOBE automatic sign-in buffer.
pub async fn logon(target: &Target<'_>) -> Result<PrtSummary, PrtError> {
    let ctx = target.open()?;
    Ok(PrtSummary::from(&ctx.logon().await?))
}

/// `prt renew`.
pub async fn renew(target: &Target<'_>, upn: Option<&str>) -> Result<PrtSummary, PrtError> {
    let ctx = target.open()?;
    let upn = upn.map(str::to_string).unwrap_or_else(|| ctx.default_upn());
    Ok(PrtSummary::from(&ctx.renew(&upn).await?))
}

/// `prt show`: every record's metadata.
pub fn show(state_dir: &Path) -> Vec<PrtSummary> {
    store::list(&MachineStore::at(state_dir))
        .iter()
        .map(PrtSummary::from)
        .collect()
}

/// The text of `prt show`.
pub fn render(summaries: &[PrtSummary]) -> String {
    if summaries.is_empty() {
        return "no PRT: sign in first (host-bridge logon, or host-bridge sign-in)\n".into();
    }
    let mut out = String::new();
    for s in summaries {
        out.push_str(&format!(
            "{}\n  tenant {} at {}\n  usable {}  federated {}  session key in TPM {}\n  issued {}  updated {}  expires {}\n",
            s.upn, s.tenant_id, s.authority, s.usable, s.federated, s.session_key_tpm_held,
            s.issued, s.updated, s.expires
        ));
        if let Some(reason) = &s.dead_reason {
            out.push_str(&format!("  unusable: {reason}\n"));
        }
    }
    out
}

/// `token`: an access token for `client_id`, silently.
pub async fn token(
    target: &Target<'_>,
    upn: Option<&str>,
    client_id: &str,
    audience: &Audience,
) -> Result<String, PrtError> {
    let ctx = target.open()?;
    let upn = upn.map(str::to_string).unwrap_or_else(|| ctx.default_upn());
    let answer = ctx.app_token(&upn, client_id, audience, None).await?;
    answer
        .access_token
        .ok_or_else(|| PrtError::BadResponse("no access token".into()))
}
