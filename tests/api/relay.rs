//! Relay's object identification: global ids unique across types, `node` and `nodes` answering
//! every record type under the typed roots' read rules, and the plain numeric ids of older
//! clients still taken by the typed roots.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::actor::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, number_of};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";

/// A global id as the API makes it; the tests build one only for a record that does not exist.
fn global(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn field(response: &Value) -> &Value {
    &response["errors"][0]["extensions"]["field"]
}

#[tokio::test]
async fn node_refetches_every_record_type_by_an_id_unique_across_types() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    let admin = app.admin().await;
    let d = app
        .data_as(
            &admin,
            "{
              practices(first: 100) { edges { node { id indicators { id } funding(first: 1) { edges { node { id } } } } } }
              supportSchemes(first: 1) { edges { node { id } } }
              needs(first: 1) { edges { node { id } } }
              cities(first: 1) { edges { node { id } } }
              associations(first: 1) { edges { node { id } } }
              donors(first: 1) { edges { node { id } } }
              users(first: 1) { edges { node { id } } }
              auditLog(first: 1) { edges { node { id entity entityId } } }
            }",
            json!({}),
        )
        .await;
    let first = |list: &str| {
        d[list]["edges"][0]["node"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let practices = d["practices"]["edges"].as_array().unwrap();
    let with = |pick: &dyn Fn(&Value) -> Option<String>| {
        practices
            .iter()
            .find_map(|e| pick(&e["node"]))
            .expect("the seed has one")
    };
    let expected = [
        ("Practice", first("practices")),
        ("SupportScheme", first("supportSchemes")),
        ("Need", first("needs")),
        ("City", first("cities")),
        ("Association", first("associations")),
        ("Donor", first("donors")),
        ("User", first("users")),
        ("AuditEntry", first("auditLog")),
        (
            "Funding",
            with(&|p| {
                p["funding"]["edges"][0]["node"]["id"]
                    .as_str()
                    .map(String::from)
            }),
        ),
        (
            "Indicator",
            with(&|p| p["indicators"][0]["id"].as_str().map(String::from)),
        ),
    ];
    for (typename, id) in &expected {
        let r = app
            .graphql_as(Some(&admin), NODE, json!({ "id": id }))
            .await;
        assert_eq!(
            r["data"]["node"],
            json!({ "__typename": typename, "id": id }),
            "{r}"
        );
    }
    // The audit trail and the change feed name the record changed by its global id.
    let entry = &d["auditLog"]["edges"][0]["node"];
    let changed = app
        .data_as(&admin, NODE, json!({ "id": entry["entityId"] }))
        .await;
    assert_eq!(changed["node"]["__typename"], entry["entity"]);

    // The first record of each table has the same number, not the same id.
    let numbered = app
        .data(
            "{ practice(id: \"1\") { id } city(id: \"1\") { id } donor(id: \"1\") { id }
               association(id: \"1\") { id } supportScheme(id: \"1\") { id } need(id: \"1\") { id } }",
            json!({}),
        )
        .await;
    let ids: HashSet<&str> = numbered
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["id"].as_str().expect("numeric ids still read"))
        .collect();
    assert_eq!(ids.len(), 6, "{numbered}");
    for v in numbered.as_object().unwrap().values() {
        assert_ne!(v["id"], "1", "ids on the wire are global");
    }
}

#[tokio::test]
async fn a_draft_is_null_through_node_to_anyone_but_who_may_read_it() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    let own = app.user_of(Role::Practitioner);
    let city = app
        .data("{ cities(first: 1) { edges { node { id } } } }", json!({}))
        .await["cities"]["edges"][0]["node"]["id"]
        .clone();
    let draft = app
        .data_as(
            own,
            "mutation($i: PracticeInput!) { createPractice(input: $i) { id status } }",
            json!({ "i": {
                "title": "Rainwater harvesting between twins",
                "orientation": "NORTH_SOUTH",
                "themes": ["ENVIRONMENT"],
                "modality": "ONE_ON_ONE",
                "managementFocus": ["TECHNICAL_EXPERTISE"],
                "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"],
                "cityIds": [city],
            } }),
        )
        .await["createPractice"]
        .clone();
    assert_eq!(draft["status"], "DRAFT");
    let id = draft["id"].as_str().unwrap();

    let anonymous = app.data(NODE, json!({ "id": id })).await;
    assert_eq!(anonymous["node"], Value::Null);
    let typed = app
        .data(
            "query($id: ID!) { practice(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(typed["practice"], Value::Null, "the typed root agrees");
    let listed = app.data(NODES, json!({ "ids": [id, city] })).await;
    assert_eq!(listed["nodes"][0], Value::Null);
    assert_eq!(listed["nodes"][1]["__typename"], "City");

    let owner = app.data_as(own, NODE, json!({ "id": id })).await;
    assert_eq!(owner["node"]["id"], id);
    let owner = app.data_as(own, NODES, json!({ "ids": [id] })).await;
    assert_eq!(owner["nodes"][0]["__typename"], "Practice");

    // An account is read by its owner and the secretariat only.
    let me = app.data(NODE, json!({ "id": own.id })).await;
    assert_eq!(me["node"], Value::Null);
    let me = app.data_as(own, NODE, json!({ "id": own.id })).await;
    assert_eq!(me["node"]["__typename"], "User");
}

#[tokio::test]
async fn nodes_keeps_the_order_of_its_ids_and_answers_null_for_unknown_ones() {
    let app = TestApp::new().seeded().spawn().await;
    let city = app.id_of("cities", "Haarlem").await;
    let donor = app.id_of("donors", "USAID").await;
    let unknown = global("Practice:999999");
    let d = app
        .data(NODES, json!({ "ids": [donor, unknown, city, donor] }))
        .await;
    assert_eq!(
        d["nodes"],
        json!([
            { "__typename": "Donor", "id": donor },
            null,
            { "__typename": "City", "id": city },
            { "__typename": "Donor", "id": donor },
        ])
    );
    let d = app.data(NODE, json!({ "id": unknown })).await;
    assert_eq!(d["node"], Value::Null);

    // Bounded like a page.
    let many: Vec<&str> = std::iter::repeat_n(city.as_str(), 101).collect();
    let r = app.graphql(NODES, json!({ "ids": many })).await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    assert_eq!(field(&r), "ids");
}

#[tokio::test]
async fn an_id_of_another_type_or_garbage_is_validation_on_its_field() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .spawn()
        .await;
    let city = app.id_of("cities", "Haarlem").await;
    let donor = app.id_of("donors", "USAID").await;

    let r = app
        .graphql(
            "query($id: ID!) { practice(id: $id) { id } }",
            json!({ "id": city }),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    assert_eq!(field(&r), "id");

    let r = app
        .graphql_as(
            Some(app.user_of(Role::Practitioner)),
            "mutation($i: PracticeInput!) { createPractice(input: $i) { id } }",
            json!({ "i": {
                "title": "Wrong ids",
                "themes": ["ENVIRONMENT"],
                "modality": "ONE_ON_ONE",
                "managementFocus": ["TECHNICAL_EXPERTISE"],
                "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"],
                "cityIds": [donor],
            } }),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    assert_eq!(field(&r), "cityIds");

    for garbage in [
        "not an id",
        "",
        "-1",
        "0",
        &global("Practice:01"),
        &global("Nothing:1"),
    ] {
        let r = app.graphql(NODE, json!({ "id": garbage })).await;
        assert_eq!(error_code(&r), "VALIDATION", "{garbage}: {r}");
        assert_eq!(field(&r), "id");
        let r = app
            .graphql(
                "query($id: ID!) { city(id: $id) { id } }",
                json!({ "id": garbage }),
            )
            .await;
        assert_eq!(error_code(&r), "VALIDATION", "{garbage}: {r}");
    }
    // A plain number names no type: `node` needs a global id.
    let r = app.graphql(NODE, json!({ "id": "1" })).await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
}

#[tokio::test]
async fn nodes_reads_the_ids_of_one_type_together() {
    // A wide batch window, as in statements.rs: on a loaded machine a batch could split.
    let app = TestApp::new()
        .seeded()
        .configure(|s| s.batch_window = std::time::Duration::from_millis(50))
        .spawn()
        .await;
    // Signed in, so that no answer comes from the response cache.
    let admin = app.admin().await;
    let d = app
        .data(
            "{ practices(first: 30) { edges { node { id } } } cities(first: 30) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let ids = |list: &str, n: usize| -> Vec<Value> {
        d[list]["edges"].as_array().unwrap()[..n]
            .iter()
            .map(|e| e["node"]["id"].clone())
            .collect()
    };
    let mut costs = Vec::new();
    for n in [2, 30] {
        let wanted: Vec<Value> = ids("practices", n)
            .into_iter()
            .chain(ids("cities", n))
            .collect();
        let mut fewest = u64::MAX;
        for _ in 0..3 {
            let before = app.statements_executed().await;
            let r = app
                .data_as(
                    &admin,
                    "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Practice { title } ... on City { name } } }",
                    json!({ "ids": wanted }),
                )
                .await;
            let after = app.statements_executed().await;
            let got: Vec<&Value> = r["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| &n["id"])
                .collect();
            assert_eq!(got, wanted.iter().collect::<Vec<_>>());
            fewest = fewest.min(after - before);
        }
        costs.push(fewest);
    }
    // As for a page's nested lists, a batch may split once on a loaded machine; reading each id
    // alone would add fifty-six.
    assert!(costs[1] <= costs[0] + 2, "{costs:?} statements");
}

#[tokio::test]
async fn the_csv_files_filter_by_global_ids_and_numbers_alike() {
    let app = TestApp::new().seeded().spawn().await;
    let city = app.id_of("cities", "Haarlem").await;
    let donor = app.id_of("donors", "USAID").await;
    let get = |query: String| {
        let request = app
            .client
            .get(format!("{}/export/practices.csv?{query}", app.address));
        async move {
            let response = request.send().await.expect("request sent");
            let status = response.status().as_u16();
            (status, response.text().await.expect("a body"))
        }
    };
    let by_global = get(format!("cityId={city}")).await;
    assert_eq!(by_global.0, 200, "{}", by_global.1);
    assert!(by_global.1.lines().count() > 1, "Haarlem has practices");
    let by_number = get(format!("cityId={}", number_of(&city))).await;
    assert_eq!(by_number, by_global);
    let (status, body) = get(format!("cityId={donor}")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("cityId"), "{body}");
}
