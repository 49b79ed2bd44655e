//! The questions that pair need with experience, on a hand-built base whose answers are worked
//! out here: overlapping schemes, cells without a scheme, and matches for a need.

use persistence::seed;
use serde_json::{Value, json};

use crate::helpers::{Seed, spawn_app_with};

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
    seed::seed_information_base(
        &app.database().await,
        &seed::parse_information_base(&matching_base()).unwrap(),
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
