//! Emails were kept lower-cased but in whatever Unicode form they were typed, so that an
//! internationalised address typed with a composed letter (ë) and with a base letter and a
//! combining mark (e and U+0308) were two addresses, and an account registered with one could
//! not sign in with the other. The service now keeps and looks up emails in the composed form
//! (NFC, `domain::account::comparable_email`); the kept ones are brought to it here.
//!
//! Where two accounts' addresses differ only in their form, the one not yet composed is left
//! as it is: the composed one is the account the address signs in to from now on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261220_010000_composed_emails"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let (table, id, email) = (
            Alias::new("app_user"),
            Alias::new("id"),
            Alias::new("email"),
        );
        let rows = db
            .query_all(
                &Query::select()
                    .columns([id.clone(), email.clone()])
                    .from(table.clone())
                    .to_owned(),
            )
            .await?;
        let kept: Vec<(i64, String)> = rows
            .iter()
            .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
            .collect::<Result<_, DbErr>>()?;
        let taken: std::collections::HashSet<&str> = kept.iter().map(|(_, e)| e.as_str()).collect();
        let mut composed_now = std::collections::HashSet::new();
        for (row_id, stored) in &kept {
            let Ok(composed) = domain::account::comparable_email(stored) else {
                continue;
            };
            if composed == *stored
                || taken.contains(composed.as_str())
                || !composed_now.insert(composed.clone())
            {
                continue;
            }
            db.execute(
                &Query::update()
                    .table(table.clone())
                    .value(email.clone(), composed)
                    .and_where(Expr::col(id.clone()).eq(*row_id))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The forms typed are not kept: the composed ones stay.
        Ok(())
    }
}
