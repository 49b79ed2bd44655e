use std::sync::Arc;

use api::auth::JwtKeys;
use api::{Application, Settings};
use domain::account::Accounts;
use domain::actor::Role;
use persistence::db::{self, DbMetrics};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

/// The key the test servers sign with, so tests can forge and tamper with tokens.
pub const TEST_JWT_SECRET: &[u8] = b"a test secret that is long enough for HS256 signing";
pub const PASSWORD: &str = "correct horse battery";

/// A signed-in test user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

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
        jwt: JwtKeys::from_secret(TEST_JWT_SECRET).expect("test secret"),
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
        self.graphql_with_token(None, query, variables).await
    }

    /// The same, signed in as `user` (anonymous with `None`).
    pub async fn graphql_as(
        &self,
        user: Option<&TestUser>,
        query: &str,
        variables: Value,
    ) -> Value {
        self.graphql_with_token(user.map(|u| u.access_token.as_str()), query, variables)
            .await
    }

    pub async fn graphql_with_token(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON response")
    }

    /// `data` of a request as `user` that must have no errors.
    pub async fn data_as(&self, user: &TestUser, query: &str, variables: Value) -> Value {
        let response = self.graphql_as(Some(user), query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response}"
        );
        response["data"].clone()
    }

    /// An ADMIN made the way the first one is: directly through the domain, as
    /// `c2c-forum user create` does.
    pub async fn admin(&self) -> TestUser {
        let email = format!("admin-{}@forum.example", uuid::Uuid::new_v4().simple());
        let store = Arc::new(persistence::SeaStore::new(self.database().await));
        let (hasher, tokens) = api::auth::token_services();
        Accounts::new(store, hasher, tokens)
            .create_active(&email, PASSWORD, "Secretariat", Role::Admin, None)
            .await
            .expect("admin created");
        self.login(&email).await
    }

    /// Registers an account asking for `role` and `affiliation` (left PENDING).
    pub async fn register(
        &self,
        role: &str,
        affiliation: Option<(&str, &str)>,
    ) -> (String, String) {
        let email = format!(
            "{}-{}@forum.example",
            role.to_lowercase(),
            uuid::Uuid::new_v4().simple()
        );
        let mut input = json!({ "email": email, "password": PASSWORD, "name": "Test user", "requestedRole": role });
        if let Some((field, id)) = affiliation {
            input[field] = json!(id);
        }
        let data = self
            .data(
                "mutation($input: RegisterInput!) { register(input: $input) { id status } }",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(data["register"]["status"], "PENDING");
        (data["register"]["id"].as_str().unwrap().to_string(), email)
    }

    /// A signed-in, approved user of `role` affiliated as given, e.g. `("cityId", "12")`.
    pub async fn user(&self, admin: &TestUser, role: &str, affiliation: (&str, &str)) -> TestUser {
        let (id, email) = self.register(role, Some(affiliation)).await;
        let data = self
            .data_as(
                admin,
                "mutation($id: ID!) { approveUser(userId: $id) { status role } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["approveUser"]["status"], "ACTIVE");
        self.login(&email).await
    }

    pub async fn login(&self, email: &str) -> TestUser {
        let data = self
            .data(
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id email } } }",
                json!({ "e": email, "p": PASSWORD }),
            )
            .await;
        let login = &data["login"];
        TestUser {
            id: login["user"]["id"].as_str().unwrap().to_string(),
            email: email.to_string(),
            access_token: login["accessToken"].as_str().unwrap().to_string(),
            refresh_token: login["refreshToken"].as_str().unwrap().to_string(),
        }
    }

    /// The id of the first record a list query finds by text.
    pub async fn id_of(&self, list: &str, text: &str) -> String {
        let query = format!(
            "query($t: String) {{ {list}(first: 1, filter: {{ text: $t }}) {{ edges {{ node {{ id }} }} }} }}"
        );
        let data = self.data(&query, json!({ "t": text })).await;
        data[list]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{list} has {text}"))
            .to_string()
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
