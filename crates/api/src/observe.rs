//! Following one request through the logs and the metrics: its request id, and per GraphQL
//! operation the name, latency and cost, with a warning for the slow ones.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
    NextValidation,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};
use tracing::Instrument;

use crate::metrics::Metrics;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Longest request id taken from a client; a longer one is replaced.
pub const MAX_REQUEST_ID: usize = 128;
pub const DEFAULT_SLOW_OPERATION: Duration = Duration::from_secs(1);

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An id a client may choose: short printable ASCII without spaces, so that it cannot forge log
/// lines or blow up their size.
fn is_sane(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The id of a request: the client's `X-Request-Id` when sane, else a new UUID.
pub fn request_id_of(given: Option<&HeaderValue>) -> String {
    given
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_sane(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Middleware: gives the request its id, runs it inside a span carrying that id (so every line
/// it logs names it), answers with the id in `X-Request-Id`, and logs the answer.
pub async fn request_id(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id_of(request.headers().get(&REQUEST_ID_HEADER));
    // `otel.*` and `http.*` name the span as OpenTelemetry's HTTP conventions do; recorded only
    // when traces are exported, since they would repeat method and path on every log line.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.path(),
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    let traced = crate::telemetry::exports_traces();
    if traced {
        span.record(
            "otel.name",
            tracing::field::display(format_args!("{} {}", request.method(), request.path())),
        );
        span.record("otel.kind", "server");
    }
    let started = Instant::now();
    let answered = REQUEST_ID
        .scope(id.clone(), next.call(request).instrument(span.clone()))
        .await;
    let mut response = answered?;
    if traced {
        span.record("http.response.status_code", response.status().as_u16());
    }
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "answered"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(response)
}

/// The extension recording each operation's latency under its name, and logging the slow ones.
pub struct Observe {
    metrics: Arc<Metrics>,
    slow: Duration,
}

impl Observe {
    pub fn new(metrics: Arc<Metrics>, slow: Duration) -> Observe {
        Observe { metrics, slow }
    }
}

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observed {
            metrics: self.metrics.clone(),
            slow: self.slow,
            seen: Mutex::default(),
        })
    }
}

#[derive(Default)]
struct Seen {
    /// The operation that ran, or the only named one of the document.
    name: Option<String>,
    cost: Option<usize>,
}

struct Observed {
    metrics: Arc<Metrics>,
    slow: Duration,
    seen: Mutex<Seen>,
}

impl Observed {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Records one operation's latency under its name, and logs it when it was slow.
pub fn record(
    metrics: &Metrics,
    slow: Duration,
    name: Option<&str>,
    cost: Option<usize>,
    elapsed: Duration,
    response: &Response,
) {
    let label = metrics.operation_label(name);
    metrics.observe_operation(&label, elapsed.as_secs_f64());
    if elapsed >= slow {
        tracing::warn!(
            request_id = current_request_id().as_deref().unwrap_or("-"),
            operation = %label,
            duration_ms = elapsed.as_millis() as u64,
            cost = cost.unwrap_or_default(),
            errors = response.errors.len(),
            "slow operation"
        );
    }
}

#[async_trait::async_trait]
impl Extension for Observed {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let (name, cost) = {
            let seen = self.seen();
            (seen.name.clone(), seen.cost)
        };
        record(
            &self.metrics,
            self.slow,
            name.as_deref(),
            cost,
            started.elapsed(),
            &response,
        );
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let DocumentOperations::Multiple(operations) = &document.operations
            && operations.len() == 1
        {
            self.seen().name = operations.keys().next().map(|n| n.to_string());
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        self.seen().cost = Some(result.complexity);
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(name) = operation_name {
            self.seen().name = Some(name.to_owned());
        }
        next.run(ctx, operation_name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_request_ids_are_kept() {
        let of = |v: &str| request_id_of(Some(&HeaderValue::from_str(v).unwrap()));
        assert_eq!(of("abc-123_x.y"), "abc-123_x.y");
        for insane in [
            "",
            "two words",
            &"x".repeat(MAX_REQUEST_ID + 1),
            "tab\there",
        ] {
            let id = of(insane);
            assert_ne!(id, insane);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        assert!(uuid::Uuid::parse_str(&request_id_of(None)).is_ok());
    }
}
