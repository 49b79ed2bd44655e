//! A year range's confidential funding is summed from the rows of its grouping by year summed
//! over every donor (or a donor's own), found by `(combo, donor_id)` and kept when their period
//! meets the range. Those rows lie scattered over the table, a heap page each: THEME x
//! ORIENTATION over 2000-2010 on 200,000 practices read 4,816 index entries and 1,163 heap
//! pages to keep 1,459 rows, 4.1 ms of the question's 7.8 ms in PostgreSQL. The index now holds
//! the periods after the donor and every other column the question reads, so that PostgreSQL
//! reads those rows from it alone and skips the periods that start after the range. It
//! replaces the narrower index under the same name, which served the same look-ups.
//!
//! PostgreSQL only: SQLite has no `INCLUDE`, and its index stays as it was.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261212_000000_rollup_year_confidential_covering"
    }
}

const INDEX: &str = "ix_gap_rollup_year_confidential_combo_donor";
const TABLE: &str = "gap_rollup_year_confidential";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::on_postgres(manager, &format!("DROP INDEX {INDEX}")).await?;
        crate::on_postgres(
            manager,
            &format!(
                "CREATE INDEX {INDEX} ON {TABLE} (combo, donor_id, lo, hi) \
                 INCLUDE (k1, k2, k3, status, records, exact, exact_hi, rounded, rounded_hi)"
            ),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::on_postgres(manager, &format!("DROP INDEX {INDEX}")).await?;
        crate::on_postgres(
            manager,
            &format!("CREATE INDEX {INDEX} ON {TABLE} (combo, donor_id)"),
        )
        .await
    }
}
