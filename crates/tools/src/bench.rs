//! `c2c-forum bench`: latency of the donors' questions on a large synthetic base.
//!
//! Requests run in-process through the GraphQL schema (resolvers, dataloaders and SQL, not
//! HTTP), one after another, so the figures are the cost of one answer on an idle server.

use std::time::{Duration, Instant};

use api::App;
use domain::Actor;
use domain::actor::Role;
use serde_json::json;

use crate::synthetic;

pub struct BenchOptions {
    pub database_url: String,
    pub practices: usize,
    pub seed: u64,
    pub iterations: usize,
}

/// Seeds `practices` synthetic practices into an empty database if needed, then times each
/// question `iterations` times after a warm-up and prints p50, p95 and max.
pub async fn run(options: BenchOptions) -> Result<(), String> {
    let app = App::open_unseeded(&options.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let result = run_on(&app, options).await;
    // As every command does (see `App::close`).
    app.close().await;
    result
}

async fn run_on(app: &App, options: BenchOptions) -> Result<(), String> {
    let present = app
        .database()
        .practice_count()
        .await
        .map_err(|e| e.to_string())? as usize;
    if present == 0 {
        eprintln!(
            "seeding {} synthetic practices (seed {})…",
            options.practices, options.seed
        );
        let started = Instant::now();
        let progress = crate::progress::Progress::new();
        let report = synthetic::seed_synthetic(
            app.database(),
            &synthetic::SyntheticOptions {
                practices: options.practices,
                seed: options.seed,
            },
            &|stage, done, total| progress.report(stage, done, total),
        )
        .await
        .map_err(|e| e.to_string())?;
        progress.finish();
        eprintln!(
            "seeded {} practices and {} funding rows in {:.0?}",
            report.practices,
            report.funding,
            started.elapsed()
        );
    } else if present < options.practices {
        return Err(format!(
            "the database holds {present} practices, fewer than {}; bench an empty database",
            options.practices
        ));
    } else {
        eprintln!("using the {present} practices already in the database");
    }
    let services = app.services();

    // A need to match: the first open one.
    let need = services
        .execute(
            async_graphql::Request::new(
                "{ needs(first: 1, filter: { status: OPEN }) { edges { node { id } } } }",
            ),
            Actor::Anonymous,
            "bench".into(),
        )
        .await;
    let need_id =
        need.data.into_json().map_err(|e| e.to_string())?["needs"]["edges"][0]["node"]["id"]
            .as_str()
            .map(str::to_string);

    // A practice to fund: the first published one.
    let practice = services
        .execute(
            async_graphql::Request::new("{ practices(first: 1) { edges { node { id } } } }"),
            Actor::Anonymous,
            "bench".into(),
        )
        .await;
    let practice_id = practice.data.into_json().map_err(|e| e.to_string())?["practices"]["edges"]
        [0]["node"]["id"]
        .as_str()
        .map(str::to_string);

    let mut cases: Vec<(&str, String, serde_json::Value)> = vec![
        (
            "fundingGaps by THEME x ORIENTATION",
            "{ fundingGaps(by: [THEME, ORIENTATION]) { key { value } openNeeds activePractices requiredUsd fundedUsd gapUsd coverage schemeCount donorCount } }".into(),
            json!({}),
        ),
        (
            "practices: filtered, nested, 50 per page",
            "{ practices(first: 50, filter: { themes: [ENVIRONMENT], orientation: NORTH_SOUTH, activeInYear: 2010 }) { totalCount edges { node {
                title themes cities { name country { code bloc ldc } } schemes { nodes { name } } funding { nodes { amountUsd status donor { name } } } } } } }"
                .into(),
            json!({}),
        ),
        (
            "schemeOverlaps",
            "{ schemeOverlaps { overlaps { theme orientation supportModality schemes { nodes { name } } sharedPractices { nodes { title } } } unsupported { theme orientation practices } } }".into(),
            json!({}),
        ),
    ];
    if let Some(id) = need_id {
        cases.push((
            "matches for a need, 20 of each",
            "query($n: ID!) { matches(needId: $n, first: 20) { practices { practice { title } score } cities { city { name } score } schemes { scheme { name } } donors { donor { name } } } }".into(),
            json!({ "n": id }),
        ));
    }

    // A write after the questions: what keeping the rollups in step costs it.
    if let Some(id) = practice_id {
        cases.push((
            "recordFunding (keeps built rollups current)",
            "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"1000\", currency: \"EUR\", year: 2005, status: COMMITTED, sourceType: OWN_BUDGET }) { id } }".into(),
            json!({ "p": id }),
        ));
    }
    // The secretariat records the bench's funding; no account is needed in-process.
    let admin = Actor::User {
        id: 0,
        role: Role::Admin,
        affiliation: None,
    };

    println!(
        "{:<45} {:>10} {:>10} {:>10} {:>10}",
        "question", "first", "p50", "p95", "max"
    );
    for (name, query, vars) in cases {
        let actor = if query.starts_with("mutation") {
            admin.clone()
        } else {
            Actor::Anonymous
        };
        let mut first = Duration::ZERO;
        let mut times = Vec::with_capacity(options.iterations);
        for i in 0..options.iterations + 3 {
            let request = async_graphql::Request::new(query.clone())
                .variables(async_graphql::Variables::from_json(vars.clone()));
            let started = Instant::now();
            let response = services
                .execute(request, actor.clone(), "bench".into())
                .await;
            let elapsed = started.elapsed();
            if response.is_err() {
                return Err(format!("{name}: {:?}", response.errors));
            }
            // The first runs warm caches and connections (and build a rollup not built yet).
            if i == 0 {
                first = elapsed;
            }
            if i >= 3 {
                times.push(elapsed);
            }
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "{:<45} {:>10} {:>10} {:>10} {:>10}",
            name,
            ms(first),
            ms(at(0.5)),
            ms(at(0.95)),
            ms(*times.last().unwrap_or(&Duration::ZERO))
        );
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
