//! The mutations that take the id of a record to attach to or change: one the caller may not
//! read is NOT_FOUND, as a missing one is, before anything else is said about it.

use serde_json::{Value, json};

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{TestApp, TestUser, number_of};

const CREATE_DRAFT_PRACTICE: &str = "mutation($c: [ID!]) { createPractice(input: { title: \"Hidden draft\", themes: [ENVIRONMENT], modality: ONE_ON_ONE, managementFocus: [TECHNICAL_EXPERTISE], cooperatingParties: [LOCAL_AUTHORITY_SERVICES], orientation: SOUTH_SOUTH, cityIds: $c }) { id } }";
const RECORD_ON_PRACTICE: &str = "mutation($p: ID!, $s: FundingSource!) { recordFunding(input: { practiceId: $p, amount: \"1000\", currency: \"USD\", year: 2001, status: PLEDGED, sourceType: $s }) { id amount } }";
const RECORD_ON_SCHEME: &str = "mutation($s: ID!) { recordFunding(input: { schemeId: $s, amount: \"1000\", currency: \"USD\", year: 2001, status: PLEDGED, sourceType: GRANTS_LOANS }) { id amount } }";
const LINK: &str =
    "mutation($s: ID!, $p: ID!) { linkSchemeToPractice(schemeId: $s, practiceId: $p) }";
const UPDATE_FUNDING: &str = "mutation($id: ID!, $v: Int!) { updateFunding(id: $id, version: $v, input: { note: \"touch\" }) { id amount } }";
/// An id no record has.
const MISSING: &str = "987654";

fn id(data: &Value, field: &str) -> String {
    data[field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{field} has an id: {data}"))
        .to_string()
}

/// Each request must answer NOT_FOUND, and change nothing.
async fn assert_not_found(app: &TestApp, user: &TestUser, cases: &[(&str, &str, Value)]) {
    let mut failures = Vec::new();
    for (what, query, vars) in cases {
        let r = app.graphql_as(Some(user), query, vars.clone()).await;
        let code = r["errors"][0]["extensions"]["code"].as_str();
        if code != Some("NOT_FOUND") {
            failures.push(format!("{what}: {r}"));
        }
    }
    assert!(
        failures.is_empty(),
        "not NOT_FOUND:\n{}",
        failures.join("\n")
    );
}

/// The single number `sql` counts, read from the app's database directly.
async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = app.database().await;
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("count")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

struct Drafts {
    admin: TestUser,
    haarlem: String,
    vng: String,
    /// A DRAFT practice of Mutare only.
    practice: String,
    /// A DRAFT scheme operated by ICMA.
    scheme: String,
}

async fn drafts(app: &TestApp) -> Drafts {
    let admin = app.admin().await;
    let haarlem = app.id_of("cities", "Haarlem").await;
    let mutare = app.id_of("cities", "Mutare").await;
    let vng = app
        .id_of("associations", "Vereniging van Nederlandse Gemeenten")
        .await;
    let icma = app.id_of("associations", "City/County Management").await;
    let practice = id(
        &app.data_as(&admin, CREATE_DRAFT_PRACTICE, json!({ "c": [mutare] }))
            .await,
        "createPractice",
    );
    let icma_provider = app
        .user(&admin, "SUPPORT_PROVIDER", ("associationId", &icma))
        .await;
    let scheme = id(
        &app.data_as(
            &icma_provider,
            "mutation { createSupportScheme(input: { name: \"ICMA draft\" }) { id } }",
            json!({}),
        )
        .await,
        "createSupportScheme",
    );
    Drafts {
        admin,
        haarlem,
        vng,
        practice,
        scheme,
    }
}

#[tokio::test]
async fn funding_cannot_be_recorded_on_a_draft_the_caller_may_not_read() {
    let app = TestApp::new().seeded().spawn().await;
    let d = drafts(&app).await;
    let practitioner = app
        .user(&d.admin, "PRACTITIONER", ("cityId", &d.haarlem))
        .await;
    let netherlands = app.id_of("donors", "Netherlands Ministry").await;
    let donor = app.user(&d.admin, "DONOR", ("donorId", &netherlands)).await;
    let on_practice = |p: &str, source: &str| json!({ "p": p, "s": source });

    assert_not_found(
        &app,
        &practitioner,
        &[
            (
                "own budget on another city's draft",
                RECORD_ON_PRACTICE,
                on_practice(&d.practice, "OWN_BUDGET"),
            ),
            (
                "own budget on a missing practice",
                RECORD_ON_PRACTICE,
                on_practice(MISSING, "OWN_BUDGET"),
            ),
        ],
    )
    .await;
    assert_not_found(
        &app,
        &donor,
        &[
            (
                "a grant to another city's draft",
                RECORD_ON_PRACTICE,
                on_practice(&d.practice, "GRANTS_LOANS"),
            ),
            (
                "a grant to a missing practice",
                RECORD_ON_PRACTICE,
                on_practice(MISSING, "GRANTS_LOANS"),
            ),
            (
                "a grant to another operator's draft scheme",
                RECORD_ON_SCHEME,
                json!({ "s": d.scheme }),
            ),
            (
                "a grant to a missing scheme",
                RECORD_ON_SCHEME,
                json!({ "s": MISSING }),
            ),
        ],
    )
    .await;

    let recorded = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM funding WHERE practice_id = {} OR scheme_id = {}",
            number_of(&d.practice),
            number_of(&d.scheme)
        ),
    )
    .await;
    assert_eq!(recorded, 0, "nothing was recorded");
}

#[tokio::test]
async fn funding_of_a_draft_the_caller_may_not_read_cannot_be_changed() {
    let app = TestApp::new().seeded().spawn().await;
    let d = drafts(&app).await;
    let netherlands = app.id_of("donors", "Netherlands Ministry").await;
    let donor = app.user(&d.admin, "DONOR", ("donorId", &netherlands)).await;
    // The secretariat records the donor's grants to drafts the donor cannot read.
    let mut cases = Vec::new();
    for (what, input) in [
        ("practice", json!({ "practiceId": d.practice })),
        ("scheme", json!({ "schemeId": d.scheme })),
    ] {
        let mut input = input;
        for (k, v) in [
            ("donorId", json!(netherlands)),
            ("amount", json!("500")),
            ("currency", json!("USD")),
            ("year", json!(2001)),
            ("status", json!("PLEDGED")),
            ("sourceType", json!("GRANTS_LOANS")),
            ("confidential", json!(true)),
        ] {
            input[k] = v;
        }
        let created = app
            .data_as(
                &d.admin,
                "mutation($i: FundingInput!) { recordFunding(input: $i) { id version } }",
                json!({ "i": input }),
            )
            .await;
        let f = id(&created, "recordFunding");
        cases.push((
            format!("funding of a hidden draft {what}"),
            json!({ "id": f, "v": 1 }),
        ));
        // A stale version must not tell a hidden record from a missing one either.
        cases.push((
            format!("funding of a hidden draft {what}, stale version"),
            json!({ "id": f, "v": 7 }),
        ));
    }
    cases.push(("missing funding".into(), json!({ "id": MISSING, "v": 1 })));
    let cases: Vec<(&str, &str, Value)> = cases
        .iter()
        .map(|(w, v)| (w.as_str(), UPDATE_FUNDING, v.clone()))
        .collect();
    assert_not_found(&app, &donor, &cases).await;
}

#[tokio::test]
async fn a_scheme_cannot_be_linked_to_a_draft_the_caller_may_not_read() {
    let app = TestApp::new().seeded().spawn().await;
    let d = drafts(&app).await;
    let provider = app
        .user(&d.admin, "SUPPORT_PROVIDER", ("associationId", &d.vng))
        .await;
    let own = id(
        &app.data_as(
            &provider,
            "mutation { createSupportScheme(input: { name: \"VNG exchange\" }) { id } }",
            json!({}),
        )
        .await,
        "createSupportScheme",
    );
    let published = app.id_of("practices", "waste management in Mutare").await;
    assert_not_found(
        &app,
        &provider,
        &[
            (
                "own scheme to another city's draft practice",
                LINK,
                json!({ "s": own, "p": d.practice }),
            ),
            (
                "own scheme to a missing practice",
                LINK,
                json!({ "s": own, "p": MISSING }),
            ),
            (
                "another operator's draft scheme to a published practice",
                LINK,
                json!({ "s": d.scheme, "p": published }),
            ),
            (
                "another operator's draft scheme to a hidden draft",
                LINK,
                json!({ "s": d.scheme, "p": d.practice }),
            ),
        ],
    )
    .await;
    let linked = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM practice_scheme WHERE practice_id = {} OR scheme_id = {}",
            number_of(&d.practice),
            number_of(&d.scheme)
        ),
    )
    .await;
    assert_eq!(linked, 0, "nothing was linked");
    // The own scheme still links to what the provider can read.
    let r = app
        .graphql_as(Some(&provider), LINK, json!({ "s": own, "p": published }))
        .await;
    assert!(r.get("errors").is_none(), "{r}");
}

// ---- concurrent writes ----
