//! A practice's signature: its themes and management focuses as bits, and its modality. What a
//! practice shares with a need, but for the words of its text, depends on its signature alone,
//! so `matches` reads the practices of the best signatures first (see the migration
//! `m20261202_000000_practice_signature`). Kept in step by every write of a practice's tags or
//! modality; `practice_signature` holds every signature that occurs, and may hold some that no
//! longer do: rows are only ever added to it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::Result;
use domain::analytics::GapDimension;
use domain::entities::Id;
use domain::framework::{ManagementFocus, Theme};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::analytics::integer;
use crate::store::db_err;

/// Theme bits, focus bits, modality.
pub(crate) type Signature = (i64, i64, String);

/// The rows of `practice_signature` as last read. The table only grows, so a count equal to
/// the number kept means they are all still there and nothing was added: each `matches` counts
/// the rows (a few hundred microseconds in the database) instead of reading them (thousands of
/// rows sent and decoded a question, 0.7 ms of PostgreSQL's time at 200,000 practices alone).
/// SQLite gives each row added a rowid above every other's: there the greatest rowid, one
/// step down the table's b-tree, tells as much (the count walked its every page, 0.19 ms a
/// question on the benchmark base). Stores of other processes add rows too, which both see;
/// neither decides the answer alone, only saves reading what has not changed.
#[derive(Default)]
pub(crate) struct KnownSignatures {
    /// The count (PostgreSQL) or greatest rowid (SQLite) of the rows kept, and the rows.
    kept: Mutex<(i64, Arc<Vec<Signature>>)>,
    sizes: Mutex<Option<(Instant, Sizes)>>,
    reading_sizes: AtomicBool,
}

/// SQLite: the number of published practices of each signature, kept by the triggers of the
/// migration `m20261215_000000_practice_signature_sizes`. A signature missing has none.
pub(crate) type Sizes = Arc<HashMap<Signature, u64>>;

/// How long the sizes read are used before they are read again: they only choose how `matches`
/// reads a level's practices, never which rank, so a size a few seconds old does as well.
/// Reading them costs about a millisecond (a row a signature).
const SIZES_KEPT: Duration = Duration::from_secs(10);

/// Lets the next request read the sizes again if the one reading them gave up (its request
/// dropped).
struct Reading<'a>(&'a AtomicBool);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl KnownSignatures {
    /// Every signature that occurs (and perhaps some that no longer do).
    pub(crate) async fn all(&self, db: &DatabaseConnection) -> Result<Arc<Vec<Signature>>> {
        let backend = db.get_database_backend();
        let (mark, kept) = self.kept.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let sqlite = backend == sea_orm::DbBackend::Sqlite;
        let now = db
            .query_one_raw(Statement::from_string(
                backend,
                if sqlite {
                    "SELECT COALESCE(MAX(rowid), 0) FROM practice_signature"
                } else {
                    "SELECT COUNT(*) FROM practice_signature"
                },
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| domain::Error::internal("an aggregate without a row"))?;
        if integer(&now, 0)? == mark {
            return Ok(kept);
        }
        // As BIGINT, which `integer` reads at its first try: read as INTEGER, each row cost two
        // decoding errors formatted and dropped.
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT CAST(theme_bits AS BIGINT), CAST(focus_bits AS BIGINT), modality, {} \
                     FROM practice_signature",
                    if sqlite { "rowid" } else { "CAST(0 AS BIGINT)" }
                ),
            ))
            .await
            .map_err(db_err)?;
        let mut all = Vec::with_capacity(rows.len());
        let mut greatest = 0;
        for row in rows {
            let modality: String = row.try_get_by_index(2).map_err(db_err)?;
            all.push((integer(&row, 0)?, integer(&row, 1)?, modality));
            greatest = greatest.max(integer(&row, 3)?);
        }
        let mark = if sqlite { greatest } else { all.len() as i64 };
        let all = Arc::new(all);
        *self.kept.lock().unwrap_or_else(|e| e.into_inner()) = (mark, all.clone());
        Ok(all)
    }

    /// SQLite: the number of published practices of each signature, as read at most
    /// [`SIZES_KEPT`] ago. While one request reads them again, the others use those it replaces.
    pub(crate) async fn sizes(&self, db: &DatabaseConnection) -> Result<Sizes> {
        let kept = self.sizes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let reading = match kept {
            Some((at, sizes)) if at.elapsed() < SIZES_KEPT => return Ok(sizes),
            Some((_, sizes)) => {
                if self.reading_sizes.swap(true, Ordering::AcqRel) {
                    return Ok(sizes);
                }
                Some(Reading(&self.reading_sizes))
            }
            // None yet: every request reads them until one has.
            None => None,
        };
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT CAST(theme_bits AS BIGINT), CAST(focus_bits AS BIGINT), modality, \
                 CAST(published AS BIGINT) FROM practice_signature_size WHERE published > 0",
            ))
            .await
            .map_err(db_err)?;
        let mut sizes = HashMap::with_capacity(rows.len());
        for row in rows {
            let modality: String = row.try_get_by_index(2).map_err(db_err)?;
            sizes.insert(
                (integer(&row, 0)?, integer(&row, 1)?, modality),
                integer(&row, 3)? as u64,
            );
        }
        let sizes = Arc::new(sizes);
        *self.sizes.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), sizes.clone()));
        drop(reading);
        Ok(sizes)
    }
}

/// A value's bit is its position in the framework's list: the stored bits depend on the order,
/// so values are only ever added at the end (a test pins the order).
pub(crate) fn theme_bit(value: &str) -> i64 {
    bit(Theme::ALL.iter().map(|t| t.as_str()), value)
}

pub(crate) fn focus_bit(value: &str) -> i64 {
    bit(ManagementFocus::ALL.iter().map(|f| f.as_str()), value)
}

fn bit<'a>(mut names: impl Iterator<Item = &'a str>, value: &str) -> i64 {
    names.position(|n| n == value).map_or(0, |i| 1 << i)
}

/// For a dimension a practice's row keeps as bits (theme, management focus): the column, and a
/// subquery of its values `v` with their bits `bit`.
pub(crate) fn bits_of(d: GapDimension) -> Option<(&'static str, String)> {
    let (column, names): (_, Vec<&str>) = match d {
        GapDimension::Theme => (
            "theme_bits",
            Theme::ALL.iter().map(|t| t.as_str()).collect(),
        ),
        GapDimension::ManagementFocus => (
            "focus_bits",
            ManagementFocus::ALL.iter().map(|f| f.as_str()).collect(),
        ),
        _ => return None,
    };
    let values = names
        .iter()
        .enumerate()
        .map(|(i, v)| format!("SELECT '{v}' AS v, {} AS bit", 1_i64 << i))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    Some((column, format!("({values})")))
}

fn bits_sql<'a>(dimension: &str, names: impl Iterator<Item = &'a str>) -> String {
    let cases: String = names
        .enumerate()
        .map(|(i, v)| format!(" WHEN '{v}' THEN {}", 1_i64 << i))
        .collect();
    format!(
        "COALESCE((SELECT SUM(CASE t.value{cases} ELSE 0 END) FROM practice_tag t \
         WHERE t.practice_id = practice.id AND t.dimension = '{dimension}'), 0)"
    )
}

/// Recomputes the signature of one practice, or of every practice after a bulk load.
pub(crate) async fn refresh<C: ConnectionTrait>(db: &C, practice: Option<Id>) -> Result<()> {
    let scope = practice.map_or_else(|| "TRUE".to_string(), |id| format!("id = {id}"));
    db.execute_unprepared(&format!(
        "UPDATE practice SET theme_bits = {}, focus_bits = {} WHERE {scope}",
        bits_sql("THEME", Theme::ALL.iter().map(|t| t.as_str())),
        bits_sql(
            "MANAGEMENT_FOCUS",
            ManagementFocus::ALL.iter().map(|f| f.as_str())
        ),
    ))
    .await
    .map_err(db_err)?;
    db.execute_unprepared(&format!(
        "INSERT INTO practice_signature (theme_bits, focus_bits, modality) \
         SELECT DISTINCT theme_bits, focus_bits, modality FROM practice WHERE {scope} \
         ON CONFLICT DO NOTHING"
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_bits_keep_their_values() {
        // The order the migration stored the bits in; a value may only be added at the end.
        let themes = [
            "MUNICIPAL_FINANCE",
            "ENVIRONMENT",
            "INFRASTRUCTURE_SERVICES",
            "HEALTH",
            "HOUSING",
            "ECONOMIC_DEVELOPMENT",
            "SECURITY_DISASTER",
            "SOCIAL_CULTURAL",
            "OTHER",
        ];
        for (i, t) in themes.iter().enumerate() {
            assert_eq!(theme_bit(t), 1 << i, "{t}");
        }
        let focuses = [
            "TECHNICAL_EXPERTISE",
            "STRATEGY_FORMULATION",
            "STRATEGY_IMPLEMENTATION",
            "INSTITUTIONAL_REFORM",
        ];
        for (i, f) in focuses.iter().enumerate() {
            assert_eq!(focus_bit(f), 1 << i, "{f}");
        }
        assert_eq!(theme_bit("NOT_A_THEME"), 0);
        // Bits must fit the INTEGER columns of both databases.
        assert!(Theme::ALL.len() < 31 && ManagementFocus::ALL.len() < 31);
    }
}
