//! GraphiQL, served from this binary alone: React, GraphiQL and their stylesheet are embedded as
//! published (`crates/api/assets/graphiql/`, versions and sums in its `VERSIONS`), next to the
//! page's own HTML, stylesheet and boot script. A browser that opens the page asks nothing of any
//! other host, so it works offline, and the Content-Security-Policy keeps any other script from
//! running next to a signed-in user's token.

use std::sync::LazyLock;

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

/// Where the assets are served; each name carries a digest of its content.
pub const ASSETS_PATH: &str = "/graphiql/assets";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files the page loads, in the order it loads them (React before GraphiQL, which uses it).
const FILES: [(&str, &str, &[u8]); 6] = [
    (
        "graphiql.min.css",
        CSS,
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    ("page.css", CSS, include_bytes!("page.css")),
    (
        "react.production.min.js",
        JS,
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        JS,
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "graphiql.min.js",
        JS,
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    ("boot.js", JS, include_bytes!("boot.js")),
];

/// What the page may load and do. Each source it allows is there because GraphiQL needs it.
const POLICY: [&str; 9] = [
    // Nothing that is not allowed below.
    "default-src 'none'",
    // React, GraphiQL and the boot script, all from here: no inline script and no eval.
    "script-src 'self'",
    // GraphiQL's stylesheet and the page's, from here. Element styles GraphiQL sets from script
    // go through the CSSOM, which this does not govern, so no 'unsafe-inline' is needed. The one
    // hash is the scroll lock GraphiQL's dialogs (settings, shortcuts) write as a <style>
    // element: its text depends only on the page's margins and scrollbar, all zero on this page,
    // so it is always the same. A GraphiQL that writes another text needs the hash it reports.
    "style-src 'self' 'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='",
    // GraphiQL's stylesheet carries its fonts, and a few images, inline as data: URLs; the page
    // names a data: favicon so that the browser asks for none.
    "font-src 'self' data:",
    "img-src 'self' data:",
    // The queries GraphiQL sends, to this server's endpoint only.
    "connect-src 'self'",
    // No other page may frame it (clickjacking), rebase its relative URLs or take a form post.
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
];

/// The `Content-Security-Policy` the page is served with.
pub fn content_security_policy() -> String {
    POLICY.join("; ")
}

struct Asset {
    name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The assets under their served names: `graphiql.min.js` becomes `graphiql.min.<digest>.js`, so
/// a name always means the same bytes and browsers may keep a file for good.
static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(file, content_type, bytes)| {
            let digest = Sha256::digest(bytes);
            let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
            let name = match file.rsplit_once('.') {
                Some((stem, extension)) => format!("{stem}.{short}.{extension}"),
                None => format!("{file}.{short}"),
            };
            Asset {
                name,
                content_type,
                bytes,
            }
        })
        .collect()
});

/// The page. Its URLs are relative, so that it also works when a proxy serves the API under a
/// path of its own: both `/graphql` and `/graphiql` sit at the root, next to `graphiql/assets/`.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let relative = ASSETS_PATH.trim_start_matches('/');
    let mut styles = String::new();
    let mut scripts = String::new();
    for asset in ASSETS.iter() {
        let url = format!("{relative}/{}", asset.name);
        if asset.content_type == CSS {
            styles.push_str(&format!("<link rel=\"stylesheet\" href=\"{url}\">\n"));
        } else {
            scripts.push_str(&format!("<script src=\"{url}\"></script>\n"));
        }
    }
    format!(
        "<!doctype html>\n\
         <html lang=\"en\">\n\
         <head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>C2C Forum API · GraphiQL</title>\n\
         <link rel=\"icon\" href=\"data:,\">\n\
         {styles}\
         </head>\n\
         <body>\n\
         <div id=\"graphiql\" data-endpoint=\"graphql\">Loading GraphiQL…</div>\n\
         <noscript>GraphiQL needs JavaScript.</noscript>\n\
         {scripts}\
         </body>\n\
         </html>\n"
    )
});

/// `GET /graphiql`, and `GET /graphql` when the URL carries no query.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // Always asked again, so that a new release's asset names reach the browser at once.
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .insert_header((header::CONTENT_SECURITY_POLICY, content_security_policy()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(PAGE.as_str())
}

/// `GET /graphiql/assets/{name}`: one embedded file, to be kept for a year and never revalidated.
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.name == *name) else {
        return HttpResponse::NotFound().finish();
    };
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(365 * 24 * 60 * 60),
            CacheDirective::Extension("immutable".into(), None),
        ]))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(asset.bytes)
}

/// The page at `/graphiql` and its assets; `/graphql` serves the page itself (see `startup`).
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/graphiql", web::get().to(page))
        .route(&format!("{ASSETS_PATH}/{{name}}"), web::get().to(asset));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_its_digest_and_nothing_else() {
        for asset in ASSETS.iter() {
            assert!(PAGE.contains(&format!("graphiql/assets/{}", asset.name)));
        }
        assert!(!PAGE.contains("//"), "no absolute URL: {}", *PAGE);
        assert!(!PAGE.contains("<script>"), "no inline script");
        assert!(!PAGE.contains("<style"), "no inline style");
    }

    /// What is embedded is what the registry published: every file `VERSIONS` names has the
    /// SHA-256 written there, and every vendored file the page loads is named there.
    #[test]
    fn the_vendored_files_have_the_sums_their_versions_file_records() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/graphiql");
        let versions = std::fs::read_to_string(format!("{folder}/VERSIONS")).expect("VERSIONS");
        let mut named = Vec::new();
        for line in versions
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [file, _package, _inner, sum] = fields[..] else {
                panic!("not <file> <package>@<version> <path> <sha256>: {line}");
            };
            let bytes = std::fs::read(format!("{folder}/{file}")).expect(file);
            let actual: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(actual, sum, "{file}");
            named.push(file);
        }
        let ours = ["page.css", "boot.js"];
        for (file, _, _) in FILES.iter().filter(|(f, _, _)| !ours.contains(f)) {
            assert!(named.contains(file), "{file} is not in VERSIONS");
        }
    }

    #[test]
    fn a_change_to_a_file_changes_its_name() {
        let names: Vec<_> = ASSETS.iter().map(|a| a.name.as_str()).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(names[4].starts_with("graphiql.min.") && names[4].ends_with(".js"));
        assert_ne!(names[4], "graphiql.min.js");
    }
}
