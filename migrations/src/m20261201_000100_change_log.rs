//! The change feed: one row per save of a versioned record, numbered in commit order by a
//! one-row counter every writing transaction takes (see `persistence::changes` for why an
//! autoincrement id would not do).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000100_change_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("change_counter")
                    .col(integer("id").primary_key())
                    .col(big_integer("n"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("change_counter")
                    .columns(["id", "n"])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("change_log")
                    .col(big_integer("seq").primary_key())
                    .col(string_len("record_type", 32))
                    .col(big_integer("record_id"))
                    .col(integer("version"))
                    .col(string_len("kind", 16))
                    .col(timestamp_with_time_zone("at"))
                    .col(string_len_null("status", 16))
                    .col(string_len_null("owner_kind", 16))
                    .col(big_integer_null("owner_id"))
                    .col(boolean("withdrawn"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("change_log").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("change_counter").to_owned())
            .await
    }
}
