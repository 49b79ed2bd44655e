//! Building and running the HTTP server.

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::Server;
pub use actix_web::dev::ServerHandle;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{StatusCode, Uri};
use actix_web::middleware::Condition;
use actix_web::{App as HttpApp, HttpRequest, HttpResponse, HttpServer, web};
use domain::{Error, Result};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::app::Method;
pub use crate::app::Services;
use crate::auth;
use crate::config::{MAX_REQUEST_BYTES, Settings};

/// The code of an HTTP request that is not a GraphQL request this server takes: a body that is
/// not JSON or too large, a content type other than JSON.
pub const BAD_REQUEST: &str = "BAD_REQUEST";

pub struct Application {
    port: u16,
    server: Server,
    metrics: Option<(u16, Server)>,
    app: App,
    stopping: tokio::sync::watch::Sender<bool>,
}

/// Stops the server as SIGTERM does (see [`Application::stopper`]).
#[derive(Clone)]
pub struct Stopper(tokio::sync::watch::Sender<bool>);

impl Stopper {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

struct State {
    app: App,
    /// SHA-256 of the token `/metrics` asks for, if any: compared digest to digest so the time
    /// a comparison takes says nothing about the token.
    metrics_token: Option<[u8; 32]>,
    trusted_proxies: Vec<std::net::IpAddr>,
    /// The largest multipart request body (a file to import) taken.
    max_upload_bytes: usize,
    subscriptions: crate::subscriptions::SubscriptionSettings,
    connections: crate::subscriptions::Connections,
}

impl Application {
    /// Opens the app (see [`App::open`]) and binds the server, and the metrics server when
    /// `settings.metrics_bind` is set; they serve once run.
    pub async fn build(settings: Settings) -> Result<Application> {
        let cors_origins = checked_origins(&settings.cors_origins)?;
        // Bound before the database is opened: an address taken or mistyped stops the start
        // before a base is migrated and seeded for a server that would never run.
        let (listener, port) = bind("bind", &settings.bind)?;
        let metrics_listener = match &settings.metrics_bind {
            Some(address) => Some(bind("metrics_bind", address)?),
            None => None,
        };
        let app = App::open(&settings).await?;
        let (stopping, _) = tokio::sync::watch::channel(false);
        let state = web::Data::new(State {
            app: app.clone(),
            metrics_token: settings
                .metrics_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(digest),
            trusted_proxies: settings.trusted_proxies.clone(),
            max_upload_bytes: settings.max_upload_bytes,
            subscriptions: settings.subscriptions.clone(),
            connections: crate::subscriptions::Connections::new(stopping.subscribe()),
        });
        let export_state = web::Data::new(crate::export::ExportState::new(
            app.clone(),
            settings.iati_reporting_org.clone(),
        ));
        let metrics_here = settings.metrics_bind.is_none();
        let main_state = state.clone();
        let server = HttpServer::new(move || {
            HttpApp::new()
                .wrap(actix_web::middleware::from_fn(crate::observe::request_id))
                .app_data(main_state.clone())
                .app_data(web::PayloadConfig::new(MAX_REQUEST_BYTES))
                .service(
                    web::resource("/graphql")
                        .wrap(Condition::new(
                            !cors_origins.is_empty(),
                            cors(&cors_origins),
                        ))
                        .route(
                            web::post()
                                .guard(actix_web::guard::fn_guard(is_multipart))
                                .to(graphql_multipart),
                        )
                        .route(web::post().to(graphql_post))
                        .route(
                            web::get()
                                .guard(actix_web::guard::fn_guard(crate::subscriptions::is_upgrade))
                                .to(graphql_subscriptions),
                        )
                        .route(web::get().to(graphql_get))
                        .default_service(web::to(method_not_allowed)),
                )
                .configure(crate::graphiql::routes)
                .app_data(export_state.clone())
                .configure(crate::export::routes)
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .configure(|config| {
                    if metrics_here {
                        config.route("/metrics", web::get().to(metrics_text));
                    }
                })
                .default_service(web::to(not_found))
        })
        .shutdown_signal(stop_signal(stopping.clone()))
        .listen(listener)
        .map_err(Error::internal)?
        .run();
        let metrics = match metrics_listener {
            Some((listener, port)) => {
                let server = HttpServer::new(move || {
                    HttpApp::new()
                        .app_data(state.clone())
                        .route("/metrics", web::get().to(metrics_text))
                })
                .workers(1)
                // Stopped by the main server's stop (see `run_until_stopped`) and nothing
                // else: with actix's own signal handling a SIGQUIT stopped it alone, leaving
                // the service answering without its metrics.
                .disable_signals()
                .listen(listener)
                .map_err(Error::internal)?
                .run();
                tracing::info!(port, "serving metrics");
                Some((port, server))
            }
            None => None,
        };
        app.database().serving_begins();
        tracing::info!(port, "listening");
        Ok(Application {
            port,
            server,
            metrics,
            app,
            stopping,
        })
    }

    /// Stops the server gracefully from elsewhere once it runs, as SIGTERM does: subscriptions
    /// are closed (1001, to connect again), the requests under way answered.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stopping.clone())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` is served on when it has an address of its own.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// The app the server answers from.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Stops the server from elsewhere once it runs (the metrics server stops with it); a
    /// graceful stop this way waits for open subscriptions (see [`Self::stopper`]).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (a signal, or [`Self::handle`]), then closes the
    /// database.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            metrics,
            app,
            ..
        } = self;
        let stopped = match metrics {
            None => server.await,
            Some((_, metrics)) => {
                let metrics_handle = metrics.handle();
                let main = async move {
                    let stopped = server.await;
                    metrics_handle.stop(true).await;
                    stopped
                };
                let (main, metrics) = tokio::join!(main, metrics);
                main.and(metrics)
            }
        };
        app.close().await;
        stopped
    }
}

/// What starts the server's graceful stop: SIGTERM, SIGINT (Ctrl-C), SIGQUIT or a [`Stopper`].
/// SIGQUIT stops as SIGTERM does, so that no signal meant to end the service leaves it half
/// running (actix's own handling stopped the metrics server alone on it). It then tells the
/// open subscriptions, which close themselves (a stop waits for the connections under
/// way, and a subscription's never ends on its own).
async fn stop_signal(stopping: tokio::sync::watch::Sender<bool>) {
    let mut asked = stopping.subscribe();
    // A signal that cannot be listened for never comes, rather than stopping the server now.
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let (terminate, quit) = {
        use tokio::signal::unix::SignalKind;
        (
            arrives(SignalKind::terminate()),
            arrives(SignalKind::quit()),
        )
    };
    #[cfg(not(unix))]
    let (terminate, quit) = (std::future::pending::<()>(), std::future::pending::<()>());
    let by = tokio::select! {
        _ = interrupt => "SIGINT",
        _ = terminate => "SIGTERM",
        _ = quit => "SIGQUIT",
        // Never an error: this holds a sender.
        _ = asked.wait_for(|stopping| *stopping) => "a stopper",
    };
    tracing::info!(
        by,
        "stopping: closing subscriptions, answering the requests under way"
    );
    stopping.send_replace(true);
}

#[cfg(unix)]
async fn arrives(kind: tokio::signal::unix::SignalKind) {
    match tokio::signal::unix::signal(kind) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        // As in `stop_signal`: never, rather than now.
        Err(_) => std::future::pending().await,
    }
}

/// Listens on `address`, the value of `setting`: a mistyped or taken address is the operator's
/// to fix, said as such.
fn bind(setting: &str, address: &str) -> Result<(TcpListener, u16)> {
    checked_address(setting, address)?;
    let listener = TcpListener::bind(address)
        .map_err(|e| Error::validation(setting, format!("cannot listen on {address}: {e}")))?;
    let port = listener.local_addr().map_err(Error::internal)?.port();
    Ok((listener, port))
}

/// Whether `address` (the value of `setting`) names somewhere to listen: `host:port`, the host
/// an IP address or a name this machine resolves.
pub fn checked_address(setting: &str, address: &str) -> Result<()> {
    use std::net::ToSocketAddrs;
    match address.to_socket_addrs().map(|mut found| found.next()) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Error::validation(
            setting,
            format!("{address:?} resolves to no address"),
        )),
        Err(e) => Err(Error::validation(
            setting,
            format!("{address:?} is not an address to listen on (host:port): {e}"),
        )),
    }
}

/// The allowed origins, each exactly as a browser sends it in `Origin` (`https://host[:port]`,
/// no path, no wildcard): anything else would silently never match.
pub fn checked_origins(origins: &[String]) -> Result<Vec<String>> {
    origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let exact = origin.parse::<Uri>().ok().and_then(|uri| {
                let scheme = uri.scheme_str().filter(|s| *s == "http" || *s == "https")?;
                let authority = uri.authority()?;
                (format!("{scheme}://{authority}") == origin).then(|| origin.to_string())
            });
            exact.ok_or_else(|| {
                Error::validation(
                    "corsOrigins",
                    format!("{origin:?} is not an origin such as https://forum.example"),
                )
            })
        })
        .collect()
}

/// Browsers on `origins` may POST JSON (or an upload) with a bearer token and read the answer; preflights from
/// other origins are refused and their requests get no CORS headers.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::HeaderName::from_static(PREFLIGHT_HEADERS[0]),
            header::HeaderName::from_static(PREFLIGHT_HEADERS[1]),
        ])
        .max_age(3600)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Counts a GraphQL request that carried errors.
fn count_error(state: &State) {
    state.app.services().metrics().graphql_errors.inc();
}

fn error_body(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

/// Every other answer of this server is a JSON error with a code; a wrong path or method is
/// answered alike rather than with an empty body.
async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(error_body(
        "NOT_FOUND",
        "nothing is served at this path: the API is at /graphql",
    ))
}

/// Written out because actix's own answer lists each route's method, `POST, POST, GET, GET`.
async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, POST"))
        .json(error_body(
            BAD_REQUEST,
            "/graphql takes GET (queries) and POST",
        ))
}

/// Whether the request says it carries JSON. A web page can send `text/plain`, form and
/// multipart bodies to any origin without asking; taking only JSON means a foreign page must pass
/// a CORS preflight before its request runs.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    ["application/json", "application/graphql-response+json"]
        .iter()
        .any(|accepted| essence.eq_ignore_ascii_case(accepted))
}

async fn graphql_post(
    state: web::Data<State>,
    http: HttpRequest,
    body: std::result::Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    state.app.services().metrics().graphql_requests.inc();
    if !is_json(http.headers()) {
        count_error(&state);
        return HttpResponse::UnsupportedMediaType().json(error_body(
            BAD_REQUEST,
            "send the request as application/json",
        ));
    }
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            count_error(&state);
            let status = e.as_response_error().status_code();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the request body is larger than {MAX_REQUEST_BYTES} bytes")
            } else {
                "the request body could not be read".to_string()
            };
            return HttpResponse::build(status).json(error_body(BAD_REQUEST, &message));
        }
    };
    if is_batch(&body) {
        count_error(&state);
        return HttpResponse::BadRequest().json(error_body(
            BAD_REQUEST,
            "batched requests are not accepted: send one operation per request \
             (each is limited and costed on its own)",
        ));
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            count_error(&state);
            return HttpResponse::BadRequest().json(error_body(
                BAD_REQUEST,
                &crate::guard::bounded(&format!("the body is not a GraphQL request: {e}")),
            ));
        }
    };
    run_post(&state, &http, request).await
}

/// A JSON array is how batching clients send several operations; said apart so that they learn
/// why, where serde would only say it expected a map.
fn is_batch(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// Answers a request that came with POST, as its caller.
async fn run_post(
    state: &State,
    http: &HttpRequest,
    request: async_graphql::Request,
) -> HttpResponse {
    let (actor, client) = match caller(state, http).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let graphql_response = crate::media::wants_graphql_response(http.headers());
    let answer = state
        .app
        .services()
        .answer(request, actor, client, graphql_response, Method::Post)
        .await;
    if answer.failed {
        count_error(state);
    }
    answer.response
}

/// A multipart body (the GraphQL multipart request spec): how a file reaches `importIati`.
fn is_multipart(ctx: &actix_web::guard::GuardContext) -> bool {
    ctx.head()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Headers no HTML form can set: a page of another origin that sends one must pass a CORS
/// preflight first, as it must to send JSON.
const PREFLIGHT_HEADERS: [&str; 2] = ["apollo-require-preflight", "graphql-require-preflight"];

async fn graphql_multipart(
    state: web::Data<State>,
    http: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    state.app.services().metrics().graphql_requests.inc();
    if !PREFLIGHT_HEADERS
        .iter()
        .any(|name| http.headers().contains_key(*name))
    {
        count_error(&state);
        return HttpResponse::BadRequest().json(error_body(
            BAD_REQUEST,
            "a multipart request carries the header Apollo-Require-Preflight (or GraphQL-Require-Preflight)",
        ));
    }
    let limit = state.max_upload_bytes;
    let body = match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            count_error(&state);
            return HttpResponse::BadRequest().json(error_body(
                BAD_REQUEST,
                "the request body could not be read",
            ));
        }
        Err(_) => {
            count_error(&state);
            return HttpResponse::PayloadTooLarge().json(error_body(
                BAD_REQUEST,
                &format!("the request body is larger than {limit} bytes"),
            ));
        }
    };
    let content_type = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let options = async_graphql::http::MultipartOptions::default()
        .max_num_files(1)
        .max_file_size(limit);
    let request = match async_graphql::http::receive_body(content_type, &body[..], options).await {
        Ok(request) => request,
        Err(e) => {
            count_error(&state);
            return HttpResponse::BadRequest().json(error_body(
                BAD_REQUEST,
                &crate::guard::bounded(&format!(
                    "the body is not a GraphQL multipart request: {e}"
                )),
            ));
        }
    };
    run_post(&state, &http, request).await
}

/// The peer address; a forwarded header only from a proxy the operator trusts.
fn client_of(state: &State, http: &HttpRequest) -> String {
    let forwarded = http
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    crate::proxy::client_address(
        http.peer_addr().map(|a| a.ip()),
        forwarded,
        &state.trusted_proxies,
    )
}

/// Who is asking: the actor of the bearer token, and the client address budgets are kept by
/// (the peer, or what a trusted proxy forwarded). A token that is not valid is answered at once.
async fn caller(
    state: &State,
    http: &HttpRequest,
) -> std::result::Result<(domain::Actor, String), HttpResponse> {
    let header = http
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("invalid"));
    let services = state.app.services();
    let actor = match auth::actor_from_header(header, services.jwt(), services.accounts()).await {
        Ok(actor) => actor,
        Err(Error::Unauthenticated) => {
            count_error(state);
            return Err(HttpResponse::Unauthorized().json(error_body(
                "UNAUTHENTICATED",
                "the access token is invalid or expired; sign in or refresh",
            )));
        }
        Err(e) => {
            tracing::error!(error = %e, "resolving the actor failed");
            return Err(
                HttpResponse::InternalServerError().json(error_body("INTERNAL", "internal error"))
            );
        }
    };
    Ok((actor, client_of(state, http)))
}

/// The parameters of a GraphQL request in a URL, as GraphQL over HTTP names them.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

impl GetParams {
    fn into_request(self) -> std::result::Result<async_graphql::Request, String> {
        let json = |name: &str, text: Option<String>| match text {
            None => Ok(serde_json::Value::Null),
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| format!("`{name}` is not JSON: {e}"))
            }
        };
        let variables = json("variables", self.variables)?;
        let extensions = json("extensions", self.extensions)?;
        serde_json::from_value(serde_json::json!({
            "query": self.query.unwrap_or_default(),
            "operationName": self.operation_name,
            "variables": variables,
            "extensions": extensions,
        }))
        .map_err(|e| format!("the URL's parameters are not a GraphQL request: {e}"))
    }
}

/// `GET /graphql`: a query in the URL (so that a CDN or browser may cache its answer), or
/// GraphiQL when the URL carries none.
async fn graphql_get(state: web::Data<State>, http: HttpRequest) -> HttpResponse {
    let params = match web::Query::<GetParams>::from_query(http.query_string()) {
        Ok(params) => params.into_inner(),
        Err(e) => {
            count_error(&state);
            return HttpResponse::BadRequest().json(error_body(
                BAD_REQUEST,
                &crate::guard::bounded(&format!(
                    "the URL's parameters are not a GraphQL request: {e}"
                )),
            ));
        }
    };
    if params.query.is_none() && params.extensions.is_none() {
        return crate::graphiql::page().await;
    }
    state.app.services().metrics().graphql_requests.inc();
    let request = match params.into_request() {
        Ok(request) => request,
        Err(message) => {
            count_error(&state);
            return HttpResponse::BadRequest()
                .json(error_body(BAD_REQUEST, &crate::guard::bounded(&message)));
        }
    };
    let (actor, client) = match caller(&state, &http).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let anonymous = matches!(actor, domain::Actor::Anonymous);
    let graphql_response = crate::media::wants_graphql_response(http.headers());
    let services = state.app.services();
    let answer = services
        .answer(request, actor, client, graphql_response, Method::Get)
        .await;
    if answer.failed {
        count_error(&state);
    }
    let Some(body) = answer.body.filter(|_| !answer.failed) else {
        return answer.response;
    };
    crate::media::cacheable(
        answer.response,
        &body,
        anonymous.then(|| services.cache().ttl()),
        http.headers(),
    )
}

/// `GET /graphql` asking for a WebSocket: subscriptions (see [`crate::subscriptions`]). Who
/// subscribes is said in `connection_init`, not in the upgrade request.
async fn graphql_subscriptions(
    state: web::Data<State>,
    http: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let client = client_of(&state, &http);
    crate::subscriptions::upgrade(
        state.app.services(),
        &state.connections,
        &state.subscriptions,
        &http,
        payload,
        client,
    )
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

async fn metrics_text(state: web::Data<State>, http: HttpRequest) -> HttpResponse {
    if let Some(expected) = &state.metrics_token {
        let given = http
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(digest);
        let matches = given.is_some_and(|given| {
            given
                .iter()
                .zip(expected)
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0
        });
        if !matches {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .json(error_body(
                    "UNAUTHENTICATED",
                    "the metrics need the bearer token configured in C2C_METRICS_TOKEN",
                ));
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.app.services().metrics().render(state.app.database()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_origins_are_allowed_in_the_cors_list() {
        let ok = |o: &str| checked_origins(&[o.to_string()]).is_ok();
        assert!(ok("https://forum.example"));
        assert!(ok("http://localhost:3000"));
        for wrong in [
            "*",
            "forum.example",
            "https://forum.example/",
            "https://forum.example/app",
            "ftp://forum.example",
        ] {
            assert!(!ok(wrong), "{wrong}");
        }
        assert_eq!(
            checked_origins(&[" https://a.example ".into(), String::new()]).unwrap(),
            ["https://a.example"]
        );
    }

    #[test]
    fn json_content_types_are_recognised_with_their_parameters() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("APPLICATION/JSON ; charset=utf-8"));
        assert!(with("application/graphql-response+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/json-seq"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
