//! Connecting, migrating and counting what the database is asked; [`Database`] is the handle the
//! layers above hold, so that none of them needs sea-orm.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use domain::{Error, Result};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::SeaStore;
use crate::seed::{self, SeedReport};
use crate::store::{db_err, is_retryable};

/// Counters of the SQL statements executed, exported on `/metrics`; the statement-count test of
/// the API reads them there to prove that a request costs a bounded number of statements.
/// While a recording is on, the statements themselves are kept too, with their bound values: the
/// plan test of the API runs each again under `EXPLAIN`.
#[derive(Debug, Default)]
pub struct DbMetrics {
    pub statements: AtomicU64,
    pub failed: AtomicU64,
    pub micros: AtomicU64,
    /// Nested lists read beside their page of practices and kept: their statement selected the
    /// page's practices (see `NestedRepository::practice_page_along`).
    pub lists_along: AtomicU64,
    /// Nested lists read beside their page but read again for the page's ids: their statement
    /// selected other practices (one published, withdrawn or added between the statements).
    pub lists_again: AtomicU64,
    /// PostgreSQL connections closed at their first use by a request because they were opened
    /// before the server began serving (see [`Database::serving_begins`]).
    pub retired: AtomicU64,
    /// Statements of the read path run on a connection it kept back from the pool, which sqlx
    /// would have checked with a round trip on its way back (see `stash`).
    pub unchecked: AtomicU64,
    /// Questions that stopped waiting for the first build of their funding-gap grouping and
    /// were told to ask again (see [`DbOptions::build_wait`]): which groupings an operator might
    /// build ahead, the log says (`told to ask again`).
    pub build_waits_given_up: AtomicU64,
    /// Funding-gap groupings dropped to make room for another a question asked for (see
    /// [`DbOptions::asked_groupings`]): how often the groupings asked for outgrow the room.
    pub groupings_dropped: AtomicU64,
    /// Funding-gap builds done and not yet taken for `/metrics` (see [`DbMetrics::take_builds`]):
    /// each grouping's name and how long its build took.
    builds: Mutex<Vec<(String, Duration)>>,
    recording: Mutex<Option<Vec<Statement>>>,
}

/// Builds kept for `/metrics` at most between two scrapes; more are left out of it (and only
/// logged). A build takes seconds and two run at once at most: a thousand is over an hour of
/// builds back to back, and bounds what a process that nobody scrapes holds.
const BUILDS_KEPT: usize = 1_000;

impl DbMetrics {
    /// Counts (and while recording, keeps) one statement that ran for `elapsed`.
    pub(crate) fn counted(&self, statement: &Statement, elapsed: Duration, failed: bool) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(elapsed_us = elapsed.as_micros() as u64, sql = %statement.sql, "statement");
        self.micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
            // The error a request reports says that a statement timed out or waited too long,
            // not which one: a long-running failure names its statement for the operator.
            if elapsed >= SLOW_FAILURE {
                tracing::warn!(
                    elapsed_ms = elapsed.as_millis() as u64,
                    sql = %statement_start(&statement.sql),
                    "statement failed after a long run"
                );
            }
        }
        if let Some(kept) = self.recorded().as_mut() {
            kept.push(statement.clone());
        }
    }

    /// Counts a funding-gap grouping's build (see [`DbMetrics::take_builds`]).
    pub(crate) fn build_done(&self, grouping: &str, took: Duration) {
        let mut builds = self
            .builds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if builds.len() < BUILDS_KEPT {
            builds.push((grouping.to_owned(), took));
        }
    }

    /// The funding-gap builds done since the last call: each grouping's name and how long its
    /// build took, in the order they ended.
    pub fn take_builds(&self) -> Vec<(String, Duration)> {
        std::mem::take(
            &mut *self
                .builds
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Starts keeping every statement executed from now on (dropping any kept before).
    pub fn record(&self) {
        *self.recorded() = Some(Vec::new());
    }

    /// The statements kept since [`DbMetrics::record`], in the order they ran; stops keeping.
    pub fn take_recorded(&self) -> Vec<Statement> {
        self.recorded().take().unwrap_or_default()
    }

    fn recorded(&self) -> std::sync::MutexGuard<'_, Option<Vec<Statement>>> {
        // A panic while holding the lock leaves a list that is still a list.
        self.recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The connections of a pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub in_use: u32,
    /// Waiting, `kept` included.
    pub idle: u32,
    /// Kept back by the read path (see `stash`), on PostgreSQL.
    pub kept: u32,
    pub max: u32,
}

/// A pool of connections to one database and the counters of the statements run through it.
/// Cloning shares both.
#[derive(Clone)]
pub struct Database {
    connection: DatabaseConnection,
    metrics: Arc<DbMetrics>,
    kept: crate::store::Kept,
    serving: Arc<Serving>,
    url: String,
    options: DbOptions,
}

/// When the server began answering requests, once it has.
///
/// Each PostgreSQL connection's socket is driven by the reactor of the runtime it was opened
/// on, whichever thread then uses it. The server's workers each run a runtime of their own on
/// their own thread, and startup (migrating, seeding, loading) runs on the main thread's: a
/// connection opened while starting and then handed to a request makes every reply of
/// PostgreSQL wake the main thread first, which then wakes the worker. Such connections are
/// closed at their first use after serving began, and the pool opens new ones on the workers.
#[derive(Debug, Default)]
struct Serving(OnceLock<Instant>);

impl Serving {
    fn begins(&self) {
        let _ = self.0.set(Instant::now());
    }

    /// Whether a connection `age` old was opened before serving began.
    fn opened_before(&self, age: Duration) -> bool {
        self.0.get().is_some_and(|since| age > since.elapsed())
    }
}

/// How long the service waits on its database before it gives up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbOptions {
    /// The longest a request waits for a connection of the pool, opening one included. While
    /// the database is away every request fails (UNAVAILABLE) after this, not later.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection: a statement running longer is
    /// cancelled (UNAVAILABLE). Zero is none. A rollup build lifts it for its own statements.
    pub statement_timeout: Duration,
    /// The longest a question waits for the first build of its funding-gap grouping, which
    /// can take seconds on a large base. Past it the question answers UNAVAILABLE with a time
    /// to retry after, and the build goes on. `None` (the default, and the commands' setting)
    /// waits for the build; `serve` waits nine tenths of its query deadline unless told
    /// otherwise, so that a client learns to ask again rather than that its query ran too long.
    pub build_wait: Option<Duration>,
    /// The most funding-gap groupings questions keep built, besides the prepared ones and those
    /// an operator named: each makes every write dearer. A question asking for one more drops
    /// the one asked for least recently (at least one is kept).
    pub asked_groupings: usize,
    /// How long the cells of a grouping dropped to make room stay, for the questions that found
    /// it built just before: longer than a question may run.
    pub dropped_cells_kept_for: Duration,
}

pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            build_wait: None,
            asked_groupings: DEFAULT_ASKED_GROUPINGS,
            dropped_cells_kept_for: Duration::from_secs(60),
        }
    }
}

/// Sixteen: the whole-life groupings questions build when none is prepared for them cost a
/// write about 4 ms each on the benchmark base on PostgreSQL (`updateFunding` p50 40 ms with
/// the prepared ones, 91 ms with twelve more); a reader asking for every grouping there is
/// would otherwise make every write pay for all of them.
pub const DEFAULT_ASKED_GROUPINGS: usize = 16;

impl Database {
    /// Connects with the default [`DbOptions`]; nothing is migrated or loaded yet.
    pub async fn connect(url: &str) -> Result<Database> {
        Database::connect_with(url, &DbOptions::default()).await
    }

    /// Connects; nothing is migrated or loaded yet.
    pub async fn connect_with(url: &str, options: &DbOptions) -> Result<Database> {
        let metrics = Arc::new(DbMetrics::default());
        let serving = Arc::new(Serving::default());
        let mut connect = pool_options(url, options, POOL_MAX_POSTGRES);
        if url.starts_with("postgres") {
            let (serving, metrics) = (serving.clone(), metrics.clone());
            connect.map_sqlx_postgres_before_acquire(move |_, meta| {
                let retire = serving.opened_before(meta.age);
                if retire {
                    metrics.retired.fetch_add(1, Ordering::Relaxed);
                }
                Box::pin(std::future::ready(Ok(!retire)))
            });
        }
        let connection = open(connect, options.acquire_timeout, metrics.clone()).await?;
        let kept = crate::store::Kept::counting(metrics.clone(), options);
        if url.starts_with("postgres") {
            let stash = Arc::downgrade(kept.stash());
            tokio::spawn(crate::stash::Stash::sweep(stash));
        }
        Ok(Database {
            connection,
            kept,
            metrics,
            serving,
            url: url.to_owned(),
            options: options.clone(),
        })
    }

    /// Marks that the server now answers requests: on PostgreSQL, connections opened before
    /// are closed at their next use rather than serving a request (see [`Serving`]).
    pub fn serving_begins(&self) {
        self.serving.begins();
        // What the read path kept back while starting goes back to the pool, to be retired.
        self.kept.stash().clear();
    }

    /// The connections for work in the background of the thread that starts the server (the
    /// change log's follower): on PostgreSQL a pool of [`BACKGROUND_POOL_MAX`] of its own, so
    /// that what it opens there never serves a request (see [`Serving`]) and its `LISTEN`
    /// holds none of the requests' connections; on SQLite the requests' pool.
    pub async fn background(&self) -> Result<DatabaseConnection> {
        if !self.url.starts_with("postgres") {
            return Ok(self.connection.clone());
        }
        let mut options = pool_options(&self.url, &self.options, BACKGROUND_POOL_MAX);
        options.connect_lazy(true);
        open(options, self.options.acquire_timeout, self.metrics.clone()).await
    }

    /// Applies the pending migrations and loads the reference data (countries and USD rates)
    /// into a database without them; see [`migrate`].
    pub async fn migrate(&self) -> Result<()> {
        migrate(&self.connection).await
    }

    /// Whether the database answers: the readiness probe.
    pub async fn ping(&self) -> Result<()> {
        ping(&self.connection).await
    }

    /// Whether the database holds no information base (no practices and no cities).
    pub async fn is_empty(&self) -> Result<bool> {
        seed::is_empty(&self.connection).await
    }

    /// Loads the report's information base, shipped with the service, into an empty database.
    pub async fn seed_information_base(&self) -> Result<SeedReport> {
        let base = seed::parse_information_base(seed::INFORMATION_BASE_JSON)?;
        seed::seed_information_base(&self.connection, &base).await
    }

    /// Builds the funding-gap rollups most groupings are summed from, unless built: see
    /// [`crate::rollup::prepare`]. Returns the groupings built.
    pub async fn prepare_rollups(
        &self,
        progress: &(dyn Fn(&str, usize, usize) + Sync),
    ) -> Result<Vec<String>> {
        self.prepare_rollups_with(&[], progress).await
    }

    /// [`Database::prepare_rollups`], and the groupings `also` an operator names.
    pub async fn prepare_rollups_with(
        &self,
        also: &[crate::rollup::Grouping],
        progress: &(dyn Fn(&str, usize, usize) + Sync),
    ) -> Result<Vec<String>> {
        crate::rollup::prepare(&self.connection, also, progress).await
    }

    /// Practices of every status: how large a base is.
    pub async fn practice_count(&self) -> Result<u64> {
        crate::entities::practice::Entity::find()
            .count(&self.connection)
            .await
            .map_err(|e| Error::internal(format!("cannot count practices: {e}")))
    }

    /// Runs one statement of SQL as it is, for administration (creating and dropping databases).
    pub async fn execute_sql(&self, sql: &str) -> Result<()> {
        self.connection
            .execute_unprepared(sql)
            .await
            .map(|_| ())
            .map_err(|e| Error::internal(format!("{sql}: {e}")))
    }

    pub fn metrics(&self) -> &DbMetrics {
        &self.metrics
    }

    /// The funding-gap rollups this process is building in the background: groupings by year
    /// whose questions read a finer grouping until they are built.
    pub fn rollup_builds_in_background(&self) -> usize {
        self.kept.builds().running()
    }

    /// How many connections the pool holds, how many of them wait idle, and the most it opens.
    pub fn pool_stats(&self) -> PoolStats {
        let (open, idle, max) = match self.connection.get_database_backend() {
            sea_orm::DbBackend::Sqlite => {
                let pool = self.connection.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            _ => {
                let pool = self.connection.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
        };
        // Connections the read path keeps back wait as the pool's idle ones do.
        let kept = u32::try_from(self.kept.stash().len()).unwrap_or(u32::MAX);
        let idle = u32::try_from(idle)
            .unwrap_or(u32::MAX)
            .saturating_add(kept)
            .min(open);
        PoolStats {
            in_use: open - idle,
            idle,
            kept: kept.min(idle),
            max,
        }
    }

    /// The repositories the domain services work on.
    pub fn store(&self) -> SeaStore {
        SeaStore::with_kept(self.connection.clone(), self.kept.clone())
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// Closes the pool; clones of this handle can no longer be used. On a SQLite file the
    /// write-ahead log is then copied into the file and removed (see [`fold_sqlite_log`]).
    pub async fn close(self) -> Result<()> {
        // The pool closes once every connection is back.
        self.kept.stash().clear();
        self.connection
            .close()
            .await
            .map_err(|e| Error::internal(format!("cannot close the database: {e}")))?;
        if self.url.starts_with("sqlite") {
            fold_sqlite_log(&self.url).await?;
        }
        Ok(())
    }
}

/// Copies a SQLite file's write-ahead log into it and removes the log, once the pool's
/// connections are closed. SQLite does that when the last connection to a file closes, but
/// connections in use when the pool closes are closed on their way back, each on its own thread
/// and at the same moment: each finds another still open and none is last, so the log stays
/// beside the file (empty, or as large as the writes since the last checkpoint) for the next
/// start to replay. A lone connection opened after them is last when it closes.
async fn fold_sqlite_log(url: &str) -> Result<()> {
    use sea_orm::sqlx::Connection;
    use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
    use std::str::FromStr;

    let failed = |e: sea_orm::sqlx::Error| {
        Error::internal(format!(
            "cannot fold the write-ahead log into the database: {e}"
        ))
    };
    let options = SqliteConnectOptions::from_str(url).map_err(failed)?;
    if options.get_filename() == std::path::Path::new(":memory:") || url.contains("mode=memory") {
        return Ok(());
    }
    // Opening in write-ahead mode reads the file, which opens the log; nothing is created.
    let options = options
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Wal);
    let connection = SqliteConnection::connect_with(&options)
        .await
        .map_err(failed)?;
    connection.close().await.map_err(failed)
}

/// Each SQLite connection's page cache, in KiB (SQLite's own default is about 2,000): the four
/// connections hold at most 4 MiB of pages. Measured at 200,000 practices, 16 clients asking
/// `matches` or the nested page (10 s each, release build): 2 MiB a connection answered as many
/// requests a second (157-167 and 306-311) with 5-6 MiB more peak resident memory on the
/// nested page; 512 or 768 KiB answered 3-10 % fewer for no less memory.
const SQLITE_CACHE_KIB: i64 = 1_024;

/// Turns SQLite's memory statistics off, once in the process and before its first connection
/// opens (SQLite refuses it later). With them on, SQLite counts every allocation under one
/// process-wide mutex: a row's values, each copied by sqlx, and every page read into a cache,
/// on every connection's thread at once. Under 16 clients asking `matches` waiting for and
/// waking each other on that mutex took a fifth of the service's CPU. The statistics only
/// served a soft limit on SQLite's memory, which the page caches' own bound
/// ([`SQLITE_CACHE_KIB`]) now keeps.
fn sqlite_memory_statistics_off() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int. sqlite3_config may only run before
        // SQLite is initialised and while no other thread uses SQLite: `Once` runs it before
        // this process opens its first connection; if SQLite is already in use (another
        // library in the process), it answers SQLITE_MISUSE and changes nothing.
        let off: std::ffi::c_int = 0;
        let rc =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, off) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::warn!(
                code = rc,
                "SQLite was in use before its memory statistics could be turned off"
            );
        }
    });
}

/// A statement failing after running this long is logged with its text (see `connect_with`):
/// past any wait for a lock or a connection a healthy write sees, short of the statement timeout.
const SLOW_FAILURE: Duration = Duration::from_secs(1);

/// The first 300 characters of a statement, enough to tell which one it is.
fn statement_start(sql: &str) -> &str {
    match sql.char_indices().nth(300) {
        Some((end, _)) => &sql[..end],
        None => sql,
    }
}

/// How long a pooled connection may sit unused before it is checked on its way out.
const POOL_IDLE_CHECK: Duration = Duration::from_secs(10);

/// A pool on `url` with the default [`DbOptions`].
pub async fn connect(url: &str, metrics: Arc<DbMetrics>) -> Result<DatabaseConnection> {
    connect_with(url, &DbOptions::default(), metrics).await
}

pub async fn connect_with(
    url: &str,
    settings: &DbOptions,
    metrics: Arc<DbMetrics>,
) -> Result<DatabaseConnection> {
    let options = pool_options(url, settings, POOL_MAX_POSTGRES);
    open(options, settings.acquire_timeout, metrics).await
}

/// The requests' pool on PostgreSQL: room for the expensive requests at once (eight, each
/// running up to three statements together) with a quarter of the pool left to cheaper requests
/// (see `api::budget::DEFAULT_EXPENSIVE_CONCURRENCY_POSTGRES`). Connections open as needed.
const POOL_MAX_POSTGRES: u32 = 32;

/// The background pool on PostgreSQL (see [`Database::background`]): the follower's `LISTEN`
/// and its reads of the change log.
const BACKGROUND_POOL_MAX: u32 = 2;

/// How to open a pool on `url` of at most `max_postgres` connections on PostgreSQL (four on
/// SQLite).
fn pool_options(url: &str, settings: &DbOptions, max_postgres: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    // sea-orm's connect timeout is the pool's acquire timeout too: both bound one wait.
    options
        .max_connections(if url.starts_with("sqlite") {
            4
        } else {
            max_postgres
        })
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        // sqlx checks each connection with a round trip to the server before handing it out:
        // one more round trip for every statement (a nested page runs eight), which cost 5 % of
        // the service's CPU on such pages and as many wake-ups of the server. A connection in
        // steady use fails at its next statement anyway; only one idle long enough for a server
        // restart, a proxy or a firewall to have dropped it is checked first.
        .test_before_acquire_if_idle_for(POOL_IDLE_CHECK)
        .sqlx_logging(false);
    if url.starts_with("sqlite") {
        // Write-ahead logging: readers keep reading a snapshot while a write transaction runs,
        // and a writer does not wait for them. In SQLite's default rollback journal a long
        // write (a rollup build takes seconds on a large base) locks every reader out once its
        // changes outgrow the page cache, and they fail at the busy timeout.
        //
        // SQLite keeps each connection's page cache full, which resident memory keeps: bounded
        // by `cache_size`.
        sqlite_memory_statistics_off();
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .pragma("cache_size", (-SQLITE_CACHE_KIB).to_string())
        });
    }
    if !settings.statement_timeout.is_zero() && url.starts_with("postgres") {
        options.statement_timeout(settings.statement_timeout);
    }
    if url.starts_with("postgres") {
        // No parallel workers: a question reads a few hundred rollup rows, but with the
        // groupings by year prepared their tables grew past the sizes at which PostgreSQL plans
        // workers for such reads, whose start costs more than the statement (the year range
        // of the load benchmark: 2.9 ms alone against 9.3-11.8 ms with two workers; under 16
        // connections 137 requests a second at p95 164 ms). Builds gain nothing from them:
        // PostgreSQL runs no INSERT's SELECT in parallel.
        options.map_sqlx_postgres_opts(|o| o.options([("max_parallel_workers_per_gather", "0")]));
    }
    options
}

/// Opens the pool, each statement counted in `metrics`. On SQLite, a connection switching a
/// new database to write-ahead logging while another process's connection does the same
/// (instances started together) may be refused at once with "database is locked": SQLite does
/// not wait when waiting could deadlock. The refused one tries again, within `patience`.
async fn open(
    options: ConnectOptions,
    patience: Duration,
    metrics: Arc<DbMetrics>,
) -> Result<DatabaseConnection> {
    let mut db = open_pool(options, patience).await?;
    db.set_metric_callback(move |info| {
        metrics.counted(info.statement, info.elapsed, info.failed);
    });
    Ok(db)
}

async fn open_pool(options: ConnectOptions, patience: Duration) -> Result<DatabaseConnection> {
    let started = std::time::Instant::now();
    loop {
        match sea_orm::Database::connect(options.clone()).await {
            Ok(db) => return Ok(db),
            Err(e) if locked(&e) && started.elapsed() < patience => {
                tracing::info!(error = %e, "the database is locked while connecting; trying again");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) if timed_out(&e) && options.get_url().starts_with("postgres") => {
                // The pool retries a refused or failed connection until its patience ends and
                // then says only that it timed out: one connection made directly says why.
                let cause = match tokio::time::timeout(
                    patience,
                    <sea_orm::sqlx::PgConnection as sea_orm::sqlx::Connection>::connect(
                        options.get_url(),
                    ),
                )
                .await
                {
                    Ok(Err(direct)) => direct.to_string(),
                    _ => e.to_string(),
                };
                return Err(Error::unavailable(format!(
                    "cannot connect to the database: {cause}"
                )));
            }
            Err(e) => {
                let hint = if code(&e).as_deref() == Some("14") {
                    cannot_open_hint(options.get_url())
                } else {
                    String::new()
                };
                return Err(Error::unavailable(format!(
                    "cannot connect to the database: {e}{hint}"
                )));
            }
        }
    }
}

/// What SQLite's SQLITE_CANTOPEN most often means at a start: the file's directory is missing
/// or the service's user may not write there (a container's working directory owned by root).
fn cannot_open_hint(url: &str) -> String {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    let directory = match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.display().to_string(),
        _ => "the current directory".to_string(),
    };
    format!(
        " ({directory} must exist and the service's user must be allowed to write in it, \
         for the file and its write-ahead log)"
    )
}

/// SQLite's SQLITE_BUSY ("database is locked").
fn locked(e: &sea_orm::DbErr) -> bool {
    code(e).as_deref() == Some("5")
}

/// The pool gave up waiting for a connection.
fn timed_out(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    matches!(e, DbErr::Conn(RuntimeErr::SqlxError(e))
        if matches!(e.as_ref(), sea_orm::sqlx::Error::PoolTimedOut))
}

/// The database's own code of a failure to connect.
fn code(e: &sea_orm::DbErr) -> Option<String> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Conn(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sea_orm::sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// The key of the transaction-scoped advisory lock that applying migrations holds on
/// PostgreSQL ("c2cmigra" in ASCII).
const MIGRATION_LOCK: i64 = 0x6332_636d_6967_7261;

/// Applies the pending migrations and loads the reference data, in one transaction that one
/// process at a time runs. Instances started together against one database (a rolling deploy,
/// a server beside its twin) would otherwise each find the same migrations pending and all but
/// the first fail on what the first created; here the others wait for its commit and then find
/// nothing to do. SQLite's write transaction excludes other writers already; on PostgreSQL an
/// advisory lock does, and DDL is transactional, so a failed migration leaves nothing behind.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    let failed = |e: sea_orm::DbErr| Error::internal(format!("migration failed: {e}"));
    let txn = if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        write_transaction_waiting(db).await?
    } else {
        write_transaction(db).await?
    };
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Neither waiting for another process's migrations nor a long one of ours is a
        // statement to cut short.
        txn.execute_unprepared("SET LOCAL statement_timeout = 0")
            .await
            .map_err(failed)?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await
            .map_err(failed)?;
    }
    Migrator::up(&txn, None).await.map_err(failed)?;
    crate::seed::ensure_reference_data(&txn).await?;
    txn.commit().await.map_err(failed)
}

/// How long a process waits on SQLite for the write lock another holds before it gives up
/// applying migrations.
const SQLITE_MIGRATION_WAIT: Duration = Duration::from_secs(600);

/// SQLite's write lock for the migrations. Another process may hold it past the busy timeout of
/// one attempt (5 s): an instance migrating a large base takes tens of seconds, as does a bulk
/// load. PostgreSQL's advisory lock waits as long as it takes; here each attempt waits the busy
/// timeout, up to [`SQLITE_MIGRATION_WAIT`] in all.
async fn write_transaction_waiting(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let started = std::time::Instant::now();
    loop {
        match write_transaction(db).await {
            Err(Error::Unavailable(detail)) if started.elapsed() < SQLITE_MIGRATION_WAIT => {
                tracing::info!(%detail, "another process holds the database's write lock; waiting to apply migrations");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// Whether the database answers.
pub async fn ping(db: &DatabaseConnection) -> Result<()> {
    db.ping()
        .await
        .map_err(|e| Error::unavailable(format!("database unreachable: {e}")))
}

/// A transaction that will write. On SQLite it takes the write lock at once (BEGIN IMMEDIATE):
/// a deferred transaction that reads first and then wants to write can deadlock with another
/// writer, and SQLite answers that with an immediate "database is locked" instead of waiting.
pub async fn write_transaction(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
    .map_err(db_err)
}

/// How many times a write transaction the database rolled back to break a deadlock or on a
/// serialization failure is run again before the request answers UNAVAILABLE.
const RETRIES: u32 = 6;

/// Runs `attempt`, one whole write transaction, again when the database rolled it back on a
/// serialization failure or to break a deadlock (SQLSTATE 40001, 40P01): nothing of it was
/// written, and what it decided from its reads is decided again. Each retry waits a little
/// longer, with jitter, so that the transactions that collided do not collide again in step.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(e) if is_retryable(&e) && retries < RETRIES => {
                retries += 1;
                tracing::debug!(retries, error = %e, "write transaction retried");
                tokio::time::sleep(backoff(retries)).await;
            }
            outcome => return outcome,
        }
    }
}

/// 2, 4, 8… milliseconds, plus as much again at random.
fn backoff(retries: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let base = 1u64 << retries.min(8);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(retries);
    Duration::from_millis(base + hasher.finish() % (base + 1))
}
