//! The groupings by year shared the rollup tables with the whole-life ones, and outnumbered
//! them: for theme × orientation on a large base, 13,786 cell rows by year against 45 whole-life
//! ones, 57,393 confidential rows against 9,840. A whole-life question read its grouping's rows
//! among all of them (PostgreSQL chose to scan the confidential table whole), so it paid for
//! every grouping by year built before it. The groupings by year now have tables of their own,
//! of the same columns: `gap_rollup_year`, `gap_rollup_year_member` and
//! `gap_rollup_year_confidential`. The whole-life tables keep their period columns, always
//! `[0, 0]`, so that one set of statements maintains both.
//!
//! The rows of the groupings by year built before move to the new tables: nothing is rebuilt.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_170000_rollup_year_tables"
    }
}

const CELL: [&str; 4] = ["combo", "k1", "k2", "k3"];
const TOTALS: [&str; 15] = [
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
const CONFIDENTIAL: [&str; 5] = ["records", "exact", "exact_hi", "rounded", "rounded_hi"];

/// (whole-life table, table by year, its key after the cell, its sums)
fn tables() -> [(
    &'static str,
    &'static str,
    Vec<&'static str>,
    Vec<&'static str>,
); 3] {
    [
        (
            "gap_rollup",
            "gap_rollup_year",
            vec!["lo", "hi"],
            TOTALS.to_vec(),
        ),
        (
            "gap_rollup_member",
            "gap_rollup_year_member",
            // Ends first: a range's members are found by `hi >= from`, then the least `lo`.
            vec!["kind", "member_id", "hi", "lo"],
            vec!["n"],
        ),
        (
            "gap_rollup_confidential",
            "gap_rollup_year_confidential",
            vec!["donor_id", "status", "lo", "hi"],
            CONFIDENTIAL.to_vec(),
        ),
    ]
}

fn create(
    table: &'static str,
    key: &[&'static str],
    sums: &[&'static str],
) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(table)
        .col(string_len("combo", 80))
        .col(string_len("k1", 40))
        .col(string_len("k2", 40))
        .col(string_len("k3", 40));
    for c in key {
        match *c {
            "lo" | "hi" => t.col(integer(*c)),
            "kind" => t.col(char_len(*c, 1)),
            "status" => t.col(string_len(*c, 16)),
            _ => t.col(big_integer(*c)),
        };
    }
    for c in sums {
        t.col(big_integer(*c).default(0));
    }
    let mut pk = Index::create();
    for c in CELL.iter().chain(key) {
        pk.col(*c);
    }
    t.primary_key(&mut pk).to_owned()
}

/// Moves the rows of the groupings by year (built, or being built: "~…/YEAR") between tables.
async fn move_rows(
    manager: &SchemaManager<'_>,
    from: &str,
    to: &str,
    key: &[&str],
    sums: &[&str],
) -> Result<(), DbErr> {
    let columns = CELL
        .iter()
        .chain(key)
        .chain(sums)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let db = manager.get_connection();
    db.execute_unprepared(&format!(
        "INSERT INTO {to} ({columns}) SELECT {columns} FROM {from} WHERE combo LIKE '%/YEAR'"
    ))
    .await?;
    db.execute_unprepared(&format!("DELETE FROM {from} WHERE combo LIKE '%/YEAR'"))
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (whole, yearly, key, sums) in tables() {
            manager.create_table(create(yearly, &key, &sums)).await?;
            move_rows(manager, whole, yearly, &key, &sums).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (whole, yearly, key, sums) in tables() {
            move_rows(manager, yearly, whole, &key, &sums).await?;
            manager
                .drop_table(Table::drop().table(yearly).to_owned())
                .await?;
        }
        Ok(())
    }
}
