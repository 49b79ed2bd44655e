//! Building a grouping's rollup the first time it is asked for, beside the writers that keep
//! the built ones current.

use std::sync::Arc;

use domain::{Error, Result};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, IsolationLevel, Statement,
    TransactionTrait,
};

use super::*;
use crate::store::db_err;

/// Builds the rollup of `combo` from the base unless it is there already. The first question
/// for a grouping pays for this once; writes keep it current from then on. A question arriving
/// while another builds the grouping waits for that build.
///
/// On SQLite the build is one write transaction: SQLite has one writer at a time whatever is
/// done. On PostgreSQL writers go on during the build (see [`build_beside_writers`]).
///
/// The build runs as a task of its own, so that a question abandoned at its deadline (or by its
/// client) leaves it running to the end: dropped halfway, a build marked as running would keep
/// every question about its grouping waiting until it counts as abandoned. A question waits for
/// it at most `wait` (at most [`FOLLOWER_WAIT`] when another question started the build), then
/// answers [`Error::Preparing`] while the build goes on; it answers so at once, without
/// waiting, when the grouping's last build says this one will outlast the wait (see
/// [`outlasts`]). A question that
/// finds another's build under way polls it itself rather than in a task: one that stops
/// waiting then leaves nothing behind (clients told to ask again during a build of a minute
/// would otherwise leave a poller each, every one reading the build's state twenty times a
/// second until it ends).
pub(crate) async fn ensure_built(
    db: &DatabaseConnection,
    combo: &Combo,
    wait: Option<std::time::Duration>,
    room: Option<&Arc<Room>>,
) -> Result<()> {
    if let Some(room) = room {
        room.asked(combo);
    }
    // Read before the wait starts, so that a build is started even by a question that waits
    // for none of it.
    let state = build_state(db, combo).await?;
    if state == BuildState::Built {
        return Ok(());
    }
    // On SQLite a build is one transaction: its grouping shows as absent until it is done, and
    // only this process knows it is under way.
    let under_way = |state: &BuildState| {
        *state == BuildState::Building || room.is_some_and(|r| r.under_way(combo))
    };
    let wait = match under_way(&state) {
        true => wait.map(|w| w.min(FOLLOWER_WAIT)),
        false => wait,
    };
    let start = || {
        let started = room.map(|r| r.start(combo));
        let (db, combo, room) = (db.clone(), combo.clone(), room.cloned());
        tokio::spawn(async move {
            let _started = started;
            build_unless_built(&db, &combo, room.as_ref()).await
        })
    };
    if let Some(wait) = wait {
        let (elapsed, took) = build_progress(db, combo, room).await;
        if outlasts(elapsed, took, wait) {
            if !under_way(&state) {
                // Runs to its end without the question (see above).
                drop(start());
            }
            return Err(Error::Preparing {
                what: format!("the funding-gap grouping {}", combo.name()),
                retry_after_seconds: estimate_retry(elapsed, took).as_secs(),
            });
        }
    }
    let waiting = async {
        let mut state = state;
        loop {
            match state {
                BuildState::Built => return Ok(()),
                _ if under_way(&state) => {
                    tokio::time::sleep(BUILD_POLL).await;
                    state = build_state(db, combo).await?;
                }
                _ => {
                    return start().await.map_err(|e| {
                        Error::internal(format!("building a funding-gap rollup: {e}"))
                    })?;
                }
            }
        }
    };
    match wait {
        None => waiting.await,
        Some(wait) => match tokio::time::timeout(wait, waiting).await {
            Ok(built) => built,
            Err(_) => Err(Error::Preparing {
                what: format!("the funding-gap grouping {}", combo.name()),
                retry_after_seconds: retry_after(db, combo, room).await.as_secs(),
            }),
        },
    }
}

/// When a question told to ask again during `combo`'s build should: see [`estimate_retry`].
async fn retry_after(
    db: &DatabaseConnection,
    combo: &Combo,
    room: Option<&Arc<Room>>,
) -> std::time::Duration {
    let (elapsed, took) = build_progress(db, combo, room).await;
    estimate_retry(elapsed, took)
}

/// How long `combo`'s build has been under way, if it is, and how long its last build took, if
/// one is known. The progress is read from the build's mark (on PostgreSQL, where any process
/// may be building), else from when a question of this process started it (a build on SQLite
/// is one transaction and leaves no mark); the last build's time from [`last_build`]. Unread
/// (the database failing), either is unknown: the question is told to ask again all the same.
async fn build_progress(
    db: &DatabaseConnection,
    combo: &Combo,
    room: Option<&Arc<Room>>,
) -> (Option<std::time::Duration>, Option<std::time::Duration>) {
    let marked = building_since(db, combo).await.ok().flatten();
    let elapsed = marked
        .map(|since| (chrono::Utc::now() - since).to_std().unwrap_or_default())
        .or_else(|| {
            room.and_then(|r| r.started_at(combo))
                .map(|at| at.elapsed())
        });
    (elapsed, last_build(db, combo).await.ok().flatten())
}

/// Whether a build under way for `elapsed` (or about to start) will likely outlast a question's
/// `wait`, its grouping's last build having taken `took`: when four fifths of what is left of
/// that time exceed the wait. Builds of one grouping on one base take about as long each time
/// (THEME x BLOC over 2000-2010 on the 200,000-practice benchmark base: 18.9-23.4 s in six
/// builds on one host, 15.4-21.1 s in five on another), so such a question would wait for
/// nothing but to be told to ask again, holding what its request holds meanwhile (an
/// expensive request's permit for nine seconds, where builds by year of two dimensions a
/// practice has several values of take a minute). Without a last build, or past it, the
/// question waits: the build may be done within the wait.
fn outlasts(
    elapsed: Option<std::time::Duration>,
    took: Option<std::time::Duration>,
    wait: std::time::Duration,
) -> bool {
    took.and_then(|took| took.checked_sub(elapsed.unwrap_or_default()))
        .is_some_and(|left| left * 4 / 5 > wait)
}

/// How long until a build that has run `elapsed` is likely done, when its grouping's last build
/// took `took` (a grouping dropped to make room and asked for again is built again, see
/// [`Room`]; the time is kept in the database, see [`note_build`]): what is left of that time. Builds of one grouping on one base take
/// about as long each time, where builds of different groupings take from a second to over a
/// minute (two dimensions a practice has several values of, by year): a client told a fixed
/// five seconds asked a dozen times during the longest, each time holding a permit of the
/// process for a second, and was answered up to five seconds after the build was done. A build
/// that outlasts the last one is taken to be nearly done: a tenth of the last build's time.
/// Without a last build, [`RETRY_BUILD_AFTER`]: waiting longer between asks (doubling, say)
/// would answer later than the build is done by as much again as it took. Whole seconds, from
/// 1 to [`LONGEST_RETRY`].
fn estimate_retry(
    elapsed: Option<std::time::Duration>,
    took: Option<std::time::Duration>,
) -> std::time::Duration {
    let elapsed = elapsed.unwrap_or_default();
    let guess = match took {
        Some(took) if took > elapsed => took - elapsed,
        Some(took) => took / 10,
        None => RETRY_BUILD_AFTER,
    };
    let seconds = guess.as_secs() + u64::from(guess.subsec_nanos() > 0);
    std::time::Duration::from_secs(seconds.clamp(1, LONGEST_RETRY.as_secs()))
}

/// The longest a question is told to wait before it asks again for a grouping being built.
const LONGEST_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

/// The longest a question that finds another's build of its grouping under way waits for it,
/// when it waits at all: what its request holds it holds meanwhile, and an expensive request
/// (a question by year is one) holds one of the few permits of the process. Clients asking
/// again during a build of a minute each held one for the whole wait (nine seconds of every
/// fourteen), and nested pages waited behind them. The question that starts a build waits
/// for it as long as it may: a build of a few seconds is answered at once.
const FOLLOWER_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// When a question that stopped waiting for the build of a grouping this process has not built
/// is told to ask again (see [`estimate_retry`]): whole-life builds from the base of 200,000
/// practices take 2-8 s on this project's benchmark hosts, and a question asked during the
/// build waits for it again.
const RETRY_BUILD_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// The groupings built ahead of any question by [`prepare`]: ORIENTATION x MODALITY, and each
/// dimension a practice may have several values of (theme, country, bloc, management focus)
/// with ORIENTATION x MODALITY, each whole-life and by year. Every whole-life grouping with at
/// most one such dimension is summed from one of them (see [`finer_source`]) in a fraction of a
/// second; a build from the base reads every practice and funding record and takes seconds on a
/// large base. A grouping by year with at most one such dimension is answered from one of them
/// at once, and summed from it meanwhile (see [`readable`]). Groupings with two dimensions of
/// several values a practice are still built when first asked.
pub(crate) fn prepared() -> Vec<Combo> {
    use GapDimension::{Modality, Orientation};
    let whole_life: Vec<Combo> = std::iter::once(Combo::of(&[Orientation, Modality]))
        .chain(
            GapDimension::ALL
                .iter()
                .filter(|d| !crate::cells::one_per_practice(**d))
                .map(|d| Combo::of(&[*d, Orientation, Modality])),
        )
        .collect();
    let by_year: Vec<Combo> = whole_life.iter().map(Combo::by_year).collect();
    whole_life.into_iter().chain(by_year).collect()
}

/// The grouping a question about `combo` reads: `combo` itself, built first unless it is. A
/// grouping by year not built yet that a finer one built before can be summed into (see
/// [`finer_source`]) is read from that one instead, its cells summed and its members counted
/// distinct by the question's statements, while `combo` is built in the background: a build by
/// year takes seconds even summed, the question a fraction of one (theme x orientation over
/// 2000-2010 from theme x orientation x modality by year on 200,000 practices: answered in
/// 0.08-0.13 s on either database, summed in 3.9-4.9 s on SQLite and 4.1-5.3 s on PostgreSQL,
/// where it took 5.0-5.5 s and 4.7-5.1 s to answer built from the base). Once built, `combo`
/// answers from its own cells, faster.
pub(crate) async fn readable(
    db: &DatabaseConnection,
    builds: &Arc<BackgroundBuilds>,
    room: &Arc<Room>,
    combo: &Combo,
    wait: Option<std::time::Duration>,
) -> Result<Combo> {
    room.asked(combo);
    if build_state(db, combo).await? == BuildState::Built {
        return Ok(combo.clone());
    }
    if combo.yearly
        && let Some(source) = finer_source(combo, &built_combos(db).await?)
    {
        room.asked(&source);
        builds.start(db, room, combo);
        return Ok(source);
    }
    ensure_built(db, combo, wait, Some(room)).await?;
    Ok(combo.clone())
}

/// The groupings this process is building in the background on one database (see
/// [`readable`]), so that the questions asked during a build start no other: each would poll
/// the build's progress on its own connection until it is done.
#[derive(Default)]
pub(crate) struct BackgroundBuilds(std::sync::Mutex<Vec<String>>);

impl BackgroundBuilds {
    fn names(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        locked(&self.0)
    }

    /// How many builds are running.
    pub(crate) fn running(&self) -> usize {
        self.names().len()
    }

    fn start(self: &Arc<Self>, db: &DatabaseConnection, room: &Arc<Room>, combo: &Combo) {
        let name = combo.name();
        {
            let mut names = self.names();
            if names.contains(&name) {
                return;
            }
            names.push(name.clone());
        }
        let (builds, db, combo, room) = (self.clone(), db.clone(), combo.clone(), room.clone());
        tokio::spawn(async move {
            if let Err(e) = build_unless_built(&db, &combo, Some(&room)).await {
                // The next question reads the finer grouping again and starts another.
                tracing::warn!(grouping = %name, error = %e, "funding-gap rollup not built in the background");
            }
            builds.names().retain(|n| *n != name);
        });
    }
}

/// A grouping an operator builds ahead of its first question, beside the [`prepared`] ones
/// (`c2c-forum prepare-rollups --by`). Named as the service names groupings in its logs: the
/// dimensions joined by commas, in any order, and `/YEAR` after them for the grouping by year
/// that answers ranges of years ("THEME,COUNTRY", "THEME,COUNTRY/YEAR").
///
/// A grouping with two dimensions a practice may have several values of (theme, country, bloc,
/// management focus) cannot be summed from the prepared ones, so its first question reads the
/// whole base (seconds on a large one); built ahead, it answers at once. Like every built
/// grouping it is then kept current by every write that touches its cells, which is what it
/// costs: see README, "Groupings an operator prepares".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping(Combo);

impl std::str::FromStr for Grouping {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        let (dims, yearly) = match text.strip_suffix(BY_YEAR) {
            Some(dims) => (dims, true),
            None => (text, false),
        };
        let dims = dims
            .split(',')
            .map(|d| GapDimension::parse(d.trim(), "by"))
            .collect::<Result<Vec<_>>>()?;
        let combo = Combo::of(&domain::analytics::grouping(&dims)?);
        Ok(Grouping(if yearly { combo.by_year() } else { combo }))
    }
}

impl Grouping {
    /// The name the grouping is stored and logged under (its dimensions in canonical order).
    pub fn name(&self) -> String {
        self.0.name()
    }
}

/// Builds the [`prepared`] groupings and those in `also` not built yet, each as a first
/// question would (writers go on meanwhile on PostgreSQL), reporting `(stage, done, total)` to
/// `progress`; each build is logged as a first question's is. For a base just loaded around
/// the maintained path, which drops every rollup: without it the first questions after the
/// load pay for the builds. Returns the groupings built.
pub async fn prepare(
    db: &DatabaseConnection,
    also: &[Grouping],
    progress: &(dyn Fn(&str, usize, usize) + Sync),
) -> Result<Vec<String>> {
    let mut wanted = prepared();
    for Grouping(combo) in also {
        if !wanted.contains(combo) {
            wanted.push(combo.clone());
        }
    }
    for Grouping(combo) in also {
        keep_named(db, combo).await?;
    }
    let built = built_combos(db).await?;
    let missing: Vec<Combo> = wanted.into_iter().filter(|c| !built.contains(c)).collect();
    let mut names = Vec::new();
    const STAGE: &str = "funding-gap rollups";
    for (i, combo) in missing.iter().enumerate() {
        progress(STAGE, i, missing.len());
        ensure_built(db, combo, None, None).await?;
        names.push(combo.name());
    }
    progress(STAGE, missing.len(), missing.len());
    Ok(names)
}

/// The groupings questions keep built, besides the [`prepared`] ones and those an operator
/// named (`prepare-rollups --by`): each built grouping makes every write that touches its
/// practices dearer, for good (about 4 ms a whole-life grouping on PostgreSQL, more by year),
/// and any reader may ask for any of the 82 groupings there are. So a question whose grouping
/// is not built drops the one asked for least recently when questions keep `keep` already (see
/// [`make_room`]); asked again, it is built again. Groupings this process has not seen asked
/// count as asked longest ago, the oldest built first among them.
pub(crate) struct Room {
    keep: usize,
    /// How long a dropped grouping's cells stay (see [`drop_grouping`]).
    cells_kept_for: std::time::Duration,
    /// Builds that may run at once in the process on PostgreSQL (SQLite builds one at a time
    /// whatever the database, see [`SQLITE_BUILDS`]): each holds two connections and both
    /// cores for seconds, and a reader asking for a dozen groupings at once had them all built
    /// side by side (twelve whole-life ones in 38-71 s on the benchmark base, a cheap page's
    /// p50 at 112 ms meanwhile).
    builds: tokio::sync::Semaphore,
    asked: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// The groupings whose build a question of this process started and that are not done,
    /// and when it started them.
    started: std::sync::Mutex<Vec<(String, std::time::Instant)>>,
    metrics: Arc<crate::db::DbMetrics>,
}

/// A build a question started, under way until dropped (see [`Room::start`]).
pub(crate) struct Started {
    room: Arc<Room>,
    name: String,
}

impl Drop for Started {
    fn drop(&mut self) {
        let mut started = locked(&self.room.started);
        if let Some(i) = started.iter().position(|(n, _)| *n == self.name) {
            started.swap_remove(i);
        }
    }
}

/// Builds that may run at once in a process on PostgreSQL (see [`Room::builds`]).
const BUILDS_AT_ONCE: usize = 2;

impl Room {
    pub(crate) fn new(
        keep: usize,
        cells_kept_for: std::time::Duration,
        metrics: Arc<crate::db::DbMetrics>,
    ) -> Room {
        Room {
            keep: keep.max(1),
            cells_kept_for,
            builds: tokio::sync::Semaphore::new(BUILDS_AT_ONCE),
            asked: Default::default(),
            started: Default::default(),
            metrics,
        }
    }

    fn asked(&self, combo: &Combo) {
        locked(&self.asked).insert(combo.name(), std::time::Instant::now());
    }

    /// Notes that a question of this process starts building `combo`, until the guard drops.
    fn start(self: &Arc<Self>, combo: &Combo) -> Started {
        let name = combo.name();
        locked(&self.started).push((name.clone(), std::time::Instant::now()));
        Started {
            room: self.clone(),
            name,
        }
    }

    fn under_way(&self, combo: &Combo) -> bool {
        self.started_at(combo).is_some()
    }

    fn started_at(&self, combo: &Combo) -> Option<std::time::Instant> {
        let name = combo.name();
        locked(&self.started)
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, at)| *at)
    }

    fn last_asked(&self, name: &str) -> Option<std::time::Instant> {
        locked(&self.asked).get(name).copied()
    }
}

/// A lock of the process's notes of builds and questions. Each holder changes them in one step
/// and panics in none, so what a panicking thread leaves is as good as any: poisoned, the lock
/// is taken all the same.
fn locked<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Default for Room {
    fn default() -> Self {
        let options = crate::db::DbOptions::default();
        Room::new(
            options.asked_groupings,
            options.dropped_cells_kept_for,
            Default::default(),
        )
    }
}

/// Before `combo` is built for a question: drops the groupings questions keep built, asked for
/// least recently, until `combo` fits among the [`Room::keep`] (those being built count, but
/// are not dropped). Nothing for a prepared grouping or one an operator named.
async fn make_room(db: &DatabaseConnection, room: &Room, combo: &Combo) -> Result<()> {
    let protected: Vec<String> = prepared()
        .iter()
        .map(Combo::name)
        .chain(named(db).await?)
        .collect();
    if protected.contains(&combo.name()) {
        return Ok(());
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT combo, built_at FROM gap_combo",
        ))
        .await
        .map_err(db_err)?;
    let mut taken = 0;
    let mut droppable = Vec::new();
    for r in rows {
        let name: String = r.try_get_by_index(0).map_err(db_err)?;
        let at: chrono::DateTime<chrono::Utc> = r.try_get_by_index(1).map_err(db_err)?;
        let own = name.strip_prefix(BUILDING).unwrap_or(&name);
        if own == combo.name() || protected.iter().any(|p| p == own) {
            continue;
        }
        taken += 1;
        if let Some(built) = Combo::parse(&name).filter(|c| !c.building) {
            droppable.push((room.last_asked(&name), at, built));
        }
    }
    if taken < room.keep {
        return Ok(());
    }
    // Never asked here (None) before asked longest ago; then the oldest built.
    droppable.sort_by_key(|(asked, at, _)| (*asked, *at));
    for (asked, _, victim) in droppable.into_iter().take(taken + 1 - room.keep) {
        drop_grouping(db, room, &victim, asked, combo).await?;
    }
    Ok(())
}

/// Drops `victim` to make room for `combo`. Writers stop keeping it at once: its row goes
/// while they are held back, as a build's first step holds them. Its cells stay for
/// [`Room::cells_kept_for`], so that a question that found it built just before still reads
/// them, then go (unless it was built again meanwhile, whose build cleared them itself).
async fn drop_grouping(
    db: &DatabaseConnection,
    room: &Room,
    victim: &Combo,
    asked: Option<std::time::Instant>,
    combo: &Combo,
) -> Result<()> {
    let name = victim.name();
    let txn = crate::db::write_transaction(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("LOCK TABLE gap_combo IN EXCLUSIVE MODE")
            .await
            .map_err(db_err)?;
    }
    let dropped = txn
        .execute_unprepared(&format!("DELETE FROM gap_combo WHERE combo = '{name}'"))
        .await
        .map_err(db_err)?
        .rows_affected();
    txn.commit().await.map_err(db_err)?;
    if dropped == 0 {
        return Ok(());
    }
    room.metrics
        .groupings_dropped
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        grouping = %name,
        for_grouping = %combo.name(),
        asked_seconds_ago = asked.map(|a| a.elapsed().as_secs()),
        keep = room.keep,
        "funding-gap rollup dropped to make room: asked for least recently"
    );
    let (db, victim, after) = (db.clone(), victim.clone(), room.cells_kept_for);
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let started = std::time::Instant::now();
        match delete_left_cells(&db, &victim).await {
            Ok(rows) => {
                tracing::info!(grouping = %victim.name(), rows, elapsed_ms = started.elapsed().as_millis() as u64, "cells of a dropped funding-gap rollup deleted");
            }
            // Left for the grouping's next build, which clears them first.
            Err(e) => {
                tracing::warn!(grouping = %victim.name(), error = %e, "cells of a dropped funding-gap rollup not deleted");
            }
        }
    });
    Ok(())
}

/// Deletes the cells `combo` left behind, unless it is built or being built: those of a
/// dropped grouping (see [`drop_grouping`]; a process that stops while they are kept never
/// deletes them), or of a builder that died after writing them. On PostgreSQL the delete takes
/// the grouping's own lock, which a build's first step takes too, instead of holding every
/// writer back while it deletes (a whole-life grouping of two dimensions of several values a
/// practice has about half a million rows). Returns the rows deleted.
async fn delete_left_cells(db: &DatabaseConnection, combo: &Combo) -> Result<u64> {
    let txn = crate::db::write_transaction(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        lock_grouping(&txn, combo).await?;
        txn.execute_unprepared("SET LOCAL enable_seqscan = off")
            .await
            .map_err(db_err)?;
    }
    if matches!(
        build_state(&txn, combo).await?,
        BuildState::Built | BuildState::Building
    ) {
        // Built again meanwhile, or being built: that build cleared them.
        txn.commit().await.map_err(db_err)?;
        return Ok(0);
    }
    let deleted = delete_cells(&txn, combo.tables(), &combo.name()).await?;
    txn.commit().await.map_err(db_err)?;
    Ok(deleted)
}

/// The class of PostgreSQL's two-key advisory locks that a grouping's build and the deletion
/// of its dropped cells take, the grouping's name hashed the other key ("gapr" in ASCII).
const GROUPING_LOCK_CLASS: i32 = 1_734_439_026;

async fn lock_grouping(txn: &DatabaseTransaction, combo: &Combo) -> Result<()> {
    txn.execute_unprepared(&format!(
        "SELECT pg_advisory_xact_lock({GROUPING_LOCK_CLASS}, hashtext('{}'))",
        combo.name()
    ))
    .await
    .map_err(db_err)
    .map(|_| ())
}

/// The groupings an operator named (see [`Grouping`]): never dropped to make room.
async fn named(db: &DatabaseConnection) -> Result<Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT combo FROM prepared_grouping",
        ))
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| r.try_get_by_index(0).map_err(db_err))
        .collect()
}

/// Remembers that an operator named `combo`; kept through bulk loads, which drop every rollup.
async fn keep_named(db: &DatabaseConnection, combo: &Combo) -> Result<()> {
    let at = chrono::Utc::now().to_rfc3339();
    db.execute_unprepared(&format!(
        "INSERT INTO prepared_grouping (combo, named_at) VALUES ('{}', '{at}') \
         ON CONFLICT (combo) DO NOTHING",
        combo.name()
    ))
    .await
    .map_err(db_err)
    .map(|_| ())
}

/// Held by the SQLite build under way in this process (see [`build_unless_built`]).
static SQLITE_BUILDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn build_unless_built(
    db: &DatabaseConnection,
    combo: &Combo,
    room: Option<&Arc<Room>>,
) -> Result<()> {
    loop {
        match build_state(db, combo).await? {
            BuildState::Built => return Ok(()),
            BuildState::Building => tokio::time::sleep(BUILD_POLL).await,
            BuildState::Absent | BuildState::Abandoned => {
                if db.get_database_backend() == DbBackend::Postgres {
                    // A few builds at a time in the process (see [`Room::builds`]); the room
                    // is made once a build may start, so that it counts the builds under way.
                    let _permit = match room {
                        Some(room) => Some(room.builds.acquire().await.map_err(|e| {
                            Error::internal(format!("waiting to build a rollup: {e}"))
                        })?),
                        None => None,
                    };
                    if matches!(
                        build_state(db, combo).await?,
                        BuildState::Built | BuildState::Building
                    ) {
                        continue;
                    }
                    if let Some(room) = room {
                        make_room(db, room, combo).await?;
                    }
                    let took = build_beside_writers(db, combo).await?;
                    note_build(db, combo, took, room).await;
                    if took.is_some() {
                        let tables = combo.tables().all();
                        match room {
                            // A question waits for no more than the build: the grouping is
                            // answered meanwhile, its rows read from the tables as well.
                            Some(_) => {
                                let db = db.clone();
                                tokio::spawn(async move { vacuum(&db, &tables).await });
                            }
                            None => vacuum(db, &tables).await,
                        }
                    }
                } else {
                    // One build at a time in this process. A second question arriving during a
                    // build would otherwise wait for SQLite's write lock, give up at its busy
                    // timeout (a build on a large base takes longer) and fail as unavailable;
                    // here it waits for the build, then finds its grouping built.
                    let _one = SQLITE_BUILDS.lock().await;
                    if let Some(room) = room
                        && build_state(db, combo).await? != BuildState::Built
                    {
                        make_room(db, room, combo).await?;
                    }
                    let took = build_at_once(db, combo).await?;
                    note_build(db, combo, took, room).await;
                }
            }
        }
    }
}

/// Keeps how long `combo`'s build took, if it built anything (see [`last_build`]), and counts it
/// on the process's metrics. A build is done whether or not its time is kept: a failure to keep
/// it is logged, and the next question told to ask again during a build of `combo` is told to do
/// so sooner.
async fn note_build(
    db: &DatabaseConnection,
    combo: &Combo,
    took: Option<std::time::Duration>,
    room: Option<&Arc<Room>>,
) {
    let Some(took) = took else { return };
    if let Some(room) = room {
        room.metrics.build_done(&combo.name(), took);
    }
    let at = chrono::Utc::now().to_rfc3339();
    let ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
    let kept = db
        .execute_unprepared(&format!(
            "INSERT INTO rollup_build (combo, took_ms, built_at) VALUES ('{}', {ms}, '{at}') \
             ON CONFLICT (combo) DO UPDATE SET took_ms = excluded.took_ms, \
             built_at = excluded.built_at",
            combo.name()
        ))
        .await;
    if let Err(e) = kept {
        tracing::warn!(grouping = %combo.name(), error = %e, "the time of a funding-gap rollup's build not kept");
    }
}

/// Held by the [`vacuum`] under way in this process.
static VACUUMS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The pauses after a VACUUM of [`vacuum`] that left pages unmarked, before the next; the last
/// ends its rounds.
const VACUUM_AGAIN_AFTER: [std::time::Duration; 3] = [
    std::time::Duration::from_secs(2),
    std::time::Duration::from_secs(10),
    std::time::Duration::ZERO,
];

/// Vacuums a grouping's `tables` on PostgreSQL once its build is done. A build writes its rows
/// in one go, on pages the visibility map does not yet mark as visible to every transaction:
/// until a VACUUM does (autovacuum waits for a fifth of a table's rows to be new), a question
/// reading them from a rollup's index alone reads each row in the table as well (the year range
/// of the load benchmark, theme x orientation over 2000-2010 on 200,000 practices: 1,459 rows
/// looked up in the table by one statement, 2.9 ms against 1.6 ms vacuumed; 348-353 requests
/// a second against 375-393 at 16 connections, three builds each). The VACUUM visits only the
/// pages changed since the last (165-174 ms after that grouping's build, in tables of 1.5 GB).
/// On a connection of its own, closed after, so that the statement timeout it lifts goes with
/// it. A VACUUM that fails leaves the grouping as built: it is logged, and its questions read
/// the tables as well until autovacuum comes.
///
/// A page is marked only once no transaction of the database may still not see its rows: one
/// whose snapshot predates the build's end (a question read, another build, an autoanalyze)
/// leaves the build's pages unmarked. While some page of the tables is, the VACUUM is run again
/// after each pause of [`VACUUM_AGAIN_AFTER`] (writers unmark pages all the time, so the last
/// round may still leave some; each round visits only the pages unmarked since the last).
async fn vacuum(db: &DatabaseConnection, tables: &[&'static str]) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    // One at a time in the process: a question building a dozen groupings would otherwise
    // have a dozen VACUUMs of the same tables queue for their locks, the builds' ANALYZE behind
    // them.
    let _one = VACUUMS.lock().await;
    let started = std::time::Instant::now();
    let vacuumed = async {
        let mut connection = db.get_postgres_connection_pool().acquire().await?.detach();
        use sea_orm::sqlx::Executor as _;
        connection.execute("SET statement_timeout = 0").await?;
        // Never waiting for a lock (a table another holds is left for the next round), and
        // never taking the exclusive one that giving back the empty pages at a table's end needs,
        // which questions and writers would wait for.
        let vacuum = format!("VACUUM (SKIP_LOCKED, TRUNCATE false) {}", tables.join(", "));
        let listed = tables
            .iter()
            .map(|t| format!("'{t}'::regclass"))
            .collect::<Vec<_>>()
            .join(", ");
        let visible = format!(
            "SELECT COALESCE(bool_and(relallvisible >= relpages), true) FROM pg_class \
             WHERE oid IN ({listed})"
        );
        let mut rounds = 0;
        for pause in VACUUM_AGAIN_AFTER {
            rounds += 1;
            connection
                .execute(sea_orm::sqlx::AssertSqlSafe(vacuum.clone()))
                .await?;
            let all: bool =
                sea_orm::sqlx::query_scalar(sea_orm::sqlx::AssertSqlSafe(visible.clone()))
                    .fetch_one(&mut connection)
                    .await?;
            if all {
                break;
            }
            tokio::time::sleep(pause).await;
        }
        sea_orm::sqlx::Connection::close(connection).await?;
        Ok::<_, sea_orm::sqlx::Error>(rounds)
    }
    .await;
    match vacuumed {
        Ok(rounds) => {
            tracing::info!(tables = %tables.join(", "), rounds, elapsed_ms = started.elapsed().as_millis() as u64, "funding-gap rollups vacuumed after a build")
        }
        Err(e) => {
            tracing::warn!(tables = %tables.join(", "), error = %e, "funding-gap rollups not vacuumed after a build")
        }
    }
}

/// How long the last build of `combo` took, in any process on this database, kept by
/// [`note_build`]. Kept while the grouping is dropped to make room for another and built again
/// (see [`Room`]): its next build takes about as long. A bulk load, which may change the base's
/// size, forgets every build's (see [`invalidate`]).
async fn last_build<C: ConnectionTrait>(
    db: &C,
    combo: &Combo,
) -> Result<Option<std::time::Duration>> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT took_ms FROM rollup_build WHERE combo = '{}'",
                combo.name()
            ),
        ))
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let ms: i64 = row.try_get_by_index(0).map_err(db_err)?;
    Ok(Some(std::time::Duration::from_millis(
        u64::try_from(ms).unwrap_or_default(),
    )))
}

#[derive(Debug, PartialEq, Eq)]
enum BuildState {
    Absent,
    Building,
    /// Marked as building for longer than any build takes: its builder is gone.
    Abandoned,
    Built,
}

async fn build_state<C: ConnectionTrait>(db: &C, combo: &Combo) -> Result<BuildState> {
    let (name, building) = (combo.name(), combo.building().name());
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                DbBackend::Postgres => {
                    "SELECT combo, built_at FROM gap_combo WHERE combo IN ($1, $2)"
                }
                _ => "SELECT combo, built_at FROM gap_combo WHERE combo IN (?, ?)",
            },
            [name.clone().into(), building.into()],
        ))
        .await
        .map_err(db_err)?;
    let mut state = BuildState::Absent;
    for r in rows {
        let row_name: String = r.try_get_by_index(0).map_err(db_err)?;
        if row_name == name {
            return Ok(BuildState::Built);
        }
        let since: chrono::DateTime<chrono::Utc> = r.try_get_by_index(1).map_err(db_err)?;
        state = if chrono::Utc::now() - since > ABANDONED_AFTER {
            BuildState::Abandoned
        } else {
            BuildState::Building
        };
    }
    Ok(state)
}

/// When the build of `combo` under way was marked (see [`build_beside_writers`]), if it is.
async fn building_since<C: ConnectionTrait>(
    db: &C,
    combo: &Combo,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                DbBackend::Postgres => "SELECT built_at FROM gap_combo WHERE combo = $1",
                _ => "SELECT built_at FROM gap_combo WHERE combo = ?",
            },
            [combo.building().name().into()],
        ))
        .await
        .map_err(db_err)?;
    row.map(|r| r.try_get_by_index(0).map_err(db_err))
        .transpose()
}

/// Deletes the cells stored under `name` in `tables`.
async fn delete_cells(txn: &DatabaseTransaction, tables: &Tables, name: &str) -> Result<u64> {
    let mut deleted = 0;
    for table in tables.all() {
        deleted += txn
            .execute_unprepared(&format!("DELETE FROM {table} WHERE combo = '{name}'"))
            .await
            .map_err(db_err)?
            .rows_affected();
    }
    Ok(deleted)
}

/// The SQLite build: the grouping computed and marked built in one write transaction.
async fn build_at_once(
    db: &DatabaseConnection,
    combo: &Combo,
) -> Result<Option<std::time::Duration>> {
    let txn = crate::db::write_transaction(db).await?;
    let mut took = None;
    if build_state(&txn, combo).await? != BuildState::Built {
        let started = std::time::Instant::now();
        let (name, building) = (combo.name(), combo.building().name());
        delete_cells(&txn, combo.tables(), &name).await?;
        txn.execute_unprepared(&format!("DELETE FROM gap_combo WHERE combo = '{building}'"))
            .await
            .map_err(db_err)?;
        // A build's statements group millions of rows: SQLite sorts them, and with helper
        // threads sorts the parts it spills from memory at the same time (theme x orientation
        // by year on 200,000 practices built in 6.8-6.9 s instead of 9.1-9.8 with one helper on
        // two cores; a second sorted no faster). Questions' sorts are small: the connection goes
        // back to the pool without helpers.
        set_sort_helpers(&txn, sort_helpers()).await?;
        let computed = compute(&txn, combo).await;
        let reset = set_sort_helpers(&txn, 0).await;
        let from = computed?;
        reset?;
        mark_built(&txn, &name).await?;
        // Without statistics SQLite reads a question's cells through the index of the whole
        // grouping rather than the narrower one of its donor (62,209 confidential rows instead
        // of 4,816 for theme × orientation by year on 200,000 practices, 14 ms instead of 2).
        if needs_statistics(&txn, combo, &from).await? {
            for table in combo.tables().all() {
                txn.execute_unprepared(&format!("ANALYZE {table}"))
                    .await
                    .map_err(db_err)?;
            }
            renew_planners_statistics(&txn).await?;
        }
        tracing::info!(grouping = %name, from = %from, elapsed_ms = started.elapsed().as_millis() as u64, "funding-gap rollup built");
        took = Some(started.elapsed());
    }
    txn.commit().await.map_err(db_err)?;
    Ok(took)
}

/// Has every SQLite connection on the file, in this process and in others, plan with the
/// statistics just gathered. A connection reads them only with the schema, and `ANALYZE`
/// leaves the schema as it was: the connections opened before a build went on planning the
/// new grouping's questions with estimates that predate its rows. On a freshly seeded base of
/// 200,000 practices a server that had not built theme × orientation by year answered its
/// year range at 122 requests a second (16 connections, p95 170 ms), and at 229 (p95 95 ms)
/// once its connections had read the schema again. A view created and dropped changes the
/// schema's version; each connection reads the schema, and with it the statistics, at its next
/// statement (about a millisecond), and its prepared statements are planned again.
async fn renew_planners_statistics(txn: &DatabaseTransaction) -> Result<()> {
    for statement in [
        "CREATE VIEW rollup_statistics_renewed AS SELECT 1",
        "DROP VIEW rollup_statistics_renewed",
    ] {
        txn.execute_unprepared(statement).await.map_err(db_err)?;
    }
    Ok(())
}

/// The helper threads a SQLite build's sorts may use: one for each core but the build's own.
fn sort_helpers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) - 1
}

async fn set_sort_helpers(txn: &DatabaseTransaction, helpers: usize) -> Result<()> {
    txn.execute_unprepared(&format!("PRAGMA threads = {helpers}"))
        .await
        .map_err(db_err)
        .map(|_| ())
}

/// A whole-life grouping summed from a finer one with at most this many cells is questioned
/// without analyzing the rollup tables anew (see [`needs_statistics`]).
const FEW_CELLS: i64 = 1_000;

/// Whether the rollup tables are analyzed once `combo` is built, `from` where (see
/// [`compute`]). Always after a build from the base or by year: many rows, or many cells a
/// question joins. A whole-life grouping summed from a finer one (built, and analyzed, before
/// it) with few cells is left to autovacuum's analysis: read with a stale estimate its cell
/// lists are short, however a plan joins them, while the analysis of the larger tables takes
/// longer than the summing (about 300 ms against 50-100 on PostgreSQL with the prepared
/// rollups of 200,000 practices).
async fn needs_statistics<C: ConnectionTrait>(db: &C, combo: &Combo, from: &str) -> Result<bool> {
    if combo.yearly || from == "base" {
        return Ok(true);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COUNT(*) FROM {} WHERE combo = '{}'",
                combo.tables().totals,
                combo.name()
            ),
        ))
        .await
        .map_err(db_err)?;
    let cells: i64 = match row {
        Some(r) => r.try_get_by_index(0).map_err(db_err)?,
        None => 0,
    };
    Ok(cells > FEW_CELLS)
}

async fn mark_built(txn: &DatabaseTransaction, name: &str) -> Result<()> {
    let at = chrono::Utc::now().to_rfc3339();
    txn.execute_unprepared(&format!(
        "INSERT INTO gap_combo (combo, built_at) VALUES ('{name}', '{at}')"
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The PostgreSQL build, in three transactions, none of which holds writers back for long:
///
/// 1. `mark`: waits for the writers in flight (EXCLUSIVE on `gap_combo`, which their SHARE
///    lock conflicts with), clears what an abandoned build left, and inserts the grouping's
///    building row. Still holding the lock, a second connection's REPEATABLE READ transaction
///    takes its snapshot; then `mark` commits. The snapshot therefore holds every write
///    committed before the building row appeared and none after; every writer after it sees the
///    building row and puts its changes to the grouping (differences, which may be negative) in
///    the building cells.
/// 2. `snapshot`: computes the grouping from its snapshot into the grouping's own cells, which
///    no writer touches while the grouping is being built, with no statement timeout: the build
///    takes what it takes, and nobody waits for it but the questions about this grouping. A
///    third transaction (`beside`) shares the snapshot and computes part of the grouping at the
///    same time (see [`compute_side_by_side`]); a whole-life grouping's counts are redone once
///    both are committed.
/// 3. `merge`: waits for the writers in flight again and adds the building cells (as many as
///    the cells written meanwhile) to the grouping's, drops them, and marks the grouping built.
///    Snapshot plus the changes since is the grouping as the base now is.
///
/// A failed build removes its building row so that the next question starts afresh; a builder
/// that died leaves one that [`ABANDONED_AFTER`] lets the next question take over.
async fn build_beside_writers(
    db: &DatabaseConnection,
    combo: &Combo,
) -> Result<Option<std::time::Duration>> {
    let started = std::time::Instant::now();
    let name = combo.name();
    let building = combo.building().name();

    // Cells the grouping left behind go first, in a transaction of their own: the snapshot
    // below is taken before `mark` commits, so it would still see any `mark` deleted, and
    // could not then write the same cells anew (a serialization failure: the question
    // answered UNAVAILABLE once, and the next built the grouping).
    let left = delete_left_cells(db, combo).await?;
    if left > 0 {
        tracing::info!(grouping = %name, rows = left, "cells a funding-gap rollup left behind deleted before its build");
    }

    // The connections are taken from the pool before the lock: writers held back by it keep
    // theirs, and the pool could stay empty until they time out. Two share the snapshot (see
    // [`compute_side_by_side`]).
    let snapshot = db
        .begin_with_config(Some(IsolationLevel::RepeatableRead), None)
        .await
        .map_err(db_err)?;
    let beside = db
        .begin_with_config(Some(IsolationLevel::RepeatableRead), None)
        .await
        .map_err(db_err)?;
    let mark = crate::db::write_transaction(db).await?;
    // After the deletion of the cells the grouping left when it was dropped, if under way.
    lock_grouping(&mark, combo).await?;
    mark.execute_unprepared("LOCK TABLE gap_combo IN EXCLUSIVE MODE")
        .await
        .map_err(db_err)?;
    if matches!(
        build_state(&mark, combo).await?,
        BuildState::Built | BuildState::Building
    ) {
        // Another question started the build (or finished it) meanwhile.
        mark.commit().await.map_err(db_err)?;
        return Ok(None);
    }
    // Leftover cells are found by the primary key, whose first column is the grouping. With
    // statistics from before the grouping was dropped (a bulk load drops them all), the planner
    // expects its old rows and reads the whole table instead, while writers wait on the lock
    // (53 ms for the members on the 200,000-practice base with ten groupings built; none there).
    mark.execute_unprepared("SET LOCAL enable_seqscan = off")
        .await
        .map_err(db_err)?;
    for n in [&name, &building] {
        delete_cells(&mark, combo.tables(), n).await?;
    }
    mark.execute_unprepared(&format!("DELETE FROM gap_combo WHERE combo = '{building}'"))
        .await
        .map_err(db_err)?;
    let since = chrono::Utc::now().to_rfc3339();
    mark.execute_unprepared(&format!(
        "INSERT INTO gap_combo (combo, built_at) VALUES ('{building}', '{since}')"
    ))
    .await
    .map_err(db_err)?;
    let computed = async {
        // A build groups every practice of the base by cell: with the default 4 MB a sort
        // or hash spills to disk many times over. The memory is the build's alone, for its
        // duration. The groups are few (13,786 periods of cells from 1.46 million rows for
        // theme x orientation by year on 200,000 practices) but the planner expects five
        // times as many, and sorts the rows on disk to group them where hashing holds the
        // groups in memory: 7.4-7.8 s for the sums against 3.8-4.6 s hashed, 3.9-4.5 s
        // against 2.5-2.6 s for the members. Windows still sort; nothing else of a build does.
        let settings = "SET LOCAL statement_timeout = 0; SET LOCAL work_mem = '32MB'; \
                        SET LOCAL enable_sort = off";
        snapshot
            .execute_unprepared(settings)
            .await
            .map_err(db_err)?;
        // Taking the snapshot (its first query), and lending it to the second transaction.
        let exported = snapshot
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_export_snapshot()",
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::Internal("no snapshot exported".into()))?;
        let exported: String = exported.try_get_by_index(0).map_err(db_err)?;
        beside
            .execute_unprepared(&format!(
                "SET TRANSACTION SNAPSHOT '{exported}'; {settings}"
            ))
            .await
            .map_err(db_err)?;
        mark.commit().await.map_err(db_err)?;
        let from = compute_side_by_side(&snapshot, &beside, combo).await?;
        beside.commit().await.map_err(db_err)?;
        snapshot.commit().await.map_err(db_err)?;
        if !combo.yearly {
            // The counts of a whole-life cell are read from its members, which the other
            // transaction wrote: only visible once both are committed. No writer touches the
            // grouping's own cells before `merge`. Half the cells (by a hash of their key) are
            // counted on each of two connections, which share no row, so that both cores
            // count.
            let half = async |parity: u8| {
                let counts = db.begin().await.map_err(db_err)?;
                let cells = format!(" AND hashtext(k1 || '/' || k2 || '/' || k3) & 1 = {parity}");
                recount_cells(&counts, &format!("'{name}'"), &cells, None).await?;
                counts.commit().await.map_err(db_err)
            };
            tokio::try_join!(half(0), half(1))?;
        }
        merge_building(db, combo, &since).await?;
        // The planner's estimates of the rollups are as old as their last analysis, which
        // may predate this grouping's rows: taken as a handful, they lead it to merge joins
        // that pass over every row of one cell list for each row of another.
        if needs_statistics(db, combo, &from).await? {
            db.execute_unprepared(&format!("ANALYZE {}", combo.tables().all().join(", ")))
                .await
                .map_err(db_err)?;
        }
        Ok(from)
    }
    .await;
    match computed {
        Ok(from) => {
            tracing::info!(grouping = %name, from = %from, elapsed_ms = started.elapsed().as_millis() as u64, "funding-gap rollup built beside the writers");
            Ok(Some(started.elapsed()))
        }
        Err(e) => {
            tracing::warn!(grouping = %name, error = %e, "funding-gap rollup build failed");
            let _ = abandon(db, combo).await;
            Err(e)
        }
    }
}

/// Step 3 of [`build_beside_writers`]: the building cells, which the writers filled meanwhile,
/// added to the grouping's. `since` tells this build's building row from a later one's (after
/// the rollups were dropped, say).
async fn merge_building(db: &DatabaseConnection, combo: &Combo, since: &str) -> Result<()> {
    let (name, building) = (combo.name(), combo.building().name());
    let merge = crate::db::write_transaction(db).await?;
    // No writer may be between reading the building row and writing the building cells.
    merge
        .execute_unprepared("LOCK TABLE gap_combo IN EXCLUSIVE MODE")
        .await
        .map_err(db_err)?;
    let ours = merge
        .execute_unprepared(&format!(
            "DELETE FROM gap_combo WHERE combo = '{building}' AND built_at = '{since}'"
        ))
        .await
        .map_err(db_err)?
        .rows_affected();
    if ours == 0 {
        // The rollups were dropped during the build: what was computed is stale.
        delete_cells(&merge, combo.tables(), &name).await?;
        delete_cells(&merge, combo.tables(), &building).await?;
        return merge.commit().await.map_err(db_err);
    }
    let tables = combo.tables();
    for (table, keys) in [
        (tables.totals, tables.totals_key),
        (tables.members, "combo, k1, k2, k3, kind, member_id, hi, lo"),
        (
            tables.confidential,
            "combo, k1, k2, k3, donor_id, status, lo, hi",
        ),
    ] {
        let sums = summed_columns(&merge, table, keys).await?;
        let list = sums.join(", ");
        let add = sums
            .iter()
            .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rest = keys.trim_start_matches("combo, ");
        merge
            .execute_unprepared(&format!(
                "INSERT INTO {table} ({keys}, {list}) \
                 SELECT '{name}', {rest}, {list} FROM {table} WHERE combo = '{building}' \
                 ON CONFLICT ({keys}) DO UPDATE SET {add}"
            ))
            .await
            .map_err(db_err)?;
    }
    // Counts and spans are not sums: the cells (by year, the members) whose members changed
    // meanwhile are redone (writers leave the building cells' counts at zero and give them no
    // spans, so adding them changed nothing).
    if combo.yearly {
        respan(
            &merge,
            &format!("'{name}'"),
            &format!(
                " AND (k1, k2, k3, kind, member_id) IN \
                   (SELECT k1, k2, k3, kind, member_id FROM {} WHERE combo = '{building}')",
                tables.members
            ),
            None,
        )
        .await?;
    } else {
        recount_cells(
            &merge,
            &format!("'{name}'"),
            &format!(
                " AND (k1, k2, k3) IN (SELECT k1, k2, k3 FROM gap_rollup_member WHERE combo = '{building}')"
            ),
            None,
        )
        .await?;
    }
    delete_cells(&merge, combo.tables(), &building).await?;
    mark_built(&merge, &name).await?;
    merge.commit().await.map_err(db_err)
}

/// The columns of a rollup table other than its key: each one a sum, which is what lets
/// contributions be added and taken out. Read from the catalog, so that a new sum needs no
/// change here.
async fn summed_columns(txn: &DatabaseTransaction, table: &str, keys: &str) -> Result<Vec<String>> {
    let backend = txn.get_database_backend();
    // PostgreSQL: the catalog itself, not `information_schema.columns`, whose view took 360 ms
    // to plan and run in a build's transaction (sorts priced out, see `build_beside_writers`).
    let catalog = match backend {
        DbBackend::Postgres => format!(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = '{table}'::regclass \
             AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ),
        _ => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
    };
    let rows = txn
        .query_all_raw(Statement::from_string(backend, catalog))
        .await
        .map_err(db_err)?;
    let keys: Vec<&str> = keys.split(", ").collect();
    let mut sums = Vec::new();
    for r in rows {
        let column: String = r.try_get_by_index(0).map_err(db_err)?;
        if !keys.contains(&column.as_str()) {
            sums.push(column);
        }
    }
    Ok(sums)
}

/// Removes a failed build's building row and cells, so that the next question builds afresh.
async fn abandon(db: &DatabaseConnection, combo: &Combo) -> Result<()> {
    let txn = crate::db::write_transaction(db).await?;
    txn.execute_unprepared("LOCK TABLE gap_combo IN EXCLUSIVE MODE")
        .await
        .map_err(db_err)?;
    if build_state(&txn, combo).await? != BuildState::Built {
        let building = combo.building().name();
        txn.execute_unprepared(&format!("DELETE FROM gap_combo WHERE combo = '{building}'"))
            .await
            .map_err(db_err)?;
        delete_cells(&txn, combo.tables(), &combo.name()).await?;
        delete_cells(&txn, combo.tables(), &building).await?;
    }
    txn.commit().await.map_err(db_err)
}

/// Computes the rollup of `combo` into its own cells, in `txn` (SQLite's write transaction;
/// PostgreSQL splits the same work, see [`compute_side_by_side`]): summed from a finer grouping
/// built before when there is one (see [`sum_finer`]), else from the base. Returns where from:
/// the finer grouping's name, or "base".
async fn compute(txn: &DatabaseTransaction, combo: &Combo) -> Result<String> {
    match finer_source(combo, &built_combos(txn).await?) {
        Some(source) => {
            sum_finer(txn, combo, &source).await?;
            Ok(source.name())
        }
        None => {
            add_contribution(txn, std::slice::from_ref(combo), None, 1).await?;
            recount(txn, std::slice::from_ref(combo), None).await?;
            Ok("base".into())
        }
    }
}

/// [`compute`] on PostgreSQL, on two transactions sharing one snapshot (`first` exported it
/// to `second`), which PostgreSQL serves from two processes. A build's three statements each
/// read the base (or the finer grouping) and write a table of their own: on one connection
/// they ran one after another on one core. The members, and by year their spans, go on one
/// side; the sums and the confidential funding on the other (on the 200,000-practice benchmark
/// base, theme x orientation by year: members 3.2-3.5 s and spans 1.4-1.6 s, against sums
/// 2.9-3.4 s and confidential funding 0.8 s). The counts of donors and schemes of whole-life
/// cells read the members and write the sums' rows: the caller redoes them once both
/// transactions are committed. A whole-life grouping summed from a finer one puts half its
/// schemes' members beside the sums as well.
async fn compute_side_by_side(
    first: &DatabaseTransaction,
    second: &DatabaseTransaction,
    combo: &Combo,
) -> Result<String> {
    let (from, [totals, members, confidential], beside) =
        match finer_source(combo, &built_combos(first).await?) {
            Some(source) => {
                let Summing {
                    totals,
                    donors,
                    schemes,
                    confidential,
                } = summing_statements(first, combo, &source).await?;
                let [some, others] = schemes;
                if combo.yearly {
                    // The spans are computed from every member of a cell, in the transaction
                    // that wrote them.
                    let members = format!("{donors}; {some}; {others}");
                    (source.name(), [totals, members, confidential], None)
                } else {
                    // Summed, the members outweigh the rest (country x modality from orientation
                    // x country x modality on the 200,000-practice base: 182,473 rows, 0.4 s
                    // for the donors' and 0.55 s for the schemes', against 0.4 s for the sums
                    // and the confidential funding): half the schemes' go beside the sums.
                    let members = format!("{donors}; {others}");
                    (source.name(), [totals, members, confidential], Some(some))
                }
            }
            None => (
                "base".to_owned(),
                contribution_statements(
                    combo.tables(),
                    std::slice::from_ref(combo),
                    None,
                    1,
                    false,
                ),
                None,
            ),
        };
    tokio::try_join!(
        async {
            for statement in std::iter::once(&totals)
                .chain([&confidential])
                .chain(beside.as_ref())
            {
                first.execute_unprepared(statement).await.map_err(db_err)?;
            }
            Ok::<_, Error>(())
        },
        async {
            second.execute_unprepared(&members).await.map_err(db_err)?;
            if combo.yearly {
                respan(second, &format!("'{}'", combo.name()), "", None).await?;
            }
            Ok(())
        },
    )?;
    Ok(from)
}

/// The cells of `combo` summed from those of `source`, a grouping of the same family (whole-life
/// or by year) with the same dimensions and some of orientation and modality besides (see
/// [`finer_source`]). Each practice has one value of those, so it lies in exactly one of the
/// finer cells that make up a cell of `combo`, and every stored column is a sum over practices
/// (see `summed_columns`): the sums over those cells are the cell's, as a build from the base
/// computes them, from the rollup's rows rather than every practice and funding record. What
/// is not a sum is computed anew from the summed rows, as a build does: the counts of donors and
/// schemes of a whole-life cell, the members' spans of years of a cell by year.
async fn sum_finer(txn: &DatabaseTransaction, combo: &Combo, source: &Combo) -> Result<()> {
    let Summing {
        totals,
        donors,
        schemes,
        confidential,
    } = summing_statements(txn, combo, source).await?;
    let [some, others] = schemes;
    for statement in [totals, donors, some, others, confidential] {
        txn.execute_unprepared(&statement).await.map_err(db_err)?;
    }
    recount(txn, std::slice::from_ref(combo), None).await
}

/// The statements of [`sum_finer`] but the counts, as [`contribution_statements`] are for a
/// build from the base: one a table, the members' in three, the donors' and the schemes' in
/// two halves (by the parity of their ids), so that they can be spread over two connections.
struct Summing {
    totals: String,
    donors: String,
    schemes: [String; 2],
    confidential: String,
}

async fn summing_statements(
    txn: &DatabaseTransaction,
    combo: &Combo,
    source: &Combo,
) -> Result<Summing> {
    let (name, from) = (combo.name(), source.name());
    let tables = combo.tables();
    // The key columns of `combo` as expressions over the finer grouping's rows.
    let keys: Vec<String> = (0..3)
        .map(|i| match combo.dims.get(i) {
            Some(d) => source.column_of(Some(*d)),
            None if i == 0 && combo.dims.is_empty() => "'ALL'".into(),
            None => "''".into(),
        })
        .collect();
    let cell = ["combo", "k1", "k2", "k3"];
    // The statement summing the rows of `table` (keyed by `key`) that meet `rows`.
    let summing = async |table: &str, key: &str, rows: &str| -> Result<String> {
        // The key columns besides the cell's: periods, sides, members, donors and statuses.
        let rest = key
            .split(", ")
            .filter(|c| !cell.contains(c))
            .collect::<Vec<_>>()
            .join(", ");
        let columns = summed_columns(txn, table, key).await?;
        let (counts, sums): (Vec<&String>, Vec<&String>) = columns
            .iter()
            .partition(|c| matches!(c.as_str(), "donors" | "schemes"));
        let summed = sums
            .iter()
            .map(|c| format!("SUM({c})"))
            .chain(counts.iter().map(|_| "0".to_owned()))
            .collect::<Vec<_>>()
            .join(", ");
        let list = sums
            .iter()
            .chain(counts.iter())
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        // A finer row whose sums all fell to zero counts for nothing; a build writes none.
        let nonzero = sums
            .iter()
            .map(|c| format!("SUM({c}) <> 0"))
            .collect::<Vec<_>>()
            .join(" OR ");
        // PostgreSQL refuses a constant among the grouped expressions.
        let grouped = keys
            .iter()
            .filter(|k| !k.starts_with('\''))
            .map(String::as_str)
            .chain([rest.as_str()])
            .collect::<Vec<_>>()
            .join(", ");
        Ok(format!(
            "INSERT INTO {table} (combo, k1, k2, k3, {rest}, {list}) \
             SELECT '{name}', {k}, {rest}, {summed} FROM {table} WHERE combo = '{from}'{rows} \
             GROUP BY {grouped} HAVING {nonzero}",
            k = keys.join(", "),
        ))
    };
    const MEMBERS_KEY: &str = "combo, k1, k2, k3, kind, member_id, hi, lo";
    Ok(Summing {
        totals: summing(tables.totals, tables.totals_key, "").await?,
        donors: summing(tables.members, MEMBERS_KEY, " AND kind = 'D'").await?,
        // The members are donors and schemes: every other row is a scheme's.
        schemes: [
            summing(
                tables.members,
                MEMBERS_KEY,
                " AND kind <> 'D' AND member_id % 2 = 0",
            )
            .await?,
            summing(
                tables.members,
                MEMBERS_KEY,
                " AND kind <> 'D' AND member_id % 2 <> 0",
            )
            .await?,
        ],
        confidential: summing(
            tables.confidential,
            "combo, k1, k2, k3, donor_id, status, lo, hi",
            "",
        )
        .await?,
    })
}

/// The built grouping `combo` can be summed from (see [`sum_finer`]): of its family,
/// with its dimensions and only dimensions with one value a practice besides, the fewest of
/// them.
fn finer_source(combo: &Combo, built: &[Combo]) -> Option<Combo> {
    built
        .iter()
        .filter(|c| !c.building && c.yearly == combo.yearly && c.dims.len() > combo.dims.len())
        .filter(|c| combo.dims.iter().all(|d| c.dims.contains(d)))
        .filter(|c| {
            c.dims
                .iter()
                .filter(|d| !combo.dims.contains(d))
                .all(|d| crate::cells::one_per_practice(*d))
        })
        .min_by_key(|c| c.dims.len())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use GapDimension::*;

    #[test]
    fn an_operator_names_a_grouping_as_the_service_logs_it() {
        let parse = |text: &str| text.parse::<Grouping>();
        let pair = parse("COUNTRY,THEME").expect("a grouping");
        assert_eq!(pair, Grouping(Combo::of(&[Theme, Country])));
        assert_eq!(pair.name(), "THEME,COUNTRY");
        let by_year = parse(" THEME, COUNTRY/YEAR ").expect("a grouping by year");
        assert_eq!(by_year, Grouping(Combo::of(&[Theme, Country]).by_year()));
        assert_eq!(by_year.name(), "THEME,COUNTRY/YEAR");
        assert_eq!(
            parse(&by_year.name()).expect("its own name parses"),
            by_year
        );
        for wrong in [
            "",
            "THEMES",
            "THEME,THEME",
            "THEME,COUNTRY,BLOC,MODALITY",
            "THEME/YEARS",
            "theme",
        ] {
            assert!(
                matches!(parse(wrong), Err(Error::Validation { .. })),
                "{wrong:?} is refused"
            );
        }
    }

    #[test]
    fn every_grouping_with_one_dimension_of_several_values_is_summed_from_a_prepared_one() {
        let prepared = prepared();
        let several = |c: &Combo| {
            c.dims
                .iter()
                .filter(|d| !crate::cells::one_per_practice(**d))
                .count()
        };
        let all = GapDimension::ALL;
        let mut groupings = vec![Combo::of(&[])];
        for (i, a) in all.iter().enumerate() {
            groupings.push(Combo::of(&[*a]));
            for (j, b) in all.iter().enumerate().skip(i + 1) {
                groupings.push(Combo::of(&[*a, *b]));
                for c in all.iter().skip(j + 1) {
                    groupings.push(Combo::of(&[*a, *b, *c]));
                }
            }
        }
        assert_eq!(groupings.len(), 1 + 6 + 15 + 20);
        // Whole-life or by year alike; a grouping by year only from one by year.
        for combo in groupings.iter().flat_map(|c| [c.clone(), c.by_year()]) {
            let source = finer_source(&combo, &prepared);
            let summed = source.is_some();
            match (prepared.contains(&combo), several(&combo)) {
                (true, _) => assert!(!summed, "{} is built from the base", combo.name()),
                (false, 0 | 1) => assert!(summed, "{} is summed", combo.name()),
                (false, _) => assert!(!summed, "{} cannot be summed", combo.name()),
            }
            assert!(source.is_none_or(|s| s.yearly == combo.yearly));
        }
        assert_eq!(prepared.len(), 10);
    }

    #[test]
    fn a_grouping_is_summed_only_over_dimensions_a_practice_has_one_value_of() {
        let built = [
            Combo::of(&[Theme, Orientation, Modality]),
            Combo::of(&[Theme, Orientation]),
            Combo::of(&[Country, Orientation]).by_year(),
            Combo::of(&[Bloc, Country]),
            Combo::of(&[Modality]).building(),
        ];
        let source = |by: &[GapDimension]| finer_source(&Combo::of(by), &built).map(|c| c.name());
        // The fewest dimensions to sum over.
        assert_eq!(source(&[Theme]).as_deref(), Some("THEME,ORIENTATION"));
        assert_eq!(
            source(&[Theme, Modality]).as_deref(),
            Some("THEME,ORIENTATION,MODALITY")
        );
        // A practice may have several themes or countries: no summing them away.
        assert_eq!(source(&[Orientation]), None);
        assert_eq!(source(&[Bloc]), None);
        assert_eq!(source(&[]), None);
        // A grouping by year is summed from one by year, a whole-life one from a whole-life
        // one; a grouping being built is no source.
        assert_eq!(source(&[Country]), None);
        assert_eq!(
            finer_source(&Combo::of(&[Country]).by_year(), &built)
                .map(|c| c.name())
                .as_deref(),
            Some("ORIENTATION,COUNTRY/YEAR")
        );
        let built = [Combo::of(&[Modality, Orientation])];
        assert_eq!(
            finer_source(&Combo::of(&[]), &built)
                .map(|c| c.name())
                .as_deref(),
            Some("ORIENTATION,MODALITY")
        );
        assert_eq!(
            finer_source(&Combo::of(&[Modality, Orientation]), &built),
            None
        );
    }

    #[test]
    fn a_question_is_told_to_ask_again_when_the_build_is_likely_done() {
        let s = std::time::Duration::from_secs;
        let ms = std::time::Duration::from_millis;
        let retry = |elapsed, took| estimate_retry(elapsed, took).as_secs();
        // Never built here: five seconds, however long the build has run.
        assert_eq!(retry(Some(ms(300)), None), 5);
        assert_eq!(retry(None, None), 5);
        assert_eq!(retry(Some(s(40)), None), 5);
        // Built before: what is left of the last build's time, in whole seconds.
        assert_eq!(retry(Some(s(9)), Some(s(57))), 48);
        assert_eq!(retry(Some(ms(8_500)), Some(s(10))), 2);
        assert_eq!(retry(Some(s(1)), Some(s(600))), 60);
        // Slower than the last build: nearly done.
        assert_eq!(retry(Some(s(70)), Some(s(57))), 6);
        assert_eq!(retry(Some(ms(900)), Some(ms(120))), 1);
    }

    #[test]
    fn a_question_waits_only_for_a_build_likely_done_within_its_wait() {
        let s = std::time::Duration::from_secs;
        let wait = s(9);
        // Never built: the build may be done within the wait.
        assert!(!outlasts(None, None, wait));
        assert!(!outlasts(Some(s(30)), None, wait));
        // Last built in about the wait, or a little over it: waited for.
        assert!(!outlasts(None, Some(s(8)), wait));
        assert!(!outlasts(None, Some(s(11)), wait));
        // Last built in far longer: told at once, starting or following the build.
        assert!(outlasts(None, Some(s(12)), wait));
        assert!(outlasts(None, Some(s(57)), wait));
        assert!(outlasts(Some(s(20)), Some(s(57)), s(1)));
        // Nearly done, or past the last build's time: waited for.
        assert!(!outlasts(Some(s(56)), Some(s(57)), s(1)));
        assert!(!outlasts(Some(s(70)), Some(s(57)), s(1)));
    }
}
