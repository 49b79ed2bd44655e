//! GraphQL over HTTP as its specification has it: `application/json` for older clients, and for
//! clients accepting `application/graphql-response+json` that content type, with a 4xx status
//! and no `data` when the request could not run.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const NEW: &str = "application/graphql-response+json";

async fn post(app: &TestApp, accept: &str, body: Value) -> (u16, String, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, response.json().await.expect("JSON"))
}

#[tokio::test]
async fn requests_that_cannot_run_answer_400_without_data_in_the_new_media_type() {
    let app = spawn_app().await;
    let (status, content_type, body) =
        post(&app, NEW, json!({ "query": "{ countries { code } }" })).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with(NEW), "{content_type}");
    assert!(body["data"]["countries"].is_array());

    for (what, request, code) in [
        (
            "a parse failure",
            json!({ "query": "{" }),
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "a validation failure",
            json!({ "query": "{ nothing }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "a variable of the wrong type",
            json!({ "query": "query($n: Int) { practices(first: $n) { totalCount } }", "variables": { "n": "ten" } }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "a document too deep",
            json!({ "query": format!("{{ {}a{} }}", "a { ".repeat(20), " }".repeat(20)) }),
            "QUERY_TOO_LARGE",
        ),
    ] {
        let (status, content_type, body) = post(&app, NEW, request.clone()).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert!(content_type.starts_with(NEW), "{what}: {content_type}");
        assert!(body.get("data").is_none(), "{what}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{what}: {body}"
        );

        // Older clients keep the answer they know: 200, `data: null`.
        let (status, content_type, body) = post(&app, "application/json", request).await;
        assert_eq!(status, 200, "{what}");
        assert!(content_type.starts_with("application/json"), "{what}");
        assert!(
            body["data"].is_null() && body.get("data").is_some(),
            "{what}: {body}"
        );
    }

    // A field that fails while running leaves data behind: that is no request error.
    let (status, _, body) = post(
        &app,
        NEW,
        json!({ "query": "{ practice(id: \"x\") { title } }" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("data").is_some(), "{body}");
}

/// graphql-http's own audit (`serverAudits`), when `C2C_GRAPHQL_JS` names a `node_modules`
/// folder holding the `graphql-http` package (`.ci/run` installs it); skipped, and says so,
/// without it.
#[tokio::test]
async fn graphql_http_audit_passes_every_must_and_should() {
    let Ok(modules) = std::env::var("C2C_GRAPHQL_JS") else {
        eprintln!("C2C_GRAPHQL_JS is not set: the graphql-http audit is skipped");
        return;
    };
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    crate::helpers::run_node("audit.cjs", vec![url], modules).await;
}

/// Fields come back in the order the query asks for them, a field that waits for a batched
/// read (a practice's cities) included: async-graphql writes them as they complete.
#[tokio::test]
async fn response_fields_keep_the_order_of_the_query() {
    let app = TestApp::new().seeded().spawn().await;
    let body = json!({
        "query": "{ practices(first: 5) { nodes { cities { name country { name code } } title id } } \
                   total: practices(first: 1) { totalCount } }"
    });
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&body)
        .send()
        .await
        .expect("an answer");
    let text = response.text().await.expect("a body");
    assert!(
        text.starts_with(r#"{"data":{"practices":{"nodes":[{"cities":[{"name":"#),
        "{text}"
    );
    // Each practice: its cities (each city's name, then its country's name and code), then
    // its title, then its id; the aliased total after the list.
    assert_eq!(text.matches(r#"{"cities":["#).count(), 5, "{text}");
    assert_eq!(text.matches(r#"],"title":"#).count(), 5, "{text}");
    let cities = text.matches(r#"{"name":"#).count();
    assert!(cities >= 5, "{text}");
    assert_eq!(
        text.matches(r#","country":{"name":"#).count() * 2,
        cities,
        "{text}"
    );
    assert_eq!(text.matches(r#"","code":""#).count() * 2, cities, "{text}");
    assert!(text.contains(r#"]},"total":{"totalCount":"#), "{text}");
}
