//! The commands that work on a database, run as an operator would: the real binary on a SQLite
//! file.

use std::path::Path;
use std::process::{Command, Output};

fn forum_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_c2c-forum"));
    command.args(args);
    // The settings of whoever runs the tests stay out.
    for (key, _) in std::env::vars() {
        if key.starts_with("C2C_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
}

fn forum(args: &[&str]) -> Output {
    forum_command(args).output().expect("c2c-forum runs")
}

/// Whether a command's log warns of anything but its own slowness (a machine busy with other
/// work makes a benchmark's request take more than the second past which it is logged).
fn warned(stderr: &str) -> bool {
    stderr
        .lines()
        .any(|line| line.contains("WARN") && !line.contains("slow operation"))
}

fn log_beside(file: &Path) -> Option<u64> {
    let mut log = file.as_os_str().to_owned();
    log.push("-wal");
    std::fs::metadata(log).ok().map(|m| m.len())
}

/// Each command closes the database it opened, failing or not: SQLite then copies its
/// write-ahead log into the file and removes it, rather than leave it beside the file as large
/// as everything the command wrote (a seeded base's held the whole base).
#[test]
fn commands_leave_their_sqlite_database_in_one_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("forum.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());

    for args in [
        vec!["migrate", "--database-url", &url],
        vec!["seed", "--database-url", &url],
        vec![
            "prepare-rollups",
            "--by",
            "THEME,COUNTRY",
            "--database-url",
            &url,
        ],
        vec![
            "export",
            "iati",
            "--filter",
            "countryCode=NL",
            "--database-url",
            &url,
        ],
    ] {
        let output = forum(&args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(log_beside(&file), None, "{args:?} left the log");
        // Nothing in the background takes the closed database for a failure.
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!warned(&stderr), "{args:?}: {stderr}");
    }

    // The in-process benchmark, on a base of its own.
    let benched = dir.path().join("bench.db");
    let bench_url = format!("sqlite://{}?mode=rwc", benched.display());
    let output = forum(&[
        "bench",
        "--practices",
        "300",
        "--iterations",
        "2",
        "--database-url",
        &bench_url,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!warned(&stderr), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("schemeOverlaps"));
    assert_eq!(log_beside(&benched), None, "bench left the log");

    // Refused once the database is open.
    let output = forum(&["seed", "--database-url", &url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("already holds an information base"),
        "{stderr}"
    );
    assert_eq!(
        log_beside(&file),
        None,
        "a refused seed left the log: {stderr}"
    );

    // What the commands wrote is in the file, and the document alone on standard output (log
    // lines, the database's closing among them, go to standard error).
    let output = forum(&["export", "iati", "--database-url", &url]);
    let document = String::from_utf8_lossy(&output.stdout);
    assert!(
        document.matches("<iati-activity ").count() > 30,
        "{document}"
    );
    assert!(document.starts_with("<?xml "), "{document}");
    assert!(
        document.trim_end().ends_with("</iati-activities>"),
        "{document}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("database closed"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An address the service cannot listen on stops it before it touches the database: no base
/// migrated and seeded for a server that never ran, and the message names the setting.
#[test]
fn serve_fails_on_an_address_it_cannot_listen_on_before_opening_the_database() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let taken = taken.local_addr().expect("its address").to_string();
    for (flag, address) in [
        ("--bind", "nonsense"),
        ("--bind", taken.as_str()),
        ("--metrics-bind", taken.as_str()),
    ] {
        let file = dir.path().join("never.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let mut args = vec!["serve", "--dev", flag, address, "--database-url", &url];
        if flag != "--bind" {
            args.extend(["--bind", "127.0.0.1:0"]);
        }
        let output = forum(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag} {address}: {stderr}");
        assert!(
            stderr.contains(&flag[2..].replace('-', "_")) && stderr.contains(address),
            "{flag} {address}: {stderr}"
        );
        assert!(!stderr.contains("internal error"), "{stderr}");
        assert!(!file.exists(), "{flag} {address}: the database was opened");
    }
}

/// `export iati | head`: the reader closing the pipe early ends the export quietly and
/// successfully, as it does any Unix filter, not as an internal error.
#[test]
fn an_export_whose_reader_goes_away_stops_quietly() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("forum.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let seeded = forum(&["seed", "--database-url", &url]);
    assert!(seeded.status.success());

    let mut child = forum_command(&["export", "iati", "--database-url", &url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("c2c-forum runs");
    // Closed before the export opens its database, so its first write finds no reader.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("c2c-forum ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

/// A SQLite file that cannot be opened (its directory missing or not writable by the service's
/// user, as in a container whose working directory belongs to root) is said in those words,
/// not only as SQLite's "unable to open database file".
#[test]
fn a_sqlite_file_that_cannot_be_opened_names_the_likely_cause() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("missing").join("forum.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let output = forum(&["migrate", "--database-url", &url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("unable to open database file")
            && stderr.contains(&dir.path().join("missing").display().to_string())
            && stderr.contains("write"),
        "{stderr}"
    );
}

/// A PostgreSQL server that is not there is named as such (connection refused), not only as
/// the pool's "timed out while waiting for an open connection".
#[test]
fn a_postgres_server_that_is_not_there_is_said_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://forum@127.0.0.1:{port}/forum");
    let output = forum(&["migrate", "--database-url", &url]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
}

/// Sizes a command cannot honour are refused before any work, not met with a panic or with
/// memory filling for hours.
#[test]
fn sizes_out_of_range_are_refused_at_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("f.db").display());
    for args in [
        vec![
            "seed",
            "--synthetic",
            "--practices",
            "100000000000",
            "--database-url",
            &url,
        ],
        vec![
            "bench",
            "--practices",
            "10",
            "--iterations",
            "0",
            "--database-url",
            &url,
        ],
    ] {
        let output = forum(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.contains("not in"), "{args:?}: {stderr}");
    }
}
