//! The host context the bridge tells the page in `welcome`: where the experience runs
//! (OOBE or Settings), the edition (which decides the first page), the device, and whether
//! the device is already joined.

use cxh_wire::bridge::HostContext;

use crate::config::BridgeConfig;
use crate::store::MachineStore;

pub fn host_context(config: &BridgeConfig, store: &MachineStore) -> HostContext {
    let joined_device_id = match store.load_join_info() {
        Ok(info) => info.map(|info| info.device_id),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the join info; reporting the device as not joined");
            None
        }
    };
    HostContext {
        flow: config.host.flow,
        edition: config.host.edition,
        platform: config.host.platform,
        authority: config.authority.as_str().trim_end_matches('/').to_string(),
        device_name: config.host.device_name.clone(),
        os_version: config.host.os_version.clone(),
        language: config.host.language.clone(),
        joined_device_id,
        embedder_origin: config.host.embedder_origin.clone(),
    }
}
