//! Sign-in and registration attempts counted per subject (an account's email, a client
//! address) in a fixed window: one row a subject, incremented atomically by an upsert, so that
//! parallel attempts and several processes share one count. It replaces the failed-sign-in log,
//! which was read before and written after the password check and so let races through.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_140000_sign_in_attempts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sign_in_attempt")
                    .col(string_len("subject", 320).primary_key())
                    // Unix seconds: compared as numbers alike on SQLite and PostgreSQL.
                    .col(big_integer("window_start"))
                    .col(big_integer("attempts"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sign_in_attempt_window_start")
                    .table("sign_in_attempt")
                    .col("window_start")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("login_failure").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("login_failure")
                    .col(big_pk_auto("id"))
                    .col(string_len("email", 254))
                    .col(string_len("client", 64))
                    .col(timestamp_with_time_zone("at"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("sign_in_attempt").to_owned())
            .await
    }
}
