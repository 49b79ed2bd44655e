//! A database that holds a request up: a statement waiting on a lock is cancelled by PostgreSQL's
//! `statement_timeout`, and a SQLite file locked by another process fails a write after the busy
//! timeout; both answer UNAVAILABLE within seconds rather than at the query deadline.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, TransactionOptions, TransactionTrait};
use serde_json::json;

use crate::helpers::{TestApp, error_code, logged_lines};

/// Whether the server logged that a statement mentioning `table` failed after a long run, with
/// its text: the answer says only that the database was unavailable.
fn logged_long_failure(table: &str) -> bool {
    logged_lines("statement failed after a long run")
        .iter()
        .any(|l| l.contains(table))
}

const ANY_READ: &str = "{ practices(first: 1) { totalCount } }";
const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";

#[tokio::test]
async fn a_statement_waiting_on_a_lock_is_cancelled_by_the_statement_timeout() {
    let app = TestApp::new()
        .seeded()
        .configure(|s| {
            s.database.statement_timeout = Duration::from_secs(1);
            // Far beyond the statement timeout: only the database can end the wait early.
            s.budget.deadline = Duration::from_secs(20);
        })
        .spawn()
        .await;
    if !app.database_url.starts_with("postgres") {
        eprintln!("statement_timeout is PostgreSQL's: nothing to check on SQLite");
        return;
    }
    let own = app.database().await;
    let lock = own.begin().await.expect("a transaction");
    lock.execute_unprepared("LOCK TABLE practice IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("the practice table locked");

    let started = Instant::now();
    let r = app.graphql(ANY_READ, json!({})).await;
    let took = started.elapsed();
    assert_eq!(error_code(&r), "UNAVAILABLE", "{r}");
    assert!(took < Duration::from_secs(5), "the read took {took:?}");
    assert!(
        logged_long_failure("practice"),
        "the cancelled statement is logged with its text"
    );

    lock.rollback().await.expect("the lock released");
    let r = app.graphql(ANY_READ, json!({})).await;
    assert!(r.get("errors").is_none(), "{r}");
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_fails_writes_fast_and_recovers() {
    let app = TestApp::new().seeded().spawn().await;
    if app.database_url.starts_with("postgres") {
        eprintln!("a locked file is SQLite's: the PostgreSQL variant is the outage test");
        return;
    }
    let own = app.database().await;
    let lock = own
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Exclusive),
            ..Default::default()
        })
        .await
        .expect("an exclusive transaction");
    // The exclusive lock is taken by the first write.
    lock.execute_unprepared("DELETE FROM sign_in_attempt WHERE 1 = 0")
        .await
        .expect("the write lock");

    // A sign-in counts the attempt in the database before it checks anything: a write.
    let vars = json!({ "e": "someone@example.org", "p": "not the password" });
    let started = Instant::now();
    let r = app.graphql(LOGIN, vars.clone()).await;
    let took = started.elapsed();
    assert_eq!(error_code(&r), "UNAVAILABLE", "{r}");
    assert!(took < Duration::from_secs(10), "the write took {took:?}");
    assert!(
        logged_long_failure("sign_in_attempt"),
        "the write that gave up is logged with its text"
    );

    lock.rollback().await.expect("the lock released");
    let r = app.graphql(LOGIN, vars).await;
    assert_ne!(error_code(&r), "UNAVAILABLE", "{r}");
}

/// The commands other than `serve` (seed, import, export, …) are whole jobs: PostgreSQL's
/// statement timeout, which bounds a request, must not cut one of their statements short.
#[tokio::test]
async fn the_commands_other_than_serve_run_without_the_statement_timeout() {
    let app = TestApp::new().spawn().await;
    if !app.database_url.starts_with("postgres") {
        eprintln!("statement_timeout is PostgreSQL's: nothing to check on SQLite");
        return;
    }
    let timeout_of = |db: sea_orm::DatabaseConnection| async move {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SHOW statement_timeout",
            ))
            .await
            .expect("SHOW statement_timeout")
            .expect("a row");
        row.try_get_by_index::<String>(0).expect("a setting")
    };
    // The service's own connections have one, or the comparison below proves nothing.
    assert_ne!(timeout_of(app.database().await).await, "0");

    let command = api::App::open_unseeded(&app.database_url)
        .await
        .expect("the app the commands open");
    assert_eq!(
        timeout_of(command.database().connection().clone()).await,
        "0"
    );
}
