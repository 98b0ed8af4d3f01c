//! The binary end to end: CLI flags, the listening line, the ready file, HTTP and HTTPS
//! (trusting the written CA), and the join web app served from `--app-dir`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Kills the emulator when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("ready file {} never appeared", path.display());
}

fn http_request(stream: &mut impl ReadWrite, host: &str, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    // rustls reports an unclean close as an error after the data; the data is what we need.
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn http_get(base: &str, path: &str) -> String {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    http_request(&mut stream, host, path)
}

fn https_get(base: &str, ca_file: &str, path: &str) -> String {
    use der::{DecodePem, Encode};
    let pem = std::fs::read_to_string(ca_file).unwrap();
    let ca = x509_cert::Certificate::from_pem(pem.as_bytes()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.to_der().unwrap().into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = base.trim_start_matches("https://");
    let server_name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), server_name).unwrap();
    let mut stream = rustls::StreamOwned::new(connection, TcpStream::connect(host).unwrap());
    http_request(&mut stream, host, path)
}

#[test]
fn binary_listens_writes_the_ready_file_and_serves_http_https_and_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let app_dir = dir.path().join("dist");
    std::fs::create_dir_all(&app_dir).unwrap();
    std::fs::write(
        app_dir.join("index.html"),
        "<!DOCTYPE html><title>join app</title>",
    )
    .unwrap();
    std::fs::write(app_dir.join("app.js"), "console.log('hi')").unwrap();
    let ready = dir.path().join("ready.json");
    let tenants = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/contoso.toml");

    let child = Command::new(env!("CARGO_BIN_EXE_tenant-emulator"))
        .arg("--tenants")
        .arg(&tenants)
        .arg("--db")
        .arg(dir.path().join("emulator.sqlite"))
        .args(["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"])
        .arg("--tls-dir")
        .arg(dir.path().join("tls"))
        .arg("--app-dir")
        .arg(&app_dir)
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let stdout = running.0.stdout.take().unwrap();
    let ready: serde_json::Value = serde_json::from_str(&wait_for_file(&ready)).unwrap();
    let http_url = ready["http_url"].as_str().unwrap().to_string();
    let https_url = ready["https_url"].as_str().unwrap().to_string();
    let ca_file = ready["ca_file"].as_str().unwrap().to_string();
    assert!(http_url.starts_with("http://127.0.0.1:") && !http_url.ends_with(":0"));
    assert!(https_url.starts_with("https://127.0.0.1:"));
    assert!(ca_file.ends_with("emulator-ca.pem"));

    let mut lines = BufReader::new(stdout).lines();
    assert_eq!(
        lines.next().unwrap().unwrap(),
        format!("tenant-emulator listening on {http_url}")
    );
    assert_eq!(
        lines.next().unwrap().unwrap(),
        format!("tenant-emulator listening on {https_url}")
    );

    let health = http_get(&http_url, "/_emulator/health");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok"),
        "{health}"
    );
    // Started without --test-hooks: the token-minting hook is not mounted (404, not 405).
    let hook = http_get(&http_url, "/_emulator/sts/fabrikam/wresult");
    assert!(hook.starts_with("HTTP/1.1 404"), "{hook}");
    // Nor are the admin routes that show every device object.
    let devices = http_get(&http_url, "/_emulator/devices");
    assert!(devices.starts_with("HTTP/1.1 404"), "{devices}");
    use std::os::unix::fs::PermissionsExt;
    let db_mode = std::fs::metadata(dir.path().join("emulator.sqlite"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(db_mode & 0o777, 0o600, "the database holds private keys");
    let index = http_get(&http_url, "/WebApp/CloudDomainJoin/4");
    assert!(
        index.starts_with("HTTP/1.1 200") && index.contains("join app"),
        "{index}"
    );
    assert!(
        index
            .to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{index}"
    );
    let slash = http_get(&http_url, "/WebApp/CloudDomainJoin/4/");
    assert!(slash.contains("join app"), "{slash}");
    let script = http_get(&http_url, "/WebApp/CloudDomainJoin/4/app.js");
    assert!(
        script.starts_with("HTTP/1.1 200") && script.contains("console.log"),
        "{script}"
    );

    let config = https_get(
        &https_url,
        &ca_file,
        "/common/.well-known/openid-configuration",
    );
    assert!(config.starts_with("HTTP/1.1 200"), "{config}");
    // public-url defaults to the HTTP URL.
    assert!(
        config.contains(&format!("{http_url}/common/oauth2/authorize")),
        "{config}"
    );
}
