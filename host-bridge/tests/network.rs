//! What the bridge does when the network misbehaves or a service points it somewhere unsafe:
//! each failure is a typed `NetworkError` naming the host and what happened (a refusing port,
//! a listener that never answers, a body that never finishes, a TLS handshake with a plain
//! server), plain http to a remote host is refused before anything is sent (also as a
//! redirect target), and a join endpoint from discovery outside the DRS origin is refused.

mod support;

use std::time::{Duration, Instant};

use host_bridge::discovery::{discover, DiscoveryError};
use host_bridge::http::{self, build_client_with, HttpTimeouts, NetworkError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

fn client() -> reqwest::Client {
    build_client_with(
        None,
        HttpTimeouts {
            connect: Duration::from_secs(2),
            total: Duration::from_secs(1),
        },
    )
    .unwrap()
}

/// GET `url` the way every bridge request goes: URL check, send, whole body.
async fn fetch(url: &str) -> Result<Vec<u8>, NetworkError> {
    let response = http::send(client().get(url)).await?;
    http::body(response).await
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refusing_port_says_refused_and_names_the_host() {
    let port = closed_port().await;
    let drs = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let started = Instant::now();
    let err = discover(&client(), &drs, "contoso.com").await.unwrap_err();
    let DiscoveryError::Unreachable { cause, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        cause,
        &NetworkError::Refused {
            host: format!("127.0.0.1:{port}")
        }
    );
    let shown = err.to_string();
    assert!(shown.contains("refused the connection"), "{shown}");
    assert!(shown.contains("check the URL"), "{shown}");
    assert!(!shown.contains("error sending request"), "{shown}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_silent_listener_says_no_answer_not_refused() {
    // Accepted by the kernel (backlog), never read or answered.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let err = fetch(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        NetworkError::NoAnswer {
            host: format!("127.0.0.1:{port}")
        }
    );
    assert!(err.to_string().contains("did not answer"), "{err}");
    drop(listener);
}

#[tokio::test]
async fn a_body_that_stops_half_way_says_too_slow() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = socket.read(&mut request).await;
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"a\":")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
    });
    let err = fetch(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        NetworkError::BodyTooSlow {
            host: format!("127.0.0.1:{port}")
        }
    );
    assert!(!err.to_string().contains("error decoding"), "{err}");
}

#[tokio::test]
async fn https_to_a_plain_server_is_a_tls_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 1024];
        let _ = socket.read(&mut hello).await;
        let _ = socket
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await;
    });
    let err = fetch(&format!("https://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetworkError::Tls { host, .. } if host == &format!("127.0.0.1:{port}")),
        "{err:?}"
    );
    assert!(err.to_string().contains("--ca-file"), "{err}");
}

#[tokio::test]
async fn an_unresolvable_name_is_a_dns_failure() {
    let err = fetch("https://no-such-host.invalid/").await.unwrap_err();
    assert_eq!(
        err,
        NetworkError::Dns {
            host: "no-such-host.invalid".into()
        }
    );
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_sending() {
    // No resolver or listener is needed: nothing is sent.
    for url in [
        "http://login.microsoftonline.com/common/discovery/keys",
        "http://10.1.2.3/EnrollmentServer/device/",
    ] {
        let err = fetch(url).await.unwrap_err();
        assert!(
            matches!(err, NetworkError::PlainHttp { .. }),
            "{url}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_redirect_to_plain_http_elsewhere_is_not_followed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = socket.read(&mut request).await;
        let _ = socket
            .write_all(b"HTTP/1.1 302 Found\r\nlocation: http://drs.evil.example/steal\r\ncontent-length: 0\r\n\r\n")
            .await;
    });
    let err = fetch(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NetworkError::Redirect { detail, .. } if detail.contains("plain http")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_join_endpoint_outside_the_drs_origin_is_refused() {
    let cloud = support::FakeCloud::start().await;
    let contract = format!(
        "{}/contoso.com/enrollmentserver/contract?api-version=1.2",
        cloud.base
    );
    let mut document: serde_json::Value = client()
        .get(&contract)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The same document, but the join endpoint on another port of the same host.
    let foreign = format!(
        "http://127.0.0.1:{}/EnrollmentServer/device/",
        closed_port().await
    );
    document["DeviceJoinService"]["JoinEndpoint"] = foreign.clone().into();
    let served = document.clone();
    let app = axum::Router::new().route(
        "/contoso.com/enrollmentserver/contract",
        axum::routing::get(move || {
            let served = served.clone();
            async move { axum::Json(served) }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let drs = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let err = discover(&client(), &drs, "contoso.com").await.unwrap_err();
    assert!(
        matches!(&err, DiscoveryError::ForeignJoinEndpoint { endpoint, .. } if endpoint == &foreign),
        "{err:?}"
    );
    // Positive control: with its own origin the same document is accepted.
    let mut own = document;
    own["DeviceJoinService"]["JoinEndpoint"] = format!("{drs}EnrollmentServer/device/").into();
    let parsed: cxh_wire::discovery::DiscoveryDocument = serde_json::from_value(own).unwrap();
    host_bridge::discovery::check_join_endpoint(&drs, &parsed).unwrap();
}
