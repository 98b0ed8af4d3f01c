//! The tenant file (TOML): tenants, their domains and users, seeded into SQLite at start.
//!
//! The file is the single source of the fixture identities; the database is upserted from it
//! on every start so that edits to the file take effect without deleting the database.

use serde::Deserialize;
use std::path::Path;

/// Per-user device quota when a tenant does not set one (the real service's default).
pub const DEFAULT_DEVICE_QUOTA: u32 = 20;

#[derive(Debug, thiserror::Error)]
pub enum TenantFileError {
    #[error("cannot read tenant file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("tenant file {path} is not valid: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("tenant file is inconsistent: {0}")]
    Invalid(String),
}

/// The whole file: `[[tenant]]` tables and optional `[[client]]` registrations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<TenantSpec>,
    /// Extra applications allowed at `authorize`/`token` besides DRS and MDM.
    #[serde(default, rename = "client")]
    pub clients: Vec<ClientSpec>,
    /// On-premises security token services (AD FS) of federated domains.
    #[serde(default, rename = "sts")]
    pub sts: Vec<crate::federation::StsSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub id: String,
    pub display_name: String,
    pub initial_domain: String,
    #[serde(default)]
    pub verified_domains: Vec<String>,
    #[serde(default)]
    pub device_quota: Option<u32>,
    /// Refuse registrations whose transport key has no valid TPM attestation.
    #[serde(default)]
    pub require_attestation: bool,
    /// Refuse session-key signatures made with KDF v1 (context = ctx alone); the tenant's
    /// openid-configuration then lists the `kdf_ver2` capability (MS-OAPXBC).
    #[serde(default)]
    pub require_kdf_v2: bool,
    #[serde(default, rename = "user")]
    pub users: Vec<UserSpec>,
    /// The tenant's MDM application (Intune analogue); no MDM when absent.
    #[serde(default)]
    pub mdm: Option<MdmSpec>,
    /// Domains whose users sign in at an on-premises STS.
    #[serde(default, rename = "federated_domain")]
    pub federated_domains: Vec<crate::federation::FederatedDomainSpec>,
}

/// Which users the MDM application applies to (Entra's "MDM user scope").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MdmScope {
    #[default]
    All,
    Some,
    None,
}

/// MDM URLs of a tenant; `{mdm}` in a URL stands for the emulator's MDM origin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MdmSpec {
    pub enrollment_url: String,
    #[serde(default)]
    pub terms_of_use_url: Option<String>,
    #[serde(default)]
    pub compliance_url: Option<String>,
    #[serde(default)]
    pub scope: MdmScope,
    /// UPNs in scope when `scope = "some"`.
    #[serde(default)]
    pub users: Vec<String>,
}

impl MdmSpec {
    /// Whether the MDM application applies to this user.
    pub fn covers(&self, upn: &str) -> bool {
        match self.scope {
            MdmScope::All => true,
            MdmScope::None => false,
            MdmScope::Some => self.users.iter().any(|u| u.eq_ignore_ascii_case(upn)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub upn: String,
    pub password: String,
    pub object_id: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    pub display_name: String,
    #[serde(default)]
    pub onprem_sid: Option<String>,
    /// Base32 TOTP secret: the authority asks for a code after the password.
    #[serde(default)]
    pub totp_secret: Option<String>,
}

/// An application registration: its client id, exact extra redirect URIs (and SPA ones), and
/// the device its conditional access requires (`require_device = "joined"` or `"compliant"`;
/// none if absent).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub id: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub require_device: Option<crate::conditional_access::DeviceRequirement>,
    /// Redirect URIs of a single-page app: accepted at authorize, and their origins may redeem
    /// codes cross-origin (CORS) at the token endpoint.
    #[serde(default)]
    pub spa_redirect_uris: Vec<String>,
}

impl TenantFile {
    /// Read and check a tenant file.
    pub fn load(path: &Path) -> Result<Self, TenantFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| TenantFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let file: TenantFile = toml::from_str(&text).map_err(|source| TenantFileError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        file.check()?;
        Ok(file)
    }

    /// Ids must be GUIDs: they end up in tokens, SIDs and certificate extensions.
    fn check(&self) -> Result<(), TenantFileError> {
        for tenant in &self.tenants {
            require_guid(&tenant.id, "tenant id")?;
            for user in &tenant.users {
                require_guid(&user.object_id, "user object_id")?;
                if !user.upn.contains('@') {
                    return Err(TenantFileError::Invalid(format!(
                        "user {} has no domain part",
                        user.upn
                    )));
                }
            }
        }
        crate::federation::check_specs(self).map_err(TenantFileError::Invalid)
    }
}

impl TenantSpec {
    pub fn device_quota(&self) -> u32 {
        self.device_quota.unwrap_or(DEFAULT_DEVICE_QUOTA)
    }
}

fn require_guid(value: &str, what: &str) -> Result<(), TenantFileError> {
    uuid::Uuid::parse_str(value)
        .map(|_| ())
        .map_err(|_| TenantFileError::Invalid(format!("{what} {value:?} is not a GUID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_contoso_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/contoso.toml");
        let file = TenantFile::load(&path).expect("contoso.toml loads");
        // What the file means, not its size: adding a tenant or a user must not break this.
        let tenant = |name: &str| {
            file.tenants
                .iter()
                .find(|tenant| tenant.display_name == name)
                .unwrap_or_else(|| panic!("tenant {name} is in the file"))
        };
        let contoso = tenant("Contoso");
        assert!(contoso
            .users
            .iter()
            .any(|user| user.upn == "adele.vance@contoso.com"));
        assert!(contoso
            .federated_domains
            .iter()
            .any(|domain| domain.domain == "fabrikam-corp.com"));
        assert!(file.sts.iter().any(|sts| sts.id == "fabrikam"));
        assert_eq!(contoso.device_quota(), 20);
        let mdm = contoso.mdm.as_ref().expect("Contoso has MDM");
        assert!(mdm.covers("nestor.wilke@contoso.com"));
        assert!(!mdm.covers("adele.vance@contoso.com"));
        assert!(tenant("Northwind Traders").mdm.is_none());
    }

    #[test]
    fn rejects_non_guid_ids() {
        let text = r#"
            [[tenant]]
            id = "not-a-guid"
            display_name = "X"
            initial_domain = "x.onmicrosoft.com"
        "#;
        let file: TenantFile = toml::from_str(text).unwrap();
        assert!(matches!(file.check(), Err(TenantFileError::Invalid(_))));
    }
}
