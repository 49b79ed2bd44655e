//! Concurrent writes and an unavailable database: no deadlock, no error, no wait behind a
//! rollup build, and a fast, distinct answer while the database is away. And the mutations that
//! take the id of a record to attach to: one the caller may not read is NOT_FOUND, as a missing
//! one is, before anything else is said about it.

use serde_json::{Value, json};

use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{TestApp, TestUser};

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
            d.practice, d.scheme
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
            d.practice, d.scheme
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

const GAPS: &str = "query($by: [GapDimension!]!) { fundingGaps(by: $by) { key { dimension value } activePractices requiredUsd fundedUsd pledgedUsd schemeCount donorCount } }";
const TOTAL: &str = "{ fundingGapTotal { activePractices requiredUsd fundedUsd pledgedUsd schemeCount donorCount } }";
/// Groupings whose cells every practice shares (the total, a theme) and finer ones.
const GROUPINGS: [&[&str]; 3] = [
    &["THEME"],
    &["THEME", "ORIENTATION", "COUNTRY"],
    &["MODALITY", "THEME"],
];
const RETAG: &str = "mutation($id: ID!, $v: Int!, $t: [Theme!]) { updatePractice(id: $id, version: $v, input: { themes: $t }) { version } }";
const GRANT: &str = "mutation($p: ID!, $d: ID!, $a: Decimal!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: $a, currency: \"USD\", year: 2001, status: COMMITTED, sourceType: GRANTS_LOANS }) { id } }";
/// Two theme sets a practice moves between: a writer moving A to B takes out of cells another,
/// moving B to A, puts into; the cells of every grouping are shared by all writers.
const THEMES: [[&str; 2]; 2] = [["ENVIRONMENT", "HEALTH"], ["HOUSING", "SOCIAL_CULTURAL"]];

/// A server for many concurrent writers on a shared, busy test machine: waits on the pool and
/// statements as long as the slowest write there may take (the defaults suit a production host).
async fn patient_app() -> std::sync::Arc<TestApp> {
    std::sync::Arc::new(
        TestApp::new()
            .seeded()
            .configure(|s| {
                s.database.acquire_timeout = std::time::Duration::from_secs(20);
                s.database.statement_timeout = std::time::Duration::from_secs(60);
            })
            .spawn()
            .await,
    )
}

/// Every grouping of [`GROUPINGS`] and the total, as the secretariat sees them (exact figures).
async fn gap_answers(app: &TestApp, admin: &TestUser) -> Vec<Value> {
    let mut answers = Vec::new();
    for by in GROUPINGS {
        answers.push(app.data_as(admin, GAPS, json!({ "by": by })).await);
    }
    answers.push(app.data_as(admin, TOTAL, json!({})).await);
    answers
}

/// Drops every rollup behind the service's back, so that the next questions rebuild them from
/// the base rows.
async fn drop_rollups(app: &TestApp) {
    let db = app.database().await;
    for table in ["gap_rollup_member", "gap_rollup", "gap_combo"] {
        db.execute_unprepared(&format!("DELETE FROM {table}"))
            .await
            .expect("rollups dropped");
    }
}

/// The published practices of the base, with their versions, in id order.
async fn published_practices(app: &TestApp, admin: &TestUser, n: usize) -> Vec<(String, i64)> {
    let data = app
        .data_as(
            admin,
            "query($n: Int) { practices(first: $n) { edges { node { id version } } } }",
            json!({ "n": n }),
        )
        .await;
    data["practices"]["edges"]
        .as_array()
        .expect("practices")
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["id"].as_str().expect("id").to_string(),
                n["version"].as_i64().expect("version"),
            )
        })
        .collect()
}

/// `writers` clients at once: the first half each retag a practice of their own back and forth
/// between [`THEMES`]; the others record grants on practices all of them share. Answers every
/// response that carried an error.
async fn concurrent_writes(
    app: &std::sync::Arc<TestApp>,
    admin: &TestUser,
    writers: usize,
    rounds: usize,
) -> Vec<Value> {
    let practices = published_practices(app, admin, writers).await;
    assert!(practices.len() >= writers / 2, "enough practices to retag");
    let donor = app.id_of("donors", "Netherlands Ministry").await;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (app, admin, donor) = (app.clone(), admin.clone(), donor.clone());
        let practices = practices.clone();
        tasks.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            let (own, mut version) = practices[w % practices.len()].clone();
            for round in 0..rounds {
                let r = if w < writers / 2 {
                    let themes = THEMES[(w + round) % 2];
                    let r = app
                        .graphql_as(
                            Some(&admin),
                            RETAG,
                            json!({ "id": own, "v": version, "t": themes }),
                        )
                        .await;
                    if let Some(v) = r["data"]["updatePractice"]["version"].as_i64() {
                        version = v;
                    }
                    r
                } else {
                    let (shared, _) = &practices[(w * 7 + round) % practices.len()];
                    let amount = format!("{}", 1000 + w * 10 + round);
                    app.graphql_as(
                        Some(&admin),
                        GRANT,
                        json!({ "p": shared, "d": donor, "a": amount }),
                    )
                    .await
                };
                if r.get("errors").is_some() {
                    errors.push(r);
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        errors.extend(t.await.expect("a writer finished"));
    }
    errors
}

#[tokio::test]
async fn many_writers_on_shared_rollup_cells_all_succeed_and_the_rollups_stay_exact() {
    let app = patient_app().await;
    let admin = app.admin().await;
    // The rollups exist before the writers start: every write maintains them. Not the total:
    // its one cell would queue every writer behind one row lock.
    for by in GROUPINGS {
        app.data_as(&admin, GAPS, json!({ "by": by })).await;
    }

    let errors = concurrent_writes(&app, &admin, 32, 8).await;
    assert!(
        errors.is_empty(),
        "{} of 256 writes failed, the first: {}",
        errors.len(),
        errors[0]
    );

    let maintained = gap_answers(&app, &admin).await;
    drop_rollups(&app).await;
    let rebuilt = gap_answers(&app, &admin).await;
    assert_eq!(
        maintained, rebuilt,
        "maintained rollups (left) and a rebuild (right)"
    );
}

/// Writes while the first question of a grouping builds its rollup on a base large enough for
/// the build to take seconds: none fails, none waits for the build, and the rollup ends exact.
#[tokio::test]
async fn writes_during_a_rollup_build_neither_fail_nor_wait_for_it() {
    let app = patient_app().await;
    let admin = app.admin().await;
    let db = persistence::db::Database::connect(&app.database_url)
        .await
        .expect("connect");
    let practices = if std::env::var("TEST_DATABASE_URL").is_ok() {
        30_000
    } else {
        3_000
    };
    let options = tools::synthetic::SyntheticOptions { practices, seed: 7 };
    tools::synthetic::seed_synthetic(&db, &options, &|_, _, _| {})
        .await
        .expect("a synthetic base");
    db.close().await.expect("closed");
    let by = ["THEME", "ORIENTATION", "COUNTRY"];

    let builder = {
        let (app, admin) = (app.clone(), admin.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let r = app
                .graphql_as(Some(&admin), GAPS, json!({ "by": by }))
                .await;
            (r, started.elapsed())
        })
    };
    // Let the build start first.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (practice, _) = published_practices(&app, &admin, 1).await.remove(0);
    let donor = app.id_of("donors", "Netherlands Ministry").await;
    let started = std::time::Instant::now();
    let one = app
        .graphql_as(
            Some(&admin),
            GRANT,
            json!({ "p": practice, "d": donor, "a": "5" }),
        )
        .await;
    let one_write = started.elapsed();
    assert!(one.get("errors").is_none(), "{one}");
    let errors = concurrent_writes(&app, &admin, 16, 4).await;
    let (built, building) = builder.await.expect("the build finished");
    assert!(built.get("errors").is_none(), "{built}");
    assert!(
        errors.is_empty(),
        "{} of 64 writes during the build failed, the first: {}",
        errors.len(),
        errors[0]
    );
    eprintln!("the build took {building:?}; a write during it {one_write:?}");
    // Behind the build, the write would end with it. SQLite has one writer at a time: there the
    // build is one write transaction, and writes wait for it by design.
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok();
    if postgres && building > std::time::Duration::from_secs(3) {
        assert!(
            one_write < building / 2,
            "a write ({one_write:?}) waited for the build ({building:?})"
        );
    }

    let maintained = app.data_as(&admin, GAPS, json!({ "by": by })).await;
    drop_rollups(&app).await;
    let rebuilt = app.data_as(&admin, GAPS, json!({ "by": by })).await;
    assert_eq!(
        maintained, rebuilt,
        "maintained rollup (left) and a rebuild (right)"
    );
}

// ---- the database going away ----

/// A throw-away PostgreSQL cluster of the test's own, from the binaries in `TEST_PG_BIN`
/// (`.ci/run` exports it), so that stopping it disturbs no other test.
struct OwnCluster {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnCluster {
    fn command(&self, program: &str) -> std::process::Command {
        let path = self.bin.join(program);
        // initdb and postgres refuse to run as root: as the postgres user then.
        if running_as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            std::process::Command::new(path)
        }
    }

    fn start() -> Option<OwnCluster> {
        let bin = std::path::PathBuf::from(std::env::var("TEST_PG_BIN").ok()?);
        let dir = tempfile::tempdir().expect("a directory for the cluster");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = OwnCluster { bin, dir, port };
        if running_as_root() {
            let ok = std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown")
                .success();
            assert!(ok, "the cluster directory given to postgres");
        }
        let ok = cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.data())
            .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("initdb")
            .success();
        assert!(ok, "initdb");
        cluster.pg_ctl("start");
        Some(cluster)
    }

    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let ok = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-m", "fast", "-o", &options, action])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pg_ctl")
            .success();
        assert!(ok, "pg_ctl {action}");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

const ANY_READ: &str = "{ practices(first: 1) { totalCount } }";

#[tokio::test]
async fn while_the_database_is_away_requests_fail_fast_with_unavailable_and_recover() {
    let Some(cluster) = OwnCluster::start() else {
        eprintln!("TEST_PG_BIN is not set: the database-outage test needs PostgreSQL binaries");
        return;
    };
    let url = cluster.url();
    let app = std::sync::Arc::new(
        TestApp::new()
            .seeded()
            .configure(move |s| s.database_url = url)
            .spawn()
            .await,
    );
    let ready = || async {
        let started = std::time::Instant::now();
        let status = app
            .client
            .get(format!("{}/readyz", app.address))
            .send()
            .await
            .expect("readyz answers")
            .status();
        (status.as_u16(), started.elapsed())
    };
    assert_eq!(ready().await.0, 200);
    assert!(
        app.graphql(ANY_READ, json!({}))
            .await
            .get("errors")
            .is_none()
    );

    // Requests in flight while the server stops.
    let in_flight: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.graphql(ANY_READ, json!({})).await })
        })
        .collect();
    cluster.pg_ctl("stop");
    for r in in_flight {
        let r = r.await.expect("an answer");
        if let Some(code) = r["errors"][0]["extensions"]["code"].as_str() {
            assert_eq!(code, "UNAVAILABLE", "{r}");
        }
    }

    let (status, took) = ready().await;
    assert_eq!(status, 503);
    assert!(
        took < std::time::Duration::from_secs(1),
        "/readyz took {took:?}"
    );
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let r = app.graphql(ANY_READ, json!({})).await;
        let took = started.elapsed();
        assert_eq!(r["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{r}");
        assert!(
            took < std::time::Duration::from_secs(4),
            "a request took {took:?}"
        );
    }

    cluster.pg_ctl("start");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = app.graphql(ANY_READ, json!({})).await;
        if r.get("errors").is_none() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no recovery: {r}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(ready().await.0, 200);
}
