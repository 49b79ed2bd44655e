//! Errors carry `extensions.code` (and the field for VALIDATION); inputs are bounded.

use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn page_sizes_cursors_and_ids_are_validated() {
    let app = spawn_app().await;

    let r = app
        .graphql("{ practices(first: 101) { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&r), "VALIDATION");
    assert_eq!(r["errors"][0]["extensions"]["field"], "first");

    let r = app
        .graphql("{ cities(first: -1) { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&r), "VALIDATION");

    let r = app
        .graphql(r#"{ practices(after: "bogus") { totalCount } }"#, json!({}))
        .await;
    assert_eq!(error_code(&r), "VALIDATION");
    assert_eq!(r["errors"][0]["extensions"]["field"], "after");

    let r = app
        .graphql(r#"{ practice(id: "abc") { id } }"#, json!({}))
        .await;
    assert_eq!(error_code(&r), "VALIDATION");
    assert_eq!(r["errors"][0]["extensions"]["field"], "id");

    let r = app
        .graphql(
            r#"{ cities(filter: { countryCode: "Holland" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION");
    assert_eq!(r["errors"][0]["extensions"]["field"], "countryCode");

    let long = "x".repeat(201);
    let r = app
        .graphql(
            "query($t: String) { practices(filter: { text: $t }) { totalCount } }",
            json!({ "t": long }),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION");
    assert_eq!(r["errors"][0]["extensions"]["field"], "text");
}

#[tokio::test]
async fn search_syntax_in_text_is_taken_as_words() {
    let app = spawn_app().await;
    // Operators of the full-text engines must not reach them: these are plain words or nothing.
    for text in [
        "\"unbalanced",
        "title: NEAR(",
        "a%z",
        "*",
        "OR AND NOT",
        "-",
    ] {
        let r = app
            .graphql(
                "query($t: String) { practices(filter: { text: $t }) { totalCount } }",
                json!({ "t": text }),
            )
            .await;
        assert!(r.get("errors").is_none(), "{text}: {r}");
    }
    let data = app
        .data(
            r#"{ practices(filter: { text: "%" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["practices"]["totalCount"], 0, "no word, nothing found");
    // Every word must occur, in any order.
    let both = app
        .data(
            r#"{ practices(filter: { text: "Mutare waste" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    let reversed = app
        .data(
            r#"{ practices(filter: { text: "waste Mutare" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(both, reversed);
    assert!(both["practices"]["totalCount"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn deep_and_costly_queries_are_refused() {
    let app = spawn_app().await;
    let deep = "{ practices(first: 1) { edges { node { participants { city { needs { edges { node { city { participations { edges { node { practice { participants { city { name } } } } } } } } } } } } } } } }";
    let r = app.graphql(deep, json!({})).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("nested"),
        "{r}"
    );

    let costly = "{ practices(first: 100) { edges { node { cities { practices(first: 100) { edges { node { title summary cities { name } } } } } } } } }";
    let r = app.graphql(costly, json!({})).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("complex"),
        "{r}"
    );
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);

    let r = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION");

    let huge =
        json!({ "query": format!("{{ inventory {{ practiceCount }} }} #{}", "x".repeat(100_000)) });
    let r = app.client.post(&url).json(&huge).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 413);
}
