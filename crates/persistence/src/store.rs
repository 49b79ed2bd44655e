//! The store every domain repository is implemented on, and how its database errors read.
//!
//! The repositories themselves live with their aggregate (`practice`, `scheme`, `funding`,
//! `need`, `profiles`, `reference`, `audit`); every batch method costs one statement whatever the
//! number of ids, which is what keeps the GraphQL dataloaders free of N+1 queries.

use std::sync::Arc;

use domain::Error;
use sea_orm::{DatabaseConnection, DbErr, SqlErr};

use crate::analytics::KeptWords;
use crate::reference::KnownCountries;
use crate::rollup::{BackgroundBuilds, Room};
use crate::signature::KnownSignatures;

#[derive(Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    kept: Kept,
}

/// What the stores of one database keep between requests: facts that change rarely or never and
/// would otherwise cost a statement each time they are read.
#[derive(Clone, Default)]
pub(crate) struct Kept {
    words: Arc<KeptWords>,
    countries: Arc<KnownCountries>,
    signatures: Arc<KnownSignatures>,
    builds: Arc<BackgroundBuilds>,
    /// The groupings questions keep built (see [`Room`]).
    room: Arc<Room>,
    metrics: Arc<crate::db::DbMetrics>,
    /// PostgreSQL connections the read path keeps back from the pool.
    stash: Arc<crate::stash::Stash>,
    /// The longest a question waits for the first build of its funding-gap grouping (see
    /// [`crate::db::DbOptions::build_wait`]); `None` waits for the build to end.
    build_wait: Option<std::time::Duration>,
}

impl Kept {
    pub(crate) fn stash(&self) -> &Arc<crate::stash::Stash> {
        &self.stash
    }

    pub(crate) fn builds(&self) -> &BackgroundBuilds {
        &self.builds
    }

    /// Kept facts that count into the database's `metrics`.
    pub(crate) fn counting(
        metrics: Arc<crate::db::DbMetrics>,
        options: &crate::db::DbOptions,
    ) -> Kept {
        Kept {
            room: Arc::new(Room::new(
                options.asked_groupings,
                options.dropped_cells_kept_for,
                metrics.clone(),
            )),
            metrics,
            build_wait: options.build_wait,
            ..Kept::default()
        }
    }
}

impl SeaStore {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaStore::with_kept(db, Kept::default())
    }

    /// A store that shares what it keeps (see [`Kept`]) with the others on the same database.
    pub(crate) fn with_kept(db: DatabaseConnection, kept: Kept) -> Self {
        SeaStore { db, kept }
    }

    pub(crate) fn metrics(&self) -> &crate::db::DbMetrics {
        &self.kept.metrics
    }

    pub(crate) fn stash(&self) -> &crate::stash::Stash {
        &self.kept.stash
    }

    pub(crate) fn kept_words(&self) -> &KeptWords {
        &self.kept.words
    }

    pub(crate) fn known_countries(&self) -> &KnownCountries {
        &self.kept.countries
    }

    pub(crate) fn known_signatures(&self) -> &KnownSignatures {
        &self.kept.signatures
    }

    pub(crate) fn background_builds(&self) -> &Arc<BackgroundBuilds> {
        &self.kept.builds
    }

    pub(crate) fn room(&self) -> &Arc<Room> {
        &self.kept.room
    }

    pub(crate) fn build_wait(&self) -> Option<std::time::Duration> {
        self.kept.build_wait
    }

    /// `read`, a question that stopped waiting for its grouping's build counted.
    pub(crate) fn count_given_up<T>(&self, read: Result<T, Error>) -> Result<T, Error> {
        if let Err(Error::Preparing { what, .. }) = &read {
            self.metrics()
                .build_waits_given_up
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(%what, "a question told to ask again while its grouping is built");
        }
        read
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// Unique-constraint violations are the caller's conflict; a database that is away, a
/// statement cancelled by `statement_timeout`, a lock not granted or a transaction rolled back to
/// break a deadlock are UNAVAILABLE (a moment later the same request may succeed); anything else
/// is ours.
pub(crate) fn db_err(err: DbErr) -> Error {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            return Error::Conflict("a record with these values already exists".into());
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            return Error::validation("id", "refers to a record that does not exist");
        }
        _ => {}
    }
    match transience(&err) {
        Some(Transience::Retry) => Error::Unavailable(format!("{RETRYABLE}{err}")),
        Some(Transience::TimedOut) => Error::unavailable(format!("statement timed out: {err}")),
        Some(Transience::Away) => Error::unavailable(format!("database unavailable: {err}")),
        None => Error::internal(err),
    }
}

/// How the detail of an UNAVAILABLE error starts when the whole transaction may simply be run
/// again at once (see [`crate::db::retrying`]).
const RETRYABLE: &str = "transaction rolled back by the database, to be retried: ";

/// Whether `err` is a transaction the database rolled back on a serialization failure or to
/// break a deadlock: running it again is expected to succeed.
pub(crate) fn is_retryable(err: &Error) -> bool {
    matches!(err, Error::Unavailable(detail) if detail.starts_with(RETRYABLE))
}

enum Transience {
    /// SQLSTATE 40001 (serialization failure) or 40P01 (deadlock detected).
    Retry,
    /// SQLSTATE 57014: `statement_timeout` cancelled the statement.
    TimedOut,
    /// No connection could be had or kept, or the server is shutting down or starting.
    Away,
}

fn transience(err: &DbErr) -> Option<Transience> {
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match err {
        DbErr::ConnectionAcquire(_) => return Some(Transience::Away),
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return None,
    };
    let sea_orm::RuntimeErr::SqlxError(sqlx) = runtime else {
        return None;
    };
    match sqlx.as_ref() {
        Sqlx::Database(db) => {
            let code = db.code()?;
            match code.as_ref() {
                "40001" | "40P01" => Some(Transience::Retry),
                "57014" => Some(Transience::TimedOut),
                // Admin shutdown, crash shutdown, cannot connect now, and connection exceptions.
                "57P01" | "57P02" | "57P03" => Some(Transience::Away),
                c if c.starts_with("08") => Some(Transience::Away),
                // SQLite: the database stayed locked by another writer past the busy timeout.
                "5" | "6" | "261" | "517" => Some(Transience::Away),
                _ => None,
            }
        }
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        | Sqlx::Protocol(_) => Some(Transience::Away),
        _ => None,
    }
}
