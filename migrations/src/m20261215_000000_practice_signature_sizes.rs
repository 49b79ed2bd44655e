//! On SQLite, `matches` chooses for each level of signatures it may have to read whether to
//! walk the level's practices or look up the practices holding the need's words, by the
//! level's size. It counted each level for every question, walking the index of published
//! practices as far as the cheaper way would read: 1.2-1.6 ms of SQLite's time a question on
//! the 200,000-practice benchmark base, about a sixth of it. These triggers keep the number of
//! published practices of each signature as practices are written, so that a question adds up
//! the sizes of a level's signatures instead (kept by the service for a few seconds: a size
//! only chooses how the practices are read, never which rank).
//!
//! SQLite only: PostgreSQL's planner weighs the two ways itself.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261215_000000_practice_signature_sizes"
    }
}

/// The signature of the practice row `row` (NEW or OLD).
fn of(row: &str) -> String {
    format!(
        "theme_bits = {row}.theme_bits AND focus_bits = {row}.focus_bits AND modality = {row}.modality"
    )
}

/// Counts the practice row `row` in its signature's size, when `when` holds.
fn add(row: &str, when: &str) -> String {
    format!(
        "INSERT OR IGNORE INTO practice_signature_size (theme_bits, focus_bits, modality, published) \
         SELECT {row}.theme_bits, {row}.focus_bits, {row}.modality, 0 WHERE {when}; \
         UPDATE practice_signature_size SET published = published + 1 WHERE {when} AND {sig}",
        sig = of(row)
    )
}

/// Takes the practice row `row` out of its signature's size, when `when` holds.
fn remove(row: &str, when: &str) -> String {
    format!(
        "UPDATE practice_signature_size SET published = published - 1 WHERE {when} AND {sig}",
        sig = of(row)
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let published = |row: &str| format!("{row}.status = 'PUBLISHED'");
        let statements = [
            "CREATE TABLE practice_signature_size (theme_bits INTEGER NOT NULL, \
             focus_bits INTEGER NOT NULL, modality VARCHAR(16) NOT NULL, \
             published INTEGER NOT NULL, PRIMARY KEY (theme_bits, focus_bits, modality))"
                .to_string(),
            "INSERT INTO practice_signature_size (theme_bits, focus_bits, modality, published) \
             SELECT theme_bits, focus_bits, modality, COUNT(*) FROM practice \
             WHERE status = 'PUBLISHED' GROUP BY theme_bits, focus_bits, modality"
                .to_string(),
            format!(
                "CREATE TRIGGER practice_signature_size_insert AFTER INSERT ON practice BEGIN {}; END",
                add("NEW", &published("NEW"))
            ),
            format!(
                "CREATE TRIGGER practice_signature_size_delete AFTER DELETE ON practice BEGIN {}; END",
                remove("OLD", &published("OLD"))
            ),
            // A practice's signature is written after its tags (`signature::refresh`), and its
            // status by publication or withdrawal: either moves it from one size to another.
            format!(
                "CREATE TRIGGER practice_signature_size_update \
                 AFTER UPDATE OF status, theme_bits, focus_bits, modality ON practice BEGIN {}; {}; END",
                remove("OLD", &published("OLD")),
                add("NEW", &published("NEW"))
            ),
        ];
        crate::on_sqlite(manager, &statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::drop_kept_by_triggers(manager, "practice_signature_size").await
    }
}
