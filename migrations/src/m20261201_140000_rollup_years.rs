//! A funding-gap question over a range of years summed every practice and funding record of the
//! range: seconds on a large base. The rollups now keep, beside each grouping's whole-life cells,
//! a grouping "by year" whose rows carry a period `[lo, hi]`: a row counts in a question over
//! `[from, to]` when `lo <= to AND hi >= from`.
//!
//! - A practice's row is its own period (an open start is 0, an open end 9999).
//! - A funding record of year `y` counts when its practice is active in the range and `y` lies
//!   in it. Inside its practice's period that is `y` in the range alone, so its row is `[y, y]`;
//!   outside it the two conditions fold into `[max(start, y), min(end, y)]`.
//! - Donors and schemes keep those periods per member, so that counting the distinct members of
//!   a range reads one index entry per member.
//!
//! The period joins every rollup table's key, which neither database alters in place, so the
//! tables are made anew. Rollups built before are dropped with them; the next question rebuilds
//! what it needs.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_140000_rollup_years"
    }
}

const TABLES: [&str; 3] = ["gap_rollup_confidential", "gap_rollup_member", "gap_rollup"];

/// The cell columns every rollup table starts with.
fn cell(table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(string_len("combo", 80))
        .col(string_len("k1", 40))
        .col(string_len("k2", 40))
        .col(string_len("k3", 40))
        .to_owned()
}

/// The rollup tables, with the period in their keys when `years`.
async fn create(manager: &SchemaManager<'_>, years: bool) -> Result<(), DbErr> {
    let period =
        |t: &mut TableCreateStatement, key: &mut IndexCreateStatement, order: [&'static str; 2]| {
            if years {
                t.col(integer("lo")).col(integer("hi"));
                for c in order {
                    key.col(c);
                }
            }
        };

    let mut totals = cell("gap_rollup");
    for c in [
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
    ] {
        totals.col(big_integer(c).default(0));
    }
    let mut key = Index::create();
    key.col("combo").col("k1").col("k2").col("k3");
    period(&mut totals, &mut key, ["lo", "hi"]);
    manager
        .create_table(totals.primary_key(&mut key).to_owned())
        .await?;

    let mut members = cell("gap_rollup_member");
    members
        .col(char_len("kind", 1))
        .col(big_integer("member_id"))
        .col(big_integer("n"));
    let mut key = Index::create();
    key.col("combo")
        .col("k1")
        .col("k2")
        .col("k3")
        .col("kind")
        .col("member_id");
    // Ends first: a range's members are found by `hi >= from`, then the least `lo`.
    period(&mut members, &mut key, ["hi", "lo"]);
    manager
        .create_table(members.primary_key(&mut key).to_owned())
        .await?;

    let mut confidential = cell("gap_rollup_confidential");
    confidential
        .col(big_integer("donor_id"))
        .col(string_len("status", 16));
    for c in ["records", "exact", "exact_hi", "rounded", "rounded_hi"] {
        confidential.col(big_integer(c));
    }
    let mut key = Index::create();
    key.col("combo")
        .col("k1")
        .col("k2")
        .col("k3")
        .col("donor_id")
        .col("status");
    period(&mut confidential, &mut key, ["lo", "hi"]);
    manager
        .create_table(confidential.primary_key(&mut key).to_owned())
        .await?;
    Ok(())
}

async fn recreate(manager: &SchemaManager<'_>, years: bool) -> Result<(), DbErr> {
    for table in TABLES {
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await?;
    }
    manager
        .get_connection()
        .execute_unprepared("DELETE FROM gap_combo")
        .await?;
    create(manager, years).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, false).await
    }
}
