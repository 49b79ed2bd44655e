//! No N+1: listing practices with their cities, countries, schemes, donors and funding costs the
//! same small number of SQL statements for a page of 10 as for a page of 100.

use persistence::seed;
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, spawn_app_configured};

const PRACTICES: usize = 120;

/// A base of 120 practices, each with two cities in different countries, a scheme, indicators
/// and two funding records from different donors.
fn generated_base() -> String {
    let countries = ["NL", "TZ", "GB", "UG", "US", "AL", "FR", "ML"];
    let cities: Vec<Value> = (0..40)
        .map(|i| json!({ "key": format!("city-{i}"), "name": format!("City {i}"), "countryCode": countries[i % countries.len()], "kind": "MUNICIPALITY" }))
        .collect();
    let donors: Vec<Value> =
        (0..5).map(|i| json!({ "key": format!("donor-{i}"), "name": format!("Donor {i}"), "kind": "BILATERAL", "agenda": { "themes": ["HEALTH"] } })).collect();
    let schemes: Vec<Value> = (0..6)
        .map(|i| {
            json!({ "key": format!("scheme-{i}"), "name": format!("Scheme {i}"), "supportModalities": ["STAFF_EXCHANGE"],
                    "operators": { "associations": ["assoc"], "donors": [format!("donor-{}", i % 5)] } })
        })
        .collect();
    let practices: Vec<Value> = (0..PRACTICES)
        .map(|i| {
            json!({
                "key": format!("p-{i}"), "title": format!("Practice {i}"),
                "cities": [{ "city": format!("city-{}", i % 40), "role": "LEAD" }, { "city": format!("city-{}", (i + 1) % 40), "role": "PARTNER" }],
                "associations": ["assoc"],
                "partners": [{ "name": format!("Partner {i}"), "kind": "NGO_CBO" }],
                "orientation": "GLOBAL", "modality": "ONE_ON_ONE",
                "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"], "managementFocus": ["TECHNICAL_EXPERTISE"], "themes": ["HEALTH", "HOUSING"],
                "schemes": [format!("scheme-{}", i % 6)],
                "indicators": [{ "name": "Households served", "actual": "100" }],
                "funding": [
                    { "donor": format!("donor-{}", i % 5), "sourceType": "GRANTS_LOANS", "amount": "1000", "currency": "EUR", "year": 2000, "status": "COMMITTED" },
                    { "donor": format!("donor-{}", (i + 1) % 5), "sourceType": "GRANTS_LOANS", "amount": "250.50", "currency": "NLG", "year": 2001, "status": "DISBURSED" }
                ]
            })
        })
        .collect();
    json!({
        "cities": cities,
        "associations": [{ "key": "assoc", "name": "Association", "scope": "NATIONAL" }],
        "donors": donors, "supportSchemes": schemes, "practices": practices, "needs": []
    })
    .to_string()
}

const LISTING: &str = "query($first: Int!) { practices(first: $first) { totalCount edges { node {
    id title orientation themes managementFocus cooperatingParties
    cities { name country { code bloc ldc } }
    participants { role city { name } }
    associations { name } partners { name } indicators { name actual }
    schemes { nodes { name openForApplications supportModalities } }
    donors { totalCount nodes { name } }
    funding { totalCount nodes { amount currency amountUsd donor { name } } }
} } } }";

/// An app on the generated base. With a wide batch window: on a loaded two-core machine the
/// fields of a page can take longer to wake than the default window, which would split a batch
/// and make a count of statements depend on scheduling rather than on the code.
async fn generated_app(wide_window: bool) -> TestApp {
    let app = spawn_app_configured(Seed::Nothing, move |s| {
        if wide_window {
            s.batch_window = std::time::Duration::from_millis(50)
        }
    })
    .await;
    let base = seed::parse_information_base(&generated_base()).expect("generated base parses");
    let report = seed::seed_information_base(&app.database().await, &base)
        .await
        .expect("generated base loads");
    assert_eq!(report.practices, PRACTICES);
    app
}

/// Requires exactly one of the recorded `statements` to be one that `reads` picks out.
fn assert_read_in_one(statements: &[sea_orm::Statement], what: &str, reads: fn(&str) -> bool) {
    let reading: Vec<&str> = statements
        .iter()
        .map(|s| s.sql.as_str())
        .filter(|sql| reads(sql))
        .collect();
    assert_eq!(reading.len(), 1, "statements reading {what}: {reading:#?}");
}

#[tokio::test]
async fn a_page_of_100_costs_as_many_statements_as_a_page_of_10() {
    let app = generated_app(true).await;

    // The fewest statements of three runs per page size: a batch split by a slow wake-up only
    // adds statements, while an N+1 would add about one per practice on every run.
    let mut costs = Vec::new();
    for first in [10, 100] {
        let mut fewest = u64::MAX;
        for _ in 0..3 {
            let before = app.statements_executed().await;
            let data = app.data(LISTING, json!({ "first": first })).await;
            let after = app.statements_executed().await;
            check_listing(&data, first);
            fewest = fewest.min(after - before);
        }
        costs.push(fewest);
    }
    // A loader's batch can still split when a level of the page wakes later than its window on a
    // loaded machine (a batch waits for one of the request's permits): one statement more, where
    // an N+1 would add ninety.
    assert!(
        costs[1] <= costs[0] + 2,
        "statements for 10 and for 100 practices: {costs:?}"
    );
    assert!(
        costs[0] <= 20,
        "a listing costs a small fixed number of statements, not {}",
        costs[1]
    );
}

/// The page has `first` practices, each with its cities, funding, donors, schemes and countries.
fn check_listing(data: &Value, first: usize) {
    let edges = data["practices"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), first);
    assert_eq!(data["practices"]["totalCount"], PRACTICES as i64);
    for e in edges {
        let n = &e["node"];
        assert_eq!(n["cities"].as_array().unwrap().len(), 2);
        assert_eq!(n["funding"]["nodes"].as_array().unwrap().len(), 2);
        assert_eq!(n["funding"]["totalCount"], 2);
        assert_eq!(n["donors"]["nodes"].as_array().unwrap().len(), 2);
        assert_eq!(n["donors"]["totalCount"], 2);
        assert!(
            !n["schemes"]["nodes"][0]["supportModalities"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(n["cities"][0]["country"]["code"].is_string());
    }
}

const DONORS: &str = "query($first: Int!) { donors(first: $first) { edges { node {
    name funding(first: 10) { totalCount pageInfo { hasNextPage }
        edges { node { amount currency year practice { title } } } }
} } } }";

#[tokio::test]
async fn nested_pages_of_funding_cost_as_many_statements_for_five_donors_as_for_one() {
    let app = generated_app(true).await;

    let mut costs = Vec::new();
    for first in [1, 5] {
        let mut fewest = u64::MAX;
        for _ in 0..3 {
            let before = app.statements_executed().await;
            let data = app.data(DONORS, json!({ "first": first })).await;
            let after = app.statements_executed().await;
            let donors = data["donors"]["edges"].as_array().unwrap();
            assert_eq!(donors.len(), first);
            for d in donors {
                let funding = &d["node"]["funding"];
                // Each donor funds 48 of the 240 records: a page of ten, and more to follow.
                assert_eq!(funding["totalCount"], 48);
                assert_eq!(funding["edges"].as_array().unwrap().len(), 10);
                assert_eq!(funding["pageInfo"]["hasNextPage"], true);
            }
            fewest = fewest.min(after - before);
        }
        costs.push(fewest);
    }
    assert_eq!(
        costs[0], costs[1],
        "statements for 1 and for 5 donors: {costs:?}"
    );
    assert!(costs[1] <= 8, "a few statements, not {}", costs[1]);
}

#[tokio::test]
async fn a_nested_page_of_funding_reads_its_records_in_the_statement_that_pages_them() {
    let app = generated_app(true).await;

    app.record_statements();
    let data = app.data(DONORS, json!({ "first": 5 })).await;
    let statements = app.recorded_statements();
    for d in data["donors"]["edges"].as_array().expect("donors") {
        let funding = d["node"]["funding"]["edges"].as_array().expect("funding");
        assert_eq!(funding.len(), 10);
        assert!(funding.iter().all(|f| f["node"]["currency"].is_string()));
    }
    // Reading the page's ids and then the records by id would be two statements.
    assert_read_in_one(&statements, "funding records", |sql| {
        sql.contains("\"funding\"") && !sql.contains("COUNT(")
    });
}

#[tokio::test]
async fn a_nested_page_of_schemes_reads_the_schemes_in_the_statement_that_pages_them() {
    let app = generated_app(true).await;

    const PAGE: &str = "{ practices(first: 20) { nodes { schemes(first: 5) {
        nodes { id name supportModalities } pageInfo { hasNextPage } } } } }";
    app.record_statements();
    let data = app.data(PAGE, json!({})).await;
    let statements = app.recorded_statements();
    for p in data["practices"]["nodes"].as_array().expect("practices") {
        let schemes = p["schemes"]["nodes"].as_array().expect("schemes");
        assert_eq!(schemes.len(), 1, "{p}");
        assert!(schemes[0]["name"].is_string());
    }
    // Reading the page's ids and then the schemes by id would be two statements.
    assert_read_in_one(&statements, "schemes", |sql| {
        sql.contains("\"support_scheme\"")
    });
}

#[tokio::test]
async fn a_practices_participants_are_read_with_their_cities_in_one_statement() {
    let app = generated_app(true).await;
    const PAGE: &str = "{ practices(first: 30) { nodes {
        participants { role city { id name } } cities { name } } } }";
    app.record_statements();
    let data = app.data(PAGE, json!({})).await;
    let statements = app.recorded_statements();
    for p in data["practices"]["nodes"].as_array().expect("practices") {
        let participants = p["participants"].as_array().expect("participants");
        assert_eq!(participants.len(), 2, "{p}");
        assert_eq!(participants[0]["role"], "LEAD", "lead cities first: {p}");
        let names: Vec<&Value> = participants.iter().map(|x| &x["city"]["name"]).collect();
        let cities: Vec<&Value> = p["cities"]
            .as_array()
            .expect("cities")
            .iter()
            .map(|c| &c["name"])
            .collect();
        assert_eq!(names, cities, "participants and cities in one order");
        assert!(names.iter().all(|n| n.is_string()));
    }
    // Reading the links and then the cities by id would be two statements.
    assert_read_in_one(&statements, "cities", |sql| {
        sql.contains("\"practice_city\"") || sql.contains("\"city\"")
    });
}

#[tokio::test]
async fn the_donors_of_a_page_of_funding_are_read_in_the_statement_that_pages_it() {
    let app = generated_app(true).await;
    const PAGE: &str = "{ practices(first: 30) { nodes { title
        funding(first: 5) { nodes { id donor { id name kind } } } } } }";
    app.record_statements();
    let data = app.data(PAGE, json!({})).await;
    let statements = app.recorded_statements();
    for p in data["practices"]["nodes"].as_array().expect("practices") {
        // Practice i is funded by donors i % 5 and (i + 1) % 5 (see `generated_base`).
        let i: usize = p["title"]
            .as_str()
            .and_then(|t| t.strip_prefix("Practice "))
            .and_then(|n| n.parse().ok())
            .expect("a generated title");
        let mut names: Vec<&str> = p["funding"]["nodes"]
            .as_array()
            .expect("funding")
            .iter()
            .map(|f| f["donor"]["name"].as_str().expect("a donor"))
            .collect();
        names.sort_unstable();
        let mut expected = vec![format!("Donor {}", i % 5), format!("Donor {}", (i + 1) % 5)];
        expected.sort_unstable();
        assert_eq!(names, expected, "{p}");
    }
    // Reading the records and then their donors by id would be two statements.
    assert_read_in_one(&statements, "funding or donors", |sql| {
        sql.contains("\"donor\"") || sql.contains("\"funding\"")
    });
}

#[tokio::test]
async fn the_practices_of_a_donors_page_of_funding_are_read_in_the_statement_that_pages_it() {
    let app = generated_app(true).await;
    const PAGE: &str = "{ donors(first: 5) { nodes { name
        funding(first: 4) { nodes { id practice { title } } } } } }";
    app.record_statements();
    let data = app.data(PAGE, json!({})).await;
    let statements = app.recorded_statements();
    let donors = data["donors"]["nodes"].as_array().expect("donors");
    assert_eq!(donors.len(), 5, "{data}");
    for d in donors {
        let donor: usize = d["name"]
            .as_str()
            .and_then(|n| n.strip_prefix("Donor "))
            .and_then(|n| n.parse().ok())
            .expect("a generated name");
        let records = d["funding"]["nodes"].as_array().expect("funding");
        assert_eq!(records.len(), 4, "{d}");
        for f in records {
            // Donor d funds the practices i with i % 5 == d or (i + 1) % 5 == d.
            let i: usize = f["practice"]["title"]
                .as_str()
                .and_then(|t| t.strip_prefix("Practice "))
                .and_then(|n| n.parse().ok())
                .expect("a generated title");
            assert!(i % 5 == donor || (i + 1) % 5 == donor, "{d}");
        }
    }
    // Reading the records and then their practices by id would be two statements.
    assert_read_in_one(&statements, "funding or practices", |sql| {
        sql.contains("\"practice\"") || sql.contains("\"funding\"")
    });
}

#[tokio::test]
async fn the_countries_of_cities_are_read_from_the_database_once() {
    let app = generated_app(false).await;

    const PAGE: &str = "query($first: Int!) { practices(first: $first) { edges { node {
        cities { country { code name bloc } } } } } }";
    app.record_statements();
    let mut shown = std::collections::BTreeSet::new();
    for first in [10, 40, 100] {
        let data = app.data(PAGE, json!({ "first": first })).await;
        for e in data["practices"]["edges"].as_array().expect("edges") {
            for city in e["node"]["cities"].as_array().expect("cities") {
                assert!(city["country"]["name"].is_string(), "{city}");
                shown.insert(city["country"]["code"].to_string());
            }
        }
    }
    // Every country of the base, on the three pages.
    assert_eq!(shown.len(), 8, "{shown:?}");
    let reading_countries = app
        .recorded_statements()
        .iter()
        .filter(|s| s.sql.contains("\"country\""))
        .count();
    assert!(
        reading_countries <= 1,
        "three pages read the countries {reading_countries} times"
    );
}

#[tokio::test]
async fn a_practices_funding_donors_and_schemes_are_paged_with_cursors() {
    let app = generated_app(false).await;
    let query = "query($after: String) { practices(first: 1) { edges { node {
        funding(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id amount } }
        donors(first: 1, after: $after) { totalCount pageInfo { hasNextPage } nodes { name } }
        schemes(first: 1) { totalCount nodes { name donors(first: 100) { totalCount } } }
    } } } }";
    let first = app.data(query, json!({ "after": null })).await;
    let node = &first["practices"]["edges"][0]["node"];
    assert_eq!(node["funding"]["totalCount"], 2);
    assert_eq!(node["funding"]["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(node["funding"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(node["donors"]["totalCount"], 2);
    assert_eq!(node["donors"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(node["schemes"]["totalCount"], 1);
    // The generated funding is attached to practices, none to a scheme.
    assert_eq!(node["schemes"]["nodes"][0]["donors"]["totalCount"], 0);

    let cursor = node["funding"]["pageInfo"]["endCursor"].clone();
    let next = app.data(query, json!({ "after": cursor })).await;
    let rest = &next["practices"]["edges"][0]["node"]["funding"];
    assert_eq!(rest["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_ne!(rest["nodes"][0]["id"], node["funding"]["nodes"][0]["id"]);
}

#[tokio::test]
async fn the_iati_export_reads_the_funding_of_a_page_of_activities_in_one_statement() {
    let app = generated_app(false).await;

    app.record_statements();
    let document = app
        .client
        .get(format!("{}/export/iati/activities.xml", app.address))
        .send()
        .await
        .expect("export answered")
        .text()
        .await
        .expect("export read");
    let statements = app.recorded_statements();
    // Two funding records a practice, one transaction each.
    assert_eq!(document.matches("<iati-activity").count(), PRACTICES);
    assert_eq!(document.matches("<transaction ref=").count(), 2 * PRACTICES);
    // The 120 practices are one page of the export. Reading its funding as a page of ids and
    // then the records by id would be two statements.
    assert_read_in_one(&statements, "funding records", |sql| {
        sql.contains("\"funding\"") && !sql.contains("COUNT(")
    });
}
