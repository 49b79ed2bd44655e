//! GraphiQL served by the service alone: the page, every file it loads, the headers that keep
//! other scripts out, and a real browser that runs a query with no other host to reach.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderMap};

use crate::helpers::{TestApp, spawn_app};

const VENDORED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/api/assets/graphiql");

/// The values of the `src` and `href` attributes in `html`, in order.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in [" src=\"", " href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            let end = rest.find('"').expect("a closed attribute");
            found.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    found
}

async fn page(app: &TestApp, path: &str) -> (HeaderMap, String) {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let headers = response.headers().clone();
    (headers, response.text().await.expect("a page"))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("a text header")
}

#[tokio::test]
async fn the_page_and_everything_it_loads_come_from_the_service() {
    let app = spawn_app().await;
    let (headers, html) = page(&app, "/graphql").await;
    let (_, at_its_own_path) = page(&app, "/graphiql").await;
    assert_eq!(html, at_its_own_path);

    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
    let policy: Vec<&str> = header(&headers, "content-security-policy")
        .split(';')
        .map(str::trim)
        .collect();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(policy.contains(&directive), "{directive} in {policy:?}");
    }
    let styles = policy
        .iter()
        .find(|d| d.starts_with("style-src "))
        .expect("style-src");
    assert!(
        styles
            .split_whitespace()
            .skip(1)
            .all(|source| source == "'self'" || source.starts_with("'sha256-")),
        "styles only from the service or by hash: {styles}"
    );
    assert!(!policy.iter().any(|d| d.contains("unsafe")), "{policy:?}");

    for external in ["http:", "https:", "//"] {
        assert!(!html.contains(external), "{external} in the page:\n{html}");
    }
    assert!(!html.contains("<script>"), "an inline script:\n{html}");
    assert!(!html.contains("<style"), "an inline style:\n{html}");

    let references = references(&html);
    let loaded: Vec<&String> = references
        .iter()
        .filter(|r| !r.starts_with("data:"))
        .collect();
    assert_eq!(
        loaded.len(),
        6,
        "two stylesheets and four scripts: {references:?}"
    );
    for reference in loaded {
        assert!(
            reference.starts_with("graphiql/assets/"),
            "{reference} is not one of the service's assets"
        );
        let response = app
            .client
            .get(format!("{}/{reference}", app.address))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{reference}");
        let headers = response.headers().clone();
        let expected_type = if reference.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(
            header(&headers, CONTENT_TYPE.as_str()).starts_with(expected_type),
            "{reference}: {headers:?}"
        );
        let caching = header(&headers, CACHE_CONTROL.as_str());
        assert!(
            caching.contains("max-age=31536000") && caching.contains("immutable"),
            "{reference}: {caching}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        let body = response.bytes().await.expect("a body");
        assert!(!body.is_empty(), "{reference}");
        // The vendored files go out exactly as published.
        let name = reference.trim_start_matches("graphiql/assets/");
        let (stem, extension) = name.rsplit_once('.').expect("an extension");
        let (stem, _digest) = stem.rsplit_once('.').expect("a digest in the name");
        let vendored = std::path::Path::new(VENDORED).join(format!("{stem}.{extension}"));
        if vendored.exists() {
            assert!(
                body.as_ref() == std::fs::read(&vendored).expect("read").as_slice(),
                "{reference} differs from {}",
                vendored.display()
            );
        }
    }
}

#[tokio::test]
async fn assets_are_found_only_under_the_names_the_page_gives_them() {
    let app = spawn_app().await;
    for name in [
        "graphiql.min.js",
        "graphiql.min.000000000000.js",
        "../Cargo.toml",
    ] {
        let response = app
            .client
            .get(format!("{}/graphiql/assets/{name}", app.address))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{name}");
    }
}

/// GraphiQL in Chromium, offline: `tests/js/graphiql.mjs` with `playwright-core`. Runs when
/// `C2C_CHROMIUM` names a Chromium executable and `C2C_PLAYWRIGHT` a `node_modules` folder that
/// holds `playwright-core` (`.ci/run` provides both), and only on SQLite: the page does not
/// depend on the database, once is enough. Otherwise skipped, and says so.
#[tokio::test]
async fn graphiql_runs_a_query_in_chromium_with_no_other_host_to_reach() {
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        eprintln!("the GraphiQL browser test runs on SQLite only: skipped on PostgreSQL");
        return;
    }
    let (Ok(chromium), Ok(modules)) = (
        std::env::var("C2C_CHROMIUM"),
        std::env::var("C2C_PLAYWRIGHT"),
    ) else {
        eprintln!(
            "C2C_CHROMIUM and C2C_PLAYWRIGHT are not both set: the GraphiQL browser test is skipped"
        );
        return;
    };
    assert!(
        std::path::Path::new(&chromium).exists(),
        "C2C_CHROMIUM names {chromium}, which does not exist"
    );
    let app = spawn_app().await;
    let countries = app
        .data("{ countries { code } }", serde_json::json!({}))
        .await;
    let first = countries["countries"][0]["code"]
        .as_str()
        .expect("the seed has countries")
        .to_string();
    let url = format!("{}/graphql", app.address);
    crate::helpers::run_node("graphiql.mjs", vec![url, first], modules).await;
}
