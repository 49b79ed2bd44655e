//! What aggregates and answers reveal: sums of money that cannot overflow, mutation answers that
//! follow the read rules, and confidential amounts that no aggregate gives away.

use persistence::seed;
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, TestUser, error_code, spawn_app_with};

/// The largest amount one record may hold (`limits::MAX_AMOUNT`), in USD.
const MAX: &str = "1000000000000000";
/// Records at the maximum: their USD cents (10^17 each) add up past the largest 64-bit integer.
const MANY: usize = 100;

/// A base whose sums of USD cents overflow 64 bits: MANY open needs at the maximum, and one
/// practice requiring the maximum and funded MANY times over at the maximum, all in THEME HEALTH.
fn huge_base() -> String {
    let needs: Vec<Value> = (0..MANY)
        .map(|i| {
            json!({ "key": format!("n{i}"), "city": "a", "title": format!("Need {i}"), "themes": ["HEALTH"],
                    "amountRequired": { "amount": MAX, "currency": "USD" }, "status": "OPEN" })
        })
        .collect();
    let funding: Vec<Value> = (0..MANY)
        .map(|_| {
            json!({ "donor": "x", "sourceType": "GRANTS_LOANS", "amount": MAX, "currency": "USD", "year": 1999, "status": "COMMITTED" })
        })
        .collect();
    json!({
        "cities": [
            { "key": "a", "name": "Alkmaar", "countryCode": "NL", "kind": "MUNICIPALITY" },
            { "key": "b", "name": "Bukoba", "countryCode": "TZ", "kind": "MUNICIPALITY" }
        ],
        "associations": [],
        "donors": [{ "key": "x", "name": "Donor X", "kind": "BILATERAL" }],
        "supportSchemes": [],
        "practices": [{
            "key": "p", "title": "Huge", "cities": [{ "city": "a", "role": "LEAD" }, { "city": "b", "role": "PARTNER" }],
            "modality": "ONE_ON_ONE", "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"], "managementFocus": ["TECHNICAL_EXPERTISE"],
            "themes": ["HEALTH"], "amountRequired": { "amount": MAX, "currency": "USD" }, "funding": funding
        }],
        "needs": needs
    })
    .to_string()
}

async fn app_with(base: &str) -> TestApp {
    let app = spawn_app_with(Seed::Nothing).await;
    let db = app.database().await;
    seed::seed_information_base(&db, &seed::parse_information_base(base).unwrap())
        .await
        .unwrap();
    app
}

/// `n` times the maximum amount, in USD with cents, as the API writes it.
fn times_max(n: u128) -> String {
    format!("{}.00", n * 1_000_000_000_000_000)
}

#[tokio::test]
async fn sums_of_money_past_64_bits_answer_exactly() {
    let app = app_with(&huge_base()).await;
    let required = times_max(MANY as u128 + 1);
    let funded = times_max(MANY as u128);
    let gap = times_max(1);
    // Without a year range the rollup answers; with one, the base rows.
    for filter in [json!(null), json!({ "fromYear": 1999, "toYear": 1999 })] {
        let answer = app
            .graphql(
                "query($f: GapFilter) {
                    fundingGapTotal(filter: $f) { openNeeds requiredUsd fundedUsd gapUsd coverage }
                    fundingGaps(by: [THEME], filter: $f) { key { value } requiredUsd fundedUsd gapUsd }
                }",
                json!({ "f": filter }),
            )
            .await;
        assert!(
            answer.get("errors").is_none(),
            "{filter}: {answer} ({})",
            error_code(&answer)
        );
        let total = &answer["data"]["fundingGapTotal"];
        assert_eq!(total["openNeeds"], MANY, "{filter}");
        assert_eq!(total["requiredUsd"], required, "{filter}");
        assert_eq!(total["fundedUsd"], funded, "{filter}");
        assert_eq!(total["gapUsd"], gap, "{filter}");
        let health = &answer["data"]["fundingGaps"][0];
        assert_eq!(health["key"][0]["value"], "HEALTH");
        assert_eq!(health["requiredUsd"], required, "{filter}");
        assert_eq!(health["fundedUsd"], funded, "{filter}");
        assert_eq!(health["gapUsd"], gap, "{filter}");
    }

    // A write keeps the built rollup in step at that scale too.
    let admin = app.admin().await;
    let practice = app.id_of("practices", "Huge").await;
    app.data_as(
        &admin,
        "mutation($p: ID!, $a: Decimal!) { recordFunding(input: { practiceId: $p, amount: $a, currency: \"USD\", year: 2000, status: DISBURSED, sourceType: GRANTS_LOANS }) { id } }",
        json!({ "p": practice, "a": MAX }),
    )
    .await;
    let total = app
        .data("{ fundingGapTotal { fundedUsd gapUsd } }", json!({}))
        .await;
    assert_eq!(
        total["fundingGapTotal"]["fundedUsd"],
        times_max(MANY as u128 + 1)
    );
    assert_eq!(total["fundingGapTotal"]["gapUsd"], "0.00");
}

/// Two cities sharing a practice, each with a practitioner, a donor, and the secretariat.
fn shared_base() -> String {
    json!({
        "cities": [
            { "key": "a", "name": "Alkmaar", "countryCode": "NL", "kind": "MUNICIPALITY" },
            { "key": "b", "name": "Bukoba", "countryCode": "TZ", "kind": "MUNICIPALITY" }
        ],
        "associations": [],
        "donors": [
            { "key": "x", "name": "Donor X", "kind": "BILATERAL" },
            { "key": "y", "name": "Donor Y", "kind": "FOUNDATION" },
            { "key": "z", "name": "Donor Z", "kind": "MULTILATERAL" },
            { "key": "w", "name": "Donor W", "kind": "MULTILATERAL" }
        ],
        "supportSchemes": [],
        "practices": [{
            "key": "p", "title": "Shared water works", "cities": [{ "city": "a", "role": "LEAD" }, { "city": "b", "role": "PARTNER" }],
            "modality": "ONE_ON_ONE", "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"], "managementFocus": ["TECHNICAL_EXPERTISE"],
            "themes": ["HEALTH"], "startYear": 1998, "amountRequired": { "amount": "1000000", "currency": "USD" },
            "funding": [{ "donor": "y", "sourceType": "FOUNDATION_TRUST", "amount": "10000", "currency": "USD", "year": 1999, "status": "COMMITTED" }]
        }, {
            "key": "q", "title": "Public housing loans", "cities": [{ "city": "a", "role": "LEAD" }], "orientation": "GLOBAL",
            "modality": "GROUP", "cooperatingParties": ["NGO_CBO"], "managementFocus": ["STRATEGY_IMPLEMENTATION"],
            "themes": ["HOUSING"], "startYear": 1998, "amountRequired": { "amount": "50000", "currency": "USD" },
            "funding": [{ "donor": "z", "sourceType": "DEVELOPMENT_PROGRAMME", "amount": "5000", "currency": "USD", "year": 1999, "status": "COMMITTED" }]
        }],
        "needs": []
    })
    .to_string()
}

#[tokio::test]
async fn a_mutation_answers_no_more_than_a_query_shows() {
    let app = app_with(&shared_base()).await;
    let admin = app.admin().await;
    let a = app.id_of("cities", "Alkmaar").await;
    let b = app.id_of("cities", "Bukoba").await;
    let of_a = app.user(&admin, "PRACTITIONER", ("cityId", &a)).await;
    let of_b = app.user(&admin, "PRACTITIONER", ("cityId", &b)).await;
    let practice = app.id_of("practices", "Shared water works").await;
    let recorded = app
        .data_as(
            &of_a,
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"123456.78\", currency: \"USD\", year: 1999, status: COMMITTED, sourceType: OWN_BUDGET, confidential: true }) { id version } }",
            json!({ "p": practice }),
        )
        .await;
    let id = recorded["recordFunding"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // What the other city's practitioner reads of it through a query: that it exists.
    let read = app
        .data_as(
            &of_b,
            "query($p: ID!) { practice(id: $p) { funding(first: 100) { nodes { id amount amountUsd } } } }",
            json!({ "p": practice }),
        )
        .await;
    let seen = read["practice"]["funding"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id.as_str())
        .expect("the funding is listed");
    assert!(seen["amount"].is_null() && seen["amountUsd"].is_null());

    // The role table lets practitioners of the practice's cities change its own-budget
    // funding; the answer to that change shows what a query would, and nothing more.
    let answer = app
        .graphql_as(
            Some(&of_b),
            "mutation($id: ID!) { updateFunding(id: $id, version: 1, input: { note: \"touch\" }) { id version note amount amountUsd } }",
            json!({ "id": id }),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let f = &answer["data"]["updateFunding"];
    assert_eq!(f["note"], "touch");
    assert!(
        f["amount"].is_null() && f["amountUsd"].is_null(),
        "the answer hides the amount: {f}"
    );

    // The secretariat sees it, in the answer to its own change too.
    let answer = app
        .data_as(
            &admin,
            "mutation($id: ID!) { updateFunding(id: $id, version: 2, input: { note: \"checked\" }) { amount } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(answer["updateFunding"]["amount"], "123456.78");
}

const GAPS: &str = "query($by: [GapDimension!]!, $f: GapFilter) {
    fundingGaps(by: $by, filter: $f) { key { value } activePractices requiredUsd fundedUsd pledgedUsd gapUsd coverage disclosure }
    fundingGapTotal(filter: $f) { activePractices requiredUsd fundedUsd pledgedUsd gapUsd coverage disclosure }
}";

/// Every way of asking: the grouping for the year, the rollup (no period), others.
fn questions() -> Vec<Value> {
    let year = json!({ "fromYear": 1999, "toYear": 1999 });
    vec![
        json!({ "by": ["COUNTRY", "THEME", "MODALITY"], "f": year }),
        json!({ "by": ["COUNTRY", "THEME", "MODALITY"] }),
        json!({ "by": ["THEME"] }),
        json!({ "by": ["THEME"], "f": year }),
        json!({ "by": ["ORIENTATION", "MANAGEMENT_FOCUS"], "f": { "fromYear": 1990 } }),
        json!({ "by": ["BLOC"], "f": { "statuses": ["COMMITTED"] } }),
    ]
}

/// The cells holding the confidential practice's figures, and the total, as `who` reads them.
async fn figures(app: &TestApp, who: Option<&TestUser>, question: &Value) -> (Vec<Value>, Value) {
    let answer = app.graphql_as(who, GAPS, question.clone()).await;
    assert!(answer.get("errors").is_none(), "{question}: {answer}");
    let cells: Vec<Value> = answer["data"]["fundingGaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["requiredUsd"] == "1000000.00")
        .cloned()
        .collect();
    assert!(!cells.is_empty(), "{question}: {answer}");
    (cells, answer["data"]["fundingGapTotal"].clone())
}

#[tokio::test]
async fn aggregates_do_not_give_a_confidential_amount_away() {
    let app = app_with(&shared_base()).await;
    let admin = app.admin().await;
    let donor = |name: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let id = app.id_of("donors", name).await;
            app.user(admin, "DONOR", ("donorId", &id)).await
        }
    };
    let (x, y) = (donor("Donor X").await, donor("Donor Y").await);
    let a = app.id_of("cities", "Alkmaar").await;
    let of_a = app.user(&admin, "PRACTITIONER", ("cityId", &a)).await;
    let practice = app.id_of("practices", "Shared water works").await;
    for (amount, status) in [("123456.78", "COMMITTED"), ("77777", "PLEDGED")] {
        app.data_as(
            &x,
            "mutation($p: ID!, $a: Decimal!, $s: FundingStatus!) { recordFunding(input: { practiceId: $p, amount: $a, currency: \"USD\", year: 1999, status: $s, sourceType: GRANTS_LOANS, confidential: true }) { id } }",
            json!({ "p": practice, "a": amount, "s": status }),
        )
        .await;
    }

    // Whoever may not see the amounts: each counts rounded to two significant digits
    // (120,000 and 78,000), and nothing derived from the exact amounts shows anywhere.
    for question in questions() {
        for (who, caller) in [
            (None, "anonymous"),
            (Some(&y), "another donor"),
            (Some(&of_a), "a practitioner of the practice's city"),
        ] {
            let answer = app.graphql_as(who, GAPS, question.clone()).await;
            let text = answer.to_string();
            for exact in [
                "123456.78",
                "133456.78",
                "866543.22",
                "911543.22",
                "77777",
                "0.13345678",
                "0.12345678",
            ] {
                assert!(
                    !text.contains(exact),
                    "{caller}, {question}: {exact} in {text}"
                );
            }
            let (cells, total) = figures(&app, who, &question).await;
            for c in cells.iter().chain([&total]) {
                assert_eq!(c["disclosure"], "ROUNDED", "{caller}, {question}: {c}");
                assert_eq!(c["pledgedUsd"], "78000.00", "{caller}, {question}: {c}");
            }
            for c in &cells {
                assert_eq!(c["fundedUsd"], "130000.00", "{caller}, {question}: {c}");
                assert_eq!(c["gapUsd"], "870000.00", "{caller}, {question}: {c}");
                assert_eq!(c["coverage"], 0.13, "{caller}, {question}: {c}");
            }
            assert_eq!(total["fundedUsd"], "135000.00", "{caller}, {question}");
        }
    }

    // The donor owning every confidential record, and the secretariat, read them exactly.
    for question in questions() {
        for (who, caller) in [(&x, "the donor"), (&admin, "the secretariat")] {
            let (cells, total) = figures(&app, Some(who), &question).await;
            for c in &cells {
                assert_eq!(c["disclosure"], "EXACT", "{caller}, {question}: {c}");
                assert_eq!(c["fundedUsd"], "133456.78", "{caller}, {question}: {c}");
                assert_eq!(c["pledgedUsd"], "77777.00", "{caller}, {question}: {c}");
                assert_eq!(c["gapUsd"], "866543.22", "{caller}, {question}: {c}");
            }
            assert_eq!(total["fundedUsd"], "138456.78", "{caller}, {question}");
            assert_eq!(total["disclosure"], "EXACT", "{caller}, {question}");
        }
    }

    // A cell without confidential funding stays exact for everyone.
    let answer = app.data(GAPS, json!({ "by": ["THEME"] })).await;
    let housing = answer["fundingGaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"][0]["value"] == "HOUSING")
        .unwrap();
    assert_eq!(housing["disclosure"], "EXACT");
    assert_eq!(housing["fundedUsd"], "5000.00");
}
