//! On SQLite, `matches` keeps in memory which practices hold each word it has looked up:
//! building a common word's list from the full-text index for every statement that needs it
//! was most of a question's time (about 100 ns a practice, 52,329 practices for "partner" at
//! 200,000). The lists are good only as long as no practice's text changes, in this process or
//! in any other on the same file: these triggers count every such change in a one-row table,
//! which each question reads (one primary-key look-up) before it trusts what it kept.
//!
//! SQLite only: PostgreSQL tests the words against each practice's own vector.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261211_000000_practice_text_version"
    }
}

/// The practice columns the full-text index reads (`m20261122_000003_full_text_search`), and
/// the id it files them under.
const INDEXED: &str = "id, title, summary, context, outcomes, issues";

const BUMP: &str = "UPDATE practice_text_version SET n = n + 1 WHERE id = 1";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = [
            "CREATE TABLE practice_text_version (id INTEGER PRIMARY KEY CHECK (id = 1), \
             n INTEGER NOT NULL)"
                .to_string(),
            // Started anywhere, so that a count dropped and made again (the migration undone
            // and redone) does not come back to a value a running service has seen.
            "INSERT INTO practice_text_version (id, n) VALUES (1, abs(random() % 1000000000000))"
                .to_string(),
            format!(
                "CREATE TRIGGER practice_text_version_insert AFTER INSERT ON practice BEGIN {BUMP}; END"
            ),
            format!(
                "CREATE TRIGGER practice_text_version_delete AFTER DELETE ON practice BEGIN {BUMP}; END"
            ),
            format!(
                "CREATE TRIGGER practice_text_version_update AFTER UPDATE OF {INDEXED} ON practice \
                 BEGIN {BUMP}; END"
            ),
        ];
        crate::on_sqlite(manager, &statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_kept_by_triggers(manager, "practice_text_version").await
    }
}
