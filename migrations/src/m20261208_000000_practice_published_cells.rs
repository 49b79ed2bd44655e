//! Every statement that builds a funding-gap rollup places each published practice in its cells
//! from a few columns of its row: its id, orientation, modality, amount required and period. The
//! rows hold the practices' texts too (2.4 KB a row on the synthetic base, 475 MB for 200,000
//! practices), so each statement of a build read the whole table for a few per cent of it, three
//! or four times a build. The index holds those columns of the published practices only
//! (13 MB), so that a build reads it alone: the first question about theme × orientation on
//! PostgreSQL with 200,000 practices, which builds its grouping, took 4.3-4.7 s instead of
//! 5.4-5.9 s from a cold start (the database restarted, the system's file cache dropped).
//!
//! PostgreSQL only: SQLite places each tag's practice by its row id, one lookup per row rather
//! than a pass over the table, and keeps to that plan with such an index beside it (checked
//! with `EXPLAIN QUERY PLAN` on the 200,000-practice base), so there the index would only cost
//! writes.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000000_practice_published_cells"
    }
}

const INDEX: &str = "ix_practice_published_cells";
/// What a build reads of a practice besides its id (see `Combo::projection`).
const COLUMNS: &str = "orientation, modality, amount_required_usd_cents, start_year, end_year";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::on_postgres(
            manager,
            &format!(
                "CREATE INDEX {INDEX} ON practice (id) INCLUDE ({COLUMNS}) \
                 WHERE status = 'PUBLISHED'"
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::on_postgres(manager, &format!("DROP INDEX {INDEX}")).await
    }
}
