//! The server's limits, against the binary (issue 10): a connection with half-sent headers
//! and a silent one are closed after the header-read timeout, connections past the cap are
//! closed at once, and a 100 MB body is refused with 413 before it is read — on the
//! authority's listener and on an STS's (over TLS, as the STS serves only HTTPS).

mod common;

use common::tls::{self, Stream};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const HEADER_TIMEOUT_MS: u64 = 400;
const MAX_CONNECTIONS: usize = 8;

/// The emulator with short limits: its authority and first STS addresses, and a TLS client
/// trusting its CA.
fn start(dir: &Path) -> (Running, String, String, Arc<rustls::ClientConfig>) {
    let ready = dir.join("ready.json");
    let tenants = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/contoso.toml");
    let child = Command::new(env!("CARGO_BIN_EXE_tenant-emulator"))
        .arg("--tenants")
        .arg(&tenants)
        .arg("--db")
        .arg(dir.join("emulator.sqlite"))
        .arg("--ready-file")
        .arg(&ready)
        .arg("--tls-dir")
        .arg(dir.join("tls"))
        .args(["--header-read-timeout-ms", &HEADER_TIMEOUT_MS.to_string()])
        .args(["--idle-timeout-ms", "2000"])
        .args(["--max-connections", &MAX_CONNECTIONS.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    let text = loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            break text;
        }
        assert!(Instant::now() < deadline, "no ready file");
        std::thread::sleep(Duration::from_millis(100));
    };
    let ready: serde_json::Value = serde_json::from_str(&text).unwrap();
    let addr = |url: &str| url.split("://").nth(1).unwrap().to_string();
    let http = addr(ready["http_url"].as_str().unwrap());
    let sts = addr(ready["sts_urls"]["fabrikam"].as_str().unwrap());
    let ca = tls::pem_file_der(Path::new(ready["ca_file"].as_str().unwrap()));
    (running, http, sts, tls::client_config(&[ca]))
}

/// A connection to the authority (plain http) or to the STS (TLS).
fn connect(addr: &str, tls_config: Option<&Arc<rustls::ClientConfig>>) -> Box<dyn Stream> {
    match tls_config {
        Some(config) => tls::connect(addr, config),
        None => {
            let stream = TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(tls::READ_TIMEOUT)).unwrap();
            Box::new(stream)
        }
    }
}

/// How long until the server closes `stream` (reads EOF or a reset), at most the stream's
/// read timeout.
fn time_to_close(stream: &mut dyn Read) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = Vec::new();
    match stream.read_to_end(&mut sink) {
        Ok(_) => Some(started.elapsed()),
        // A TLS connection closed without close_notify.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            Some(started.elapsed())
        }
        Err(_) => None,
    }
}

fn get_ok(addr: &str) -> bool {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200")
}

#[test]
fn half_sent_headers_silent_connections_and_connections_past_the_cap_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, http, sts, tls_config) = start(dir.path());
    for (addr, tls_config) in [(&http, None), (&sts, Some(&tls_config))] {
        let mut half = connect(addr, tls_config);
        half.write_all(b"GET /common/discovery/keys HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        half.flush().unwrap();
        let closed = time_to_close(&mut half).expect("half-sent headers kept open");
        assert!(
            closed >= Duration::from_millis(HEADER_TIMEOUT_MS - 50),
            "{closed:?}"
        );
        let mut silent = TcpStream::connect(addr).unwrap();
        silent.set_read_timeout(Some(tls::READ_TIMEOUT)).unwrap();
        time_to_close(&mut silent).expect("a silent connection kept open");
    }

    // The cap: MAX_CONNECTIONS silent connections are held, the next one is closed at once.
    let mut held: Vec<Box<dyn Stream>> =
        (0..MAX_CONNECTIONS).map(|_| connect(&http, None)).collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut extra = connect(&http, None);
    let closed = time_to_close(&mut extra).expect("past the cap, kept open");
    assert!(
        closed < Duration::from_millis(HEADER_TIMEOUT_MS),
        "{closed:?}"
    );
    // After the timeout the held ones are gone and the server answers again.
    for stream in &mut held {
        time_to_close(stream).expect("held connection kept open");
    }
    assert!(get_ok(&http));
}

#[test]
fn a_100_mb_body_is_refused_with_413_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, http, sts, tls_config) = start(dir.path());
    for (addr, path, tls_config) in [
        (&http, "/common/oauth2/token", None),
        (
            &sts,
            "/adfs/services/trust/13/usernamemixed",
            Some(&tls_config),
        ),
    ] {
        let started = Instant::now();
        let mut stream = connect(addr, tls_config);
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            100 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&[b'a'; 64 * 1024]).unwrap();
        // The server may already have answered and stopped reading.
        let _ = stream.flush();
        let mut reply = [0u8; 12];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"HTTP/1.1 413", "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    // A chunked body without a length is cut off at the cap too (the form reader reports the
    // limit; this handler answers its bad-request error).
    let mut stream = TcpStream::connect(&http).unwrap();
    stream
        .write_all(b"POST /common/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = vec![b'a'; 256 * 1024];
    let mut reply = Vec::new();
    for _ in 0..8 {
        let header = format!("{:x}\r\n", chunk.len());
        if stream.write_all(header.as_bytes()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.starts_with("HTTP/1.1 413") || reply.starts_with("HTTP/1.1 400"),
        "{reply}"
    );
    assert!(reply.contains("length limit"), "{reply}");
}
