//! Persisted queries and `GET`: Apollo's automatic persisted queries over POST and GET, the
//! caching headers of a `GET` answer, and the trusted-documents mode.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, error_code};

const CITIES: &str = "{ cities(first: 5) { totalCount nodes { name } } }";
const CREATE_CITY: &str =
    "mutation { createCity(input: { name: \"Gettown\", countryCode: \"NL\" }) { id } }";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, body: Value) -> Value {
    app.client
        .post(format!("{}/graphql", app.address))
        .json(&body)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON")
}

fn get(app: &TestApp, params: &[(&str, String)]) -> reqwest::RequestBuilder {
    app.client
        .get(format!("{}/graphql", app.address))
        .query(params)
}

#[tokio::test]
async fn automatic_persisted_queries_register_once_and_then_run_by_hash() {
    let app = TestApp::new().seeded().spawn().await;
    let hash = sha256(CITIES);

    let unknown = post(&app, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(
        error_code(&unknown),
        "PERSISTED_QUERY_NOT_FOUND",
        "{unknown}"
    );
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");

    let wrong = post(
        &app,
        json!({ "query": "{ inventory { practices } }", "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(error_code(&wrong), "BAD_REQUEST", "{wrong}");

    let registered = post(
        &app,
        json!({ "query": CITIES, "extensions": persisted(&hash) }),
    )
    .await;
    assert!(registered["errors"].is_null(), "{registered}");
    let by_hash = post(&app, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(by_hash["data"], registered["data"]);

    // The same over GET: the short URL a CDN caches.
    let response = get(&app, &[("extensions", persisted(&hash).to_string())])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["data"], registered["data"]);
}

#[tokio::test]
async fn a_get_answer_carries_an_etag_and_changes_after_a_write() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let query = [("query", CITIES.to_string())];

    let first = get(&app, &query).send().await.expect("sent");
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()[ETAG].to_str().unwrap().to_string();
    assert_eq!(first.headers()[CACHE_CONTROL], "public, max-age=1");
    let body: Value = first.json().await.expect("JSON");
    assert!(body["data"]["cities"]["totalCount"].is_number(), "{body}");

    let unchanged = get(&app, &query)
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(unchanged.headers()[ETAG].to_str().unwrap(), etag);

    app.data_as(&admin, CREATE_CITY, json!({})).await;
    let changed = get(&app, &query)
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        changed.status(),
        StatusCode::OK,
        "a write changes the answer"
    );
    assert_ne!(changed.headers()[ETAG].to_str().unwrap(), etag);

    // Signed in: the answer is the caller's own.
    let mine = get(&app, &query)
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(mine.status(), StatusCode::OK);
    assert_eq!(mine.headers()[CACHE_CONTROL], "private, no-cache");

    // Variables travel as JSON in the URL.
    let paged = get(
        &app,
        &[
            (
                "query",
                "query($f: Int!) { cities(first: $f) { nodes { id } } }".into(),
            ),
            ("variables", json!({ "f": 2 }).to_string()),
        ],
    )
    .send()
    .await
    .expect("sent");
    let paged: Value = paged.json().await.expect("JSON");
    assert_eq!(
        paged["data"]["cities"]["nodes"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_and_nothing_is_written() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let before = app
        .data("{ cities(first: 1) { totalCount } }", json!({}))
        .await;
    let response = get(&app, &[("query", CREATE_CITY.to_string())])
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let after = app
        .data_as(&admin, "{ cities(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(after, before);

    // Without parameters, GET is still GraphiQL.
    let page = get(&app, &[]).send().await.expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("graphiql"));
}

#[tokio::test]
async fn in_trusted_mode_only_registered_documents_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = dir.path().join("documents.json");
    std::fs::write(&manifest, json!({ sha256(CITIES): CITIES }).to_string()).expect("write");
    let path = manifest.clone();
    let app = TestApp::new()
        .seeded()
        .configure(move |s| s.trusted_documents = Some(path))
        .spawn()
        .await;

    let by_hash = post(&app, json!({ "extensions": persisted(&sha256(CITIES)) })).await;
    assert!(
        by_hash["data"]["cities"]["totalCount"].is_number(),
        "{by_hash}"
    );
    let whole = post(&app, json!({ "query": CITIES })).await;
    assert_eq!(whole["data"], by_hash["data"]);

    let other = "{ inventory { practices } }";
    for refused in [
        json!({ "query": other }),
        json!({ "query": other, "extensions": persisted(&sha256(other)) }),
        json!({ "extensions": persisted(&sha256(other)) }),
    ] {
        let r = post(&app, refused.clone()).await;
        assert_eq!(error_code(&r), "DOCUMENT_NOT_TRUSTED", "{refused}: {r}");
    }
    // Registration is off: the document sent with its hash did not make it runnable.
    let r = post(&app, json!({ "extensions": persisted(&sha256(other)) })).await;
    assert_eq!(error_code(&r), "DOCUMENT_NOT_TRUSTED", "{r}");

    // A manifest whose key is not its document's hash keeps the server from starting.
    std::fs::write(&manifest, json!({ sha256(other): CITIES }).to_string()).expect("write");
    let settings = api::Settings {
        bind: "127.0.0.1:0".into(),
        database_url: app.database_url.clone(),
        seed_if_empty: false,
        trusted_documents: Some(manifest),
        ..api::Settings::default()
    };
    let refused = api::Application::build(settings).await;
    assert!(
        refused
            .err()
            .is_some_and(|e| e.to_string().contains("does not hash")),
        "the server refuses a wrong manifest"
    );
}
