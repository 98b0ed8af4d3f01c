//! Runtime configuration of the emulator: where it is reachable and which apps it knows.

use crate::tenant_file::{ClientSpec, MdmSpec, TenantFile};
use std::path::PathBuf;

/// What the routes need to know about the deployment (not the directory data: that is in SQLite).
#[derive(Debug, Clone)]
pub struct Config {
    /// Base of every URL the emulator writes into documents, without a trailing slash.
    pub public_url: String,
    /// The trunk-built join web app, served at `/WebApp/CloudDomainJoin/4` when set.
    pub app_dir: Option<PathBuf>,
    /// Applications accepted at `authorize` and `token`.
    pub clients: Vec<ClientSpec>,
    /// Base URL of the MDM role's own origin; the authority's when it has no listener.
    pub mdm_url: Option<String>,
    /// Each tenant's MDM application, by tenant id.
    pub mdm: Vec<(String, MdmSpec)>,
    /// Base URL of each emulated STS (by STS id), each on its own listener.
    pub sts_urls: std::collections::HashMap<String, String>,
    /// Redirect URIs accepted for every application besides the join web app on
    /// `public_url` (`--extra-redirect-uri`, e.g. a join web app served by `trunk serve`).
    pub extra_redirect_uris: Vec<String>,
    /// Mount the test-only routes that mint credentials (`--test-hooks`), e.g.
    /// `POST /_emulator/sts/{id}/wresult`. Off by default.
    pub test_hooks: bool,
    /// TPM vendor CAs whose EK certificates DRS trusts for key attestation (`--tpm-root-ca`).
    pub tpm_roots: crate::ek_trust::TpmRoots,
}

impl Config {
    /// A configuration with the default applications (DRS and MDM) and no web app.
    pub fn new(public_url: &str) -> Self {
        Config {
            public_url: public_url.trim_end_matches('/').to_string(),
            app_dir: None,
            clients: default_clients(),
            mdm_url: None,
            mdm: Vec::new(),
            sts_urls: Default::default(),
            extra_redirect_uris: Vec::new(),
            test_hooks: false,
            tpm_roots: Default::default(),
        }
    }

    /// The tenants' MDM applications, served at `mdm_url` (or on the authority's origin).
    pub fn with_mdm(mut self, mdm_url: Option<&str>, tenants: &TenantFile) -> Self {
        self.mdm_url = mdm_url.map(|u| u.trim_end_matches('/').to_string());
        self.mdm = tenants
            .tenants
            .iter()
            .filter_map(|t| t.mdm.clone().map(|m| (t.id.to_ascii_lowercase(), m)))
            .collect();
        self
    }

    /// Origin of the MDM role, without a trailing slash.
    pub fn mdm_origin(&self) -> &str {
        self.mdm_url.as_deref().unwrap_or(&self.public_url)
    }

    /// The MDM enrollment service as an OAuth resource (the audience of its tokens).
    pub fn mdm_resource(&self) -> String {
        format!("{}/", self.mdm_origin())
    }

    /// A tenant's MDM application, if it has one.
    pub fn mdm_for(&self, tenant_id: &str) -> Option<&MdmSpec> {
        self.mdm
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(tenant_id))
            .map(|(_, spec)| spec)
    }

    /// A tenant file MDM URL with `{mdm}` replaced by the MDM origin.
    pub fn mdm_url_of(&self, template: &str) -> String {
        template.replace("{mdm}", self.mdm_origin())
    }

    /// Add the tenant file's extra applications to the defaults.
    pub fn with_extra_clients(mut self, extra: &[ClientSpec]) -> Self {
        self.clients.extend(extra.iter().cloned());
        self
    }

    /// Accept these exact redirect URIs as well (compared as strings, like Entra's reply URLs).
    pub fn with_extra_redirect_uris(mut self, uris: &[String]) -> Self {
        self.extra_redirect_uris.extend(uris.iter().cloned());
        self
    }

    /// Mount (or not) the test-only routes that mint credentials.
    pub fn with_test_hooks(mut self, enabled: bool) -> Self {
        self.test_hooks = enabled;
        self
    }

    /// Trust these TPM CAs for EK certificates.
    pub fn with_tpm_roots(mut self, roots: crate::ek_trust::TpmRoots) -> Self {
        self.tpm_roots = roots;
        self
    }

    /// Where the STS `id` is reachable.
    pub fn with_sts_url(mut self, id: &str, url: &str) -> Self {
        self.sts_urls
            .insert(id.to_string(), url.trim_end_matches('/').to_string());
        self
    }

    pub fn with_app_dir(mut self, app_dir: Option<PathBuf>) -> Self {
        self.app_dir = app_dir;
        self
    }

    /// Host (and port) of the public URL: DRS also accepts `urn:ms-drs:<host>` as audience.
    pub fn public_host(&self) -> String {
        url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_default()
    }

    /// The join web app URL on this authority: also the DRS client's redirect URI.
    pub fn join_web_app_url(&self) -> String {
        format!("{}{}", self.public_url, cxh_wire::consts::JOIN_WEB_APP_PATH)
    }

    pub fn client(&self, client_id: &str) -> Option<&ClientSpec> {
        self.clients
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(client_id))
    }
}

fn default_clients() -> Vec<ClientSpec> {
    [
        cxh_wire::consts::DRS_CLIENT_ID,
        cxh_wire::consts::MDM_CLIENT_ID,
    ]
    .iter()
    .map(|id| ClientSpec {
        id: id.to_string(),
        redirect_uris: Vec::new(),
        require_device: None,
        spa_redirect_uris: Vec::new(),
    })
    .collect()
}
