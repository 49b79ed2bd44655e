//! Every funding-gap question asked by someone who may not see every confidential amount also
//! needs the confidential funding of each cell, per donor and status, to round it (disclosure
//! control). Summed from the funding rows, that took most of a question's time on a large base,
//! so the rollups keep it too: per cell, donor (0 for none) and status, the records, their exact
//! sum and the sum of each record rounded, each sum in two parts like the others.
//!
//! Rollups built before lack these cells, so they are dropped; the next question rebuilds them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_120000_rollup_confidential"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("gap_rollup_confidential")
                    .col(string_len("combo", 80))
                    .col(string_len("k1", 40))
                    .col(string_len("k2", 40))
                    .col(string_len("k3", 40))
                    .col(big_integer("donor_id"))
                    .col(string_len("status", 16))
                    .col(big_integer("records"))
                    .col(big_integer("exact"))
                    .col(big_integer("exact_hi"))
                    .col(big_integer("rounded"))
                    .col(big_integer("rounded_hi"))
                    .primary_key(
                        Index::create()
                            .col("combo")
                            .col("k1")
                            .col("k2")
                            .col("k3")
                            .col("donor_id")
                            .col("status"),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for table in ["gap_rollup_member", "gap_rollup", "gap_combo"] {
            db.execute_unprepared(&format!("DELETE FROM {table}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("gap_rollup_confidential").to_owned())
            .await?;
        // Rollups built meanwhile hold no confidential cells; that is what the older code reads.
        Ok(())
    }
}
