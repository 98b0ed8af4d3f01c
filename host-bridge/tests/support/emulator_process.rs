//! The real tenant emulator as its own process (`target/<profile>/tenant-emulator`, built by
//! `cargo test --workspace`), over HTTPS with its authority on a fixed port across restarts:
//! for the fault tests that kill it with SIGKILL mid-request and start it again on the same
//! database, as a crashed and restarted service would be.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tenant_emulator::pause::{PAUSE_AT_ENV, PAUSE_MARKER_ENV};

pub struct EmulatorProcess {
    /// The authority's HTTPS base URL (the public URL of documents and tokens).
    pub base: String,
    /// The emulator's CA (PEM), for the bridge's `--ca-file`.
    pub ca_file: PathBuf,
    dir: PathBuf,
    child: Child,
}

/// The emulator binary beside this test's own (`target/<profile>/deps/..`).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .join("tenant-emulator");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p tenant-emulator` (`cargo test --workspace` does)",
        path.display()
    );
    path
}

fn spawn(dir: &Path, tls_listen: &str, pause_at: Option<&str>) -> Child {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ready = dir.join("emulator.ready");
    let _ = std::fs::remove_file(&ready);
    let log = std::fs::File::create(dir.join("emulator.log")).unwrap();
    let mut command = Command::new(binary());
    command
        .arg("--tenants")
        .arg(root.join("e2e/tenants/contoso.toml"))
        .arg("--db")
        .arg(dir.join("emulator.sqlite"))
        .arg("--tls-dir")
        .arg(dir.join("tls"))
        .args(["--tls-listen", tls_listen, "--public-https"])
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(point) = pause_at {
        command
            .env(PAUSE_AT_ENV, point)
            .env(PAUSE_MARKER_ENV, dir.join("emulator.paused"));
    }
    command.spawn().expect("starting tenant-emulator")
}

fn wait_for_ready(dir: &Path, child: &mut Child) -> serde_json::Value {
    let ready = dir.join("emulator.ready");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            if let Ok(value) = serde_json::from_str(&text) {
                return value;
            }
        }
        let exited = child.try_wait().unwrap();
        let log = || std::fs::read_to_string(dir.join("emulator.log")).unwrap_or_default();
        assert!(exited.is_none(), "tenant-emulator exited: {}", log());
        assert!(
            Instant::now() < deadline,
            "tenant-emulator not ready: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl EmulatorProcess {
    /// Start on a fresh database in `dir`, pausing any registration at `pause_at`.
    pub fn start(dir: &Path, pause_at: Option<&str>) -> EmulatorProcess {
        let mut child = spawn(dir, "127.0.0.1:0", pause_at);
        let ready = wait_for_ready(dir, &mut child);
        EmulatorProcess {
            base: ready["https_url"].as_str().expect("https_url").to_string(),
            ca_file: ready["ca_file"].as_str().expect("ca_file").into(),
            dir: dir.to_path_buf(),
            child,
        }
    }

    /// Wait until a request has paused at the point given to [`Self::start`].
    pub fn wait_until_paused(&self) -> String {
        let marker = self.dir.join("emulator.paused");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !marker.exists() {
            assert!(Instant::now() < deadline, "the emulator never paused");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::read_to_string(marker).unwrap()
    }

    /// SIGKILL, as a crash: no handler runs, the open request gets no answer.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Start again on the same database, CA and authority port, without pausing.
    pub fn restart(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("emulator.paused"));
        let port = url::Url::parse(&self.base).unwrap().port().unwrap();
        self.child = spawn(&self.dir, &format!("127.0.0.1:{port}"), None);
        let ready = wait_for_ready(&self.dir, &mut self.child);
        assert_eq!(ready["https_url"].as_str(), Some(self.base.as_str()));
    }

    /// The tenant's devices, read from its database.
    pub fn devices(&self) -> Vec<tenant_emulator::db::Device> {
        let conn = tenant_emulator::db::open(&self.dir.join("emulator.sqlite")).unwrap();
        tenant_emulator::db::devices(&conn).unwrap()
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
