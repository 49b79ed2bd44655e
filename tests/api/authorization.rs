//! Who may change what (README: "Accounts and roles"), from one table: every mutation of the
//! schema × every kind of caller, with the exact outcome. A mutation without a row fails the test.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, spawn_app};

/// The callers, in the order of the expectation strings below.
const ACTORS: [&str; 9] = [
    "anonymous",
    "pending user",
    "practitioner of the record's city",
    "practitioner of another city",
    "support provider of the operating association",
    "support provider of another association",
    "donor who is the source",
    "another donor",
    "admin",
];

/// One row per mutation; one letter per caller in `ACTORS` order:
/// O = succeeds, U = UNAUTHENTICATED, F = FORBIDDEN, N = NOT_FOUND (a record the caller may not
/// read, such as another city's draft need, is not told to exist), V = VALIDATION (past
/// authorization, refused on its input: `changePassword` is sent with a wrong current password,
/// since a success would end the caller's sign-ins for the rows after it; successes are in
/// accounts_admin.rs). The rows after
/// `archivePractice` work on the archived practice, which only its cities, its associations and
/// the secretariat still read: funding and links to it are NOT_FOUND for everyone else.
const MATRIX: &[(&str, &str)] = &[
    ("register", "OOOOOOOOO"),
    ("login", "OOOOOOOOO"),
    ("refresh", "OOOOOOOOO"),
    ("logout", "OOOOOOOOO"),
    ("approveUser", "UFFFFFFFO"),
    ("disableUser", "UFFFFFFFO"),
    ("enableUser", "UFFFFFFFO"),
    ("changePassword", "UVVVVVVVV"),
    ("resetPassword", "OOOOOOOOO"),
    ("createPractice", "UFOFFFFFO"),
    ("updatePractice", "UFOFFFFFO"),
    ("publishPractice", "UFOFFFFFO"),
    ("archivePractice", "UFONFNNNO"),
    ("createSupportScheme", "UFFFOOFFO"),
    ("updateSupportScheme", "UFNNONNNO"),
    ("publishSupportScheme", "UFNNOFFFO"),
    ("linkSchemeToPractice", "UFFNONNNO"),
    ("recordFunding", "UFONFNNNO"),
    ("updateFunding", "UFFNFNNNO"),
    ("createNeed", "UFOFFFFFO"),
    ("updateNeed", "UFONNNNNO"),
    ("publishNeed", "UFOFFFFFO"),
    ("setNeedStatus", "UFOFOOFFO"),
    ("createCity", "UFOOOOFFO"),
    ("updateCity", "UFOFFFFFO"),
    ("updateAssociation", "UFFFOFFFO"),
    ("updateDonor", "UFFFFFOFO"),
    ("setCurrencyRate", "UFFFFFFFO"),
    ("importIati", "UFFFFFFFO"),
];

/// Donors record grants from themselves: a second funding row, with a donor's source type.
const DONOR_FUNDING: (&str, &str) = ("recordFunding(grant)", "UFFNFNNNO");

struct Fixture {
    callers: Vec<Option<TestUser>>,
    admin: TestUser,
    haarlem: String,
    mutare: String,
    vng: String,
    netherlands_mfa: String,
    practice: String,
    scheme: String,
    funding: String,
    need: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.admin().await;
    let haarlem = app.id_of("cities", "Haarlem").await;
    let mutare = app.id_of("cities", "Mutare").await;
    let birmingham = app.id_of("cities", "Birmingham").await;
    let vng = app
        .id_of("associations", "Vereniging van Nederlandse Gemeenten")
        .await;
    let icma = app.id_of("associations", "City/County Management").await;
    let netherlands_mfa = app.id_of("donors", "Netherlands Ministry").await;
    let usaid = app.id_of("donors", "USAID").await;
    let practice = app.id_of("practices", "waste management in Mutare").await;

    let (_, pending_email) = app
        .register("PRACTITIONER", Some(("cityId", &haarlem)))
        .await;
    let pending = app.login(&pending_email).await;
    let prac_own = app.user(&admin, "PRACTITIONER", ("cityId", &haarlem)).await;
    let prac_other = app
        .user(&admin, "PRACTITIONER", ("cityId", &birmingham))
        .await;
    let sp_own = app
        .user(&admin, "SUPPORT_PROVIDER", ("associationId", &vng))
        .await;
    let sp_other = app
        .user(&admin, "SUPPORT_PROVIDER", ("associationId", &icma))
        .await;
    let donor_src = app
        .user(&admin, "DONOR", ("donorId", &netherlands_mfa))
        .await;
    let donor_other = app.user(&admin, "DONOR", ("donorId", &usaid)).await;

    let scheme = app
        .data_as(&sp_own, "mutation { createSupportScheme(input: { name: \"Municipal exchange\", themes: [ENVIRONMENT] }) { id } }", json!({}))
        .await["createSupportScheme"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let funding = app
        .data_as(
            &donor_src,
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"250000\", currency: \"NLG\", status: COMMITTED, sourceType: GRANTS_LOANS, year: 1998 }) { id } }",
            json!({ "p": practice }),
        )
        .await["recordFunding"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let need = app
        .data_as(&prac_own, "mutation { createNeed(input: { title: \"Landfill expertise\", themes: [ENVIRONMENT] }) { id } }", json!({}))
        .await["createNeed"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    Fixture {
        callers: vec![
            None,
            Some(pending),
            Some(prac_own),
            Some(prac_other),
            Some(sp_own),
            Some(sp_other),
            Some(donor_src),
            Some(donor_other),
            Some(admin.clone()),
        ],
        admin,
        haarlem,
        mutare,
        vng,
        netherlands_mfa,
        practice,
        scheme,
        funding,
        need,
    }
}

/// The current version of a record, read by the admin (who sees drafts too).
async fn version(app: &TestApp, fx: &Fixture, field: &str, id: &str) -> i64 {
    let query = format!("query($id: ID!) {{ {field}(id: $id) {{ version }} }}");
    app.data_as(&fx.admin, &query, json!({ "id": id })).await[field]["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} {id} has a version"))
}

async fn audit_total(app: &TestApp, fx: &Fixture) -> i64 {
    app.data_as(
        &fx.admin,
        "{ auditLog(first: 1) { totalCount } }",
        json!({}),
    )
    .await["auditLog"]["totalCount"]
        .as_i64()
        .unwrap()
}

/// The request a row sends; built fresh for each caller (current versions, fresh emails and
/// refresh tokens).
async fn request(
    app: &TestApp,
    fx: &Fixture,
    mutation: &str,
    caller: Option<&TestUser>,
) -> (String, Value) {
    let p = &fx.practice;
    match mutation {
        "register" => (
            "mutation($e: String!) { register(input: { email: $e, password: \"a long enough secret\", name: \"N\", requestedRole: DONOR, donorId: \"1\" }) { id } }".into(),
            json!({ "e": format!("new-{}@forum.example", uuid::Uuid::new_v4().simple()) }),
        ),
        "login" => {
            let (_, email) = app.register("PRACTITIONER", Some(("cityId", &fx.haarlem))).await;
            ("mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }".into(), json!({ "e": email, "p": PASSWORD }))
        }
        "refresh" => {
            let (_, email) = app.register("PRACTITIONER", Some(("cityId", &fx.haarlem))).await;
            let session = app.login(&email).await;
            ("mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }".into(), json!({ "t": session.refresh_token }))
        }
        "logout" => {
            let token = caller.map(|c| c.refresh_token.clone()).unwrap_or_else(|| "no-such-token".into());
            // Logging out the caller's own session would sign it out of the rest of the matrix.
            let token = if caller.is_some() { format!("{token}-other") } else { token };
            ("mutation($t: String!) { logout(refreshToken: $t) }".into(), json!({ "t": token }))
        }
        "approveUser" => {
            let (id, _) = app.register("PRACTITIONER", Some(("cityId", &fx.haarlem))).await;
            ("mutation($id: ID!) { approveUser(userId: $id) { id } }".into(), json!({ "id": id }))
        }
        "disableUser" => {
            let (id, _) = unthrottled_account(app).await;
            ("mutation($id: ID!) { disableUser(userId: $id) { id } }".into(), json!({ "id": id }))
        }
        "enableUser" => {
            let (id, _) = unthrottled_account(app).await;
            app.data_as(&fx.admin, "mutation($id: ID!) { disableUser(userId: $id) { id } }", json!({ "id": id })).await;
            ("mutation($id: ID!) { enableUser(userId: $id) { id } }".into(), json!({ "id": id }))
        }
        "changePassword" => (
            "mutation { changePassword(currentPassword: \"not the password\", newPassword: \"a long enough secret\") { accessToken } }".into(),
            json!({}),
        ),
        "resetPassword" => {
            let (_, email) = unthrottled_account(app).await;
            let (token, _) = app
                .services()
                .accounts()
                .issue_reset_token(&email, domain::account::RESET_TOKEN_LIFETIME)
                .await
                .expect("a reset token");
            ("mutation($t: String!) { resetPassword(token: $t, newPassword: \"a long enough secret\") }".into(), json!({ "t": token }))
        }
        // Sent as a multipart upload of [`EMPTY_IATI`] by the test below.
        "importIati" => (
            "mutation($file: Upload!) { importIati(file: $file) { created } }".into(),
            json!({}),
        ),
        "createPractice" => (
            "mutation($c: [ID!]) { createPractice(input: { title: \"Composting pilot\", themes: [ENVIRONMENT], modality: ONE_ON_ONE, managementFocus: [TECHNICAL_EXPERTISE], cooperatingParties: [LOCAL_AUTHORITY_SERVICES], cityIds: $c }) { id } }".into(),
            json!({ "c": [fx.haarlem, fx.mutare] }),
        ),
        "updatePractice" => (
            "mutation($id: ID!, $v: Int!) { updatePractice(id: $id, version: $v, input: { summary: \"Updated\" }) { id } }".into(),
            json!({ "id": p, "v": version(app, fx, "practice", p).await }),
        ),
        "publishPractice" => (
            "mutation($id: ID!, $v: Int!) { publishPractice(id: $id, version: $v) { id } }".into(),
            json!({ "id": p, "v": version(app, fx, "practice", p).await }),
        ),
        "archivePractice" => (
            "mutation($id: ID!, $v: Int!) { archivePractice(id: $id, version: $v) { id } }".into(),
            json!({ "id": p, "v": version(app, fx, "practice", p).await }),
        ),
        "createSupportScheme" => ("mutation { createSupportScheme(input: { name: \"Peer review\" }) { id } }".into(), json!({})),
        "updateSupportScheme" => (
            "mutation($id: ID!, $v: Int!) { updateSupportScheme(id: $id, version: $v, input: { openForApplications: true }) { id } }".into(),
            json!({ "id": fx.scheme, "v": version(app, fx, "supportScheme", &fx.scheme).await }),
        ),
        "publishSupportScheme" => (
            "mutation($id: ID!, $v: Int!) { publishSupportScheme(id: $id, version: $v) { id } }".into(),
            json!({ "id": fx.scheme, "v": version(app, fx, "supportScheme", &fx.scheme).await }),
        ),
        "linkSchemeToPractice" => (
            "mutation($s: ID!, $p: ID!) { linkSchemeToPractice(schemeId: $s, practiceId: $p) }".into(),
            json!({ "s": fx.scheme, "p": p }),
        ),
        "recordFunding" => (
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"1000\", currency: \"EUR\", status: DISBURSED, sourceType: OWN_BUDGET }) { id } }".into(),
            json!({ "p": p }),
        ),
        "recordFunding(grant)" => (
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"5000\", currency: \"USD\", status: PLEDGED, sourceType: GRANTS_LOANS }) { id } }".into(),
            json!({ "p": p }),
        ),
        "updateFunding" => (
            "mutation($id: ID!, $v: Int!) { updateFunding(id: $id, version: $v, input: { status: DISBURSED }) { id } }".into(),
            json!({ "id": fx.funding, "v": funding_version(app, fx).await }),
        ),
        "createNeed" => (
            "mutation($c: ID!) { createNeed(input: { cityId: $c, title: \"Billing system\", themes: [MUNICIPAL_FINANCE] }) { id } }".into(),
            json!({ "c": fx.haarlem }),
        ),
        "updateNeed" => (
            "mutation($id: ID!, $v: Int!) { updateNeed(id: $id, version: $v, input: { description: \"More detail\" }) { id } }".into(),
            json!({ "id": fx.need, "v": version(app, fx, "need", &fx.need).await }),
        ),
        "publishNeed" => (
            "mutation($id: ID!, $v: Int!) { publishNeed(id: $id, version: $v) { id } }".into(),
            json!({ "id": fx.need, "v": version(app, fx, "need", &fx.need).await }),
        ),
        "setNeedStatus" => (
            "mutation($id: ID!, $v: Int!) { setNeedStatus(id: $id, version: $v, status: MATCHED) { id } }".into(),
            json!({ "id": fx.need, "v": version(app, fx, "need", &fx.need).await }),
        ),
        "createCity" => ("mutation { createCity(input: { name: \"Gouda\", countryCode: \"NL\", kind: MUNICIPALITY }) { id } }".into(), json!({})),
        "updateCity" => (
            "mutation($id: ID!, $v: Int!) { updateCity(id: $id, version: $v, input: { population: 162000 }) { id } }".into(),
            json!({ "id": fx.haarlem, "v": version(app, fx, "city", &fx.haarlem).await }),
        ),
        "updateAssociation" => (
            "mutation($id: ID!, $v: Int!) { updateAssociation(id: $id, version: $v, input: { acronym: \"VNG\" }) { id } }".into(),
            json!({ "id": fx.vng, "v": version(app, fx, "association", &fx.vng).await }),
        ),
        "updateDonor" => (
            "mutation($id: ID!, $v: Int!) { updateDonor(id: $id, version: $v, input: { agenda: { themes: [ENVIRONMENT, HOUSING] } }) { id } }".into(),
            json!({ "id": fx.netherlands_mfa, "v": version(app, fx, "donor", &fx.netherlands_mfa).await }),
        ),
        "setCurrencyRate" => (
            "mutation { setCurrencyRate(currency: \"CHF\", usdPerUnit: \"1.13\", asOf: \"2025-06-30\", source: \"reference rate\") { currency } }".into(),
            json!({}),
        ),
        other => panic!("the authorization matrix has no request for mutation {other}"),
    }
}

/// An account made as the command line makes one, not counted against the registrations one
/// client address may make (the matrix makes many): its id and email.
async fn unthrottled_account(app: &TestApp) -> (String, String) {
    let email = format!("made-{}@forum.example", uuid::Uuid::new_v4().simple());
    let user = app
        .services()
        .accounts()
        .create_active(&email, PASSWORD, "N", domain::actor::Role::Admin, None)
        .await
        .expect("an account");
    (user.id.to_string(), email)
}

async fn funding_version(app: &TestApp, fx: &Fixture) -> i64 {
    let data = app
        .data_as(
            &fx.admin,
            "query($id: ID!) { practice(id: $id) { funding(first: 100) { nodes { id version } } } }",
            json!({ "id": fx.practice }),
        )
        .await;
    data["practice"]["funding"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == fx.funding.as_str())
        .expect("the fixture's funding")["version"]
        .as_i64()
        .unwrap()
}

/// An IATI file without activities: the import runs and has nothing to write.
const EMPTY_IATI: &str = r#"<?xml version="1.0" encoding="UTF-8"?><iati-activities version="2.03" generated-datetime="2026-01-01T00:00:00Z"></iati-activities>"#;

/// Every successful mutation leaves one audit entry, sign-in events included; the matrix logs out
/// tokens that do not exist, and imports a file without activities, which change nothing and so
/// leave none.
fn audited(mutation: &str) -> bool {
    mutation != "logout" && mutation != "importIati"
}

#[tokio::test]
async fn every_mutation_answers_every_kind_of_caller_as_the_design_says() {
    let app = spawn_app().await;

    // The table covers the schema: a new mutation without a row fails here.
    let schema = app
        .data(
            "{ __type(name: \"Mutation\") { fields { name } } }",
            json!({}),
        )
        .await;
    let mut in_schema: Vec<String> = schema["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let mut in_table: Vec<String> = MATRIX.iter().map(|(m, _)| m.to_string()).collect();
    in_schema.sort();
    in_table.sort();
    assert_eq!(
        in_schema, in_table,
        "every mutation needs a row in the authorization matrix"
    );

    let fx = fixture(&app).await;
    let mut failures = Vec::new();
    for (mutation, expected) in MATRIX.iter().chain(std::iter::once(&DONOR_FUNDING)) {
        for (i, outcome) in expected.chars().enumerate() {
            let caller = fx.callers[i].as_ref();
            let (query, vars) = request(&app, &fx, mutation, caller).await;
            let before = audit_total(&app, &fx).await;
            let response = if *mutation == "importIati" {
                app.upload_as(caller, &query, EMPTY_IATI.as_bytes(), true)
                    .await
                    .1
            } else {
                app.graphql_as(caller, &query, vars).await
            };
            let after = audit_total(&app, &fx).await;
            let got = match response["errors"][0]["extensions"]["code"].as_str() {
                None if response.get("errors").is_none() => "O".to_string(),
                Some("UNAUTHENTICATED") => "U".into(),
                Some("FORBIDDEN") => "F".into(),
                Some("NOT_FOUND") => "N".into(),
                Some("VALIDATION") => "V".into(),
                other => format!("{other:?}: {}", response["errors"]),
            };
            if got != outcome.to_string() {
                failures.push(format!(
                    "{mutation} by {}: expected {outcome}, got {got}",
                    ACTORS[i]
                ));
            }
            let written = after - before;
            let expected_entries = if outcome == 'O' && audited(mutation.split('(').next().unwrap())
            {
                1
            } else {
                0
            };
            if written != expected_entries {
                failures.push(format!(
                    "{mutation} by {}: {written} audit entries, expected {expected_entries}",
                    ACTORS[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
