//! Requests that cost more than they weigh: aliased analytics, nested lists that grow with the
//! base, one client's burst against everyone else's latency.

use std::time::{Duration, Instant};

use domain::actor::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

/// Follows one parent's nested connection one record per page to the end: every record once,
/// as many as `totalCount` says, and at least `least`.
async fn walk(app: &TestApp, parent: &str, field: &str, id: &Value, least: i64) {
    let query = format!(
        "query($id: ID!, $after: String) {{ {parent}(id: $id) {{ {field}(first: 1, after: $after) {{
            totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor }} }} }} }}"
    );
    let (mut after, mut seen, mut total) = (Value::Null, Vec::new(), None);
    loop {
        let data = app.data(&query, json!({ "id": id, "after": after })).await;
        let conn = &data[parent][field];
        total = total.or(conn["totalCount"].as_i64());
        assert_eq!(conn["totalCount"].as_i64(), total, "{parent}.{field}");
        let edges = conn["edges"].as_array().unwrap();
        assert!(edges.len() <= 1, "{parent}.{field}: a page of one");
        seen.extend(edges.iter().map(|e| e["cursor"].clone()));
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(seen.len() < 1_000, "{parent}.{field} pages forever");
    }
    let total = total.unwrap();
    assert!(
        total >= least,
        "{parent}.{field}: a parent with at least {least} records, not {total}"
    );
    assert_eq!(
        seen.len() as i64,
        total,
        "{parent}.{field}: every record once"
    );
    let mut unique = seen.clone();
    unique.sort_by_key(|v| v.to_string());
    unique.dedup();
    assert_eq!(
        unique.len(),
        seen.len(),
        "{parent}.{field}: no record twice"
    );
}

/// The parent among the first 100 of a root list with the most records in `field`.
async fn fullest(app: &TestApp, list: &str, field: &str) -> Value {
    let data = app
        .data(
            &format!("{{ {list}(first: 100) {{ edges {{ node {{ id {field}(first: 1) {{ totalCount }} }} }} }} }}"),
            json!({}),
        )
        .await;
    data[list]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|e| e["node"][field]["totalCount"].as_i64().unwrap())
        .map(|e| e["node"]["id"].clone())
        .unwrap_or_else(|| panic!("{list} has records"))
}

#[tokio::test]
async fn nested_lists_that_grow_with_the_base_are_paged_like_the_root_lists() {
    let app = TestApp::new().seeded().spawn().await;

    // The reproducer's form: twenty donors, each with one page of its funding.
    let data = app
        .data(
            "{ donors(first: 20) { edges { node { name funding(first: 2) { totalCount
                pageInfo { hasNextPage } edges { node { amount currency year } } } } } } }",
            json!({}),
        )
        .await;
    let donors = data["donors"]["edges"].as_array().unwrap();
    assert!(
        donors
            .iter()
            .all(|d| { d["node"]["funding"]["edges"].as_array().unwrap().len() <= 2 })
    );
    assert!(donors.iter().any(|d| {
        d["node"]["funding"]["totalCount"].as_i64().unwrap() > 2
            && d["node"]["funding"]["pageInfo"]["hasNextPage"] == true
    }));

    // The unpaged form is gone, and pages are capped as the root lists are.
    let r = app
        .graphql(
            "{ donors(first: 20) { edges { node { funding { amount } } } } }",
            json!({}),
        )
        .await;
    assert!(r["errors"].is_array(), "{r}");
    let r = app
        .graphql(
            "{ donors(first: 1) { edges { node { funding(first: 101) { totalCount } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");

    // The seeded base has parents with several records in each list but three: no city is in
    // two associations, no association in two, no scheme has two donors.
    for (list, parent, field, least) in [
        ("donors", "donor", "funding", 2),
        ("cities", "city", "practices", 2),
        ("cities", "city", "participations", 2),
        ("associations", "association", "practices", 2),
        ("associations", "association", "memberCities", 2),
        ("supportSchemes", "supportScheme", "practices", 2),
        ("supportSchemes", "supportScheme", "funding", 2),
        ("practices", "practice", "funding", 2),
        ("practices", "practice", "donors", 2),
        ("practices", "practice", "schemes", 2),
        ("donors", "donor", "schemes", 2),
        ("cities", "city", "memberships", 1),
        ("associations", "association", "memberAssociations", 2),
        ("associations", "association", "memberOf", 1),
        ("associations", "association", "schemesOperated", 2),
        ("supportSchemes", "supportScheme", "donors", 1),
    ] {
        let id = fullest(&app, list, field).await;
        walk(&app, parent, field, &id, least).await;
    }
    // Needs: the seed has at most one per city, so only the shape is checked.
    let data = app
        .data(
            "{ cities(first: 100) { edges { node { needs(first: 1) { totalCount edges { node { title } } } } } } }",
            json!({}),
        )
        .await;
    assert!(
        data["cities"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["node"]["needs"]["totalCount"].as_i64().unwrap() >= 1)
    );
}

const GAPS: &str = "fundingGaps(by: [THEME, ORIENTATION, COUNTRY], filter: { fromYear: 1990 }) { activePractices fundedUsd }";

fn aliased(n: usize, field: &str) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

#[tokio::test]
async fn aliased_analytics_are_refused_before_they_run() {
    let app = TestApp::new().seeded().spawn().await;
    let need = app.id_of("needs", "").await;

    let started = Instant::now();
    let r = app.graphql(&aliased(20, GAPS), json!({})).await;
    assert_eq!(error_code(&r), "COST_EXCEEDED", "{r}");
    assert!(r["data"].is_null(), "nothing ran: {r}");
    let matches = format!("matches(needId: \"{need}\") {{ practices {{ score }} }}");
    let r = app.graphql(&aliased(100, &matches), json!({})).await;
    assert_eq!(error_code(&r), "COST_EXCEEDED", "{r}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // One of each is an ordinary question.
    app.data(&aliased(1, GAPS), json!({})).await;
    app.data(&aliased(1, &matches), json!({})).await;
    // Nested pages multiply: a hundred cities with a hundred practices each, with theirs.
    let r = app
        .graphql(
            "{ cities(first: 100) { edges { node { practices(first: 100) { edges { node {
                title cities { name } } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "COST_EXCEEDED", "{r}");
}

#[tokio::test]
async fn one_clients_burst_is_limited_while_another_is_still_served() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Donor)
        .configure(|s| {
            s.budget.client_rate = 1_000;
            s.budget.client_burst = 100_000;
        })
        .spawn()
        .await;
    let expensive = aliased(1, GAPS);
    let mut limited = None;
    for _ in 0..10 {
        let r = app.graphql(&expensive, json!({})).await;
        if r["errors"].is_array() {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("an anonymous burst of gap tables is limited");
    assert_eq!(error_code(&r), "RATE_LIMITED", "{r}");
    assert!(
        r["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // A signed-in user is another client, with a budget of its own.
    let donor = app.user_of(Role::Donor).clone();
    for _ in 0..3 {
        app.data_as(&donor, &expensive, json!({})).await;
    }
    // And the anonymous client is still limited.
    let r = app.graphql(&expensive, json!({})).await;
    assert_eq!(error_code(&r), "RATE_LIMITED", "{r}");

    // Asked in GraphQL over HTTP's media type, the answer says when to retry as HTTP does.
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": expensive }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 429);
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("a Retry-After of whole seconds");
    let r: Value = response.json().await.expect("JSON");
    assert_eq!(
        r["errors"][0]["extensions"]["retryAfterSeconds"].as_u64(),
        Some(retry_after),
        "{r}"
    );
}

/// Anonymous requests through a proxy all come from its address: each client's budget is its
/// own only when the proxy is trusted to name the client.
async fn limited_after(app: &TestApp, forwarded_for: &str, query: &str) -> Option<usize> {
    for sent in 1..=10 {
        let r: Value = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("an answer")
            .json()
            .await
            .expect("JSON");
        if r["errors"].is_array() {
            assert_eq!(error_code(&r), "RATE_LIMITED", "{r}");
            return Some(sent);
        }
    }
    None
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let expensive = aliased(1, GAPS);
    for trusted in [false, true] {
        let app = TestApp::new()
            .seeded()
            .configure(move |s| {
                s.budget.client_rate = 1_000;
                s.budget.client_burst = 100_000;
                if trusted {
                    s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
                }
            })
            .spawn()
            .await;
        let first = limited_after(&app, "203.0.113.1", &expensive)
            .await
            .expect("one client's burst is limited");
        let second = limited_after(&app, "203.0.113.2", &expensive).await;
        if trusted {
            assert_eq!(
                second,
                Some(first),
                "another client starts with a full budget"
            );
        } else {
            assert_eq!(second, Some(1), "a forged header changes nothing");
        }
    }
}

#[tokio::test]
async fn a_query_past_its_deadline_is_abandoned() {
    // A deadline of zero fires at the timer's next tick (a millisecond) once the server waits on
    // the database; a query done sooner is not past it. The report's base alone is small enough
    // for a page written directly to be done that soon, so the page here reads a hundred
    // practices with their cities, funding and donors: many round trips to the database, never
    // all within a millisecond. The first is written directly, the second run by the schema
    // (`partners` is not answered directly); both must be abandoned.
    let app = TestApp::new()
        .seeded()
        .configure(|s| s.budget.deadline = Duration::ZERO)
        .spawn()
        .await;
    app.add_synthetic(150, 5).await;
    let unhurried = app
        .another_process(|s| s.response_cache.max_bytes = 0)
        .await;
    for (query, direct) in [
        (
            "{ practices(first: 100) { totalCount nodes { title themes cities { name country { code } } schemes { nodes { name } } funding { totalCount nodes { amountUsd status donor { name country { code } } } } } } }",
            1.0,
        ),
        (
            "{ practices(first: 100) { edges { node { title partners { name } cities { name } } } } }",
            0.0,
        ),
    ] {
        let r = app.graphql(query, json!({})).await;
        assert_eq!(error_code(&r), "TIMEOUT", "{r}");

        // With the ordinary deadline the same query is answered, the first one directly.
        let before = unhurried.metric("c2c_direct_answers_total").await;
        let data = unhurried.data(query, json!({})).await;
        let page = &data["practices"];
        let read = page["nodes"].as_array().or(page["edges"].as_array());
        assert_eq!(read.map(Vec::len), Some(100), "{data}");
        let wrote = unhurried.metric("c2c_direct_answers_total").await - before;
        assert_eq!(wrote, direct, "{query}");
    }
}

#[tokio::test]
async fn others_keep_their_latency_while_one_client_floods_expensive_requests() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let donor = app.user_of(Role::Donor).clone();
    let expensive = aliased(1, GAPS);
    let flood = async {
        let requests = (0..24).map(|_| app.graphql(&expensive, json!({})));
        futures_join_all(requests).await
    };
    let simple = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let r = app
            .graphql_as(
                Some(&donor),
                "{ cities(first: 1) { totalCount } }",
                json!({}),
            )
            .await;
        (r, started.elapsed())
    };
    let (answers, (simple, latency)) = tokio::join!(flood, simple);
    assert!(simple["errors"].is_null(), "{simple}");
    assert!(
        latency < Duration::from_secs(2),
        "a simple query took {latency:?}"
    );
    for r in answers {
        if r["errors"].is_array() {
            assert_eq!(error_code(&r), "RATE_LIMITED", "{r}");
        }
    }
}

/// Runs the futures together, so that their requests are in flight at the same time, and
/// collects their answers in order.
async fn futures_join_all<F: std::future::Future<Output = Value>>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<Value> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut answers: Vec<Option<Value>> = vec![None; pending.len()];
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (f, answer) in pending.iter_mut().zip(answers.iter_mut()) {
            if answer.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *answer = Some(v),
                    std::task::Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    answers.into_iter().flatten().collect()
}
