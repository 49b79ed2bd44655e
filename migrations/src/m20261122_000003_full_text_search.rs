//! Full-text search over practices, needs and support schemes: an external-content FTS5 table
//! kept in step by triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000003_full_text_search"
    }
}

/// The searchable tables and their text columns.
pub(crate) const SEARCHED: [(&str, &[&str]); 3] = [
    (
        "practice",
        &["title", "summary", "context", "outcomes", "issues"],
    ),
    ("need", &["title", "description"]),
    ("support_scheme", &["name", "description"]),
];

pub(crate) fn sqlite_statements(table: &str, columns: &[&str]) -> Vec<String> {
    let cols = columns.join(", ");
    let new_values = columns
        .iter()
        .map(|c| format!("new.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let old_values = columns
        .iter()
        .map(|c| format!("old.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        // Diacritics folded, so that "Poznan" finds "Poznań".
        format!(
            "CREATE VIRTUAL TABLE {table}_fts USING fts5({cols}, content='{table}', content_rowid='id', \
             tokenize='unicode61 remove_diacritics 2')"
        ),
        format!("INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild')"),
        format!(
            "CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN INSERT INTO {table}_fts(rowid, {cols}) VALUES (new.id, {new_values}); END"
        ),
        format!(
            "CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN \
             INSERT INTO {table}_fts({table}_fts, rowid, {cols}) VALUES ('delete', old.id, {old_values}); END"
        ),
        format!(
            "CREATE TRIGGER {table}_fts_update AFTER UPDATE ON {table} BEGIN \
             INSERT INTO {table}_fts({table}_fts, rowid, {cols}) VALUES ('delete', old.id, {old_values}); \
             INSERT INTO {table}_fts(rowid, {cols}) VALUES (new.id, {new_values}); END"
        ),
    ]
}

/// The vector column of `table` made with the text search configuration `config`, and its
/// index (`folded_search` makes them anew with another configuration).
pub(crate) fn postgres_statements(table: &str, columns: &[&str], config: &str) -> Vec<String> {
    let document = columns
        .iter()
        .map(|c| format!("coalesce({c}, '')"))
        .collect::<Vec<_>>()
        .join(" || ' ' || ");
    vec![
        format!(
            "ALTER TABLE {table} ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('{config}', {document})) STORED"
        ),
        format!("CREATE INDEX ix_{table}_search ON {table} USING GIN (search)"),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, columns) in SEARCHED {
            let statements = match manager.get_database_backend() {
                DbBackend::Sqlite => sqlite_statements(table, columns),
                DbBackend::Postgres => postgres_statements(table, columns, "simple"),
                other => {
                    return Err(DbErr::Migration(format!(
                        "full-text search is not set up for {other:?}"
                    )));
                }
            };
            for sql in statements {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, _) in SEARCHED {
            let statements = match manager.get_database_backend() {
                DbBackend::Sqlite => vec![
                    format!("DROP TRIGGER IF EXISTS {table}_fts_insert"),
                    format!("DROP TRIGGER IF EXISTS {table}_fts_delete"),
                    format!("DROP TRIGGER IF EXISTS {table}_fts_update"),
                    format!("DROP TABLE IF EXISTS {table}_fts"),
                ],
                _ => vec![
                    format!("DROP INDEX IF EXISTS ix_{table}_search"),
                    format!("ALTER TABLE {table} DROP COLUMN IF EXISTS search"),
                ],
            };
            for sql in statements {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }
}
