//! A funding-gap question over a range of years `[from, to]` summed every row of the grouping by
//! year whose period `[lo, hi]` meets the range, and counted the donors and schemes of each cell
//! from counts of their spans kept by period: for theme × orientation 2000–2010 on 200,000
//! practices it read 13,786 rows of sums (5,525 counted) and 22,372 counts of spans (7,517
//! counted), and a grouping's rows grew with the distinct periods of its practices, about the
//! square of the years they cover.
//!
//! Both are now kept by year, so that a range reads rows in proportion to the years past its
//! ends, at most two a cell and year:
//!
//! - `gap_rollup_year_edge` replaces `gap_rollup_year`. A period meets the range when it ends
//!   in or after `from` and does not start after `to`; a period that starts after `to` also
//!   ends after `from`. So the sums of a range are those of the periods ending in or after
//!   `from`, kept by the year they end (side `H`, year in `a`), less those of the periods
//!   starting after `to`, kept by the year they start (side `L`). A period that ends before it
//!   starts (a funding record outside its practice's period) breaks that; those few are kept by
//!   their period (side `X`, `a` = lo, `b` = hi) and counted when both ends meet the range.
//! - `gap_rollup_year_span_edge` replaces `gap_rollup_year_span_count`. A member whose spans in
//!   a cell are disjoint and ordered misses a range when all of them end before `from`, when
//!   all start after `to`, or when the range falls in a gap between two of them, and these
//!   exclude one another. So the members of a range are those whose last span ends in or after
//!   `from` (side `E`, by that end), less those whose first span starts after `to` (side `S`,
//!   by that start), less the gaps holding the range (side `G`, `a` the start of the span after
//!   the gap, `b` the end of the one before it). Members without that order are still counted
//!   distinct from their spans.
//!
//! The rows by period cannot be recovered from sums by year (nor the reverse without the
//! base), so both ways the groupings by year are dropped, as a bulk load drops them: the next
//! question about one builds it again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000000_rollup_year_edges"
    }
}

const EDGES: &str = "gap_rollup_year_edge";
const SPAN_EDGES: &str = "gap_rollup_year_span_edge";
const SPAN_EDGES_EMPTIED: &str = "ix_gap_rollup_year_span_edge_emptied";
const TOTALS: &str = "gap_rollup_year";
const SPAN_COUNTS: &str = "gap_rollup_year_span_count";
const SPAN_COUNTS_EMPTIED: &str = "ix_gap_rollup_year_span_count_emptied";

/// The sums of a cell by year. The whole-life rollup's counts of indicators, donors and
/// schemes have no use by year (members are counted from their spans).
const EDGE_SUMS: [&str; 9] = [
    "practices",
    "required",
    "pledged",
    "committed",
    "disbursed",
    "required_hi",
    "pledged_hi",
    "committed_hi",
    "disbursed_hi",
];

/// The old table's sums, for `down`.
const TOTAL_SUMS: [&str; 15] = [
    "practices",
    "required",
    "pledged",
    "committed",
    "disbursed",
    "required_hi",
    "pledged_hi",
    "committed_hi",
    "disbursed_hi",
    "with_indicators",
    "indicators",
    "with_target",
    "targets_met",
    "donors",
    "schemes",
];

fn cell(t: &mut TableCreateStatement) -> &mut TableCreateStatement {
    t.col(string_len("combo", 80))
        .col(string_len("k1", 40))
        .col(string_len("k2", 40))
        .col(string_len("k3", 40))
}

/// Drops every grouping by year: their rows in each table by year (those of `tables`, which
/// exist at this point) and their entries in `gap_combo`, built or being built.
async fn drop_groupings_by_year(manager: &SchemaManager<'_>, tables: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for table in tables {
        db.execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    db.execute_unprepared("DELETE FROM gap_combo WHERE combo LIKE '%/YEAR'")
        .await?;
    Ok(())
}

const KEPT: [&str; 3] = [
    "gap_rollup_year_member",
    "gap_rollup_year_confidential",
    "gap_rollup_year_span",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_groupings_by_year(manager, &KEPT).await?;
        manager
            .drop_table(Table::drop().table(TOTALS).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SPAN_COUNTS).to_owned())
            .await?;

        let mut t = Table::create();
        cell(t.table(EDGES))
            .col(char_len("side", 1))
            .col(integer("a"))
            .col(integer("b"));
        for c in EDGE_SUMS {
            t.col(big_integer(c).default(0));
        }
        // A range reads each side from a year on: the side and year lead.
        t.primary_key(
            Index::create()
                .col("combo")
                .col("side")
                .col("a")
                .col("b")
                .col("k1")
                .col("k2")
                .col("k3"),
        );
        manager.create_table(t.to_owned()).await?;

        let mut t = Table::create();
        cell(t.table(SPAN_EDGES))
            .col(char_len("kind", 1))
            .col(char_len("side", 1))
            .col(integer("a"))
            .col(integer("b"))
            .col(big_integer("n"));
        t.primary_key(
            Index::create()
                .col("combo")
                .col("side")
                .col("a")
                .col("b")
                .col("k1")
                .col("k2")
                .col("k3")
                .col("kind"),
        );
        manager.create_table(t.to_owned()).await?;
        // Counts that fell to zero are found here and deleted, without reading the others.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {SPAN_EDGES_EMPTIED} ON {SPAN_EDGES} (combo) WHERE n = 0"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_groupings_by_year(manager, &KEPT).await?;
        manager
            .drop_table(Table::drop().table(EDGES).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SPAN_EDGES).to_owned())
            .await?;

        let mut t = Table::create();
        cell(t.table(TOTALS)).col(integer("lo")).col(integer("hi"));
        for c in TOTAL_SUMS {
            t.col(big_integer(c).default(0));
        }
        t.primary_key(
            Index::create()
                .col("combo")
                .col("k1")
                .col("k2")
                .col("k3")
                .col("lo")
                .col("hi"),
        );
        manager.create_table(t.to_owned()).await?;

        let mut t = Table::create();
        cell(t.table(SPAN_COUNTS))
            .col(char_len("kind", 1))
            .col(integer("lo"))
            .col(integer("hi"))
            .col(integer("prev_hi"))
            .col(big_integer("n"));
        t.primary_key(
            Index::create()
                .col("combo")
                .col("k1")
                .col("k2")
                .col("k3")
                .col("kind")
                .col("lo")
                .col("hi")
                .col("prev_hi"),
        );
        manager.create_table(t.to_owned()).await?;
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {SPAN_COUNTS_EMPTIED} ON {SPAN_COUNTS} (combo) WHERE n = 0"
            ))
            .await?;
        Ok(())
    }
}
