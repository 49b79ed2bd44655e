//! Nested pages are read per parent (a LATERAL subquery on PostgreSQL; on SQLite each parent's
//! last child on the page first, then the children up to it): a batch of many parents must give
//! each parent the page it gets asked alone, cursors and `hasNextPage` included.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::TestApp;

const BATCH: &str = "{ practices(first: 100) { edges { node { cities { id
    practices(first: 2) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } } } } }";

const ALONE: &str = "query($c: ID!, $n: Int!, $after: String) { city(id: $c) {
    practices(first: $n, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }";

#[tokio::test]
async fn a_batch_of_parents_pages_each_parent_as_it_pages_alone() {
    let app = TestApp::new().spawn().await;
    app.add_synthetic(1_500, 5).await;

    let batch = app.data(BATCH, json!({})).await;
    let mut pages: BTreeMap<String, Value> = BTreeMap::new();
    for edge in batch["practices"]["edges"].as_array().expect("edges") {
        for city in edge["node"]["cities"].as_array().expect("cities") {
            let id = city["id"].as_str().expect("an id").to_string();
            let page = city["practices"].clone();
            if let Some(seen) = pages.get(&id) {
                assert_eq!(
                    seen, &page,
                    "city {id} paged twice in one answer, differently"
                );
            }
            pages.insert(id, page);
        }
    }
    assert!(
        pages.len() > 100,
        "only {} cities in the batch: too few to be a batch of many parents",
        pages.len()
    );

    let mut continued = 0;
    for (city, page) in &pages {
        let alone = app
            .data(ALONE, json!({ "c": city, "n": 2, "after": null }))
            .await;
        assert_eq!(&alone["city"]["practices"], page, "city {city}");
        if page["pageInfo"]["hasNextPage"] == json!(true) && continued < 10 {
            continued += 1;
            // The page after the first two is the rest of the first four.
            let four = app
                .data(ALONE, json!({ "c": city, "n": 4, "after": null }))
                .await;
            let next = app
                .data(
                    ALONE,
                    json!({ "c": city, "n": 2, "after": page["pageInfo"]["endCursor"] }),
                )
                .await;
            let ids = |v: &Value| -> Vec<Value> {
                v["city"]["practices"]["edges"]
                    .as_array()
                    .expect("edges")
                    .iter()
                    .map(|e| e["node"]["id"].clone())
                    .collect()
            };
            assert_eq!(ids(&next), ids(&four)[2..].to_vec(), "city {city}");
        }
    }
    assert!(continued > 0, "no city had a second page");
}
