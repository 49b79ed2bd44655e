//! A question over a range of years `[from, to]` read, per cell, every year past each end of
//! the range on four sides of the rows by year (the periods by the year they end and by the
//! year they start, the members' last spans by their ends and first spans by their starts):
//! for theme × orientation 2000–2010 on 200,000 practices, 1,440 rows of sums ending from 2000
//! on, 630 starting after 2010, 1,008 last spans and 497 first spans, where the answer has 45
//! cells.
//!
//! Each of those sides is now kept by decade as well (`I` for `H`, `M` for `L`, `F` for `E`,
//! `T` for `S`, `a` the decade's first year), so that a range reads a cell's decades past its
//! end and at most five years. The decades are summed here from the rows by year, so groupings
//! already built stay built.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000000_rollup_year_decades"
    }
}

const EDGES: &str = "gap_rollup_year_edge";
const SPAN_EDGES: &str = "gap_rollup_year_span_edge";

/// The sums of a cell by year (see the migration `rollup_year_edges`).
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let columns = EDGE_SUMS.join(", ");
        let sums = EDGE_SUMS
            .iter()
            .map(|c| format!("SUM({c})"))
            .collect::<Vec<_>>()
            .join(", ");
        db.execute_unprepared(&format!(
            "INSERT INTO {EDGES} (combo, k1, k2, k3, side, a, b, {columns}) \
             SELECT combo, k1, k2, k3, CASE WHEN side = 'H' THEN 'I' ELSE 'M' END, a - a % 10, 0, {sums} \
             FROM {EDGES} WHERE side IN ('H', 'L') \
             GROUP BY combo, k1, k2, k3, side, a - a % 10"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO {SPAN_EDGES} (combo, k1, k2, k3, kind, side, a, b, n) \
             SELECT combo, k1, k2, k3, kind, CASE WHEN side = 'E' THEN 'F' ELSE 'T' END, a - a % 10, 0, SUM(n) \
             FROM {SPAN_EDGES} WHERE side IN ('E', 'S') \
             GROUP BY combo, k1, k2, k3, kind, side, a - a % 10 HAVING SUM(n) <> 0"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DELETE FROM {EDGES} WHERE side IN ('I', 'M')"))
            .await?;
        db.execute_unprepared(&format!(
            "DELETE FROM {SPAN_EDGES} WHERE side IN ('F', 'T')"
        ))
        .await?;
        Ok(())
    }
}
