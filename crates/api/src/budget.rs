//! What one request and one client may spend, checked by a schema extension between validation
//! and execution ([`Budget`] on the schema of WebSocket operations, [`Admit`] on the schema that
//! admits an HTTP request before the schema without extensions runs it):
//!
//! - a request whose cost (see [`crate::graphql::cost`]) is above [`MAX_REQUEST_COST`] is refused
//!   before anything runs, with `COST_EXCEEDED`;
//! - every client (the signed-in user, else the peer address) has a token bucket of cost units
//!   that refills at a steady rate; a request it cannot pay for is refused with `RATE_LIMITED`
//!   and `retryAfterSeconds`;
//! - an expensive request (cost at least [`EXPENSIVE`]) waits for one of a few process-wide
//!   permits, so that a flood of them cannot take every database connection from the others;
//! - a query (not a mutation, which must not be cut in the middle) that runs longer than the
//!   deadline is abandoned with `TIMEOUT`;
//! - within one query at most [`ROOT_FIELDS_AT_ONCE`] root fields run at a time, so that a
//!   hundred aliases cannot hold a hundred database connections (see [`crate::graphql::root`];
//!   nested lists are bounded the same way by the request's loaders, see
//!   [`crate::graphql::loaders::BATCHES_AT_ONCE`]).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Variables};
use tokio::sync::Semaphore;

use crate::cache::RequestFacts;
pub use crate::graphql::cost::{EXPENSIVE, MAX_REQUEST_COST};
pub use crate::graphql::root::ROOT_FIELDS_AT_ONCE;

/// Who a request's cost is charged to: `user:<id>` for a signed-in caller, else
/// `address:<peer address>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(pub String);

impl ClientKey {
    pub fn of(actor: &domain::Actor, address: &str) -> ClientKey {
        match actor {
            domain::Actor::User { id, .. } | domain::Actor::Pending { id } => {
                ClientKey(format!("user:{id}"))
            }
            domain::Actor::Anonymous => ClientKey(format!("address:{address}")),
        }
    }
}

/// What an operator may tune (see README, "Cost and rate limits").
#[derive(Clone, Debug)]
pub struct BudgetSettings {
    /// Cost units a client's budget regains per second.
    pub client_rate: u64,
    /// Cost units a client may spend at once; never less than one request's maximum.
    pub client_burst: u64,
    /// How long a query may run before it is abandoned.
    pub deadline: Duration,
    /// How many expensive requests run at once in the process.
    pub expensive_concurrency: usize,
}

pub const DEFAULT_CLIENT_RATE: u64 = 50_000;
pub const DEFAULT_CLIENT_BURST: u64 = 1_000_000;
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// Four, not one per core: an expensive request (a nested page, a donor's question) spends about
/// half its time waiting for the database or a batch window, and with two at a time a 2-core
/// machine left a core idle under load (nested page: 50 requests a second with two, 77–83 with
/// four; see README). The default on SQLite, whose four connections and in-process engine keep
/// both cores busy with four (eight answered 110 nested pages a second against 124 in one run
/// each).
pub const DEFAULT_EXPENSIVE_CONCURRENCY: usize = 4;
/// The default on PostgreSQL, whose pool holds 32 connections: with four at a time the service
/// waited on the database with a core to spare (nested page on 200,000 practices, 16
/// connections, alternating runs on one 2-core host: 179–183 requests a second with four,
/// 208–215 with eight, p95 109–112 ms against 99–104; see README). Eight pages run three batches
/// each at most, 24 of the pool's 32 connections, so a quarter of the pool stays with cheaper
/// requests as before.
pub const DEFAULT_EXPENSIVE_CONCURRENCY_POSTGRES: usize = 8;

/// How many expensive requests run at once by default on the database of `url`.
pub fn default_expensive_concurrency(url: &str) -> usize {
    if url.starts_with("postgres") {
        DEFAULT_EXPENSIVE_CONCURRENCY_POSTGRES
    } else {
        DEFAULT_EXPENSIVE_CONCURRENCY
    }
}

impl Default for BudgetSettings {
    fn default() -> Self {
        BudgetSettings {
            client_rate: DEFAULT_CLIENT_RATE,
            client_burst: DEFAULT_CLIENT_BURST,
            deadline: DEFAULT_DEADLINE,
            expensive_concurrency: DEFAULT_EXPENSIVE_CONCURRENCY,
        }
    }
}

/// Clients remembered at most; beyond, the idle ones (whose budget has refilled, so forgetting
/// them changes nothing) are dropped, and if none is idle the newcomers share one budget.
const MAX_CLIENTS: usize = 100_000;
const OVERFLOW: &str = "overflow";

struct Bucket {
    units: f64,
    at: Instant,
}

struct Buckets {
    rate: f64,
    burst: f64,
    clients: HashMap<String, Bucket>,
}

impl Buckets {
    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let gained = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.units = (bucket.units + gained).min(self.burst);
        bucket.at = now;
    }

    /// Takes `cost` units from the client's budget, or tells how long until it could pay.
    fn charge(&mut self, client: &str, cost: f64, now: Instant) -> Result<(), Duration> {
        if !self.clients.contains_key(client) && self.clients.len() >= MAX_CLIENTS {
            self.forget_idle(now);
        }
        let key = if self.clients.contains_key(client) || self.clients.len() < MAX_CLIENTS {
            client
        } else {
            OVERFLOW
        };
        let burst = self.burst;
        let mut bucket = self.clients.remove(key).unwrap_or(Bucket {
            units: burst,
            at: now,
        });
        self.refill(&mut bucket, now);
        let answer = if bucket.units >= cost {
            bucket.units -= cost;
            Ok(())
        } else {
            let missing = cost - bucket.units;
            Err(
                Duration::from_secs_f64(missing / self.rate.max(f64::MIN_POSITIVE))
                    .min(Duration::from_secs(3600)),
            )
        };
        self.clients.insert(key.to_string(), bucket);
        answer
    }

    fn forget_idle(&mut self, now: Instant) {
        let (rate, burst) = (self.rate, self.burst);
        self.clients.retain(|_, b| {
            let gained = now.saturating_duration_since(b.at).as_secs_f64() * rate;
            b.units + gained < burst
        });
    }
}

/// The budgets of every client and the permits of expensive requests, shared by all requests.
#[derive(Clone)]
pub struct Budget {
    buckets: Arc<Mutex<Buckets>>,
    expensive: Arc<Semaphore>,
    deadline: Duration,
}

impl Budget {
    pub fn new(settings: &BudgetSettings) -> Budget {
        Budget {
            buckets: Arc::new(Mutex::new(Buckets {
                rate: settings.client_rate as f64,
                burst: settings.client_burst.max(MAX_REQUEST_COST as u64) as f64,
                clients: HashMap::new(),
            })),
            expensive: Arc::new(Semaphore::new(settings.expensive_concurrency.max(1))),
            deadline: settings.deadline,
        }
    }

    fn charge(&self, client: &ClientKey, cost: usize) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked while charging; the counts are
        // still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.charge(&client.0, cost as f64, Instant::now())
    }

    /// Charges `cost` to the client, or the `RATE_LIMITED` error that says when to retry.
    pub fn pay(&self, client: &ClientKey, cost: usize) -> Result<(), ServerError> {
        self.charge(client, cost).map_err(|wait| {
            let seconds = wait.as_secs_f64().ceil() as u64;
            coded(
                format!("over this client's budget, retry in {seconds} s"),
                "RATE_LIMITED",
                Some(("retryAfterSeconds", seconds.max(1))),
            )
        })
    }
}

impl Budget {
    /// Refuses a request above [`MAX_REQUEST_COST`] with `COST_EXCEEDED`, else charges it to the
    /// client (when known) and notes its cost in `facts` (when given).
    fn admit(&self, ctx: &ExtensionContext<'_>, cost: usize) -> Result<(), Vec<ServerError>> {
        if cost > MAX_REQUEST_COST {
            return Err(vec![coded(
                format!(
                    "query too complex: it costs {cost}, at most {MAX_REQUEST_COST} per request"
                ),
                "COST_EXCEEDED",
                Some(("cost", cost as u64)),
            )]);
        }
        if let Some(client) = ctx.data_opt::<ClientKey>() {
            self.pay(client, cost).map_err(|e| vec![e])?;
        }
        if let Some(facts) = ctx.data_opt::<Arc<RequestFacts>>() {
            facts.cost.store(cost, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Runs an admitted request: an expensive one under one of the process's few permits, a
    /// query (never a mutation, which must not be cut in the middle) abandoned with `TIMEOUT`
    /// after the deadline.
    pub async fn run(
        &self,
        cost: usize,
        mutation: bool,
        execution: impl Future<Output = Response>,
    ) -> Response {
        if mutation {
            return self.permitted(cost, execution).await;
        }
        match self.within(cost, execution).await {
            Some(response) => response,
            None => self.abandoned(),
        }
    }

    /// Runs a query as [`Budget::run`] does; `None` when the deadline passed first.
    pub async fn within<T>(&self, cost: usize, execution: impl Future<Output = T>) -> Option<T> {
        tokio::time::timeout(self.deadline, self.permitted(cost, execution))
            .await
            .ok()
    }

    async fn permitted<T>(&self, cost: usize, execution: impl Future<Output = T>) -> T {
        let _permit = if cost >= EXPENSIVE {
            self.expensive.acquire().await.ok()
        } else {
            None
        };
        execution.await
    }

    /// The answer to a query abandoned at the deadline.
    pub fn abandoned(&self) -> Response {
        Response::from_errors(vec![coded(
            format!(
                "the query ran longer than {} ms and was abandoned",
                self.deadline.as_millis()
            ),
            "TIMEOUT",
            None,
        )])
    }
}

/// Whether the document holds a mutation.
fn has_mutation(document: &ExecutableDocument) -> bool {
    document
        .operations
        .iter()
        .any(|(_, op)| op.node.ty == OperationType::Mutation)
}

fn note_mutation(ctx: &ExtensionContext<'_>, mutation: bool) {
    if let Some(facts) = ctx.data_opt::<Arc<RequestFacts>>() {
        facts.mutation.store(mutation, Ordering::Relaxed);
    }
}

impl ExtensionFactory for Budget {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Spending {
            budget: self.clone(),
            request: Mutex::new(Request::default()),
        })
    }
}

#[derive(Default)]
struct Request {
    cost: usize,
    mutation: bool,
}

/// One request's side of the budget.
struct Spending {
    budget: Budget,
    request: Mutex<Request>,
}

impl Spending {
    fn request(&self) -> std::sync::MutexGuard<'_, Request> {
        self.request.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn coded(message: String, code: &'static str, extra: Option<(&str, u64)>) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    if let Some((name, value)) = extra {
        extensions.set(name, value);
    }
    error.extensions = Some(extensions);
    error
}

#[async_trait::async_trait]
impl Extension for Spending {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutation = has_mutation(&document);
        self.request().mutation = mutation;
        note_mutation(ctx, mutation);
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        self.budget.admit(ctx, result.complexity)?;
        self.request().cost = result.complexity;
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let (cost, mutation) = {
            let r = self.request();
            (r.cost, r.mutation)
        };
        self.budget
            .run(cost, mutation, next.run(ctx, operation_name))
            .await
    }
}

/// What admitting a request learnt of it: what running it needs.
pub struct Admission {
    /// The parsed document, so that it is not parsed again.
    pub document: ExecutableDocument,
    pub cost: usize,
    pub mutation: bool,
    /// The operation's name: the one the request names, else the document's only named one.
    pub operation: Option<String>,
}

/// Where [`Admit`] leaves its [`Admission`]: put in the data of the request it admits.
#[derive(Clone, Default)]
pub struct AdmissionSlot(Arc<Mutex<Option<Admission>>>);

impl AdmissionSlot {
    fn with<T>(&self, f: impl FnOnce(&mut Option<Admission>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The admission, once the schema has admitted the request.
    pub fn take(&self) -> Option<Admission> {
        self.with(Option::take)
    }
}

/// The extension of the schema that only admits requests: it parses, validates, scores and
/// charges a request like [`Budget`] does, leaves an [`Admission`] in the request's
/// [`AdmissionSlot`], and runs nothing. The schema without extensions then runs the admitted
/// document under [`Budget::run`].
pub struct Admit(pub Budget);

impl ExtensionFactory for Admit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Admitting(self.0.clone()))
    }
}

struct Admitting(Budget);

#[async_trait::async_trait]
impl Extension for Admitting {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mutation = has_mutation(&document);
        note_mutation(ctx, mutation);
        let operation = match &document.operations {
            DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                operations.keys().next().map(|n| n.to_string())
            }
            _ => None,
        };
        if let Some(slot) = ctx.data_opt::<AdmissionSlot>() {
            slot.with(|admission| {
                *admission = Some(Admission {
                    document: document.clone(),
                    cost: 0,
                    mutation,
                    operation,
                })
            });
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let slot = ctx.data_opt::<AdmissionSlot>();
        let refused = |slot: Option<&AdmissionSlot>| {
            if let Some(slot) = slot {
                slot.with(|admission| admission.take());
            }
        };
        let result = match next.run(ctx).await {
            Ok(result) => result,
            Err(errors) => {
                refused(slot);
                return Err(errors);
            }
        };
        if let Err(errors) = self.0.admit(ctx, result.complexity) {
            refused(slot);
            return Err(errors);
        }
        if let Some(slot) = slot {
            slot.with(|admission| {
                if let Some(admission) = admission {
                    admission.cost = result.complexity;
                }
            });
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        if let (Some(name), Some(slot)) = (operation_name, ctx.data_opt::<AdmissionSlot>()) {
            slot.with(|admission| {
                if let Some(admission) = admission {
                    admission.operation = Some(name.to_owned());
                }
            });
        }
        Response::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(rate: f64, burst: f64) -> Buckets {
        Buckets {
            rate,
            burst,
            clients: HashMap::new(),
        }
    }

    #[test]
    fn a_bucket_refuses_beyond_its_burst_and_refills_at_its_rate() {
        let mut b = buckets(10.0, 100.0);
        let t = Instant::now();
        assert!(b.charge("a", 60.0, t).is_ok());
        let wait = b.charge("a", 60.0, t).unwrap_err();
        assert_eq!(wait, Duration::from_secs(2));
        assert!(
            b.charge("b", 60.0, t).is_ok(),
            "another client is not charged"
        );
        assert!(b.charge("a", 60.0, t + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn postgresql_runs_more_expensive_requests_at_once_than_sqlite() {
        assert_eq!(
            default_expensive_concurrency("postgres://forum@db/forum"),
            DEFAULT_EXPENSIVE_CONCURRENCY_POSTGRES
        );
        assert_eq!(
            default_expensive_concurrency("sqlite://c2c-forum.db?mode=rwc"),
            DEFAULT_EXPENSIVE_CONCURRENCY
        );
    }
    #[tokio::test]
    async fn expensive_requests_run_a_few_at_a_time_and_cheap_ones_do_not_wait() {
        use std::sync::atomic::AtomicUsize;
        let budget = Budget::new(&BudgetSettings::default());
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let request = |cost: usize| {
            let (now, most) = (&now, &most);
            budget.run(cost, false, async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Response::new(async_graphql::Value::Null)
            })
        };
        let expensive = (0..3 * DEFAULT_EXPENSIVE_CONCURRENCY).map(|_| request(EXPENSIVE));
        async_graphql::futures_util::future::join_all(expensive).await;
        assert_eq!(
            most.load(Ordering::SeqCst),
            DEFAULT_EXPENSIVE_CONCURRENCY,
            "expensive requests at once"
        );

        most.store(0, Ordering::SeqCst);
        let cheap = (0..3 * DEFAULT_EXPENSIVE_CONCURRENCY).map(|_| request(EXPENSIVE - 1));
        async_graphql::futures_util::future::join_all(cheap).await;
        assert_eq!(
            most.load(Ordering::SeqCst),
            3 * DEFAULT_EXPENSIVE_CONCURRENCY,
            "cheap requests take no permit"
        );
    }

    #[test]
    fn idle_clients_are_forgotten_and_newcomers_share_a_budget_when_full() {
        let mut b = buckets(1.0, 10.0);
        let t = Instant::now();
        for i in 0..MAX_CLIENTS {
            b.charge(&i.to_string(), 5.0, t).unwrap();
        }
        assert!(b.charge("new", 5.0, t).is_ok());
        assert!(
            b.charge("newer", 6.0, t).is_err(),
            "the overflow budget is shared"
        );
        assert!(b.clients.len() <= MAX_CLIENTS + 1);
        b.charge("late", 5.0, t + Duration::from_secs(10)).unwrap();
        assert!(b.clients.len() < 10, "idle clients forgotten");
    }
}
