//! GraphQL over HTTP's two answer formats. `application/json` answers every request that reached
//! GraphQL with 200, as older clients expect. A client that accepts
//! `application/graphql-response+json` gets that content type, and a request that failed before
//! it could run (not GraphQL, not valid, too large or costly, its variables of the wrong type,
//! over its budget) gets a 4xx or 5xx status and no `data` entry, so that it cannot be mistaken
//! for an answer whose fields are null.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};

pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// Whether the client lists `application/graphql-response+json` among what it accepts (not
/// refused with `q=0`).
pub fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let essence = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            essence.eq_ignore_ascii_case(GRAPHQL_RESPONSE) && !refused
        })
}

/// The status of a request that did not run, by its first error's code.
fn status_of(code: Option<&str>) -> StatusCode {
    match code {
        Some("RATE_LIMITED") => StatusCode::TOO_MANY_REQUESTS,
        Some("UNAVAILABLE") => StatusCode::SERVICE_UNAVAILABLE,
        Some("TIMEOUT") => StatusCode::GATEWAY_TIMEOUT,
        Some("UNAUTHENTICATED") => StatusCode::UNAUTHORIZED,
        Some("INTERNAL") => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Whether the response is a request error: nothing ran, so there is no data at all. An error
/// raised while running has a path; a field that failed leaves `data` (possibly null) behind.
fn is_request_error(response: &async_graphql::Response) -> bool {
    !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The HTTP answer of an executed request in the format the client asked for.
pub fn answer(response: async_graphql::Response, graphql_response: bool) -> HttpResponse {
    if !graphql_response {
        return HttpResponse::Ok().json(response);
    }
    let content_type = (
        header::CONTENT_TYPE,
        format!("{GRAPHQL_RESPONSE}; charset=utf-8"),
    );
    if is_request_error(&response) {
        let code = response.errors[0]
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|v| match v {
                async_graphql::Value::String(s) => Some(s.as_str()),
                _ => None,
            });
        // A client told when to retry (RATE_LIMITED) hears it the way HTTP says it as well.
        let retry_after = response.errors[0]
            .extensions
            .as_ref()
            .and_then(|e| e.get("retryAfterSeconds"))
            .and_then(|v| match v {
                async_graphql::Value::Number(n) => n.as_u64(),
                _ => None,
            });
        let mut answer = HttpResponse::build(status_of(code));
        answer.insert_header(content_type);
        if let Some(seconds) = retry_after {
            answer.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        let mut body = serde_json::json!({ "errors": response.errors });
        if !response.extensions.is_empty() {
            body["extensions"] = serde_json::json!(response.extensions);
        }
        return answer.body(body.to_string());
    }
    HttpResponse::Ok()
        .insert_header(content_type)
        .body(serde_json::to_string(&response).unwrap_or_else(|_| "{}".into()))
}

/// The HTTP answer of a request that ran without errors, from its serialized body.
pub fn body(body: actix_web::web::Bytes, graphql_response: bool) -> HttpResponse {
    let content_type = if graphql_response {
        "application/graphql-response+json; charset=utf-8"
    } else {
        "application/json"
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body)
}

/// A successful answer to a `GET` with the headers caches go by: an `ETag` of its body (a
/// request whose `If-None-Match` names it is answered 304 without one), and `Cache-Control` —
/// public for as long as the server's own cache may serve it when the caller is anonymous
/// (`public_for`), private otherwise.
pub fn cacheable(
    mut response: HttpResponse,
    body: &[u8],
    public_for: Option<std::time::Duration>,
    request: &HeaderMap,
) -> HttpResponse {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{tag}\"");
    let cache_control = match public_for.map(|d| d.as_secs()) {
        Some(0) => "public, no-cache".to_string(),
        Some(seconds) => format!("public, max-age={seconds}"),
        None => "private, no-cache".to_string(),
    };
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*");
    if fresh {
        response = HttpResponse::NotModified().finish();
    }
    let headers = response.headers_mut();
    for (name, value) in [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, cache_control),
        (header::VARY, "Accept, Authorization".to_string()),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_new_media_type_is_chosen_only_when_accepted() {
        assert!(wants_graphql_response(&accepting(
            "application/graphql-response+json, application/json;q=0.9"
        )));
        assert!(wants_graphql_response(&accepting(
            "application/json, Application/GraphQL-Response+JSON; charset=utf-8"
        )));
        assert!(!wants_graphql_response(&accepting("application/json")));
        assert!(!wants_graphql_response(&accepting("*/*")));
        assert!(!wants_graphql_response(&accepting(
            "application/graphql-response+json;q=0, application/json"
        )));
        assert!(!wants_graphql_response(&HeaderMap::new()));
    }
}
