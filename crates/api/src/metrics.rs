//! A few counters in the Prometheus text format. Hand-written: four counters do not justify a
//! metrics framework.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use persistence::db::DbMetrics;

#[derive(Debug, Default)]
pub struct HttpMetrics {
    pub graphql_requests: AtomicU64,
    pub graphql_errors: AtomicU64,
}

pub fn render(http: &HttpMetrics, db: &DbMetrics) -> String {
    let counters: [(&str, &str, &AtomicU64); 5] = [
        (
            "c2c_graphql_requests_total",
            "GraphQL requests answered.",
            &http.graphql_requests,
        ),
        (
            "c2c_graphql_errors_total",
            "GraphQL responses that carried errors.",
            &http.graphql_errors,
        ),
        (
            "c2c_db_statements_total",
            "SQL statements executed.",
            &db.statements,
        ),
        (
            "c2c_db_statement_errors_total",
            "SQL statements that failed.",
            &db.failed,
        ),
        (
            "c2c_db_statement_microseconds_total",
            "Time spent in SQL statements.",
            &db.micros,
        ),
    ];
    let mut out = String::new();
    for (name, help, value) in counters {
        let value = value.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    out
}
