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

/// The introspection query GraphiQL sends when it opens, type references nested eight deep.
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
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
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

/// POSTs `body` to `/graphql` as `content_type` (no header with `None`).
async fn post_as(app: &TestApp, content_type: Option<&str>, body: String) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("request sent")
}

#[tokio::test]
async fn only_json_requests_run_so_a_foreign_page_cannot_post_mutations() {
    let app = TestApp::new().spawn().await;
    let admin = app.admin().await;
    // What a form or a `fetch` without preflight may send from any web page.
    let logout = json!({
        "query": "mutation($t: String!) { logout(refreshToken: $t) }",
        "variables": { "t": admin.refresh_token },
    })
    .to_string();
    let before = app.statements_executed().await;
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonp"),
        None,
    ] {
        let r = post_as(&app, content_type, logout.clone()).await;
        assert_eq!(r.status().as_u16(), 415, "{content_type:?}");
        let body: Value = r.json().await.expect("a JSON error");
        assert_eq!(error_code(&body), "BAD_REQUEST", "{content_type:?}: {body}");
    }
    // A form may be multipart; uploads run only with a header that forces a preflight.
    let r = post_as(
        &app,
        Some("multipart/form-data; boundary=x"),
        logout.clone(),
    )
    .await;
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.expect("a JSON error");
    assert_eq!(error_code(&body), "BAD_REQUEST", "{body}");
    assert_eq!(
        app.statements_executed().await,
        before,
        "no refused request reached the database"
    );
    // The sign-in was not revoked: its refresh token still works.
    let data = app
        .data(
            "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
            json!({ "t": admin.refresh_token }),
        )
        .await;
    assert!(data["refresh"]["accessToken"].is_string());
}

#[tokio::test]
async fn json_content_types_with_parameters_are_accepted() {
    let app = TestApp::new().spawn().await;
    let body = json!({ "query": "{ __typename }" }).to_string();
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/graphql-response+json",
        "application/graphql-response+json; charset=utf-8",
    ] {
        let r = post_as(&app, Some(content_type), body.clone()).await;
        assert_eq!(r.status().as_u16(), 200, "{content_type}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["data"]["__typename"], "Query", "{content_type}");
    }
}

/// A preflight request for a POST of JSON with a token from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .expect("preflight sent")
}

fn header<'r>(r: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn allowed_origins_get_cors_headers_and_others_do_not() {
    let app = TestApp::new()
        .configure(|s| {
            s.cors_origins = vec![
                "https://forum.example".into(),
                "https://app.forum.example".into(),
            ]
        })
        .spawn()
        .await;

    let r = preflight(&app, "https://forum.example").await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://forum.example")
    );
    let methods = header(&r, "access-control-allow-methods").unwrap_or_default();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = header(&r, "access-control-allow-headers")
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        headers.contains("content-type") && headers.contains("authorization"),
        "{headers}"
    );

    let r = preflight(&app, "https://evil.example").await;
    assert!(!r.status().is_success(), "{}", r.status());
    assert_eq!(header(&r, "access-control-allow-origin"), None);

    // The request itself: the allowed origin may read the answer, the other may not.
    for (origin, allowed) in [
        (
            "https://app.forum.example",
            Some("https://app.forum.example"),
        ),
        ("https://evil.example", None),
    ] {
        let r = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("origin", origin)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            allowed,
            "{origin}"
        );
    }
}

#[tokio::test]
async fn without_an_allow_list_no_origin_gets_cors_headers() {
    let app = TestApp::new().spawn().await;
    let r = preflight(&app, "https://forum.example").await;
    assert!(!r.status().is_success(), "{}", r.status());
    assert_eq!(header(&r, "access-control-allow-origin"), None);
}

/// A local port free at the time of asking.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::test]
async fn metrics_can_move_to_an_address_of_their_own() {
    let port = free_port();
    let app = TestApp::new()
        .configure(move |s| s.metrics_bind = Some(format!("127.0.0.1:{port}")))
        .spawn()
        .await;
    let r = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "no longer on the public listener");
    let r = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("c2c_graphql_requests_total")
    );
    let r = app
        .client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        404,
        "only metrics on the metrics address"
    );
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let app = TestApp::new()
        .configure(|s| s.metrics_token = Some("a metrics token for the scraper".into()))
        .spawn()
        .await;
    let metrics = |token: Option<&'static str>| {
        let mut request = app.client.get(format!("{}/metrics", app.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for token in [None, Some("wrong"), Some("a metrics token for the scrape")] {
        let r = metrics(token).await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{token:?}");
        let body: Value = r.json().await.expect("a JSON error");
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
    }
    let r = metrics(Some("a metrics token for the scraper"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("c2c_db_statements_total"));
}
