//! How long the last build of each funding-gap grouping took, so that a question told to ask
//! again during a build is told when the build is likely done, whichever process built the
//! grouping before and whether or not it has restarted since. A table of its own, not a column
//! of `gap_combo`: a grouping dropped to make room for another loses its `gap_combo` row, and
//! its next build takes about as long as its last.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261214_000000_rollup_build_times"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("rollup_build")
                    .col(string_len("combo", 80).primary_key())
                    .col(big_integer("took_ms"))
                    .col(timestamp_with_time_zone("built_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("rollup_build").to_owned())
            .await
    }
}
