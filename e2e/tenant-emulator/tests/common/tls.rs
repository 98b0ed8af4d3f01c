//! A blocking TLS client for the tests that run the binary: rustls trusting exactly the roots
//! given (the emulator's CA from its ready file, or an impostor's), never the system's.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use der::{DecodePem, Encode};

/// How long a test waits for a byte before giving up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection a test reads and writes, plain or TLS.
pub trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// A client configuration that trusts only `roots` (DER certificates).
pub fn client_config(roots: &[Vec<u8>]) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for root in roots {
        store.add(root.clone().into()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// The DER of the (first) certificate in a PEM file.
pub fn pem_file_der(path: &Path) -> Vec<u8> {
    let pem = std::fs::read_to_string(path).unwrap();
    x509_cert::Certificate::from_pem(pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap()
}

/// A TLS connection to `addr` (host:port) for the name `127.0.0.1`; the handshake happens on
/// first use.
pub fn connect(addr: &str, config: &Arc<rustls::ClientConfig>) -> Box<dyn Stream> {
    let socket = TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(config.clone(), name).unwrap();
    Box::new(rustls::StreamOwned::new(connection, socket))
}

/// Send one request (`Connection: close`) and read the whole answer; `Err` when the TLS
/// handshake or the connection failed before any answer.
pub fn request(
    stream: &mut dyn Stream,
    method: &str,
    host: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<String> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response) {
        Ok(_) => {}
        // The emulator closes without close_notify; the answer is complete by then.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The body of an HTTP/1.1 answer read whole (`Content-Length`, not chunked).
pub fn body_of(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("")
}
