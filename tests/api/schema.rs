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

/// GraphQL tools connect with graphql-js's introspection query, every option on, and build their
/// schema from the answer: it must answer, and the schema built must be `schema.graphql`.
/// Needs Node.js and the `graphql` package: `C2C_GRAPHQL_JS` names the `node_modules` folder
/// holding it (`.ci/run` installs one); without it the check is skipped, and says so.
#[tokio::test]
async fn graphql_js_builds_the_committed_schema_from_introspection() {
    let Ok(modules) = std::env::var("C2C_GRAPHQL_JS") else {
        eprintln!("C2C_GRAPHQL_JS is not set: the graphql-js introspection check is skipped");
        return;
    };
    let app = crate::helpers::spawn_app().await;
    let url = format!("{}/graphql", app.address);
    let sdl = format!("{}/schema.graphql", env!("CARGO_MANIFEST_DIR"));
    crate::helpers::run_node("introspection.cjs", vec![url, sdl], modules).await;
}

#[tokio::test]
async fn deep_data_queries_are_refused_and_deep_introspection_is_not() {
    let app = crate::helpers::spawn_app().await;
    let nested = |levels: usize, field: &str, leaf: &str| {
        format!(
            "{}{leaf}{}",
            format!("{field} {{ ").repeat(levels),
            " }".repeat(levels)
        )
    };
    // Donor → its funding → the practice → its donors → … : real fields, 13 levels.
    let hop = "funding(first: 1) { nodes { practice { donors(first: 1) { nodes { ";
    let deep = format!(
        "{{ donors(first: 1) {{ nodes {{ {} name {} }} }} }}",
        hop.repeat(2),
        "} } } } } ".repeat(2)
    );
    let r = app.graphql(&deep, serde_json::json!({})).await;
    assert_eq!(crate::helpers::error_code(&r), "QUERY_TOO_LARGE", "{r}");

    let types = nested(20, "ofType", "name");
    let data = app
        .data(
            &format!("{{ __type(name: \"Practice\") {{ fields {{ type {{ {types} }} }} }} }}"),
            serde_json::json!({}),
        )
        .await;
    assert!(data["__type"]["fields"].is_array());
}
