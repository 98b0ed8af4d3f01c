//! A private swtpm for one test: its own state dir, a free loopback port (+1 for control),
//! started with `--flags not-need-init,startup-clear`, killed on drop. Restart it on the same
//! state dir to model a reboot.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Swtpm {
    child: Child,
    pub port: u16,
    pub state_dir: PathBuf,
}

/// Two consecutive free ports (swtpm uses port and port + 1).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let first = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free loopback ports");
}

impl Swtpm {
    /// Start swtpm on `state_dir` (created if needed).
    pub fn start(state_dir: &Path) -> Swtpm {
        std::fs::create_dir_all(state_dir).expect("swtpm state dir");
        let port = free_port_pair();
        let child = Command::new("swtpm")
            .args(["socket", "--tpm2", "--tpmstate"])
            .arg(format!("dir={}", state_dir.display()))
            .args([
                "--server",
                &format!("type=tcp,port={port},bindaddr=127.0.0.1"),
            ])
            .args([
                "--ctrl",
                &format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1),
            ])
            .args(["--flags", "not-need-init,startup-clear"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("swtpm must be installed (apt-get install swtpm swtpm-tools)");
        let swtpm = Swtpm {
            child,
            port,
            state_dir: state_dir.to_path_buf(),
        };
        swtpm.wait_listening();
        swtpm
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("swtpm did not listen on port {} within 10 s", self.port);
    }

    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// Stop and start again on the same state (a reboot); the port changes.
    pub fn restart(self) -> Swtpm {
        let dir = self.state_dir.clone();
        drop(self);
        Swtpm::start(&dir)
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCTI at which nothing listens.
pub fn unreachable_tcti() -> String {
    let port = free_port_pair();
    format!("swtpm:host=127.0.0.1,port={port}")
}
