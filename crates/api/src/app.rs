//! The composition root: the one place the service is put together, for the server, the command
//! line, the benchmark and the end-to-end tests alike.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::Result;
use domain::account::Accounts;
use domain::analytics::{Analytics, Matchmaking};
use domain::changes::ChangeFeed;
use domain::editing::Editor;
use domain::exchange::Exchange;
use domain::service::Catalog;
use persistence::db::{Database, DbOptions};

use crate::auth::{self, JwtKeys};
use crate::budget::{AdmissionSlot, Admit, Budget, ClientKey};
use crate::cache::{Flight, Hit, RequestFacts, ResponseCache};
use crate::config::Settings;
use crate::graphql::account::ClientAddress;
use crate::graphql::root::RootFieldPermits;
use crate::graphql::{self, AppSchema, loaders::loaders};
use crate::media;
use crate::metrics::Metrics;
use crate::observe::{self, Observe};
use crate::persisted::PersistedQueries;

/// A prepared database and the services wired on it. Cloning shares both.
#[derive(Clone)]
pub struct App {
    database: Database,
    services: Services,
}

/// How long closing waits for the connections still in use (a rollup build in the background,
/// say) before it leaves the database to close with the process.
const CLOSE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

impl App {
    /// Closes the database, once the server has answered its last request or a command is
    /// done. On SQLite the last connection to close copies the write-ahead log into the
    /// database file and removes it; connections merely dropped as the process exits leave the
    /// log beside the file, as large as the writes since the last checkpoint (larger than a
    /// freshly seeded base), for the next start to replay. Connections still in use are waited
    /// for at most [`CLOSE_PATIENCE`].
    pub async fn close(self) {
        let database = self.database.clone();
        drop(self);
        match tokio::time::timeout(CLOSE_PATIENCE, database.close()).await {
            Ok(Ok(())) => tracing::info!("database closed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the database did not close cleanly"),
            Err(_) => tracing::warn!(
                patience_ms = CLOSE_PATIENCE.as_millis() as u64,
                "connections still in use; the database closes with the process"
            ),
        }
    }

    /// Connects, migrates and loads the reference data (see `persistence::db::migrate`); seeds the information base into an
    /// empty database when `settings.seed_if_empty`; wires the store, the domain services, the
    /// token keys and the GraphQL schema. `settings.bind` is the server's and is not used here.
    pub async fn open(settings: &Settings) -> Result<App> {
        let database = Database::connect_with(&settings.database_url, &settings.database).await?;
        database.migrate().await?;
        if settings.seed_if_empty && database.is_empty().await? {
            let report = database.seed_information_base().await?;
            tracing::info!(
                ?report,
                "seeded the information base into an empty database"
            );
        }
        let persisted = PersistedQueries::from_setting(settings.trusted_documents.as_deref())
            .map_err(|e| domain::Error::validation("trustedDocuments", e))?;
        if let Some(count) = persisted.trusted_count() {
            tracing::info!(count, "only trusted documents run");
        }
        let events = persistence::events::EventHub::start(
            database.background().await?,
            settings.subscriptions.lag,
            settings.subscriptions.sweep,
        );
        let services = Services::new(&database, settings, persisted, events);
        Ok(App { database, services })
    }

    /// An app on `database_url` that seeds nothing, signs with a throw-away key and batches
    /// with the default window: what the commands other than `serve` need.
    ///
    /// Their statements run without PostgreSQL's statement timeout, which bounds a request's:
    /// a seed, an import or an export is the whole job, and cut short it fails entire (seeding
    /// 200,000 practices on a busy 2-core machine ran one statement for more than 10 s).
    pub async fn open_unseeded(database_url: &str) -> Result<App> {
        App::open(&Settings {
            database_url: database_url.into(),
            seed_if_empty: false,
            database: DbOptions {
                statement_timeout: Duration::ZERO,
                ..DbOptions::default()
            },
            ..Settings::default()
        })
        .await
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn services(&self) -> &Services {
        &self.services
    }
}

/// The schema and the services its resolvers call: what executing a GraphQL request needs.
#[derive(Clone)]
pub struct Services {
    /// The schema of WebSocket operations, with every extension.
    schema: AppSchema,
    /// Parses, validates, scores and charges an HTTP request, and runs nothing.
    gate: AppSchema,
    /// Runs what `gate` admitted: no extension, so that fields resolve directly.
    lean: AppSchema,
    slow_operation: Duration,
    catalog: Catalog,
    accounts: Accounts,
    editor: Editor,
    changes: ChangeFeed,
    analytics: Analytics,
    matchmaking: Matchmaking,
    exchange: Exchange,
    jwt: JwtKeys,
    batch_window: Duration,
    direct_answers: bool,
    budget: Budget,
    cache: ResponseCache,
    persisted: PersistedQueries,
    metrics: Arc<Metrics>,
    importer: crate::import::Importer,
    events: persistence::events::EventHub,
}

/// An HTTP answer to a GraphQL request, whether it carried errors, and the body of a
/// successful one.
pub struct Answer {
    pub response: actix_web::HttpResponse,
    pub failed: bool,
    pub body: Option<actix_web::web::Bytes>,
}

impl Answer {
    fn refused(response: actix_web::HttpResponse) -> Answer {
        Answer {
            response,
            failed: true,
            body: None,
        }
    }
}

/// What running a request gave: the schema's response, or the JSON body of a direct answer.
enum Run {
    Answered(async_graphql::Response),
    Written(Vec<u8>),
}

/// How a request came: a `GET` may only read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Services {
    fn new(
        database: &Database,
        settings: &Settings,
        persisted: PersistedQueries,
        events: persistence::events::EventHub,
    ) -> Self {
        let store = Arc::new(database.store());
        let (hasher, tokens) = auth::token_services(settings.hashing);
        let budget = Budget::new(&settings.budget);
        let metrics = Arc::new(Metrics::new());
        Services {
            schema: graphql::builder()
                .extension(Observe::new(metrics.clone(), settings.slow_operation))
                .extension(budget.clone())
                .finish(),
            gate: graphql::builder().extension(Admit(budget.clone())).finish(),
            lean: graphql::bare().finish(),
            slow_operation: settings.slow_operation,
            budget,
            cache: ResponseCache::new(settings.response_cache),
            persisted,
            metrics,
            catalog: Catalog::new(store.clone()),
            exchange: Exchange::new(Catalog::new(store.clone()), store.clone()),
            importer: crate::import::Importer::new(store.clone()),
            accounts: Accounts::new(store.clone(), hasher, tokens),
            analytics: Analytics::new(store.clone()),
            matchmaking: Matchmaking::new(store.clone()),
            changes: ChangeFeed::new(store.clone()),
            editor: Editor::new(store),
            events,
            jwt: settings.jwt.clone(),
            batch_window: settings.batch_window,
            direct_answers: settings.direct_answers,
        }
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn analytics(&self) -> &Analytics {
        &self.analytics
    }

    /// The exports' reads: activity records, with the same read rules as the GraphQL reads.
    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    pub fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }

    pub fn schema(&self) -> &AppSchema {
        &self.schema
    }

    /// What the subscriptions of one WebSocket connection read with, as `actor` (see
    /// [`crate::subscriptions`]): the services of a request, and `per_connection` slots. Their
    /// dataloaders keep no cache, so each event is read afresh.
    pub fn subscription_data(
        &self,
        actor: domain::Actor,
        client: String,
        per_connection: usize,
    ) -> async_graphql::Data {
        let mut data = async_graphql::Data::default();
        data.insert(loaders(
            self.catalog.clone(),
            actor.clone(),
            self.batch_window,
        ));
        data.insert(self.catalog.clone());
        data.insert(self.events.clone());
        data.insert(graphql::live::SubscriptionSlots(Arc::new(
            tokio::sync::Semaphore::new(per_connection),
        )));
        data.insert(ClientKey::of(&actor, &client));
        data.insert(ClientAddress(client));
        data.insert(RootFieldPermits::new());
        data.insert(actor);
        data
    }

    pub fn cache(&self) -> &ResponseCache {
        &self.cache
    }

    /// Answers one request as `actor` in the format the client asked for: an anonymous query
    /// from the response cache when it holds the answer (charged to the client all the same),
    /// else by running it, keeping the answer when it may be kept (see [`crate::cache`]).
    pub async fn answer(
        &self,
        request: async_graphql::Request,
        actor: domain::Actor,
        client: String,
        graphql_response: bool,
        method: Method,
    ) -> Answer {
        let request = match self.persisted.resolve(request) {
            Ok(request) => request,
            Err(e) => {
                let refused = async_graphql::Response::from_errors(vec![e]);
                return Answer::refused(media::answer(refused, graphql_response));
            }
        };
        if method == Method::Get && is_mutation(&request) {
            return Answer::refused(
                actix_web::HttpResponse::MethodNotAllowed()
                    .insert_header((actix_web::http::header::ALLOW, "POST"))
                    .json(serde_json::json!({ "errors": [{
                        "message": "a mutation is sent with POST",
                        "extensions": { "code": "BAD_REQUEST" },
                    }] })),
            );
        }
        let key = match actor {
            domain::Actor::Anonymous => self.cache.key(&request),
            _ => None,
        };
        // Held until the answer is stored, so that others asking the same wait for it.
        let mut _leading = None;
        if let Some(key) = key {
            if let Some(hit) = self.cache.get(&key) {
                return self.served(hit, &actor, &client, graphql_response);
            }
            match self.cache.flight(key) {
                Some(Flight::Follow(mut done)) => {
                    let _ = done.changed().await;
                    if let Some(hit) = self.cache.get(&key) {
                        return self.served(hit, &actor, &client, graphql_response);
                    }
                    // The run it waited for kept no answer (it failed): run its own.
                }
                Some(Flight::Lead(guard)) => _leading = Some(guard),
                None => {}
            }
            self.metrics.cache_misses.inc();
        }
        let generation = self.cache.generation();
        let facts = Arc::new(RequestFacts::default());
        let response = match self
            .run(request, actor, client, facts.clone(), self.direct_answers)
            .await
        {
            Run::Answered(response) => response,
            Run::Written(body) => {
                let body = actix_web::web::Bytes::from(body);
                if let Some(key) = key {
                    let cost = facts.cost();
                    let hit = Hit {
                        body: body.clone(),
                        cost,
                    };
                    self.cache.put(key, generation, hit);
                }
                return Answer {
                    response: media::body(body.clone(), graphql_response),
                    failed: false,
                    body: Some(body),
                };
            }
        };
        if facts.mutation() {
            self.cache.invalidate();
        }
        let failed = response.is_err();
        let key = key.filter(|_| !failed && !facts.mutation());
        if key.is_none() && (failed || method == Method::Post) {
            return Answer {
                response: media::answer(response, graphql_response),
                failed,
                body: None,
            };
        }
        match serde_json::to_vec(&response) {
            Ok(body) => {
                let body = actix_web::web::Bytes::from(body);
                if let Some(key) = key {
                    self.cache.put(
                        key,
                        generation,
                        Hit {
                            body: body.clone(),
                            cost: facts.cost(),
                        },
                    );
                }
                Answer {
                    response: media::body(body.clone(), graphql_response),
                    failed,
                    body: Some(body),
                }
            }
            Err(_) => Answer {
                response: media::answer(response, graphql_response),
                failed,
                body: None,
            },
        }
    }

    /// A cached answer, charged to the client like the run it replaces.
    fn served(
        &self,
        hit: Hit,
        actor: &domain::Actor,
        client: &str,
        graphql_response: bool,
    ) -> Answer {
        self.metrics.cache_hits.inc();
        if let Err(e) = self.budget.pay(&ClientKey::of(actor, client), hit.cost) {
            let refused = async_graphql::Response::from_errors(vec![e]);
            return Answer::refused(media::answer(refused, graphql_response));
        }
        Answer {
            response: media::body(hit.body.clone(), graphql_response),
            failed: false,
            body: Some(hit.body),
        }
    }

    /// What `/metrics` reports of the requests these services answered.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Executes one request as `actor`, with fresh dataloaders.
    pub async fn execute(
        &self,
        request: async_graphql::Request,
        actor: domain::Actor,
        client: String,
    ) -> async_graphql::Response {
        let facts = Arc::new(RequestFacts::default());
        let response = match self.run(request, actor, client, facts.clone(), false).await {
            Run::Answered(response) => response,
            // Not asked for: `direct` is false.
            Run::Written(_) => {
                async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                    "internal error",
                    None,
                )])
            }
        };
        if facts.mutation() {
            self.cache.invalidate();
        }
        response
    }

    /// Admits the request with the gate schema (document guard, cost, the client's budget),
    /// then, under the budget's permits and deadline, writes its answer directly when `direct`
    /// and [`graphql::direct`] knows every field it asks, else runs the parsed document with the
    /// schema without extensions; and records the operation.
    async fn run(
        &self,
        mut request: async_graphql::Request,
        actor: domain::Actor,
        client: String,
        facts: Arc<RequestFacts>,
        direct: bool,
    ) -> Run {
        let started = Instant::now();
        let client_key = ClientKey::of(&actor, &client);
        let slot = AdmissionSlot::default();
        let mut gate = async_graphql::Request::new(request.query.clone())
            .variables(request.variables.clone())
            .data(slot.clone())
            .data(facts.clone())
            .data(client_key.clone());
        gate.operation_name = request.operation_name.clone();
        let mut refused = self.gate.execute(gate).await;
        let admission = slot.take().filter(|_| refused.errors.is_empty());
        let Some(admission) = admission else {
            if refused.errors.is_empty() {
                tracing::error!("the gate schema admitted a request without an admission");
                refused =
                    async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                        "internal error",
                        None,
                    )]);
                crate::guard::code_errors(&mut refused);
            }
            self.record(request.operation_name.as_deref(), None, started, &refused);
            return Run::Answered(refused);
        };
        let page = (direct && !admission.mutation)
            .then(|| {
                graphql::direct::Page::plan(
                    &admission.document,
                    request.operation_name.as_deref(),
                    &request.variables,
                )
            })
            .flatten();
        if let Some(page) = page {
            let written = self
                .budget
                .within(
                    admission.cost,
                    page.write(&self.catalog, &self.matchmaking, &actor),
                )
                .await;
            use graphql::direct::Unwritten;
            let answered = match written {
                Some(Ok(body)) => {
                    self.metrics.direct_answers.inc();
                    let answered = async_graphql::Response::new(async_graphql::Value::Null);
                    self.record(
                        admission.operation.as_deref(),
                        Some(admission.cost),
                        started,
                        &answered,
                    );
                    return Run::Written(body);
                }
                // Not answered directly: the schema runs the request.
                Some(Err(Unwritten::Refused)) => None,
                Some(Err(Unwritten::Failed(error))) => {
                    Some(async_graphql::Response::from_errors(vec![error]))
                }
                None => Some(self.budget.abandoned()),
            };
            if let Some(mut answered) = answered {
                crate::guard::code_errors(&mut answered);
                self.record(
                    admission.operation.as_deref(),
                    Some(admission.cost),
                    started,
                    &answered,
                );
                return Run::Answered(answered);
            }
        }
        // Kept to put the response's fields back in the order asked (see `order`).
        let document = admission.document.clone();
        let operation_name = request.operation_name.clone();
        request.set_parsed_query(admission.document);
        let request = request
            .data(facts)
            .data(loaders(
                self.catalog.clone(),
                actor.clone(),
                self.batch_window,
            ))
            .data(self.catalog.clone())
            .data(self.accounts.clone())
            .data(self.editor.clone())
            .data(self.changes.clone())
            .data(self.analytics.clone())
            .data(self.matchmaking.clone())
            .data(self.importer.clone())
            .data(self.jwt.clone())
            .data(RootFieldPermits::new())
            .data(client_key)
            .data(ClientAddress(client))
            .data(actor);
        let mut response = self
            .budget
            .run(
                admission.cost,
                admission.mutation,
                self.lean.execute(request),
            )
            .await;
        crate::order::in_selection_order(&document, operation_name.as_deref(), &mut response.data);
        crate::guard::code_errors(&mut response);
        self.record(
            admission.operation.as_deref(),
            Some(admission.cost),
            started,
            &response,
        );
        Run::Answered(response)
    }

    fn record(
        &self,
        operation: Option<&str>,
        cost: Option<usize>,
        started: Instant,
        response: &async_graphql::Response,
    ) {
        observe::record(
            &self.metrics,
            self.slow_operation,
            operation,
            cost,
            started.elapsed(),
            response,
        );
    }
}

/// Whether the operation a request runs is a mutation. A document that does not parse or names
/// no operation is left for execution to refuse with its own error.
fn is_mutation(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let is = |ty: OperationType| ty == OperationType::Mutation;
    match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => is(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get(name).is_some_and(|op| is(op.node.ty))
        }
        (DocumentOperations::Multiple(ops), None) => {
            ops.len() == 1 && ops.values().any(|op| is(op.node.ty))
        }
    }
}
