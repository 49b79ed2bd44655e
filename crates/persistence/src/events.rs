//! Live updates across processes: the change log, read as it grows, made into
//! [`domain::events::Event`]s and fanned out to this process's subscribers.
//!
//! The change log is the source of truth: a change is there if and only if its save committed,
//! numbered in commit order (see [`crate::changes`]). Each process runs one follower that reads
//! the entries after the last one it has seen whenever it is woken:
//!
//! - on PostgreSQL by `NOTIFY c2c_changes`, which every save sends inside its transaction and
//!   the server delivers at commit, to every process (`LISTEN` on a connection of the pool);
//! - on SQLite, which has no notifications, by [`committed`], called in the process after each
//!   commit that logged a change;
//! - and every `sweep` (see [`EventHub::start`]) whatever happens, which covers notifications
//!   lost while the listening connection was away and writes by other processes on SQLite.
//!
//! Waking more often than needed only costs a read that finds nothing new.

use std::sync::LazyLock;
use std::time::Duration;

use domain::changes::ChangeKind;
use domain::events::Event;
use sea_orm::*;
use tokio::sync::{broadcast, watch};

use crate::changes::change_log::{self, Column as L};

/// The PostgreSQL channel saves notify on.
pub const CHANNEL: &str = "c2c_changes";

/// How often the follower reads the log when nothing woke it, by default.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Entries read in one statement.
const BATCH: u64 = 500;

/// Bumped after each commit that logged a change, so followers in this process read at once.
static COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Tells the followers of this process that a transaction that logged a change has committed.
pub(crate) fn committed() {
    COMMITS.send_modify(|n| *n = n.wrapping_add(1));
}

/// The statement a save runs inside its transaction so that PostgreSQL tells every listening
/// process once it commits (several in one transaction are delivered as one).
pub(crate) fn notify_statement(backend: DbBackend) -> Option<Statement> {
    (backend == DbBackend::Postgres)
        .then(|| Statement::from_string(backend, format!("NOTIFY {CHANNEL}")))
}

/// The events of the base as they happen, for this process's subscribers. Cloning shares it.
#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<Event>,
}

impl EventHub {
    /// Starts the follower of `db`'s change log from its current end, reading it at least every
    /// `sweep`. Each subscriber may lag `capacity` events behind before it loses the oldest (see
    /// [`broadcast`]). Needs a Tokio runtime; the follower ends when the last [`EventHub`] is
    /// dropped.
    pub fn start(db: DatabaseConnection, capacity: usize, sweep: Duration) -> EventHub {
        let (sender, _) = broadcast::channel(capacity.max(1));
        let hub = EventHub { sender };
        let weak = hub.sender.downgrade();
        tokio::spawn(follow(db, weak, sweep.max(Duration::from_millis(10))));
        hub
    }

    /// The events from now on. A receiver that falls `capacity` behind gets
    /// [`broadcast::error::RecvError::Lagged`] and continues with the oldest still held.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

async fn last_seq(db: &DatabaseConnection) -> std::result::Result<i64, DbErr> {
    let last = change_log::Entity::find()
        .select_only()
        .column_as(L::Seq.max(), "last")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?;
    Ok(last.flatten().unwrap_or(0))
}

/// Sends the events of the entries after `after`, and answers the last entry read.
async fn read_after(
    db: &DatabaseConnection,
    mut after: i64,
    sender: &broadcast::Sender<Event>,
) -> std::result::Result<i64, DbErr> {
    loop {
        let rows = change_log::Entity::find()
            .filter(L::Seq.gt(after))
            .order_by_asc(L::Seq)
            .limit(BATCH)
            .all(db)
            .await?;
        for row in &rows {
            after = row.seq;
            let kind = ChangeKind::from_name(&row.kind);
            let event = kind.and_then(|kind| {
                Event::from_change(&row.record_type, row.record_id, kind, row.status.as_deref())
            });
            if let Some(event) = event {
                // No receiver is not an error: nobody is subscribed right now.
                let _ = sender.send(event);
            }
        }
        if (rows.len() as u64) < BATCH {
            return Ok(after);
        }
    }
}

async fn listener(db: &DatabaseConnection) -> Option<sea_orm::sqlx::postgres::PgListener> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    let pool = db.get_postgres_connection_pool();
    let connected = async {
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok::<_, sea_orm::sqlx::Error>(listener)
    };
    match connected.await {
        Ok(listener) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "cannot LISTEN for changes; following the change log by sweeps");
            None
        }
    }
}

/// Whether `e` says the pool was closed: the database closing as the process stops, the
/// follower's end rather than a failure to retry.
fn pool_closed(e: &DbErr) -> bool {
    matches!(
        e,
        DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed)
    )
}

async fn follow(db: DatabaseConnection, weak: broadcast::WeakSender<Event>, sweep_every: Duration) {
    let mut after = loop {
        match last_seq(&db).await {
            Ok(last) => break last,
            // A command done before the follower's first read closes the database under it.
            Err(e) if pool_closed(&e) || weak.upgrade().is_none() => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the change log; retrying");
                tokio::time::sleep(sweep_every).await;
            }
        }
    };
    let mut listener = listener(&db).await;
    // Where PostgreSQL notifies, the commits of this process are heard through it like those of
    // any other: one path, the one that must work across processes.
    let mut commits = listener.is_none().then(|| COMMITS.subscribe());
    let mut sweep = tokio::time::interval(sweep_every);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let notified = async {
            match listener.as_mut() {
                Some(l) => {
                    if let Err(e) = l.recv().await {
                        // The listener reconnects on the next call; the sweep covers the gap.
                        tracing::warn!(error = %e, "lost the LISTEN connection");
                        tokio::time::sleep(sweep_every).await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        let committed = async {
            match commits.as_mut() {
                Some(commits) => {
                    let _ = commits.changed().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = notified => {}
            _ = committed => {}
            _ = sweep.tick() => {}
        }
        let Some(sender) = weak.upgrade() else {
            return;
        };
        match read_after(&db, after, &sender).await {
            Ok(last) => after = last,
            Err(e) if pool_closed(&e) => return,
            Err(e) => tracing::warn!(error = %e, "reading the change log failed; retrying"),
        }
    }
}
