//! `c2c-forum config check` run as an operator would: the real binary on a file.

use std::process::{Command, Output};

fn check(file: &str, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("forum.toml");
    std::fs::write(&path, file).expect("the file written");
    let mut command = Command::new(env!("CARGO_BIN_EXE_c2c-forum"));
    command.args(["config", "check", "--config"]).arg(&path);
    // Only the variables this test sets: the settings of whoever runs the tests stay out.
    for (key, _) in std::env::vars() {
        if key.starts_with("C2C_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("c2c-forum runs")
}

#[test]
fn a_good_file_is_printed_with_sources_and_secrets_masked() {
    let output = check(
        "bind = \"0.0.0.0:8088\"\n\
         database_url = \"postgres://forum:hunter2@db/forum\"\n\
         jwt_secret = \"a signing secret that is long enough for HS256\"\n\
         cors_origins = [\"https://forum.example\"]\n\
         client_rate = 500\n",
        &[("C2C_CLIENT_RATE", "600")],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("bind = 0.0.0.0:8088  # file "), "{stdout}");
    assert!(
        stdout.contains("database_url = postgres://forum:****@db/forum  # file"),
        "{stdout}"
    );
    assert!(stdout.contains("jwt_secret = ********  # file"), "{stdout}");
    assert!(
        stdout.contains("client_rate = 600  # environment C2C_CLIENT_RATE"),
        "{stdout}"
    );
    assert!(
        stdout.contains("query_deadline_ms = 10000  # default"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("hunter2") && !stdout.contains("long enough"),
        "{stdout}"
    );
}

#[test]
fn an_unknown_key_fails_naming_it() {
    let output = check("bind = \"0.0.0.0:8088\"\nclient_rte = 5\n", &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"client_rte\""), "{stderr}");
}

#[test]
fn an_invalid_value_fails_naming_it() {
    for (file, key) in [
        ("client_burst = \"lots\"\n", "client_burst"),
        ("cors_origins = [\"forum.example\"]\n", "corsOrigins"),
        ("jwt_secret = \"short\"\n", "jwt_secret"),
        ("bind = \"nonsense\"\n", "bind"),
        ("bind = \"127.0.0.1:99999\"\n", "bind"),
        ("metrics_bind = \"localhost\"\n", "metrics_bind"),
    ] {
        let output = check(file, &[]);
        assert!(!output.status.success(), "{file}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(key), "{file}: {stderr}");
    }
}
