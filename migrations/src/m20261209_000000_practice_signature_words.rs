//! `matches` reads, of each level of signatures it ranks, the published practices' ids and
//! signatures and tests the need's words against their full-text vectors. On PostgreSQL the
//! index by signature (`ix_practice_signature_published`) found them, but each was then read
//! from its row in the table, wide with the practice's texts (2.4 KB a row on the synthetic
//! base), nearly one page a practice: 1,297 pages for the 1,334 practices of the benchmark's
//! best level. This index holds the vector beside the signature, so that PostgreSQL reads a
//! level from the index alone, a few dozen pages. At 200,000 practices (`EXPLAIN ANALYZE`, six
//! runs each) the statement reading the benchmark need's best level took 1.7-1.8 ms instead of
//! 4.4-6.0, the one reading the levels below it 1.8-1.9 ms instead of 6.0-8.6, and `matches` at
//! 16 connections answered 153-189 requests a second instead of 127-162. The narrower index
//! stays: PostgreSQL still combines it with the full-text index for the levels read through
//! the words they must hold, where this one is nearly four times its size to scan, and SQLite,
//! which keeps its words elsewhere, walks it.
//!
//! PostgreSQL only: SQLite's full-text index is a table of its own.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000000_practice_signature_words"
    }
}

/// The published practices by signature with their full-text vectors, those short enough.
const WORDS: &str = "ix_practice_signature_words";
/// The published practices by signature whose vectors are too long to be held.
const LONG: &str = "ix_practice_signature_long";
/// A B-tree entry holds at most 2,704 bytes. A vector's stored form takes at most four bytes a
/// word more than its text (`'word':1,5`), and a text of 1,000 bytes holds at most 250 words:
/// at most about 2,000 bytes, with the signature columns. The synthetic texts' vectors are all
/// below 760 bytes of text, the report's longest practices above. (`analytics::ranking` reads
/// the condition in the same words, so that PostgreSQL matches it to these indexes.)
const SHORT: &str = "octet_length(CAST(search AS TEXT)) <= 1000";
/// What the indexes are ordered by.
const ON: &str = "practice (theme_bits, focus_bits, modality, id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for sql in create_statements() {
            crate::on_postgres(manager, &sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::on_postgres(manager, &format!("DROP INDEX {LONG}")).await?;
        crate::on_postgres(manager, &format!("DROP INDEX {WORDS}")).await
    }
}

/// The statements that create both indexes, also for a migration that makes the vectors anew.
pub(crate) fn create_statements() -> [String; 2] {
    [
        format!(
            "CREATE INDEX {WORDS} ON {ON} INCLUDE (search) \
             WHERE status = 'PUBLISHED' AND {SHORT}"
        ),
        format!("CREATE INDEX {LONG} ON {ON} WHERE status = 'PUBLISHED' AND NOT {SHORT}"),
    ]
}
