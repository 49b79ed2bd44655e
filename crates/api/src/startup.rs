//! Building and running the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix_web::dev::Server;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use async_graphql::http::GraphiQLSource;
use domain::account::Accounts;
use domain::analytics::{Analytics, Matchmaking};
use domain::editing::Editor;
use domain::service::Catalog;
use domain::{Error, Result};
use persistence::db::{self, DbMetrics};
use persistence::{SeaStore, seed};
use sea_orm::DatabaseConnection;

use crate::auth::{self, JwtKeys};
use crate::config::{MAX_REQUEST_BYTES, Settings};
use crate::graphql::account::ClientAddress;
use crate::graphql::{self, AppSchema, loaders::loaders};
use crate::metrics::{self, HttpMetrics};

pub struct Application {
    port: u16,
    server: Server,
}

/// The schema and the services its resolvers call: what executing a GraphQL request needs.
#[derive(Clone)]
pub struct Services {
    schema: AppSchema,
    catalog: Catalog,
    accounts: Accounts,
    editor: Editor,
    analytics: Analytics,
    matchmaking: Matchmaking,
    jwt: JwtKeys,
    batch_window: std::time::Duration,
}

impl Services {
    pub fn new(db: DatabaseConnection, jwt: JwtKeys, batch_window: std::time::Duration) -> Self {
        let store = Arc::new(SeaStore::new(db));
        let (hasher, tokens) = auth::token_services();
        Services {
            schema: graphql::schema(),
            catalog: Catalog::new(store.clone()),
            accounts: Accounts::new(store.clone(), hasher, tokens),
            analytics: Analytics::new(store.clone()),
            matchmaking: Matchmaking::new(store.clone()),
            editor: Editor::new(store),
            jwt,
            batch_window,
        }
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Executes one request as `actor`, with fresh dataloaders.
    pub async fn execute(
        &self,
        request: async_graphql::Request,
        actor: domain::Actor,
        client: String,
    ) -> async_graphql::Response {
        let request = request
            .data(loaders(
                self.catalog.clone(),
                actor.clone(),
                self.batch_window,
            ))
            .data(self.catalog.clone())
            .data(self.accounts.clone())
            .data(self.editor.clone())
            .data(self.analytics.clone())
            .data(self.matchmaking.clone())
            .data(self.jwt.clone())
            .data(ClientAddress(client))
            .data(actor);
        self.schema.execute(request).await
    }
}

struct State {
    services: Services,
    db: DatabaseConnection,
    db_metrics: Arc<DbMetrics>,
    http_metrics: HttpMetrics,
}

/// Connects, migrates and loads the reference data; seeds the information base into an empty
/// database when asked to.
pub async fn prepare_database(
    settings: &Settings,
    metrics: Arc<DbMetrics>,
) -> Result<DatabaseConnection> {
    let db = db::connect(&settings.database_url, metrics).await?;
    db::migrate(&db).await?;
    seed::ensure_reference_data(&db).await?;
    if settings.seed_if_empty && seed::is_empty(&db).await? {
        let base = seed::parse_information_base(seed::INFORMATION_BASE_JSON)?;
        let report = seed::seed_information_base(&db, &base).await?;
        tracing::info!(
            ?report,
            "seeded the information base into an empty database"
        );
    }
    Ok(db)
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application> {
        let db_metrics = Arc::new(DbMetrics::default());
        let db = prepare_database(&settings, db_metrics.clone()).await?;
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| Error::internal(format!("cannot bind {}: {e}", settings.bind)))?;
        let port = listener.local_addr().map_err(Error::internal)?.port();
        let state = web::Data::new(State {
            services: Services::new(db.clone(), settings.jwt.clone(), settings.batch_window),
            db,
            db_metrics,
            http_metrics: HttpMetrics::default(),
        });
        let server = HttpServer::new(move || {
            App::new()
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
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
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
            state
                .http_metrics
                .graphql_errors
                .fetch_add(1, Ordering::Relaxed);
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
    let actor = match auth::actor_from_header(header, &state.services.jwt, &state.services.accounts)
        .await
    {
        Ok(actor) => actor,
        Err(Error::Unauthenticated) => {
            state
                .http_metrics
                .graphql_errors
                .fetch_add(1, Ordering::Relaxed);
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
    let response = state.services.execute(request, actor, client).await;
    if response.is_err() {
        state
            .http_metrics
            .graphql_errors
            .fetch_add(1, Ordering::Relaxed);
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

async fn readyz(state: web::Data<State>) -> HttpResponse {
    match db::ping(&state.db).await {
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
        .body(metrics::render(&state.http_metrics, &state.db_metrics))
}
