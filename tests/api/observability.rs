//! Following a request: its id in the answer and on its log lines, the latency of each named
//! operation and the database pool in `/metrics`, slow operations logged.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, logged_lines};

async fn post(app: &TestApp, request_id: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = app.client.post(format!("{}/graphql", app.address));
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    request.json(&body).send().await.expect("an answer")
}

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("an X-Request-Id in the answer")
        .to_str()
        .expect("ASCII")
        .to_string()
}

async fn metrics(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

fn value_of(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} in /metrics:\n{metrics}"))
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_any_other_replaced() {
    let app = TestApp::new().spawn().await;
    let query = json!({ "query": "{ countries { code } }" });

    let echoed = post(&app, Some("client-id-42.a_b"), query.clone()).await;
    assert_eq!(request_id(&echoed), "client-id-42.a_b");

    let generated = request_id(&post(&app, None, query.clone()).await);
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    let again = request_id(&post(&app, None, query.clone()).await);
    assert_ne!(generated, again, "each request gets its own id");

    for insane in ["x".repeat(129), "two words".to_string()] {
        let replaced = request_id(&post(&app, Some(&insane), query.clone()).await);
        assert!(
            uuid::Uuid::parse_str(&replaced).is_ok(),
            "{insane} → {replaced}"
        );
    }

    // Not only GraphQL: every route answers with an id.
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("an answer");
    assert!(uuid::Uuid::parse_str(&request_id(&health)).is_ok());
}

#[tokio::test]
async fn the_log_lines_of_a_request_carry_its_id_and_parse_as_json() {
    // Every operation is slow at a zero threshold, so the operation logs from inside execution.
    let app = TestApp::new()
        .configure(|s| s.slow_operation = Duration::ZERO)
        .spawn()
        .await;
    let id = format!("logs-{}", uuid::Uuid::new_v4());
    let response = post(
        &app,
        Some(&id),
        json!({ "query": "query CountryCodes { countries { code } }" }),
    )
    .await;
    assert!(response.status().is_success());
    // The answer line is written once the body is on its way: give it a moment.
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = logged_lines(&id);
        if lines.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let in_request_span = |line: &Value| {
        line["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == id.as_str()))
    };
    let slow = lines
        .iter()
        .find(|l| l["message"] == "slow operation")
        .unwrap_or_else(|| panic!("a slow-operation line among {lines:?}"));
    assert_eq!(slow["level"], "WARN");
    assert_eq!(slow["request_id"], id.as_str());
    assert_eq!(slow["operation"], "CountryCodes");
    assert!(slow["duration_ms"].is_u64());
    assert!(slow["cost"].as_u64().is_some_and(|c| c > 0), "{slow}");
    assert!(in_request_span(slow), "{slow}");

    let answered = lines
        .iter()
        .find(|l| l["message"] == "answered")
        .unwrap_or_else(|| panic!("an answered line among {lines:?}"));
    assert_eq!(answered["status"], 200);
    assert!(in_request_span(answered), "{answered}");
    assert!(
        lines
            .iter()
            .all(|l| l["timestamp"].is_string() && l["level"].is_string())
    );
}

#[tokio::test]
async fn fast_operations_are_not_logged_as_slow() {
    let app = TestApp::new()
        .configure(|s| s.slow_operation = Duration::from_secs(60))
        .spawn()
        .await;
    let id = format!("fast-{}", uuid::Uuid::new_v4());
    post(
        &app,
        Some(&id),
        json!({ "query": "{ countries { code } }" }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lines = logged_lines(&id);
    assert!(!lines.is_empty(), "the request is logged");
    assert!(
        !lines.iter().any(|l| l.contains("slow operation")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn metrics_have_a_latency_histogram_per_operation_and_the_pool() {
    // The histogram times operations that run; with the cache on, repeats would be hits.
    let app = TestApp::new()
        .configure(|s| s.response_cache.max_bytes = 0)
        .spawn()
        .await;
    for _ in 0..3 {
        post(
            &app,
            None,
            json!({ "query": "query CountryCodes { countries { code } }" }),
        )
        .await;
    }
    post(&app, None, json!({ "query": "{ countries { code } }" })).await;
    // Of two operations in one document, the one asked for names the latency.
    post(
        &app,
        None,
        json!({
            "query": "query A { countries { code } } query B { countries { name } }",
            "operationName": "B"
        }),
    )
    .await;

    let text = metrics(&app).await;
    let op = "c2c_graphql_operation_duration_seconds";
    assert_eq!(
        value_of(&text, &format!("{op}_count{{operation=\"CountryCodes\"}}")),
        3.0
    );
    assert_eq!(
        value_of(
            &text,
            &format!("{op}_bucket{{operation=\"CountryCodes\",le=\"+Inf\"}}")
        ),
        3.0
    );
    assert!(value_of(&text, &format!("{op}_sum{{operation=\"CountryCodes\"}}")) > 0.0);
    assert_eq!(
        value_of(&text, &format!("{op}_count{{operation=\"anonymous\"}}")),
        1.0
    );
    assert_eq!(
        value_of(&text, &format!("{op}_count{{operation=\"B\"}}")),
        1.0
    );
    assert!(!text.contains("operation=\"A\""), "{text}");

    assert!(value_of(&text, "c2c_db_pool_connections_max") >= 1.0);
    assert!(value_of(&text, "c2c_db_pool_connections_in_use") >= 0.0);
    assert!(value_of(&text, "c2c_db_pool_connections_idle") >= 0.0);
    // The earlier names keep working.
    assert!(value_of(&text, "c2c_graphql_requests_total") >= 5.0);
    assert!(value_of(&text, "c2c_db_statements_total") >= 1.0);
    value_of(&text, "c2c_graphql_errors_total");
    value_of(&text, "c2c_db_statement_errors_total");
    value_of(&text, "c2c_db_statement_microseconds_total");
    // Each series is explained in one plain sentence or more: no line broken into the text.
    for help in text.lines().filter(|l| l.starts_with("# HELP ")) {
        assert!(
            !help.contains("  "),
            "a help text with a run of spaces: {help}"
        );
        assert!(help.ends_with('.'), "a help text cut short: {help}");
    }
}

#[tokio::test]
async fn clients_cannot_grow_the_operation_labels_without_bound() {
    let app = TestApp::new().spawn().await;
    let bound = api::metrics::MAX_OPERATION_NAMES;
    for i in 0..bound + 20 {
        post(
            &app,
            None,
            json!({ "query": format!("query Name{i} {{ countries {{ code }} }}") }),
        )
        .await;
    }
    let text = metrics(&app).await;
    let labels = text
        .lines()
        .filter(|l| l.starts_with("c2c_graphql_operation_duration_seconds_count{"))
        .count();
    assert_eq!(labels, bound + 1, "{bound} names and other");
    assert_eq!(
        value_of(
            &text,
            "c2c_graphql_operation_duration_seconds_count{operation=\"other\"}"
        ),
        20.0
    );
}

/// On PostgreSQL a connection's socket is driven by the runtime it was opened on: those opened
/// while the server started (on the thread that started it) are closed at their first use by a
/// request, and the ones the server's workers open instead are kept. SQLite's connections each
/// run on a thread of their own: none is closed.
#[tokio::test]
async fn connections_opened_while_starting_serve_no_request() {
    let app = TestApp::new()
        .configure(|s| s.response_cache.max_bytes = 0)
        .spawn()
        .await;
    let postgres = app.database().await.get_database_backend() == sea_orm::DbBackend::Postgres;
    let retired = || async { value_of(&metrics(&app).await, "c2c_db_connections_retired_total") };
    assert_eq!(retired().await, 0.0, "nothing is retired before a request");
    let page = json!({ "query": "{ practices(first: 3) { nodes { id title } } }" });
    // Six at once, so that the pool opens connections beside the one it holds.
    let batch = || async {
        let mut asked = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let request = app.client.post(format!("{}/graphql", app.address));
            asked.spawn(request.json(&page).send());
        }
        while let Some(answer) = asked.join_next().await {
            let body: Value = answer
                .expect("the request ran")
                .expect("an answer")
                .json()
                .await
                .expect("JSON");
            assert!(body.get("errors").is_none(), "{body}");
        }
    };
    batch().await;
    let after_first = retired().await;
    if postgres {
        assert!(
            after_first >= 1.0,
            "the startup's connections are retired: {after_first}"
        );
    } else {
        assert_eq!(after_first, 0.0);
    }
    for _ in 0..3 {
        batch().await;
    }
    assert_eq!(
        retired().await,
        after_first,
        "the connections opened while serving are kept"
    );
}

/// On PostgreSQL the read path keeps the connections of its statements that ran to their end,
/// and runs the next statements on them without the round trip sqlx makes to check a connection
/// given back to its pool. SQLite's reads take their connections from the pool as before.
#[tokio::test]
async fn read_statements_run_on_connections_kept_back_from_the_pool() {
    let app = TestApp::new()
        .seeded()
        .configure(|s| s.response_cache.max_bytes = 0)
        .spawn()
        .await;
    let postgres = app.database().await.get_database_backend() == sea_orm::DbBackend::Postgres;
    let page = json!({ "query": "{ practices(first: 5) { nodes { id title \
        participants { city { name } } funding(first: 3) { nodes { id year } } } } }" });
    let mut first = None;
    for _ in 0..5 {
        let body: Value = post(&app, None, page.clone())
            .await
            .json()
            .await
            .expect("JSON");
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(
            first.get_or_insert_with(|| body.clone()),
            &body,
            "the same page each time"
        );
    }
    let text = metrics(&app).await;
    let unchecked = value_of(&text, "c2c_db_statements_on_kept_connections_total");
    if postgres {
        // Each page runs its statements on connections the pages before kept.
        assert!(
            unchecked >= 4.0,
            "{unchecked} statements on kept connections"
        );
    } else {
        assert_eq!(unchecked, 0.0);
    }
    let (in_use, idle) = (
        value_of(&text, "c2c_db_pool_connections_in_use"),
        value_of(&text, "c2c_db_pool_connections_idle"),
    );
    assert!(
        in_use + idle <= value_of(&text, "c2c_db_pool_connections_max"),
        "{in_use} in use, {idle} idle"
    );
    let kept = value_of(&text, "c2c_db_pool_connections_kept");
    assert!(kept <= idle, "{kept} kept, {idle} idle");
    if postgres {
        assert!(kept >= 1.0, "the last page's connections are kept");
        // Unused, they go back to the pool, for the paths that take theirs from it: kept for a
        // second, looked at every second.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let text = metrics(&app).await;
        assert_eq!(value_of(&text, "c2c_db_pool_connections_kept"), 0.0);
    } else {
        assert_eq!(kept, 0.0);
    }
}
