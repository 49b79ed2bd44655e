//! Connecting, migrating and counting what the database is asked; [`Database`] is the handle the
//! layers above hold, so that none of them needs sea-orm.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use domain::{Error, Result};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::SeaStore;
use crate::seed::{self, SeedReport};

/// Counters of the SQL statements executed, exported on `/metrics`; the statement-count test of
/// the API reads them there to prove that a request costs a bounded number of statements.
#[derive(Debug, Default)]
pub struct DbMetrics {
    pub statements: AtomicU64,
    pub failed: AtomicU64,
    pub micros: AtomicU64,
}

/// A pool of connections to one database and the counters of the statements run through it.
/// Cloning shares both.
#[derive(Clone)]
pub struct Database {
    connection: DatabaseConnection,
    metrics: Arc<DbMetrics>,
}

impl Database {
    /// Connects; nothing is migrated or loaded yet.
    pub async fn connect(url: &str) -> Result<Database> {
        let metrics = Arc::new(DbMetrics::default());
        let connection = connect(url, metrics.clone()).await?;
        Ok(Database {
            connection,
            metrics,
        })
    }

    pub async fn migrate(&self) -> Result<()> {
        migrate(&self.connection).await
    }

    /// Whether the database answers: the readiness probe.
    pub async fn ping(&self) -> Result<()> {
        ping(&self.connection).await
    }

    /// Countries and USD rates, loaded once into a migrated database.
    pub async fn ensure_reference_data(&self) -> Result<()> {
        seed::ensure_reference_data(&self.connection).await
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

    /// The repositories the domain services work on.
    pub fn store(&self) -> SeaStore {
        SeaStore::new(self.connection.clone())
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// Closes the pool; clones of this handle can no longer be used.
    pub async fn close(self) -> Result<()> {
        self.connection
            .close()
            .await
            .map_err(|e| Error::internal(format!("cannot close the database: {e}")))
    }
}

pub async fn connect(url: &str, metrics: Arc<DbMetrics>) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if url.starts_with("sqlite") { 4 } else { 16 })
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let mut db = sea_orm::Database::connect(options)
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

/// Whether the database answers.
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
