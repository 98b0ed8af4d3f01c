//! A private, real dbus-daemon (session configuration) on a socket in a temp dir, so broker
//! tests never touch the user's own session bus and can run in parallel.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct DbusDaemon {
    child: Child,
    pub address: String,
    _dir: tempfile::TempDir,
}

impl DbusDaemon {
    pub fn start() -> DbusDaemon {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let mut child = Command::new("dbus-daemon")
            .args([
                "--session",
                "--nofork",
                "--nopidfile",
                "--print-address=1",
                &format!("--address=unix:path={}", socket.display()),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect(
                "dbus-daemon (Debian package dbus-daemon, installed by e2e/scripts/install.sh)",
            );
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed {line:?}");
        DbusDaemon {
            child,
            address,
            _dir: dir,
        }
    }
}

impl Drop for DbusDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
