//! The published information base, read anonymously through every read query of the contract.

use std::collections::{BTreeMap, HashSet};

use domain::actor::Role;
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, seed_file, spawn_app};

fn practice_by_key<'a>(seed: &'a Value, key: &str) -> &'a Value {
    seed["practices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == key)
        .unwrap_or_else(|| panic!("seed has {key}"))
}

#[tokio::test]
async fn inventory_counts_what_the_seed_holds() {
    let app = spawn_app().await;
    let seed = seed_file();
    let data = app
        .data(
            "{ inventory { practiceCount supportSchemeCount cityCount associationCount donorCount
               practiceFacets { dimension value count } schemeFacets { dimension value count } } }",
            json!({}),
        )
        .await;
    let inv = &data["inventory"];
    let len = |k: &str| seed[k].as_array().unwrap().len() as i64;
    assert_eq!(inv["practiceCount"], len("practices"));
    assert_eq!(inv["supportSchemeCount"], len("supportSchemes"));
    assert_eq!(inv["cityCount"], len("cities"));
    assert_eq!(inv["associationCount"], len("associations"));
    assert_eq!(inv["donorCount"], len("donors"));

    // Theme facets, computed independently from the seed file.
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for p in seed["practices"].as_array().unwrap() {
        let themes: HashSet<&str> = p["themes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        for t in themes {
            *expected.entry(t.to_string()).or_default() += 1;
        }
    }
    let actual: BTreeMap<String, i64> = inv["practiceFacets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["dimension"] == "THEME")
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_string(),
                f["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(actual, expected);

    let modality_total: i64 = inv["practiceFacets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["dimension"] == "MODALITY")
        .map(|f| f["count"].as_i64().unwrap())
        .sum();
    assert_eq!(
        modality_total,
        len("practices"),
        "every practice has exactly one modality"
    );
    assert!(
        inv["schemeFacets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["dimension"] == "SUPPORT_MODALITY")
    );
}

#[tokio::test]
async fn paging_through_practices_visits_each_once() {
    let app = spawn_app().await;
    let expected = seed_file()["practices"].as_array().unwrap().len();
    let query = "query($after: String) { practices(first: 7, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title } } } }";
    let mut seen = HashSet::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let data = app.data(query, json!({ "after": after })).await;
        let conn = &data["practices"];
        assert_eq!(conn["totalCount"], expected as i64);
        for edge in conn["edges"].as_array().unwrap() {
            assert!(
                seen.insert(edge["node"]["id"].as_str().unwrap().to_string()),
                "a practice came twice"
            );
        }
        pages += 1;
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(pages < 100, "paging does not end");
    }
    assert_eq!(seen.len(), expected);
    assert_eq!(pages, expected.div_ceil(7));
}

#[tokio::test]
async fn practice_filters_agree_with_the_seed() {
    let app = TestApp::new()
        .with_seed(Seed::Report)
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    let member = app.user_of(Role::Practitioner);
    let mut held_twice = 0;
    let seed = seed_file();
    let practices = seed["practices"].as_array().unwrap();
    let with_theme = practices
        .iter()
        .filter(|p| {
            p["themes"]
                .as_array()
                .unwrap()
                .contains(&json!("MUNICIPAL_FINANCE"))
        })
        .count();
    let data = app
        .data(
            "{ practices(first: 100, filter: { themes: [MUNICIPAL_FINANCE] }) { totalCount edges { node { themes } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["practices"]["totalCount"], with_theme as i64);
    for e in data["practices"]["edges"].as_array().unwrap() {
        assert!(
            e["node"]["themes"]
                .as_array()
                .unwrap()
                .contains(&json!("MUNICIPAL_FINANCE"))
        );
    }

    // Several values of a dimension select the practices holding any of them; two dimensions,
    // those holding a value of each. The seed's own lists are the reference, not the filter.
    let held = |p: &Value, field: &str, values: &[&str]| {
        p[field]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| values.contains(&v.as_str().unwrap()))
            .count()
    };
    let holds = |p: &Value, field: &str, values: &[&str]| held(p, field, values) > 0;
    for (filter, themes, focuses) in [
        (
            "themes: [HEALTH, HOUSING]",
            &["HEALTH", "HOUSING"][..],
            &[][..],
        ),
        (
            "managementFocus: [STRATEGY_FORMULATION, INSTITUTIONAL_REFORM]",
            &[][..],
            &["STRATEGY_FORMULATION", "INSTITUTIONAL_REFORM"][..],
        ),
        (
            "themes: [ENVIRONMENT, SECURITY_DISASTER], managementFocus: [STRATEGY_IMPLEMENTATION]",
            &["ENVIRONMENT", "SECURITY_DISASTER"][..],
            &["STRATEGY_IMPLEMENTATION"][..],
        ),
        (
            "themes: [SOCIAL_CULTURAL, INFRASTRUCTURE_SERVICES, ENVIRONMENT]",
            &["SOCIAL_CULTURAL", "INFRASTRUCTURE_SERVICES", "ENVIRONMENT"][..],
            &[][..],
        ),
    ] {
        let selects = |p: &Value| {
            (themes.is_empty() || holds(p, "themes", themes))
                && (focuses.is_empty() || holds(p, "managementFocus", focuses))
        };
        // A count adding up each value's practices would count these twice.
        let of_two_values = |p: &Value, field: &str, values: &[&str]| held(p, field, values) > 1;
        held_twice += practices
            .iter()
            .filter(|p| {
                selects(p)
                    && (of_two_values(p, "themes", themes)
                        || of_two_values(p, "managementFocus", focuses))
            })
            .count();
        let mut expected: Vec<String> = practices
            .iter()
            .filter(|p| selects(p))
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect();
        expected.sort();
        assert!(
            expected.len() >= 2 && expected.len() < practices.len(),
            "{filter}: the seed has practices on both sides"
        );
        let data = app
            .data(
                &format!(
                    "{{ practices(first: 100, filter: {{ {filter} }}) {{ totalCount edges {{ node {{ title }} }} }} }}"
                ),
                json!({}),
            )
            .await;
        let mut titles: Vec<String> = data["practices"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
            .collect();
        titles.sort();
        assert_eq!(titles, expected, "{filter}");
        assert_eq!(
            data["practices"]["totalCount"],
            expected.len() as i64,
            "{filter}"
        );
        // A member's count adds its own unpublished practices to the published ones, counted
        // apart (none of the seed's are unpublished).
        let count = format!("{{ practices(filter: {{ {filter} }}) {{ totalCount }} }}");
        let data = app.data_as(member, &count, json!({})).await;
        assert_eq!(
            data["practices"]["totalCount"],
            expected.len() as i64,
            "{filter} as a practitioner"
        );
    }
    assert!(
        held_twice > 0,
        "the filters select practices that hold two of their values"
    );

    let data = app
        .data(
            r#"{ practices(first: 100, filter: { countryCode: "zw" }) { edges { node { cities { country { code } } } } } }"#,
            json!({}),
        )
        .await;
    let edges = data["practices"]["edges"].as_array().unwrap();
    assert!(edges.len() >= 2, "Chegutu and Mutare are in Zimbabwe");
    for e in edges {
        assert!(
            e["node"]["cities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["country"]["code"] == "ZW")
        );
    }

    let data = app
        .data(
            r#"{ practices(first: 100, filter: { text: "TAX COLLECTION" }) { edges { node { title indicators { name actual unit } } } } }"#,
            json!({}),
        )
        .await;
    let chegutu = practice_by_key(&seed, "hinton-chegutu-finance");
    let found = data["practices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["title"] == chegutu["title"])
        .expect("Chegutu found by text");
    assert!(
        found["node"]["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["actual"] == "75" && i["unit"] == "%")
    );

    let data = app
        .data(
            "{ practices(first: 100, filter: { orientation: WEST_EAST, activeInYear: 1995 }) { edges { node { orientation startYear endYear } } } }",
            json!({}),
        )
        .await;
    for e in data["practices"]["edges"].as_array().unwrap() {
        let n = &e["node"];
        assert_eq!(n["orientation"], "WEST_EAST");
        assert!(n["startYear"].as_i64().unwrap() <= 1995);
        assert!(n["endYear"].is_null() || n["endYear"].as_i64().unwrap() >= 1995);
    }
}

#[tokio::test]
async fn orientation_is_derived_from_the_cities_or_kept_for_historical_cases() {
    let app = spawn_app().await;
    let query = r#"query($text: String) { practices(first: 5, filter: { text: $text }) { edges { node { title orientation cities { name country { code bloc ldc } } participants { role city { name } } } } } }"#;
    let seed = seed_file();

    // Boston (UK) and Jalchatra (Bangladesh, an LDC): derived NORTH_SOUTH.
    let boston = practice_by_key(&seed, "boston-jalchatra");
    assert!(boston["orientation"].is_null(), "derived, not given");
    let data = app.data(query, json!({ "text": "Jalchatra" })).await;
    let node = &data["practices"]["edges"][0]["node"];
    assert_eq!(node["orientation"], "NORTH_SOUTH");
    let countries: Vec<&Value> = node["cities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["country"])
        .collect();
    assert!(
        countries
            .iter()
            .any(|c| c["code"] == "BD" && c["bloc"] == "SOUTH" && c["ldc"] == true)
    );
    assert_eq!(
        node["participants"][0]["role"], "LEAD",
        "lead cities come first"
    );

    // Poland is NORTH today, but the case ran when it was a transition economy.
    let data = app.data(query, json!({ "text": "Poznań" })).await;
    assert_eq!(
        data["practices"]["edges"][0]["node"]["orientation"],
        "WEST_EAST"
    );
}

#[tokio::test]
async fn funding_is_exact_and_normalised_to_usd() {
    let app = spawn_app().await;
    let data = app
        .data(
            r#"{ practices(first: 1, filter: { text: "Jalchatra" }) { edges { node {
                funding { totalCount nodes { amount currency amountUsd rate status sourceType sourceName confidential donor { id } sourceCity { name } } }
                donors { totalCount nodes { name } } } } } }"#,
            json!({}),
        )
        .await;
    let node = &data["practices"]["edges"][0]["node"];
    assert_eq!(node["funding"]["totalCount"], 1);
    assert_eq!(
        node["donors"]["totalCount"], 0,
        "a city's own budget has no donor"
    );
    let funding = &node["funding"]["nodes"][0];
    assert_eq!(funding["amount"], "40000");
    assert_eq!(funding["currency"], "USD");
    assert_eq!(funding["amountUsd"], "40000.00");
    assert_eq!(funding["rate"], "1");
    assert_eq!(funding["sourceType"], "LOCAL_PARTNERS");
    assert_eq!(funding["sourceCity"]["name"], "Boston");
    assert!(funding["donor"].is_null());
    assert_eq!(funding["confidential"], false);
}

#[tokio::test]
async fn every_read_query_of_the_contract_answers_with_data() {
    let app = spawn_app().await;

    let data = app
        .data(
            r#"{ cities(first: 100, filter: { countryCode: "NL" }) { totalCount edges { node { id name country { code } practices(first: 100) { edges { node { title } } } memberships(first: 5) { totalCount nodes { name } } } } } }"#,
            json!({}),
        )
        .await;
    let cities = data["cities"]["edges"].as_array().unwrap();
    assert!(cities.iter().all(|c| c["node"]["country"]["code"] == "NL"));
    let haarlem = cities
        .iter()
        .find(|c| c["node"]["name"] == "Haarlem")
        .expect("Haarlem");
    assert!(
        !haarlem["node"]["practices"]["edges"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let city_id = haarlem["node"]["id"].clone();
    let data = app
        .data(
            "query($id: ID!) { city(id: $id) { name kind population } }",
            json!({ "id": city_id }),
        )
        .await;
    assert_eq!(data["city"]["name"], "Haarlem");

    let data = app
        .data("{ cities(first: 100, filter: { bloc: SOUTH }) { totalCount edges { node { country { bloc } } } } }", json!({}))
        .await;
    assert!(data["cities"]["totalCount"].as_i64().unwrap() > 10);
    assert!(
        data["cities"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["node"]["country"]["bloc"] == "SOUTH")
    );

    let data = app
        .data(
            r#"{ associations(first: 20, filter: { text: "WACLAC" }) { edges { node { id acronym scope memberAssociations(first: 20) { totalCount nodes { acronym memberOf(first: 2) { nodes { acronym } } } } } } } }"#,
            json!({}),
        )
        .await;
    let waclac = data["associations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["acronym"] == "WACLAC")
        .expect("WACLAC found by its acronym");
    assert_eq!(waclac["acronym"], "WACLAC");
    let members: Vec<&str> = waclac["memberAssociations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["acronym"].as_str())
        .collect();
    assert!(
        members.contains(&"IULA") && members.contains(&"METROPOLIS"),
        "{members:?}"
    );
    assert_eq!(
        waclac["memberAssociations"]["nodes"][0]["memberOf"]["nodes"][0]["acronym"],
        "WACLAC"
    );
    let data = app
        .data(
            "query($id: ID!) { association(id: $id) { acronym } }",
            json!({ "id": waclac["id"] }),
        )
        .await;
    assert_eq!(data["association"]["acronym"], "WACLAC");

    let data = app
        .data(
            r#"{ donors(first: 5, filter: { text: "USAID" }) { edges { node { id name kind agenda { themes orientations countryCodes } schemes(first: 20) { totalCount nodes { name donors(first: 5) { nodes { name } } } } funding(first: 100) { totalCount edges { node { amount } } } } } } }"#,
            json!({}),
        )
        .await;
    let usaid = &data["donors"]["edges"][0]["node"];
    assert_eq!(usaid["kind"], "BILATERAL");
    assert!(
        usaid["schemes"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"].as_str().unwrap().contains("CityLinks"))
    );
    assert_eq!(
        usaid["schemes"]["totalCount"].as_u64().unwrap() as usize,
        usaid["schemes"]["nodes"].as_array().unwrap().len()
    );
    let data = app
        .data(
            "query($id: ID!) { donor(id: $id) { name } }",
            json!({ "id": usaid["id"] }),
        )
        .await;
    assert_eq!(data["donor"]["name"], usaid["name"]);

    let data = app
        .data(
            r#"{ supportSchemes(first: 20, filter: { text: "CityLinks" }) { totalCount edges { node { id name openForApplications supportModalities themes orientations facilitatingStructures fundingSources
                operators { __typename ... on Association { acronym } ... on Donor { name } } donors(first: 5) { nodes { name } } practices(first: 50) { edges { node { title cities { name } } } } } } } }"#,
            json!({}),
        )
        .await;
    let citylinks = data["supportSchemes"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .max_by_key(|n| n["practices"]["edges"].as_array().unwrap().len())
        .expect("a CityLinks scheme");
    assert!(
        citylinks["operators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["acronym"] == "ICMA")
    );
    let practice_titles: Vec<&str> = citylinks["practices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["node"]["title"].as_str())
        .collect();
    assert!(
        practice_titles.iter().any(|t| t.contains("Tirana")),
        "{practice_titles:?}"
    );
    let data = app
        .data(
            "query($id: ID!) { supportScheme(id: $id) { name } }",
            json!({ "id": citylinks["id"] }),
        )
        .await;
    assert_eq!(data["supportScheme"]["name"], citylinks["name"]);

    let data = app
        .data(
            "{ needs(first: 100) { totalCount edges { node { id title status themes city { name country { code } } } } } }",
            json!({}),
        )
        .await;
    let needs = data["needs"]["edges"].as_array().unwrap();
    assert_eq!(needs.len(), seed_file()["needs"].as_array().unwrap().len());
    assert!(needs.iter().all(|n| !n["node"]["city"]["name"].is_null()));
    let data = app
        .data(
            "query($id: ID!) { need(id: $id) { title } }",
            json!({ "id": needs[0]["node"]["id"] }),
        )
        .await;
    assert_eq!(data["need"]["title"], needs[0]["node"]["title"]);

    let data = app
        .data("{ practices(first: 1) { edges { node { id title associations { name } partners { name kind } schemes { nodes { name } } } } } }", json!({}))
        .await;
    let first = &data["practices"]["edges"][0]["node"];
    let data = app
        .data(
            "query($id: ID!) { practice(id: $id) { title } }",
            json!({ "id": first["id"] }),
        )
        .await;
    assert_eq!(data["practice"]["title"], first["title"]);

    let data = app
        .data(r#"{ practice(id: "999999") { title } }"#, json!({}))
        .await;
    assert!(data["practice"].is_null(), "an unknown id reads as null");

    let data = app.data("{ countries { code } }", json!({})).await;
    assert!(data["countries"].as_array().unwrap().len() >= 249);
}
