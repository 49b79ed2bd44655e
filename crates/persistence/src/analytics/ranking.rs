//! The practices that best answer a need, found without scoring every practice that shares a
//! theme with it.
//!
//! A practice scores 3 per theme it shares with the need, 2 per management focus, 1 for the
//! same modality (its shared part, which depends on its signature alone: see
//! [`crate::signature`]) and 1 per key word of the need found in its text. The practices of the
//! signatures sharing most are read whole (one statement, usually one level of signatures),
//! until `first` practices are in hand; the last of them scores `floor`. A practice of a
//! signature sharing `s` can then only rank with `floor - s` of the `w` words, so with one of
//! any `w - (floor - s) + 1` of them: the second and last statement reads, of each level that
//! can still reach the floor, the practices holding one of the rarest words, which the
//! full-text index finds. Words no practice holds are left out first: each would let one more
//! level reach the floor for nothing.
//!
//! PostgreSQL tests the words against each practice's own vector. SQLite's full-text index can
//! only list the practices holding a word, which cost about 100 ns a practice to build for
//! every statement that tested a word (52,329 practices for "partner" at 200,000): the service
//! keeps those lists instead ([`WordLists`]) and counts the words of the practices it reads.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::Result;
use domain::entities::{Id, Tags};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::integer;
use crate::signature::{KnownSignatures, Signature, Sizes, focus_bit, theme_bit};
use crate::store::db_err;
use migration::SEARCH_CONFIGURATION;

/// A practice as it ranks for a need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ranked {
    pub id: Id,
    pub themes: i64,
    pub focus: i64,
    pub same_modality: i64,
    pub words: i64,
}

impl Ranked {
    pub fn score(&self) -> i64 {
        3 * self.themes + 2 * self.focus + self.same_modality + self.words
    }
}

/// What the service keeps of the practices' words between questions: PostgreSQL's statistics
/// of them, or SQLite's lists of the practices holding each.
#[derive(Default)]
pub(crate) struct KeptWords {
    shares: WordShares,
    lists: WordLists,
}

/// The best `first` practices for a need of these `tags`, best first (ties by id).
pub(crate) async fn best_practices(
    db: &DatabaseConnection,
    kept: &KeptWords,
    known_signatures: &KnownSignatures,
    tags: &Tags,
    modality: Option<&str>,
    words: &[String],
    first: u64,
) -> Result<Vec<Ranked>> {
    if first == 0 {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let themes = tags
        .themes
        .iter()
        .fold(0, |bits, t| bits | theme_bit(t.as_str()));
    let focuses = tags
        .management_focus
        .iter()
        .fold(0, |bits, f| bits | focus_bit(f.as_str()));
    if themes == 0 {
        return Ok(Vec::new());
    }
    // The signatures and the need's words, each on a connection of its own.
    let (signatures, held, sizes) = tokio::try_join!(
        known_signatures.all(db),
        // The need's words that some practice holds, rarest first.
        rarest_words(db, kept, words),
        async {
            match backend {
                DbBackend::Sqlite => known_signatures.sizes(db).await.map(Some),
                _ => Ok(None),
            }
        },
    )?;
    let words: &Vec<String> = &held.iter().map(|h| h.word.clone()).collect();
    // SQLite: the practices holding each word, which the statements no longer test.
    let lists: Option<Vec<List>> = (backend == DbBackend::Sqlite)
        .then(|| held.iter().filter_map(|h| h.list.clone()).collect());
    let lists = &lists;
    let shares = |theme_bits: i64, focus_bits: i64, md: &str| Ranked {
        id: 0,
        themes: i64::from((theme_bits & themes).count_ones()),
        focus: i64::from((focus_bits & focuses).count_ones()),
        same_modality: i64::from(modality == Some(md)),
        words: 0,
    };
    // What a practice `p` shares with the need, as `shares` computes it.
    let share = {
        let count = |mask: i64, column: &str| {
            let terms: Vec<String> = (0..31)
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| {
                    format!(
                        "CASE WHEN p.{column} & {} <> 0 THEN 1 ELSE 0 END",
                        1_i64 << b
                    )
                })
                .collect();
            if terms.is_empty() {
                "0".to_string()
            } else {
                terms.join(" + ")
            }
        };
        let same = modality.map_or("0".to_string(), |m| {
            format!("CASE WHEN p.modality = '{m}' THEN 1 ELSE 0 END")
        });
        format!(
            "3 * ({}) + 2 * ({}) + {same}",
            count(themes, "theme_bits"),
            count(focuses, "focus_bits"),
        )
    };
    let mut by_share: BTreeMap<i64, Vec<Signature>> = BTreeMap::new();
    // Only signatures sharing a theme can rank.
    for (tb, fb, md) in signatures.iter() {
        if tb & themes != 0 {
            let shared = shares(*tb, *fb, md).score();
            by_share
                .entry(shared)
                .or_default()
                .push((*tb, *fb, md.clone()));
        }
    }
    let levels: Vec<(i64, Vec<Signature>)> = by_share.into_iter().rev().collect();

    let w = words.len() as i64;
    let read = |sql: String| async move {
        let mut rows = Vec::new();
        let Some(lists) = lists else {
            // PostgreSQL: a practice a row, its words counted.
            for row in query(db, sql).await? {
                let md: String = row.try_get_by_index(3).map_err(db_err)?;
                let mut r = shares(integer(&row, 1)?, integer(&row, 2)?, &md);
                r.id = integer(&row, 0)?;
                r.words = integer(&row, 4)?;
                rows.push(r);
            }
            return Ok(rows);
        };
        // SQLite: a signature a row with its practices' ids (see `Level::part`), all in one
        // text: sqlx hands each row from the connection's thread to the request's, and the
        // switches between threads for a hundred rows a question were more of the service's
        // time than SQLite's work for them.
        let sql = format!(
            "SELECT group_concat(tb || ' ' || fb || ' ' || md || ' ' || ids, ';') FROM ({sql}) s"
        );
        let Some(row) = query(db, sql).await?.pop() else {
            return Ok(rows);
        };
        let Some(all) = row.try_get_by_index::<Option<String>>(0).map_err(db_err)? else {
            return Ok(rows);
        };
        for signature in all.split(';') {
            let malformed = || domain::Error::internal(format!("a signature's row: {signature}"));
            let mut fields = signature.splitn(4, ' ');
            let mut next = || fields.next().ok_or_else(malformed);
            let (tb, fb, md, ids) = (next()?, next()?, next()?, next()?);
            let number = |text: &str| text.parse::<i64>().map_err(domain::Error::internal);
            let shared = shares(number(tb)?, number(fb)?, md);
            // The ids come in the index's order, ascending within a signature: each word's
            // list is searched on from where the id before left it (a binary search of every
            // list for each id was a twentieth of the service's time for `matches`).
            let mut at = vec![0; lists.len()];
            let mut last = i64::MIN;
            for id in ids.split(',') {
                let mut r = shared.clone();
                r.id = number(id)?;
                if r.id < last {
                    at.fill(0);
                }
                last = r.id;
                for (list, at) in lists.iter().zip(at.iter_mut()) {
                    *at = first_not_below(list, *at, r.id);
                    r.words += i64::from(list.get(*at) == Some(&r.id));
                }
                rows.push(r);
            }
        }
        Ok::<_, domain::Error>(rows)
    };
    let mut found: Vec<Ranked> = Vec::new();
    let mut whole = 0;
    while whole < levels.len() && (found.len() as u64) < first {
        let (shared, signatures) = &levels[whole];
        let level = Level {
            i: whole,
            shared: *shared,
            signatures,
        };
        found.extend(read(level.part(backend, &share, words, None, true, first)).await?);
        whole += 1;
    }
    let by_rank = |a: &Ranked, b: &Ranked| b.score().cmp(&a.score()).then(a.id.cmp(&b.id));
    found.sort_by(by_rank);
    if (found.len() as u64) >= first && whole < levels.len() {
        let floor = found[first as usize - 1].score();
        let mut rest = Vec::new();
        for (i, (shared, signatures)) in levels.iter().enumerate().skip(whole) {
            let least = floor - shared;
            if least > w {
                break;
            }
            let level = Level {
                i,
                shared: *shared,
                signatures,
            };
            rest.push((level, least));
        }
        let counts: Vec<Option<u64>> = held.iter().map(|h| h.count).collect();
        let walked = walked_levels(&counts, &rest, sizes.as_ref());
        let mut parts = Vec::new();
        for ((level, least), (walk, size)) in rest.iter().zip(walked) {
            let mut holding = (*least > 0).then(|| (*least, &words[..(w - least + 1) as usize]));
            // SQLite, a level walked anyway: handing the service every practice of a small
            // level costs less than SQLite building the list of the practices holding one of
            // the words to keep them to. Those holding none of them hold too few words to rank
            // below the practices already found, and rank below them.
            if let (Some(lists), Some(size), Some((_, any))) = (lists, size, holding) {
                let listed: usize = lists[..any.len()].iter().map(|l| l.len()).sum();
                if size * UNFILTERED_RATIO < listed as u64 {
                    holding = None;
                }
            }
            parts.push(level.part(backend, &share, words, holding, walk, first));
        }
        if !parts.is_empty() {
            found.extend(read(parts.join(" UNION ALL ")).await?);
            found.sort_by(by_rank);
        }
    }
    found.truncate(first as usize);
    Ok(found)
}

/// The position of the first entry of `list` (ascending) from `at` on that is not below `id`,
/// found in steps doubling from `at`: ids looked up in ascending order cost the logarithm of
/// the distance between them rather than of the list's length.
fn first_not_below(list: &[i64], at: usize, id: i64) -> usize {
    let (mut lo, mut hi, mut step) = (at, at, 1);
    // Every entry before `lo` is below `id`.
    while hi < list.len() && list[hi] < id {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    let hi = hi.min(list.len());
    lo + list[lo..hi].partition_point(|&x| x < id)
}

/// That a practice's full-text vector is short enough for the index holding the vectors
/// (PostgreSQL), exactly as that index's condition reads.
const SHORT_VECTOR: &str = "octet_length(CAST(p.search AS TEXT)) <= 1000";

/// The signatures that share as much with the need.
struct Level<'a> {
    i: usize,
    shared: i64,
    signatures: &'a [Signature],
}

impl Level<'_> {
    /// That `p` is a published practice of the level. The level's bits are listed, so that
    /// the index of published practices by signature answers it and the planner can weigh it
    /// against the full-text index.
    fn condition(&self, share: &str) -> String {
        let listed = |values: Vec<String>| {
            let mut values = values;
            values.sort();
            values.dedup();
            values.join(", ")
        };
        let tbs = listed(self.signatures.iter().map(|s| s.0.to_string()).collect());
        let fbs = listed(self.signatures.iter().map(|s| s.1.to_string()).collect());
        let mds = listed(
            self.signatures
                .iter()
                .map(|s| format!("'{}'", s.2))
                .collect(),
        );
        format!(
            "p.status = 'PUBLISHED' AND p.theme_bits IN ({tbs}) AND p.focus_bits IN ({fbs}) \
             AND p.modality IN ({mds}) AND {share} = {shared}",
            shared = self.shared
        )
    }

    /// The level's best `first` practices by the number of `words` they hold: of every
    /// practice of the level, or of those holding one of some words (`holding`) and at least
    /// `least` of them. SQLite finds the latter either from the words' practices, each looked
    /// up by id, or by walking the level's practices (`walk`), whichever reads fewer: it
    /// cannot tell which itself, as it knows nothing of how many practices hold a word.
    fn part(
        &self,
        backend: DbBackend,
        share: &str,
        words: &[String],
        holding: Option<(i64, &[String])>,
        walk: bool,
        first: u64,
    ) -> String {
        let walk = backend == DbBackend::Sqlite && (walk || holding.is_none());
        let indexed = if walk {
            // Left free, SQLite may walk the index of every published practice for a whole
            // level, or look up the practices of a common word one by one.
            " INDEXED BY ix_practice_signature_published"
        } else {
            ""
        };
        let filter = holding.map_or(String::new(), |(_, any)| {
            format!(" AND {}", holds_any(backend, any, walk))
        });
        if backend == DbBackend::Sqlite {
            // Every practice of the level (holding one of the words): the service counts their
            // words, ranks them and keeps the best `first` (see [`WordLists`]). Those that hold
            // too few words to rank rank below the practices already found. A row a signature,
            // its practices' ids in one text: sqlx hands each row from the connection's thread
            // to the request's, a wake-up and a switch between threads a row, which cost more
            // than SQLite's work for the row (the best level of the benchmark need is 1,334
            // practices of a few dozen signatures).
            return format!(
                "SELECT CAST(p.theme_bits AS BIGINT) AS tb, CAST(p.focus_bits AS BIGINT) AS fb, \
                 p.modality AS md, group_concat(p.id) AS ids FROM practice p{indexed} \
                 WHERE {}{filter} GROUP BY p.theme_bits, p.focus_bits, p.modality",
                self.condition(share)
            );
        }
        let held: String = words
            .iter()
            .enumerate()
            .map(|(k, w)| format!(", {} AS w{k}", holds(w)))
            .collect();
        let total = if words.is_empty() {
            "0".to_string()
        } else {
            (0..words.len())
                .map(|k| format!("w{k}"))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        // PostgreSQL tests a practice's words once for the filter and again for the column:
        // a level read whole keeps every practice, and is not filtered (the best level of the
        // benchmark need, 1,334 practices: 1.53-1.62 ms a statement against 2.05-2.55).
        let least = match holding {
            Some((least, _)) => format!(" WHERE {total} >= {least}"),
            None => String::new(),
        };
        let read = |vectors: &str| {
            format!(
                "SELECT * FROM (SELECT id, tb, fb, md, CAST({total} AS BIGINT) AS words FROM \
                   (SELECT p.id, CAST(p.theme_bits AS BIGINT) AS tb, CAST(p.focus_bits AS BIGINT) AS fb, p.modality AS md{held} \
                    FROM practice p WHERE {condition}{vectors}{filter}) q\
                 {least} ORDER BY words DESC, id LIMIT {first}) r{i}",
                condition = self.condition(share),
                i = self.i,
            )
        };
        // The practices whose vectors fit the index holding them, read from it alone, and the
        // few others through the index of their own (see the migration
        // `m20261209_000000_practice_signature_words`).
        format!(
            "{} UNION ALL {}",
            read(&format!(" AND {SHORT_VECTOR}")),
            read(&format!(" AND NOT {SHORT_VECTOR}"))
        )
    }
}

async fn query(db: &DatabaseConnection, sql: String) -> Result<Vec<sea_orm::QueryResult>> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map_err(db_err)
}

/// 1 when a practice's text holds `word`, else 0, as an expression on `p` (PostgreSQL). Words
/// are letters and digits only (see `significant_words`): safe to splice.
fn holds(word: &str) -> String {
    format!("CAST(p.search @@ to_tsquery('{SEARCH_CONFIGURATION}', '{word}') AS INTEGER)")
}

/// An FTS5 query holding any of `words`.
fn phrases(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// That a practice's text holds one of `words`, through the full-text index. On SQLite,
/// `walked`: the practices come from elsewhere and only their ids are checked against the
/// words' (the unary `+` keeps SQLite from looking each of those up in the index it walks,
/// once for every combination of the level's listed bits).
fn holds_any(backend: DbBackend, words: &[String], walked: bool) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "p.search @@ to_tsquery('{SEARCH_CONFIGURATION}', '{}')",
            words.join(" | ")
        ),
        _ => format!(
            "{}p.id IN (SELECT rowid FROM practice_fts WHERE practice_fts MATCH '{}')",
            if walked { "+" } else { "" },
            phrases(words)
        ),
    }
}

/// How far the practices holding a word are counted when choosing how SQLite reads a level:
/// the cost of the level's practices looked up through the words' lists stops growing with the
/// lists' length once they are longer than the levels that are walked instead.
const WORD_COUNT_BOUND: u64 = 2_000;

/// How many times more practices of a level SQLite may walk, rather than look up the
/// practices holding one of the words by id: a step along the index of signatures costs a
/// fraction of a lookup in the table (its rows are read whole), and the words' list is read
/// either way.
const WALK_RATIO: u64 = 4;

/// How many entries of the words' lists SQLite builds, to keep a walked level to the practices
/// holding one of the words, for the cost of one more of the level's practices handed to the
/// service (about 0.2 against 1 us). The benchmark need's second level: 704 practices handed
/// over took 0.8 ms, kept to the 141 holding one of three words (10,820 entries) 3 ms.
const UNFILTERED_RATIO: u64 = 5;

/// For each of `rest` (a level, and the least number of words its practices must hold to
/// rank), whether SQLite should walk the level's practices rather than find them from the
/// words they must hold one of: when it has fewer than [`WALK_RATIO`] times as many
/// practices as those words have (as far as counted: see [`rarest_words`]). A level's size is
/// the sum of its signatures' in `sizes` (see [`KnownSignatures::sizes`]): a statement counting
/// the levels, each no further than that bound, cost 1.2-1.6 ms a question for the benchmark
/// need on the 200,000-practice base, and walked again the levels it found small enough. A
/// level holding no word to look for is walked whatever its size; on PostgreSQL (no `sizes`)
/// the planner weighs both ways from its statistics. With each answer, the level's number of
/// practices when it is walked.
fn walked_levels(
    counts: &[Option<u64>],
    rest: &[(Level<'_>, i64)],
    sizes: Option<&Sizes>,
) -> Vec<(bool, Option<u64>)> {
    let w = counts.len() as i64;
    rest.iter()
        .map(|(level, least)| {
            let Some(sizes) = sizes.filter(|_| *least > 0) else {
                return (*least <= 0, None);
            };
            let any = &counts[..(w - least + 1) as usize];
            let bound = WALK_RATIO
                * any
                    .iter()
                    .map(|n| n.unwrap_or(WORD_COUNT_BOUND))
                    .sum::<u64>();
            let size: u64 = level
                .signatures
                .iter()
                .map(|s| sizes.get(s).copied().unwrap_or(0))
                .sum();
            if size < bound {
                (true, Some(size))
            } else {
                (false, None)
            }
        })
        .collect()
}

/// PostgreSQL's statistics of the words of practices' texts: the share of the practices holding
/// each of the most common words, read at most every [`WORD_SHARES_KEPT`]. Reading them from
/// `pg_stats` (a view that checks privileges and turns the word list into text) took 6.6 ms of
/// the database's time for each `matches` at 200,000 practices, about half of it; they change
/// only when the table is analysed, and decide only which practices are read, never the answer.
#[derive(Default)]
pub(crate) struct WordShares {
    read: Mutex<Option<(Instant, Shares)>>,
}

/// The share of the practices holding each of the most common words.
type Shares = Arc<HashMap<String, f64>>;

/// How long the word shares read from `pg_stats` are used before they are read again.
const WORD_SHARES_KEPT: Duration = Duration::from_secs(600);

impl WordShares {
    /// The most common words and their shares, as last read if not older than
    /// [`WORD_SHARES_KEPT`]. Requests that find them stale at once each read them: a few
    /// statements every ten minutes, where a lock held across the read would queue them all.
    async fn common(&self, db: &DatabaseConnection) -> Result<Shares> {
        let kept = self.read.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((at, shares)) = kept
            && at.elapsed() < WORD_SHARES_KEPT
        {
            return Ok(shares);
        }
        // `most_common_elem_freqs` ends with three figures past the words' (least, greatest,
        // share of nulls), which `unnest` pairs with no word.
        let rows = query(
            db,
            "SELECT u.e, CAST(u.f AS DOUBLE PRECISION) FROM pg_stats s, \
               unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(e, f) \
             WHERE s.schemaname = current_schema() AND s.tablename = 'practice' \
               AND s.attname = 'search' AND u.e IS NOT NULL"
                .into(),
        )
        .await?;
        let mut shares = HashMap::with_capacity(rows.len());
        for row in rows {
            let word: String = row.try_get_by_index(0).map_err(db_err)?;
            let share: f64 = row.try_get_by_index(1).map_err(db_err)?;
            shares.insert(word, share);
        }
        let shares = Arc::new(shares);
        *self.read.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), shares.clone()));
        Ok(shares)
    }
}

/// A word of the need that some practice's text holds.
struct HeldWord {
    word: String,
    /// SQLite: how many practices hold it, up to [`WORD_COUNT_BOUND`].
    count: Option<u64>,
    /// SQLite: the practices holding it.
    list: Option<List>,
}

/// Those of `words` that some practice's text holds, rarest first. How rare a word is only
/// decides which practices are read, never the answer. PostgreSQL's statistics give the share
/// of the practices holding each of the most common words; the others are rarer, and the
/// practices holding any of them are read to see which occur at all. On SQLite each word comes
/// with the practices holding it (see [`WordLists`]) and their number, up to
/// [`WORD_COUNT_BOUND`].
async fn rarest_words(
    db: &DatabaseConnection,
    kept: &KeptWords,
    words: &[String],
) -> Result<Vec<HeldWord>> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    // (share of the practices holding the word, or None when only known to be rare; position)
    let mut shares: Vec<(Option<f64>, usize)> = Vec::new();
    let mut lists: Vec<Option<List>> = vec![None; words.len()];
    if db.get_database_backend() == DbBackend::Postgres {
        let common = kept.shares.common(db).await?;
        for (i, word) in words.iter().enumerate() {
            shares.push((common.get(word).copied(), i));
        }
        let rare: Vec<&String> = shares
            .iter()
            .filter(|(share, _)| share.is_none())
            .map(|&(_, i)| &words[i])
            .collect();
        if !rare.is_empty() {
            let row = query(
                db,
                format!(
                    "SELECT {} FROM practice WHERE search @@ to_tsquery('{SEARCH_CONFIGURATION}', '{}')",
                    rare.iter()
                        .map(|w| format!(
                            "COALESCE(MAX(CAST(search @@ to_tsquery('{SEARCH_CONFIGURATION}', '{w}') AS INTEGER)), 0)"
                        ))
                        .collect::<Vec<_>>()
                        .join(", "),
                    rare.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" | ")
                ),
            )
            .await?
            .pop()
            .ok_or_else(|| domain::Error::internal("an aggregate without a row"))?;
            let mut held = Vec::new();
            for (k, w) in rare.iter().enumerate() {
                if integer(&row, k)? > 0 {
                    held.push(w.to_string());
                }
            }
            shares.retain(|(share, i)| share.is_some() || held.contains(&words[*i]));
        }
    } else {
        for (i, list) in kept.lists.of(db, words).await?.into_iter().enumerate() {
            if !list.is_empty() {
                shares.push((Some(list.len().min(WORD_COUNT_BOUND as usize) as f64), i));
                lists[i] = Some(list);
            }
        }
    }
    // Ties keep the words' order, longest first: the longer, the rarer as a rule.
    shares.sort_by(|a, b| {
        a.0.unwrap_or(0.0)
            .total_cmp(&b.0.unwrap_or(0.0))
            .then(a.1.cmp(&b.1))
    });
    Ok(shares
        .into_iter()
        .map(|(n, i)| HeldWord {
            word: words[i].clone(),
            count: lists[i].as_ref().and(n).map(|n| n as u64),
            list: lists[i].take(),
        })
        .collect())
}

/// The ids of the practices holding a word, in order.
type List = Arc<[i64]>;

/// SQLite: the practices holding each word `matches` has looked up, kept while no practice's
/// text changes, here or in another process on the same file (the triggers of the migration
/// `m20261211_000000_practice_text_version` count every change), at most [`KEPT_IDS`] ids, the
/// least recently used given up first. The lists only make sense together with the texts they
/// were read from: each question reads the count before it uses them, and drops them all when
/// it has moved.
#[derive(Default)]
pub(crate) struct WordLists {
    kept: Mutex<KeptLists>,
}

#[derive(Default)]
struct KeptLists {
    /// The count of text changes the lists were read at.
    version: Option<i64>,
    /// Each word's practices, and when it was last asked for (by `clock`).
    lists: HashMap<String, (List, u64)>,
    /// The ids the lists hold together.
    ids: usize,
    clock: u64,
}

/// How many practice ids the kept lists hold at most: 4 MiB of them. A need's words hold a few
/// hundred thousand at most on the benchmark's 200,000 practices; a list longer than this is
/// read for each question.
const KEPT_IDS: usize = 1 << 19;

impl KeptLists {
    fn keep(&mut self, word: String, list: List) {
        if list.len() > KEPT_IDS {
            return;
        }
        self.ids += list.len();
        if let Some((old, _)) = self.lists.insert(word, (list, self.clock)) {
            self.ids -= old.len();
        }
        while self.ids > KEPT_IDS {
            let Some(oldest) = self
                .lists
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(w, _)| w.clone())
            else {
                break;
            };
            if let Some((gone, _)) = self.lists.remove(&oldest) {
                self.ids -= gone.len();
            }
        }
    }
}

impl WordLists {
    /// The practices holding each of `words`, in the words' order: those kept if no
    /// practice's text has changed since they were read, the others read in one statement.
    async fn of(&self, db: &DatabaseConnection, words: &[String]) -> Result<Vec<List>> {
        let version = integer(
            &query(
                db,
                "SELECT n FROM practice_text_version WHERE id = 1".into(),
            )
            .await?
            .pop()
            .ok_or_else(|| domain::Error::internal("no count of text changes"))?,
            0,
        )?;
        let mut found: Vec<Option<List>> = {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if kept.version != Some(version) {
                *kept = KeptLists {
                    version: Some(version),
                    ..KeptLists::default()
                };
            }
            kept.clock += 1;
            let now = kept.clock;
            words
                .iter()
                .map(|w| {
                    kept.lists.get_mut(w).map(|(list, used)| {
                        *used = now;
                        list.clone()
                    })
                })
                .collect()
        };
        let missing: Vec<usize> = (0..words.len()).filter(|&i| found[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(found.into_iter().flatten().collect());
        }
        // One text a word: a row a practice would cost the driver more than the index does.
        let row = query(
            db,
            format!(
                "SELECT {}",
                missing
                    .iter()
                    .map(|&i| format!(
                        "(SELECT group_concat(rowid) FROM practice_fts WHERE practice_fts MATCH '\"{}\"')",
                        words[i]
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .await?
        .pop()
        .ok_or_else(|| domain::Error::internal("no row of word lists"))?;
        let mut read = Vec::with_capacity(missing.len());
        for (j, &i) in missing.iter().enumerate() {
            let text: Option<String> = row.try_get_by_index(j).map_err(db_err)?;
            let mut ids = text
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::parse::<i64>)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(domain::Error::internal)?;
            ids.sort_unstable();
            ids.dedup();
            let list: List = ids.into();
            read.push((i, list));
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        for (i, list) in read {
            // Read after the count, they hold every change it counted, and perhaps later ones
            // that a later count will see: kept under the count they were asked at, never
            // under a later one.
            if kept.version == Some(version) {
                kept.keep(words[i].clone(), list.clone());
            }
            found[i] = Some(list);
        }
        Ok(found.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::first_not_below;

    #[test]
    fn first_not_below_finds_what_a_binary_search_of_the_rest_finds() {
        let list: Vec<i64> = (0..500).map(|i| i * 5 + (i % 4)).collect();
        assert!(list.is_sorted());
        for at in [0, 1, 2, 17, 250, 499, 500] {
            for id in -2..2_600 {
                assert_eq!(
                    first_not_below(&list, at, id),
                    at + list[at..].partition_point(|&x| x < id),
                    "from {at}, {id}"
                );
            }
        }
        assert_eq!(first_not_below(&[], 0, 5), 0);
    }
}
