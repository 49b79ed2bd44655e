//! The funding-gap rollups on PostgreSQL: unlogged, their text keys compared byte by byte.
//!
//! A rollup is derived from the base and can be built again from it whenever it is missing (a
//! question builds its grouping; `prepare-rollups` builds the prepared ones ahead). Writing it
//! to the write-ahead log bought nothing but the time to write it: a first question's build
//! inserts hundreds of thousands of rows (182,473 members for country × modality on the
//! 200,000-practice base). Unlogged, PostgreSQL empties these tables after a crash, and on a
//! standby promoted in its place; `gap_combo`, which says what is built, is among them, so the
//! rollups are then all missing together and each grouping is built again when next asked.
//! A standby cannot read unlogged tables at all: the service writes rollups as it answers and
//! runs against the primary.
//!
//! The keys (the grouping's name, the cells' values, kinds, sides and statuses) are upper-case
//! ASCII codes. In the databases' usual collations (C.UTF-8, en_US.UTF-8) PostgreSQL compares
//! them through the C library's `strcoll`, without the abbreviated keys it sorts "C" text by;
//! the builds' inserts into the rollups' primary keys and the spans' sorts spend much of their
//! time there. "C" orders these codes as those collations do.
//!
//! Together, on the 200,000-practice base: the first question about country × modality
//! (summed from orientation × country × modality) 1.14-1.23 s instead of 1.30-1.49 s (README,
//! "Unlogged rollups with byte-wise keys").
//!
//! Servers running while it is applied hold statements PostgreSQL prepared over the old
//! columns, which it refuses from then on ("cached plan must not change result type"): restart
//! them once it has run (a server applies pending migrations when it starts).
//!
//! SQLite compares text byte by byte already and has no write-ahead log per table: nothing to
//! do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000000_rollups_unlogged"
    }
}

/// Every table of the rollups, and the one that says which groupings are built: all or none
/// of them must survive a crash.
const TABLES: &[&str] = &[
    "gap_combo",
    "gap_rollup",
    "gap_rollup_member",
    "gap_rollup_confidential",
    "gap_rollup_year_edge",
    "gap_rollup_year_member",
    "gap_rollup_year_confidential",
    "gap_rollup_year_span",
    "gap_rollup_year_span_edge",
];

/// One `ALTER TABLE` a table, so that each is rewritten once: its persistence, and each of its
/// text columns in `collation`, with its type as declared (read from the catalog, so that
/// lengths stay as the migrations before set them).
async fn alter(
    manager: &SchemaManager<'_>,
    persistence: &str,
    collation: &str,
) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let db = manager.get_connection();
    for table in TABLES {
        let columns = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
                     WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped \
                     AND atttypid IN ('varchar'::regtype, 'bpchar'::regtype, 'text'::regtype) \
                     ORDER BY attnum"
                ),
            ))
            .await?;
        let mut actions = vec![persistence.to_owned()];
        for column in columns {
            let name: String = column.try_get_by_index(0)?;
            let kind: String = column.try_get_by_index(1)?;
            actions.push(format!(
                "ALTER COLUMN \"{name}\" TYPE {kind} COLLATE {collation}"
            ));
        }
        db.execute_unprepared(&format!("ALTER TABLE {table} {}", actions.join(", ")))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        alter(manager, "SET UNLOGGED", "\"C\"").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        alter(manager, "SET LOGGED", "\"default\"").await
    }
}
