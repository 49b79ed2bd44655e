//! The questions that pair need with experience, on a hand-built base whose answers are worked
//! out here: overlapping schemes, cells without a scheme, and matches for a need.

use persistence::seed;
use serde_json::{Value, json};

use crate::helpers::{Seed, number_of, spawn_app_with};

fn matching_base() -> String {
    let practice = |key: &str,
                    cities: [&str; 2],
                    modality: &str,
                    focus: &str,
                    themes: Value,
                    schemes: Value| {
        json!({
            "key": key, "title": format!("Practice {key}"),
            "cities": [{ "city": cities[0], "role": "LEAD" }, { "city": cities[1], "role": "PARTNER" }],
            "modality": modality, "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"], "managementFocus": [focus],
            "themes": themes, "schemes": schemes
        })
    };
    let scheme = |key: &str, theme: &str, orientation: &str, open: bool| {
        json!({ "key": key, "name": format!("Scheme {key}"), "themes": [theme], "orientations": [orientation],
                "supportModalities": ["STAFF_EXCHANGE"], "openForApplications": open })
    };
    json!({
        "cities": [
            { "key": "a", "name": "Alkmaar", "countryCode": "NL", "kind": "MUNICIPALITY" },
            { "key": "b", "name": "Bukoba", "countryCode": "TZ", "kind": "MUNICIPALITY" },
            { "key": "c", "name": "Carlisle", "countryCode": "GB", "kind": "MUNICIPALITY" },
            { "key": "d", "name": "Dete", "countryCode": "ZW", "kind": "MUNICIPALITY" }
        ],
        "associations": [],
        "donors": [
            { "key": "x", "name": "Donor X", "kind": "BILATERAL", "agenda": { "themes": ["ENVIRONMENT"] } },
            { "key": "y", "name": "Donor Y", "kind": "FOUNDATION", "agenda": { "countryCodes": ["TZ"] } },
            { "key": "z", "name": "Donor Z", "kind": "MULTILATERAL", "agenda": { "themes": ["HOUSING"] } }
        ],
        "supportSchemes": [
            scheme("s1", "ENVIRONMENT", "NORTH_SOUTH", true),
            scheme("s2", "ENVIRONMENT", "NORTH_SOUTH", false),
            scheme("s3", "HEALTH", "NORTH_SOUTH", true),
            scheme("s4", "ENVIRONMENT", "WEST_EAST", true),
            scheme("s5", "ENVIRONMENT", "WEST_EAST", true)
        ],
        "practices": [
            practice("p1", ["a", "b"], "ONE_ON_ONE", "TECHNICAL_EXPERTISE", json!(["ENVIRONMENT"]), json!(["s1", "s2"])),
            practice("p2", ["c", "b"], "GROUP", "STRATEGY_FORMULATION", json!(["ENVIRONMENT"]), json!(["s1", "s4"])),
            practice("p3", ["b", "d"], "ONE_ON_ONE", "TECHNICAL_EXPERTISE", json!(["HOUSING"]), json!(["s4", "s5"]))
        ],
        "needs": [{
            "key": "n1", "city": "d", "title": "Waste collection", "themes": ["ENVIRONMENT"], "managementFocus": ["TECHNICAL_EXPERTISE"],
            "modality": "ONE_ON_ONE", "supportModalities": ["STAFF_EXCHANGE"], "status": "OPEN"
        }]
    })
    .to_string()
}

#[tokio::test]
async fn overlaps_and_unsupported_cells() {
    let app = spawn_app_with(Seed::Nothing).await;
    // p4 has one scheme of the first overlap, so it is shared in none until it gets another.
    let mut base: Value = serde_json::from_str(&matching_base()).unwrap();
    let mut p4 = base["practices"][0].clone();
    p4["key"] = json!("p4");
    p4["title"] = json!("Practice p4");
    p4["schemes"] = json!(["s1"]);
    base["practices"].as_array_mut().unwrap().push(p4);
    seed::seed_information_base(
        &app.database().await,
        &seed::parse_information_base(&base.to_string()).unwrap(),
    )
    .await
    .unwrap();
    let data = app
        .data(
            "{ schemeOverlaps { overlaps { theme orientation supportModality schemes { totalCount nodes { name } } sharedPractices { totalCount nodes { title } } }
               unsupported { theme orientation practices } } }",
            json!({}),
        )
        .await;
    let report = &data["schemeOverlaps"];
    // p2 is linked to a scheme of each overlap, so it is shared in neither.
    assert_eq!(
        report["overlaps"],
        json!([{ "theme": "ENVIRONMENT", "orientation": "NORTH_SOUTH", "supportModality": "STAFF_EXCHANGE",
                 "schemes": { "totalCount": 2, "nodes": [{ "name": "Scheme s1" }, { "name": "Scheme s2" }] },
                 "sharedPractices": { "totalCount": 1, "nodes": [{ "title": "Practice p1" }] } },
               { "theme": "ENVIRONMENT", "orientation": "WEST_EAST", "supportModality": "STAFF_EXCHANGE",
                 "schemes": { "totalCount": 2, "nodes": [{ "name": "Scheme s4" }, { "name": "Scheme s5" }] },
                 "sharedPractices": { "totalCount": 1, "nodes": [{ "title": "Practice p3" }] } }])
    );
    assert_eq!(
        report["unsupported"],
        json!([{ "theme": "HOUSING", "orientation": "SOUTH_SOUTH", "practices": 1 }])
    );

    // The schemes of all overlaps are read at once; each overlap's list still pages on its own.
    let page = |after: Option<String>| {
        let app = &app;
        async move {
            app.data(
                "query($after: String) { schemeOverlaps { overlaps { schemes(first: 1, after: $after) {
                   totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name } } } } } }",
                json!({ "after": after }),
            )
            .await["schemeOverlaps"]["overlaps"][0]["schemes"]
                .clone()
        }
    };
    let first = page(None).await;
    assert_eq!(first["totalCount"], 2);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["edges"][0]["node"]["name"], "Scheme s1");
    assert_eq!(first["edges"][0]["cursor"], first["pageInfo"]["endCursor"]);
    let cursor = first["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    let second = page(cursor).await;
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        second["edges"],
        json!([{ "cursor": second["pageInfo"]["endCursor"], "node": { "name": "Scheme s2" } }])
    );

    // Shared practices are looked for among those linked to two schemes or more, a count each
    // practice keeps: a link made later must count, and the migration must count the links of
    // the practices already there.
    let admin = app.admin().await;
    // Signed in, so that no cached answer stands in for the question.
    let shared = || async {
        app.data_as(
            &admin,
            "{ schemeOverlaps { overlaps { orientation sharedPractices { nodes { title } } } } }",
            json!({}),
        )
        .await["schemeOverlaps"]["overlaps"]
            .clone()
    };
    let p4 = app.id_of("practices", "Practice p4").await;
    let s2 = app.id_of("supportSchemes", "Scheme s2").await;
    for _ in 0..2 {
        app.data_as(
            &admin,
            "mutation($s: ID!, $p: ID!) { linkSchemeToPractice(schemeId: $s, practiceId: $p) }",
            json!({ "s": s2, "p": p4 }),
        )
        .await;
    }
    let expected = json!([
        { "orientation": "NORTH_SOUTH",
          "sharedPractices": { "nodes": [{ "title": "Practice p1" }, { "title": "Practice p4" }] } },
        { "orientation": "WEST_EAST", "sharedPractices": { "nodes": [{ "title": "Practice p3" }] } }
    ]);
    assert_eq!(shared().await, expected, "p4 now has s1 and s2");
    let db = app.database().await;
    crate::helpers::migrate_down_through(&db, "m20261203_000000_practice_scheme_links").await;
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await.unwrap();
    }
    assert_eq!(shared().await, expected, "counted again by the migration");
}

#[tokio::test]
async fn matches_rank_experience_open_schemes_and_fitting_donors() {
    let app = spawn_app_with(Seed::Nothing).await;
    seed::seed_information_base(
        &app.database().await,
        &seed::parse_information_base(&matching_base()).unwrap(),
    )
    .await
    .unwrap();
    let need = app.id_of("needs", "Waste collection").await;
    let data = app
        .data(
            "query($n: ID!) { matches(needId: $n) {
                practices { practice { title } score reasons }
                cities { city { name } score reasons }
                schemes { scheme { name } reasons }
                donors { donor { name } score reasons } } }",
            json!({ "n": need }),
        )
        .await;
    let m = &data["matches"];
    let titles: Vec<&str> = m["practices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["practice"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Practice p1", "Practice p2"],
        "same theme, focus and modality first; HOUSING never"
    );
    assert_eq!(m["practices"][0]["score"], 6);
    assert_eq!(m["practices"][0]["reasons"].as_array().unwrap().len(), 3);
    let cities: Vec<&str> = m["cities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["city"]["name"].as_str().unwrap())
        .collect();
    // Bukoba took part in both matching practices, Alkmaar in the best one, Carlisle in the other;
    // Dete is the asking city itself.
    assert_eq!(cities, ["Bukoba", "Alkmaar", "Carlisle"]);
    let city_scores: Vec<i64> = m["cities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["score"].as_i64().unwrap())
        .collect();
    assert_eq!(
        city_scores,
        [6 + 3, 6, 3],
        "the sum of their practices' scores"
    );
    assert_eq!(
        m["cities"][0]["reasons"],
        json!([
            "took part in \"Practice p1\"",
            "took part in \"Practice p2\""
        ])
    );
    let schemes: Vec<&str> = m["schemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scheme"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        schemes,
        ["Scheme s1"],
        "open, on the theme, reaching a southern city"
    );
    let donors: Vec<&str> = m["donors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["donor"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        donors,
        ["Donor X"],
        "Donor Y's country is not the need's, Donor Z's theme neither"
    );
    assert_eq!(
        m["schemes"][0]["reasons"],
        json!([
            "open, targets 1 of the need's themes and reaches SOUTH cities",
            "offers 1 of the support modalities wanted"
        ])
    );
    assert_eq!(m["donors"][0]["score"], 2);
    assert_eq!(
        m["donors"][0]["reasons"],
        json!(["agenda covers 1 of the need's themes"])
    );

    // Text relevance: a practice like p2 whose text speaks of waste collection overtakes it.
    let admin = app.admin().await;
    let (carlisle, bukoba) = (
        app.id_of("cities", "Carlisle").await,
        app.id_of("cities", "Bukoba").await,
    );
    let created = app
        .data_as(&admin, "mutation($c: [ID!]) { createPractice(input: { title: \"Practice p4\", summary: \"Door-to-door waste collection by a cooperative\", themes: [ENVIRONMENT], modality: GROUP, managementFocus: [STRATEGY_FORMULATION], cooperatingParties: [NGO_CBO], cityIds: $c }) { id version } }", json!({ "c": [carlisle, bukoba] }))
        .await;
    app.data_as(
        &admin,
        "mutation($p: ID!, $v: Int!) { publishPractice(id: $p, version: $v) { id } }",
        json!({ "p": created["createPractice"]["id"], "v": created["createPractice"]["version"] }),
    )
    .await;
    let data = app
        .data(
            "query($n: ID!) { matches(needId: $n) { practices { practice { title } score reasons } } }",
            json!({ "n": need }),
        )
        .await;
    let ranked: Vec<(&str, i64)> = data["matches"]["practices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["practice"]["title"].as_str().unwrap(),
                p["score"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranked,
        [("Practice p1", 6), ("Practice p4", 5), ("Practice p2", 3)]
    );
    assert!(
        data["matches"]["practices"][1]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "its text has 2 of the need's 2 key word(s)"),
        "{data}"
    );

    let r = app
        .graphql(
            "{ matches(needId: \"999999\") { donors { score } } }",
            json!({}),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

/// Every published practice sharing a theme with the need scored in full, best first: what
/// `matches` answered before it read the best signatures first, kept here as the reference.
async fn scored_in_full(
    db: &sea_orm::DatabaseConnection,
    need: i64,
    first: usize,
) -> Vec<(i64, i64)> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT title, description, modality FROM need WHERE id = {need}"),
        ))
        .await
        .unwrap()
        .unwrap();
    let title: String = row.try_get_by_index(0).unwrap();
    let description: Option<String> = row.try_get_by_index(1).unwrap();
    let modality: Option<String> = row.try_get_by_index(2).unwrap();
    let modality = modality.map_or("NULL".into(), |m| format!("'{m}'"));
    let words =
        persistence::significant_words(&format!("{title} {}", description.unwrap_or_default()));
    let shared = |dim: &str| {
        format!(
            "SELECT t.practice_id AS id, COUNT(*) AS n FROM practice_tag t \
             JOIN need_tag nt ON nt.dimension = t.dimension AND nt.value = t.value \
             WHERE nt.need_id = {need} AND t.dimension = '{dim}' GROUP BY t.practice_id"
        )
    };
    let text = if words.is_empty() {
        "SELECT id, 0 AS n FROM practice WHERE 1 = 0".to_string()
    } else {
        let per_word = words
            .iter()
            .map(|w| match backend {
                DbBackend::Postgres => {
                    format!("SELECT id FROM practice WHERE search @@ to_tsquery('simple', '{w}')")
                }
                _ => format!(
                    "SELECT rowid AS id FROM practice_fts WHERE practice_fts MATCH '\"{w}\"'"
                ),
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        format!("SELECT id, COUNT(*) AS n FROM ({per_word}) w GROUP BY id")
    };
    let sql = format!(
        "SELECT id, 3 * themes + 2 * focus + same_modality + words AS score FROM ( \
           SELECT p.id, th.n AS themes, COALESCE(fo.n, 0) AS focus, \
             CASE WHEN p.modality = {modality} THEN 1 ELSE 0 END AS same_modality, \
             COALESCE(tx.n, 0) AS words \
           FROM ({themes}) th JOIN practice p ON p.id = th.id \
           LEFT JOIN ({focus}) fo ON fo.id = p.id LEFT JOIN ({text}) tx ON tx.id = p.id \
           WHERE p.status = 'PUBLISHED') x \
         ORDER BY score DESC, id LIMIT {first}",
        themes = shared("THEME"),
        focus = shared("MANAGEMENT_FOCUS"),
    );
    // Scoring every practice in full is what `matches` avoids: on a busy machine it may outlast
    // the statement timeout the service sets, which this reference does not need.
    let txn = db.begin().await.unwrap();
    if backend == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL statement_timeout = 0")
            .await
            .unwrap();
    }
    let rows = txn
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get_by_index(0).unwrap();
            let score: i64 = r.try_get_by_index(1).unwrap();
            (id, score)
        })
        .collect()
}

async fn ranked_practices(
    app: &crate::helpers::TestApp,
    need: &str,
    first: usize,
) -> Vec<(i64, i64)> {
    let data = app
        .data(
            "query($n: ID!, $f: Int) { matches(needId: $n, first: $f) { practices { practice { id } score } } }",
            json!({ "n": need, "f": first }),
        )
        .await;
    data["matches"]["practices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                number_of(p["practice"]["id"].as_str().unwrap()),
                p["score"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// An app on a synthetic base of `practices` practices.
async fn synthetic_app(practices: usize, seed: u64) -> crate::helpers::TestApp {
    synthetic(spawn_app_with(Seed::Nothing).await, practices, seed).await
}

/// `app`, its database filled with a synthetic base of `practices` practices.
async fn synthetic(
    app: crate::helpers::TestApp,
    practices: usize,
    seed: u64,
) -> crate::helpers::TestApp {
    app.add_synthetic(practices, seed).await;
    app
}

/// The ids of the first `n` needs.
async fn first_needs(app: &crate::helpers::TestApp, n: usize) -> Vec<String> {
    let needs: Vec<String> = app
        .data(
            "query($n: Int!) { needs(first: $n) { edges { node { id } } } }",
            json!({ "n": n }),
        )
        .await["needs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(needs.len(), n);
    needs
}

/// `matches` reads the practices of the best signatures first and stops once no other can
/// rank: it must answer what scoring every practice answers, ties included, for needs of every
/// shape and any page size, and follow a practice whose themes, focus and modality change.
#[tokio::test]
async fn matches_are_the_best_of_every_practice_scored_in_full() {
    let app = synthetic_app(1_500, 5).await;
    let db = app.database().await;
    let needs = first_needs(&app, 12).await;
    let mut with_words = 0;
    for need in &needs {
        for first in [1, 7, 20, 100] {
            let expected = scored_in_full(&db, number_of(need), first).await;
            assert!(!expected.is_empty(), "need {need} has practices to match");
            assert_eq!(
                ranked_practices(&app, need, first).await,
                expected,
                "need {need}, first {first}"
            );
        }
        let data = app
            .data(
                "query($n: ID!) { matches(needId: $n, first: 20) { practices { reasons } } }",
                json!({ "n": need }),
            )
            .await;
        if data.to_string().contains("key word") {
            with_words += 1;
        }
    }
    assert!(
        with_words >= 6,
        "the needs' words are found in practices ({with_words} of 12)"
    );

    // A practice that ranked below the first hundred takes on all the need's tags and modality.
    let need = &needs[0];
    let top = scored_in_full(&db, number_of(need), 100).await;
    let tags = app
        .data(
            "query($n: ID!) { node(id: $n) { ... on Need { themes managementFocus modality } } }",
            json!({ "n": need }),
        )
        .await;
    let tags = &tags["node"];
    let outsider = {
        use sea_orm::{ConnectionTrait, Statement};
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT id, version FROM practice WHERE status = 'PUBLISHED' AND id NOT IN ({}) \
                     ORDER BY id DESC LIMIT 1",
                    top.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>().join(", ")
                ),
            ))
            .await
            .unwrap()
            .unwrap();
        let id: i64 = row.try_get_by_index(0).unwrap();
        let version: i32 = row.try_get_by_index(1).unwrap();
        (id, version)
    };
    let practice = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Practice:{}", outsider.0))
    };
    let admin = app.admin().await;
    let mut input = json!({ "themes": tags["themes"], "managementFocus": tags["managementFocus"] });
    if !tags["modality"].is_null() {
        input["modality"] = tags["modality"].clone();
    }
    app.data_as(
        &admin,
        "mutation($id: ID!, $v: Int!, $i: PracticeInput!) { updatePractice(id: $id, version: $v, input: $i) { version } }",
        json!({ "id": practice, "v": outsider.1, "i": input }),
    )
    .await;
    let expected = scored_in_full(&db, number_of(need), 100).await;
    assert!(
        expected.iter().any(|(id, _)| *id == outsider.0),
        "the changed practice now ranks: {expected:?}"
    );
    assert_eq!(ranked_practices(&app, need, 100).await, expected);

    // The migration computes, for the practices already there, the signatures the writes keep.
    let signatures = || async {
        use sea_orm::{ConnectionTrait, Statement};
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT p.id, p.theme_bits, p.focus_bits, \
                   (SELECT COUNT(*) FROM practice_signature s WHERE s.theme_bits = p.theme_bits \
                    AND s.focus_bits = p.focus_bits AND s.modality = p.modality) \
                 FROM practice p ORDER BY p.id",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (0..4)
                    .map(|i| {
                        r.try_get_by_index::<i64>(i)
                            .or_else(|_| r.try_get_by_index::<i32>(i).map(i64::from))
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let kept = signatures().await;
    assert!(
        kept.iter().all(|r| r[1] > 0 && r[3] == 1),
        "every practice has a theme and its signature"
    );
    crate::helpers::migrate_down_through(&db, "m20261202_000000_practice_signature").await;
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await.unwrap();
    }
    assert_eq!(signatures().await, kept);
    assert_eq!(ranked_practices(&app, need, 100).await, expected);
}

/// `matches` keeps the signatures it has read and only counts them again for the next
/// question: a practice whose tags make a signature no practice had before must rank at once.
#[tokio::test]
async fn a_signature_new_since_the_last_question_ranks_at_once() {
    let app = synthetic_app(300, 11).await;
    let db = app.database().await;
    let need = &first_needs(&app, 1).await[0];
    assert!(!ranked_practices(&app, need, 5).await.is_empty());

    let themes: Vec<&str> = domain::framework::Theme::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let focus: Vec<&str> = domain::framework::ManagementFocus::ALL
        .iter()
        .map(|f| f.as_str())
        .collect();
    let scalar = |sql: String| crate::helpers::scalar(&db, sql);
    // Every bit of both: see `signature::theme_bit`.
    let every = format!(
        "theme_bits = {} AND focus_bits = {} AND modality = 'NETWORK'",
        (1 << themes.len()) - 1,
        (1 << focus.len()) - 1
    );
    assert_eq!(
        scalar(format!(
            "SELECT COUNT(*) FROM practice_signature WHERE {every}"
        ))
        .await,
        0,
        "no practice has every theme and focus yet"
    );
    let practice =
        scalar("SELECT MAX(id) FROM practice WHERE status = 'PUBLISHED'".to_string()).await;
    let version = scalar(format!(
        "SELECT version FROM practice WHERE id = {practice}"
    ))
    .await;
    let input = json!({ "themes": themes, "managementFocus": focus, "modality": "NETWORK" });
    let admin = app.admin().await;
    let practice_id = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Practice:{practice}"))
    };
    app.data_as(
        &admin,
        "mutation($id: ID!, $v: Int!, $i: PracticeInput!) { updatePractice(id: $id, version: $v, input: $i) { version } }",
        json!({ "id": practice_id, "v": version, "i": input }),
    )
    .await;
    assert_eq!(
        scalar(format!(
            "SELECT COUNT(*) FROM practice_signature WHERE {every}"
        ))
        .await,
        1,
        "the write added the practice's signature"
    );
    let version = scalar(format!(
        "SELECT version FROM need WHERE id = {}",
        number_of(need)
    ))
    .await;
    app.data_as(
        &admin,
        "mutation($id: ID!, $v: Int!, $i: NeedInput!) { updateNeed(id: $id, version: $v, input: $i) { version } }",
        json!({ "id": need, "v": version, "i": input }),
    )
    .await;
    let ranked = ranked_practices(&app, need, 3).await;
    assert_eq!(
        ranked.first().map(|r| r.0),
        Some(practice),
        "the practice sharing every tag ranks first: {ranked:?}"
    );
}

/// PostgreSQL's word statistics only choose which practices `matches` reads, and change only
/// when the table is analysed: the service reads them once for many questions, not once each;
/// so do SQLite's sizes of signatures, read again only every few seconds.
#[tokio::test]
async fn matches_read_the_word_statistics_once_for_many_questions() {
    let app = synthetic_app(300, 7).await;
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok();
    if postgres {
        use sea_orm::ConnectionTrait;
        app.database()
            .await
            .execute_unprepared("ANALYZE practice")
            .await
            .expect("analyse");
    }
    let needs = first_needs(&app, 5).await;
    app.record_statements();
    for need in &needs {
        assert!(!ranked_practices(&app, need, 20).await.is_empty());
    }
    let statements = app.recorded_statements();
    let statistics = statements
        .iter()
        .filter(|s| s.sql.contains("pg_stats"))
        .count();
    assert_eq!(statistics, usize::from(postgres), "reads of pg_stats");
    // SQLite's sizes of signatures likewise: read once, and no level counted.
    let sizes = statements
        .iter()
        .filter(|s| s.sql.contains("practice_signature_size"))
        .count();
    assert_eq!(
        sizes,
        usize::from(!postgres),
        "reads of the signatures' sizes"
    );
    assert!(
        !statements.iter().any(|s| s
            .sql
            .contains("SELECT COUNT(*) FROM (SELECT 1 FROM practice")),
        "no level is counted"
    );
}

/// A practice's text may change under a running service, written by it or by another process
/// on the same database: `matches` must count the need's words in the text as it now reads,
/// whatever it kept from the questions before.
#[tokio::test]
async fn matches_follow_a_practice_text_changed_by_any_process() {
    // Without the response cache, which only the service's own writes clear.
    let app = crate::helpers::TestApp::new()
        .with_seed(Seed::Nothing)
        .configure(|s| s.response_cache.max_bytes = 0)
        .spawn()
        .await;
    let app = synthetic(app, 1_500, 5).await;
    let db = app.database().await;
    let need = &first_needs(&app, 1).await[0];
    let words = {
        let row = crate::helpers::text_row(
            &db,
            format!(
                "SELECT title || ' ' || COALESCE(description, '') FROM need WHERE id = {}",
                number_of(need)
            ),
        )
        .await;
        persistence::significant_words(&row)
    };
    assert!(words.len() >= 3, "the need has words to find: {words:?}");
    // Asked twice, so that whatever is kept between questions is kept.
    for _ in 0..2 {
        assert_eq!(
            ranked_practices(&app, need, 20).await,
            scored_in_full(&db, number_of(need), 20).await
        );
    }
    let top = scored_in_full(&db, number_of(need), 20).await;
    let floor = top.last().unwrap().1;
    // The published practice sharing a theme with the need that ranks lowest: holding every
    // word of the need lifts it by as many points, which must take it into the first twenty.
    let all = scored_in_full(&db, number_of(need), 100_000).await;
    let (low, low_score) = *all.last().unwrap();
    assert!(
        low_score + words.len() as i64 > floor,
        "the words lift it past the floor ({low_score} + {} against {floor})",
        words.len()
    );
    let set_title = |title: String| {
        let db = &db;
        async move {
            use sea_orm::{ConnectionTrait, Statement};
            db.execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                match db.get_database_backend() {
                    sea_orm::DbBackend::Postgres => "UPDATE practice SET title = $1 WHERE id = $2",
                    _ => "UPDATE practice SET title = ? WHERE id = ?",
                },
                [title.into(), low.into()],
            ))
            .await
            .expect("the title written")
        }
    };
    let old_title =
        crate::helpers::text_row(&db, format!("SELECT title FROM practice WHERE id = {low}")).await;

    // Written straight into the database, as another process of the deployment would.
    set_title(format!("{old_title} {}", words.join(" "))).await;
    let expected = scored_in_full(&db, number_of(need), 20).await;
    assert!(
        expected.iter().any(|(id, _)| *id == low),
        "the practice now ranks: {expected:?}"
    );
    assert_eq!(ranked_practices(&app, need, 20).await, expected);

    // And taken away again: it falls back out of the first twenty.
    set_title(old_title.clone()).await;
    let expected = scored_in_full(&db, number_of(need), 20).await;
    assert!(!expected.iter().any(|(id, _)| *id == low));
    assert_eq!(ranked_practices(&app, need, 20).await, expected);
}

/// SQLite: `matches` chooses how to read a level of signatures by its size, the sum of its
/// signatures' published practices, which triggers keep as practices are created, retagged,
/// published and archived (see the migration `m20261215_000000_practice_signature_sizes`). The
/// sizes must be the practices' own after every kind of write, and after the migration.
#[tokio::test]
async fn the_published_practices_of_each_signature_are_counted_as_they_are_written() {
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        // PostgreSQL's planner weighs the levels itself: no sizes are kept.
        return;
    }
    let app = synthetic_app(300, 13).await;
    let db = app.database().await;
    let listed = |from: &str| {
        format!(
            "SELECT COALESCE(group_concat(s, ' '), '') FROM (SELECT theme_bits || '/' || \
             focus_bits || '/' || modality || '=' || n AS s FROM ({from}) WHERE n <> 0 \
             ORDER BY theme_bits, focus_bits, modality)"
        )
    };
    let kept = listed(
        "SELECT theme_bits, focus_bits, modality, published AS n FROM practice_signature_size",
    );
    let counted = listed(
        "SELECT theme_bits, focus_bits, modality, COUNT(*) AS n FROM practice \
         WHERE status = 'PUBLISHED' GROUP BY theme_bits, focus_bits, modality",
    );
    let same = |when: &'static str| {
        let (db, kept, counted) = (&db, &kept, &counted);
        async move {
            let sizes = crate::helpers::text_row(db, kept.clone()).await;
            assert!(!sizes.is_empty(), "{when}: some signature has practices");
            assert_eq!(
                sizes,
                crate::helpers::text_row(db, counted.clone()).await,
                "{when}"
            );
        }
    };
    same("as seeded").await;

    let admin = app.admin().await;
    let scalar = |sql: String| crate::helpers::scalar(&db, sql);
    let global = |n: i64| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Practice:{n}"))
    };
    let published = |k: usize| {
        format!("SELECT id FROM practice WHERE status = 'PUBLISHED' ORDER BY id LIMIT 1 OFFSET {k}")
    };
    let version = |id: i64| scalar(format!("SELECT version FROM practice WHERE id = {id}"));

    // Retagged: its signature moves from one size to another.
    let retagged = scalar(published(0)).await;
    let input = json!({
        "themes": ["HEALTH", "HOUSING", "OTHER"],
        "managementFocus": ["INSTITUTIONAL_REFORM"],
        "modality": "NETWORK"
    });
    app.data_as(
        &admin,
        "mutation($id: ID!, $v: Int!, $i: PracticeInput!) { updatePractice(id: $id, version: $v, input: $i) { version } }",
        json!({ "id": global(retagged), "v": version(retagged).await, "i": input }),
    )
    .await;
    same("a practice retagged").await;

    // Archived: it leaves its size.
    let archived = scalar(published(1)).await;
    app.data_as(
        &admin,
        "mutation($id: ID!, $v: Int!) { archivePractice(id: $id, version: $v) { status } }",
        json!({ "id": global(archived), "v": version(archived).await }),
    )
    .await;
    same("a practice archived").await;

    // Created as a draft, it counts once published.
    let city = {
        use base64::Engine;
        let id = scalar("SELECT MIN(id) FROM city".into()).await;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("City:{id}"))
    };
    let created = app
        .data_as(
            &admin,
            "mutation($i: PracticeInput!) { createPractice(input: $i) { id version status } }",
            json!({ "i": crate::helpers::practice_input("A new practice", &city) }),
        )
        .await;
    let created = &created["createPractice"];
    same("a practice created").await;
    if created["status"] != "PUBLISHED" {
        app.data_as(
            &admin,
            "mutation($id: ID!, $v: Int!) { publishPractice(id: $id, version: $v) { status } }",
            json!({ "id": created["id"], "v": created["version"] }),
        )
        .await;
        same("a practice published").await;
    }

    // The migration counts the practices already there as the triggers do.
    let before = crate::helpers::text_row(&db, kept.clone()).await;
    crate::helpers::migrate_down_through(&db, "m20261215_000000_practice_signature_sizes").await;
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await.unwrap();
    }
    assert_eq!(crate::helpers::text_row(&db, kept.clone()).await, before);
    same("migrated down and up").await;
}
