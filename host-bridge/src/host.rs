//! The host context the bridge tells the page in `welcome`: where the experience runs
//! (OOBE or Settings), the edition (which decides the first page), the device, and whether
//! the device is already joined (and how it can leave: a button when the host allows it, else
//! the command).

use cxh_wire::bridge::HostContext;

use crate::config::BridgeConfig;
use crate::store::MachineStore;

pub fn host_context(config: &BridgeConfig, store: &MachineStore) -> HostContext {
    let joined = match store.load_join_info() {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the join info; reporting the device as not joined");
            None
        }
    };
    let joined_device_id = joined.as_ref().map(|info| info.device_id.clone());
    let joined_tenant = joined.as_ref().map(|info| info.tenant.display_name.clone());
    // A host that lets the page leave gets a button; otherwise the page names the command.
    let can_leave = config.host.allow_leave;
    let leave_command = (joined.is_some() && !can_leave).then(|| leave_command(&config.state_dir));
    HostContext {
        flow: config.host.flow,
        edition: config.host.edition,
        platform: config.host.platform,
        authority: config.authority.as_str().trim_end_matches('/').to_string(),
        device_name: config.host.device_name.clone(),
        os_version: config.host.os_version.clone(),
        language: config.host.language.clone(),
        joined_device_id,
        joined_tenant,
        leave_command,
        can_leave,
        embedder_origin: config.host.embedder_origin.clone(),
    }
}

/// `host-bridge leave --state-dir <dir>`, the directory single-quoted when a shell would split
/// or expand it.
pub fn leave_command(state_dir: &std::path::Path) -> String {
    let dir = state_dir.display().to_string();
    let plain = dir
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@".contains(c));
    let dir = if plain && !dir.is_empty() {
        dir
    } else {
        format!("'{}'", dir.replace('\'', "'\\''"))
    };
    format!("host-bridge leave --state-dir {dir}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leave_command_names_the_state_dir_safely_for_a_shell() {
        assert_eq!(
            leave_command(std::path::Path::new("/var/lib/cxh")),
            "host-bridge leave --state-dir /var/lib/cxh"
        );
        assert_eq!(
            leave_command(std::path::Path::new("/tmp/my dir/it's")),
            "host-bridge leave --state-dir '/tmp/my dir/it'\\''s'"
        );
    }
}
