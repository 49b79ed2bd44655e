//! The practices that best answer a need, found without scoring every practice that shares a
//! theme with it.
//!
//! A practice scores 3 per theme it shares with the need, 2 per management focus, 1 for the
//! same modality (its shared part, which depends on its signature alone: see
//! [`crate::signature`]) and 1 per key word of the need found in its text. Practices are read
//! by the total they reach, highest first: for a total `t`, the practices of each signature
//! whose shared part `s` is at least `t` less the number of words, with at least `t - s` of the
//! words. A practice with `r` of `w` words holds one of any `w - r + 1` of them, so only the
//! practices holding one of the rarest are read. Once `first` practices reach the total, no
//! practice left can rank above them.

use std::collections::BTreeMap;

use domain::Result;
use domain::entities::Id;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::integer;
use crate::signature::{focus_bit, theme_bit};
use crate::store::db_err;

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

/// The signatures that share as much with the need, and how far they have been read.
struct Level {
    shared: i64,
    signatures: Vec<(i64, i64, String)>,
    /// Its practices with at least this many of the words have been read.
    read_down_to: i64,
}

/// The need's best `first` practices, best first (ties by id).
pub(crate) async fn best_practices(
    db: &DatabaseConnection,
    need: Id,
    modality: Option<&str>,
    words: &[String],
    first: u64,
) -> Result<Vec<Ranked>> {
    if first == 0 {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let (mut themes, mut focuses) = (0_i64, 0_i64);
    for row in query(
        db,
        format!(
            "SELECT dimension, value FROM need_tag WHERE need_id = {need} \
             AND dimension IN ('THEME', 'MANAGEMENT_FOCUS')"
        ),
    )
    .await?
    {
        let dimension: String = row.try_get_by_index(0).map_err(db_err)?;
        let value: String = row.try_get_by_index(1).map_err(db_err)?;
        if dimension == "THEME" {
            themes |= theme_bit(&value);
        } else {
            focuses |= focus_bit(&value);
        }
    }
    if themes == 0 {
        return Ok(Vec::new());
    }
    let shares = |theme_bits: i64, focus_bits: i64, md: &str| Ranked {
        id: 0,
        themes: i64::from((theme_bits & themes).count_ones()),
        focus: i64::from((focus_bits & focuses).count_ones()),
        same_modality: i64::from(modality == Some(md)),
        words: 0,
    };
    let words = present_words(db, words).await?;
    let w = words.len() as i64;
    let mut by_share: BTreeMap<i64, Vec<(i64, i64, String)>> = BTreeMap::new();
    for row in query(
        db,
        "SELECT theme_bits, focus_bits, modality FROM practice_signature".into(),
    )
    .await?
    {
        let (tb, fb) = (integer(&row, 0)?, integer(&row, 1)?);
        let md: String = row.try_get_by_index(2).map_err(db_err)?;
        if tb & themes != 0 {
            let shared = shares(tb, fb, &md).score();
            by_share.entry(shared).or_default().push((tb, fb, md));
        }
    }
    let mut levels: Vec<Level> = by_share
        .into_iter()
        .rev()
        .map(|(shared, signatures)| Level {
            shared,
            signatures,
            read_down_to: w + 1,
        })
        .collect();
    let Some(top) = levels.first().map(|l| l.shared) else {
        return Ok(Vec::new());
    };

    let count = word_count(backend, &words);
    let mut found: Vec<Ranked> = Vec::new();
    let mut total = top + w;
    loop {
        let mut ctes = Vec::new();
        let mut parts = Vec::new();
        for (i, level) in levels.iter_mut().enumerate() {
            let least = (total - level.shared).max(0);
            if least >= level.read_down_to {
                continue;
            }
            let values = level
                .signatures
                .iter()
                .map(|(tb, fb, md)| format!("({tb}, {fb}, '{md}')"))
                .collect::<Vec<_>>()
                .join(", ");
            ctes.push(format!("s{i}(tb, fb, md) AS (VALUES {values})"));
            let holding = if least == 0 {
                String::new()
            } else {
                let rarest = &words[..(w - least + 1) as usize];
                format!(" AND {}", holds_any(backend, rarest))
            };
            parts.push(format!(
                "SELECT * FROM (SELECT * FROM (SELECT p.id, p.theme_bits, p.focus_bits, \
                   p.modality, {count} AS words FROM s{i} JOIN practice p ON p.theme_bits = s{i}.tb \
                   AND p.focus_bits = s{i}.fb AND p.modality = s{i}.md \
                   WHERE p.status = 'PUBLISHED'{holding}) q \
                 WHERE words >= {least} AND words < {below} ORDER BY words DESC, id LIMIT {first}) r{i}",
                below = level.read_down_to,
            ));
            level.read_down_to = least;
        }
        if !parts.is_empty() {
            let sql = format!("WITH {} {}", ctes.join(", "), parts.join(" UNION ALL "));
            for row in query(db, sql).await? {
                let md: String = row.try_get_by_index(3).map_err(db_err)?;
                let mut r = shares(integer(&row, 1)?, integer(&row, 2)?, &md);
                r.id = integer(&row, 0)?;
                r.words = integer(&row, 4)?;
                found.push(r);
            }
        }
        // Every practice reaching `total` has been read: if `first` do, none left can rank.
        if found.len() as u64 >= first || levels.iter().all(|l| l.read_down_to == 0) {
            break;
        }
        total -= 1;
    }
    found.sort_by(|a, b| b.score().cmp(&a.score()).then(a.id.cmp(&b.id)));
    found.truncate(first as usize);
    Ok(found)
}

async fn query(db: &DatabaseConnection, sql: String) -> Result<Vec<sea_orm::QueryResult>> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map_err(db_err)
}

/// The number of `words` a practice's text holds, as an expression on `p`. Words are letters
/// and digits only (see `significant_words`): safe to splice.
fn word_count(backend: DbBackend, words: &[String]) -> String {
    if words.is_empty() {
        return "0".into();
    }
    words
        .iter()
        .map(|w| match backend {
            DbBackend::Postgres => format!("CAST(p.search @@ to_tsquery('simple', '{w}') AS INTEGER)"),
            _ => format!(
                "(SELECT COUNT(*) FROM practice_fts WHERE practice_fts MATCH '\"{w}\"' AND rowid = p.id)"
            ),
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// That a practice's text holds one of `words`, through the full-text index.
fn holds_any(backend: DbBackend, words: &[String]) -> String {
    match backend {
        DbBackend::Postgres => format!("p.search @@ to_tsquery('simple', '{}')", words.join(" | ")),
        _ => format!(
            "p.id IN (SELECT rowid FROM practice_fts WHERE practice_fts MATCH '{}')",
            words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
    }
}

/// The words some practice's text holds, rarest first. How rare a word is only decides which
/// practices are read first, never the answer: PostgreSQL's statistics give the share of the
/// most common words (the others are rarer, and only looked up to see they occur at all);
/// SQLite counts the practices holding each, up to a bound.
async fn present_words(db: &DatabaseConnection, words: &[String]) -> Result<Vec<String>> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            let rows = words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    format!(
                        "SELECT {i} AS i, CAST((SELECT freq FROM mce WHERE elem = '{w}') AS DOUBLE PRECISION) AS share, \
                         CASE WHEN EXISTS (SELECT 1 FROM mce WHERE elem = '{w}') THEN 1 \
                         WHEN EXISTS (SELECT 1 FROM practice WHERE search @@ to_tsquery('simple', '{w}')) THEN 1 \
                         ELSE 0 END AS present"
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            format!(
                "WITH mce AS (SELECT e.elem, e.freq FROM pg_stats, \
                   unnest(most_common_elems::text::text[], most_common_elem_freqs) AS e(elem, freq) \
                   WHERE schemaname = current_schema() AND tablename = 'practice' AND attname = 'search') \
                 {rows}"
            )
        }
        _ => words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                format!(
                    "SELECT {i} AS i, CAST(n AS REAL) AS share, n > 0 AS present FROM \
                     (SELECT COUNT(*) AS n FROM (SELECT 1 FROM practice_fts WHERE practice_fts MATCH '\"{w}\"' LIMIT 2000))"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL "),
    };
    let mut kept = Vec::new();
    for row in query(db, sql).await? {
        let i = integer(&row, 0)? as usize;
        let share: Option<f64> = row.try_get_by_index(1).map_err(db_err)?;
        if integer(&row, 2)? > 0 {
            kept.push((share.unwrap_or(0.0), i));
        }
    }
    // Rarest first; `words` are longest first, which breaks ties towards the rarer.
    kept.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    Ok(kept.into_iter().map(|(_, i)| words[i].clone()).collect())
}
