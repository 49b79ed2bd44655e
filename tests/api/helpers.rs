use std::sync::Arc;

use api::{Application, Settings};
use persistence::db::{self, DbMetrics};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub client: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

/// Whether the information base of the report is loaded at start.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    Report,
    Nothing,
}

/// A fresh database: a new PostgreSQL database on the `TEST_DATABASE_URL` server, or a SQLite
/// file in a temporary directory.
async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(server_url) => {
            let name = format!("c2c_test_{}", uuid::Uuid::new_v4().simple());
            let admin = db::connect(&server_url, Arc::new(DbMetrics::default()))
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            admin.close().await.expect("close the admin connection");
            let base = server_url.split('?').next().unwrap_or(&server_url);
            let (server, _) = base
                .rsplit_once('/')
                .expect("TEST_DATABASE_URL names a database");
            (format!("{server}/{name}"), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("c2c-test.db").display()
            );
            (url, Some(dir))
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Seed::Report).await
}

pub async fn spawn_app_with(seed: Seed) -> TestApp {
    spawn_app_configured(seed, |_| {}).await
}

pub async fn spawn_app_configured(seed: Seed, configure: impl FnOnce(&mut Settings)) -> TestApp {
    api::telemetry::init();
    let (database_url, dir) = fresh_database().await;
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.clone(),
        seed_if_empty: seed == Seed::Report,
        ..Settings::default()
    };
    configure(&mut settings);
    let app = Application::build(settings)
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        database_url,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    /// POSTs a GraphQL request and returns the whole JSON response (`data` and `errors`).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON response")
    }

    /// `data` of a response that must have no errors.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response}"
        );
        response["data"].clone()
    }

    /// The SQL statements the server has executed so far, from `/metrics`.
    pub async fn statements_executed(&self) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix("c2c_db_statements_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("c2c_db_statements_total in /metrics")
    }

    /// A connection of the test's own to the app's database.
    pub async fn database(&self) -> DatabaseConnection {
        db::connect(&self.database_url, Arc::new(DbMetrics::default()))
            .await
            .expect("connect to the test database")
    }
}

/// The first error's `extensions.code`.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response}"))
}

/// The seed file, as the tests' independent source of expected values.
pub fn seed_file() -> Value {
    serde_json::from_str(persistence::seed::INFORMATION_BASE_JSON).expect("seed JSON")
}
