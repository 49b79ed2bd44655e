//! Concurrent writes and an unavailable database: no deadlock, no error, no wait behind a
//! rollup build, and a fast, distinct answer while the database is away.

use serde_json::{Value, json};

use domain::actor::Role;

use crate::helpers::{TestApp, TestUser, drop_rollups, unavailability_logged};

const GAPS: &str = "query($by: [GapDimension!]!, $f: GapFilter) { fundingGaps(by: $by, filter: $f) { key { dimension value } activePractices requiredUsd fundedUsd pledgedUsd schemeCount donorCount } }";
const TOTAL: &str = "{ fundingGapTotal { activePractices requiredUsd fundedUsd pledgedUsd schemeCount donorCount } }";
/// Groupings whose cells every practice shares (the total, a theme) and finer ones.
const GROUPINGS: [&[&str]; 3] = [
    &["THEME"],
    &["THEME", "ORIENTATION", "COUNTRY"],
    &["MODALITY", "THEME"],
];
const RETAG: &str = "mutation($id: ID!, $v: Int!, $t: [Theme!]) { updatePractice(id: $id, version: $v, input: { themes: $t }) { version } }";
/// Confidential when `$c`: the rollups' confidential cells are maintained by the same writes.
const GRANT: &str = "mutation($p: ID!, $d: ID!, $a: Decimal!, $c: Boolean) { recordFunding(input: { practiceId: $p, donorId: $d, amount: $a, currency: \"USD\", year: 2001, status: COMMITTED, sourceType: GRANTS_LOANS, confidential: $c }) { id } }";
/// Two theme sets a practice moves between: a writer moving A to B takes out of cells another,
/// moving B to A, puts into; the cells of every grouping are shared by all writers.
const THEMES: [[&str; 2]; 2] = [["ENVIRONMENT", "HEALTH"], ["HOUSING", "SOCIAL_CULTURAL"]];

/// A server for many concurrent writers on a shared, busy test machine: waits on the pool and
/// statements as long as the slowest write there may take (the defaults suit a production host).
async fn patient_app() -> std::sync::Arc<TestApp> {
    std::sync::Arc::new(
        TestApp::new()
            .seeded()
            // Sees confidential amounts rounded; signed in, so never answered from the
            // response cache, which the rollups dropped behind the service's back would fool.
            .with_user(Role::Practitioner)
            .configure(|s| {
                s.database.acquire_timeout = std::time::Duration::from_secs(20);
                // A question's statement on a starved machine was seen past 60 s in CI (on
                // PostgreSQL, 30,000 practices, 64 writes and two builds at once); the server
                // now logs which statement fails after a long run.
                s.database.statement_timeout = std::time::Duration::from_secs(120);
                // A first build of a large grouping on a loaded machine outlasts the default.
                s.budget.deadline = std::time::Duration::from_secs(180);
            })
            .spawn()
            .await,
    )
}

/// Every grouping of [`GROUPINGS`] and the total, as the secretariat sees them (exact figures)
/// and as a city practitioner sees them (confidential amounts rounded from the rollups'
/// confidential cells).
async fn gap_answers(app: &TestApp, admin: &TestUser) -> Vec<Value> {
    let city = app.user_of(Role::Practitioner);
    let mut answers = Vec::new();
    for by in GROUPINGS {
        answers.push(app.data_as(admin, GAPS, json!({ "by": by })).await);
        answers.push(app.data_as(city, GAPS, json!({ "by": by })).await);
    }
    answers.push(app.data_as(admin, TOTAL, json!({})).await);
    answers.push(app.data_as(city, TOTAL, json!({})).await);
    answers
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
                    let amount = format!("{}.37", 1000 + w * 10 + round);
                    app.graphql_as(
                        Some(&admin),
                        GRANT,
                        json!({ "p": shared, "d": donor, "a": amount, "c": round % 2 == 1 }),
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
        "{} of 256 writes failed, the first: {}\nlogged:\n{}",
        errors.len(),
        errors[0],
        unavailability_logged()
    );

    let maintained = gap_answers(&app, &admin).await;
    drop_rollups(&app, None).await;
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
    let practices = if std::env::var("TEST_DATABASE_URL").is_ok() {
        30_000
    } else {
        3_000
    };
    app.add_synthetic(practices, 7).await;
    let by = ["THEME", "ORIENTATION", "COUNTRY"];
    // The whole-life grouping and the one by year, built at once.
    let whole = json!({ "by": by });
    let range = json!({ "by": by, "f": { "fromYear": 2000, "toYear": 2010 } });

    let build = |question: Value| {
        let (app, admin) = (app.clone(), admin.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let r = app.graphql_as(Some(&admin), GAPS, question).await;
            (r, started.elapsed())
        })
    };
    let postgres = std::env::var("TEST_DATABASE_URL").is_ok();
    let builder = build(whole.clone());
    // On SQLite a build is a write transaction: a write waiting behind two builds in a row
    // would outwait its busy timeout, so there the grouping by year is built after the writes.
    let year_builder = postgres.then(|| build(range.clone()));
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
    assert!(
        built.get("errors").is_none(),
        "{built}\nlogged:\n{}",
        unavailability_logged()
    );
    let built = match year_builder {
        Some(b) => b.await.expect("the build by year finished").0,
        None => app.graphql_as(Some(&admin), GAPS, range.clone()).await,
    };
    assert!(
        built.get("errors").is_none(),
        "{built}\nlogged:\n{}",
        unavailability_logged()
    );
    assert!(
        errors.is_empty(),
        "{} of 64 writes during the build failed, the first: {}\nlogged:\n{}",
        errors.len(),
        errors[0],
        unavailability_logged()
    );
    eprintln!("the build took {building:?}; a write during it {one_write:?}");
    // Behind the build, the write would end with it. SQLite has one writer at a time: there the
    // build is one write transaction, and writes wait for it by design.
    if postgres && building > std::time::Duration::from_secs(3) {
        assert!(
            one_write < building / 2,
            "a write ({one_write:?}) waited for the build ({building:?})"
        );
    }

    let answers = || async {
        let mut answers = Vec::new();
        for question in [&whole, &range] {
            answers.push(app.data_as(&admin, GAPS, question.clone()).await);
            answers.push(
                app.data_as(app.user_of(Role::Practitioner), GAPS, question.clone())
                    .await,
            );
        }
        answers
    };
    let maintained = answers().await;
    drop_rollups(&app, None).await;
    let rebuilt = answers().await;
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
// The response cache may answer a repeated anonymous read for up to its TTL
// while the database is away; each outage probe asks something new so that it
// reaches the database.
const READ_N: &str = "query($n: Int!) { practices(first: $n) { totalCount } }";

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
    for n in 2..5 {
        let started = std::time::Instant::now();
        let r = app.graphql(READ_N, json!({ "n": n })).await;
        let took = started.elapsed();
        assert_eq!(r["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{r}");
        assert!(
            took < std::time::Duration::from_secs(4),
            "a request took {took:?}"
        );
    }

    cluster.pg_ctl("start");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for n in 0.. {
        let r = app.graphql(READ_N, json!({ "n": 5 + n % 50 })).await;
        if r.get("errors").is_none() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no recovery: {r}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(ready().await.0, 200);
}
