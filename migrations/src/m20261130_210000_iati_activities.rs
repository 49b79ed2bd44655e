//! The IATI activities a practice was imported from: the key an import finds the practice by
//! again, and a digest of what the activity said, so that importing the same file twice
//! changes nothing; and the IATI identifiers of the donors it found or made.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_210000_iati_activities"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("iati_activity")
                    // IATI identifiers are at most a few hundred characters in practice; the
                    // standard sets no limit, so the column is text.
                    .col(text("identifier").primary_key())
                    .col(big_integer("practice_id").unique_key())
                    // SHA-256 hex of the activity as read.
                    .col(string_len("digest", 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from("iati_activity", "practice_id")
                            .to("practice", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("iati_organisation")
                    // An organisation's IATI identifier (`ref`), by which a later import finds
                    // the donor again whatever its name has become.
                    .col(text("reference").primary_key())
                    .col(big_integer("donor_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("iati_organisation", "donor_id")
                            .to("donor", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("iati_organisation").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("iati_activity").to_owned())
            .await
    }
}
