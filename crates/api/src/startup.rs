//! Building and running the HTTP server.

use std::net::TcpListener;
use std::sync::atomic::Ordering;

use actix_web::dev::Server;
pub use actix_web::dev::ServerHandle;
use actix_web::{App as HttpApp, HttpRequest, HttpResponse, HttpServer, web};
use async_graphql::http::GraphiQLSource;
use domain::{Error, Result};

use crate::app::App;
pub use crate::app::Services;
use crate::auth;
use crate::config::{MAX_REQUEST_BYTES, Settings};
use crate::metrics::{self, HttpMetrics};

pub struct Application {
    port: u16,
    server: Server,
    app: App,
}

struct State {
    app: App,
    http_metrics: HttpMetrics,
}

impl Application {
    /// Opens the app (see [`App::open`]) and binds the server; it serves once run.
    pub async fn build(settings: Settings) -> Result<Application> {
        let app = App::open(&settings).await?;
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| Error::internal(format!("cannot bind {}: {e}", settings.bind)))?;
        let port = listener.local_addr().map_err(Error::internal)?.port();
        let state = web::Data::new(State {
            app: app.clone(),
            http_metrics: HttpMetrics::default(),
        });
        let server = HttpServer::new(move || {
            HttpApp::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
                .route("/graphql", web::post().to(graphql_post))
                .route("/graphql", web::get().to(graphiql))
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics_text))
        })
        .listen(listener)
        .map_err(Error::internal)?
        .run();
        tracing::info!(port, "listening");
        Ok(Application { port, server, app })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The app the server answers from.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stops the server from elsewhere once it runs.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Counts a GraphQL request that carried errors.
fn count_error(state: &State) {
    state
        .http_metrics
        .graphql_errors
        .fetch_add(1, Ordering::Relaxed);
}

fn error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

async fn graphql_post(
    state: web::Data<State>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    state
        .http_metrics
        .graphql_requests
        .fetch_add(1, Ordering::Relaxed);
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            count_error(&state);
            return HttpResponse::BadRequest().json(error_body(
                "VALIDATION",
                &format!("the body is not a GraphQL request: {e}"),
            ));
        }
    };
    let header = http
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("invalid"));
    let services = state.app.services();
    let actor = match auth::actor_from_header(header, services.jwt(), services.accounts()).await {
        Ok(actor) => actor,
        Err(Error::Unauthenticated) => {
            count_error(&state);
            return HttpResponse::Unauthorized().json(error_body(
                "UNAUTHENTICATED",
                "the access token is invalid or expired; sign in or refresh",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "resolving the actor failed");
            return HttpResponse::InternalServerError()
                .json(error_body("INTERNAL", "internal error"));
        }
    };
    // The peer address, not a forwarded header a client could forge.
    let client = http
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let response = services.execute(request, actor, client).await;
    if response.is_err() {
        count_error(&state);
    }
    HttpResponse::Ok().json(response)
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(GraphiQLSource::build().endpoint("/graphql").finish())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// How long the readiness probe waits for the database: a probe must answer, even when the
/// database does not.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(800);

async fn readyz(state: web::Data<State>) -> HttpResponse {
    let ping = tokio::time::timeout(READY_WITHIN, state.app.database().ping()).await;
    match ping.unwrap_or_else(|_| Err(Error::unavailable("no answer within the probe's time"))) {
        Ok(()) => HttpResponse::Ok().body("ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().body("database unreachable")
        }
    }
}

async fn metrics_text(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics::render(
            &state.http_metrics,
            state.app.database().metrics(),
        ))
}
