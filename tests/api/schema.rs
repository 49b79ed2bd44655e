//! The committed `schema.graphql` is what clients build against: it must equal the served schema.

#[test]
fn schema_file_matches_the_served_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the top of the workspace");
    let served = api::graphql::sdl();
    assert!(
        committed == served,
        "schema.graphql is stale: run `cargo run --bin c2c-forum -- export-schema > schema.graphql` and review the diff"
    );
}

#[tokio::test]
async fn introspection_is_allowed() {
    let app = crate::helpers::spawn_app().await;
    let data = app
        .data("{ __schema { queryType { name } } }", serde_json::json!({}))
        .await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
}
