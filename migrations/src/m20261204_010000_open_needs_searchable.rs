//! `idx_need_open` (see `m20261201_160000_open_needs_index`) held every column a funding-gap
//! question reads of the open, published needs, but SQLite never chose it: it searched the
//! needs by status or publication instead and read each row, 16,016 rows for the total on a
//! base of 20,000 needs, while PostgreSQL read the index alone. Led by the two columns its
//! condition fixes, the index (`idx_need_open_searchable`) is one SQLite searches by them, and
//! still the whole of what the question reads: `fundingGapTotal` on SQLite at 16 connections
//! went from 192–203 requests a second to 381–391. (A new name: the server's other SQLite
//! connections may still read the schema from before the old index was dropped.)

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_010000_open_needs_searchable"
    }
}

const OPEN: &str = "WHERE publication = 'PUBLISHED' AND status = 'OPEN'";
const OLD: &str = "idx_need_open";
const NEW: &str = "idx_need_open_searchable";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DROP INDEX {OLD}")).await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX {NEW} \
             ON need (status, publication, id, city_id, modality, amount_required_usd_cents) {OPEN}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DROP INDEX {NEW}")).await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX {OLD} ON need (id, city_id, modality, amount_required_usd_cents) {OPEN}"
        ))
        .await?;
        Ok(())
    }
}
