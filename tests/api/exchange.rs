//! Exchange formats: the IATI 2.03 export (`GET /export/iati/activities.xml`), checked against
//! the standard's XML Schema (copied into `tests/iati/schema/`) with `xmllint`.

use std::path::PathBuf;
use std::process::Command;

use domain::actor::Role;
use serde_json::json;

use crate::helpers::{TestApp, TestUser, number_of};

const SCHEMA: &str = "tests/iati/schema/iati-activities-schema.xsd";

/// The export as `user` sees it (anonymous with `None`): status, whether it was sent in chunks,
/// and the body.
async fn export_as(app: &TestApp, user: Option<&TestUser>) -> (u16, bool, String) {
    let mut request = app
        .client
        .get(format!("{}/export/iati/activities.xml", app.address));
    if let Some(u) = user {
        request = request.bearer_auth(&u.access_token);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let chunked = response
        .headers()
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked");
    (status, chunked, response.text().await.expect("a body"))
}

/// `xmllint --schema` on `document`: `Some(output)` when it ran, `None` (said so) when the tool
/// is missing here; CI installs it.
fn validate(document: &str) -> Option<(bool, String)> {
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("skipping the schema check: xmllint is not installed (Debian: libxml2-utils)");
        return None;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("activities.xml");
    std::fs::write(&file, document).expect("export written");
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SCHEMA);
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint runs");
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

async fn first_practice(app: &TestApp) -> String {
    let data = app
        .data(
            "{ practices(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    data["practices"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("a seeded practice")
        .to_string()
}

/// A funding record of the signed-in donor on `practice`.
async fn record_funding(
    app: &TestApp,
    donor: &TestUser,
    practice: &str,
    amount: &str,
    confidential: bool,
) {
    app.data_as(
        donor,
        "mutation($p: ID!, $a: Decimal!, $c: Boolean!) { recordFunding(input: { practiceId: $p, amount: $a, currency: \"EUR\", year: 2003, status: COMMITTED, sourceType: GRANTS_LOANS, confidential: $c }) { id } }",
        json!({ "p": practice, "a": amount, "c": confidential }),
    )
    .await;
}

fn without_generated_datetime(document: &str) -> String {
    let start = document
        .find("generated-datetime=\"")
        .expect("the document says when it was generated");
    let end = start
        + document[start..]
            .find("\" ")
            .or_else(|| document[start..].find("\">"))
            .expect("the attribute ends");
    format!("{}{}", &document[..start], &document[end..])
}

#[tokio::test]
async fn the_export_of_the_seeded_base_validates_against_the_iati_schema() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let practice = first_practice(&app).await;
    record_funding(
        &app,
        app.user_of(Role::Donor),
        &practice,
        "250000.50",
        false,
    )
    .await;

    let (status, chunked, document) = export_as(&app, None).await;
    assert_eq!(status, 200, "{document}");
    assert!(chunked, "the export is streamed, not buffered");
    assert!(document.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(document.contains("<iati-activities version=\"2.03\""));
    assert_eq!(
        document.matches("<iati-activity ").count(),
        39,
        "every published practice of the seed"
    );
    // The funding record is a transaction with its original currency and year.
    assert!(
        document.contains("<transaction-type code=\"11\"/>")
            && document
                .contains("<value currency=\"EUR\" value-date=\"2003-01-01\">250000.5</value>"),
        "{document}"
    );
    // Themes in the Forum's vocabulary and as DAC sectors.
    assert!(document.contains("<sector vocabulary=\"99\" code=\"ENVIRONMENT\""));
    assert!(document.contains("<sector vocabulary=\"1\" code=\"41010\""));

    if let Some((valid, output)) = validate(&document) {
        assert!(valid, "xmllint refused the export: {output}");
    }
    // The check can fail: a document missing a required element is refused.
    let broken = document.replacen("<iati-identifier>", "<iati-identifer>", 1);
    let broken = broken.replacen("</iati-identifier>", "</iati-identifer>", 1);
    if let Some((valid, _)) = validate(&broken) {
        assert!(
            !valid,
            "xmllint accepted a document without an iati-identifier"
        );
    }
}

#[tokio::test]
async fn anonymous_export_omits_drafts_and_confidential_amounts() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Donor)
        .with_user(Role::Practitioner)
        .with_user(Role::Admin)
        .spawn()
        .await;
    let practitioner = app.user_of(Role::Practitioner);
    let city = app
        .data("{ cities(first: 1) { edges { node { id } } } }", json!({}))
        .await["cities"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.data_as(
        practitioner,
        "mutation($i: PracticeInput!) { createPractice(input: $i) { id status } }",
        json!({ "i": {
            "title": "Unpublished composting pilot",
            "themes": ["ENVIRONMENT"],
            "modality": "ONE_ON_ONE",
            "managementFocus": ["TECHNICAL_EXPERTISE"],
            "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"],
            "orientation": "GLOBAL",
            "cityIds": [city],
        } }),
    )
    .await;
    let practice = first_practice(&app).await;
    let donor = app.user_of(Role::Donor);
    record_funding(&app, donor, &practice, "777333.25", true).await;

    let (status, _, anonymous) = export_as(&app, None).await;
    assert_eq!(status, 200);
    assert!(!anonymous.contains("Unpublished composting pilot"));
    assert!(!anonymous.contains("777333.25"));
    assert_eq!(anonymous.matches("<iati-activity ").count(), 39);

    for (who, user, sees_draft, sees_amount) in [
        ("the draft's city", practitioner, true, false),
        ("the funding's donor", donor, false, true),
        ("the secretariat", app.user_of(Role::Admin), true, true),
    ] {
        let (status, _, document) = export_as(&app, Some(user)).await;
        assert_eq!(status, 200, "{who}");
        assert_eq!(
            document.contains("Unpublished composting pilot"),
            sees_draft,
            "{who}"
        );
        assert_eq!(document.contains("777333.25"), sees_amount, "{who}");
        if let Some((valid, output)) = validate(&document) {
            assert!(valid, "{who}: {output}");
        }
    }

    let response = app
        .client
        .get(format!("{}/export/iati/activities.xml", app.address))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn two_exports_of_the_same_base_are_identical_but_for_when_they_were_generated() {
    let app = TestApp::new().seeded().spawn().await;
    let (_, _, first) = export_as(&app, None).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, _, second) = export_as(&app, None).await;
    assert_eq!(
        without_generated_datetime(&first),
        without_generated_datetime(&second)
    );
    assert!(first.contains("generated-datetime=\""));
}

/// The IATI export at `query` (the part after `?`), anonymous: status and body.
async fn iati_at(app: &TestApp, query: &str) -> (u16, String) {
    let response = app
        .client
        .get(format!(
            "{}/export/iati/activities.xml?{query}",
            app.address
        ))
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// The practices' numbers of an IATI document, from their `iati-identifier`s (the reporting
/// organisation's identifier, a hyphen, the number), in document order.
fn activity_numbers(document: &str) -> Vec<String> {
    document
        .split("<iati-identifier>")
        .skip(1)
        .map(|rest| {
            let identifier = &rest[..rest.find("</iati-identifier>").expect("closed")];
            identifier.rsplit('-').next().expect("a number").to_string()
        })
        .collect()
}

/// The IATI export takes the practice filters of the CSV files, and selects the same practices
/// as `practices.csv` with them; a parameter it does not take is refused rather than answered
/// with the whole base.
#[tokio::test]
async fn the_iati_export_takes_the_practice_filters_of_the_csv_files() {
    let app = TestApp::new().seeded().spawn().await;
    let (_, _, whole) = export_as(&app, None).await;
    assert_eq!(activity_numbers(&whole).len(), 39);

    for filters in [
        "themes=ENVIRONMENT,HOUSING&countryCode=NL",
        "modality=ONE_ON_ONE",
        "text=water",
    ] {
        let (status, rows) = csv_as(&app, None, &format!("practices.csv?{filters}")).await;
        assert_eq!(status, 200, "{filters}");
        let expected: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
        assert!(
            !expected.is_empty() && expected.len() < 39,
            "{filters} selects some practices: {expected:?}"
        );
        let (status, document) = iati_at(&app, filters).await;
        assert_eq!(status, 200, "{filters}: {document}");
        assert_eq!(activity_numbers(&document), expected, "{filters}");
        if let Some((valid, output)) = validate(&document) {
            assert!(valid, "{filters}: {output}");
        }

        // `c2c-forum export iati --filter` writes the same practices.
        let filter = api::export::practice_filter(filters).expect("the filters parse");
        let options = api::export::options("XM-DAC-00000", chrono::Utc::now());
        let mut written = Vec::new();
        let count = api::export::write_iati(
            app.app().services().exchange(),
            &domain::Actor::Anonymous,
            filter,
            &options,
            &mut written,
        )
        .await
        .expect("the document written");
        let written = String::from_utf8(written).expect("UTF-8");
        assert_eq!(activity_numbers(&written), expected, "{filters}, written");
        assert_eq!(count as usize, expected.len());
    }
    assert!(matches!(
        api::export::practice_filter("themes=ENVIRONMENT&cityid=3"),
        Err(domain::Error::Validation { field, .. }) if field == "cityid"
    ));

    for (query, field) in [
        ("countrycode=NL", "countrycode"),
        ("hxl=1", "hxl"),
        ("themes=GARDENING", "themes"),
        ("activeInYear=soon", "activeInYear"),
    ] {
        let (status, body) = iati_at(&app, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
        assert_eq!(
            error["errors"][0]["extensions"]["code"], "VALIDATION",
            "{body}"
        );
        assert_eq!(error["errors"][0]["extensions"]["field"], field, "{body}");
    }

    // Nothing selected: the document without activities.
    let (status, none) = iati_at(&app, "countryCode=AQ").await;
    assert_eq!(status, 200, "{none}");
    assert!(activity_numbers(&none).is_empty());
    assert!(none.trim_end().ends_with("</iati-activities>"), "{none}");
}

// ---- CSV ----

/// A CSV export as `user` sees it: status and the parsed records (the header row first).
async fn csv_as(app: &TestApp, user: Option<&TestUser>, path: &str) -> (u16, Vec<Vec<String>>) {
    let mut request = app.client.get(format!("{}/export/{path}", app.address));
    if let Some(u) = user {
        request = request.bearer_auth(&u.access_token);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("a body");
    if status != 200 {
        return (
            status,
            vec![vec![String::from_utf8_lossy(&body).into_owned()]],
        );
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_ref());
    let records = reader
        .records()
        .map(|r| {
            r.expect("well-formed CSV")
                .iter()
                .map(String::from)
                .collect()
        })
        .collect();
    (status, records)
}

fn column(records: &[Vec<String>], name: &str) -> usize {
    records[0]
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", records[0]))
}

#[tokio::test]
async fn csv_lists_apply_the_graphql_filters_and_read_rules() {
    let app = TestApp::new().seeded().with_user(Role::Donor).spawn().await;

    let (status, all) = csv_as(&app, None, "practices.csv").await;
    assert_eq!(status, 200);
    assert_eq!(all[0][..3], ["id", "status", "title"]);
    assert_eq!(all.len() - 1, 39);

    // The same filter as the GraphQL list, the same rows.
    let listed = app
        .data(
            "{ practices(first: 100, filter: { themes: [ENVIRONMENT, HOUSING], countryCode: \"NL\" }) { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    let expected: Vec<String> = listed["practices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        // The files keep the records' numbers.
        .map(|e| number_of(e["node"]["id"].as_str().unwrap()).to_string())
        .collect();
    assert!(!expected.is_empty(), "the filter selects some practices");
    let (_, filtered) = csv_as(
        &app,
        None,
        "practices.csv?themes=ENVIRONMENT,HOUSING&countryCode=NL",
    )
    .await;
    let ids: Vec<String> = filtered[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, expected);

    // HXL hashtags in a second row.
    let (_, tagged) = csv_as(&app, None, "practices.csv?hxl=1&countryCode=NL").await;
    assert_eq!(tagged[1][0], "#activity+id");
    assert!(tagged[1].iter().all(|t| t.starts_with('#')));
    assert!(tagged[1].contains(&"#country+code".to_string()));
    assert_eq!(tagged.len(), filtered.len() + 1);

    // A confidential amount: empty for anyone but its donor.
    let practice = first_practice(&app).await;
    let donor = app.user_of(Role::Donor);
    record_funding(&app, donor, &practice, "4321.5", true).await;
    let find = |records: &[Vec<String>]| {
        let amount = column(records, "amount");
        let confidential = column(records, "confidential");
        records[1..]
            .iter()
            .find(|r| r[confidential] == "true")
            .map(|r| r[amount].clone())
    };
    let (_, tagged) = csv_as(&app, None, "funding.csv?hxl=1").await;
    assert_eq!(tagged[1][column(&tagged, "amount_usd")], "#value+usd");
    let (_, anonymous) = csv_as(&app, None, "funding.csv").await;
    assert_eq!(
        find(&anonymous),
        Some(String::new()),
        "the record exists, its amount is hidden"
    );
    let (_, own) = csv_as(&app, Some(donor), "funding.csv").await;
    assert_eq!(find(&own), Some("4321.5".to_string()));

    // Needs: the rows of the list.
    let count = app.data("{ needs { totalCount } }", json!({})).await["needs"]["totalCount"]
        .as_i64()
        .unwrap();
    let (_, needs) = csv_as(&app, None, "needs.csv").await;
    assert_eq!(needs.len() as i64 - 1, count);
    assert!(count > 0);

    // The funding-gap table: one row per cell, the same gaps as the question.
    let gaps = app
        .data(
            "{ fundingGaps(by: [THEME, ORIENTATION]) { key { value } gapUsd } }",
            json!({}),
        )
        .await;
    let cells = gaps["fundingGaps"].as_array().unwrap();
    let (_, table) = csv_as(&app, None, "funding-gaps.csv?by=THEME,ORIENTATION").await;
    assert_eq!(table[0][..2], ["theme", "orientation"]);
    assert_eq!(table.len() - 1, cells.len());
    let gap = column(&table, "gap_usd");
    for (row, cell) in table[1..].iter().zip(cells) {
        assert_eq!(row[0], cell["key"][0]["value"].as_str().unwrap());
        assert_eq!(row[1], cell["key"][1]["value"].as_str().unwrap());
        assert_eq!(row[gap], cell["gapUsd"].as_str().unwrap());
    }

    // Refused filters are errors with the field, not a whole unfiltered file.
    for (path, field) in [
        ("practices.csv?themes=GARDENING", "themes"),
        ("practices.csv?tehmes=HOUSING", "tehmes"),
        ("needs.csv?cityId=abc", "cityId"),
        ("needs.csv?updatedSince=yesterday", "updatedSince"),
        ("funding-gaps.csv", "by"),
    ] {
        let response = app
            .client
            .get(format!("{}/export/{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "VALIDATION",
            "{path}"
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{path}");
    }
}

/// The first practice and its version, as the secretariat reads it, to update it.
async fn first_practice_and_version(app: &TestApp, admin: &TestUser) -> (String, i64) {
    let practice = first_practice(app).await;
    let version = app
        .data_as(
            admin,
            "query($id: ID!) { practice(id: $id) { version } }",
            json!({ "id": practice }),
        )
        .await["practice"]["version"]
        .as_i64()
        .expect("a version");
    (practice, version)
}

#[tokio::test]
async fn csv_lists_take_updated_since_as_the_graphql_lists_do() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let (practice, version) = first_practice_and_version(&app, &admin).await;

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.data_as(
        &admin,
        "mutation($id: ID!, $v: Int!) { updatePractice(id: $id, version: $v, input: { summary: \"Revised\" }) { id } }",
        json!({ "id": practice, "v": version }),
    )
    .await;

    let listed = app
        .data(
            "query($t: DateTime) { practices(first: 100, filter: { updatedSince: $t }) { edges { node { id } } } }",
            json!({ "t": since }),
        )
        .await;
    let expected: Vec<String> = listed["practices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| number_of(e["node"]["id"].as_str().unwrap()).to_string())
        .collect();
    assert_eq!(expected.len(), 1, "{listed}");

    let (status, rows) = csv_as(&app, None, &format!("practices.csv?updatedSince={since}")).await;
    assert_eq!(status, 200, "{rows:?}");
    let ids: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, expected);
    let (_, all) = csv_as(&app, None, "practices.csv").await;
    assert!(
        all.len() > rows.len() + 1,
        "without the filter, every practice"
    );

    let (status, needs) = csv_as(&app, None, &format!("needs.csv?updatedSince={since}")).await;
    assert_eq!(status, 200);
    assert_eq!(needs.len(), 1, "no need was saved since: the header alone");
}

/// Text that a spreadsheet would take for a formula (`=`, `+`, `-`, `@` first) is written with
/// a leading `'`, so that opening a downloaded file runs nothing a record's author wrote;
/// numbers, codes and other text are written as they are.
#[tokio::test]
async fn csv_text_that_a_spreadsheet_would_run_is_written_as_text() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    let (practice, version) = first_practice_and_version(&app, &admin).await;
    app.data_as(
        &admin,
        "mutation($id: ID!, $v: Int!) { updatePractice(id: $id, version: $v, input: { title: \"=HYPERLINK(\\\"http://x.example\\\")\", summary: \"@SUM(A1:A9)\" }) { id } }",
        json!({ "id": practice, "v": version }),
    )
    .await;

    let (status, rows) = csv_as(&app, None, "practices.csv").await;
    assert_eq!(status, 200);
    let (title, summary) = (column(&rows, "title"), column(&rows, "summary"));
    let id = number_of(&practice).to_string();
    let row = rows
        .iter()
        .find(|r| r[0] == id)
        .expect("the practice's row");
    assert_eq!(row[title], "'=HYPERLINK(\"http://x.example\")");
    assert_eq!(row[summary], "'@SUM(A1:A9)");
    // Nothing else changes: no other title gains a quote.
    assert!(
        rows[1..]
            .iter()
            .filter(|r| r[0] != id)
            .all(|r| !r[title].starts_with('\'')),
        "{rows:?}"
    );
}

/// A signed-in caller's export holds what only they may read (drafts, confidential amounts):
/// no shared cache may keep it, and every export says that it differs by who asks.
#[tokio::test]
async fn exports_say_how_they_may_be_cached() {
    let app = TestApp::new().seeded().spawn().await;
    let admin = app.admin().await;
    for path in ["practices.csv", "funding.csv", "iati/activities.xml"] {
        let url = format!("{}/export/{path}", app.address);
        let signed_in = app
            .client
            .get(&url)
            .bearer_auth(&admin.access_token)
            .send()
            .await
            .expect("sent");
        assert_eq!(signed_in.status().as_u16(), 200, "{path}");
        let headers = signed_in.headers();
        assert_eq!(headers["cache-control"], "private, no-store", "{path}");
        assert!(
            headers["vary"].to_str().unwrap().contains("Authorization"),
            "{path}: {headers:?}"
        );
        let anonymous = app.client.get(&url).send().await.expect("sent");
        assert!(
            anonymous.headers()["vary"]
                .to_str()
                .unwrap()
                .contains("Authorization"),
            "{path}"
        );
        assert_ne!(
            anonymous
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("private, no-store"),
            "{path}"
        );
    }
}
