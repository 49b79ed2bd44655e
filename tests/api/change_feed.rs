//! The change feed: every save appears once, in commit order, to whoever may read the record,
//! also while other requests write; and `updatedSince` on the lists.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, error_code, practice_input};

const CHANGES: &str = "query($first: Int, $after: String) { changes(first: $first, after: $after) {
    edges { cursor node { recordType recordId version kind at cursor } }
    pageInfo { hasNextPage endCursor } } }";

const CREATE_PRACTICE: &str =
    "mutation($i: PracticeInput!) { createPractice(input: $i) { id version } }";

/// One change as the tests compare them: record type, id, version and kind.
type Seen = (String, String, i64, String);

fn seen(node: &Value) -> Seen {
    (
        node["recordType"].as_str().unwrap().to_string(),
        node["recordId"].as_str().unwrap().to_string(),
        node["version"].as_i64().unwrap(),
        node["kind"].as_str().unwrap().to_string(),
    )
}

fn change(record_type: &str, id: &str, version: i64, kind: &str) -> Seen {
    (record_type.into(), id.into(), version, kind.into())
}

/// One page of the feed as `user` sees it: its changes and where the next read starts.
async fn page(
    app: &TestApp,
    user: Option<&TestUser>,
    first: i64,
    after: Option<&str>,
) -> (Vec<Seen>, Option<String>, bool) {
    let response = app
        .graphql_as(user, CHANGES, json!({ "first": first, "after": after }))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let changes = &response["data"]["changes"];
    let edges = changes["edges"].as_array().unwrap();
    for edge in edges {
        assert_eq!(edge["cursor"], edge["node"]["cursor"]);
        assert!(edge["node"]["at"].as_str().is_some());
    }
    (
        edges.iter().map(|e| seen(&e["node"])).collect(),
        changes["pageInfo"]["endCursor"].as_str().map(String::from),
        changes["pageInfo"]["hasNextPage"].as_bool().unwrap(),
    )
}

/// The whole feed as `user` sees it, read in one page.
async fn feed(app: &TestApp, user: Option<&TestUser>) -> Vec<Seen> {
    let (changes, _, more) = page(app, user, 100, None).await;
    assert!(!more, "the tests write fewer than 100 changes");
    changes
}

async fn mutate(app: &TestApp, user: &TestUser, query: &str, vars: Value) -> Value {
    let data = app.data_as(user, query, vars).await;
    data.as_object().unwrap().values().next().unwrap().clone()
}

async fn set_practice(app: &TestApp, user: &TestUser, op: &str, id: &str, version: i64) -> i64 {
    let query =
        format!("mutation($id: ID!, $v: Int!) {{ {op}(id: $id, version: $v) {{ version }} }}");
    mutate(app, user, &query, json!({ "id": id, "v": version })).await["version"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn every_save_appears_once_in_the_order_it_was_made() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    assert_eq!(
        feed(&app, Some(&admin)).await,
        vec![],
        "the seeded base is not a change"
    );
    let haarlem = app.id_of("cities", "Haarlem").await;

    let p = mutate(
        &app,
        &admin,
        CREATE_PRACTICE,
        json!({ "i": practice_input("Feed pilot", &haarlem) }),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    let v = mutate(
        &app,
        &admin,
        "mutation($id: ID!) { updatePractice(id: $id, version: 1, input: { summary: \"more\" }) { version } }",
        json!({ "id": id }),
    )
    .await["version"]
        .as_i64()
        .unwrap();
    let v = set_practice(&app, &admin, "publishPractice", &id, v).await;
    set_practice(&app, &admin, "archivePractice", &id, v).await;
    let city = mutate(
        &app,
        &admin,
        "mutation { createCity(input: { name: \"Feedville\", countryCode: \"NL\" }) { id } }",
        json!({}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    mutate(
        &app,
        &admin,
        "mutation($id: ID!) { updateCity(id: $id, version: 1, input: { population: 1000 }) { id } }",
        json!({ "id": city }),
    )
    .await;
    // A refused write leaves no change behind.
    let stale = app
        .graphql_as(
            Some(&admin),
            "mutation($id: ID!) { updateCity(id: $id, version: 1, input: { population: 2 }) { id } }",
            json!({ "id": city }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");

    assert_eq!(
        feed(&app, Some(&admin)).await,
        vec![
            change("Practice", &id, 1, "CREATED"),
            change("Practice", &id, 2, "UPDATED"),
            change("Practice", &id, 3, "PUBLISHED"),
            change("Practice", &id, 4, "ARCHIVED"),
            change("City", &city, 1, "CREATED"),
            change("City", &city, 2, "UPDATED"),
        ]
    );
}

#[tokio::test]
async fn a_follower_sees_the_changes_of_what_it_may_read_now() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let haarlem = app.id_of("cities", "Haarlem").await;
    let mutare = app.id_of("cities", "Mutare").await;
    let own = app.user(&admin, "PRACTITIONER", ("cityId", &haarlem)).await;
    let other = app.user(&admin, "PRACTITIONER", ("cityId", &mutare)).await;

    let p = mutate(
        &app,
        &own,
        CREATE_PRACTICE,
        json!({ "i": practice_input("Draft in the feed", &haarlem) }),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    let created = change("Practice", &id, 1, "CREATED");
    // A draft that is archived without ever being published stays with its organisation.
    let hidden = mutate(
        &app,
        &own,
        CREATE_PRACTICE,
        json!({ "i": practice_input("Never public", &haarlem) }),
    )
    .await;
    let hidden = hidden["id"].as_str().unwrap().to_string();
    set_practice(&app, &own, "archivePractice", &hidden, 1).await;
    let hidden_changes = vec![
        change("Practice", &hidden, 1, "CREATED"),
        change("Practice", &hidden, 2, "ARCHIVED"),
    ];

    assert_eq!(
        feed(&app, None).await,
        vec![],
        "anonymous: drafts are hidden"
    );
    assert_eq!(
        feed(&app, Some(&other)).await,
        vec![],
        "another city: drafts are hidden"
    );
    let mut everything = vec![created.clone()];
    everything.extend(hidden_changes.clone());
    assert_eq!(feed(&app, Some(&own)).await, everything, "its city");
    assert_eq!(
        feed(&app, Some(&admin)).await,
        everything,
        "the secretariat"
    );

    set_practice(&app, &own, "publishPractice", &id, 1).await;
    let published = change("Practice", &id, 2, "PUBLISHED");
    for (who, user) in [("anonymous", None), ("another city", Some(&other))] {
        assert_eq!(
            feed(&app, user).await,
            vec![created.clone(), published.clone()],
            "{who}: once published, all of the record's changes"
        );
    }

    set_practice(&app, &own, "archivePractice", &id, 2).await;
    let archived = change("Practice", &id, 3, "ARCHIVED");
    assert_eq!(
        feed(&app, None).await,
        vec![archived.clone()],
        "anonymous: the withdrawal, so that a mirror drops the record"
    );
    let mut everything = vec![created, published, archived];
    everything.insert(1, hidden_changes[0].clone());
    everything.insert(2, hidden_changes[1].clone());
    assert_eq!(feed(&app, Some(&own)).await, everything);
    assert_eq!(feed(&app, Some(&admin)).await, everything);
}

#[tokio::test]
async fn following_the_cursor_reads_every_change_once() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    for n in 0..7 {
        mutate(
            &app,
            &admin,
            "mutation($n: String!) { createCity(input: { name: $n, countryCode: \"NL\" }) { id } }",
            json!({ "n": format!("Paged {n}") }),
        )
        .await;
    }
    let all = feed(&app, None).await;
    assert_eq!(all.len(), 7);

    let (mut followed, mut after) = (Vec::new(), None::<String>);
    loop {
        let (changes, end, more) = page(&app, None, 3, after.as_deref()).await;
        assert!(changes.len() <= 3);
        followed.extend(changes);
        after = end.or(after);
        if !more {
            break;
        }
    }
    assert_eq!(followed, all);
    let (rest, end, more) = page(&app, None, 3, after.as_deref()).await;
    assert_eq!(
        (rest, end, more),
        (vec![], None, false),
        "nothing after the end"
    );

    let bad = app
        .graphql(CHANGES, json!({ "after": "not a cursor" }))
        .await;
    assert_eq!(error_code(&bad), "VALIDATION");
    let big = app.graphql(CHANGES, json!({ "first": 101 })).await;
    assert_eq!(error_code(&big), "VALIDATION");
}

const WRITERS: usize = 6;
const UPDATES: i64 = 5;

/// A request of a writer task, which owns what it needs to run on its own.
async fn post(
    client: &reqwest::Client,
    address: &str,
    user: &TestUser,
    query: &str,
    vars: Value,
) -> Value {
    let response: Value = client
        .post(format!("{address}/graphql"))
        .bearer_auth(&user.access_token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("JSON response");
    assert!(response.get("errors").is_none(), "{response}");
    response["data"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone()
}

/// Creates a city and changes it `UPDATES` times, one request after the other.
async fn writer(client: reqwest::Client, address: String, admin: TestUser, n: usize) -> String {
    let id = post(
        &client,
        &address,
        &admin,
        "mutation($n: String!) { createCity(input: { name: $n, countryCode: \"NL\" }) { id } }",
        json!({ "n": format!("Concurrent {n}") }),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for version in 1..=UPDATES {
        post(
            &client,
            &address,
            &admin,
            "mutation($id: ID!, $v: Int!, $p: Int!) { updateCity(id: $id, version: $v, input: { population: $p }) { id } }",
            json!({ "id": id, "v": version, "p": version * 1000 }),
        )
        .await;
    }
    id
}

#[tokio::test]
async fn a_follower_misses_nothing_while_others_write() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let follower = app.admin().await;
    let done = std::sync::atomic::AtomicBool::new(false);

    let writers = async {
        let tasks: Vec<_> = (0..WRITERS)
            .map(|n| {
                let (client, address) = (app.client.clone(), app.address.clone());
                tokio::spawn(writer(client, address, admin.clone(), n))
            })
            .collect();
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.expect("the writer finished"));
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        ids
    };
    let follow = async {
        let (mut followed, mut after, mut reads) = (Vec::new(), None::<String>, 0);
        loop {
            // Read once more after the writers are done, to drain what they left.
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let (changes, end, more) = page(&app, Some(&follower), 4, after.as_deref()).await;
            reads += 1;
            followed.extend(changes);
            after = end.or(after);
            if finished && !more {
                break (followed, reads);
            }
        }
    };
    let (ids, (followed, reads)) = tokio::join!(writers, follow);
    assert!(reads > 2, "the follower read while the writers wrote");

    assert_eq!(
        followed.len(),
        WRITERS * (1 + UPDATES as usize),
        "{followed:?}"
    );
    let mut versions: HashMap<String, Vec<i64>> = HashMap::new();
    for (record_type, id, version, kind) in &followed {
        assert_eq!(record_type, "City");
        let expected = if *version == 1 { "CREATED" } else { "UPDATED" };
        assert_eq!(kind, expected);
        versions.entry(id.clone()).or_default().push(*version);
    }
    for id in ids {
        assert_eq!(
            versions.remove(&id),
            Some((1..=1 + UPDATES).collect::<Vec<_>>()),
            "city {id}: every version once, in commit order"
        );
    }
    assert!(versions.is_empty());
    assert_eq!(
        followed,
        feed(&app, Some(&admin)).await,
        "the same order as one read"
    );
}

#[tokio::test]
async fn updated_since_lists_only_what_was_saved_later() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let haarlem = app.id_of("cities", "Haarlem").await;
    let old = mutate(
        &app,
        &admin,
        CREATE_PRACTICE,
        json!({ "i": practice_input("Saved before", &haarlem) }),
    )
    .await;
    let old = old["id"].as_str().unwrap().to_string();
    let changed = mutate(
        &app,
        &admin,
        CREATE_PRACTICE,
        json!({ "i": practice_input("Changed after", &haarlem) }),
    )
    .await;
    let changed = changed["id"].as_str().unwrap().to_string();

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let since = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    mutate(
        &app,
        &admin,
        "mutation($id: ID!) { updatePractice(id: $id, version: 1, input: { summary: \"later\" }) { id } }",
        json!({ "id": changed }),
    )
    .await;
    let new = mutate(
        &app,
        &admin,
        CREATE_PRACTICE,
        json!({ "i": practice_input("Created after", &haarlem) }),
    )
    .await;
    let new = new["id"].as_str().unwrap().to_string();

    let list = "query($t: DateTime) { practices(first: 100, filter: { updatedSince: $t }) { edges { node { id } } } }";
    let ids = |data: Value| -> Vec<String> {
        data["practices"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let later = ids(app
        .data_as(&admin, list, json!({ "t": since.to_rfc3339() }))
        .await);
    assert_eq!(later, vec![changed.clone(), new]);
    let all = ids(app.data_as(&admin, list, json!({ "t": null })).await);
    assert!(
        all.contains(&old) && all.contains(&changed) && all.len() > 3,
        "no filter: all"
    );
}

#[tokio::test]
async fn updated_since_filters_schemes_and_needs_too() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let haarlem = app.id_of("cities", "Haarlem").await;
    let before = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let scheme = mutate(
        &app,
        &admin,
        "mutation { createSupportScheme(input: { name: \"Peer review\" }) { id } }",
        json!({}),
    )
    .await["id"]
        .clone();
    let need = mutate(
        &app,
        &admin,
        "mutation($c: ID!) { createNeed(input: { cityId: $c, title: \"Billing system\", themes: [MUNICIPAL_FINANCE] }) { id } }",
        json!({ "c": haarlem }),
    )
    .await["id"]
        .clone();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let after = chrono::Utc::now();

    for (list, id) in [("supportSchemes", scheme), ("needs", need)] {
        let query = format!(
            "query($t: DateTime) {{ {list}(first: 100, filter: {{ updatedSince: $t }}) {{ edges {{ node {{ id }} }} }} }}"
        );
        let ids = |data: Value| {
            data[list]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].clone())
                .collect::<Vec<_>>()
        };
        let since_before = ids(app
            .data_as(&admin, &query, json!({ "t": before.to_rfc3339() }))
            .await);
        assert_eq!(
            since_before,
            vec![id.clone()],
            "{list}: only the one saved since"
        );
        let since_after = ids(app
            .data_as(&admin, &query, json!({ "t": after.to_rfc3339() }))
            .await);
        assert_eq!(
            since_after,
            Vec::<Value>::new(),
            "{list}: nothing saved since"
        );
    }
}
