//! `matches` ranks practices by the themes and management focuses they share with a need, their
//! modality and the need's words in their text, and scored every practice sharing a theme to
//! keep the best (69,521 of 200,000 for a need with two themes, 0.66 s). What a practice shares
//! with a need, but for the words, depends only on its themes, focuses and modality: its
//! signature. Each practice now keeps its themes and focuses as bits, the signatures that occur
//! are kept in a table of their own (a few thousand at most: nine themes, four focuses, three
//! modalities), and published practices are indexed by signature, so that a question reads the
//! practices of the best signatures first and stops once no other can rank.
//!
//! The bits are the position of a value in the framework's list as it stood here; the code
//! that keeps them (`persistence::signature`) checks that its list still starts the same.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000000_practice_signature"
    }
}

pub(crate) const THEMES: [&str; 9] = [
    "MUNICIPAL_FINANCE",
    "ENVIRONMENT",
    "INFRASTRUCTURE_SERVICES",
    "HEALTH",
    "HOUSING",
    "ECONOMIC_DEVELOPMENT",
    "SECURITY_DISASTER",
    "SOCIAL_CULTURAL",
    "OTHER",
];

pub(crate) const FOCUSES: [&str; 4] = [
    "TECHNICAL_EXPERTISE",
    "STRATEGY_FORMULATION",
    "STRATEGY_IMPLEMENTATION",
    "INSTITUTIONAL_REFORM",
];

const INDEX: &str = "ix_practice_signature_published";

/// The bits of a practice's tags of one dimension, as a correlated subquery.
fn bits(dimension: &str, values: &[&str]) -> String {
    let cases: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!(" WHEN '{v}' THEN {}", 1_i64 << i))
        .collect();
    format!(
        "COALESCE((SELECT SUM(CASE t.value{cases} ELSE 0 END) FROM practice_tag t \
         WHERE t.practice_id = practice.id AND t.dimension = '{dimension}'), 0)"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // One column per statement: SQLite alters a table one change at a time.
        for column in ["theme_bits", "focus_bits"] {
            db.execute_unprepared(&format!(
                "ALTER TABLE practice ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"
            ))
            .await?;
        }
        db.execute_unprepared(
            "CREATE TABLE practice_signature (theme_bits INTEGER NOT NULL, \
             focus_bits INTEGER NOT NULL, modality VARCHAR(16) NOT NULL, \
             PRIMARY KEY (theme_bits, focus_bits, modality))",
        )
        .await?;
        db.execute_unprepared(&format!(
            "UPDATE practice SET theme_bits = {}, focus_bits = {}",
            bits("THEME", &THEMES),
            bits("MANAGEMENT_FOCUS", &FOCUSES)
        ))
        .await?;
        // SQLite needs the WHERE to tell the upsert clause from a join's ON.
        db.execute_unprepared(
            "INSERT INTO practice_signature (theme_bits, focus_bits, modality) \
             SELECT DISTINCT theme_bits, focus_bits, modality FROM practice WHERE TRUE \
             ON CONFLICT DO NOTHING",
        )
        .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX {INDEX} ON practice (theme_bits, focus_bits, modality, id) \
             WHERE status = 'PUBLISHED'"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DROP INDEX {INDEX}"))
            .await?;
        db.execute_unprepared("DROP TABLE practice_signature")
            .await?;
        for column in ["theme_bits", "focus_bits"] {
            db.execute_unprepared(&format!("ALTER TABLE practice DROP COLUMN {column}"))
                .await?;
        }
        Ok(())
    }
}
