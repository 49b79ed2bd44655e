//! Accounts, refresh tokens, failed logins, the audit trail, and the organisation that owns each
//! practice, scheme and need (drafts are visible to it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000002_accounts_and_audit"
    }
}

fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{}", columns.join("_")))
        .table(table);
    for c in columns {
        idx.col(*c);
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("app_user")
                    .col(big_pk_auto("id"))
                    .col(integer("version").default(1))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(string_len_uniq("email", 254))
                    .col(string_len("password_hash", 200))
                    .col(string_len("name", 200))
                    .col(string_len("status", 16))
                    .col(string_len_null("role", 24))
                    .col(string_len_null("affiliation_kind", 16))
                    .col(big_integer_null("affiliation_id"))
                    .col(string_len("requested_role", 24))
                    .col(string_len_null("requested_affiliation_kind", 16))
                    .col(big_integer_null("requested_affiliation_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("refresh_token")
                    .col(big_pk_auto("id"))
                    .col(big_integer("user_id"))
                    .col(string_len_uniq("token_hash", 64))
                    .col(string_len("family", 36))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_token_user_id")
                            .from("refresh_token", "user_id")
                            .to("app_user", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
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
            .create_table(
                Table::create()
                    .table("audit_entry")
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(big_integer_null("actor_user_id"))
                    .col(string_len("action", 40))
                    .col(string_len("entity", 40))
                    .col(big_integer("entity_id"))
                    .col(text("changes"))
                    .to_owned(),
            )
            .await?;
        for table in ["practice", "support_scheme", "need"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(string_len_null("owner_kind", 16))
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(big_integer_null("owner_id"))
                        .to_owned(),
                )
                .await?;
        }
        for idx in [
            index("refresh_token", &["user_id"]),
            index("refresh_token", &["family"]),
            index("login_failure", &["email", "at"]),
            index("login_failure", &["client", "at"]),
            index("audit_entry", &["entity", "entity_id"]),
            index("audit_entry", &["actor_user_id"]),
            index("audit_entry", &["at"]),
            index("practice", &["owner_kind", "owner_id"]),
            index("support_scheme", &["owner_kind", "owner_id"]),
            index("need", &["owner_kind", "owner_id"]),
        ] {
            manager.create_index(idx).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_entry", "login_failure", "refresh_token", "app_user"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
