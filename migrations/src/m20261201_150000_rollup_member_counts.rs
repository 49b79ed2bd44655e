//! A funding-gap question counted each cell's donors and schemes from the member rows of its
//! grouping: some 21,000 rows for theme × orientation on a large base, for 45 cells. Each
//! whole-life cell now keeps the two counts itself; the writes that change a cell's members
//! recount that cell.
//!
//! Rollups built before hold zero in the new columns, so they are dropped; the next question
//! rebuilds them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_150000_rollup_member_counts"
    }
}

const COLUMNS: [&str; 2] = ["donors", "schemes"];

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
