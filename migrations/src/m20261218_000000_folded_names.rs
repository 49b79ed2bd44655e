//! The names of cities, and the names, acronyms and descriptions of associations and donors,
//! were searched as `lower(column) LIKE '%text%'`. SQLite's `lower` changes ASCII letters only,
//! so on SQLite a name holding a capital letter outside ASCII could not be found even when typed
//! exactly ("Évry" found nothing), and on neither database did "evry" find it, while the
//! full-text search of practices on SQLite ignores accents. Each such row now keeps its
//! searched text folded as `domain::values::searched_text` folds it (lower case, accents dropped)
//! in `search_text`, which the service writes with every save; a search folds its text alike.
//!
//! The rows already stored are folded here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261218_000000_folded_names"
    }
}

/// The tables and the columns their search reads, in the order they are folded and joined.
const FOLDED: [(&str, &[&str]); 3] = [
    ("city", &["name"]),
    ("association", &["name", "acronym", "description"]),
    ("donor", &["name", "acronym", "description"]),
];

/// Writes `search_text` of every row of the searched tables whose text, folded as
/// `domain::values::searched_text` folds it now, is not what the row keeps.
pub(crate) async fn fold_names<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    for (table, columns) in FOLDED {
        let select = Query::select()
            .column(Alias::new("id"))
            .column(Alias::new("search_text"))
            .columns(columns.iter().map(|c| Alias::new(*c)))
            .from(Alias::new(table))
            .to_owned();
        let rows = db.query_all(&select).await?;
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            let kept: String = row.try_get_by_index(1)?;
            let mut values = Vec::with_capacity(columns.len());
            for at in 0..columns.len() {
                values.push(row.try_get_by_index::<Option<String>>(at + 2)?);
            }
            let text = domain::values::searched_text(
                &values.iter().map(Option::as_deref).collect::<Vec<_>>(),
            );
            if text == kept {
                continue;
            }
            let update = Query::update()
                .table(Alias::new(table))
                .value(Alias::new("search_text"), text)
                .and_where(Expr::col(Alias::new("id")).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, _) in FOLDED {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(
                            ColumnDef::new(Alias::new("search_text"))
                                .text()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
        }
        fold_names(db).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, _) in FOLDED {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new("search_text"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
