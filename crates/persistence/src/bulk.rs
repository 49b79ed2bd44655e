//! Loading many rows at once, for synthetic data at scale: multi-row inserts with ids chosen by
//! the caller, several statements per transaction, progress reported as it goes.
//!
//! The caller numbers new rows after [`next_ids`], which lets tag and link rows go in without
//! reading anything back; load while nobody else writes to the database, since a concurrent
//! insert could take one of those ids.

mod rows;

use chrono::{DateTime, Utc};
use domain::framework::Bloc;
use domain::{Error, Result};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, Iterable, QueryOrder, Statement,
};

pub use rows::{BulkRow, OperatorRow, PracticeCityRow, PracticeSchemeRow, PricedFunding, TagRow};

use crate::db::{Database, write_transaction};
use crate::entities::{country, currency_rate, donor_agenda, need_tag, practice_tag, scheme_tag};

/// Bound parameters per statement: well under SQLite's 32,766 and PostgreSQL's 65,535.
const PARAMETER_BUDGET: usize = 30_000;
const _: () = assert!(PARAMETER_BUDGET < 32_766);
/// Below this, statements get too small to be worth a progress report.
const MIN_ROWS_PER_CHUNK: usize = 500;
/// Statements per transaction: few commits (each one an fsync on SQLite) without one giant
/// transaction holding the write lock for the whole load.
const CHUNKS_PER_TRANSACTION: usize = 20;
/// Tables with an auto-increment id that the caller numbers.
const SERIAL_TABLES: [&str; 8] = [
    "city",
    "association",
    "donor",
    "support_scheme",
    "scheme_operator",
    "practice",
    "funding",
    "need",
];

/// The tables of `(owner, dimension, value)` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagTable {
    DonorAgenda,
    SchemeTag,
    PracticeTag,
    NeedTag,
}

/// A country as the reference data has it.
#[derive(Debug, Clone, PartialEq)]
pub struct CountryRow {
    pub code: String,
    pub name: String,
    pub bloc: Bloc,
}

/// A row of the USD rate table, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    pub currency: String,
    pub usd_per_unit: String,
    pub as_of: String,
    pub source: String,
}

/// The id of the first new row of each table the caller numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextIds {
    pub city: i64,
    pub association: i64,
    pub donor: i64,
    pub scheme: i64,
    pub scheme_operator: i64,
    pub practice: i64,
    pub funding: i64,
    pub need: i64,
}

fn failed(stage: &str) -> impl Fn(DbErr) -> Error + '_ {
    move |e| Error::internal(format!("bulk load, {stage}: {e}"))
}

/// Countries ordered by code and USD rates ordered by currency.
pub async fn reference_data(db: &Database) -> Result<(Vec<CountryRow>, Vec<RateRow>)> {
    let db = db.connection();
    let countries = country::Entity::find()
        .order_by_asc(country::Column::Code)
        .all(db)
        .await
        .map_err(failed("countries"))?
        .into_iter()
        .map(|c| {
            Ok(CountryRow {
                bloc: Bloc::parse(&c.bloc, "bloc").map_err(Error::internal)?,
                code: c.code,
                name: c.name,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let rates = currency_rate::Entity::find()
        .order_by_asc(currency_rate::Column::Currency)
        .all(db)
        .await
        .map_err(failed("currency rates"))?
        .into_iter()
        .map(|r| RateRow {
            currency: r.currency,
            usd_per_unit: r.usd_per_unit,
            as_of: r.as_of,
            source: r.source,
        })
        .collect();
    Ok((countries, rates))
}

/// One more than the largest id of each table the caller numbers (1 for an empty table).
pub async fn next_ids(db: &Database) -> Result<NextIds> {
    let db = db.connection();
    let columns = SERIAL_TABLES
        .iter()
        .map(|t| format!("(SELECT MAX(id) FROM {t}) AS {t}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT {columns}"),
        ))
        .await
        .map_err(failed("largest ids"))?
        .ok_or_else(|| Error::internal("largest ids: no row"))?;
    let next = |table: &str| -> Result<i64> {
        let max = row
            .try_get::<Option<i64>>("", table)
            .map_err(failed("largest ids"))?;
        Ok(max.unwrap_or(0) + 1)
    };
    Ok(NextIds {
        city: next("city")?,
        association: next("association")?,
        donor: next("donor")?,
        scheme: next("support_scheme")?,
        scheme_operator: next("scheme_operator")?,
        practice: next("practice")?,
        funding: next("funding")?,
        need: next("need")?,
    })
}

/// Rows per `INSERT` for a stage of `total` rows of `columns` columns: as many as the parameter
/// budget allows, but at most a fiftieth of the stage so that progress is reported at least
/// every 2% (stages too small for that to matter go in whole).
fn rows_per_chunk(columns: usize, total: usize) -> usize {
    let most = (PARAMETER_BUDGET / columns.max(1)).max(1);
    most.min(total.div_ceil(50).max(MIN_ROWS_PER_CHUNK))
}

/// Inserts rows table by table. `progress(table, done, total)` is called at the start and after
/// every statement of each table.
pub struct Loader<'a> {
    db: &'a DatabaseConnection,
    created_at: DateTime<Utc>,
    progress: &'a (dyn Fn(&str, usize, usize) + Sync),
}

impl<'a> Loader<'a> {
    /// Every record loaded is created and last updated at `created_at`, in version 1.
    pub fn new(
        db: &'a Database,
        created_at: DateTime<Utc>,
        progress: &'a (dyn Fn(&str, usize, usize) + Sync),
    ) -> Self {
        Loader {
            db: db.connection(),
            created_at,
            progress,
        }
    }

    /// Inserts `rows`, `total` of them, into their table.
    pub async fn insert<R, I>(&self, total: usize, rows: I) -> Result<usize>
    where
        R: BulkRow,
        I: IntoIterator<Item = R>,
        I::IntoIter: Send,
    {
        let at = self.created_at;
        self.stage(R::TABLE, total, rows.into_iter().map(move |r| r.active(at)))
            .await
    }

    /// Inserts `rows`, `total` of them, into the tag table `table`.
    pub async fn tags<I>(&self, table: TagTable, total: usize, rows: I) -> Result<usize>
    where
        I: IntoIterator<Item = TagRow>,
        I::IntoIter: Send,
    {
        let rows = rows.into_iter();
        match table {
            TagTable::DonorAgenda => {
                self.tag_stage::<donor_agenda::ActiveModel, _>(total, rows)
                    .await
            }
            TagTable::SchemeTag => {
                self.tag_stage::<scheme_tag::ActiveModel, _>(total, rows)
                    .await
            }
            TagTable::PracticeTag => {
                self.tag_stage::<practice_tag::ActiveModel, _>(total, rows)
                    .await
            }
            TagTable::NeedTag => {
                self.tag_stage::<need_tag::ActiveModel, _>(total, rows)
                    .await
            }
        }
    }

    async fn tag_stage<A, I>(&self, total: usize, rows: I) -> Result<usize>
    where
        A: TagModel,
        I: Iterator<Item = TagRow> + Send,
    {
        let rows = rows.map(|t| Ok(A::tag(t.owner_id, t.dimension.as_str().into(), t.value)));
        self.stage(A::TABLE, total, rows).await
    }

    /// Multi-row statements, several per transaction.
    async fn stage<A, I>(&self, stage: &str, total: usize, rows: I) -> Result<usize>
    where
        A: ActiveModelTrait + Send,
        I: Iterator<Item = Result<A>> + Send,
    {
        let columns = <A::Entity as EntityTrait>::Column::iter().count();
        let per_chunk = rows_per_chunk(columns, total);
        let mut rows = rows.peekable();
        let mut done = 0;
        (self.progress)(stage, 0, total);
        while rows.peek().is_some() {
            let txn = write_transaction(self.db).await?;
            for _ in 0..CHUNKS_PER_TRANSACTION {
                let chunk = rows.by_ref().take(per_chunk).collect::<Result<Vec<A>>>()?;
                if chunk.is_empty() {
                    break;
                }
                done += chunk.len();
                <A::Entity as EntityTrait>::insert_many(chunk)
                    .exec_without_returning(&txn)
                    .await
                    .map_err(failed(stage))?;
                (self.progress)(stage, done, total);
            }
            txn.commit().await.map_err(failed(stage))?;
        }
        Ok(done)
    }

    /// After the last table: what rows inserted around the ordinary write path leave to do.
    pub async fn finish(&self) -> Result<()> {
        self.reset_sequences().await?;
        crate::signature::refresh(self.db, None).await?;
        crate::practice::count_scheme_links(self.db, None).await?;
        self.merge_text_indexes().await?;
        self.analyze().await?;
        // The funding-gap rollups are rebuilt when next asked (or prepared, see
        // `Database::prepare_rollups`).
        crate::rollup::invalidate(self.db).await
    }

    /// PostgreSQL's statistics of the tables just loaded: until autovacuum comes round to them,
    /// a statement right after the load (a rollup's build reading every practice and funding
    /// record) is planned for the tables as they were, empty perhaps.
    async fn analyze(&self) -> Result<()> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        self.db
            .execute_unprepared("ANALYZE")
            .await
            .map_err(failed("statistics"))?;
        Ok(())
    }

    /// SQLite's full-text indexes, filled row by row by their triggers, are left in many small
    /// segments, and every look-up of a word reads each of them: merged into one, the
    /// practices holding a word are found two to four times faster (`matches`). PostgreSQL's
    /// index needs no such step.
    async fn merge_text_indexes(&self) -> Result<()> {
        if self.db.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        for table in ["practice_fts", "need_fts", "support_scheme_fts"] {
            self.db
                .execute_unprepared(&format!("INSERT INTO {table}({table}) VALUES ('optimize')"))
                .await
                .map_err(failed("full-text indexes"))?;
        }
        Ok(())
    }

    /// PostgreSQL's sequences do not see explicit ids: without this the next ordinary insert
    /// would be handed an id that is already taken. SQLite takes the largest rowid by itself.
    async fn reset_sequences(&self) -> Result<()> {
        if self.db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for table in SERIAL_TABLES {
            // setval is strict: on an empty table MAX is NULL and nothing changes.
            self.db
                .execute_unprepared(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                ))
                .await
                .map_err(failed("sequences"))?;
        }
        Ok(())
    }
}

/// A row of a tag table.
trait TagModel: ActiveModelTrait + Send {
    const TABLE: &'static str;
    fn tag(owner: i64, dimension: String, value: String) -> Self;
}

macro_rules! tag_model {
    ($module:ident, $owner:ident) => {
        impl TagModel for $module::ActiveModel {
            const TABLE: &'static str = stringify!($module);
            fn tag($owner: i64, dimension: String, value: String) -> Self {
                $module::Model {
                    $owner,
                    dimension,
                    value,
                }
                .into_active_model()
            }
        }
    };
}

tag_model!(donor_agenda, donor_id);
tag_model!(scheme_tag, scheme_id);
tag_model!(practice_tag, practice_id);
tag_model!(need_tag, need_id);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::{funding, practice, practice_city};

    #[test]
    fn chunks_stay_under_both_parameter_limits() {
        for columns in [
            funding::Column::iter().count(),
            practice::Column::iter().count(),
            practice_tag::Column::iter().count(),
            practice_city::Column::iter().count(),
        ] {
            // A big stage fills each statement up to the budget, under both databases' limits.
            let rows = rows_per_chunk(columns, 1_000_000);
            assert!(rows * columns <= PARAMETER_BUDGET);
            assert!(rows * columns > PARAMETER_BUDGET - columns);
        }
        // A small one is still cut into fiftieths, for progress reports.
        let rows = rows_per_chunk(2, 70_000);
        assert_eq!(rows, 1_400);
        assert_eq!(70_000usize.div_ceil(rows), 50);
        // A tiny one goes in whole.
        assert_eq!(rows_per_chunk(3, 400), MIN_ROWS_PER_CHUNK);
    }
}
