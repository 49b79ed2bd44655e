//! Query documents a hostile client sends: fragment bombs, oversized or malformed documents, and
//! requests a foreign web page could make (content types, CORS, the metrics endpoint).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

/// Generous bound for what the service must refuse at once (the bombs below ran 3 s to 17 s).
const FAST: Duration = Duration::from_secs(2);

/// `query{...F<n>}` where each fragment spreads the one before twice: 2^n `__typename` once
/// expanded, in well under a kilobyte.
fn fragment_bomb(n: usize) -> String {
    let mut doc = format!("query{{...F{n}}} fragment F0 on Query{{__typename}}");
    for i in 1..=n {
        doc.push_str(&format!(
            " fragment F{i} on Query{{...F{p} ...F{p}}}",
            p = i - 1
        ));
    }
    doc
}

/// POSTs `query` and gives up after `FAST` (a stalled server must fail the test, not hang it).
async fn post_fast(app: &TestApp, query: &str) -> (Value, Duration) {
    let started = Instant::now();
    let response = tokio::time::timeout(FAST, app.graphql(query, json!({})))
        .await
        .unwrap_or_else(|_| panic!("no answer within {FAST:?}"));
    (response, started.elapsed())
}

#[tokio::test]
async fn fragment_bombs_are_refused_at_once() {
    let app = TestApp::new().spawn().await;
    for n in [22, 24, 60] {
        let bomb = fragment_bomb(n);
        assert!(bomb.len() < 4096, "{} bytes", bomb.len());
        let (r, took) = post_fast(&app, &bomb).await;
        assert_eq!(error_code(&r), "QUERY_TOO_LARGE", "2^{n}: {r}");
        assert!(r["data"].is_null(), "{r}");
        assert!(took < FAST, "2^{n} took {took:?}");
    }
}

#[tokio::test]
async fn health_answers_while_bombs_are_in_flight() {
    let app = TestApp::new().spawn().await;
    let bomb = fragment_bomb(24);
    let health = async {
        // Let the bombs reach the workers first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let r = tokio::time::timeout(
            FAST,
            app.client.get(format!("{}/healthz", app.address)).send(),
        )
        .await
        .expect("/healthz answers while bombs are in flight")
        .expect("/healthz");
        assert_eq!(r.status().as_u16(), 200);
        started.elapsed()
    };
    let (a, b, took) = tokio::join!(post_fast(&app, &bomb), post_fast(&app, &bomb), health);
    assert_eq!(error_code(&a.0), "QUERY_TOO_LARGE");
    assert_eq!(error_code(&b.0), "QUERY_TOO_LARGE");
    assert!(took < FAST, "/healthz took {took:?}");
}

#[tokio::test]
async fn a_wide_document_without_fragments_is_refused_too() {
    let app = TestApp::new().spawn().await;
    // Repeated fields of one name are compared pairwise by validation: refuse by size first.
    let wide = format!("{{{}}}", " __typename".repeat(5_000));
    let (r, took) = post_fast(&app, &wide).await;
    assert_eq!(error_code(&r), "QUERY_TOO_LARGE", "{r}");
    assert!(took < FAST, "took {took:?}");
}

#[tokio::test]
async fn fragment_cycles_are_refused() {
    let app = TestApp::new().spawn().await;
    let (r, _) = post_fast(
        &app,
        "query{...A} fragment A on Query{__typename ...B} fragment B on Query{...A}",
    )
    .await;
    assert_eq!(error_code(&r), "GRAPHQL_VALIDATION_FAILED", "{r}");
    assert!(r["data"].is_null(), "{r}");
}

/// The introspection query GraphQL tools send when they open (its type references nested only as
/// deep as the depth limit allows).
const INTROSPECTION: &str = "
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
}";

#[tokio::test]
async fn ordinary_documents_with_fragments_still_run() {
    let app = TestApp::new().seeded().spawn().await;
    let data = app
        .data(
            "query { practices(first: 100) { ...Page } } fragment Page on PracticeConnection { totalCount edges { node { ...P } } } fragment P on Practice { id title cities { name country { name } } }",
            json!({}),
        )
        .await;
    assert!(data["practices"]["totalCount"].as_i64().unwrap() > 0);
    // What GraphiQL asks when it opens.
    let introspection = app.data(INTROSPECTION, json!({})).await;
    assert!(introspection["__schema"]["types"].is_array());
}
