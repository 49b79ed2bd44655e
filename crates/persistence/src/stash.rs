//! PostgreSQL connections kept back from the pool between the statements of the read path.
//!
//! sqlx sends every connection given back to its pool a `Sync` and waits for PostgreSQL's
//! answer before another request may take it: a round trip, and a wake-up of the server's
//! backend and of the service, for every statement. A nested page runs four. A connection whose
//! statement ran to its end is ready for the next one by construction (its last message was
//! PostgreSQL's ReadyForQuery), so the read path keeps such connections here and takes them
//! back without asking. A connection dropped anywhere else (a statement that failed or was
//! cancelled, a write, a transaction) goes back to the pool as before, checked.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::sqlx::Postgres;
use sea_orm::sqlx::pool::PoolConnection;

/// The most connections kept back: the requests' pool holds 32, and what is kept here is
/// lent to no other path (writes, transactions, questions), which take theirs from the pool.
pub(crate) const STASH_MAX: usize = 8;

/// A connection kept longer than this goes back to the pool. Under reads a kept connection is
/// taken again within milliseconds; one left here while the reads pause would be missing to the
/// other paths, which wait for the pool's (and, after `db::POOL_IDLE_CHECK`, checks it as any).
const STASH_IDLE: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct Stash {
    kept: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
}

impl Stash {
    /// The connection kept last, if one was kept less than [`STASH_IDLE`] ago; older ones go
    /// back to the pool.
    pub(crate) fn take(&self) -> Option<PoolConnection<Postgres>> {
        let mut kept = self.kept();
        let fresh = kept.partition_point(|(_, at)| at.elapsed() >= STASH_IDLE);
        // Dropped here, the stale ones go back to the pool, which checks them.
        drop(kept.drain(..fresh));
        kept.pop().map(|(connection, _)| connection)
    }

    /// Gives the connections kept longer than [`STASH_IDLE`] back to the pool, every
    /// [`STASH_IDLE`] until `stash` is dropped: while the reads pause nothing else would.
    pub(crate) async fn sweep(stash: std::sync::Weak<Stash>) {
        let mut every = tokio::time::interval(STASH_IDLE);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(stash) = stash.upgrade() else {
                return;
            };
            let mut kept = stash.kept();
            let stale = kept.partition_point(|(_, at)| at.elapsed() >= STASH_IDLE);
            drop(kept.drain(..stale));
        }
    }

    /// Keeps `connection`, whose last statement ran to its end, unless [`STASH_MAX`] are kept.
    pub(crate) fn keep(&self, connection: PoolConnection<Postgres>) {
        let mut kept = self.kept();
        if kept.len() < STASH_MAX {
            kept.push((connection, Instant::now()));
        }
    }

    /// How many connections are kept.
    pub(crate) fn len(&self) -> usize {
        self.kept().len()
    }

    /// Gives every kept connection back to the pool.
    pub(crate) fn clear(&self) {
        drop(std::mem::take(&mut *self.kept()));
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Vec<(PoolConnection<Postgres>, Instant)>> {
        // A panic while holding the lock leaves a list of connections that is still one.
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
