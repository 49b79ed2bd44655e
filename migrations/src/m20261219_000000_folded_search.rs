//! The full-text search of practices, needs and schemes ignored accents on SQLite (FTS5's
//! `remove_diacritics`) but not on PostgreSQL, whose vectors were made with the `simple`
//! configuration: there "Potosi" found nothing where "Potosí" found the practice. The vectors
//! are now made with [`SEARCH_CONFIGURATION`], `simple` with PostgreSQL's `unaccent` dictionary
//! before it, and searches read them with it. `unaccent` is an extension shipped with
//! PostgreSQL (its contrib modules); it is trusted, so the owner of the database may create it.
//!
//! A generated column's expression cannot be changed in PostgreSQL 15: each vector column is
//! made anew, with the indexes that hold it (`ix_{table}_search`, and on practices those of
//! `practice_signature_words`), and the tables analysed again, since `matches` reads the
//! commonest words from the column's statistics. On the 200,000-practice base this took 14 s
//! (a debug build, the machine busy with other work). SQLite is unchanged.

use sea_orm_migration::prelude::*;

use crate::m20261122_000003_full_text_search::{SEARCHED, postgres_statements};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261219_000000_folded_search"
    }
}

/// The text search configuration of every vector and every search of them on PostgreSQL.
pub const SEARCH_CONFIGURATION: &str = "c2c_folded";

/// Every column of practices, needs and schemes made anew with `config`.
async fn make_vectors(manager: &SchemaManager<'_>, config: &str) -> Result<(), DbErr> {
    for (table, columns) in SEARCHED {
        crate::on_postgres(manager, &format!("ALTER TABLE {table} DROP COLUMN search")).await?;
        for sql in postgres_statements(table, columns, config) {
            crate::on_postgres(manager, &sql).await?;
        }
    }
    for sql in crate::m20261209_000000_practice_signature_words::create_statements() {
        crate::on_postgres(manager, &sql).await?;
    }
    let tables = SEARCHED.map(|(table, _)| table).join(", ");
    crate::on_postgres(manager, &format!("ANALYZE {tables}")).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for sql in [
            "CREATE EXTENSION IF NOT EXISTS unaccent".to_string(),
            format!("CREATE TEXT SEARCH CONFIGURATION {SEARCH_CONFIGURATION} (COPY = simple)"),
            // The token types that can hold letters outside ASCII; ASCII words need no folding.
            format!(
                "ALTER TEXT SEARCH CONFIGURATION {SEARCH_CONFIGURATION} ALTER MAPPING FOR \
                 word, numword, hword, numhword, hword_part, hword_numpart WITH unaccent, simple"
            ),
        ] {
            crate::on_postgres(manager, &sql).await?;
        }
        make_vectors(manager, SEARCH_CONFIGURATION).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        make_vectors(manager, "simple").await?;
        // The extension stays: something else of the database's may have come to use it.
        crate::on_postgres(
            manager,
            &format!("DROP TEXT SEARCH CONFIGURATION {SEARCH_CONFIGURATION}"),
        )
        .await
    }
}
