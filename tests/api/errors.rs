//! Errors carry `extensions.code` (and the field for VALIDATION); inputs are bounded.

use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, error_code, spawn_app, spawn_app_with};

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

    // A year no practice can be active in is a mistyped one, as for the donors' year ranges.
    let r = app
        .graphql(
            "{ practices(filter: { activeInYear: 20100 }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "activeInYear");

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

/// A name that shows nothing, or holds a control character (an escape sequence a terminal
/// reading a log or an export would obey), is refused naming the field; one typed with
/// decomposed letters is kept composed.
#[tokio::test]
async fn text_that_shows_nothing_or_holds_control_characters_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let create = "mutation($n: String!) { createCity(input: { name: $n, countryCode: \"PL\", kind: MUNICIPALITY }) { name } }";
    for (name, says) in [
        ("\u{200B}", "must not be empty"),
        ("\u{202E}\u{FEFF}", "must not be empty"),
        ("Gda\u{1B}[31mnsk", "control character U+001B"),
        ("Gda\u{7}nsk", "control character U+0007"),
    ] {
        let r = app
            .graphql_as(Some(&admin), create, json!({ "n": name }))
            .await;
        assert_eq!(error_code(&r), "VALIDATION", "{name:?}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], "name", "{r}");
        assert!(
            r["errors"][0]["message"].as_str().unwrap().contains(says),
            "{name:?}: {r}"
        );
    }
    let data = app
        .data_as(&admin, create, json!({ "n": "Gdańsk\u{200C}" }))
        .await;
    assert_eq!(data["createCity"]["name"], "Gdańsk\u{200C}");
    // Kept composed, however typed.
    let data = app
        .data_as(&admin, create, json!({ "n": "Torun\u{301}" }))
        .await;
    assert_eq!(data["createCity"]["name"], "Toru\u{144}");
}

/// `selection` of the first five of `list` its `text` filter finds.
async fn filtered(app: &TestApp, list: &str, text: &str, selection: &str) -> Value {
    let query = format!(
        "query($t: String) {{ {list}(first: 5, filter: {{ text: $t }}) {{ {selection} }} }}"
    );
    app.data(&query, json!({ "t": text })).await[list].clone()
}

/// The full-text search of practices and schemes ignores accents on both databases, as the
/// names' does: "Potosi" finds what "Potosí" finds (on PostgreSQL it found nothing).
#[tokio::test]
async fn words_are_found_without_their_accents() {
    let app = spawn_app().await;
    for (list, words) in [
        ("practices", ["Potosí", "potosi", "POTOSI"]),
        ("practices", ["Gières", "gieres", "GIERES"]),
        ("supportSchemes", ["Estelí", "esteli", "ESTELI"]),
    ] {
        let mut counts = Vec::new();
        for word in words {
            let found = filtered(&app, list, word, "totalCount").await;
            counts.push(found["totalCount"].as_i64().unwrap());
        }
        assert!(counts[0] >= 1, "{list} {words:?}: {counts:?}");
        assert!(
            counts.iter().all(|c| *c == counts[0]),
            "{list} {words:?}: {counts:?}"
        );
    }
}

/// Letters that are no base letter and a mark (ø, ł) are spelt out by the full-text search on
/// both databases, as PostgreSQL's `unaccent` spells them: "hillerod" finds the practices about
/// Hillerød (on SQLite it found nothing), and a changed text is found by its new words only.
#[tokio::test]
async fn words_are_found_with_their_letters_spelt_out() {
    let app = spawn_app().await;
    let count = |text: &'static str| {
        let app = &app;
        async move {
            filtered(app, "practices", text, "totalCount").await["totalCount"]
                .as_i64()
                .unwrap()
        }
    };
    let seeded = count("Hillerød").await;
    assert!(seeded >= 1, "the seed holds practices about Hillerød");
    for text in ["hillerod", "HILLEROD", "Hillerod"] {
        assert_eq!(count(text).await, seeded, "{text}");
    }

    let admin = app.admin().await;
    let found = filtered(
        &app,
        "practices",
        "hillerod",
        "nodes { id version summary }",
    )
    .await;
    let practice = &found["nodes"][0];
    let update = "mutation($id: ID!, $v: Int!, $s: String!) { updatePractice(id: $id, version: $v, input: { summary: $s }) { version } }";
    let changed = app
        .data_as(
            &admin,
            update,
            json!({ "id": practice["id"], "v": practice["version"],
                    "s": "Study visits to Łódź, Ærøskøbing and Ɓauchi" }),
        )
        .await;
    for text in ["lodz aeroskobing", "ŁÓDŹ", "Aerøskøbing", "bauchi"] {
        assert_eq!(count(text).await, 1, "{text}");
    }
    app.data_as(
        &admin,
        update,
        json!({ "id": practice["id"], "v": changed["updatePractice"]["version"],
                "s": practice["summary"] }),
    )
    .await;
    for text in ["lodz", "aeroskobing", "Łódź"] {
        assert_eq!(count(text).await, 0, "{text}");
    }
    assert_eq!(count("hillerod").await, seeded);
    let db = app.database().await;
    if sea_orm::ConnectionTrait::get_database_backend(&db) == sea_orm::DbBackend::Sqlite {
        use sea_orm::ConnectionTrait;
        // FTS5 compares its index with what its content (the view) reads: a change whose
        // removal took out other words than its indexing put in fails here.
        for table in ["practice_fts", "need_fts", "support_scheme_fts"] {
            db.execute_unprepared(&format!(
                "INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"
            ))
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        }
    }

    // The indexes as the migration builds them from the stored texts.
    crate::helpers::migrate_down_through(&db, "m20261220_000000_spelled_out_search").await;
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await.unwrap();
    }
    // Texts not asked before: the cache of anonymous answers does not see a migration.
    assert_eq!(count("hillerød").await, seeded, "built anew");
    assert_eq!(count("lódź").await, 0);
}

/// Names are found however they are typed: in any case and with or without their accents, on
/// both databases (SQLite's `lower` changes ASCII letters only: "Évry" once found nothing), as
/// saved by the seed, by a creation and by a change.
#[tokio::test]
async fn names_are_found_in_any_case_and_without_their_accents() {
    let app = spawn_app().await;
    let names = |list: &'static str, text: &'static str| {
        let app = &app;
        async move {
            filtered(app, list, text, "nodes { name }").await["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    for text in ["Évry", "évry", "EVRY", "evry", "vry"] {
        assert_eq!(names("cities", text).await, ["Évry"], "{text}");
    }
    for text in ["ESTELÍ", "esteli"] {
        assert_eq!(names("cities", text).await, ["Estelí"], "{text}");
    }
    for text in ["Hillerød", "HILLEROD", "hillerod"] {
        assert_eq!(names("cities", text).await, ["Hillerød"], "{text}");
    }
    for text in ["fédération mondiale", "FEDERATION MONDIALE", "cites unies"] {
        let found = names("associations", text).await;
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        assert!(found[0].contains("Fédération Mondiale"), "{found:?}");
    }
    // Nothing spans two of a record's fields, nor finds what is not there.
    assert!(names("cities", "évryx").await.is_empty());
    assert!(names("cities", "%").await.is_empty());

    let admin = app.admin().await;
    let created = app
        .data_as(
            &admin,
            "mutation { createCity(input: { name: \"Łódź Śródmieście\", countryCode: \"PL\", kind: MUNICIPALITY }) { id version } }",
            json!({}),
        )
        .await;
    assert_eq!(names("cities", "SRODMIESCIE").await, ["Łódź Śródmieście"]);
    app.data_as(
        &admin,
        "mutation($id: ID!, $v: Int!) { updateCity(id: $id, version: $v, input: { name: \"Kraków\" }) { id } }",
        json!({ "id": created["createCity"]["id"], "v": created["createCity"]["version"] }),
    )
    .await;
    assert_eq!(names("cities", "krakow").await, ["Kraków"]);
    assert!(names("cities", "srodmiescie").await.is_empty());
}

#[tokio::test]
async fn deep_and_costly_queries_are_refused() {
    let app = spawn_app().await;
    let deep = "{ practices(first: 1) { edges { node { participants { city { needs { edges { node { city { participations { edges { node { practice { participants { city { name } } } } } } } } } } } } } } } }";
    let r = app.graphql(deep, json!({})).await;
    assert_eq!(error_code(&r), "QUERY_TOO_LARGE", "{r}");
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
    assert_eq!(error_code(&r), "COST_EXCEEDED", "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("complex"),
        "{r}"
    );
}

/// Longest message an error about a document may have: it must not echo the document.
const SHORT: usize = 300;

fn message(response: &Value) -> &str {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn documents_that_do_not_parse_answer_a_short_coded_error() {
    let app = spawn_app_with(Seed::Nothing).await;
    let padding = "y ".repeat(20_000);
    for query in [
        "{ inventory { practiceCount }".to_string(),
        format!("{{ inventory {{ practiceCount }} }} }} {padding}"),
        format!("{{ inventory(x: \"{padding}) {{ practiceCount }} }}"),
        String::new(),
        "mutation".to_string(),
    ] {
        let r = app.graphql(&query, json!({})).await;
        assert_eq!(error_code(&r), "GRAPHQL_PARSE_FAILED", "{r}");
        assert!(message(&r).len() < SHORT, "{} bytes", message(&r).len());
        assert!(r["data"].is_null(), "{r}");
    }
}

#[tokio::test]
async fn documents_invalid_for_the_schema_answer_a_coded_error() {
    let app = spawn_app_with(Seed::Nothing).await;
    let long = "z".repeat(40_000);
    let cases: [(String, Value); 7] = [
        ("{ nope }".into(), json!({})),
        ("{ practices(bogus: 1) { totalCount } }".into(), json!({})),
        (
            "{ practices(first: \"ten\") { totalCount } }".into(),
            json!({}),
        ),
        (
            format!("{{ practices(first: \"{long}\") {{ totalCount }} }}"),
            json!({}),
        ),
        (
            "query($n: Int) { practices(first: $n) { totalCount } }".into(),
            json!({ "n": long }),
        ),
        (
            "query($n: Int!) { practices(first: $n) { totalCount } }".into(),
            json!({}),
        ),
        ("{ practices { edges } }".into(), json!({})),
    ];
    for (query, variables) in cases {
        let r = app.graphql(&query, variables).await;
        assert_eq!(
            error_code(&r),
            "GRAPHQL_VALIDATION_FAILED",
            "{}: {r}",
            &query[..query.len().min(80)]
        );
        assert!(message(&r).len() < SHORT, "{} bytes", message(&r).len());
    }

    // A value a scalar refuses only when the field runs.
    let r = app
        .graphql(
            "mutation { createNeed(input: { cityId: \"1\", title: \"x\", themes: [HEALTH], amountRequired: \"abc\", amountRequiredCurrency: \"USD\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "GRAPHQL_VALIDATION_FAILED", "{r}");

    // An operation name the document does not hold.
    let r: Value = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "query A { __typename }", "operationName": "B" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&r), "GRAPHQL_VALIDATION_FAILED", "{r}");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_a_coded_json_error() {
    let app = spawn_app_with(Seed::Nothing).await;
    let r = app
        .client
        .get(format!("{}/graphq", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let answer: Value = r.json().await.expect("a JSON error");
    assert_eq!(error_code(&answer), "NOT_FOUND", "{answer}");
    assert!(message(&answer).contains("/graphql"), "{answer}");

    let r = app
        .client
        .delete(format!("{}/graphql", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "GET, POST");
    let answer: Value = r.json().await.expect("a JSON error");
    assert_eq!(error_code(&answer), "BAD_REQUEST", "{answer}");
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused() {
    let app = spawn_app_with(Seed::Nothing).await;
    let url = format!("{}/graphql", app.address);

    for body in ["{not json", "[1, 2]", r#"{"query": 5}"#, ""] {
        let r = app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert_eq!(error_code(&answer), "BAD_REQUEST", "{body}: {answer}");
        assert!(message(&answer).len() < SHORT);
    }

    // Clients that batch (Apollo's BatchHttpLink) send an array of operations; each must learn
    // that this server takes one operation per request, not a parser's complaint about types.
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let r = app.client.post(&url).json(&batch).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(error_code(&answer), "BAD_REQUEST", "{answer}");
    assert!(
        message(&answer).contains("one operation per request"),
        "{answer}"
    );

    let huge =
        json!({ "query": format!("{{ inventory {{ practiceCount }} }} #{}", "x".repeat(100_000)) });
    let r = app.client.post(&url).json(&huge).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let answer: Value = r.json().await.expect("a JSON error");
    assert_eq!(error_code(&answer), "BAD_REQUEST", "{answer}");
}
