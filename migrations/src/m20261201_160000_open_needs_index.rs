//! Every funding-gap question counts the open, published needs of its cells from the needs
//! themselves (they are few beside the practices, and have no period): on a base of 20,000 needs
//! that read every need row, wide with its description, about 12 ms of each question's 28 ms
//! for the total. A partial index holding the columns the question reads answers it from the
//! index alone.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_160000_open_needs_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_need_open \
                 ON need (id, city_id, modality, amount_required_usd_cents) \
                 WHERE publication = 'PUBLISHED' AND status = 'OPEN'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_need_open")
            .await?;
        Ok(())
    }
}
