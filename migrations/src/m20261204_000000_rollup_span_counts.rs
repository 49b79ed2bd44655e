//! A funding-gap question over a range of years counted each cell's distinct donors and schemes
//! from their spans (`gap_rollup_year_span`), hashing every member id met: for theme ×
//! orientation 2000–2010 on 200,000 practices, 22,206 spans and 15 ms of the question's 20 on
//! PostgreSQL.
//!
//! A member's spans in a cell are disjoint and apart, so the first of them that meets a range
//! is the one that starts in it or before it and whose previous span (if any) ended before
//! the range began: exactly one per member. Each span now keeps the end of the member's span
//! before it (`prev_hi`, -1 for the first), and `gap_rollup_year_span_count` counts the spans
//! by cell, kind, period and that previous end, so a range sums a few thousand counts instead.
//! A member with a period that ends before it starts (a funding record outside its practice's
//! period) breaks the order: its spans have no `prev_hi` and are still counted distinct, from
//! an index of their own.
//!
//! The spans of the groupings built before get their previous ends and counts here, as the
//! writes that maintain them would have left them, so that no grouping has to be built again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000000_rollup_span_counts"
    }
}

const SPANS: &str = "gap_rollup_year_span";
const COUNTS: &str = "gap_rollup_year_span_count";
const IRREGULAR: &str = "ix_gap_rollup_year_span_irregular";
const EMPTIED: &str = "ix_gap_rollup_year_span_count_emptied";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("ALTER TABLE {SPANS} ADD COLUMN prev_hi INTEGER"))
            .await?;
        let member = "combo, k1, k2, k3, kind, member_id";
        let same = ["combo", "k1", "k2", "k3", "kind", "member_id", "lo", "hi"]
            .map(|c| format!("{SPANS}.{c} = w.{c}"))
            .join(" AND ");
        db.execute_unprepared(&format!(
            "UPDATE {SPANS} SET prev_hi = w.prev_hi FROM ( \
               SELECT {member}, lo, hi, \
                      CASE WHEN MAX(CASE WHEN lo > hi THEN 1 ELSE 0 END) OVER (PARTITION BY {member}) = 1 THEN NULL \
                           ELSE COALESCE(LAG(hi) OVER (PARTITION BY {member} ORDER BY lo), -1) END AS prev_hi \
               FROM {SPANS}) w \
             WHERE {same}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX {IRREGULAR} ON {SPANS} (combo, k1, k2, k3, kind, member_id, lo, hi) \
             WHERE prev_hi IS NULL"
        ))
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(COUNTS)
                    .col(string_len("combo", 80))
                    .col(string_len("k1", 40))
                    .col(string_len("k2", 40))
                    .col(string_len("k3", 40))
                    .col(char_len("kind", 1))
                    .col(integer("lo"))
                    .col(integer("hi"))
                    .col(integer("prev_hi"))
                    .col(big_integer("n"))
                    .primary_key(
                        Index::create()
                            .col("combo")
                            .col("k1")
                            .col("k2")
                            .col("k3")
                            .col("kind")
                            .col("lo")
                            .col("hi")
                            .col("prev_hi"),
                    )
                    .to_owned(),
            )
            .await?;
        // Counts that fell to zero are found here and deleted, without reading the others.
        db.execute_unprepared(&format!(
            "CREATE INDEX {EMPTIED} ON {COUNTS} (combo) WHERE n = 0"
        ))
        .await?;
        let key = "combo, k1, k2, k3, kind, lo, hi, prev_hi";
        db.execute_unprepared(&format!(
            "INSERT INTO {COUNTS} ({key}, n) \
             SELECT {key}, COUNT(*) FROM {SPANS} WHERE prev_hi IS NOT NULL GROUP BY {key}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(COUNTS).to_owned())
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DROP INDEX {IRREGULAR}"))
            .await?;
        db.execute_unprepared(&format!("ALTER TABLE {SPANS} DROP COLUMN prev_hi"))
            .await?;
        Ok(())
    }
}
