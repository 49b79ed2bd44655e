//! The nested pages of practices are written straight from their records (`graphql::direct`)
//! unless a server is told not to. Over one base, a server answering directly and one answering
//! every query with the schema must send the same bytes for every caller (anonymous, a city's
//! practitioner, a donor's staff, the secretariat): the same records, in the same order, each
//! value written as the schema writes it. A query the direct answer does not know, or one the
//! schema refuses, must come out the same as well, from the schema.

use domain::actor::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};

/// The load benchmark's nested page.
const BENCHMARK_PAGE: &str = include_str!("../../bench/queries/nested-page.graphql");

/// Every field the direct answer knows, through aliases, fragments, variables (one left to its
/// default), `@include` and `@skip`, and `__typename` on every type.
const EVERY_FIELD: &str = "query Page($n: Int!, $after: String, $money: Boolean!, $noCities: Boolean = false, $schemes: Int) {
  list: practices(first: $n, after: $after) {
    __typename
    totalCount
    items: nodes {
      ...Card
      money: funding(first: 3) @include(if: $money) {
        __typename totalCount
        nodes { ...Money }
        pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
        edges { __typename cursor node { id } }
      }
      cities @skip(if: $noCities) { ...Place }
      participants { __typename role city { ...Place } }
      schemes(first: $schemes) {
        totalCount
        edges { cursor node { __typename id version status name description source startYear endYear budget budgetCurrency openForApplications } }
        pageInfo { hasNextPage endCursor }
      }
      ... on Practice { alsoTitle: title }
    }
    edges { __typename cursor node { id } }
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
  }
}
fragment Card on Practice {
  __typename id version status title summary context outcomes issues source startYear endYear
  orientation modality themes managementFocus cooperatingParties amountRequired amountRequiredCurrency
}
fragment Place on City {
  __typename id version name kind population latitude longitude
  country { __typename code alpha3 name bloc ldc }
}
fragment Money on Funding {
  __typename id version amount currency rate rateSource amountUsd year status sourceType
  confidential sourceName note donor { __typename id version name acronym kind description }
}";

/// The filter of the in-process benchmark, and the text search.
const FILTERED: &str = "query($filter: PracticeFilter) {
  practices(first: 40, filter: $filter) {
    totalCount
    nodes { title themes cities { name country { code bloc ldc } } schemes { nodes { name } } funding { totalCount nodes { amountUsd status donor { name } } } }
  }
}";

/// The load benchmark's donor page.
const BENCHMARK_DONORS: &str = include_str!("../../bench/queries/donor-page.graphql");

/// Every field of donors the direct answer knows.
const EVERY_DONOR_FIELD: &str = "query($kind: DonorKind, $n: Int) {
  donors(first: $n, filter: { kind: $kind }) {
    __typename totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        __typename id version name acronym kind description
        country { code alpha3 name bloc ldc }
        funding(first: 4) {
          totalCount pageInfo { hasNextPage endCursor }
          nodes {
            id amount amountUsd confidential year
            practice { __typename id version status title summary startYear endYear orientation modality amountRequired amountRequiredCurrency }
            donor { name country { code } }
          }
        }
      }
    }
  }
}";

/// The load benchmark's report of overlaps among schemes.
const BENCHMARK_OVERLAPS: &str = include_str!("../../bench/queries/scheme-overlaps.graphql");

/// Every field of the report of overlaps the direct answer knows, a list asked twice under
/// two keys (one for its count alone).
const EVERY_OVERLAP_FIELD: &str = "query($n: Int, $after: String) {
  report: schemeOverlaps {
    __typename
    overlaps {
      __typename theme orientation supportModality
      schemes(first: $n, after: $after) {
        __typename totalCount
        edges { __typename cursor node { __typename id version status name description source startYear endYear budget budgetCurrency openForApplications } }
        pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
      }
      shared: sharedPractices(first: 2, after: $after) {
        __typename totalCount
        nodes { __typename id version status title summary context outcomes issues source startYear endYear orientation modality amountRequired amountRequiredCurrency }
        edges { __typename cursor node { ... on Practice { title } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
      counted: sharedPractices { totalCount }
    }
    unsupported { __typename theme orientation practices }
  }
}";

/// The load benchmark's matches of a need.
const BENCHMARK_MATCHES: &str = include_str!("../../bench/queries/matches.graphql");

/// Every field of a need's matches the direct answer knows.
const EVERY_MATCH_FIELD: &str = "query($need: ID!, $n: Int) {
  found: matches(needId: $need, first: $n) {
    __typename
    practices { __typename score reasons practice { __typename id version status title summary startYear endYear orientation modality amountRequired amountRequiredCurrency } }
    cities { __typename score reasons city { __typename id version name kind population latitude longitude country { __typename code alpha3 name bloc ldc } } }
    schemes { score reasons scheme { __typename id version status name description source startYear endYear budget budgetCurrency openForApplications } }
    donors { __typename reasons score donor { __typename id version name acronym kind description country { code name } } }
  }
}";

/// One request of the comparison, and whether the direct answer should write it.
struct Case {
    name: &'static str,
    query: &'static str,
    variables: Value,
    direct: bool,
}

fn cases(after: &str, need: &str) -> Vec<Case> {
    let case = |name, query, variables, direct| Case {
        name,
        query,
        variables,
        direct,
    };
    vec![
        case("the benchmark's page", BENCHMARK_PAGE, json!({}), true),
        case(
            "every field",
            EVERY_FIELD,
            json!({ "n": 30, "money": true }),
            true,
        ),
        case(
            "every field, the next page, no funding, no cities",
            EVERY_FIELD,
            json!({ "n": 25, "after": after, "money": false, "noCities": true, "schemes": 1 }),
            true,
        ),
        case(
            "the benchmark's donor page",
            BENCHMARK_DONORS,
            json!({}),
            true,
        ),
        case(
            "every field of donors",
            EVERY_DONOR_FIELD,
            json!({ "n": 25 }),
            true,
        ),
        case(
            "donors of a kind",
            EVERY_DONOR_FIELD,
            json!({ "kind": "BILATERAL", "n": 5 }),
            true,
        ),
        case(
            "the benchmark's scheme overlaps",
            BENCHMARK_OVERLAPS,
            json!({}),
            true,
        ),
        case(
            "every field of overlaps",
            EVERY_OVERLAP_FIELD,
            json!({ "n": 3 }),
            true,
        ),
        case(
            "overlaps' next pages",
            EVERY_OVERLAP_FIELD,
            json!({ "n": 1, "after": after }),
            true,
        ),
        case(
            "the benchmark's matches",
            BENCHMARK_MATCHES,
            json!({ "need": need }),
            true,
        ),
        case(
            "every field of matches",
            EVERY_MATCH_FIELD,
            json!({ "need": need, "n": 7 }),
            true,
        ),
        case(
            "practices' funding with its practice",
            "{ practices(first: 12) { nodes { id funding(first: 3) { nodes { id practice { id title } } } } } }",
            json!({}),
            true,
        ),
        case(
            "filtered",
            FILTERED,
            json!({ "filter": { "themes": ["ENVIRONMENT"], "activeInYear": 2010 } }),
            true,
        ),
        case(
            "by words",
            FILTERED,
            json!({ "filter": { "text": "water" } }),
            true,
        ),
        case(
            "drafts",
            FILTERED,
            json!({ "filter": { "status": "DRAFT" } }),
            true,
        ),
        case(
            "nothing found",
            FILTERED,
            json!({ "filter": { "countryCode": "ZZ" } }),
            true,
        ),
        // Left to the schema: a field the direct answer does not know, a key asked twice, a
        // second root field, a page too large (refused), a filter naming no city.
        case(
            "a field it does not know",
            "{ practices(first: 5) { nodes { title partners { name } } } }",
            json!({}),
            false,
        ),
        case(
            "a practice's relations under its funding",
            "{ donors(first: 3) { nodes { funding(first: 2) { nodes { practice { title themes } } } } } }",
            json!({}),
            false,
        ),
        // Only the root list's records have their pages read: a donor a record names is
        // answered by the schema when its own funding is asked.
        case(
            "a donor's funding under a record of a donor",
            "{ donors(first: 3) { nodes { funding(first: 2) { nodes { donor { name funding(first: 1) { nodes { id } } } } } } } }",
            json!({}),
            false,
        ),
        case(
            "a donor's funding under a record of a practice",
            "{ practices(first: 3) { nodes { funding(first: 2) { nodes { donor { funding { totalCount } } } } } } }",
            json!({}),
            false,
        ),
        // A shared practice's relations are not read with the report.
        case(
            "a shared practice's themes",
            "{ schemeOverlaps { overlaps { sharedPractices { nodes { title themes } } } } }",
            json!({}),
            false,
        ),
        case(
            "an overlap's page too large",
            "{ schemeOverlaps { overlaps { schemes(first: 101) { nodes { id } } } } }",
            json!({}),
            false,
        ),
        case(
            "an argument the report does not take",
            "{ schemeOverlaps(first: 1) { unsupported { theme } } }",
            json!({}),
            false,
        ),
        case(
            "a matched practice's themes",
            "query($need: ID!) { matches(needId: $need) { practices { practice { title themes } } } }",
            json!({ "need": need }),
            false,
        ),
        case(
            "matches of no such need",
            "{ matches(needId: \"TmVlZDo5OTk5OTk\") { practices { score } } }",
            json!({}),
            false,
        ),
        case(
            "matches of an id of another kind",
            "{ matches(needId: \"UHJhY3RpY2U6MQ\") { practices { score } } }",
            json!({}),
            false,
        ),
        case(
            "a key asked twice",
            "{ practices(first: 5) { nodes { id ... on Practice { id title } } } }",
            json!({}),
            false,
        ),
        case(
            "two root fields",
            "{ practices(first: 2) { nodes { id } } countries { code } }",
            json!({}),
            false,
        ),
        case(
            "a page too large",
            "{ practices(first: 500) { nodes { id } } }",
            json!({}),
            false,
        ),
        case(
            "a nested page too large",
            "{ practices(first: 2) { nodes { funding(first: 101) { nodes { id } } } } }",
            json!({}),
            false,
        ),
        case(
            "a city id of another kind",
            "{ practices(first: 2, filter: { cityId: \"UHJhY3RpY2U6MQ\" }) { nodes { id } } }",
            json!({}),
            false,
        ),
    ]
}

/// A server over `direct`'s base that answers every query with the schema, uncached.
async fn answering_with_the_schema(direct: &TestApp) -> TestApp {
    direct
        .another_process(|s| {
            s.direct_answers = false;
            s.response_cache.max_bytes = 0;
        })
        .await
}

async fn body(app: &TestApp, user: Option<&TestUser>, case: &Case) -> String {
    let mut request = app.client.post(format!("{}/graphql", app.address));
    if let Some(user) = user {
        request = request.bearer_auth(&user.access_token);
    }
    let response = request
        .json(&json!({ "query": case.query, "variables": case.variables }))
        .send()
        .await
        .expect("an answer");
    response.text().await.expect("a body")
}

#[tokio::test]
async fn direct_answers_are_the_schemas_byte_for_byte_for_every_caller() {
    let direct = TestApp::new()
        .seeded()
        .with_user(Role::Practitioner)
        .with_user(Role::Donor)
        .configure(|s| s.response_cache.max_bytes = 0)
        .spawn()
        .await;
    direct.add_synthetic(400, 3).await;
    let schema = answering_with_the_schema(&direct).await;
    let admin = direct.admin().await;
    let users = [
        ("anonymous", None),
        ("a practitioner", Some(direct.user_of(Role::Practitioner))),
        ("a donor's staff", Some(direct.user_of(Role::Donor))),
        ("the secretariat", Some(&admin)),
    ];

    let first = direct
        .data("{ practices(first: 10) { edges { cursor } } }", json!({}))
        .await;
    let after = first["practices"]["edges"][9]["cursor"]
        .as_str()
        .expect("a tenth practice")
        .to_string();
    let needs = direct
        .data("{ needs(first: 1) { nodes { id } } }", json!({}))
        .await;
    let need = needs["needs"]["nodes"][0]["id"]
        .as_str()
        .expect("a published need")
        .to_string();
    let cases = |after: &str| cases(after, &need);

    let mut written = 0;
    let mut expected = 0;
    for (who, user) in users {
        for case in cases(&after) {
            let before = direct.metric("c2c_direct_answers_total").await;
            let ours = body(&direct, user, &case).await;
            let theirs = body(&schema, user, &case).await;
            let wrote = direct.metric("c2c_direct_answers_total").await - before;
            assert_eq!(
                ours, theirs,
                "{} as {who}: the direct answer differs from the schema's",
                case.name
            );
            assert_eq!(
                wrote,
                if case.direct { 1.0 } else { 0.0 },
                "{} as {who}: answered directly {wrote} times",
                case.name
            );
            written += wrote as usize;
            expected += usize::from(case.direct);
            let answer: Value = serde_json::from_str(&ours).expect("JSON");
            assert_eq!(
                answer.get("errors").is_some(),
                ["too large", "another kind", "does not take", "no such"]
                    .iter()
                    .any(|refused| case.name.contains(refused)),
                "{} as {who}: {ours}",
                case.name
            );
        }
        let page: Value =
            serde_json::from_str(&body(&direct, user, &cases(&after)[0]).await).expect("JSON");
        let nodes = page["data"]["practices"]["nodes"]
            .as_array()
            .expect("nodes");
        assert_eq!(nodes.len(), 50, "a full page as {who}");
        let donors = nodes
            .iter()
            .flat_map(|n| n["funding"]["nodes"].as_array().expect("funding").clone())
            .filter(|f| f["donor"]["name"].is_string())
            .count();
        assert!(donors > 20, "funding with donors as {who}: {donors}");
        // The report compared above has overlaps whose lists run over more than a page.
        let every = (cases(&after).into_iter())
            .find(|c| c.name == "every field of overlaps")
            .expect("the case");
        let report: Value = serde_json::from_str(&body(&direct, user, &every).await).expect("JSON");
        let overlaps = report["data"]["report"]["overlaps"]
            .as_array()
            .expect("overlaps");
        let longer = |list: &str| {
            (overlaps.iter())
                .filter(|o| o[list]["pageInfo"]["hasNextPage"] == true)
                .count()
        };
        assert!(
            longer("schemes") > 0 && longer("shared") > 0,
            "overlaps with more than a page of schemes and of shared practices as {who}"
        );
        assert!(
            !report["data"]["report"]["unsupported"].is_null(),
            "{report}"
        );
        // The matches compared above name records of every kind.
        let every = (cases(&after).into_iter())
            .find(|c| c.name == "every field of matches")
            .expect("the case");
        let found: Value = serde_json::from_str(&body(&direct, user, &every).await).expect("JSON");
        for (list, field) in [
            ("practices", "practice"),
            ("cities", "city"),
            ("schemes", "scheme"),
            ("donors", "donor"),
        ] {
            let named = found["data"]["found"][list]
                .as_array()
                .expect("a list")
                .iter()
                .filter(|m| m[field]["id"].is_string())
                .count();
            assert!(named > 0, "matched {list} as {who}: {found}");
        }
    }
    assert_eq!(written, expected, "direct answers");
    assert!(written >= 40, "{written} direct answers");
}

/// A page of practices with each one's cities, schemes and funding.
const ALONG: &str = "query($f: PracticeFilter) {
  practices(first: 20, filter: $f) {
    nodes {
      id title
      participants { role city { id name } }
      schemes(first: 5) { nodes { id name } }
      funding(first: 5) { nodes { id amount year donor { name } } }
    }
  }
}";

/// On PostgreSQL a page of practices and its nested lists are read at once, each nested list's
/// statement selecting the page's practices itself, and a list is kept when its statement
/// selected the page's practices: its rows tell which, those without children included. (One
/// that selected others is read again: a unit test of `persistence::along` covers the choice.)
/// SQLite reads the page first, then the lists for its ids. Either way the page is the
/// schema's, byte for byte.
#[tokio::test]
async fn nested_lists_read_with_their_page_are_kept_when_they_selected_its_practices() {
    let direct = TestApp::new()
        .seeded()
        .configure(|s| s.response_cache.max_bytes = 0)
        .spawn()
        .await;
    let schema = answering_with_the_schema(&direct).await;
    let admin = direct.admin().await;
    let postgres = direct.database().await.get_database_backend() == sea_orm::DbBackend::Postgres;
    let counted = || async {
        (
            direct.metric("c2c_db_lists_read_along_total").await,
            direct.metric("c2c_db_lists_read_again_total").await,
        )
    };
    let compare = |variables: Value| {
        let case = Case {
            name: "along",
            query: ALONG,
            variables,
            direct: true,
        };
        let admin = &admin;
        let (direct, schema) = (&direct, &schema);
        async move {
            let ours = body(direct, Some(admin), &case).await;
            assert_eq!(ours, body(schema, Some(admin), &case).await);
            serde_json::from_str::<Value>(&ours).expect("JSON")
        }
    };

    // The seeded page: every practice with cities, and schemes and funding among them.
    let before = counted().await;
    let page = compare(json!({})).await;
    let nodes = page["data"]["practices"]["nodes"]
        .as_array()
        .expect("nodes");
    let with = |list: &str| {
        (nodes.iter())
            .filter(|n| !n[list]["nodes"].as_array().expect("a page").is_empty())
            .count()
    };
    assert!(with("schemes") > 0 && with("funding") > 0, "{page}");
    let after = counted().await;
    let expected = if postgres { (3.0, 0.0) } else { (0.0, 0.0) };
    assert_eq!((after.0 - before.0, after.1 - before.1), expected);

    // A new practice alone on its page, with a city but no schemes and no funding: its empty
    // lists still tell which practice their statements selected.
    // Saved after the seeded practices, so alone in saving after this.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let since = chrono::Utc::now();
    let city = direct
        .data("{ cities(first: 1) { nodes { id } } }", json!({}))
        .await;
    let city = city["cities"]["nodes"][0]["id"].as_str().expect("a city");
    let created = direct
        .data_as(
            &admin,
            "mutation($i: PracticeInput!) { createPractice(input: $i) { id } }",
            json!({ "i": crate::helpers::practice_input("Along the page", city) }),
        )
        .await;
    let before = counted().await;
    let page = compare(json!({ "f": { "updatedSince": since.to_rfc3339() } })).await;
    let nodes = page["data"]["practices"]["nodes"]
        .as_array()
        .expect("nodes");
    assert_eq!(nodes.len(), 1, "{page}");
    assert_eq!(nodes[0]["id"], created["createPractice"]["id"]);
    assert_eq!(nodes[0]["participants"][0]["city"]["id"], city);
    let after = counted().await;
    assert_eq!(nodes[0]["schemes"]["nodes"], json!([]));
    assert_eq!(nodes[0]["funding"]["nodes"], json!([]));
    let expected = if postgres { (3.0, 0.0) } else { (0.0, 0.0) };
    assert_eq!((after.0 - before.0, after.1 - before.1), expected);
}

#[tokio::test]
async fn a_server_told_not_to_answers_every_query_with_the_schema() {
    let app = TestApp::new()
        .seeded()
        .configure(|s| s.direct_answers = false)
        .spawn()
        .await;
    let page = app.data(BENCHMARK_PAGE, json!({})).await;
    assert!(
        !page["practices"]["nodes"]
            .as_array()
            .expect("nodes")
            .is_empty()
    );
    assert_eq!(app.metric("c2c_direct_answers_total").await, 0.0);
}
