//! A funding-gap question over a range of years counted the distinct donors and schemes of each
//! cell from the member rows of the grouping by year, one row per period: for theme ×
//! orientation 2000–2010 on a large base it read 87,179 rows and took 133 ms of the question's
//! 142. `gap_rollup_year_span` keeps each member's periods in a cell merged into spans of
//! consecutive years, a few a member, from which a range counts its members instead. (A
//! period that ends before it starts, of a funding record outside its practice's period,
//! stays as it is: hence the end in the key.)
//!
//! The groupings by year built before have no spans, so they are dropped; the next question
//! over a range rebuilds what it needs.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_180000_rollup_year_spans"
    }
}

const TABLE: &str = "gap_rollup_year_span";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TABLE)
                    .col(string_len("combo", 80))
                    .col(string_len("k1", 40))
                    .col(string_len("k2", 40))
                    .col(string_len("k3", 40))
                    .col(char_len("kind", 1))
                    .col(big_integer("member_id"))
                    .col(integer("lo"))
                    .col(integer("hi"))
                    .primary_key(
                        Index::create()
                            .col("combo")
                            .col("k1")
                            .col("k2")
                            .col("k3")
                            .col("kind")
                            .col("member_id")
                            .col("lo")
                            .col("hi"),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for table in [
            "gap_rollup_year_confidential",
            "gap_rollup_year_member",
            "gap_rollup_year",
        ] {
            db.execute_unprepared(&format!("DELETE FROM {table}"))
                .await?;
        }
        db.execute_unprepared("DELETE FROM gap_combo WHERE combo LIKE '%/YEAR'")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TABLE).to_owned())
            .await
    }
}
