//! `host-bridge status`: the device's join state, laid out like `dsregcmd /status`
//! (boxed section headers, keys right-aligned on the colon), or the same facts as JSON.

use std::fmt::Write;

use serde::Serialize;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::keys::provider_for_name_at;
use crate::keys::KeyPurpose;
use crate::store::{JoinInfo, MachineStore, StoreError, CERT_DER_FILE, DEVICE_KEY_FILE};

/// Width of dsregcmd's key column (" DeviceCertificateValidity" is the widest key).
const KEY_WIDTH: usize = 26;
/// Inner width of a section box.
const BOX_WIDTH: usize = 70;

/// The facts `status` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceStatus {
    pub azure_ad_joined: bool,
    pub enterprise_joined: bool,
    pub domain_joined: bool,
    pub device_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantDetails>,
    /// The MDM enrollment, when the device is enrolled (or a failed one awaits a retry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mdm: Option<MdmDetails>,
    /// A registration whose outcome was never learnt: the device may exist in the tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_registration: Option<crate::journal::PendingRegistration>,
    /// Seed 004's SSO State: the PRT of the user who joined (or of the first who signed in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoState>,
}

/// The PRT facts `dsregcmd /status` shows under "SSO State" (never the PRT itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SsoState {
    pub upn: String,
    pub azure_ad_prt: bool,
    pub azure_ad_prt_update_time: String,
    /// The earlier of the lifetime and the 14-day sliding window.
    pub azure_ad_prt_expiry_time: String,
    pub azure_ad_prt_authority: String,
    /// A federated user's PRT (obtained through the STS).
    pub enterprise_prt: bool,
    /// Whether the session key is a TPM object (software keys: it sits in a 0600 file).
    pub session_key_tpm_held: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prt_error: Option<String>,
}

fn sso_state(store: &MachineStore, info: &JoinInfo) -> Option<SsoState> {
    let records = crate::prt::store::list(store);
    let record = records
        .iter()
        .find(|r| r.upn.eq_ignore_ascii_case(&info.user.upn))
        .or(records.first())?;
    let now = crate::prt::now_unix();
    let expiry = record
        .expires_at
        .min(record.updated_at + cxh_wire::prt::PRT_SLIDING_WINDOW_SECS);
    let prt_error = record
        .dead_reason
        .clone()
        .or_else(|| (now >= expiry).then(|| "expired".to_string()));
    let alive = record.prt.is_some() && prt_error.is_none();
    Some(SsoState {
        upn: record.upn.clone(),
        azure_ad_prt: alive,
        azure_ad_prt_update_time: format_utc(record.updated_at),
        azure_ad_prt_expiry_time: format_utc(expiry),
        azure_ad_prt_authority: format!("{}/{}", record.authority, record.tenant_id),
        enterprise_prt: alive && record.federated,
        session_key_tpm_held: record.session_key_tpm_held,
        prt_error,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MdmDetails {
    pub enrolled: bool,
    pub enrollment_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    pub policies: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
}

fn mdm_details(store: &MachineStore) -> Option<MdmDetails> {
    if let Some(info) = crate::mdm::store::load(store) {
        return Some(MdmDetails {
            enrolled: true,
            enrollment_url: info.enrollment_url,
            thumbprint: Some(info.thumbprint),
            server_url: info.server_url,
            policies: info.policies,
            pending_reason: None,
        });
    }
    crate::mdm::store::load_pending(store).map(|pending| MdmDetails {
        enrolled: false,
        enrollment_url: pending.enrollment_url,
        thumbprint: None,
        server_url: None,
        policies: Vec::new(),
        pending_reason: Some(pending.reason),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceDetails {
    pub device_id: String,
    pub thumbprint: String,
    pub certificate_valid_from: String,
    pub certificate_valid_to: String,
    pub key_container_id: String,
    pub key_provider: String,
    pub tpm_protected: bool,
    pub device_auth_status: String,
    /// The OOBE automatic sign-in buffer is present (`join/autologon.bin`, ciphertext only).
    pub auto_logon_prepared: bool,
    /// The registration carried a TPM certification of the device key / transport key by an
    /// AK tied to the EK by credential activation.
    pub device_key_attested: bool,
    pub transport_key_attested: bool,
    /// The EK certificate chain DRS verified, leaf first (empty when not attested).
    pub attestation_chain: String,
    /// Why TPM keys are not attested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantDetails {
    pub tenant_name: String,
    pub tenant_id: String,
    pub auth_code_url: String,
    pub access_token_url: String,
    pub mdm_url: String,
    pub mdm_tou_url: String,
    pub mdm_compliance_url: String,
    pub join_srv_version: String,
    pub join_srv_url: String,
    pub join_srv_id: String,
    pub key_srv_version: String,
    pub key_srv_url: String,
    pub key_srv_id: String,
}

/// Read the store. `device_name` is shown when the device is not joined.
pub fn collect(store: &MachineStore, device_name: &str) -> Result<DeviceStatus, StoreError> {
    collect_at(store, device_name, None)
}

/// [`collect`], reaching TPM keys at `tcti` (else at the TCTI recorded at join time).
pub fn collect_at(
    store: &MachineStore,
    device_name: &str,
    tcti: Option<&str>,
) -> Result<DeviceStatus, StoreError> {
    let Some(info) = store.load_join_info()? else {
        return Ok(DeviceStatus {
            azure_ad_joined: false,
            enterprise_joined: false,
            domain_joined: false,
            device_name: device_name.to_string(),
            device: None,
            tenant: None,
            mdm: None,
            pending_registration: crate::journal::load(store),
            sso: None,
        });
    };
    Ok(DeviceStatus {
        azure_ad_joined: true,
        enterprise_joined: false,
        domain_joined: false,
        device_name: info.device_name.clone(),
        device: Some(DeviceDetails {
            auto_logon_prepared: crate::autologon::is_prepared(store),
            ..device_details(&info, device_auth_status(store, &info, tcti))
        }),
        tenant: Some(tenant_details(&info)),
        mdm: mdm_details(store),
        pending_registration: crate::journal::load(store),
        sso: sso_state(store, &info),
    })
}

fn device_details(info: &JoinInfo, device_auth_status: String) -> DeviceDetails {
    DeviceDetails {
        device_id: info.device_id.clone(),
        thumbprint: info.thumbprint.clone(),
        certificate_valid_from: format_utc(info.certificate.not_before_unix),
        certificate_valid_to: format_utc(info.certificate.not_after_unix),
        key_container_id: info.key.container_id.clone(),
        key_provider: info.key.provider.clone(),
        tpm_protected: info.key.tpm_protected,
        device_auth_status,
        auto_logon_prepared: false,
        device_key_attested: info.key.attestation.device_key_attested,
        transport_key_attested: info.key.transport_key_attested,
        attestation_chain: info.key.attestation.ek_chain.join(" > "),
        attestation_note: info.key.attestation.not_attested_reason.clone(),
    }
}

fn tenant_details(info: &JoinInfo) -> TenantDetails {
    let claim = |name: &str| {
        info.token_claims
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let discovery = &info.discovery;
    TenantDetails {
        tenant_name: info.tenant.display_name.clone(),
        tenant_id: info.tenant.id.clone(),
        auth_code_url: discovery
            .authentication_service
            .oauth2
            .auth_code_endpoint
            .clone(),
        access_token_url: discovery
            .authentication_service
            .oauth2
            .token_endpoint
            .clone(),
        mdm_url: claim("mdm_enrollment_url"),
        mdm_tou_url: claim("mdm_terms_of_use_url"),
        mdm_compliance_url: claim("mdm_compliance_url"),
        join_srv_version: discovery.device_join_service.service_version.clone(),
        join_srv_url: discovery.device_join_service.join_endpoint.clone(),
        join_srv_id: discovery.device_join_service.join_resource_id.clone(),
        key_srv_version: discovery.key_provisioning_service.service_version.clone(),
        key_srv_url: discovery
            .key_provisioning_service
            .key_provision_endpoint
            .clone(),
        key_srv_id: discovery
            .key_provisioning_service
            .key_provision_resource_id
            .clone(),
    }
}

/// Ask the tenant, with the device certificate, whether it still holds this device (as
/// dsregcmd's DeviceAuthStatus does): a device deleted or disabled there is not SUCCESS. Only
/// over HTTPS (TLS client authentication); with a plain-http DRS (a loopback emulator) the
/// local check stands.
pub async fn check_with_tenant(
    status: &mut DeviceStatus,
    store: &MachineStore,
    ca_file: Option<&std::path::Path>,
    tcti: Option<&str>,
) {
    let Some(device) = status.device.as_mut() else {
        return;
    };
    if device.device_auth_status != "SUCCESS" {
        return;
    }
    let Ok(Some(info)) = store.load_join_info() else {
        return;
    };
    let Ok(drs) = url::Url::parse(&info.drs) else {
        return;
    };
    if drs.scheme() != "https" {
        return;
    }
    use crate::device_auth::{ask_tenant, device_client, device_credentials, TenantView};
    let view = match device_credentials(store, &info, tcti).and_then(|(certificate, key)| {
        device_client(info.trusted_ca(ca_file).as_deref(), certificate, key)
    }) {
        Ok(client) => ask_tenant(&client, &drs, &info.device_id).await,
        Err(e) => Err(e),
    };
    device.device_auth_status = match view {
        Ok(TenantView::Enabled) => "SUCCESS".into(),
        Ok(TenantView::Refused(reason)) => format!("FAILED. {reason}"),
        Err(e) => format!("FAILED. The tenant could not be asked: {e}"),
    };
}

/// A local stand-in for dsregcmd's DeviceAuthStatus: the certificate is in its validity
/// period and the stored device key is the one it certifies and can still sign.
fn device_auth_status(store: &MachineStore, info: &JoinInfo, tcti: Option<&str>) -> String {
    match check_device_auth(store, info, tcti) {
        Ok(()) => "SUCCESS".to_string(),
        Err(reason) => format!("FAILED. {reason}"),
    }
}

fn check_device_auth(
    store: &MachineStore,
    info: &JoinInfo,
    tcti: Option<&str>,
) -> Result<(), String> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if now < info.certificate.not_before_unix || now > info.certificate.not_after_unix {
        return Err("The device certificate is outside its validity period.".into());
    }
    let tcti = tcti.or(info.key.tpm_tcti.as_deref());
    let provider = provider_for_name_at(&info.key.provider, tcti).map_err(|e| e.to_string())?;
    let blob = store
        .read_join_file(DEVICE_KEY_FILE)
        .map_err(|e| e.to_string())?;
    let key = provider
        .load_key(KeyPurpose::Device, &blob)
        .map_err(|e| e.to_string())?;
    let der = store
        .read_join_file(CERT_DER_FILE)
        .map_err(|e| e.to_string())?;
    crate::store::check_certificate(&der, key.public_key(), &info.thumbprint)
        .map(|_| ())
        .map_err(|e| format!("The device certificate was refused: {e}."))
}

/// dsregcmd's timestamp style: `2020-12-22 10:49:16.000 UTC`.
pub fn format_utc(unix: i64) -> String {
    let format = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3] UTC"
    );
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "YES"
    } else {
        "NO"
    }
}

fn section(out: &mut String, title: &str) {
    let rule = format!("+{}+", "-".repeat(BOX_WIDTH));
    let _ = writeln!(
        out,
        "{rule}\n| {title:<width$}|\n{rule}\n",
        width = BOX_WIDTH - 1
    );
}

fn field(out: &mut String, key: &str, value: &str) {
    let line = format!("{key:>KEY_WIDTH$} : {value}");
    let _ = writeln!(out, "{}", line.trim_end());
}

/// The `dsregcmd /status`-style text.
pub fn render_text(status: &DeviceStatus) -> String {
    let mut out = String::new();
    section(&mut out, "Device State");
    field(&mut out, "AzureAdJoined", yes_no(status.azure_ad_joined));
    field(
        &mut out,
        "EnterpriseJoined",
        yes_no(status.enterprise_joined),
    );
    field(&mut out, "DomainJoined", yes_no(status.domain_joined));
    field(&mut out, "Device Name", &status.device_name);
    if let Some(device) = &status.device {
        out.push('\n');
        render_device(&mut out, device);
    }
    if let Some(tenant) = &status.tenant {
        out.push('\n');
        render_tenant(&mut out, tenant);
    }
    if let Some(mdm) = &status.mdm {
        out.push('\n');
        render_mdm(&mut out, mdm);
    }
    if let Some(pending) = &status.pending_registration {
        out.push('\n');
        section(&mut out, "Unfinished Registration");
        field(
            &mut out,
            "Warning",
            "a registration was interrupted: this device may exist in the tenant",
        );
        field(&mut out, "DeviceName", &pending.device_name);
        field(&mut out, "KeyThumbprint", &pending.key_thumbprint);
        field(&mut out, "StartedAt", &pending.started_at);
        field(&mut out, "JoinEndpoint", &pending.join_endpoint);
    }
    if let Some(sso) = &status.sso {
        out.push('\n');
        render_sso(&mut out, sso);
    }
    out
}

fn render_sso(out: &mut String, sso: &SsoState) {
    section(out, "SSO State");
    field(out, "AzureAdPrt", yes_no(sso.azure_ad_prt));
    field(out, "AzureAdPrtUpdateTime", &sso.azure_ad_prt_update_time);
    field(out, "AzureAdPrtExpiryTime", &sso.azure_ad_prt_expiry_time);
    field(out, "AzureAdPrtAuthority", &sso.azure_ad_prt_authority);
    field(out, "EnterprisePrt", yes_no(sso.enterprise_prt));
    field(out, "SessionKeyTpmHeld", yes_no(sso.session_key_tpm_held));
    if let Some(error) = &sso.prt_error {
        field(out, "AzureAdPrtError", error);
    }
}

fn render_mdm(out: &mut String, mdm: &MdmDetails) {
    section(out, "MDM Enrollment");
    field(out, "MdmEnrolled", yes_no(mdm.enrolled));
    field(out, "MdmUrl", &mdm.enrollment_url);
    if let Some(thumbprint) = &mdm.thumbprint {
        field(out, "MdmCertThumbprint", thumbprint);
    }
    if let Some(server) = &mdm.server_url {
        field(out, "MdmServerUrl", server);
    }
    for (path, value) in &mdm.policies {
        field(out, "Policy", &format!("{path} = {value}"));
    }
    if let Some(reason) = &mdm.pending_reason {
        field(out, "MdmError", reason);
    }
}

fn render_device(out: &mut String, device: &DeviceDetails) {
    section(out, "Device Details");
    field(out, "DeviceId", &device.device_id);
    field(out, "Thumbprint", &device.thumbprint);
    let validity = format!(
        "[ {} -- {} ]",
        device.certificate_valid_from, device.certificate_valid_to
    );
    field(out, "DeviceCertificateValidity", &validity);
    field(out, "KeyContainerId", &device.key_container_id);
    field(out, "KeyProvider", &device.key_provider);
    field(out, "TpmProtected", yes_no(device.tpm_protected));
    field(out, "DeviceAuthStatus", &device.device_auth_status);
    field(out, "AutoLogonPrepared", yes_no(device.auto_logon_prepared));
    field(out, "DeviceKeyAttested", yes_no(device.device_key_attested));
    field(
        out,
        "TransportKeyAttested",
        yes_no(device.transport_key_attested),
    );
    if !device.attestation_chain.is_empty() {
        field(out, "AttestationChain", &device.attestation_chain);
    }
    if let Some(note) = &device.attestation_note {
        field(out, "AttestationError", note);
    }
}

fn render_tenant(out: &mut String, tenant: &TenantDetails) {
    section(out, "Tenant Details");
    field(out, "TenantName", &tenant.tenant_name);
    field(out, "TenantId", &tenant.tenant_id);
    field(out, "AuthCodeUrl", &tenant.auth_code_url);
    field(out, "AccessTokenUrl", &tenant.access_token_url);
    field(out, "MdmUrl", &tenant.mdm_url);
    field(out, "MdmTouUrl", &tenant.mdm_tou_url);
    field(out, "MdmComplianceUrl", &tenant.mdm_compliance_url);
    field(out, "JoinSrvVersion", &tenant.join_srv_version);
    field(out, "JoinSrvUrl", &tenant.join_srv_url);
    field(out, "JoinSrvId", &tenant.join_srv_id);
    field(out, "KeySrvVersion", &tenant.key_srv_version);
    field(out, "KeySrvUrl", &tenant.key_srv_url);
    field(out, "KeySrvId", &tenant.key_srv_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_look_like_dsregcmd() {
        assert_eq!(format_utc(1_608_634_156), "2020-12-22 10:49:16.000 UTC");
    }

    #[test]
    fn not_joined_shows_only_the_device_state() {
        let temp = tempfile::tempdir().unwrap();
        let status = collect(&MachineStore::at(temp.path()), "DESKTOP-123").unwrap();
        let expected = "\
+----------------------------------------------------------------------+
| Device State                                                         |
+----------------------------------------------------------------------+

             AzureAdJoined : NO
          EnterpriseJoined : NO
              DomainJoined : NO
               Device Name : DESKTOP-123
";
        assert_eq!(render_text(&status), expected);
    }
}
