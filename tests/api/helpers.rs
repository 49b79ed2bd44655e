//! The test server: a fresh database per test, the real HTTP server on a free port, and signed-in
//! users. `TestApp::new().seeded().with_user(Role::Donor).spawn().await` builds one;
//! `spawn_app()` and its variants are the short forms.

use std::sync::Arc;

use api::auth::JwtKeys;
use api::startup::{ServerHandle, Stopper};
use api::{App, Application, Settings};
use domain::actor::Role;
use persistence::db::{self, Database, DbMetrics};
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
    app: App,
    server: ServerHandle,
    stopper: Stopper,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    users: Vec<(Role, TestUser)>,
    // Last: dropped after the server has been told to stop.
    _database: TestDatabase,
}

/// Whether the information base of the report is loaded at start.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    Report,
    Nothing,
}

/// A change to the server's settings before it starts.
type Configure = Box<dyn FnOnce(&mut Settings)>;

/// What a test app is made of, before it starts.
pub struct TestAppBuilder {
    seed: Seed,
    configure: Vec<Configure>,
    roles: Vec<Role>,
}

impl TestAppBuilder {
    /// Loads the report's information base at start (the default is an empty base).
    pub fn seeded(mut self) -> Self {
        self.seed = Seed::Report;
        self
    }

    pub fn with_seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// Changes the server's settings before it starts.
    pub fn configure(mut self, configure: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.configure.push(Box::new(configure));
        self
    }

    /// A signed-in, approved user of `role` once started (see [`TestApp::user_of`]). Other roles
    /// than ADMIN are affiliated with the first city, association or donor of the base, so they
    /// need a seeded one.
    pub fn with_user(mut self, role: Role) -> Self {
        self.roles.push(role);
        self
    }

    pub async fn spawn(self) -> TestApp {
        capture_logs();
        let database = TestDatabase::create().await;
        let mut settings = settings_on(&database.url);
        settings.seed_if_empty = self.seed == Seed::Report;
        for configure in self.configure {
            configure(&mut settings);
        }
        let application = Application::build(settings)
            .await
            .expect("the application starts");
        let mut app = TestApp {
            address: format!("http://127.0.0.1:{}", application.port()),
            database_url: database.url.clone(),
            client: http_client(),
            app: application.app().clone(),
            server: application.handle(),
            stopper: application.stopper(),
            running: None,
            users: Vec::new(),
            _database: database,
        };
        app.running = Some(tokio::spawn(application.run_until_stopped()));
        for role in self.roles {
            let user = app.signed_in(role).await;
            app.users.push((role, user));
        }
        app
    }
}

impl TestApp {
    /// Starts the server's graceful stop, as SIGTERM does.
    pub fn stop_gracefully(&self) {
        self.stopper.stop();
    }

    /// Whether the server finished within `within` (after a stop), without error.
    pub async fn stopped_within(&mut self, within: std::time::Duration) -> bool {
        match self.running.take() {
            Some(running) => matches!(tokio::time::timeout(within, running).await, Ok(Ok(Ok(())))),
            None => true,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop at once; what it returns only waits for the server to finish.
        drop(self.server.stop(false));
    }
}

/// The lines the test servers have logged, newest last (the oldest are dropped beyond a bound).
static LOG_LINES: std::sync::Mutex<std::collections::VecDeque<String>> =
    std::sync::Mutex::new(std::collections::VecDeque::new());
const KEPT_LOG_LINES: usize = 200_000;

/// One log writer: whole lines go to [`LOG_LINES`], and to standard output too with `TEST_LOG`.
struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        if std::env::var_os("TEST_LOG").is_some() {
            print!("{text}");
        }
        let mut lines = LOG_LINES.lock().unwrap_or_else(|e| e.into_inner());
        for line in text.lines().filter(|l| !l.is_empty()) {
            if lines.len() == KEPT_LOG_LINES {
                lines.pop_front();
            }
            lines.push_back(line.to_string());
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every test server in this process logs as JSON into a buffer the tests can read
/// ([`logged_lines`]); servers run on threads of their own, so a per-test subscriber could not
/// see them.
fn capture_logs() {
    api::telemetry::install(api::telemetry::LogFormat::Json, || LogSink);
}

/// The captured log lines that contain `needle`.
pub fn logged_lines(needle: &str) -> Vec<String> {
    let lines = LOG_LINES.lock().unwrap_or_else(|e| e.into_inner());
    lines
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

/// What the test servers last logged about a database that could not answer (any test's in
/// this process: the log is shared), for a failure message to say which statement gave up.
pub fn unavailability_logged() -> String {
    let mut lines = logged_lines("unavailable");
    lines.extend(logged_lines("rollup build failed"));
    lines.extend(logged_lines("statement failed after a long run"));
    let recent = lines.len().saturating_sub(10);
    lines.split_off(recent).join("\n")
}

/// Drops the funding-gap rollups behind the service's back (every grouping's, or the one named
/// as `gap_combo` stores it), so that the next questions rebuild them from the base rows.
pub async fn drop_rollups(app: &TestApp, combo: Option<&str>) {
    let db = app.database().await;
    let only = combo
        .map(|c| format!(" WHERE combo = '{c}'"))
        .unwrap_or_default();
    for table in [
        "gap_rollup_year_span_edge",
        "gap_rollup_year_span",
        "gap_rollup_year_confidential",
        "gap_rollup_year_member",
        "gap_rollup_year_edge",
        "gap_rollup_confidential",
        "gap_rollup_member",
        "gap_rollup",
        "gap_combo",
    ] {
        db.execute_unprepared(&format!("DELETE FROM {table}{only}"))
            .await
            .expect("rollups dropped");
    }
}

/// The tests' HTTP client. It keeps no idle connection: a request sent on a connection the
/// server is closing at that moment (its keep-alive is 5 s) fails as not sent. Forgetting idle
/// connections after a second was not enough on a starved machine, where the server's
/// keep-alive can run out before the test has even read the previous answer (seen as an
/// incomplete message with two cores shared by three test runs and two busy loops).
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client")
}

/// A test server's settings on `database_url`: a free port, the test key, no seeding.
pub fn settings_on(database_url: &str) -> Settings {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.to_owned(),
        seed_if_empty: false,
        jwt: JwtKeys::from_secret(TEST_JWT_SECRET).expect("test secret"),
        ..Settings::default()
    };
    // A test is one client firing many requests at once; tests of the client budget set
    // their own.
    settings.budget.client_rate = 1_000_000_000;
    settings.budget.client_burst = 1_000_000_000;
    settings
}

/// A fresh, empty database (nothing migrated) for tests that start servers of their own on it;
/// dropped with this.
pub struct EmptyDatabase(TestDatabase);

impl EmptyDatabase {
    pub async fn create() -> EmptyDatabase {
        EmptyDatabase(TestDatabase::create().await)
    }

    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The path of the database's file when it is SQLite.
    pub fn sqlite_file(&self) -> Option<String> {
        self.url()
            .strip_prefix("sqlite://")
            .and_then(|rest| rest.split('?').next())
            .map(String::from)
    }
}

/// A fresh database: a new PostgreSQL database on the `TEST_DATABASE_URL` server, dropped with
/// this, or a SQLite file in a temporary directory, deleted with it.
struct TestDatabase {
    url: String,
    /// The server's URL and the database's name.
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    async fn create() -> TestDatabase {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(server_url) => {
                let name = format!("c2c_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&server_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_sql(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create a test database");
                admin.close().await.expect("close the admin connection");
                let base = server_url.split('?').next().unwrap_or(&server_url);
                let (server, _) = base
                    .rsplit_once('/')
                    .expect("TEST_DATABASE_URL names a database");
                TestDatabase {
                    url: format!("{server}/{name}"),
                    postgres: Some((server_url.clone(), name)),
                    _dir: None,
                }
            }
            Err(_) => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("c2c-test.db").display()
                );
                TestDatabase {
                    url,
                    postgres: None,
                    _dir: Some(dir),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop cannot await, and the test's runtime may be shutting down: a thread of its own
        // with a runtime of its own. FORCE ends the connections the server's pool still holds.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = Database::connect(&server_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let dropped = admin
                    .execute_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string());
                let _ = admin.close().await;
                dropped
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("the test database was not dropped: {dropped:?}");
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Seed::Report).await
}

pub async fn spawn_app_with(seed: Seed) -> TestApp {
    TestApp::new().with_seed(seed).spawn().await
}

pub async fn spawn_app_configured(
    seed: Seed,
    configure: impl FnOnce(&mut Settings) + 'static,
) -> TestApp {
    TestApp::new()
        .with_seed(seed)
        .configure(configure)
        .spawn()
        .await
}

impl TestApp {
    // Named like the builders of other test suites: `TestApp::new()…spawn()`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> TestAppBuilder {
        TestAppBuilder {
            seed: Seed::Nothing,
            configure: Vec::new(),
            roles: Vec::new(),
        }
    }

    /// The user of `role` asked for with [`TestAppBuilder::with_user`].
    pub fn user_of(&self, role: Role) -> &TestUser {
        self.users
            .iter()
            .find_map(|(r, u)| (*r == role).then_some(u))
            .unwrap_or_else(|| panic!("no {} user: ask for one with with_user", role.as_str()))
    }

    /// A new signed-in user of `role`, affiliated with the first record of its kind.
    async fn signed_in(&self, role: Role) -> TestUser {
        let admin = self.admin().await;
        let (list, field) = match role {
            Role::Admin => return admin,
            Role::Practitioner => ("cities", "cityId"),
            Role::SupportProvider => ("associations", "associationId"),
            Role::Donor => ("donors", "donorId"),
        };
        let query = format!("{{ {list}(first: 1) {{ edges {{ node {{ id }} }} }} }}");
        let data = self.data(&query, json!({})).await;
        let id = data[list]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("a {role:?} user needs {list} in the base: seed it"))
            .to_string();
        self.user(&admin, role.as_str(), (field, &id)).await
    }

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

    /// A GraphQL multipart request (the spec Apollo's and urql's upload links send) carrying
    /// `file` as the `$file` variable of `query`; `preflight` adds the header browsers cannot send
    /// without asking first. Answers the status and the JSON body.
    pub async fn upload_as(
        &self,
        user: Option<&TestUser>,
        query: &str,
        file: &[u8],
        preflight: bool,
    ) -> (u16, Value) {
        let boundary = "c2c-test-boundary-7d1f";
        let operations = json!({ "query": query, "variables": { "file": null } });
        let mut body = Vec::new();
        for (name, value) in [
            ("operations", operations.to_string()),
            ("map", json!({ "0": ["variables.file"] }).to_string()),
        ] {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .bytes(),
            );
        }
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"activities.xml\"\r\nContent-Type: application/xml\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(file);
        body.extend(format!("\r\n--{boundary}--\r\n").bytes());
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if preflight {
            request = request.header("apollo-require-preflight", "true");
        }
        if let Some(user) = user {
            request = request.bearer_auth(&user.access_token);
        }
        let response = request.send().await.expect("an answer");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
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

    /// The services the server answers from, for what only the command line does.
    pub fn services(&self) -> &api::app::Services {
        self.app.services()
    }

    /// An ADMIN made the way the first one is: directly through the domain, as
    /// `c2c-forum user create` does.
    pub async fn admin(&self) -> TestUser {
        let email = format!("admin-{}@forum.example", uuid::Uuid::new_v4().simple());
        self.app
            .services()
            .accounts()
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
        self.metric("c2c_db_statements_total").await as u64
    }

    /// The value of one series of `/metrics` (its name with any labels, as printed).
    pub async fn metric(&self, series: &str) -> f64 {
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
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} in /metrics:\n{text}"))
    }

    /// Starts keeping the SQL statements the server executes, with their bound values.
    pub fn record_statements(&self) {
        self.app.database().metrics().record();
    }

    /// The statements executed since [`TestApp::record_statements`], in order; stops keeping.
    pub fn recorded_statements(&self) -> Vec<sea_orm::Statement> {
        self.app.database().metrics().take_recorded()
    }

    /// The app the server runs, for what only the command line does (imports).
    /// Adds the deterministic synthetic base of `practices` practices (`seed --synthetic`) to
    /// this app's database, behind the server's back.
    pub async fn add_synthetic(&self, practices: usize, seed: u64) {
        let db = persistence::db::Database::connect(&self.database_url)
            .await
            .expect("connect");
        let options = tools::synthetic::SyntheticOptions { practices, seed };
        tools::synthetic::seed_synthetic(&db, &options, &|_, _, _| {})
            .await
            .expect("a synthetic base");
        db.close().await.expect("closed");
    }

    /// A second server on this app's database, as another process of the same deployment would
    /// be (its own pool and followers), signing with the same key; `configure` changes its
    /// settings. It seeds nothing and has no users of its own.
    pub async fn another_process(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = settings_on(&self.database_url);
        configure(&mut settings);
        let application = Application::build(settings)
            .await
            .expect("the second application starts");
        let mut app = TestApp {
            address: format!("http://127.0.0.1:{}", application.port()),
            database_url: self.database_url.clone(),
            client: http_client(),
            app: application.app().clone(),
            server: application.handle(),
            stopper: application.stopper(),
            running: None,
            users: Vec::new(),
            // The database belongs to the first app, which the test keeps until the end.
            _database: TestDatabase {
                url: self.database_url.clone(),
                postgres: None,
                _dir: None,
            },
        };
        app.running = Some(tokio::spawn(application.run_until_stopped()));
        app
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// A connection of the test's own to the app's database.
    pub async fn database(&self) -> DatabaseConnection {
        db::connect(&self.database_url, Arc::new(DbMetrics::default()))
            .await
            .expect("connect to the test database")
    }
}

/// Runs a script of `tests/js` with Node.js, its packages found in `modules` (a `node_modules`
/// folder), off the runtime that serves the app; fails the test unless it exits 0.
pub async fn run_node(script: &str, args: Vec<String>, modules: String) {
    let path = format!("{}/tests/js/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(path)
            .args(args)
            .env("NODE_PATH", modules)
            .output()
            .expect("node runs")
    })
    .await
    .expect("node finished");
    assert!(
        output.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The number in the database of the record a global id names (`Type:number` in URL-safe
/// base64, README "Object identification"), for the tests that read the tables or the tokens.
pub fn number_of(id: &str) -> i64 {
    use base64::Engine;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| panic!("{id} is a global id"));
    text.rsplit([':', '/'])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text} ends in a number"))
}

/// The first column of the one row `sql` returns, as text.
pub async fn text_row(db: &DatabaseConnection, sql: String) -> String {
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql.clone(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .unwrap_or_else(|| panic!("{sql} returns a row"))
    .try_get_by_index::<String>(0)
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The first column of the one row `sql` returns, as an integer: PostgreSQL's INTEGER
/// columns come as 32 bits, its counts and SQLite's integers as 64.
pub async fn scalar(db: &DatabaseConnection, sql: String) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.clone(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql} returns a row"));
    row.try_get_by_index::<i64>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
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

#[tokio::test]
async fn the_builder_signs_in_a_user_of_each_role_asked_for() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Donor)
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    for role in [Role::Donor, Role::Practitioner] {
        let data = app
            .data_as(app.user_of(role), "{ viewer { role } }", json!({}))
            .await;
        assert_eq!(data["viewer"]["role"], role.as_str());
    }
}

#[tokio::test]
async fn a_postgresql_test_database_is_dropped_with_its_app() {
    let Ok(server_url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let app = TestApp::new().spawn().await;
    let name = app
        .database_url
        .rsplit_once('/')
        .map(|(_, name)| name.to_string())
        .expect("a database name");
    drop(app);
    let admin = db::connect(&server_url, Arc::new(DbMetrics::default()))
        .await
        .expect("connect to TEST_DATABASE_URL");
    use sea_orm::ConnectionTrait;
    let left = admin
        .query_one_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT COUNT(*) FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .expect("list databases")
        .expect("a row");
    assert_eq!(left.try_get_by_index::<i64>(0).expect("a count"), 0);
}

/// A practice of `city` with the fields every practice needs, for `createPractice`.
pub fn practice_input(title: &str, city: &str) -> Value {
    json!({
        "title": title,
        "themes": ["ENVIRONMENT"],
        "modality": "ONE_ON_ONE",
        "managementFocus": ["TECHNICAL_EXPERTISE"],
        "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"],
        "orientation": "NORTH_SOUTH",
        "cityIds": [city],
    })
}

/// Runs the migrations down, latest first, through `name`: a test of one migration's `down`
/// and `up` must not depend on how many came after it.
pub async fn migrate_down_through(db: &sea_orm::DatabaseConnection, name: &str) {
    use migration::MigratorTrait;
    loop {
        let applied = migration::Migrator::get_applied_migrations(db)
            .await
            .expect("the applied migrations");
        let last = applied
            .last()
            .expect("a migration to run down")
            .name()
            .to_string();
        migration::Migrator::down(db, Some(1))
            .await
            .unwrap_or_else(|e| panic!("{last} runs down: {e}"));
        if last == name {
            return;
        }
    }
}
