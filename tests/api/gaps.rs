//! The funding-gap table on a hand-built base whose answers are worked out here independently:
//! mixed and legacy currencies, pledges left out of funded, a practice with two themes, a cell
//! with nothing required, a confidential amount counted (rounded) without being shown. Then the
//! rollups kept in step by every write that moves a gap, and the results per theme on the same
//! base.

use std::collections::HashMap;
use std::str::FromStr;

use persistence::seed;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, TestUser, drop_rollups, error_code, scalar, spawn_app_with};

fn base() -> String {
    json!({
        "cities": [
            { "key": "a", "name": "Alkmaar", "countryCode": "NL", "kind": "MUNICIPALITY" },
            { "key": "b", "name": "Bukoba", "countryCode": "TZ", "kind": "MUNICIPALITY" },
            { "key": "c", "name": "Carlisle", "countryCode": "GB", "kind": "MUNICIPALITY" },
            { "key": "d", "name": "Dete", "countryCode": "ZW", "kind": "MUNICIPALITY" }
        ],
        "associations": [],
        "donors": [
            { "key": "x", "name": "Donor X", "kind": "BILATERAL", "agenda": { "themes": ["HEALTH"] } },
            { "key": "y", "name": "Donor Y", "kind": "FOUNDATION" },
            { "key": "z", "name": "Donor Z", "kind": "MULTILATERAL" }
        ],
        "supportSchemes": [{ "key": "s", "name": "Scheme S" }],
        "practices": [
            {
                "key": "p1", "title": "P1 water and health", "cities": [{ "city": "a", "role": "LEAD" }, { "city": "b", "role": "PARTNER" }],
                "modality": "ONE_ON_ONE", "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"], "managementFocus": ["TECHNICAL_EXPERTISE"],
                "themes": ["ENVIRONMENT", "HEALTH"], "schemes": ["s"], "amountRequired": { "amount": "100000", "currency": "USD" },
                "indicators": [
                    { "name": "Households connected", "unit": "households", "baseline": "0", "target": "100", "actual": "120", "year": 2000 },
                    { "name": "Collection rate", "unit": "%", "target": "50", "actual": "10" },
                    { "name": "Staff trained", "actual": "12" }
                ],
                "funding": [
                    { "donor": "x", "sourceType": "GRANTS_LOANS", "amount": "30000", "currency": "USD", "year": 1999, "status": "COMMITTED" },
                    { "donor": "y", "sourceType": "FOUNDATION_TRUST", "amount": "1000", "currency": "NLG", "year": 2000, "status": "DISBURSED" },
                    { "donor": "x", "sourceType": "GRANTS_LOANS", "amount": "50000", "currency": "USD", "year": 2000, "status": "PLEDGED" }
                ]
            },
            {
                "key": "p2", "title": "P2 clinics", "cities": [{ "city": "c", "role": "LEAD" }, { "city": "d", "role": "PARTNER" }],
                "modality": "GROUP", "cooperatingParties": ["NGO_CBO"], "managementFocus": ["STRATEGY_IMPLEMENTATION"],
                "themes": ["HEALTH"], "amountRequired": { "amount": "20000", "currency": "EUR" },
                "funding": [{ "donor": "y", "sourceType": "FOUNDATION_TRUST", "amount": "25000", "currency": "EUR", "year": 2001, "status": "DISBURSED" }]
            },
            {
                "key": "p3", "title": "P3 housing", "cities": [{ "city": "b", "role": "LEAD" }, { "city": "d", "role": "PARTNER" }],
                "modality": "ONE_ON_ONE", "cooperatingParties": ["LOCAL_AUTHORITY_SERVICES"], "managementFocus": ["TECHNICAL_EXPERTISE"],
                "themes": ["HOUSING"],
                "funding": [{ "donor": "z", "sourceType": "DEVELOPMENT_PROGRAMME", "amount": "5000", "currency": "USD", "year": 2001, "status": "COMMITTED" }]
            }
        ],
        "needs": [
            { "key": "n1", "city": "b", "title": "Drainage design", "themes": ["ENVIRONMENT"], "amountRequired": { "amount": "40000", "currency": "USD" }, "status": "OPEN" },
            { "key": "n2", "city": "d", "title": "Housing finance", "themes": ["HOUSING"], "amountRequired": { "amount": "9000", "currency": "USD" }, "status": "MATCHED" }
        ]
    })
    .to_string()
}

/// USD cents at the shipped rates, as the service must compute them.
fn cents(amount: &str, currency: &str) -> i64 {
    let rates: HashMap<String, Decimal> = seed::USD_RATES_CSV
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), Decimal::from_str(f[1]).unwrap())
        })
        .collect();
    let usd = Decimal::from_str(amount).unwrap() * rates[currency] * Decimal::ONE_HUNDRED;
    i64::try_from(usd.round()).unwrap()
}

fn usd(cents: i64) -> String {
    Decimal::new(cents, 2).to_string()
}

const GAPS: &str = "query($by: [GapDimension!]!, $f: GapFilter) { fundingGaps(by: $by, filter: $f) {
    key { dimension value } openNeeds activePractices requiredUsd fundedUsd pledgedUsd gapUsd coverage schemeCount donorCount disclosure } }";

async fn app_with_base() -> TestApp {
    let app = spawn_app_with(Seed::Nothing).await;
    let db = app.database().await;
    seed::seed_information_base(&db, &seed::parse_information_base(&base()).unwrap())
        .await
        .unwrap();
    app
}

fn cell<'a>(cells: &'a Value, value: &str) -> &'a Value {
    cells
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"][0]["value"] == value)
        .unwrap_or_else(|| panic!("a {value} cell in {cells}"))
}

#[tokio::test]
async fn gaps_by_theme_add_up_as_worked_out_by_hand() {
    let app = app_with_base().await;
    let admin = app.admin().await;
    // Donor Z adds a confidential commitment to P3: counted, never shown.
    let z = app.id_of("donors", "Donor Z").await;
    let z_user = app.user(&admin, "DONOR", ("donorId", &z)).await;
    let p3 = app.id_of("practices", "P3 housing").await;
    app.data_as(&z_user, "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"2000\", currency: \"USD\", year: 2001, status: COMMITTED, sourceType: GRANTS_LOANS, confidential: true }) { id } }", json!({ "p": p3 }))
        .await;
    let shown = app
        .data(
            "query($p: ID!) { practice(id: $p) { funding(first: 100) { nodes { amount confidential } } } }",
            json!({ "p": p3 }),
        )
        .await;
    assert!(
        shown["practice"]["funding"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["confidential"] == true && f["amount"].is_null())
    );

    let data = app.data(GAPS, json!({ "by": ["THEME"] })).await;
    let cells = &data["fundingGaps"];
    assert_eq!(cells.as_array().unwrap().len(), 3);

    let nlg = cents("1000", "NLG");
    let env = cell(cells, "ENVIRONMENT");
    let env_required = cents("100000", "USD") + cents("40000", "USD");
    let env_funded = cents("30000", "USD") + nlg;
    assert_eq!(env["activePractices"], 1);
    assert_eq!(env["openNeeds"], 1, "the MATCHED need does not count");
    assert_eq!(env["requiredUsd"], usd(env_required));
    assert_eq!(env["fundedUsd"], usd(env_funded));
    assert_eq!(
        env["pledgedUsd"],
        usd(cents("50000", "USD")),
        "pledges are reported apart"
    );
    assert_eq!(env["gapUsd"], usd(env_required - env_funded));
    assert_eq!(env["donorCount"], 2);
    assert_eq!(env["schemeCount"], 1);
    let coverage = env["coverage"].as_f64().unwrap();
    assert!((coverage - env_funded as f64 / env_required as f64).abs() < 1e-9);

    // P1 has two themes: it counts under HEALTH too, with P2.
    let health = cell(cells, "HEALTH");
    let health_required = cents("100000", "USD") + cents("20000", "EUR");
    let health_funded = cents("30000", "USD") + nlg + cents("25000", "EUR");
    assert_eq!(health["activePractices"], 2);
    assert_eq!(health["requiredUsd"], usd(health_required));
    assert_eq!(health["fundedUsd"], usd(health_funded));
    assert_eq!(
        health["gapUsd"],
        usd((health_required - health_funded).max(0))
    );

    assert_eq!(env["disclosure"], "EXACT", "no confidential funding here");

    // Nothing required: no gap and no coverage ratio, but the (confidential) funding counts,
    // rounded for an anonymous caller (2,000 USD is a whole number of the USD 1,000 unit).
    let housing = cell(cells, "HOUSING");
    assert_eq!(housing["disclosure"], "ROUNDED");
    assert_eq!(housing["requiredUsd"], "0.00");
    assert_eq!(
        housing["fundedUsd"],
        usd(cents("5000", "USD") + cents("2000", "USD"))
    );
    assert_eq!(housing["gapUsd"], "0.00");
    assert!(housing["coverage"].is_null());
    assert_eq!(housing["openNeeds"], 0);

    // Largest gap first.
    let order: Vec<&str> = cells
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"][0]["value"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["ENVIRONMENT", "HEALTH", "HOUSING"]);

    // The total counts P1 once although it sits in two theme cells.
    let total = app
        .data(
            "{ fundingGapTotal { activePractices openNeeds requiredUsd fundedUsd pledgedUsd } }",
            json!({}),
        )
        .await;
    let t = &total["fundingGapTotal"];
    assert_eq!(t["activePractices"], 3);
    assert_eq!(t["openNeeds"], 1);
    assert_eq!(
        t["requiredUsd"],
        usd(cents("100000", "USD") + cents("20000", "EUR") + cents("40000", "USD"))
    );
    assert_eq!(
        t["fundedUsd"],
        usd(env_funded + cents("25000", "EUR") + cents("7000", "USD"))
    );
}

#[tokio::test]
async fn gaps_by_two_dimensions_filters_and_agendas() {
    let app = app_with_base().await;

    let data = app
        .data(GAPS, json!({ "by": ["THEME", "ORIENTATION"] }))
        .await;
    let cells = data["fundingGaps"].as_array().unwrap();
    let env_ns = cells
        .iter()
        .find(|c| c["key"] == json!([{ "dimension": "THEME", "value": "ENVIRONMENT" }, { "dimension": "ORIENTATION", "value": "NORTH_SOUTH" }]))
        .expect("ENVIRONMENT x NORTH_SOUTH");
    assert_eq!(
        env_ns["requiredUsd"],
        usd(cents("100000", "USD")),
        "needs have no orientation, so only P1 is here"
    );
    assert!(
        cells
            .iter()
            .any(|c| c["key"][1]["value"] == "SOUTH_SOUTH" && c["key"][0]["value"] == "HOUSING")
    );

    // Countries of the cities: P1 and P3 both reach Tanzania, and the open need is there.
    let data = app.data(GAPS, json!({ "by": ["COUNTRY"] })).await;
    let tz = cell(&data["fundingGaps"], "TZ");
    assert_eq!(tz["activePractices"], 2);
    assert_eq!(tz["openNeeds"], 1);

    // Funding of 1999 only: P1's commitment, not the NLG disbursement of 2000.
    let data = app
        .data(
            GAPS,
            json!({ "by": ["THEME"], "f": { "fromYear": 1999, "toYear": 1999 } }),
        )
        .await;
    assert_eq!(
        cell(&data["fundingGaps"], "ENVIRONMENT")["fundedUsd"],
        usd(cents("30000", "USD"))
    );

    // Donor X cares about HEALTH only.
    let x = app.id_of("donors", "Donor X").await;
    let data = app
        .data(
            GAPS,
            json!({ "by": ["THEME"], "f": { "agendaOfDonor": x } }),
        )
        .await;
    let themes: Vec<&str> = data["fundingGaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"][0]["value"].as_str().unwrap())
        .collect();
    assert_eq!(themes, ["HEALTH"]);

    for (vars, field) in [
        (json!({ "by": [] }), "by"),
        (json!({ "by": ["THEME", "THEME"] }), "by"),
        (
            json!({ "by": ["THEME"], "f": { "statuses": ["PLEDGED"] } }),
            "statuses",
        ),
        (
            json!({ "by": ["THEME"], "f": { "fromYear": 2001, "toYear": 1999 } }),
            "toYear",
        ),
    ] {
        let r = app.graphql(GAPS, vars).await;
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{r}");
    }
}

#[tokio::test]
async fn results_per_theme_count_indicators_and_targets_met() {
    let app = app_with_base().await;
    let data = app
        .data("{ resultsByTheme { theme practices practicesWithIndicators indicators indicatorsWithTarget targetsMet } }", json!({}))
        .await;
    let rows = data["resultsByTheme"].as_array().unwrap();
    let row = |t: &str| {
        rows.iter()
            .find(|r| r["theme"] == t)
            .unwrap_or_else(|| panic!("{t} in {rows:?}"))
            .clone()
    };
    assert_eq!(
        row("ENVIRONMENT"),
        json!({ "theme": "ENVIRONMENT", "practices": 1, "practicesWithIndicators": 1, "indicators": 3, "indicatorsWithTarget": 2, "targetsMet": 1 })
    );
    assert_eq!(row("HEALTH")["practices"], 2, "P1 and P2");
    assert_eq!(
        row("HEALTH")["targetsMet"],
        1,
        "120 reached 100; 10 did not reach 50"
    );
    assert_eq!(row("HOUSING")["indicators"], 0);
}

/// The groupings the maintenance test watches: one of each kind of dimension, a pair, a triple.
const WATCHED: [&[&str]; 5] = [
    &["THEME"],
    &["THEME", "ORIENTATION"],
    &["COUNTRY", "BLOC"],
    &["MANAGEMENT_FOCUS", "MODALITY", "THEME"],
    &["ORIENTATION", "THEME"],
];

/// The ranges the maintenance test asks each watched grouping about: whole life, a range
/// holding every record (of this base, all with a year), one year, an open start, and a range
/// whose ends are in the second half of their decades.
fn watched_ranges() -> [Value; 5] {
    [
        json!(null),
        json!({ "fromYear": 1900, "toYear": 2100 }),
        json!({ "fromYear": 2002, "toYear": 2002 }),
        json!({ "toYear": 2001 }),
        // Read by the years of the decades at both ends and the decades after them.
        json!({ "fromYear": 1998, "toYear": 2006 }),
    ]
}

/// Every watched grouping and the total over every watched range, asked anonymously (so that
/// confidential funding is counted rounded, from the confidential cells). `pass` makes the
/// query text differ between passes, so that the response cache, which a test's direct writes
/// to the rollups do not reach, cannot answer a later pass.
async fn gap_answers(app: &TestApp, pass: &str) -> Vec<(String, Value)> {
    let total = "query($f: GapFilter) { fundingGapTotal(filter: $f) { activePractices requiredUsd fundedUsd pledgedUsd schemeCount donorCount disclosure } }";
    let mut answers = Vec::new();
    for f in watched_ranges() {
        for by in WATCHED {
            let answer = app
                .data(&format!("{GAPS} # {pass}"), json!({ "by": by, "f": f }))
                .await;
            answers.push((format!("{by:?} over {f}"), answer));
        }
        let answer = app
            .data(&format!("{total} # {pass}"), json!({ "f": f }))
            .await;
        answers.push((format!("the total over {f}"), answer));
    }
    answers
}

/// Every watched grouping, over every watched range, as the writes left its rollups and as a
/// rebuild from the base rows computes them: the two must agree. The rollups are left rebuilt,
/// so that the next write's maintenance is checked on its own.
async fn assert_rollups_agree(app: &TestApp, after: &str) {
    assert_span_counts_agree(app, after).await;
    let maintained = gap_answers(app, "maintained").await;
    drop_rollups(app, None).await;
    let rebuilt = gap_answers(app, "rebuilt").await;
    for ((what, m), (_, r)) in maintained.iter().zip(&rebuilt) {
        assert_eq!(
            m, r,
            "{what} after {after}: maintained (left) and rebuilt (right) disagree"
        );
    }
    // Whole life and a range holding every record are answered by different rollups.
    let per_range = WATCHED.len() + 1;
    for i in 0..per_range {
        assert_eq!(
            maintained[i].1,
            maintained[per_range + i].1,
            "{} after {after}: whole life (left) and every year (right) disagree",
            maintained[i].0
        );
    }
}

/// The counts of spans at their ends that writes keep in step (see `rollup::respan`) are the
/// spans as they are now, counted: none drifted, none left at zero. Counted here from the spans
/// as the migration `rollup_year_edges` describes them: each regular member's last span by its
/// end (E), its first by its start (S), each later one by its start and the end before it (G),
/// and the first two by decade as well (F and T, see the migration `rollup_year_decades`); and
/// the sums by decade against those by year.
async fn assert_span_counts_agree(app: &TestApp, after: &str) {
    let db = app.database().await;
    let key = "combo, k1, k2, k3, kind, side, a, b";
    let kept = format!("SELECT {key}, n FROM gap_rollup_year_span_edge");
    // The last spans by their ends (E), the first by their starts (S), each also by decade (F
    // and T), and the gaps (G).
    let last_and_first = "SELECT s.combo, s.k1, s.k2, s.k3, s.kind, 'E' AS side, s.hi AS a, 0 AS b \
                  FROM gap_rollup_year_span s WHERE s.prev_hi IS NOT NULL AND NOT EXISTS ( \
                    SELECT 1 FROM gap_rollup_year_span l WHERE l.combo = s.combo AND l.k1 = s.k1 \
                      AND l.k2 = s.k2 AND l.k3 = s.k3 AND l.kind = s.kind AND l.member_id = s.member_id \
                      AND l.lo > s.lo) \
                UNION ALL \
                SELECT combo, k1, k2, k3, kind, 'S', lo, 0 FROM gap_rollup_year_span WHERE prev_hi = -1";
    let counted = format!(
        "SELECT {key}, COUNT(*) FROM ( \
           {last_and_first} \
           UNION ALL \
           SELECT combo, k1, k2, k3, kind, 'G', lo, prev_hi FROM gap_rollup_year_span WHERE prev_hi > -1 \
           UNION ALL \
           SELECT combo, k1, k2, k3, kind, CASE WHEN side = 'E' THEN 'F' ELSE 'T' END, a - a % 10, b \
           FROM ({last_and_first}) d) e \
         GROUP BY {key}"
    );
    // The sums by decade (I for the periods by their ends, M by their starts) are those of the
    // sums by year (H and L) in the decade, whatever wrote them. Rows whose sums fell to zero
    // may stay; they count for nothing.
    let sums = [
        "practices",
        "required",
        "pledged",
        "committed",
        "disbursed",
        "required_hi",
        "pledged_hi",
        "committed_hi",
        "disbursed_hi",
    ];
    let summed = sums
        .iter()
        .map(|c| format!("SUM({c}) AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let not_zero = sums
        .iter()
        .map(|c| format!("{c} <> 0"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sums = sums.join(", ");
    let by_decade = format!(
        "SELECT combo, k1, k2, k3, side, a, {sums} FROM gap_rollup_year_edge \
         WHERE side IN ('I', 'M') AND ({not_zero})"
    );
    let from_years = format!(
        "SELECT * FROM ( \
           SELECT combo, k1, k2, k3, CASE WHEN side = 'H' THEN 'I' ELSE 'M' END AS decade_side, a - a % 10 AS decade, {summed} \
           FROM gap_rollup_year_edge WHERE side IN ('H', 'L') GROUP BY combo, k1, k2, k3, side, a - a % 10) y \
         WHERE {not_zero}"
    );
    for (left, right, what) in [
        (&kept, &counted, "span counts kept but not counted"),
        (&counted, &kept, "span counts counted but not kept"),
        (
            &by_decade,
            &from_years,
            "sums by decade that the years do not add up to",
        ),
        (
            &from_years,
            &by_decade,
            "sums of years that no decade keeps",
        ),
    ] {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) FROM ({left} EXCEPT {right}) d"),
            ))
            .await
            .expect("span counts compared")
            .expect("a count");
        let differing: i64 = row.try_get_by_index(0).expect("a number");
        assert_eq!(differing, 0, "{what} after {after}");
    }
}

/// `resultsByTheme` as the writes left the THEME rollup, and as a rebuild from the base rows
/// counts it: the two must agree. Asked by the secretariat, never from the response cache.
async fn assert_results_agree(app: &TestApp, admin: &TestUser, after: &str) {
    let results = "{ resultsByTheme { theme practices practicesWithIndicators indicators indicatorsWithTarget targetsMet } }";
    let maintained = app.data_as(admin, results, json!({})).await;
    drop_rollups(app, Some("THEME")).await;
    let rebuilt = app.data_as(admin, results, json!({})).await;
    assert_eq!(
        maintained, rebuilt,
        "resultsByTheme after {after}: maintained (left) and rebuilt (right) disagree"
    );
}

#[tokio::test]
async fn rollups_follow_every_write_that_moves_a_gap() {
    let app = app_with_base().await;
    let admin = app.admin().await;
    assert_rollups_agree(&app, "the seed").await;
    let db = app.database().await;
    let built = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM gap_combo",
        ))
        .await
        .unwrap()
        .unwrap();
    // ORIENTATION × THEME is THEME × ORIENTATION stored once; the total has its own; each
    // is built whole-life and by year.
    assert_eq!(built.try_get_by_index::<i64>(0).unwrap(), 10);
    let before = app.data(GAPS, json!({ "by": ["THEME"] })).await;

    let p1 = app.id_of("practices", "P1 water").await;
    let p3 = app.id_of("practices", "P3 housing").await;
    let z = app.id_of("donors", "Donor Z").await;
    let funding = app
        .data_as(&admin, "mutation($p: ID!, $d: ID!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"700\", currency: \"FRF\", year: 2002, status: PLEDGED, sourceType: GRANTS_LOANS }) { id version } }", json!({ "p": p1, "d": z }))
        .await;
    assert_rollups_agree(&app, "a pledge from a new donor").await;
    assert_ne!(
        before,
        app.data(GAPS, json!({ "by": ["THEME"] })).await,
        "a new pledge and donor show in the table"
    );

    let f = &funding["recordFunding"];
    app.data_as(&admin, "mutation($id: ID!, $v: Int!) { updateFunding(id: $id, version: $v, input: { status: COMMITTED, amount: \"900\" }) { id } }", json!({ "id": f["id"], "v": f["version"] }))
        .await;
    assert_rollups_agree(&app, "the pledge committed").await;

    // Callers who may not see a confidential amount are shown it rounded, record by record,
    // from the rollup's confidential cells: they must follow it in and out of confidence.
    let secret = app
        .data_as(&admin, "mutation($p: ID!, $d: ID!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"1234.56\", currency: \"USD\", year: 2002, status: DISBURSED, sourceType: GRANTS_LOANS, confidential: true }) { id version } }", json!({ "p": p1, "d": z }))
        .await;
    assert_rollups_agree(&app, "a confidential disbursement").await;
    let s = &secret["recordFunding"];
    let moved = app
        .data_as(&admin, "mutation($id: ID!, $v: Int!) { updateFunding(id: $id, version: $v, input: { amount: \"4321.99\", status: COMMITTED }) { version } }", json!({ "id": s["id"], "v": s["version"] }))
        .await;
    assert_rollups_agree(&app, "the confidential record changed").await;
    app.data_as(&admin, "mutation($id: ID!, $v: Int!) { updateFunding(id: $id, version: $v, input: { confidential: false }) { id } }", json!({ "id": s["id"], "v": moved["updateFunding"]["version"] }))
        .await;
    assert_rollups_agree(&app, "the confidential record made public").await;

    let practice = app
        .data(
            "query($p: ID!) { practice(id: $p) { version cities { id } } }",
            json!({ "p": p3 }),
        )
        .await;
    let cities: Vec<Value> = practice["practice"]["cities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    app.data_as(&admin, "mutation($p: ID!, $v: Int!, $c: [ID!]) { updatePractice(id: $p, version: $v, input: { themes: [HOUSING, SOCIAL_CULTURAL], orientation: SOUTH_SOUTH, modality: GROUP, managementFocus: [STRATEGY_IMPLEMENTATION], cityIds: $c, amountRequired: \"12000\", amountRequiredCurrency: \"USD\" }) { id } }", json!({ "p": p3, "v": practice["practice"]["version"], "c": [cities[0]] }))
        .await;
    assert_rollups_agree(&app, "a practice retagged and a city dropped").await;

    let scheme = app.id_of("supportSchemes", "Scheme S").await;
    app.data_as(
        &admin,
        "mutation($s: ID!, $p: ID!) { linkSchemeToPractice(schemeId: $s, practiceId: $p) }",
        json!({ "s": scheme, "p": p3 }),
    )
    .await;
    assert_rollups_agree(&app, "a scheme linked").await;

    // Indicators count in resultsByTheme, which the THEME rollup answers.
    let p1_version = app
        .data(
            "query($p: ID!) { practice(id: $p) { version } }",
            json!({ "p": p1 }),
        )
        .await["practice"]["version"]
        .clone();
    let before = app
        .data_as(
            &admin,
            "{ resultsByTheme { theme indicators targetsMet } }",
            json!({}),
        )
        .await;
    app.data_as(&admin, "mutation($p: ID!, $v: Int!) { updatePractice(id: $p, version: $v, input: { indicators: [{ name: \"households served\", target: \"100\", actual: \"150.5\" }, { name: \"leaks fixed\", target: \"40\", actual: \"41\" }, { name: \"staff trained\" }] }) { id } }", json!({ "p": p1, "v": p1_version }))
        .await;
    assert_ne!(
        before,
        app.data_as(
            &admin,
            "{ resultsByTheme { theme indicators targetsMet } }",
            json!({})
        )
        .await,
        "new indicators show in the results"
    );
    assert_results_agree(&app, &admin, "indicators replaced").await;

    let tz = cities[0].clone();
    let city = app
        .data(
            "query($c: ID!) { city(id: $c) { version } }",
            json!({ "c": tz }),
        )
        .await;
    app.data_as(&admin, "mutation($c: ID!, $v: Int!) { updateCity(id: $c, version: $v, input: { countryCode: \"FR\" }) { id } }", json!({ "c": tz, "v": city["city"]["version"] }))
        .await;
    assert_rollups_agree(&app, "a city moved to another country and bloc").await;

    let created = app
        .data_as(&admin, "mutation($c: [ID!]) { createPractice(input: { title: \"P4 roads\", themes: [INFRASTRUCTURE_SERVICES, HEALTH], modality: ONE_ON_ONE, managementFocus: [INSTITUTIONAL_REFORM], cooperatingParties: [NGO_CBO], orientation: NORTH_SOUTH, cityIds: $c, amountRequired: \"3000\", amountRequiredCurrency: \"EUR\" }) { id version } }", json!({ "c": [tz] }))
        .await;
    let p4 = &created["createPractice"];
    app.data_as(&admin, "mutation($p: ID!) { recordFunding(input: { practiceId: $p, amount: \"1000\", currency: \"DEM\", year: 2003, status: DISBURSED, sourceType: OWN_BUDGET }) { id } }", json!({ "p": p4["id"] }))
        .await;
    assert_rollups_agree(&app, "a draft practice with funding").await;
    let published = app
        .data_as(
            &admin,
            "mutation($p: ID!, $v: Int!) { publishPractice(id: $p, version: $v) { version } }",
            json!({ "p": p4["id"], "v": p4["version"] }),
        )
        .await;
    assert_rollups_agree(&app, "a practice published").await;
    app.data_as(
        &admin,
        "mutation($p: ID!, $v: Int!) { archivePractice(id: $p, version: $v) { id } }",
        json!({ "p": p4["id"], "v": published["publishPractice"]["version"] }),
    )
    .await;
    assert_rollups_agree(&app, "a practice archived").await;
    assert_results_agree(&app, &admin, "every write above").await;
}

/// Practices with periods (closed, open-ended, none) and funding inside and outside them, for
/// questions over ranges of years.
fn periods_base() -> String {
    json!({
        "cities": [{ "key": "a", "name": "Arusha", "countryCode": "TZ", "kind": "MUNICIPALITY" }],
        "associations": [],
        "donors": [
            { "key": "x", "name": "Donor X", "kind": "BILATERAL" },
            { "key": "y", "name": "Donor Y", "kind": "FOUNDATION" }
        ],
        "supportSchemes": [{ "key": "s", "name": "Scheme S" }, { "key": "t", "name": "Scheme T" }],
        "practices": [
            {
                "key": "q1", "title": "Q1 closed", "startYear": 2000, "endYear": 2004, "cities": [{ "city": "a", "role": "LEAD" }], "orientation": "SOUTH_SOUTH",
                "modality": "ONE_ON_ONE", "cooperatingParties": ["NGO_CBO"], "managementFocus": ["TECHNICAL_EXPERTISE"],
                "themes": ["HEALTH"], "schemes": ["s"], "amountRequired": { "amount": "1000", "currency": "USD" },
                "funding": [
                    { "donor": "x", "sourceType": "GRANTS_LOANS", "amount": "100", "currency": "USD", "year": 2001, "status": "COMMITTED" },
                    { "donor": "y", "sourceType": "FOUNDATION_TRUST", "amount": "10", "currency": "USD", "year": 2006, "status": "DISBURSED" }
                ]
            },
            {
                "key": "q2", "title": "Q2 open end", "startYear": 2005, "cities": [{ "city": "a", "role": "LEAD" }], "orientation": "SOUTH_SOUTH",
                "modality": "ONE_ON_ONE", "cooperatingParties": ["NGO_CBO"], "managementFocus": ["TECHNICAL_EXPERTISE"],
                "themes": ["HEALTH"], "schemes": ["t"], "amountRequired": { "amount": "2000", "currency": "USD" },
                "funding": [
                    { "donor": "x", "sourceType": "GRANTS_LOANS", "amount": "200", "currency": "USD", "year": 2003, "status": "COMMITTED" },
                    { "donor": "y", "sourceType": "FOUNDATION_TRUST", "amount": "20", "currency": "USD", "year": 2010, "status": "COMMITTED" }
                ]
            },
            {
                "key": "q3", "title": "Q3 no period", "cities": [{ "city": "a", "role": "LEAD" }], "orientation": "SOUTH_SOUTH",
                "modality": "ONE_ON_ONE", "cooperatingParties": ["NGO_CBO"], "managementFocus": ["TECHNICAL_EXPERTISE"],
                "themes": ["HEALTH"], "amountRequired": { "amount": "4000", "currency": "USD" },
                "funding": [
                    { "donor": "y", "sourceType": "FOUNDATION_TRUST", "amount": "400", "currency": "USD", "year": 1995, "status": "PLEDGED" },
                    { "donor": "x", "sourceType": "GRANTS_LOANS", "amount": "1000", "currency": "USD", "status": "COMMITTED" }
                ]
            }
        ],
        "needs": []
    })
    .to_string()
}

/// A range counts the practices active in it (started by its end, not ended before its start)
/// and, of theirs, the funding records of its years; donors and schemes are those of what it
/// counts. Funding outside its practice's period counts only while the practice is active too,
/// and a record of no year in no range. Worked out by hand, record by record.
#[tokio::test]
async fn year_ranges_count_what_is_active_in_them() {
    let app = spawn_app_with(Seed::Nothing).await;
    let db = app.database().await;
    seed::seed_information_base(&db, &seed::parse_information_base(&periods_base()).unwrap())
        .await
        .unwrap();
    let admin = app.admin().await;
    let health = |data: &Value| {
        let c = cell(&data["fundingGaps"], "HEALTH");
        (
            c["activePractices"].as_i64().unwrap(),
            c["requiredUsd"].as_str().unwrap().to_owned(),
            c["fundedUsd"].as_str().unwrap().to_owned(),
            c["pledgedUsd"].as_str().unwrap().to_owned(),
            c["donorCount"].as_i64().unwrap(),
            c["schemeCount"].as_i64().unwrap(),
            c["disclosure"].as_str().unwrap().to_owned(),
        )
    };
    let ask = |f: Value| {
        let app = &app;
        async move { health(&app.data(GAPS, json!({ "by": ["THEME"], "f": f })).await) }
    };
    let money = |dollars: &str| usd(cents(dollars, "USD"));
    let exact = "EXACT".to_owned();

    // Whole life: every practice and record, the one of no year too.
    assert_eq!(
        ask(json!({})).await,
        (
            3,
            money("7000"),
            money("1330"),
            money("400"),
            2,
            2,
            exact.clone()
        )
    );
    // Q2 starts after the range; only Q1's commitment of 2001 lies in it.
    assert_eq!(
        ask(json!({ "fromYear": 2001, "toYear": 2002 })).await,
        (
            2,
            money("5000"),
            money("100"),
            money("0"),
            1,
            1,
            exact.clone()
        )
    );
    // All three active; Q1's record after its end and Q2's before its start both count.
    assert_eq!(
        ask(json!({ "fromYear": 2003, "toYear": 2006 })).await,
        (
            3,
            money("7000"),
            money("210"),
            money("0"),
            2,
            2,
            exact.clone()
        )
    );
    // Q1 has ended: its record of 2006 does not count, nor does its donor.
    assert_eq!(
        ask(json!({ "fromYear": 2005, "toYear": 2007 })).await,
        (
            2,
            money("6000"),
            money("0"),
            money("0"),
            0,
            1,
            exact.clone()
        )
    );
    // Open bounds.
    assert_eq!(
        ask(json!({ "fromYear": 1990 })).await,
        (
            3,
            money("7000"),
            money("330"),
            money("400"),
            2,
            2,
            exact.clone()
        )
    );
    assert_eq!(
        ask(json!({ "toYear": 1996 })).await,
        (
            1,
            money("4000"),
            money("0"),
            money("400"),
            1,
            0,
            exact.clone()
        )
    );

    // A confidential commitment of 2005 to Q2: counted exactly for the secretariat, rounded for
    // the public, and only in the ranges that hold it.
    let q2 = app.id_of("practices", "Q2 open end").await;
    let x = app.id_of("donors", "Donor X").await;
    app.data_as(&admin, "mutation($p: ID!, $d: ID!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"50\", currency: \"USD\", year: 2005, status: COMMITTED, sourceType: GRANTS_LOANS, confidential: true }) { id } }", json!({ "p": q2, "d": x }))
        .await;
    let range = json!({ "by": ["THEME"], "f": { "fromYear": 2005, "toYear": 2007 } });
    assert_eq!(
        health(&app.data_as(&admin, GAPS, range.clone()).await),
        (
            2,
            money("6000"),
            money("50"),
            money("0"),
            1,
            1,
            exact.clone()
        )
    );
    assert_ne!(health(&app.data(GAPS, range).await).6, exact);
    assert_eq!(
        ask(json!({ "fromYear": 2001, "toYear": 2002 })).await.6,
        exact,
        "the confidential record lies outside this range"
    );

    // A member counts in a range when one of its years there meets it, and only then: Donor X
    // is now active in HEALTH in 2001, 2002, 2004 and 2005, and counts in neither 2003 alone
    // nor the ranges around its years outside Q2's period (2003, see above).
    let q1 = app.id_of("practices", "Q1 closed").await;
    for year in [2002, 2004] {
        app.data_as(&admin, "mutation($p: ID!, $d: ID!, $y: Int!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"1\", currency: \"USD\", year: $y, status: COMMITTED, sourceType: GRANTS_LOANS }) { id } }", json!({ "p": q1, "d": x, "y": year }))
            .await;
    }
    for ((from, to), donors) in [
        ((2002, 2002), 1),
        ((2003, 2003), 0),
        ((2003, 2004), 1),
        ((1996, 2000), 0),
        ((2007, 2009), 0),
        ((2003, 2005), 1),
    ] {
        assert_eq!(
            ask(json!({ "fromYear": from, "toYear": to })).await.4,
            donors,
            "donors of HEALTH in {from}-{to}"
        );
    }

    // The groupings by year live in tables of their own: a whole-life question, which reads
    // its grouping's rows of the whole-life tables, passes over none of theirs.
    let rows = |sql: String| crate::helpers::scalar(&db, sql);
    for (whole, yearly) in [
        ("gap_rollup", "gap_rollup_year_edge"),
        ("gap_rollup_member", "gap_rollup_year_member"),
        ("gap_rollup_confidential", "gap_rollup_year_confidential"),
    ] {
        assert_eq!(
            rows(format!(
                "SELECT COUNT(*) FROM {whole} WHERE combo LIKE '%/YEAR'"
            ))
            .await,
            0,
            "{whole} holds no grouping by year"
        );
        assert!(
            rows(format!(
                "SELECT COUNT(*) FROM {yearly} WHERE combo = 'THEME/YEAR'"
            ))
            .await
                > 0,
            "{yearly} holds the grouping by year asked for"
        );
        assert_eq!(
            rows(format!(
                "SELECT COUNT(*) FROM {yearly} WHERE combo NOT LIKE '%/YEAR'"
            ))
            .await,
            0,
            "{yearly} holds no whole-life grouping"
        );
    }
}

/// The confidential rollups keep, per cell, status and period, the sums over every donor that
/// questions read. The migration that introduced them computed them from the rows per donor:
/// undone and done again, it leaves the same rows and the same answers, anonymous or for a donor
/// (who sees its own confidential amounts exactly and the others' rounded).
#[tokio::test]
async fn the_sums_over_every_donor_are_computed_from_the_rows_per_donor() {
    let app = app_with_base().await;
    let admin = app.admin().await;
    let p3 = app.id_of("practices", "P3 housing").await;
    let mut donors = Vec::new();
    for (name, amount) in [("Donor Z", "2049"), ("Donor Y", "3051")] {
        let id = app.id_of("donors", name).await;
        let user = app.user(&admin, "DONOR", ("donorId", &id)).await;
        app.data_as(&user, "mutation($p: ID!, $a: Decimal!) { recordFunding(input: { practiceId: $p, amount: $a, currency: \"USD\", year: 2001, status: COMMITTED, sourceType: GRANTS_LOANS, confidential: true }) { id } }", json!({ "p": p3, "a": amount }))
            .await;
        donors.push(user);
    }
    let questions = [
        json!({ "by": ["THEME"] }),
        json!({ "by": ["THEME", "ORIENTATION"] }),
        json!({ "by": ["THEME"], "f": { "fromYear": 2000, "toYear": 2002 } }),
    ];
    let answers = || async {
        let mut all = Vec::new();
        for q in &questions {
            all.push(app.data(GAPS, q.clone()).await);
            for user in &donors {
                all.push(app.data_as(user, GAPS, q.clone()).await);
            }
        }
        all
    };
    let before = answers().await;
    let housing = |answer: &Value| cell(&answer["fundingGaps"], "HOUSING")["fundedUsd"].clone();
    // Anonymous: both confidential amounts rounded (to 2,000 and 3,000, beside 5,000 committed
    // openly); each donor: its own exactly.
    assert_eq!(housing(&before[0]), json!("10000.00"), "{}", before[0]);
    assert_eq!(housing(&before[1]), json!("10049.00"), "{}", before[1]);
    assert_eq!(housing(&before[2]), json!("10051.00"), "{}", before[2]);

    let db = app.database().await;
    let every_donor = |db: &DatabaseConnection| {
        let db = db.clone();
        async move {
            let mut rows = Vec::new();
            for table in ["gap_rollup_confidential", "gap_rollup_year_confidential"] {
                let sql = format!(
                    "SELECT combo, k1, k2, k3, status, lo, hi, records, exact, exact_hi, rounded, rounded_hi \
                 FROM {table} WHERE donor_id = -1 ORDER BY combo, k1, k2, k3, status, lo, hi"
                );
                for r in db
                    .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
                    .await
                    .unwrap()
                {
                    let text = |i| r.try_get_by_index::<String>(i).unwrap();
                    let int = |i| r.try_get_by_index::<i64>(i).unwrap();
                    // Periods are 32-bit integers.
                    let year = |i| r.try_get_by_index::<i32>(i).unwrap();
                    rows.push(format!(
                        "{table} {} {} {} {} {} {} {} {} {} {} {} {}",
                        text(0),
                        text(1),
                        text(2),
                        text(3),
                        text(4),
                        year(5),
                        year(6),
                        int(7),
                        int(8),
                        int(9),
                        int(10),
                        int(11)
                    ));
                }
            }
            rows
        }
    };
    let kept = every_donor(&db).await;
    assert!(
        kept.iter()
            .any(|r| r.starts_with("gap_rollup_year_confidential")),
        "{kept:?}"
    );
    assert!(
        kept.iter()
            .any(|r| r.starts_with("gap_rollup_confidential")),
        "{kept:?}"
    );

    crate::helpers::migrate_down_through(&db, "m20261201_200000_confidential_every_donor").await;
    // Read on a connection of its own: the rollups' keys are in the database's collation
    // between the migrations (see `rollups_unlogged`), and PostgreSQL refuses the statement
    // prepared before, whose result type named the "C" collation.
    assert!(every_donor(&app.database().await).await.is_empty());
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await.unwrap();
    }
    // A later migration (`rollup_year_edges`) drops the groupings by year: the next questions
    // build them again, with the same sums over every donor.
    assert_eq!(answers().await, before);
    assert_eq!(every_donor(&db).await, kept);
}

/// The migration that keeps the sides by decade sums them from the rows by year: groupings by
/// year built before it stay built, and answer as they did.
#[tokio::test]
async fn groupings_by_year_built_before_the_decades_were_kept_are_summed_by_decade() {
    let app = app_with_base().await;
    let before = gap_answers(&app, "before").await;
    let db = app.database().await;
    let built = || {
        let db = &db;
        async move {
            db.query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) FROM gap_combo WHERE combo LIKE '%/YEAR'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap()
        }
    };
    let built_before = built().await;
    assert!(
        built_before >= 4,
        "the watched groupings by year: {built_before}"
    );
    crate::helpers::migrate_down_through(&db, "m20261207_000000_rollup_year_decades").await;
    let by_decade = |table: &'static str| {
        let db = &db;
        async move {
            db.query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) FROM {table} WHERE side IN ('I', 'M', 'F', 'T')"),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap()
        }
    };
    assert_eq!(
        by_decade("gap_rollup_year_edge").await,
        0,
        "down drops them"
    );
    assert_eq!(by_decade("gap_rollup_year_span_edge").await, 0);
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await.unwrap();
    }
    assert!(by_decade("gap_rollup_year_edge").await > 0);
    assert!(by_decade("gap_rollup_year_span_edge").await > 0);
    assert_eq!(
        built().await,
        built_before,
        "the groupings by year stay built"
    );
    assert_span_counts_agree(&app, "the migration").await;
    assert_eq!(gap_answers(&app, "after").await, before);
}

/// A donor with a record outside its practice's period (a period that ends before it starts)
/// is counted distinct by its spans: the record's own, and the one its other records make.
/// That span runs on past the outside record's start, to the end of the last record in it, and
/// not to the latest end of the records before the outside one: merging must not take the
/// outside record for the start of the next span.
#[tokio::test]
async fn a_span_runs_on_past_a_record_outside_its_practice_period() {
    let app = spawn_app_with(Seed::Nothing).await;
    let db = app.database().await;
    let practice = |key: &str, start: i32, end: i32, years: &[i32]| {
        let funding: Vec<Value> = years
            .iter()
            .map(|y| json!({ "donor": "d", "sourceType": "GRANTS_LOANS", "amount": "10", "currency": "USD", "year": y, "status": "COMMITTED" }))
            .collect();
        json!({
            "key": key, "title": key, "startYear": start, "endYear": end, "cities": [{ "city": "a", "role": "LEAD" }],
            "orientation": "SOUTH_SOUTH", "modality": "ONE_ON_ONE", "cooperatingParties": ["NGO_CBO"],
            "managementFocus": ["TECHNICAL_EXPERTISE"], "themes": ["HEALTH"],
            "amountRequired": { "amount": "1000", "currency": "USD" }, "funding": funding
        })
    };
    let base = json!({
        "cities": [{ "key": "a", "name": "Arusha", "countryCode": "TZ", "kind": "MUNICIPALITY" }],
        "associations": [],
        "donors": [{ "key": "d", "name": "Donor D", "kind": "BILATERAL" }],
        "supportSchemes": [],
        // Donor D in 2000, 2001 and 2002 within A's period: one span, 2000-2002. Its record of
        // 2001 for B, which ended in 2000, has the period 2001-2000 and starts inside that span.
        "practices": [practice("A", 2000, 2010, &[2000, 2001, 2002]), practice("B", 2000, 2000, &[2001])],
        "needs": []
    });
    seed::seed_information_base(
        &db,
        &seed::parse_information_base(&base.to_string()).unwrap(),
    )
    .await
    .unwrap();
    let mut donors = Vec::new();
    for (from, to) in [(2002, 2002), (2000, 2001), (2001, 2001), (2003, 2005)] {
        let data = app
            .data(
                GAPS,
                json!({ "by": ["THEME"], "f": { "fromYear": from, "toYear": to } }),
            )
            .await;
        donors.push(cell(&data["fundingGaps"], "HEALTH")["donorCount"].clone());
    }
    assert_eq!(donors, [json!(1), json!(1), json!(1), json!(0)]);
    assert_span_counts_agree(&app, "the build").await;
}

/// Donors are counted once over a range however many of their spans meet it, and not at all
/// when it falls in a gap between two: Donor Z's years in HOUSING (2001, 2005, 2006) make two
/// spans, the second kept with the end of the first. The migration that keeps the counts at
/// the spans' ends drops the groupings by year (their rows by period cannot be turned into
/// rows by year): undone and done again on a base whose groupings by year were built and then
/// written to, the next questions build them again, with the same counts and answers.
#[tokio::test]
async fn donors_count_once_over_a_range_and_not_in_a_gap_between_their_spans() {
    let app = app_with_base().await;
    let admin = app.admin().await;
    let p3 = app.id_of("practices", "P3 housing").await;
    let z = app.id_of("donors", "Donor Z").await;
    // The last meets both spans: Donor Z still counts once.
    let ranges = [
        (2000, 2002),
        (2003, 2004),
        (2002, 2005),
        (2006, 2006),
        (2000, 2006),
    ];
    let ask = |pass: &'static str| {
        let app = &app;
        async move {
            let mut donors = Vec::new();
            for (from, to) in ranges {
                let data = app
                    .data(
                        &format!("{GAPS} # {pass}"),
                        json!({ "by": ["THEME"], "f": { "fromYear": from, "toYear": to } }),
                    )
                    .await;
                donors.push(cell(&data["fundingGaps"], "HOUSING")["donorCount"].clone());
            }
            donors
        }
    };
    ask("built").await;
    for year in [2005, 2006] {
        app.data_as(&admin, "mutation($p: ID!, $d: ID!, $y: Int!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"50\", currency: \"USD\", year: $y, status: COMMITTED, sourceType: GRANTS_LOANS }) { id } }", json!({ "p": p3, "d": z, "y": year }))
            .await;
    }
    let before = ask("written").await;
    assert_eq!(before, [json!(1), json!(0), json!(1), json!(1), json!(1)]);
    assert_span_counts_agree(&app, "the writes").await;

    let db = app.database().await;
    let counts = || async {
        db.query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT combo, k1, kind, side, a, b, n FROM gap_rollup_year_span_edge \
             ORDER BY combo, k1, kind, side, a, b"
                .to_owned(),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let text = |i| r.try_get_by_index::<String>(i).unwrap();
            // Years are 32-bit integers, counts 64-bit.
            let year = |i| r.try_get_by_index::<i32>(i).unwrap();
            format!(
                "{} {} {} {} {} {} {}",
                text(0),
                text(1),
                text(2),
                text(3),
                year(4),
                year(5),
                r.try_get_by_index::<i64>(6).unwrap()
            )
        })
        .collect::<Vec<_>>()
    };
    let kept = counts().await;
    // The gap between Donor Z's two spans, 2002–2004.
    assert!(
        kept.iter()
            .any(|c| c.starts_with("THEME/YEAR HOUSING D G 2005 2001 ")),
        "{kept:?}"
    );

    crate::helpers::migrate_down_through(&db, "m20261206_000000_rollup_year_edges").await;
    {
        use migration::MigratorTrait;
        migration::Migrator::up(&db, None).await.unwrap();
    }
    assert!(
        counts().await.is_empty(),
        "the groupings by year are dropped"
    );
    assert_eq!(ask("migrated").await, before);
    assert_eq!(counts().await, kept);
    assert_span_counts_agree(&app, "the migration").await;
}

/// SQLite reads what `fundingGapTotal` needs of the open needs from their index alone, searched
/// by the two columns its condition fixes, not by looking up each need's row. (A grouping by a
/// tag reads the needs through their tags.) PostgreSQL's planner weighs the table's size, which
/// a test base is too small to tell.
#[tokio::test]
async fn sqlite_reads_open_needs_from_their_index_alone() {
    let app = app_with_base().await;
    let db = app.database().await;
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    let sql = "SELECT COUNT(*), SUM(amount_required_usd_cents) FROM need n \
               WHERE n.publication = 'PUBLISHED' AND n.status = 'OPEN'";
    let plan: Vec<String> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("EXPLAIN QUERY PLAN {sql}"),
        ))
        .await
        .expect("a plan")
        .iter()
        .map(|r| r.try_get_by_index::<String>(3).expect("a plan row"))
        .collect();
    assert_eq!(
        plan,
        ["SEARCH n USING COVERING INDEX idx_need_open_searchable (status=? AND publication=?)"],
        "{sql}"
    );
}

/// A SQLite connection reads the planner's statistics only with the schema, and `ANALYZE`
/// leaves the schema's version as it was: a build that gathers statistics changes the version
/// as well, so that the connections opened before it, of this process and of others on the
/// file (here the test's own), read them before their next statement. Without it a server plans
/// the questions of a grouping another built with estimates that predate its rows (half the
/// throughput for the year range of the load benchmark, see README).
#[tokio::test]
async fn a_build_on_sqlite_has_the_connections_opened_before_it_read_its_statistics() {
    let app = app_with_base().await;
    let db = app.database().await;
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    let schema_version = async || -> i64 {
        db.query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA schema_version",
        ))
        .await
        .expect("the schema's version")
        .expect("a row")
        .try_get_by_index(0)
        .expect("a number")
    };
    // The first analysis creates SQLite's statistics tables, itself a change of the schema.
    app.app()
        .database()
        .prepare_rollups(&|_, _, _| {})
        .await
        .expect("the prepared groupings built");
    for (grouping, gathers_statistics) in [
        // Summed from a prepared grouping into a few cells: no statistics gathered.
        ("THEME,ORIENTATION", false),
        // From the base, and by year.
        ("THEME,COUNTRY", true),
        ("THEME,COUNTRY/YEAR", true),
    ] {
        let before = schema_version().await;
        let named: Vec<persistence::Grouping> = vec![grouping.parse().unwrap()];
        app.app()
            .database()
            .prepare_rollups_with(&named, &|_, _, _| {})
            .await
            .expect("the grouping built");
        assert_eq!(
            built(&app, &[grouping]).await,
            1,
            "{grouping} built by its own name"
        );
        let after = schema_version().await;
        assert_eq!(
            after > before,
            gathers_statistics,
            "{grouping}: schema version {before} before its build, {after} after"
        );
    }
}

/// A question over a range of years reads a grouping's sums by the years its periods end and
/// start, not by the periods themselves: their distinct periods grow about as the square of
/// the years they span, and a range read them all. On a synthetic base the THEME grouping by
/// year keeps at most two rows a theme and year (the periods ending then, those starting then)
/// plus the few periods that end before they start, and fewer rows than the practices alone
/// have distinct periods by theme (kept by period, each of those was a row). The answers are
/// checked against the base elsewhere (maintained and rebuilt, and worked out by hand).
#[tokio::test]
async fn a_grouping_by_year_keeps_its_sums_by_year_not_by_period() {
    let app = spawn_app_with(Seed::Nothing).await;
    app.add_synthetic(3_000, 7).await;
    app.data(
        GAPS,
        json!({ "by": ["THEME"], "f": { "fromYear": 2000, "toYear": 2010 } }),
    )
    .await;

    let db = app.database().await;
    let count = |sql: &str| {
        let db = &db;
        let sql = sql.to_owned();
        async move {
            db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap()
        }
    };
    let themes =
        count("SELECT COUNT(DISTINCT k1) FROM gap_rollup_year_edge WHERE combo = 'THEME/YEAR'")
            .await;
    // Every year a period may start or end in: the practices' and the funding records', and
    // the open start and end.
    let years = count(
        "SELECT COUNT(*) + 2 FROM (SELECT start_year AS y FROM practice UNION SELECT end_year FROM practice \
         UNION SELECT year FROM funding) y WHERE y IS NOT NULL",
    )
    .await;
    // And their decades (see the migration `rollup_year_decades`).
    let decades = count(
        "SELECT COUNT(*) + 2 FROM (SELECT DISTINCT y - y % 10 AS d FROM (SELECT start_year AS y FROM practice \
         UNION SELECT end_year FROM practice UNION SELECT year FROM funding) y WHERE y IS NOT NULL) d",
    )
    .await;
    let inverted = count(
        "SELECT COUNT(*) FROM gap_rollup_year_edge WHERE combo = 'THEME/YEAR' AND side = 'X'",
    )
    .await;
    let rows = count("SELECT COUNT(*) FROM gap_rollup_year_edge WHERE combo = 'THEME/YEAR'").await;
    let periods = count(
        "SELECT COUNT(*) FROM (SELECT DISTINCT t.value, p.start_year, p.end_year FROM practice p \
         JOIN practice_tag t ON t.practice_id = p.id AND t.dimension = 'THEME' \
         WHERE p.status = 'PUBLISHED') d",
    )
    .await;
    assert!(themes >= 5, "the base spreads over the themes: {themes}");
    let bound = 2 * themes * (years + decades) + inverted;
    eprintln!(
        "{rows} rows of sums for {themes} themes, {years} years and {decades} decades; {periods} periods"
    );
    assert!(
        rows <= bound,
        "{rows} rows of sums for {themes} themes, {years} years and {decades} decades"
    );
    assert!(
        rows < periods,
        "{rows} rows of sums, where the practices have {periods} distinct periods by theme"
    );
}

/// The questions a grouping summed from a finer one answers: gaps by theme (anonymous, so
/// confidential funding counted rounded from the confidential cells, and as the secretariat,
/// exact) and the total, whole-life and over a range of years, and the results per theme.
/// `pass` keeps the response cache out.
async fn theme_and_total_answers(app: &TestApp, admin: &TestUser, pass: &str) -> Vec<Value> {
    let results = "{ resultsByTheme { theme practices practicesWithIndicators indicators indicatorsWithTarget targetsMet } }";
    let mut answers = Vec::new();
    for f in [json!(null), json!({ "fromYear": 2000, "toYear": 2001 })] {
        answers.extend(theme_answers(app, admin, pass, &f).await);
        answers.push(total_answer(app, pass, f).await);
    }
    answers.push(
        app.data_as(admin, &format!("{results} # {pass}"), json!({}))
            .await,
    );
    answers
}

/// Doubles (or halves back) every funding amount behind the rollups' back, as no write of the
/// service does: a grouping built from the base after this differs from one summed from the
/// rollups.
async fn scale_funding_behind_the_rollups(app: &TestApp, by: &str) {
    let db = app.database().await;
    db.execute_unprepared(&format!(
        "UPDATE funding SET amount_usd_cents = amount_usd_cents {by}"
    ))
    .await
    .expect("funding scaled");
}

#[tokio::test]
async fn a_grouping_summed_from_a_finer_one_answers_as_one_built_from_the_base() {
    let app = app_with_base().await;
    let admin = app.admin().await;
    let from_base = theme_and_total_answers(&app, &admin, "from the base").await;

    // Finer groupings first, whole-life and by year: THEME is THEME × ORIENTATION × MODALITY
    // summed over orientation and modality, the total ORIENTATION × MODALITY summed over both.
    drop_rollups(&app, None).await;
    for by in [
        json!(["MODALITY", "ORIENTATION", "THEME"]),
        json!(["ORIENTATION", "MODALITY"]),
    ] {
        for f in [json!(null), json!({ "fromYear": 1990, "toYear": 2030 })] {
            app.data(GAPS, json!({ "by": by, "f": f })).await;
        }
    }
    // Summed from the rollups, THEME and the total cannot see the funding doubled behind
    // them; built from the base, they would.
    scale_funding_behind_the_rollups(&app, "* 2").await;
    let summed = theme_and_total_answers(&app, &admin, "summed").await;
    assert_eq!(
        from_base, summed,
        "built from the base (left) and summed (right)"
    );
    wait_until_built(&app, &["THEME/YEAR", "ALL/YEAR"]).await;
    scale_funding_behind_the_rollups(&app, "/ 2").await;
    assert_span_counts_agree(&app, "summing the groupings by year").await;

    // Kept in step by the writes after: a pledge from a donor new to the practice and a
    // confidential disbursement, then the answers against a build from the base.
    let p1 = app.id_of("practices", "P1 water").await;
    let z = app.id_of("donors", "Donor Z").await;
    for (amount, status, confidential) in
        [("700", "PLEDGED", false), ("1234.56", "DISBURSED", true)]
    {
        app.data_as(&admin, "mutation($p: ID!, $d: ID!, $a: Decimal!, $s: FundingStatus!, $c: Boolean!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: $a, currency: \"USD\", year: 2002, status: $s, sourceType: GRANTS_LOANS, confidential: $c }) { id } }", json!({ "p": p1, "d": z, "a": amount, "s": status, "c": confidential }))
            .await;
    }
    let maintained = theme_and_total_answers(&app, &admin, "maintained").await;
    assert_ne!(summed, maintained, "the writes moved the gaps");
    drop_rollups(&app, None).await;
    let rebuilt = theme_and_total_answers(&app, &admin, "rebuilt").await;
    assert_eq!(
        maintained, rebuilt,
        "summed then maintained (left) and built from the base (right)"
    );

    // What the doubling shows when the groupings are built from the base.
    scale_funding_behind_the_rollups(&app, "* 2").await;
    drop_rollups(&app, None).await;
    assert_ne!(
        rebuilt[0],
        theme_and_total_answers(&app, &admin, "doubled").await[0],
        "THEME built from the base counts the funding doubled"
    );
}

/// The questions over a range of years of `theme_and_total_answers`, and one for a donor's
/// agenda.
async fn year_answers(app: &TestApp, admin: &TestUser, pass: &str) -> Vec<Value> {
    let x = app.id_of("donors", "Donor X").await;
    let range = json!({ "fromYear": 2000, "toYear": 2001 });
    let mut answers = Vec::new();
    for f in [
        range.clone(),
        json!({ "fromYear": 2000, "toYear": 2001, "agendaOfDonor": x }),
    ] {
        answers.extend(theme_answers(app, admin, pass, &f).await);
    }
    answers.push(total_answer(app, pass, range).await);
    answers
}

/// `fundingGaps` by THEME under `f`, anonymously (confidential funding rounded) and as the
/// secretariat (exact). `pass` keeps the response cache out.
async fn theme_answers(app: &TestApp, admin: &TestUser, pass: &str, f: &Value) -> [Value; 2] {
    let by_theme = json!({ "by": ["THEME"], "f": f });
    let query = format!("{GAPS} # {pass}");
    [
        app.data(&query, by_theme.clone()).await,
        app.data_as(admin, &query, by_theme).await,
    ]
}

/// `fundingGapTotal` under `f`.
async fn total_answer(app: &TestApp, pass: &str, f: Value) -> Value {
    let total = "query($f: GapFilter) { fundingGapTotal(filter: $f) { activePractices requiredUsd fundedUsd pledgedUsd schemeCount donorCount disclosure } }";
    app.data(&format!("{total} # {pass}"), json!({ "f": f }))
        .await
}

/// Holds back every build of a grouping until the transaction returned ends: SQLite's write
/// lock, or on PostgreSQL the lock on `gap_combo` that a build's first step waits for.
async fn hold_builds(app: &TestApp) -> sea_orm::DatabaseTransaction {
    use sea_orm::TransactionTrait;
    let db = app.database().await;
    let hold = db.begin().await.expect("a transaction");
    let statement = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "LOCK TABLE gap_combo IN SHARE MODE",
        // A write of no row still takes the write lock.
        _ => "UPDATE gap_combo SET combo = combo WHERE 1 = 0",
    };
    hold.execute_unprepared(statement)
        .await
        .expect("builds held back");
    hold
}

/// How many of the groupings `names` are built.
async fn built(app: &TestApp, names: &[&str]) -> usize {
    let db = app.database().await;
    let names = names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        format!("SELECT combo FROM gap_combo WHERE combo IN ({names})"),
    ))
    .await
    .expect("groupings read")
    .len()
}

/// Waits for the groupings by year `names` that questions left to build in the background (see
/// `a_grouping_by_year_is_answered_from_a_finer_one_while_it_is_built`): a test that drops the
/// rollups behind the service's back while one is built would have it put its cells back.
async fn wait_until_built(app: &TestApp, names: &[&str]) {
    for _ in 0..300 {
        if built(app, names).await == names.len() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{names:?} not built in the background");
}

/// A grouping by year with a finer one built by year (here THEME and the total, with THEME x
/// ORIENTATION x MODALITY and ORIENTATION x MODALITY by year) is answered from the finer one at
/// once, its cells summed and its donors and schemes counted distinct by the question, while it
/// is built in the background; then from its own cells. Both answers are those of a grouping
/// built from the base. The first answers come while no grouping can be built, with every
/// funding amount doubled behind the rollups, which a build from the base would count.
#[tokio::test]
async fn a_grouping_by_year_is_answered_from_a_finer_one_while_it_is_built() {
    let app = app_with_base().await;
    let admin = app.admin().await;
    let from_base = year_answers(&app, &admin, "from the base").await;

    drop_rollups(&app, None).await;
    for by in [
        json!(["MODALITY", "ORIENTATION", "THEME"]),
        json!(["ORIENTATION", "MODALITY"]),
    ] {
        app.data(
            GAPS,
            json!({ "by": by, "f": { "fromYear": 1990, "toYear": 2030 } }),
        )
        .await;
    }
    scale_funding_behind_the_rollups(&app, "* 2").await;
    let hold = hold_builds(&app).await;
    let from_finer = year_answers(&app, &admin, "from the finer groupings").await;
    // What an operator (and the load benchmark, before it measures) watches for.
    let running = || app.metric("c2c_rollup_builds_in_background");
    assert!(running().await >= 1.0, "builds held back show as running");
    hold.rollback().await.expect("builds let go");
    assert_eq!(
        from_base, from_finer,
        "built from the base (left) and read from the finer groupings (right)"
    );

    // Built in the background from the finer groupings: each question asked meanwhile starts
    // the builds again if they failed while held back.
    let mut waited = 0;
    while built(&app, &["THEME/YEAR", "ALL/YEAR"]).await < 2 {
        assert!(
            waited < 300,
            "the groupings by year were not built in the background"
        );
        assert_eq!(year_answers(&app, &admin, "meanwhile").await, from_base);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(year_answers(&app, &admin, "built").await, from_base);
    let mut waited = 0;
    while running().await > 0.0 {
        assert!(waited < 100, "builds done still show as running");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    scale_funding_behind_the_rollups(&app, "/ 2").await;
    assert_span_counts_agree(&app, "building in the background").await;
}

#[tokio::test]
async fn prepared_rollups_answer_groupings_with_one_dimension_of_several_values_a_practice() {
    let app = app_with_base().await;
    let total = "{ fundingGapTotal { activePractices requiredUsd fundedUsd pledgedUsd schemeCount donorCount disclosure } }";
    let questions: Vec<(String, Value)> = [
        json!(["THEME"]),
        json!(["COUNTRY"]),
        json!(["BLOC"]),
        json!(["MANAGEMENT_FOCUS"]),
        json!(["ORIENTATION"]),
        json!(["THEME", "MODALITY"]),
    ]
    .into_iter()
    .map(|by| (GAPS.to_owned(), json!({ "by": by })))
    .chain([(total.to_owned(), json!({}))])
    // By year: read from a prepared grouping by year while built from it.
    .chain([json!(["COUNTRY"]), json!(["BLOC", "MODALITY"])].map(|by| {
        let f = json!({ "fromYear": 2000, "toYear": 2003 });
        (GAPS.to_owned(), json!({ "by": by, "f": f }))
    }))
    .chain([(
        "query($f: GapFilter) { fundingGapTotal(filter: $f) { activePractices requiredUsd fundedUsd pledgedUsd schemeCount donorCount disclosure } }".to_owned(),
        json!({ "f": { "fromYear": 2000, "toYear": 2003 } }),
    )])
    .collect();
    let answers = |pass: &'static str| {
        let (app, questions) = (&app, &questions);
        async move {
            let mut answers = Vec::new();
            for (q, vars) in questions {
                answers.push(app.data(&format!("{q} # {pass}"), vars.clone()).await);
            }
            answers
        }
    };
    let from_base = answers("from the base").await;
    let theme_by_country = json!({ "by": ["COUNTRY", "THEME"] });
    let pair_from_base = app.data(GAPS, theme_by_country.clone()).await;
    let pair_over_years = json!({
        "by": ["THEME", "COUNTRY"],
        "f": { "fromYear": 2000, "toYear": 2003 },
    });
    let pair_over_years_from_base = app.data(GAPS, pair_over_years.clone()).await;
    let theme_by_bloc = json!({ "by": ["BLOC", "THEME"] });
    let other_pair_from_base = app.data(GAPS, theme_by_bloc.clone()).await;

    drop_rollups(&app, None).await;
    let prepare = || app.app().database().prepare_rollups(&|_, _, _| {});
    // Named by their dimensions, whatever order the names keep them in.
    let dims_of = |name: &str| {
        let (dims, by_year) = match name.strip_suffix("/YEAR") {
            Some(dims) => (dims, "/YEAR"),
            None => (name, ""),
        };
        let mut dims: Vec<&str> = dims.split(',').collect();
        dims.sort();
        format!("{}{by_year}", dims.join(","))
    };
    let mut built: Vec<String> = prepare()
        .await
        .expect("rollups prepared")
        .iter()
        .map(|name| dims_of(name))
        .collect();
    built.sort();
    let mut wanted: Vec<String> = [
        "ORIENTATION,MODALITY",
        "THEME,ORIENTATION,MODALITY",
        "COUNTRY,ORIENTATION,MODALITY",
        "BLOC,ORIENTATION,MODALITY",
        "MANAGEMENT_FOCUS,ORIENTATION,MODALITY",
    ]
    .into_iter()
    .flat_map(|name| [dims_of(name), dims_of(&format!("{name}/YEAR"))])
    .collect();
    wanted.sort();
    assert_eq!(
        built, wanted,
        "ORIENTATION x MODALITY, and with it each dimension of several values a practice, \
         whole-life and by year"
    );
    assert!(
        prepare().await.expect("prepared again").is_empty(),
        "nothing to build a second time"
    );
    // An operator prepares a grouping of two dimensions of several values, as the service
    // logs its name, whole-life and by year.
    let also: Vec<persistence::Grouping> = ["COUNTRY,THEME", "THEME,COUNTRY/YEAR"]
        .iter()
        .map(|name| name.parse().expect("a grouping"))
        .collect();
    assert_eq!(
        app.app()
            .database()
            .prepare_rollups_with(&also, &|_, _, _| {})
            .await
            .expect("the operator's groupings prepared"),
        ["THEME,COUNTRY", "THEME,COUNTRY/YEAR"]
    );

    // Summed from the prepared rollups, or read from the operator's, the answers cannot see
    // the funding doubled behind them; a grouping with two dimensions of several values a
    // practice that no one prepared is built from the base, and does.
    scale_funding_behind_the_rollups(&app, "* 2").await;
    assert_eq!(
        from_base,
        answers("prepared").await,
        "built from the base (left) and summed from the prepared rollups (right)"
    );
    assert_eq!(
        pair_from_base,
        app.data(&format!("{GAPS} # doubled"), theme_by_country)
            .await,
        "COUNTRY x THEME read from the rollup the operator prepared"
    );
    assert_eq!(
        pair_over_years_from_base,
        app.data(&format!("{GAPS} # doubled"), pair_over_years)
            .await,
        "THEME x COUNTRY over years read from the rollup by year the operator prepared"
    );
    assert_ne!(
        other_pair_from_base,
        app.data(&format!("{GAPS} # doubled"), theme_by_bloc).await,
        "BLOC x THEME is built from the base, doubled funding and all"
    );
    wait_until_built(&app, &["COUNTRY/YEAR", "BLOC,MODALITY/YEAR", "ALL/YEAR"]).await;
}

/// On PostgreSQL the service's connections plan no parallel workers: with the groupings by year
/// prepared, a year range's reads of the rollups were planned with workers whose start cost
/// three times the statement (see `persistence::db::connect_with`).
#[tokio::test]
async fn postgres_connections_plan_no_parallel_workers() {
    let app = spawn_app_with(Seed::Nothing).await;
    let db = app.database().await;
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let row = db
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SHOW max_parallel_workers_per_gather",
        ))
        .await
        .expect("the setting read")
        .expect("a row");
    let workers: String = row.try_get_by_index(0).expect("a value");
    assert_eq!(workers, "0");
}

/// On PostgreSQL the rollups are unlogged, so that a crash empties them; `gap_combo`, which
/// says which are built, must go with them, or it would name groupings whose rows are gone.
/// Every table of the rollups is unlogged, and its text keys compare byte by byte (see the
/// migration `rollups_unlogged`).
#[tokio::test]
async fn the_rollups_and_what_says_they_are_built_are_lost_together_on_postgres() {
    let app = spawn_app_with(Seed::Nothing).await;
    let db = app.database().await;
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT c.relname::text, c.relpersistence::text, \
               (SELECT COUNT(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 \
                  AND NOT a.attisdropped AND a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype, 'text'::regtype) \
                  AND a.attcollation <> 'pg_catalog.\"C\"'::regcollation) \
             FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'gap\\_%' ORDER BY 1",
        ))
        .await
        .unwrap();
    let tables: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
                r.try_get_by_index(2).unwrap(),
            )
        })
        .collect();
    assert!(
        tables.iter().any(|(name, ..)| name == "gap_combo")
            && tables
                .iter()
                .any(|(name, ..)| name == "gap_rollup_year_span_edge"),
        "{tables:?}"
    );
    for (name, persistence, other_collations) in &tables {
        assert_eq!(persistence, "u", "{name} is not unlogged: {tables:?}");
        assert_eq!(
            *other_collations, 0,
            "{name} has keys outside \"C\": {tables:?}"
        );
    }
}

/// On PostgreSQL a question's build vacuums its grouping's tables once done, so that the next
/// questions read its rows from the rollups' indexes alone: every page of them is then marked
/// visible to all, and by a VACUUM of the service's (autovacuum's are counted apart). The
/// question itself does not wait for it. A transaction whose snapshot predates the build keeps
/// the first VACUUM from marking the build's pages; once it ends, a VACUUM run again does.
#[tokio::test]
async fn a_grouping_built_by_a_question_is_vacuumed_for_reads_from_its_indexes_alone() {
    let app = app_on_base(|_| {}).await;
    let db = app.database().await;
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let tables = ["gap_rollup", "gap_rollup_member", "gap_rollup_confidential"];
    let before = vacuum_state(&db, &tables).await;
    // A snapshot taken before the build: while it lasts, no VACUUM may mark the build's pages.
    use sea_orm::TransactionTrait;
    let older = db
        .begin_with_config(Some(sea_orm::IsolationLevel::RepeatableRead), None)
        .await
        .expect("a transaction");
    older
        .execute_unprepared("SELECT COUNT(*) FROM gap_combo")
        .await
        .expect("its snapshot taken");
    let answer = gaps_by(&app, &["THEME", "BLOC"]).await;
    assert!(
        !answer["fundingGaps"].as_array().expect("cells").is_empty(),
        "{answer}"
    );
    let mut first = vacuum_state(&db, &tables).await;
    for _ in 0..300 {
        if first.iter().zip(&before).all(|(a, b)| a.1 > b.1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        first = vacuum_state(&db, &tables).await;
    }
    assert!(
        first.iter().any(|(_, _, visible, pages)| visible < pages),
        "pages marked visible to all under a snapshot older than the build: {first:?}"
    );
    older.commit().await.expect("the older snapshot let go");
    let mut after = vacuum_state(&db, &tables).await;
    for _ in 0..300 {
        let done = after
            .iter()
            .zip(&first)
            .all(|(a, b)| a.1 > b.1 && a.2 == a.3);
        if done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after = vacuum_state(&db, &tables).await;
    }
    assert!(
        after.iter().any(|(_, _, _, pages)| *pages > 0),
        "no rows built: {after:?}"
    );
    for ((table, vacuums, visible, pages), (_, vacuums_before, ..)) in after.iter().zip(&first) {
        assert!(
            vacuums > vacuums_before,
            "{table} not vacuumed again once the older snapshot ended: {first:?} then {after:?}"
        );
        assert_eq!(
            visible, pages,
            "{table}: pages not all visible after the build: {after:?}"
        );
    }
}

/// For each of `tables`: the VACUUMs run on it other than autovacuum's, and its pages marked
/// visible to every transaction against all its pages.
async fn vacuum_state(db: &DatabaseConnection, tables: &[&str]) -> Vec<(String, i64, i64, i64)> {
    let mut state = Vec::new();
    for table in tables {
        let row = db
            .query_one_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT s.vacuum_count, c.relallvisible::bigint, \
                       (pg_relation_size(c.oid) / current_setting('block_size')::bigint) \
                     FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid \
                     WHERE c.relname = '{table}'"
                ),
            ))
            .await
            .expect("the table's state read")
            .expect("a row");
        state.push((
            table.to_string(),
            row.try_get_by_index(0).expect("vacuums"),
            row.try_get_by_index(1).expect("pages visible"),
            row.try_get_by_index(2).expect("pages"),
        ));
    }
    state
}

/// A question waits for the first build of its grouping at most the store's `build_wait` (a
/// little less than the query deadline by default; here not at all): then it is told to ask
/// again, with a time to retry after, rather than that it ran too long, and the build goes on
/// without it. The GraphQL answer and the CSV export's say the same.
#[tokio::test]
async fn a_question_that_stops_waiting_for_its_build_is_told_when_to_ask_again() {
    let app = app_on_base(|s| s.database.build_wait = Some(std::time::Duration::ZERO)).await;
    let by = json!(["THEME", "COUNTRY"]);

    let first = app.graphql(GAPS, json!({ "by": by })).await;
    assert_eq!(error_code(&first), "UNAVAILABLE", "{first}");
    let error = &first["errors"][0];
    assert_eq!(error["extensions"]["retryAfterSeconds"], 5, "{first}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("grouping THEME,COUNTRY is being built"),
        "{first}"
    );
    const TOLD: &str = "c2c_rollup_questions_told_to_retry_total";
    assert_eq!(app.metric(TOLD).await, 1.0);

    wait_until_built(&app, &["THEME,COUNTRY"]).await;
    let later = app.graphql(GAPS, json!({ "by": by })).await;
    assert!(later["errors"].is_null(), "{later}");
    let cells = later["data"]["fundingGaps"].as_array().expect("cells");
    assert!(
        cells.iter().any(|c| c["key"][1]["dimension"] == "COUNTRY"),
        "{later}"
    );

    let response = app
        .client
        .get(format!(
            "{}/export/funding-gaps.csv?by=THEME,BLOC",
            app.address
        ))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"5"[..])
    );
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(error_code(&body), "UNAVAILABLE", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfterSeconds"], 5);
    assert_eq!(
        app.metric(TOLD).await,
        2.0,
        "the answered question not counted"
    );
    wait_until_built(&app, &["THEME,BLOC"]).await;
}

/// Rows of the rollup tables stored under `name`.
async fn cells_of(app: &TestApp, name: &str) -> i64 {
    let db = app.database().await;
    let mut rows = 0;
    for table in ["gap_rollup", "gap_rollup_member", "gap_rollup_confidential"] {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) FROM {table} WHERE combo = '{name}'"),
            ))
            .await
            .expect("cells counted")
            .expect("a count");
        rows += row.try_get_by_index::<i64>(0).expect("a count");
    }
    rows
}

/// An app configured by `configure`, on the small base.
async fn app_on_base(configure: impl FnOnce(&mut api::config::Settings) + 'static) -> TestApp {
    let app = TestApp::new().configure(configure).spawn().await;
    let db = app.database().await;
    seed::seed_information_base(&db, &seed::parse_information_base(&base()).unwrap())
        .await
        .unwrap();
    app
}

/// An app on the small base keeping `keep` groupings asked for, the cells of a dropped one
/// for `cells_for`, with the prepared groupings and BLOC x MANAGEMENT_FOCUS, which an operator
/// named, built.
async fn app_keeping(keep: usize, cells_for: std::time::Duration) -> TestApp {
    let app = app_on_base(move |s| {
        s.database.asked_groupings = keep;
        s.database.dropped_cells_kept_for = cells_for;
    })
    .await;
    let named: Vec<persistence::Grouping> = vec!["BLOC,MANAGEMENT_FOCUS".parse().unwrap()];
    app.app()
        .database()
        .prepare_rollups_with(&named, &|_, _, _| {})
        .await
        .expect("prepared, and the operator's grouping");
    app
}

async fn gaps_by(app: &TestApp, by: &[&str]) -> Value {
    app.data(GAPS, json!({ "by": by })).await
}

const DROPPED: &str = "c2c_rollup_groupings_dropped_total";

/// Any reader may ask for any of the groupings there are, and each built grouping makes every
/// write dearer for good: questions keep a bounded number built (two here), dropping the one
/// asked for least recently to make room, its cells soon after; writes no longer keep it. The
/// prepared groupings and those an operator named are never dropped.
#[tokio::test]
async fn questions_keep_a_few_groupings_and_drop_the_one_asked_for_least_recently() {
    let app = app_keeping(2, std::time::Duration::ZERO).await;
    let admin = app.admin().await;
    let (a, b, c) = (
        ["THEME", "COUNTRY"].as_slice(),
        ["THEME", "BLOC"].as_slice(),
        ["COUNTRY", "BLOC"].as_slice(),
    );

    gaps_by(&app, b).await;
    gaps_by(&app, a).await;
    assert_eq!(built(&app, &["THEME,COUNTRY", "THEME,BLOC"]).await, 2);
    assert!(cells_of(&app, "THEME,BLOC").await > 0);
    assert_eq!(app.metric(DROPPED).await, 0.0, "room for two");
    // THEME x BLOC asked for least recently: the third grouping takes its room.
    gaps_by(&app, c).await;
    assert_eq!(built(&app, &["THEME,COUNTRY", "BLOC,COUNTRY"]).await, 2);
    assert_eq!(built(&app, &["THEME,BLOC"]).await, 0, "dropped");
    assert_eq!(app.metric(DROPPED).await, 1.0);
    for _ in 0..100 {
        if cells_of(&app, "THEME,BLOC").await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(cells_of(&app, "THEME,BLOC").await, 0, "its cells deleted");

    // A write to a practice in its cells leaves it alone.
    let p1 = app.id_of("practices", "P1 water").await;
    let z = app.id_of("donors", "Donor Z").await;
    app.data_as(&admin, "mutation($p: ID!, $d: ID!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"700\", currency: \"EUR\", year: 2002, status: PLEDGED, sourceType: GRANTS_LOANS }) { id } }", json!({ "p": p1, "d": z }))
        .await;
    assert_eq!(cells_of(&app, "THEME,BLOC").await, 0, "not kept by writes");

    // Asked for in turn, each takes the room of the one asked for least recently; the prepared
    // groupings and the operator's stay.
    for (by, then_built) in [
        (b, ["THEME,BLOC", "BLOC,COUNTRY"]),
        (a, ["THEME,BLOC", "THEME,COUNTRY"]),
        (
            ["THEME", "MANAGEMENT_FOCUS"].as_slice(),
            ["THEME,COUNTRY", "THEME,MANAGEMENT_FOCUS"],
        ),
    ] {
        gaps_by(&app, by).await;
        assert_eq!(built(&app, &then_built).await, 2, "after {by:?}");
    }
    assert_eq!(
        built(&app, &["THEME,BLOC", "BLOC,COUNTRY"]).await,
        0,
        "dropped in turn"
    );
    assert_eq!(app.metric(DROPPED).await, 4.0);
    assert_eq!(
        built(
            &app,
            &[
                "BLOC,MANAGEMENT_FOCUS",
                "THEME,ORIENTATION,MODALITY",
                "ORIENTATION,MODALITY"
            ]
        )
        .await,
        3,
        "the operator's and the prepared groupings kept"
    );
}

/// A grouping dropped and asked for again before its cells go is built again from the base
/// without them (a write in between: counted twice, its old cells would show), and the cells
/// deleted later are not the new ones.
#[tokio::test]
async fn a_grouping_asked_for_again_before_its_cells_go_is_built_anew() {
    let kept_for = std::time::Duration::from_secs(2);
    let app = app_keeping(1, kept_for).await;
    let admin = app.admin().await;
    let (a, b) = (
        ["THEME", "BLOC"].as_slice(),
        ["COUNTRY", "MANAGEMENT_FOCUS"].as_slice(),
    );
    gaps_by(&app, a).await;
    gaps_by(&app, b).await;
    assert_eq!(built(&app, &["THEME,BLOC"]).await, 0, "dropped");
    assert!(
        cells_of(&app, "THEME,BLOC").await > 0,
        "its cells still there"
    );

    let p1 = app.id_of("practices", "P1 water").await;
    let z = app.id_of("donors", "Donor Z").await;
    app.data_as(&admin, "mutation($p: ID!, $d: ID!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"700\", currency: \"EUR\", year: 2002, status: PLEDGED, sourceType: GRANTS_LOANS }) { id } }", json!({ "p": p1, "d": z }))
        .await;
    let again = gaps_by(&app, a).await;
    assert_eq!(app.metric(DROPPED).await, 2.0);

    tokio::time::sleep(kept_for + std::time::Duration::from_millis(500)).await;
    let cells = cells_of(&app, "THEME,BLOC").await;
    assert!(cells > 0, "the new cells stay");
    assert_eq!(
        again,
        gaps_by(&app, a).await,
        "read from the cells that stayed"
    );
    drop_rollups(&app, Some("THEME,BLOC")).await;
    assert_eq!(
        again,
        gaps_by(&app, a).await,
        "built again (left) and from the base (right)"
    );
}

/// A question that finds its grouping's build under way, started by another, waits a second of
/// it, not the whole wait a question that starts a build is given: an expensive question (one
/// by year) holds one of the process's few permits while it waits, and clients asking again
/// during a long build would otherwise hold them all. Here the wait (60 s) outlasts the
/// deadline (10 s): waiting, the question would answer TIMEOUT.
#[tokio::test]
async fn a_question_finding_anothers_build_under_way_is_soon_told_to_ask_again() {
    let app =
        app_on_base(|s| s.database.build_wait = Some(std::time::Duration::from_secs(60))).await;
    let db = app.database().await;
    // A build of THEME x COUNTRY by year under way, as its first step marks it.
    db.execute_unprepared(&format!(
        "INSERT INTO gap_combo (combo, built_at) VALUES ('~THEME,COUNTRY/YEAR', '{}')",
        chrono::Utc::now().to_rfc3339()
    ))
    .await
    .expect("a build marked as under way");
    let years = json!({ "by": ["THEME", "COUNTRY"], "f": { "fromYear": 2000, "toYear": 2010 } });
    let answer = app.graphql(GAPS, years).await;
    assert_eq!(error_code(&answer), "UNAVAILABLE", "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["retryAfterSeconds"], 5);
    db.execute_unprepared("DELETE FROM gap_combo WHERE combo = '~THEME,COUNTRY/YEAR'")
        .await
        .expect("the mark removed");
}

/// The same for a build a question of this process started that has not yet marked itself
/// under way (on SQLite a build never does: it is one transaction, and its grouping shows as
/// absent until it is done). Builds are held back here, so the first question's build waits.
#[tokio::test]
async fn a_question_finding_a_build_this_process_started_is_soon_told_to_ask_again() {
    let app =
        app_on_base(|s| s.database.build_wait = Some(std::time::Duration::from_secs(60))).await;
    let years = json!({ "by": ["THEME", "BLOC"], "f": { "fromYear": 2000, "toYear": 2010 } });
    let hold = hold_builds(&app).await;
    let first = ask_aside(&app, GAPS, years.clone());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Another text: the response cache would have the second wait for the first's answer.
    let second = app
        .graphql(&format!("{GAPS} # second"), years.clone())
        .await;
    assert_eq!(error_code(&second), "UNAVAILABLE", "{second}");
    assert_eq!(
        second["errors"][0]["extensions"]["retryAfterSeconds"], 5,
        "told to ask again, not failed: {second}"
    );
    drop(hold);
    first.await.expect("the first question answered");
    wait_until_built(&app, &["THEME,BLOC/YEAR"]).await;
    let later = app.graphql(GAPS, years).await;
    assert!(later["errors"].is_null(), "{later}");
}

/// A question asked on a task of its own, answered when the task is awaited.
fn ask_aside(app: &TestApp, query: &str, variables: Value) -> tokio::task::JoinHandle<Value> {
    let (client, address, query) = (app.client.clone(), app.address.clone(), query.to_owned());
    tokio::spawn(async move {
        client
            .post(format!("{address}/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request sent")
            .json::<Value>()
            .await
            .expect("a JSON answer")
    })
}

/// A grouping this process built before, dropped and asked for again: a question told to ask
/// again during the new build is told when that is likely done from how long the last build
/// took (a fraction of a second on the small base), not the five seconds a build of unknown
/// length is given.
#[tokio::test]
async fn a_grouping_built_before_is_asked_for_again_when_its_build_is_likely_done() {
    let app = app_keeping_one_for_a_minute().await;
    built_and_dropped(&app).await;
    asked_again_while_builds_are_held(&app, &app).await;
}

/// The same, the grouping built before by another process on the database: each build's time
/// is kept with the base, so a process that never built the grouping (another replica, or this
/// one restarted) still tells its questions when the build is likely done, not five seconds.
#[tokio::test]
async fn a_grouping_built_by_another_process_is_asked_for_again_when_its_build_is_likely_done() {
    let app = app_keeping_one_for_a_minute().await;
    built_and_dropped(&app).await;
    let other = app.another_process(keep_one_for_a_minute).await;
    asked_again_while_builds_are_held(&app, &other).await;
}

fn keep_one_for_a_minute(s: &mut api::config::Settings) {
    s.database.asked_groupings = 1;
    s.database.build_wait = Some(std::time::Duration::from_secs(60));
}

/// An app on the small base keeping one grouping asked for, whose questions wait a minute for
/// a build.
async fn app_keeping_one_for_a_minute() -> TestApp {
    app_on_base(keep_one_for_a_minute).await
}

/// THEME x BLOC built, then dropped to make room for COUNTRY x MANAGEMENT_FOCUS.
async fn built_and_dropped(app: &TestApp) {
    app.data(GAPS, json!({ "by": ["THEME", "BLOC"] })).await;
    gaps_by(app, &["COUNTRY", "MANAGEMENT_FOCUS"]).await;
    assert_eq!(built(app, &["THEME,BLOC"]).await, 0, "dropped");
}

/// THEME x BLOC asked for of `asked` while builds are held back on `app`'s database: a first
/// question starts the build, a second finds it under way and is told to ask again in under
/// five seconds; the first is answered once builds go on.
async fn asked_again_while_builds_are_held(app: &TestApp, asked: &TestApp) {
    let pair = json!({ "by": ["THEME", "BLOC"] });
    let hold = hold_builds(app).await;
    // Other texts: the response cache holds the first answer, and would have the second wait
    // for the first's.
    let first = ask_aside(asked, &format!("{GAPS} # again"), pair.clone());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = asked.graphql(&format!("{GAPS} # second"), pair).await;
    assert_eq!(error_code(&second), "UNAVAILABLE", "{second}");
    let retry = second["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .expect("told when to ask again");
    assert!(retry < 5, "{second}");
    drop(hold);
    let first = first.await.expect("the first question answered");
    assert!(first["errors"].is_null(), "{first}");
}

/// A question whose grouping's last build took far longer than the question may wait is told
/// to ask again at once, not after waiting in vain; the build it starts goes on without it, its
/// time is kept anew and counted on `/metrics`.
#[tokio::test]
async fn a_question_is_told_at_once_when_the_last_build_outlasts_its_wait() {
    let app = app_on_base(|s| {
        s.database.build_wait = Some(std::time::Duration::from_secs(60));
    })
    .await;
    let db = app.database().await;
    // As if THEME x BLOC had taken two minutes to build on this base, and been dropped since.
    db.execute_unprepared(&format!(
        "INSERT INTO rollup_build (combo, took_ms, built_at) \
         VALUES ('THEME,BLOC', 120000, '{}')",
        chrono::Utc::now().to_rfc3339()
    ))
    .await
    .expect("a last build");

    let hold = hold_builds(&app).await;
    let pair = json!({ "by": ["THEME", "BLOC"] });
    // Held back, the build cannot end: a question waiting for it would wait its whole minute.
    let told = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        app.graphql(GAPS, pair.clone()),
    )
    .await
    .expect("told at once, not after waiting for the build");
    assert_eq!(error_code(&told), "UNAVAILABLE", "{told}");
    assert_eq!(
        told["errors"][0]["extensions"]["retryAfterSeconds"].as_u64(),
        Some(60),
        "what is left of two minutes, at most a minute: {told}"
    );
    assert!(
        told["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("THEME,BLOC is being built; retry in 60 s")),
        "{told}"
    );
    drop(hold);
    wait_until_built(&app, &["THEME,BLOC"]).await;
    // The time is kept just after the build is (see `note_build`): give it a moment.
    let mut took = 120_000;
    for _ in 0..100 {
        took = scalar(
            &db,
            "SELECT took_ms FROM rollup_build WHERE combo = 'THEME,BLOC'".into(),
        )
        .await;
        if took < 120_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(took < 120_000, "the new build's time kept: {took} ms");
    let answered = app.graphql(&format!("{GAPS} # built"), pair).await;
    assert!(answered["errors"].is_null(), "{answered}");
    assert_eq!(
        app.metric("c2c_rollup_build_duration_seconds_count{grouping=\"THEME,BLOC\"}")
            .await,
        1.0
    );
}

/// A process that stops between dropping a grouping and deleting its cells (kept a while for
/// the questions reading them) leaves them to the grouping's next build, as does a builder that
/// died after writing them. That build clears them before it computes the grouping anew: on
/// PostgreSQL a snapshot that still saw them could not write the same cells again, and the
/// question answered an error once.
#[tokio::test]
async fn a_grouping_whose_cells_were_left_behind_is_built_anew() {
    let app = app_on_base(|_| {}).await;
    let admin = app.admin().await;
    let whole = json!({ "by": ["THEME", "BLOC"] });
    let years = json!({ "by": ["THEME", "BLOC"], "f": { "fromYear": 2000, "toYear": 2010 } });
    app.data(GAPS, whole.clone()).await;
    app.data(GAPS, years.clone()).await;
    wait_until_built(&app, &["THEME,BLOC", "THEME,BLOC/YEAR"]).await;
    let db = app.database().await;
    db.execute_unprepared("DELETE FROM gap_combo WHERE combo = 'THEME,BLOC'")
        .await
        .expect("the grouping's row gone, its cells kept");
    // The grouping by year as a builder that died after writing its cells leaves it.
    let died = chrono::Utc::now() - chrono::Duration::hours(1);
    db.execute_unprepared(&format!(
        "UPDATE gap_combo SET combo = '~THEME,BLOC/YEAR', built_at = '{}' WHERE combo = 'THEME,BLOC/YEAR'",
        died.to_rfc3339()
    ))
    .await
    .expect("its build marked as under way an hour ago");
    assert!(cells_of(&app, "THEME,BLOC").await > 0, "cells left behind");

    // Writes no longer keep the left cells: only a build from the base counts this one.
    let p1 = app.id_of("practices", "P1 water").await;
    let z = app.id_of("donors", "Donor Z").await;
    app.data_as(&admin, "mutation($p: ID!, $d: ID!) { recordFunding(input: { practiceId: $p, donorId: $d, amount: \"700\", currency: \"EUR\", year: 2002, status: COMMITTED, sourceType: GRANTS_LOANS }) { id } }", json!({ "p": p1, "d": z }))
        .await;
    let again = (
        app.graphql(GAPS, whole.clone()).await,
        app.graphql(GAPS, years.clone()).await,
    );
    assert!(again.0["errors"].is_null(), "{}", again.0);
    assert!(again.1["errors"].is_null(), "{}", again.1);
    wait_until_built(&app, &["THEME,BLOC", "THEME,BLOC/YEAR"]).await;

    drop_rollups(&app, Some("THEME,BLOC")).await;
    drop_rollups(&app, Some("THEME,BLOC/YEAR")).await;
    let from_base = (
        app.data(&format!("{GAPS} # from the base"), whole).await,
        app.data(&format!("{GAPS} # from the base"), years).await,
    );
    assert_eq!(again.0["data"], from_base.0, "whole-life");
    assert_eq!(again.1["data"], from_base.1, "by year");
}
