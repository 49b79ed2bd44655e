//! The response cache: anonymous queries asked again are answered without running a statement,
//! a write shows at the next read, signed-in callers are never answered from it, a hit costs the
//! client as much as the run it replaces, and another process's write shows within the time to
//! live.

use std::time::Duration;

use api::Application;
use serde_json::json;

use crate::helpers::{Seed, TestApp, error_code};

const CITIES: &str = "{ cities(first: 100) { totalCount nodes { id name } } }";
const CREATE_CITY: &str =
    "mutation($n: String!) { createCity(input: { name: $n, countryCode: \"NL\" }) { id } }";

#[tokio::test]
async fn an_anonymous_query_asked_again_runs_no_statement_until_a_write() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;

    let first = app.data(CITIES, json!({})).await;
    let before = app.statements_executed().await;
    let again = app.data(CITIES, json!({})).await;
    assert_eq!(again, first);
    assert_eq!(
        app.statements_executed().await,
        before,
        "the second answer came from the cache"
    );

    app.data_as(&admin, CREATE_CITY, json!({ "n": "Cachetown" }))
        .await;
    let after_write = app.data(CITIES, json!({})).await;
    assert_eq!(
        after_write["cities"]["totalCount"].as_i64(),
        first["cities"]["totalCount"].as_i64().map(|n| n + 1),
        "the write shows at the next read: {after_write}"
    );

    // Other variables, another answer.
    let other = app
        .data(
            "query($f: Int!) { cities(first: $f) { nodes { id } } }",
            json!({ "f": 1 }),
        )
        .await;
    assert_eq!(other["cities"]["nodes"].as_array().map(Vec::len), Some(1));
    let two = app
        .data(
            "query($f: Int!) { cities(first: $f) { nodes { id } } }",
            json!({ "f": 2 }),
        )
        .await;
    assert_eq!(two["cities"]["nodes"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn signed_in_callers_and_failed_queries_are_never_answered_from_the_cache() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;

    app.data_as(&admin, CITIES, json!({})).await;
    let before = app.statements_executed().await;
    app.data_as(&admin, CITIES, json!({})).await;
    assert!(
        app.statements_executed().await > before,
        "a signed-in caller's query runs every time"
    );

    // One field answers, the other fails: the answer carries an error.
    let partly = "{ cities(first: 3) { nodes { id } } practices(first: -1) { nodes { id } } }";
    let r = app.graphql(partly, json!({})).await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    let before = app.statements_executed().await;
    let r = app.graphql(partly, json!({})).await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    assert!(
        app.statements_executed().await > before,
        "an answer with errors is not kept"
    );
}

#[tokio::test]
async fn a_cached_answer_costs_the_client_as_much_as_running_it() {
    // A page of 100 practices with 100 funding records each costs between 25,000 and 50,000
    // units; the burst is one request's maximum, 50,000, and nothing refills in the test's time.
    let app = TestApp::new()
        .seeded()
        .configure(|s| {
            s.budget.client_rate = 1;
            s.budget.client_burst = 0;
        })
        .spawn()
        .await;
    let page =
        "{ practices(first: 100) { nodes { funding(first: 100) { nodes { id amount } } } } }";
    app.data(page, json!({})).await;
    let again = app.graphql(page, json!({})).await;
    assert_eq!(error_code(&again), "RATE_LIMITED", "{again}");
    assert!(again.get("data").is_none_or(|d| d.is_null()), "{again}");
}

#[tokio::test]
async fn another_process_write_shows_once_the_answer_expires() {
    let ttl = Duration::from_millis(400);
    let app = TestApp::new()
        .seeded()
        .configure(move |s| s.response_cache.ttl = ttl)
        .spawn()
        .await;
    let admin = app.admin().await;
    // A second server on the same database, as a second API process would be.
    let other = Application::build(api::Settings {
        bind: "127.0.0.1:0".into(),
        database_url: app.database_url.clone(),
        seed_if_empty: false,
        jwt: api::auth::JwtKeys::from_secret(crate::helpers::TEST_JWT_SECRET).expect("secret"),
        ..api::Settings::default()
    })
    .await
    .expect("a second server starts");
    let other_address = format!("http://127.0.0.1:{}/graphql", other.port());
    let other_handle = other.handle();
    tokio::spawn(other.run_until_stopped());

    let first = app.data(CITIES, json!({})).await;
    let count = first["cities"]["totalCount"].as_i64().expect("count");
    let created: serde_json::Value = app
        .client
        .post(&other_address)
        .bearer_auth(&admin.access_token)
        .json(&json!({ "query": CREATE_CITY, "variables": { "n": "Elsewhere" } }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert!(created["errors"].is_null(), "{created}");

    let stale = app.data(CITIES, json!({})).await;
    assert_eq!(
        stale["cities"]["totalCount"].as_i64(),
        Some(count),
        "within its time to live the cached answer is served"
    );
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let fresh = app.data(CITIES, json!({})).await;
    assert_eq!(fresh["cities"]["totalCount"].as_i64(), Some(count + 1));
    drop(other_handle.stop(false));
}

#[tokio::test]
async fn with_the_cache_off_every_query_runs() {
    let app = TestApp::new()
        .with_seed(Seed::Report)
        .configure(|s| s.response_cache.max_bytes = 0)
        .spawn()
        .await;
    app.data(CITIES, json!({})).await;
    let before = app.statements_executed().await;
    app.data(CITIES, json!({})).await;
    assert!(app.statements_executed().await > before);
}

#[tokio::test]
async fn readers_asking_the_same_missing_answer_at_once_cost_one_run() {
    let app = TestApp::new().seeded().spawn().await;
    let page = "query($f: Int!) { practices(first: $f) { nodes { title participants { city { name country { name } } } funding { nodes { amount donor { name } } } } } }";
    let before = app.statements_executed().await;
    app.data(page, json!({ "f": 10 })).await;
    let one_run = app.statements_executed().await - before;
    assert!(one_run >= 3, "a page runs statements: {one_run}");

    let before = app.statements_executed().await;
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let request = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": page, "variables": { "f": 11 } }));
        readers.spawn(async move {
            let answer: serde_json::Value = request
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("JSON");
            answer
        });
    }
    let answers: Vec<serde_json::Value> = readers.join_all().await;
    assert!(answers[0]["errors"].is_null(), "{}", answers[0]);
    let sixteen = app.statements_executed().await - before;
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    // One split batch may add a statement or two (see `statements`).
    assert!(
        sixteen <= one_run + 2,
        "16 readers at once ran {sixteen} statements; one run is {one_run}"
    );
}

#[tokio::test]
async fn hits_and_misses_are_counted_in_the_metrics() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let before = count(&app).await;
    app.data(CITIES, json!({})).await;
    app.data(CITIES, json!({})).await;
    app.data(CITIES, json!({})).await;
    // A signed-in caller never reaches the cache: neither a hit nor a miss.
    app.data_as(&admin, CITIES, json!({})).await;
    let after = count(&app).await;
    assert_eq!(after.0 - before.0, 2.0, "two hits");
    assert_eq!(after.1 - before.1, 1.0, "one miss");
}

async fn count(app: &TestApp) -> (f64, f64) {
    (
        app.metric("c2c_response_cache_hits_total").await,
        app.metric("c2c_response_cache_misses_total").await,
    )
}
