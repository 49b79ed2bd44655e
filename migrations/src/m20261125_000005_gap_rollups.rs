//! Funding-gap rollups: per grouping (a set of dimensions), the totals of each cell and the
//! donors and schemes active in it, kept in step with every write to practices and funding so
//! that `fundingGaps` reads a few hundred rows instead of joining every practice with every
//! funding record. A grouping is built the first time it is asked for; `gap_combo` lists the
//! built ones. Keys a grouping does not use hold ''.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000005_gap_rollups"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("gap_combo")
                    .col(string_len("combo", 80).primary_key())
                    .col(timestamp_with_time_zone("built_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("gap_rollup")
                    .col(string_len("combo", 80))
                    .col(string_len("k1", 40))
                    .col(string_len("k2", 40))
                    .col(string_len("k3", 40))
                    .col(big_integer("practices"))
                    .col(big_integer("required"))
                    .col(big_integer("pledged"))
                    .col(big_integer("committed"))
                    .col(big_integer("disbursed"))
                    .primary_key(Index::create().col("combo").col("k1").col("k2").col("k3"))
                    .to_owned(),
            )
            .await?;
        // kind 'D': a donor with funding in the cell, n its funding records there; kind 'S': a
        // scheme linked to practices of the cell, n those practices. A member counts while n > 0.
        manager
            .create_table(
                Table::create()
                    .table("gap_rollup_member")
                    .col(string_len("combo", 80))
                    .col(string_len("k1", 40))
                    .col(string_len("k2", 40))
                    .col(string_len("k3", 40))
                    .col(char_len("kind", 1))
                    .col(big_integer("member_id"))
                    .col(big_integer("n"))
                    .primary_key(
                        Index::create()
                            .col("combo")
                            .col("k1")
                            .col("k2")
                            .col("k3")
                            .col("kind")
                            .col("member_id"),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["gap_rollup_member", "gap_rollup", "gap_combo"] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
