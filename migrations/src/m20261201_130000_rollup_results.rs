//! `resultsByTheme` counted every published practice and indicator of the base on each ask. Its
//! figures are sums over practices too, so the rollups keep them beside the funding: per cell,
//! the practices with indicators, their indicators, those with a target and an actual value, and
//! those whose actual value reached the target. The THEME grouping's cells answer the question.
//!
//! Rollups built before hold zero in the new columns, so they are dropped; the next question
//! rebuilds them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_130000_rollup_results"
    }
}

const COLUMNS: [&str; 4] = [
    "with_indicators",
    "indicators",
    "with_target",
    "targets_met",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one thing at a time.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("gap_rollup")
                        .add_column(big_integer(column).default(0))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        for table in [
            "gap_rollup_confidential",
            "gap_rollup_member",
            "gap_rollup",
            "gap_combo",
        ] {
            db.execute_unprepared(&format!("DELETE FROM {table}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
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
