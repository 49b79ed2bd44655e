//! What a hostile client sends: inputs at and beyond every bound answer VALIDATION naming the
//! field, never INTERNAL and never a dropped connection.

use serde_json::{Value, json};

use domain::actor::Role;

use crate::helpers::{TestApp, error_code};

/// Amounts beyond `limits::MAX_AMOUNT`, and one whose USD cents would not fit a 64-bit integer.
const RECORD_FUNDING: &str = "mutation($a: Decimal!, $p: ID!) { recordFunding(input: { practiceId: $p, amount: $a, currency: \"USD\", status: PLEDGED, sourceType: OWN_BUDGET }) { id } }";

const HUGE: [&str; 3] = [
    "800000000000000000000000000",
    "92233720368547758.07",
    "1000000000000000.01",
];

#[tokio::test]
async fn amounts_beyond_the_maximum_are_refused_with_their_field() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let practice = app.id_of("practices", "Gulu").await;
    let city = app.id_of("cities", "Gulu").await;

    let attempts: [(&str, &str, Value, &str); 3] = [
        (RECORD_FUNDING, "p", json!(practice), "amount"),
        (
            "mutation($a: Decimal!, $p: ID!) { createNeed(input: { cityId: $p, title: \"Huge\", themes: [HEALTH], amountRequired: $a, amountRequiredCurrency: \"USD\" }) { id } }",
            "p",
            json!(city),
            "amountRequired",
        ),
        (
            "mutation($a: Decimal!, $p: String) { createSupportScheme(input: { name: \"Huge\", description: $p, budget: $a, budgetCurrency: \"USD\" }) { id } }",
            "p",
            Value::Null,
            "budget",
        ),
    ];
    for (mutation, key, value, field) in attempts {
        for amount in HUGE {
            let mut variables = json!({ "a": amount });
            variables[key] = value.clone();
            let r = app.graphql_as(Some(&admin), mutation, variables).await;
            assert_eq!(error_code(&r), "VALIDATION", "{field} = {amount}: {r}");
            assert_eq!(r["errors"][0]["extensions"]["field"], field, "{r}");
        }
    }

    // The maximum itself is an amount like any other.
    let r = app
        .graphql_as(
            Some(&admin),
            RECORD_FUNDING,
            json!({ "a": "1000000000000000", "p": practice }),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
}

#[tokio::test]
async fn nul_bytes_in_texts_are_refused_on_every_database() {
    let app = TestApp::new().seeded().spawn().await;
    for list in [
        "practices",
        "cities",
        "associations",
        "donors",
        "supportSchemes",
        "needs",
    ] {
        let query =
            format!("query($t: String) {{ {list}(filter: {{ text: $t }}) {{ totalCount }} }}");
        let r = app.graphql(&query, json!({ "t": "a\u{0}b" })).await;
        assert_eq!(error_code(&r), "VALIDATION", "{list}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], "text", "{list}: {r}");
    }
    let r = app
        .graphql(
            "mutation($e: String!) { login(email: $e, password: \"whatever-long\") { accessToken } }",
            json!({ "e": "a\u{0}@forum.example" }),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    let r = app
        .graphql(
            "mutation($e: String!) { register(input: { email: $e, password: \"long enough password\", name: \"N\", requestedRole: DONOR }) { id } }",
            json!({ "e": "a\u{0}@forum.example" }),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    let admin = app.admin().await;
    let r = app
        .graphql_as(
            Some(&admin),
            "mutation($n: String!) { createSupportScheme(input: { name: $n }) { id } }",
            json!({ "n": "Peer\u{0}review" }),
        )
        .await;
    assert_eq!(error_code(&r), "VALIDATION", "{r}");
    assert_eq!(r["errors"][0]["extensions"]["field"], "name", "{r}");
}

#[tokio::test]
async fn another_citys_draft_need_is_not_found_on_every_path() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .with_user(Role::SupportProvider)
        .spawn()
        .await;
    let city = app.user_of(Role::Practitioner);
    let provider = app.user_of(Role::SupportProvider);
    let data = app
        .data_as(
            city,
            "mutation { createNeed(input: { title: \"Landfill expertise\", themes: [ENVIRONMENT] }) { id version publicationStatus } }",
            json!({}),
        )
        .await;
    let need = &data["createNeed"];
    assert_eq!(need["publicationStatus"], "DRAFT");
    let id = need["id"].as_str().unwrap();

    // Neither the right version nor a wrong one tells the draft exists, and nothing changes.
    for version in [1, 99] {
        let r = app
            .graphql_as(
                Some(provider),
                "mutation($id: ID!, $v: Int!) { setNeedStatus(id: $id, version: $v, status: MATCHED) { title publicationStatus city { name } } }",
                json!({ "id": id, "v": version }),
            )
            .await;
        assert_eq!(error_code(&r), "NOT_FOUND", "version {version}: {r}");
        assert!(
            r["data"].is_null() || r["data"]["setNeedStatus"].is_null(),
            "{r}"
        );
    }
    let missing = app
        .graphql_as(
            Some(provider),
            "mutation { setNeedStatus(id: \"999999\", version: 1, status: MATCHED) { title } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");

    let data = app
        .data_as(
            city,
            "query($id: ID!) { need(id: $id) { status version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["need"]["status"], "OPEN");
    assert_eq!(data["need"]["version"], 1);
}

#[tokio::test]
async fn malformed_emails_and_blank_passwords_are_refused() {
    let app = TestApp::new().spawn().await;
    const REGISTER: &str = "mutation($e: String!, $p: String!) { register(input: { email: $e, password: $p, name: \"N\", requestedRole: DONOR }) { id } }";
    for (email, password, field) in [
        ("a@x..org", "long enough password", "email"),
        ("a@x.org.", "long enough password", "email"),
        ("ann@forum.example", "          ", "password"),
    ] {
        let r = app
            .graphql(REGISTER, json!({ "e": email, "p": password }))
            .await;
        assert_eq!(error_code(&r), "VALIDATION", "{email:?} {password:?}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{r}");
    }
}
