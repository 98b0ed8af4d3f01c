//! `host-bridge sso-install`: register the SSO extension's native messaging host with Debian's
//! Chromium, once per user (`~/.config/chromium/NativeMessagingHosts`, the default) or for every
//! user (`--system`: `/etc/chromium/native-messaging-hosts`). It writes two files there: a
//! launcher (Chromium starts a manifest's `path` with no arguments of ours, so the launcher adds
//! the state dir) and the manifest naming it, whose `allowed_origins` is the extension's fixed
//! id. Neither holds a secret.

#[cfg(test)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::native_host::{EXTENSION_ORIGIN, HOST_NAME};

/// Where Debian's Chromium reads system-wide native messaging hosts.
pub const SYSTEM_MANIFEST_DIR: &str = "/etc/chromium/native-messaging-hosts";

/// The per-user directory of Chromium's default profile (`$HOME/.config/chromium`); a browser
/// started with `--user-data-dir D` reads `D/NativeMessagingHosts` instead.
pub fn user_manifest_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("chromium").join("NativeMessagingHosts"))
}

/// What [`install`] wrote.
#[derive(Debug)]
pub struct Installed {
    pub manifest: PathBuf,
    pub launcher: PathBuf,
}

/// A shell word for `value` (single quotes; a quote inside becomes `'\''`).
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The launcher script: the host-bridge binary, its native host command and the state dir.
pub fn launcher_script(host_bridge: &Path, state_dir: &Path, bus_address: Option<&str>) -> String {
    let mut command = format!(
        "exec {} sso-native-host --state-dir {}",
        shell_quote(&host_bridge.display().to_string()),
        shell_quote(&state_dir.display().to_string())
    );
    if let Some(address) = bus_address {
        command.push_str(&format!(" --bus-address {}", shell_quote(address)));
    }
    format!("#!/bin/sh\n# Written by host-bridge sso-install: the cxh-join SSO native messaging host.\n{command} \"$@\"\n")
}

/// The native messaging manifest for a launcher at `launcher`.
pub fn manifest(launcher: &Path) -> serde_json::Value {
    serde_json::json!({
        "name": HOST_NAME,
        "description": "cxh-join: PRT SSO cookies from the token broker for the SSO extension",
        "path": launcher.display().to_string(),
        "type": "stdio",
        "allowed_origins": [EXTENSION_ORIGIN],
    })
}

/// Write the launcher and the manifest into `manifest_dir` (created if missing).
pub fn install(
    manifest_dir: &Path,
    host_bridge: &Path,
    state_dir: &Path,
    bus_address: Option<&str>,
) -> std::io::Result<Installed> {
    std::fs::create_dir_all(manifest_dir)?;
    let launcher = manifest_dir.join(format!("{HOST_NAME}.sh"));
    crate::atomic_file::write(
        &launcher,
        launcher_script(host_bridge, state_dir, bus_address).as_bytes(),
        0o755,
    )?;
    let manifest_path = manifest_dir.join(format!("{HOST_NAME}.json"));
    let body = serde_json::to_vec_pretty(&manifest(&launcher)).unwrap_or_default();
    crate::atomic_file::write(&manifest_path, &body, 0o644)?;
    Ok(Installed {
        manifest: manifest_path,
        launcher,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launcher_quotes_its_paths_and_passes_chromiums_arguments_on() {
        let script = launcher_script(
            Path::new("/opt/it's/host-bridge"),
            Path::new("/var/lib/cxh join"),
            None,
        );
        assert!(script.contains(
            r#"exec '/opt/it'\''s/host-bridge' sso-native-host --state-dir '/var/lib/cxh join' "$@""#
        ));
    }

    #[test]
    fn install_writes_a_manifest_chromium_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let installed = install(
            dir.path(),
            Path::new("/usr/bin/host-bridge"),
            Path::new("/s"),
            Some("unix:path=/b"),
        )
        .unwrap();
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&installed.manifest).unwrap()).unwrap();
        assert_eq!(manifest["name"], HOST_NAME);
        assert_eq!(manifest["type"], "stdio");
        assert_eq!(manifest["allowed_origins"][0], EXTENSION_ORIGIN);
        assert_eq!(manifest["path"], installed.launcher.display().to_string());
        let mode = std::fs::metadata(&installed.launcher)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(std::fs::read_to_string(&installed.launcher)
            .unwrap()
            .contains("--bus-address 'unix:path=/b'"));
    }
}
