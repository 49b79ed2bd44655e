//! Traces over OTLP: the real binary serving a request, and a stand-in collector receiving what
//! it exports (OTLP/HTTP, protobuf).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Server, free_port, http, wait_for};

/// One POST the collector received: its path and body.
type Received = (String, Vec<u8>);

/// Answers every request 200 with an empty body (an empty export response is valid protobuf)
/// and hands each one over.
fn collector() -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the collector");
    let port = listener.local_addr().expect("its address").port();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sender = sender.clone();
            std::thread::spawn(move || serve_connection(stream, sender));
        }
    });
    (port, receiver)
}

fn serve_connection(stream: TcpStream, sender: mpsc::Sender<Received>) {
    let mut reader = BufReader::new(stream.try_clone().expect("the stream cloned"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let _ = writer.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
        );
        if sender.send((path, body)).is_err() {
            return;
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn a_request_is_exported_as_a_span_to_the_collector() {
    let (collector_port, received) = collector();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("forum.db").display()
    );
    let port = free_port();
    let mut command = common::forum();
    command
        .args(["serve", "--dev", "--no-seed", "--bind"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--database-url", &database, "--otlp-endpoint"])
        .arg(format!("http://127.0.0.1:{collector_port}"))
        .args(["--otlp-service-name", "forum-under-test"])
        // Export each batch within a tenth of a second rather than the default five.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _server = Server(command.spawn().expect("c2c-forum starts"));

    wait_for(port, "/healthz");
    let body = r#"{"query":"{ practices(first: 1) { totalCount } }"}"#;
    let answer = http(
        port,
        &format!(
            "POST /graphql HTTP/1.0\r\ncontent-type: application/json\r\nx-request-id: trace-me-0001\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .expect("an answer");
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");

    // Batches arrive until the span of that request is among them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut paths = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (path, body) = received
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no span of the request exported; posts seen: {paths:?}"));
        paths.push(path.clone());
        if contains(&body, "trace-me-0001") {
            assert_eq!(path, "/v1/traces");
            assert!(contains(&body, "forum-under-test"), "the service name");
            assert!(contains(&body, "POST /graphql"), "the span's name");
            assert!(contains(&body, "http.response.status_code"));
            break;
        }
    }
}
