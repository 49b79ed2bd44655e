//! Changes: drafts and confidential amounts stay with who may see them, stale versions never
//! overwrite, inputs are validated field by field, and the audit trail records each change.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, error_code, spawn_app};

const CREATE: &str =
    "mutation($i: PracticeInput!) { createPractice(input: $i) { id version status orientation } }";

fn practice_input(cities: &[&str]) -> Value {
    json!({
        "title": "Composting pilot between twins",
        "themes": ["ENVIRONMENT"],
        "modality": "ONE_ON_ONE",
        "managementFocus": ["TECHNICAL_EXPERTISE"],
        "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"],
        "cityIds": cities,
    })
}

struct World {
    admin: TestUser,
    haarlem: String,
    mutare: String,
    own: TestUser,
    other: TestUser,
    donor: TestUser,
    other_donor: TestUser,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let haarlem = app.id_of("cities", "Haarlem").await;
    let mutare = app.id_of("cities", "Mutare").await;
    let birmingham = app.id_of("cities", "Birmingham").await;
    let nl = app.id_of("donors", "Netherlands Ministry").await;
    let usaid = app.id_of("donors", "USAID").await;
    World {
        own: app.user(&admin, "PRACTITIONER", ("cityId", &haarlem)).await,
        other: app
            .user(&admin, "PRACTITIONER", ("cityId", &birmingham))
            .await,
        donor: app.user(&admin, "DONOR", ("donorId", &nl)).await,
        other_donor: app.user(&admin, "DONOR", ("donorId", &usaid)).await,
        admin,
        haarlem,
        mutare,
    }
}

/// Everything a viewer can learn about the number of practices and one practice.
async fn sightings(
    app: &TestApp,
    viewer: Option<&TestUser>,
    id: &str,
    city: &str,
    title: &str,
) -> (i64, i64, bool, bool, bool) {
    let r = app
        .graphql_as(
            viewer,
            "query($id: ID!, $c: ID!, $t: String) {
                inventory { practiceCount }
                practices(first: 100, filter: { text: $t }) { totalCount edges { node { id } } }
                practice(id: $id) { id }
                city(id: $c) { practices(first: 100) { edges { node { id } } } participations(first: 100) { edges { node { practice { id } } } } }
            }",
            json!({ "id": id, "c": city, "t": title }),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    let d = &r["data"];
    let listed = d["practices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"]["id"] == id);
    let nested = d["city"]["practices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["node"]["id"] == id)
        || d["city"]["participations"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["node"]["practice"]["id"] == id);
    (
        d["inventory"]["practiceCount"].as_i64().unwrap(),
        d["practices"]["totalCount"].as_i64().unwrap(),
        listed,
        !d["practice"].is_null(),
        nested,
    )
}

/// A practice of Haarlem and Mutare created by Haarlem's practitioner: a draft, as
/// `createPractice` answers it.
async fn own_draft(app: &TestApp, w: &World) -> Value {
    app.data_as(
        &w.own,
        CREATE,
        json!({ "i": practice_input(&[&w.haarlem, &w.mutare]) }),
    )
    .await
}

#[tokio::test]
async fn drafts_are_seen_only_by_their_organisation_and_the_secretariat() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (base_count, ..) = sightings(&app, None, "999999", &w.haarlem, "Composting").await;

    let draft = own_draft(&app, &w).await;
    let id = draft["createPractice"]["id"].as_str().unwrap().to_string();
    assert_eq!(draft["createPractice"]["status"], "DRAFT");
    assert_eq!(
        draft["createPractice"]["orientation"], "NORTH_SOUTH",
        "derived from the Netherlands and Zimbabwe"
    );

    for (who, viewer) in [
        ("anonymous", None),
        ("another city", Some(&w.other)),
        ("a donor", Some(&w.donor)),
    ] {
        assert_eq!(
            sightings(&app, viewer, &id, &w.haarlem, "Composting").await,
            (base_count, 0, false, false, false),
            "{who} must not see the draft"
        );
    }
    for (who, viewer) in [("its city", &w.own), ("the secretariat", &w.admin)] {
        assert_eq!(
            sightings(&app, Some(viewer), &id, &w.haarlem, "Composting").await,
            (base_count + 1, 1, true, true, true),
            "{who} sees the draft"
        );
    }

    let v = draft["createPractice"]["version"].as_i64().unwrap();
    app.data_as(
        &w.own,
        "mutation($id: ID!, $v: Int!) { publishPractice(id: $id, version: $v) { status } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    assert_eq!(
        sightings(&app, None, &id, &w.haarlem, "Composting").await,
        (base_count + 1, 1, true, true, true),
        "published: everyone"
    );
}

#[tokio::test]
async fn a_donors_funding_of_a_draft_shows_with_its_practice_only_to_who_may_read_the_draft() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let draft = own_draft(&app, &w).await;
    let practice = draft["createPractice"]["id"].as_str().unwrap().to_string();
    let nl = app.id_of("donors", "Netherlands Ministry").await;
    let recorded = app
        .data_as(
            &w.admin,
            "mutation($p: ID!, $d: ID!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"5000\", currency: \"EUR\", status: COMMITTED, sourceType: GRANTS_LOANS }) { id } }",
            json!({ "p": practice, "d": nl }),
        )
        .await;
    let funding = recorded["recordFunding"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The donor's list reads each record's practice in the statement that pages the records:
    // the practice shows exactly where the record does.
    let query = "query($d: ID!) { donor(id: $d) { funding(first: 100) { nodes { id practice { id status } } } } }";
    for (who, viewer, sees) in [
        ("anonymous", None, false),
        ("another city", Some(&w.other), false),
        ("the donor", Some(&w.donor), false),
        ("its city", Some(&w.own), true),
        ("the secretariat", Some(&w.admin), true),
    ] {
        let r = app.graphql_as(viewer, query, json!({ "d": nl })).await;
        assert!(r.get("errors").is_none(), "{who}: {r}");
        let nodes = r["data"]["donor"]["funding"]["nodes"].as_array().unwrap();
        let shown = nodes.iter().find(|f| f["id"] == funding.as_str());
        assert_eq!(shown.is_some(), sees, "{who}: {r}");
        if let Some(f) = shown {
            assert_eq!(f["practice"]["id"], practice.as_str(), "{who}");
            assert_eq!(f["practice"]["status"], "DRAFT", "{who}");
        }
    }
}

#[tokio::test]
async fn confidential_amounts_are_hidden_but_the_funding_is_not() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let practice = app.id_of("practices", "waste management in Mutare").await;
    let recorded = app
        .data_as(
            &w.donor,
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"100000\", currency: \"NLG\", status: COMMITTED, sourceType: GRANTS_LOANS, confidential: true }) { id amount amountUsd rate } }",
            json!({ "p": practice }),
        )
        .await;
    let f = &recorded["recordFunding"];
    assert_eq!(f["amount"], "100000");
    // 100,000 guilders at the fixed euro rate times the shipped EUR rate, to the cent.
    let rate: f64 = f["rate"].as_str().unwrap().parse().unwrap();
    let usd: f64 = f["amountUsd"].as_str().unwrap().parse().unwrap();
    assert!((usd - 100000.0 * rate).abs() < 0.01);
    let funding_id = f["id"].as_str().unwrap().to_string();

    let query = "query($p: ID!, $d: ID!) {
        practice(id: $p) { funding(first: 100) { nodes { id amount amountUsd confidential } } }
        donor(id: $d) { funding(first: 100) { edges { node { id amount } } } }
    }";
    let nl = app.id_of("donors", "Netherlands Ministry").await;
    for (who, viewer, sees) in [
        ("anonymous", None, false),
        ("another donor", Some(&w.other_donor), false),
        ("a practitioner of the city", Some(&w.own), false),
        ("the donor", Some(&w.donor), true),
        ("the secretariat", Some(&w.admin), true),
    ] {
        let r = app
            .graphql_as(viewer, query, json!({ "p": practice, "d": nl }))
            .await;
        let in_practice = r["data"]["practice"]["funding"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == funding_id.as_str())
            .cloned();
        let in_donor = r["data"]["donor"]["funding"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .find(|x| x["id"] == funding_id.as_str())
            .cloned();
        let (a, b) = (
            in_practice.expect("the funding exists for everyone"),
            in_donor.expect("through the donor too"),
        );
        assert_eq!(a["confidential"], true);
        assert_eq!(
            !a["amount"].is_null(),
            sees,
            "{who}: amount through the practice"
        );
        assert_eq!(!a["amountUsd"].is_null(), sees, "{who}: USD amount");
        assert_eq!(
            !b["amount"].is_null(),
            sees,
            "{who}: amount through the donor"
        );
    }
}

#[tokio::test]
async fn parallel_updates_with_one_version_let_exactly_one_through() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let created = own_draft(&app, &w).await;
    let id = created["createPractice"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let version = created["createPractice"]["version"].as_i64().unwrap();

    let update = "mutation($id: ID!, $v: Int!, $s: String!) { updatePractice(id: $id, version: $v, input: { summary: $s }) { version summary } }";
    let attempts = (0..12).map(|n| {
        let app = &app;
        let user = &w.own;
        let id = id.clone();
        async move {
            app.graphql_as(
                Some(user),
                update,
                json!({ "id": id, "v": version, "s": format!("writer {n}") }),
            )
            .await
        }
    });
    let results = futures_join_all(attempts).await;
    let ok: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("errors").is_none())
        .collect();
    let conflicts = results
        .iter()
        .filter(|r| r.get("errors").is_some() && error_code(r) == "CONFLICT")
        .count();
    assert_eq!(ok.len(), 1, "exactly one writer wins: {results:?}");
    assert_eq!(conflicts, 11, "the others answer CONFLICT: {results:?}");
    assert_eq!(ok[0]["data"]["updatePractice"]["version"], version + 1);

    let after = app
        .data_as(
            &w.admin,
            "query($id: ID!) { practice(id: $id) { summary version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        after["practice"]["summary"], ok[0]["data"]["updatePractice"]["summary"],
        "the winner's write, nothing else"
    );
    let log = app
        .data_as(&w.admin, "query($id: ID!) { auditLog(filter: { entity: \"Practice\", entityId: $id, action: \"UPDATE\" }) { totalCount edges { node { actorUserId changedFields } } } }", json!({ "id": id }))
        .await;
    assert_eq!(log["auditLog"]["totalCount"], 1);
    assert_eq!(
        log["auditLog"]["edges"][0]["node"]["actorUserId"],
        w.own.id.as_str()
    );
    assert_eq!(
        log["auditLog"]["edges"][0]["node"]["changedFields"],
        json!(["summary"])
    );
    // Names are taken as written in any case; one the log never holds is a mistake, said so
    // rather than answered with an empty log.
    let log = app
        .data_as(&w.admin, "query($id: ID!) { auditLog(filter: { entity: \"practice\", entityId: $id, action: \"update\" }) { totalCount } }", json!({ "id": id }))
        .await;
    assert_eq!(log["auditLog"]["totalCount"], 1);
    let r = app
        .graphql_as(
            Some(&w.admin),
            "{ auditLog(filter: { entity: \"Practise\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "entity");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("SupportScheme"),
        "{r}"
    );
}

async fn futures_join_all<F: std::future::Future<Output = Value>>(
    futures: impl Iterator<Item = F>,
) -> Vec<Value> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    // Poll them together so the requests really overlap.
    let joined = async {
        let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
        let mut results: Vec<Option<Value>> = vec![None; pinned.len()];
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (i, f) in pinned.iter_mut().enumerate() {
                if results[i].is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => results[i] = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        results.into_iter().map(|r| r.unwrap()).collect::<Vec<_>>()
    };
    out.extend(joined.await);
    out
}

#[tokio::test]
async fn invalid_input_answers_validation_with_the_field() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let ok = practice_input(&[&w.haarlem, &w.mutare]);
    let with = |k: &str, v: Value| {
        let mut i = ok.clone();
        i[k] = v;
        json!({ "i": i })
    };
    for (vars, field) in [
        (with("title", json!("   ")), "title"),
        (with("title", json!("x".repeat(201))), "title"),
        (with("summary", json!("x".repeat(1001))), "summary"),
        (with("themes", json!([])), "themes"),
        (with("cityIds", json!(["999999"])), "cityIds"),
        (with("orientation", json!("SOUTH_SOUTH")), "orientation"),
        (with("amountRequired", json!("-5")), "amountRequired"),
        // The field is the input's own, so that a form can put the message beside it.
        (
            with("amountRequired", json!("10")),
            "amountRequiredCurrency",
        ),
        (
            {
                let mut i = ok.clone();
                i["amountRequired"] = json!("10");
                i["amountRequiredCurrency"] = json!("XQQ");
                json!({ "i": i })
            },
            "amountRequiredCurrency",
        ),
        (
            {
                let mut i = ok.clone();
                i["amountRequired"] = json!("10");
                i["amountRequiredCurrency"] = json!("dollars");
                json!({ "i": i })
            },
            "amountRequiredCurrency",
        ),
        (
            {
                let mut i = ok.clone();
                i["startYear"] = json!(2001);
                i["endYear"] = json!(1999);
                json!({ "i": i })
            },
            "endYear",
        ),
    ] {
        let r = app.graphql_as(Some(&w.own), CREATE, vars).await;
        assert_eq!(error_code(&r), "VALIDATION", "{field}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{r}");
    }
    let r = app
        .graphql_as(
            Some(&w.admin),
            "mutation { createCity(input: { name: \"Atlantis\", countryCode: \"QQ\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (
            error_code(&r),
            r["errors"][0]["extensions"]["field"].as_str()
        ),
        ("VALIDATION", Some("countryCode"))
    );
    for (mutation, field) in [
        (
            "mutation { createSupportScheme(input: { name: \"Exchange\", budget: \"10\", budgetCurrency: \"XQQ\" }) { id } }",
            "budgetCurrency",
        ),
        (
            "mutation { createSupportScheme(input: { name: \"Exchange\", budget: \"10\" }) { id } }",
            "budgetCurrency",
        ),
    ] {
        let r = app.graphql_as(Some(&w.admin), mutation, json!({})).await;
        assert_eq!(error_code(&r), "VALIDATION", "{r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{r}");
    }
    let donor = app
        .data("{ donors(first: 1) { nodes { id version } } }", json!({}))
        .await["donors"]["nodes"][0]
        .clone();
    for codes in [json!(["QQ"]), json!(["Holland"])] {
        let r = app
            .graphql_as(
                Some(&w.admin),
                "mutation($id: ID!, $v: Int!, $c: [String!]) { updateDonor(id: $id, version: $v, input: { agenda: { countryCodes: $c } }) { id } }",
                json!({ "id": donor["id"], "v": donor["version"], "c": codes }),
            )
            .await;
        assert_eq!(error_code(&r), "VALIDATION", "{r}");
        assert_eq!(
            r["errors"][0]["extensions"]["field"], "agenda.countryCodes",
            "{r}"
        );
    }
    // The amount is exact: a malformed decimal never reaches the service.
    let r = app
        .graphql_as(Some(&w.own), CREATE, with("amountRequired", json!("12,5")))
        .await;
    assert!(r.get("errors").is_some());
    // A stale version on a record that exists is a CONFLICT, on one that does not NOT_FOUND.
    let r = app
        .graphql_as(
            Some(&w.admin),
            "mutation { updateCity(id: \"999999\", version: 1, input: { population: 1 }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&r), "NOT_FOUND");
}

#[tokio::test]
async fn funding_is_normalised_to_usd_at_the_stored_rate_and_kept_exact() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let practice = app.id_of("practices", "waste management in Mutare").await;
    let r = app
        .data_as(
            &w.own,
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"1234.56\", currency: \"eur\", status: DISBURSED, sourceType: OWN_BUDGET, year: 2000 }) { amount currency rate amountUsd sourceCity { name } version } }",
            json!({ "p": practice }),
        )
        .await;
    let f = &r["recordFunding"];
    assert_eq!(f["amount"], "1234.56");
    assert_eq!(f["currency"], "EUR");
    assert_eq!(f["sourceCity"]["name"], "Haarlem");
    let rate: rust_decimal::Decimal = f["rate"].as_str().unwrap().parse().unwrap();
    let expected = (rust_decimal::Decimal::new(123456, 2) * rate).round_dp(2);
    assert_eq!(
        f["amountUsd"]
            .as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap(),
        expected
    );
}

#[tokio::test]
async fn a_new_rate_applies_to_new_records_and_old_ones_keep_theirs() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let practice = app.id_of("practices", "waste management in Mutare").await;
    let record = "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"1000\", currency: \"EUR\", status: COMMITTED, sourceType: GRANTS_LOANS }) { id rate rateSource amountUsd } }";
    let before = app
        .data_as(&w.donor, record, json!({ "p": practice }))
        .await["recordFunding"]
        .clone();
    assert!(
        before["rateSource"]
            .as_str()
            .unwrap()
            .contains("2024-12-31"),
        "{before}"
    );

    let r = app.graphql_as(Some(&w.admin), "mutation { setCurrencyRate(currency: \"EUR\", usdPerUnit: \"1.25\", asOf: \"2025-13-01\", source: \"x\") { currency } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "asOf");
    app.data_as(&w.admin, "mutation { setCurrencyRate(currency: \"eur\", usdPerUnit: \"1.25\", asOf: \"2025-06-30\", source: \"Secretariat rate\") { currency usdPerUnit } }", json!({}))
        .await;
    let after = app
        .data_as(&w.donor, record, json!({ "p": practice }))
        .await["recordFunding"]
        .clone();
    assert_eq!(after["rate"], "1.25");
    assert_eq!(after["amountUsd"], "1250.00");
    assert_eq!(after["rateSource"], "Secretariat rate, 2025-06-30");

    let funding = app
        .data_as(
            &w.admin,
            "query($p: ID!) { practice(id: $p) { funding(first: 100) { nodes { id rate } } } }",
            json!({ "p": practice }),
        )
        .await;
    let old = funding["practice"]["funding"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == before["id"])
        .unwrap()
        .clone();
    assert_eq!(old["rate"], before["rate"], "frozen when recorded");
    let rates = app
        .data("{ currencyRates { currency usdPerUnit } }", json!({}))
        .await;
    assert!(
        rates["currencyRates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["currency"] == "EUR" && r["usdPerUnit"] == "1.25")
    );
}

#[tokio::test]
async fn indicators_are_set_with_the_practice_and_replaced_as_a_whole() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut input = practice_input(&[&w.haarlem, &w.mutare]);
    input["indicators"] = json!([
        { "name": "Households served", "unit": "households", "baseline": "0", "target": "5000", "actual": "3200", "year": 2001 },
        { "name": "Tonnes composted", "target": "12.5" }
    ]);
    let created = app.data_as(&w.own, CREATE, json!({ "i": input })).await;
    let id = created["createPractice"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let read = "query($id: ID!) { practice(id: $id) { version indicators { name unit baseline target actual year } } }";
    let p = app.data_as(&w.own, read, json!({ "id": id })).await;
    assert_eq!(
        p["practice"]["indicators"][0],
        json!({ "name": "Households served", "unit": "households", "baseline": "0", "target": "5000", "actual": "3200", "year": 2001 })
    );
    assert_eq!(p["practice"]["indicators"][1]["target"], "12.5");

    let v = p["practice"]["version"].as_i64().unwrap();
    app.data_as(
        &w.own,
        "mutation($id: ID!, $v: Int!) { updatePractice(id: $id, version: $v, input: { indicators: [{ name: \"Households served\", target: \"5000\", actual: \"5100\" }] }) { id } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    let p = app.data_as(&w.own, read, json!({ "id": id })).await;
    assert_eq!(p["practice"]["indicators"].as_array().unwrap().len(), 1);
    assert_eq!(p["practice"]["indicators"][0]["actual"], "5100");

    let bad = app
        .graphql_as(
            Some(&w.own),
            "mutation($id: ID!, $v: Int!) { updatePractice(id: $id, version: $v, input: { indicators: [{ name: \"\" }] }) { id } }",
            json!({ "id": id, "v": v + 1 }),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "indicators.name");
}

/// Every practice `viewer` finds with `filter`, walked page by page of `size`: the ids in order
/// and the `totalCount` of each page.
async fn walked(
    app: &TestApp,
    viewer: &TestUser,
    filter: &Value,
    size: i64,
) -> (Vec<String>, Vec<i64>) {
    let (mut ids, mut counts, mut after) = (Vec::new(), Vec::new(), Value::Null);
    loop {
        let d = app
            .data_as(
                viewer,
                "query($f: PracticeFilter, $n: Int, $a: String) {
                    practices(first: $n, after: $a, filter: $f) {
                        totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }",
                json!({ "f": filter, "n": size, "a": after }),
            )
            .await;
        let page = &d["practices"];
        counts.push(page["totalCount"].as_i64().unwrap());
        for e in page["edges"].as_array().unwrap() {
            ids.push(e["node"]["id"].as_str().unwrap().to_string());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return (ids, counts);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn a_members_pages_hold_the_published_practices_and_its_drafts_in_order() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let draft = own_draft(&app, &w).await;
    let draft = draft["createPractice"]["id"].as_str().unwrap().to_string();
    // A practice published after the draft, so that the draft lies between published ones.
    let later = app
        .data_as(
            &w.admin,
            CREATE,
            json!({ "i": practice_input(&[&w.haarlem, &w.mutare]) }),
        )
        .await;
    let later_id = later["createPractice"]["id"].as_str().unwrap().to_string();
    app.data_as(
        &w.admin,
        "mutation($id: ID!, $v: Int!) { publishPractice(id: $id, version: $v) { status } }",
        json!({ "id": later_id, "v": later["createPractice"]["version"] }),
    )
    .await;

    let everything = json!({});
    let (all, _) = walked(&app, &w.own, &everything, 100).await;
    assert!(all.contains(&draft) && all.contains(&later_id), "{all:?}");
    assert_eq!(
        all.last(),
        Some(&later_id),
        "the draft lies between published practices"
    );
    // In the order of the secretariat's list, which reads every practice with one condition.
    let (every, _) = walked(&app, &w.admin, &everything, 100).await;
    let in_order: Vec<String> = every.into_iter().filter(|id| all.contains(id)).collect();
    assert_eq!(all, in_order);
    let (by_two, counts) = walked(&app, &w.own, &everything, 2).await;
    assert_eq!(by_two, all, "pages of two walk the same practices");
    assert!(counts.iter().all(|&c| c == all.len() as i64), "{counts:?}");
    let (others, _) = walked(&app, &w.other, &everything, 3).await;
    assert_eq!(
        others.len(),
        all.len() - 1,
        "another city sees all but the draft"
    );
    assert!(!others.contains(&draft));

    // A theme filter, read from the practices' rows, keeps those of the theme and only those.
    let themes = app
        .data_as(
            &w.own,
            "{ practices(first: 100) { pageInfo { hasNextPage } edges { node { id themes } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        themes["practices"]["pageInfo"]["hasNextPage"], false,
        "one page holds them"
    );
    let of_theme: Vec<String> = themes["practices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            let t = e["node"]["themes"].as_array().unwrap();
            t.contains(&json!("ENVIRONMENT")) || t.contains(&json!("HOUSING"))
        })
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        of_theme.contains(&draft) && of_theme.len() < all.len(),
        "{of_theme:?}"
    );
    let filter = json!({ "themes": ["ENVIRONMENT", "HOUSING"] });
    for viewer in [&w.own, &w.admin] {
        let (filtered, counts) = walked(&app, viewer, &filter, 2).await;
        assert_eq!(filtered, of_theme);
        assert!(
            counts.iter().all(|&c| c == of_theme.len() as i64),
            "{counts:?}"
        );
    }
    let anonymous = app
        .graphql_as(
            None,
            "query($f: PracticeFilter) { practices(first: 100, filter: $f) { totalCount edges { node { id } } } }",
            json!({ "f": filter }),
        )
        .await;
    let listed: Vec<&str> = anonymous["data"]["practices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    let published: Vec<&str> = of_theme
        .iter()
        .map(String::as_str)
        .filter(|id| *id != draft)
        .collect();
    assert_eq!(listed, published);
    assert_eq!(
        anonymous["data"]["practices"]["totalCount"],
        published.len()
    );
}
