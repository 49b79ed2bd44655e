//! Sums of money in the funding-gap rollups overflow 64 bits long before a base is large: one
//! record may hold up to about 2^63 USD cents. Each sum is kept in two parts from now on, whole
//! units of 10^9 cents in the new `*_hi` columns and the rest in the existing ones; a rollup
//! written before holds its whole sums in the existing columns and zero in the new ones, which
//! reads as the same amount, so no rollup needs rebuilding.
//!
//! Confidential funding is read on its own by every funding-gap question (disclosure control),
//! so it gets a partial index of its own, holding every column that question reads.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000006_rollup_money_parts"
    }
}

const PARTS: [&str; 4] = ["required_hi", "pledged_hi", "committed_hi", "disbursed_hi"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one thing at a time.
        for column in PARTS {
            manager
                .alter_table(
                    Table::alter()
                        .table("gap_rollup")
                        .add_column(big_integer(column).default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_funding_confidential \
                 ON funding (practice_id, donor_id, status, year, amount_usd_cents) WHERE confidential",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_funding_confidential")
            .await?;
        for column in PARTS {
            manager
                .alter_table(
                    Table::alter()
                        .table("gap_rollup")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
