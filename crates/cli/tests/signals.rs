//! The real binary stopped by the signals an operator or a supervisor sends: the whole service
//! ends, the metrics server on its own address with it, and the exit is a clean one.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, free_port, http, wait_for};

/// Starts the service with `/metrics` on an address of its own, sends it `signal` once both
/// answer, and returns how it ended.
fn stopped_by(signal: &str) -> std::process::ExitStatus {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("forum.db").display()
    );
    let (port, metrics_port) = (free_port(), free_port());
    let mut command = common::forum();
    command
        .args(["serve", "--dev", "--no-seed", "--database-url", &database])
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--metrics-bind")
        .arg(format!("127.0.0.1:{metrics_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = Server(command.spawn().expect("c2c-forum starts"));
    wait_for(port, "/healthz");
    wait_for(metrics_port, "/metrics");

    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(server.0.id().to_string())
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIG{signal} sent");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.0.try_wait().expect("the server's state") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIG{signal}; /healthz answers: {}, /metrics answers: {}",
            http(port, "GET /healthz HTTP/1.0\r\n\r\n").is_some(),
            http(metrics_port, "GET /metrics HTTP/1.0\r\n\r\n").is_some(),
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_stops_the_service_and_its_metrics_server() {
    let status = stopped_by("TERM");
    assert!(status.success(), "{status}");
}

#[test]
fn sigint_stops_the_service_and_its_metrics_server() {
    let status = stopped_by("INT");
    assert!(status.success(), "{status}");
}

/// actix's own signal handling, left on the metrics server, stopped that server alone on a
/// SIGQUIT: the service went on answering with its metrics gone.
#[test]
fn sigquit_stops_the_whole_service_not_its_metrics_alone() {
    let status = stopped_by("QUIT");
    assert!(status.success(), "{status}");
}
