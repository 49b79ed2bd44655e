//! What the tests that run the real binary as a server share: a command free of the caller's
//! settings, free ports, a child stopped with the test, plain HTTP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// `c2c-forum` without the settings of the environment the tests run in, which would
/// otherwise point it at another database or collector.
pub fn forum() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_c2c-forum"));
    for (key, _) in std::env::vars() {
        if key.starts_with("C2C_") || key.starts_with("OTEL_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A server the test started, killed when the test ends however it ends.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTP/1.0 request without a client library: the status line and the body.
pub fn http(port: u16, request: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// Waits until `path` on `port` answers, for at most a minute (a debug build's start).
pub fn wait_for(port: u16, path: &str) {
    let started = Instant::now();
    while http(port, &format!("GET {path} HTTP/1.0\r\n\r\n")).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing answered {path} on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
