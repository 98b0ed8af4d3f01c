//! A private swtpm for one test: its own state dir, a free loopback port (+1 for control),
//! started with `--flags not-need-init,startup-clear`, killed on drop. Restart it on the same
//! state dir to model a reboot.
//!
//! Before its first start the state is manufactured like a real TPM's by
//! e2e/scripts/provision-tpm.sh: `swtpm_setup` creates the EK and stores its certificate (and a
//! platform certificate) in NV, issued by a local CA private to this build
//! (`$CARGO_TARGET_TMPDIR/swtpm-localca`, never /var/lib/swtpm-localca): its root and
//! intermediate are what the emulator is told to trust ([`tpm_ca_bundle`]).

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

/// Run e2e/scripts/provision-tpm.sh (the one implementation the demo and Playwright use too)
/// with this build's private CA dir; returns the path of the CA bundle it prints.
fn run_provision(state_dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/scripts/provision-tpm.sh");
    let ca_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("swtpm-localca");
    let output = Command::new(script)
        .arg(state_dir)
        .env("CXH_TPM_CA_DIR", &ca_dir)
        .output()
        .expect("provision-tpm.sh runs (swtpm-tools installed)");
    assert!(
        output.status.success(),
        "provision-tpm.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// Manufacture a TPM state (EK, EK certificate, platform certificate, NV locked) unless
/// `state_dir` already holds one: idempotent, ~1 s the first time.
pub fn provision(state_dir: &Path) {
    run_provision(state_dir);
}

/// PEM of the local CA's root and intermediate: the "TPM vendor" roots to trust. Call it
/// after starting a [`Swtpm`] (whose provisioning creates the CA).
pub fn tpm_ca_bundle() -> String {
    let bundle = Path::new(env!("CARGO_TARGET_TMPDIR")).join("swtpm-localca/tpm-roots.pem");
    std::fs::read_to_string(bundle).expect("the CA bundle (start a Swtpm first)")
}

impl Swtpm {
    /// Start swtpm on `state_dir` (created and provisioned with an EK certificate if needed).
    pub fn start(state_dir: &Path) -> Swtpm {
        std::fs::create_dir_all(state_dir).expect("swtpm state dir");
        provision(state_dir);
        Swtpm::start_unprovisioned(state_dir)
    }

    /// Start swtpm on `state_dir` as it is (a fresh dir: a TPM without EK certificate).
    pub fn start_unprovisioned(state_dir: &Path) -> Swtpm {
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
