//! Connecting, migrating and counting what the database is asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use domain::{Error, Result};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

/// Counters of the SQL statements executed, exported on `/metrics`; the statement-count test of
/// the API reads them to prove that a request costs a bounded number of statements.
#[derive(Debug, Default)]
pub struct DbMetrics {
    pub statements: AtomicU64,
    pub failed: AtomicU64,
    pub micros: AtomicU64,
}

impl DbMetrics {
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

pub async fn connect(url: &str, metrics: Arc<DbMetrics>) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if url.starts_with("sqlite") { 4 } else { 16 })
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let mut db = Database::connect(options)
        .await
        .map_err(|e| Error::internal(format!("cannot connect to the database: {e}")))?;
    db.set_metric_callback(move |info| {
        metrics.statements.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(elapsed_us = info.elapsed.as_micros() as u64, sql = %info.statement.sql, "statement");
        metrics
            .micros
            .fetch_add(info.elapsed.as_micros() as u64, Ordering::Relaxed);
        if info.failed {
            metrics.failed.fetch_add(1, Ordering::Relaxed);
        }
    });
    Ok(db)
}

/// Applies the pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    Migrator::up(db, None)
        .await
        .map_err(|e| Error::internal(format!("migration failed: {e}")))
}

/// Whether the database answers: the readiness probe.
pub async fn ping(db: &DatabaseConnection) -> Result<()> {
    db.ping()
        .await
        .map_err(|e| Error::internal(format!("database unreachable: {e}")))
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
    .map_err(|e| Error::internal(format!("cannot begin a transaction: {e}")))
}
