//! The IATI 2.03 import (`c2c-forum import iati`), through the library the command calls: the
//! standard's conformance fixtures (copied into `tests/iati/fixtures/`), whole-or-nothing
//! files, idempotence, and a round trip through the export.

use std::path::{Path, PathBuf};

use api::import::{ImportReport, actor_by_email, import_iati};
use domain::Actor;
use domain::actor::Role;
use domain::exchange::import::{Activity, ActivityReader, Read};
use serde_json::json;

use crate::helpers::{Seed, TestApp, TestUser, error_code, spawn_app_with};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("fixture folder") {
            let path = entry.expect("fixture entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "xml") {
                out.push(path);
            }
        }
    }
    let mut out = vec![];
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/iati/fixtures")
            .join(kind),
        &mut out,
    );
    out.sort();
    out
}

async fn admin_actor(app: &TestApp) -> (TestUser, Actor) {
    let admin = app.admin().await;
    let actor = actor_by_email(app.app(), &admin.email)
        .await
        .expect("the admin acts");
    (admin, actor)
}

async fn import(app: &TestApp, actor: &Actor, document: &[u8]) -> domain::Result<ImportReport> {
    import_iati(app.app(), actor, document, &|_| {}).await
}

async fn count(app: &TestApp, admin: &TestUser, list: &str) -> i64 {
    let data = app
        .data_as(
            admin,
            &format!("{{ {list}(first: 1) {{ totalCount }} }}"),
            json!({}),
        )
        .await;
    data[list]["totalCount"].as_i64().expect("a count")
}

async fn audit_entries(app: &TestApp, admin: &TestUser) -> i64 {
    let data = app
        .data_as(admin, "{ auditLog(first: 1) { totalCount } }", json!({}))
        .await;
    data["auditLog"]["totalCount"].as_i64().expect("a count")
}

#[tokio::test]
async fn every_valid_document_of_the_standard_imports_or_is_skipped_with_a_reason() {
    let app = spawn_app_with(Seed::Nothing).await;
    let (_, actor) = admin_actor(&app).await;
    let files = fixtures("should-pass");
    assert!(files.len() >= 40);
    let mut imported = 0;
    for (n, file) in files.iter().enumerate() {
        let document = std::fs::read_to_string(file).expect("fixture");
        // The fixtures leave the identifier empty, which no practice can be keyed by; given
        // one, the rest of the document is what is tried.
        let identified = document.replace(
            "<iati-identifier></iati-identifier>",
            &format!("<iati-identifier>XM-FIXTURE-{n}</iati-identifier>"),
        );
        for document in [document, identified] {
            let report = import(&app, &actor, document.as_bytes())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for s in &report.skipped {
                assert!(
                    s.line > 1 && !s.reason.is_empty(),
                    "{}: {s:?}",
                    file.display()
                );
            }
            imported += report.created.len() + report.updated.len() + report.unchanged.len();
        }
    }
    assert!(imported > 0, "no fixture made a practice");
}

#[tokio::test]
async fn invalid_documents_that_break_the_import_are_refused_naming_the_element() {
    let app = spawn_app_with(Seed::Nothing).await;
    let (admin, actor) = admin_actor(&app).await;
    for file in fixtures("should-fail") {
        let document = std::fs::read(&file).expect("fixture");
        match import(&app, &actor, &document).await {
            Ok(report) => {
                assert!(
                    report.created.is_empty() && !report.skipped.is_empty(),
                    "{}: {report:?}",
                    file.display()
                );
                for s in &report.skipped {
                    assert!(s.reason.contains('<'), "{}: {s:?}", file.display());
                }
            }
            Err(e) => assert!(
                e.to_string().contains("iati-activities"),
                "{}: {e}",
                file.display()
            ),
        }
    }
    assert_eq!(count(&app, &admin, "practices").await, 0);
}

const TWO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<iati-activities version="2.03">
  <iati-activity default-currency="NLG">
    <iati-identifier>XM-TEST-1</iati-identifier>
    <title><narrative>Twinning Delft and Estelí</narrative></title>
    <participating-org role="1" type="10" ref="XM-DAC-7"><narrative>Netherlands Ministry</narrative></participating-org>
    <activity-date type="2" iso-date="1995-01-01"/>
    <recipient-country code="NI"/>
    <location><name><narrative>Estelí</narrative></name></location>
    <sector vocabulary="1" code="41010"/>
    <sector vocabulary="1" code="11220"/>
    <transaction>
      <transaction-type code="11"/>
      <transaction-date iso-date="1996-01-01"/>
      <value value-date="1996-01-01">250000</value>
    </transaction>
    <result type="2"><title><narrative>Wells dug</narrative></title>
      <indicator measure="1"><title><narrative>Wells</narrative></title>
        <baseline year="1995" value="0"/>
      </indicator>
    </result>
  </iati-activity>
  <iati-activity>
    <iati-identifier>XM-TEST-2</iati-identifier>
    <title><narrative>No title twice</narrative></title>
    <title><narrative>Second title</narrative></title>
  </iati-activity>
</iati-activities>"#;

#[tokio::test]
async fn an_activity_becomes_a_draft_practice_with_its_city_donor_funding_and_indicator() {
    let app = TestApp::new().spawn().await;
    let (admin, actor) = admin_actor(&app).await;
    let report = import(&app, &actor, TWO.as_bytes())
        .await
        .expect("imported");
    assert_eq!(report.created, vec!["XM-TEST-1".to_string()]);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].line, 23);
    assert!(report.skipped[0].reason.contains("<title>"));
    assert_eq!(report.cities_created, vec!["Estelí (NI)".to_string()]);
    assert_eq!(
        report.donors_created,
        vec!["Netherlands Ministry".to_string()]
    );
    assert!(report.unmapped.iter().any(|u| u.contains("11220")));

    let data = app
        .data_as(
            &admin,
            "{ practices(first: 5) { edges { node { title status startYear themes cities { name } indicators { name year } funding(first: 5) { edges { node { amount currency year status donor { name } } } } } } } }",
            json!({}),
        )
        .await;
    let p = &data["practices"]["edges"][0]["node"];
    assert_eq!(p["title"], "Twinning Delft and Estelí");
    assert_eq!(p["status"], "DRAFT");
    assert_eq!(p["startYear"], 1995);
    assert_eq!(p["themes"], json!(["ENVIRONMENT"]));
    assert_eq!(p["cities"][0]["name"], "Estelí");
    assert_eq!(p["indicators"][0]["name"], "Wells dug");
    let f = &p["funding"]["edges"][0]["node"];
    assert_eq!(f["currency"], "NLG");
    assert_eq!(f["year"], 1996);
    assert_eq!(f["status"], "COMMITTED");
    assert_eq!(f["donor"]["name"], "Netherlands Ministry");
}

#[tokio::test]
async fn importing_the_same_file_twice_changes_nothing_and_a_changed_activity_is_updated() {
    let app = TestApp::new().spawn().await;
    let (admin, actor) = admin_actor(&app).await;
    import(&app, &actor, TWO.as_bytes())
        .await
        .expect("imported");
    let (practices, audit) = (
        count(&app, &admin, "practices").await,
        audit_entries(&app, &admin).await,
    );
    let again = import(&app, &actor, TWO.as_bytes()).await.expect("again");
    assert_eq!(again.unchanged, vec!["XM-TEST-1".to_string()]);
    assert!(again.created.is_empty() && again.updated.is_empty());
    assert!(again.cities_created.is_empty() && again.donors_created.is_empty());
    assert_eq!(count(&app, &admin, "practices").await, practices);
    assert_eq!(audit_entries(&app, &admin).await, audit);

    let changed = TWO.replace(
        "Twinning Delft and Estelí",
        "Twinning Delft and Estelí, phase 2",
    );
    let third = import(&app, &actor, changed.as_bytes())
        .await
        .expect("changed");
    assert_eq!(third.updated, vec!["XM-TEST-1".to_string()]);
    assert_eq!(count(&app, &admin, "practices").await, practices);
    assert!(audit_entries(&app, &admin).await > audit);
}

#[tokio::test]
async fn a_file_is_imported_whole_or_not_at_all() {
    let app = TestApp::new().spawn().await;
    let (admin, actor) = admin_actor(&app).await;
    // The first activity is complete before the document breaks.
    let broken = TWO.replace(
        "</iati-activities>",
        "<iati-activity><oops></iati-activity>",
    );
    let e = import(&app, &actor, broken.as_bytes())
        .await
        .expect_err("broken XML");
    assert!(e.to_string().contains("XML"), "{e}");
    for (document, says) in [
        ("plain text, not XML <<<", "XML"),
        ("<html><body/></html>", "not an IATI activity file"),
        (
            "<iati-activities version=\"1.05\"><iati-activity/></iati-activities>",
            "version 1.05",
        ),
    ] {
        let e = import(&app, &actor, document.as_bytes())
            .await
            .expect_err(document);
        assert!(e.to_string().contains(says), "{document}: {e}");
    }
    assert_eq!(count(&app, &admin, "practices").await, 0);
    assert_eq!(count(&app, &admin, "cities").await, 0);
}

#[tokio::test]
async fn only_the_secretariat_imports() {
    let app = TestApp::new().spawn().await;
    let e = import(&app, &Actor::Anonymous, TWO.as_bytes())
        .await
        .expect_err("anonymous");
    assert!(matches!(
        e,
        domain::Error::Forbidden(_) | domain::Error::Unauthenticated
    ));
}

/// The activities of an export as the import reads them, without what depends on the base's
/// numbering (identifiers of activities and transactions).
fn activities(document: &str) -> Vec<Activity> {
    let mut reader = ActivityReader::new(document.as_bytes()).expect("an IATI document");
    let mut out = vec![];
    while let Some(read) = reader.next_activity().expect("well-formed") {
        match read {
            Read::Activity(mut a) => {
                a.line = 0;
                a.identifier.clear();
                for t in &mut a.transactions {
                    t.reference = None;
                }
                out.push(*a);
            }
            Read::Skipped { reason, .. } => panic!("the export wrote a skipped activity: {reason}"),
        }
    }
    out
}

async fn export(app: &TestApp, user: Option<&TestUser>) -> String {
    let mut request = app
        .client
        .get(format!("{}/export/iati/activities.xml", app.address));
    if let Some(u) = user {
        request = request.bearer_auth(&u.access_token);
    }
    let response = request.send().await.expect("request sent");
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.expect("a body")
}

#[tokio::test]
async fn an_export_imported_into_an_empty_base_exports_the_same_activities() {
    let source = TestApp::new().seeded().with_user(Role::Donor).spawn().await;
    let practice = source
        .data(
            "{ practices(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await["practices"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("a seeded practice")
        .to_string();
    // A transaction in a legacy currency, which the rate table still converts.
    source
        .data_as(
            source.user_of(Role::Donor),
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"1500000.25\", currency: \"NLG\", year: 1998, status: DISBURSED, sourceType: GRANTS_LOANS }) { id } }",
            json!({ "p": practice }),
        )
        .await;
    let first = export(&source, None).await;

    let target = TestApp::new().spawn().await;
    let (admin, actor) = admin_actor(&target).await;
    let report = import(&target, &actor, first.as_bytes())
        .await
        .expect("imported");
    let before = activities(&first);
    assert!(
        before.iter().any(|a| a
            .transactions
            .iter()
            .any(|t| t.currency.as_deref() == Some("NLG"))),
        "the export carries the transaction"
    );
    assert_eq!(report.created.len(), before.len());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);

    // Imported practices are drafts: the secretariat's export shows them.
    let second = export(&target, Some(&admin)).await;
    let after = activities(&second);
    assert_eq!(after.len(), before.len());
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a, b, "{}", a.title);
    }
}

const IMPORT_MUTATION: &str = "mutation($file: Upload!) { importIati(file: $file) { version created updated unchanged skipped { line identifier reason } citiesCreated donorsCreated unmapped } }";

async fn upload(
    app: &TestApp,
    user: Option<&TestUser>,
    file: &[u8],
    preflight: bool,
) -> (u16, serde_json::Value) {
    app.upload_as(user, IMPORT_MUTATION, file, preflight).await
}

#[tokio::test]
async fn the_secretariat_uploads_a_file_and_gets_the_report() {
    let app = TestApp::new().spawn().await;
    let admin = app.admin().await;
    let (status, first) = upload(&app, Some(&admin), TWO.as_bytes(), true).await;
    assert_eq!(status, 200, "{first}");
    let report = &first["data"]["importIati"];
    assert_eq!(report["version"], "2.03", "{first}");
    assert_eq!(report["created"], json!(["XM-TEST-1"]));
    assert_eq!(report["skipped"][0]["line"], 23);
    assert_eq!(report["skipped"][0]["identifier"], "XM-TEST-2");
    assert_eq!(report["citiesCreated"], json!(["Estelí (NI)"]));
    assert_eq!(count(&app, &admin, "practices").await, 1);
    let draft = app
        .data_as(
            &admin,
            "{ practices(first: 1) { nodes { status } } }",
            json!({}),
        )
        .await;
    assert_eq!(draft["practices"]["nodes"][0]["status"], "DRAFT");

    // The same file again changes nothing.
    let (_, again) = upload(&app, Some(&admin), TWO.as_bytes(), true).await;
    assert_eq!(
        again["data"]["importIati"]["unchanged"],
        json!(["XM-TEST-1"])
    );
    assert_eq!(again["data"]["importIati"]["created"], json!([]));
    assert_eq!(count(&app, &admin, "practices").await, 1);
}

#[tokio::test]
async fn uploads_are_refused_to_others_without_the_preflight_header_and_beyond_the_limit() {
    let app = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .configure(|s| s.max_upload_bytes = 4096)
        .spawn()
        .await;
    let admin = app.admin().await;
    let practices = count(&app, &admin, "practices").await;
    let (_, anonymous) = upload(&app, None, TWO.as_bytes(), true).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    let practitioner = app.user_of(Role::Practitioner);
    let (_, refused) = upload(&app, Some(practitioner), TWO.as_bytes(), true).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    // A form another site's page could post without asking first.
    let (status, no_header) = upload(&app, Some(&admin), TWO.as_bytes(), false).await;
    assert_eq!(status, 400, "{no_header}");
    assert_eq!(error_code(&no_header), "BAD_REQUEST");

    let (status, not_xml) = upload(&app, Some(&admin), b"name,amount\nx,1\n", true).await;
    assert_eq!(status, 200, "{not_xml}");
    assert_eq!(error_code(&not_xml), "VALIDATION", "{not_xml}");
    assert_eq!(not_xml["errors"][0]["extensions"]["field"], "file");

    let large = TWO.repeat(4);
    let (status, too_large) = upload(&app, Some(&admin), large.as_bytes(), true).await;
    assert_eq!(status, 413, "{too_large}");
    assert_eq!(
        count(&app, &admin, "practices").await,
        practices,
        "nothing written"
    );
}
