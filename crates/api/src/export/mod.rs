//! Files for the aid-data ecosystem: `GET /export/iati/activities.xml` (and the same document
//! for the command line) and the CSV files of [`csv`]. Documents are written a page of records
//! at a time and sent as they are written (chunked responses), so their size does not bound
//! what the server holds.

mod csv;

use std::io::Write;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::exchange::iati::{self, ExportOptions};
use domain::exchange::{ActivityRecord, EXPORT_PAGE, Exchange};
use domain::repository::PracticeFilter;
use domain::{Actor, Error, Result};
use futures_util::stream::{self, Stream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::app::App;
use crate::auth;

/// Exports the process runs at once; more are answered RATE_LIMITED. A whole-base export reads
/// every page of the base, so a few at once would leave the database no time for anything else
/// (they bypass the GraphQL budgets, which price one answer, not a file).
pub const EXPORTS_AT_ONCE: usize = 2;

/// What the export routes need: the app, the reporting organisation's identifier, and the
/// permits of the exports running.
#[derive(Clone)]
pub struct ExportState {
    app: App,
    reporting_org: String,
    running: Arc<Semaphore>,
}

impl ExportState {
    pub fn new(app: App, reporting_org: String) -> Self {
        ExportState {
            app,
            reporting_org,
            running: Arc::new(Semaphore::new(EXPORTS_AT_ONCE)),
        }
    }

    /// A permit for one more export, held until its answer has been sent or dropped; `None`
    /// when as many run already.
    fn permit(&self) -> Option<OwnedSemaphorePermit> {
        self.running.clone().try_acquire_owned().ok()
    }
}

/// A streamed answer; `permit` is released when the stream is done or the client goes away.
/// What a signed-in caller gets may hold what only they may read (drafts, confidential
/// amounts): no cache keeps it, and every answer says it differs by the token.
fn streamed(
    content_type: &'static str,
    signed_in: bool,
    chunks: impl Stream<Item = Result<Bytes>> + 'static,
    permit: OwnedSemaphorePermit,
) -> HttpResponse {
    let logged = futures_util::StreamExt::map(chunks, move |chunk| {
        let _running = &permit;
        chunk.map_err(|e| {
            tracing::error!(error = %e, "an export stopped");
            actix_web::error::ErrorInternalServerError("the export stopped")
        })
    });
    let mut answer = HttpResponse::Ok();
    answer
        .content_type(content_type)
        .insert_header((header::VARY, "Authorization"));
    if signed_in {
        answer.insert_header((header::CACHE_CONTROL, "private, no-store"));
    }
    answer.streaming(logged)
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.route(
        "/export/iati/activities.xml",
        web::get().to(iati_activities),
    );
    csv::routes(config);
}

/// A refused request as the JSON error GraphQL answers with: the same codes, the field of a
/// validation error, nothing internal.
fn error_answer(err: Error) -> HttpResponse {
    use actix_web::http::StatusCode;
    if let Error::Preparing {
        retry_after_seconds,
        ..
    } = &err
    {
        let extensions =
            serde_json::json!({ "code": "UNAVAILABLE", "retryAfterSeconds": retry_after_seconds });
        return HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
            .insert_header((
                actix_web::http::header::RETRY_AFTER,
                retry_after_seconds.to_string(),
            ))
            .json(serde_json::json!({ "errors": [{ "message": err.to_string(), "extensions": extensions }] }));
    }
    let (status, code, message, field) = match err {
        Error::Validation { field, message } => (
            StatusCode::BAD_REQUEST,
            "VALIDATION",
            format!("invalid {field}: {message}"),
            Some(field),
        ),
        Error::NotFound { entity, id } => (
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{entity} {id} not found"),
            None,
        ),
        Error::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "authentication required".into(),
            None,
        ),
        Error::Forbidden(why) => (
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("forbidden: {why}"),
            None,
        ),
        Error::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "too many attempts, retry later".into(),
            None,
        ),
        Error::Unavailable(detail) => {
            tracing::warn!(%detail, "database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the service is unavailable for a moment; retry later".into(),
                None,
            )
        }
        other => {
            tracing::error!(error = %other, "an export failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error".into(),
                None,
            )
        }
    };
    let mut extensions = serde_json::json!({ "code": code });
    if let Some(field) = field {
        extensions["field"] = serde_json::Value::String(field);
    }
    HttpResponse::build(status)
        .json(serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] }))
}

/// Where the writing of a document is.
enum Progress {
    /// The opening to write, then this page (read before the answer started).
    Start(Vec<ActivityRecord>),
    /// A page of activities to write (the last when empty).
    Page(Vec<ActivityRecord>),
    /// The page after the one written could not be read.
    Failed(Error),
    Done,
}

/// The IATI document `actor` may read of the practices `filter` selects, as the chunks it is
/// sent in: the opening, one chunk per page of activities (`first` the first page), the
/// closing. An error ends the stream (and so the response, unfinished).
fn iati_chunks(
    exchange: Exchange,
    actor: Actor,
    filter: PracticeFilter,
    options: ExportOptions,
    first: Vec<ActivityRecord>,
) -> impl Stream<Item = Result<Bytes>> {
    stream::unfold(Progress::Start(first), move |progress| {
        let (exchange, actor, filter) = (exchange.clone(), actor.clone(), filter.clone());
        let options = options.clone();
        async move {
            match progress {
                Progress::Start(first) => Some((
                    Ok(Bytes::from(iati::document_start(&options))),
                    Progress::Page(first),
                )),
                Progress::Page(records) => {
                    let Some(last) = records.last().map(|r| r.practice.id) else {
                        return Some((
                            Ok(Bytes::from_static(iati::document_end().as_bytes())),
                            Progress::Done,
                        ));
                    };
                    let mut chunk = String::new();
                    for record in &records {
                        chunk.push_str(&iati::activity(record, &options));
                    }
                    let next = match exchange
                        .activities(&actor, filter, Some(last), EXPORT_PAGE)
                        .await
                    {
                        Ok(next) => Progress::Page(next),
                        Err(e) => Progress::Failed(e),
                    };
                    Some((Ok(Bytes::from(chunk)), next))
                }
                Progress::Failed(e) => Some((Err(e), Progress::Done)),
                Progress::Done => None,
            }
        }
    })
}

/// The practices a query string selects (`themes=ENVIRONMENT,HOUSING&countryCode=NL`): the
/// filters of `GET /export/practices.csv` and of the IATI export, refused (`Validation` with the
/// parameter as its field) when a name or value is not one of theirs.
pub fn practice_filter(query: &str) -> Result<PracticeFilter> {
    csv::Params::parse(query)?.practice_filter()
}

/// Writes the IATI document `actor` may read of the practices `filter` selects to `out`, a page
/// at a time; returns the number of activities written.
pub async fn write_iati(
    exchange: &Exchange,
    actor: &Actor,
    filter: PracticeFilter,
    options: &ExportOptions,
    out: &mut impl Write,
) -> Result<u64> {
    let io = |e: std::io::Error| Error::internal(format!("writing the export: {e}"));
    out.write_all(iati::document_start(options).as_bytes())
        .map_err(io)?;
    let mut after = None;
    let mut written = 0;
    loop {
        let records = exchange
            .activities(actor, filter.clone(), after, EXPORT_PAGE)
            .await?;
        let Some(last) = records.last() else { break };
        after = Some(last.practice.id);
        for record in &records {
            out.write_all(iati::activity(record, options).as_bytes())
                .map_err(io)?;
        }
        written += records.len() as u64;
    }
    out.write_all(iati::document_end().as_bytes()).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(written)
}

pub fn options(reporting_org: &str, generated: DateTime<Utc>) -> ExportOptions {
    ExportOptions {
        reporting_org: reporting_org.to_string(),
        generated,
    }
}

/// The caller from the bearer token, as `POST /graphql` reads it; an answer when there is none.
async fn actor_of(app: &App, http: &HttpRequest) -> std::result::Result<Actor, HttpResponse> {
    let header = http
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("invalid"));
    let services = app.services();
    match auth::actor_from_header(header, services.jwt(), services.accounts()).await {
        Ok(actor) => Ok(actor),
        Err(Error::Unauthenticated) => Err(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .body("the access token is invalid or expired; sign in or refresh\n")),
        Err(e) => {
            tracing::error!(error = %e, "resolving the actor failed");
            Err(HttpResponse::InternalServerError().body("internal error\n"))
        }
    }
}

async fn iati_activities(state: web::Data<ExportState>, http: HttpRequest) -> HttpResponse {
    let actor = match actor_of(&state.app, &http).await {
        Ok(actor) => actor,
        Err(answer) => return answer,
    };
    let filter = match practice_filter(http.query_string()) {
        Ok(filter) => filter,
        Err(e) => return error_answer(e),
    };
    let Some(permit) = state.permit() else {
        return error_answer(Error::RateLimited);
    };
    let options = options(&state.reporting_org, Utc::now());
    let exchange = state.app.services().exchange().clone();
    // The first page is read before the answer starts, so that a failure to read it is an
    // error answer rather than a cut-off document.
    let first = match exchange
        .activities(&actor, filter.clone(), None, EXPORT_PAGE)
        .await
    {
        Ok(first) => first,
        Err(e) => return error_answer(e),
    };
    streamed(
        "application/xml; charset=utf-8",
        !matches!(actor, domain::Actor::Anonymous),
        iati_chunks(exchange, actor, filter, options, first),
        permit,
    )
}
