//! Each funding record cites the rate it was converted at (source and date), frozen with it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000004_rate_sources"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("funding")
                    .add_column(string_len_null("rate_source", 240))
                    .to_owned(),
            )
            .await?;
        // Records made before this migration were converted at the shipped table.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE funding SET rate_source = (SELECT r.source || ', ' || r.as_of FROM currency_rate r WHERE r.currency = funding.currency) \
                 WHERE rate_source IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("funding")
                    .drop_column("rate_source")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
