//! The funding-gap groupings an operator named to `prepare-rollups --by`. Questions keep a
//! bounded number of groupings built and drop the one asked for least recently to make room
//! for another; the prepared ones and those named here are never dropped. A table of its own,
//! not a column of `gap_combo`: a bulk load drops every rollup (and `gap_combo`'s rows with
//! them), and on PostgreSQL a crash empties the rollups' unlogged tables, while the operator's
//! choice outlives both.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261213_000000_prepared_groupings"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("prepared_grouping")
                    .col(string_len("combo", 80).primary_key())
                    .col(timestamp_with_time_zone("named_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("prepared_grouping").to_owned())
            .await
    }
}
