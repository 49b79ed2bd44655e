//! What `/metrics` reports, in the Prometheus text format: requests and errors, the latency of
//! each GraphQL operation, the database's statements and its pool.

use std::collections::HashSet;
use std::sync::Mutex;

use persistence::db::Database;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntGauge, Opts, Registry, TextEncoder,
};

/// Distinct operation names a process labels its latencies with; operations under names beyond
/// these are counted as [`OTHER`]. Clients choose the names, so without a bound each new name
/// would add series to every scrape for the life of the process.
pub const MAX_OPERATION_NAMES: usize = 200;
/// The label of an operation without a name.
pub const ANONYMOUS: &str = "anonymous";
/// The label of the operations named once [`MAX_OPERATION_NAMES`] names have been seen.
pub const OTHER: &str = "other";
/// Longest operation name kept as a label; longer ones count as [`OTHER`].
const MAX_NAME_LENGTH: usize = 64;

pub struct Metrics {
    registry: Registry,
    pub graphql_requests: IntCounter,
    pub graphql_errors: IntCounter,
    /// Anonymous queries answered from the response cache.
    pub cache_hits: IntCounter,
    /// Anonymous queries the response cache could hold but did not, so they ran.
    pub cache_misses: IntCounter,
    /// Queries answered straight from their records (see [`crate::graphql::direct`]).
    pub direct_answers: IntCounter,
    operation_seconds: HistogramVec,
    build_seconds: HistogramVec,
    names: Mutex<HashSet<String>>,
    db_statements: IntCounter,
    db_failed: IntCounter,
    db_micros: IntCounter,
    lists_along: IntCounter,
    lists_again: IntCounter,
    build_waits_given_up: IntCounter,
    groupings_dropped: IntCounter,
    retired: IntCounter,
    unchecked: IntCounter,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    pool_kept: IntGauge,
    pool_max: IntGauge,
    background_builds: IntGauge,
    /// Held while the database's counters are copied in, so that two scrapes at once do not both
    /// add the same increase.
    sync: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let counter = IntCounter::new(name, help).expect("a valid counter name");
    registry
        .register(Box::new(counter.clone()))
        .expect("each metric registered once");
    counter
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let gauge = IntGauge::new(name, help).expect("a valid gauge name");
    registry
        .register(Box::new(gauge.clone()))
        .expect("each metric registered once");
    gauge
}

/// A histogram of seconds with one label.
fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    buckets: Vec<f64>,
    label: &str,
) -> HistogramVec {
    let histogram = HistogramVec::new(
        HistogramOpts::from(Opts::new(name, help)).buckets(buckets),
        &[label],
    )
    .expect("a valid histogram");
    registry
        .register(Box::new(histogram.clone()))
        .expect("each metric registered once");
    histogram
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let operation_seconds = histogram(
            &registry,
            "c2c_graphql_operation_duration_seconds",
            "Time to answer a GraphQL operation, by operation name.",
            vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
            "operation",
        );
        // Labelled by grouping: there are 82 (one to three of six dimensions, whole-life or by
        // year), and what an operator weighs is which of them are worth building ahead
        // (`prepare-rollups --by`). Builds take from a few milliseconds (summed from a finer
        // grouping on a small base) to over a minute (two dimensions of several values a
        // practice, by year, on a large one).
        let build_seconds = histogram(
            &registry,
            "c2c_rollup_build_duration_seconds",
            "Time to build a funding-gap grouping's rollup, by grouping.",
            vec![
                0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
            ],
            "grouping",
        );
        Metrics {
            graphql_requests: counter(
                &registry,
                "c2c_graphql_requests_total",
                "GraphQL requests answered.",
            ),
            graphql_errors: counter(
                &registry,
                "c2c_graphql_errors_total",
                "GraphQL responses that carried errors.",
            ),
            cache_hits: counter(
                &registry,
                "c2c_response_cache_hits_total",
                "Anonymous queries answered from the response cache.",
            ),
            cache_misses: counter(
                &registry,
                "c2c_response_cache_misses_total",
                "Anonymous queries the response cache did not hold, so they ran.",
            ),
            direct_answers: counter(
                &registry,
                "c2c_direct_answers_total",
                "Queries answered straight from their records, without the schema's executor.",
            ),
            db_statements: counter(
                &registry,
                "c2c_db_statements_total",
                "SQL statements executed.",
            ),
            db_failed: counter(
                &registry,
                "c2c_db_statement_errors_total",
                "SQL statements that failed.",
            ),
            db_micros: counter(
                &registry,
                "c2c_db_statement_microseconds_total",
                "Time spent in SQL statements.",
            ),
            lists_along: counter(
                &registry,
                "c2c_db_lists_read_along_total",
                "Nested lists of a page of practices read at once with the page, and kept.",
            ),
            lists_again: counter(
                &registry,
                "c2c_db_lists_read_again_total",
                "Nested lists read with their page but read again for its ids: their statement \
                 selected other practices than the page's.",
            ),
            build_waits_given_up: counter(
                &registry,
                "c2c_rollup_questions_told_to_retry_total",
                "Questions that stopped waiting for the first build of their funding-gap \
                 grouping and were told to ask again while it went on.",
            ),
            groupings_dropped: counter(
                &registry,
                "c2c_rollup_groupings_dropped_total",
                "Funding-gap groupings dropped, asked for least recently, to make room for one \
                 a question asked for (see --rollup-asked-groupings).",
            ),
            unchecked: counter(
                &registry,
                "c2c_db_statements_on_kept_connections_total",
                "PostgreSQL statements of the read path run on a connection kept back from the \
                 pool, without the check sqlx makes of a connection given back to it.",
            ),
            retired: counter(
                &registry,
                "c2c_db_connections_retired_total",
                "PostgreSQL connections opened while the server started, closed at their first \
                 use by a request so that the workers open their own.",
            ),
            pool_in_use: gauge(
                &registry,
                "c2c_db_pool_connections_in_use",
                "Connections of the pool lent to a request.",
            ),
            pool_idle: gauge(
                &registry,
                "c2c_db_pool_connections_idle",
                "Open connections of the pool waiting for a request.",
            ),
            pool_kept: gauge(
                &registry,
                "c2c_db_pool_connections_kept",
                "Idle connections the read path keeps back from the pool on PostgreSQL, given \
                 back after a second unused.",
            ),
            pool_max: gauge(
                &registry,
                "c2c_db_pool_connections_max",
                "The most connections the pool opens.",
            ),
            background_builds: gauge(
                &registry,
                "c2c_rollup_builds_in_background",
                "Funding-gap groupings by year being built in the background: their questions \
                 read a finer grouping until the build is done, at more cost than once it is.",
            ),
            operation_seconds,
            build_seconds,
            names: Mutex::new(HashSet::new()),
            sync: Mutex::new(()),
            registry,
        }
    }

    /// The label an operation's latency is recorded under: its name while the process has seen
    /// fewer than [`MAX_OPERATION_NAMES`] names, else [`OTHER`].
    pub fn operation_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return ANONYMOUS.into();
        };
        let is_name = name.len() <= MAX_NAME_LENGTH
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !is_name || name == OTHER || name == ANONYMOUS {
            return OTHER.into();
        }
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if names.contains(name) {
            return name.into();
        }
        if names.len() < MAX_OPERATION_NAMES {
            names.insert(name.into());
            return name.into();
        }
        OTHER.into()
    }

    /// Records how long an operation, labelled by [`Metrics::operation_label`], took.
    pub fn observe_operation(&self, label: &str, seconds: f64) {
        self.operation_seconds
            .with_label_values(&[label])
            .observe(seconds);
    }

    /// Everything, with the database's counters and pool read now.
    pub fn render(&self, database: &Database) -> String {
        {
            let _one_at_a_time = self.sync.lock().unwrap_or_else(|e| e.into_inner());
            let db = database.metrics();
            let load =
                |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            // The database counts in its own atomics; these counters follow them.
            for (counter, now) in [
                (&self.db_statements, load(&db.statements)),
                (&self.db_failed, load(&db.failed)),
                (&self.db_micros, load(&db.micros)),
                (&self.lists_along, load(&db.lists_along)),
                (&self.lists_again, load(&db.lists_again)),
                (&self.build_waits_given_up, load(&db.build_waits_given_up)),
                (&self.groupings_dropped, load(&db.groupings_dropped)),
                (&self.retired, load(&db.retired)),
                (&self.unchecked, load(&db.unchecked)),
            ] {
                counter.inc_by(now.saturating_sub(counter.get()));
            }
            for (grouping, took) in db.take_builds() {
                self.build_seconds
                    .with_label_values(&[grouping.as_str()])
                    .observe(took.as_secs_f64());
            }
            let pool = database.pool_stats();
            self.pool_in_use.set(pool.in_use.into());
            self.pool_idle.set(pool.idle.into());
            self.pool_kept.set(pool.kept.into());
            self.pool_max.set(pool.max.into());
            self.background_builds
                .set(i64::try_from(database.rollup_builds_in_background()).unwrap_or(i64::MAX));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let metrics = Metrics::new();
        assert_eq!(metrics.operation_label(None), ANONYMOUS);
        assert_eq!(metrics.operation_label(Some("")), ANONYMOUS);
        assert_eq!(metrics.operation_label(Some("Practices")), "Practices");
        assert_eq!(metrics.operation_label(Some("not a name")), OTHER);
        assert_eq!(metrics.operation_label(Some(&"a".repeat(65))), OTHER);
        for i in 1..MAX_OPERATION_NAMES {
            assert_eq!(
                metrics.operation_label(Some(&format!("Op{i}"))),
                format!("Op{i}")
            );
        }
        assert_eq!(metrics.operation_label(Some("OneTooMany")), OTHER);
        // Names seen before the bound keep their own label.
        assert_eq!(metrics.operation_label(Some("Practices")), "Practices");
        assert_eq!(metrics.operation_label(Some("Op7")), "Op7");
    }
}
