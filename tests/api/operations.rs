//! The operational endpoints of the contract.

use api::Application;
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::helpers::{EmptyDatabase, scalar, settings_on, spawn_app};

#[tokio::test]
async fn health_readiness_metrics_and_graphiql() {
    let app = spawn_app().await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.address)).send();

    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);

    let _ = app
        .graphql("{ inventory { practiceCount } }", serde_json::json!({}))
        .await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("# TYPE c2c_db_statements_total counter"));
    let requests: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("c2c_graphql_requests_total "))
        .and_then(|v| v.parse().ok())
        .expect("request counter");
    assert!(requests >= 1);

    let page = get("/graphql").await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
}

/// Instances started together against one new database (a rolling deploy, a server beside its
/// twin) all come up: one applies the migrations and loads the reference data while the others
/// wait, then find nothing left to do. Before, all but one failed on what the first created.
#[tokio::test]
async fn instances_started_together_on_a_new_database_all_start() {
    let database = EmptyDatabase::create().await;
    let start = || Application::build(settings_on(database.url()));
    let (a, b, c, d) = tokio::join!(start(), start(), start(), start());
    let started = [a, b, c, d];
    let failed: Vec<String> = started
        .iter()
        .filter_map(|s| s.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(
        failed.is_empty(),
        "instances that did not start: {failed:?}"
    );

    let db = Database::connect(database.url()).await.expect("connect");
    let count = |sql: &'static str| {
        let db = &db;
        async move {
            db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .expect("count")
                .expect("a row")
                .try_get_by_index::<i64>(0)
                .expect("a count")
        }
    };
    let migrations = count("SELECT COUNT(*) FROM seaql_migrations").await;
    let distinct = count("SELECT COUNT(DISTINCT version) FROM seaql_migrations").await;
    assert_eq!(migrations, distinct, "each migration applied once");
    let countries = count("SELECT COUNT(*) FROM country").await;
    let codes = count("SELECT COUNT(DISTINCT code) FROM country").await;
    assert!(countries > 200, "the reference data is loaded: {countries}");
    assert_eq!(countries, codes, "the reference data loaded once");
    drop(started);
    db.close().await.expect("close");
}

/// On SQLite another process may hold the write lock for longer than SQLite's busy timeout (an
/// instance applying a migration to a large base takes tens of seconds): an instance starting
/// meanwhile waits for it, as on PostgreSQL, instead of failing with "database is locked".
#[tokio::test]
async fn an_instance_waits_for_another_process_holding_the_sqlite_write_lock() {
    let database = EmptyDatabase::create().await;
    if !database.url().starts_with("sqlite") {
        return;
    }
    let first = Application::build(settings_on(database.url()))
        .await
        .expect("the first instance starts");
    drop(first);
    let holder = Database::connect(database.url()).await.expect("connect");
    let lock = persistence::db::write_transaction(&holder)
        .await
        .expect("the write lock");
    let second = tokio::spawn(Application::build(settings_on(database.url())));
    // Past SQLite's busy timeout of 5 s.
    tokio::time::sleep(std::time::Duration::from_millis(6_500)).await;
    assert!(!second.is_finished(), "the second instance waits");
    lock.commit().await.expect("released");
    let started = tokio::time::timeout(std::time::Duration::from_secs(30), second)
        .await
        .expect("started once the lock is released")
        .expect("the start task");
    assert!(
        started.is_ok(),
        "{:?}",
        started.err().map(|e| e.to_string())
    );
    holder.close().await.expect("close");
}

/// On SQLite, a question that builds a rollup writes for seconds on a large base; in SQLite's
/// default rollback journal every reader would be locked out while that write spills to disk. The
/// service's connections run in write-ahead-log mode, where readers keep reading meanwhile.
#[tokio::test]
async fn sqlite_readers_are_not_locked_out_by_a_long_write() {
    let app = spawn_app().await;
    let db = app.database().await;
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    let mode = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA journal_mode",
        ))
        .await
        .expect("journal mode")
        .expect("a row");
    assert_eq!(mode.try_get_by_index::<String>(0).expect("text"), "wal");

    // A write transaction that has outgrown the page cache, still open: a reader answers.
    let writer = sea_orm::TransactionTrait::begin(&db).await.expect("begin");
    writer
        .execute_unprepared(
            "PRAGMA cache_size = 10; CREATE TABLE spill (x TEXT); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
             INSERT INTO spill SELECT hex(randomblob(100)) FROM n",
        )
        .await
        .expect("a large write");
    let data = app
        .data(
            "{ practices(first: 1) { totalCount } }",
            serde_json::json!({}),
        )
        .await;
    assert!(data["practices"]["totalCount"].as_i64().is_some(), "{data}");
    writer.rollback().await.expect("rollback");
}

/// A server that stops closes its database once it has answered its last request. On SQLite
/// the last connection to close copies the write-ahead log into the database file and removes
/// it: a stopped service leaves one file that holds everything, not a log as large as the
/// writes since the last checkpoint beside it (a seeded base's was larger than the base).
#[tokio::test]
async fn a_stopped_server_leaves_its_sqlite_database_in_one_file() {
    let database = EmptyDatabase::create().await;
    let Some(file) = database.sqlite_file() else {
        return;
    };
    let mut settings = settings_on(database.url());
    settings.seed_if_empty = true;
    let application = Application::build(settings)
        .await
        .expect("the instance starts, seeded");
    let (port, server) = (application.port(), application.handle());
    let running = tokio::spawn(application.run_until_stopped());
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&serde_json::json!({ "query": "{ practices(first: 3) { totalCount } }" }))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("a body");
    assert!(answer.contains("totalCount"), "{answer}");
    let log = std::path::PathBuf::from(format!("{file}-wal"));
    assert!(log.exists(), "the write-ahead log in use");

    server.stop(true).await;
    tokio::time::timeout(std::time::Duration::from_secs(20), running)
        .await
        .expect("stopped within 20 s")
        .expect("the server task")
        .expect("stopped cleanly");
    assert!(
        !log.exists(),
        "the log left beside the database: {} bytes",
        std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0)
    );
    let db = Database::connect(database.url()).await.expect("connect");
    let practices = scalar(&db, "SELECT COUNT(*) FROM practice".into()).await;
    assert!(practices > 0, "the seeded base is in the file");
    db.close().await.expect("close");
}

/// Connections of the pool that are in use when it closes close on their way back, each on its
/// own thread and at once: each then finds the others still open and leaves the write-ahead log
/// for the last, which none of them is. Closing must still leave the database in one file.
#[tokio::test]
async fn connections_closing_together_leave_the_sqlite_database_in_one_file() {
    for round in 0..10 {
        let database = EmptyDatabase::create().await;
        let Some(file) = database.sqlite_file() else {
            return;
        };
        let db = persistence::db::Database::connect(database.url())
            .await
            .expect("connect");
        // Four reads long enough to be running when closing begins.
        let reads: Vec<_> = (0..4)
            .map(|_| {
                let connection = db.connection().clone();
                tokio::spawn(async move {
                    connection
                        .query_one_raw(Statement::from_string(
                            connection.get_database_backend(),
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                             WHERE i < 200000) SELECT COUNT(*) FROM n",
                        ))
                        .await
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        db.close().await.expect("close");
        for read in reads {
            read.await.expect("the read's task").expect("a read");
        }
        let log = std::path::PathBuf::from(format!("{file}-wal"));
        assert!(
            !log.exists(),
            "round {round}: the log left beside the database: {} bytes",
            std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0)
        );
    }
}
