//! The `totalCount` of a list filtered by theme read, on PostgreSQL, the index of every published
//! practice (see the migration `practice_listing`) and kept those whose bits hold the theme: no
//! index ordered practices by one theme. On the 200,000-practice base, HEALTH active in 2010
//! (9,227 practices) read 190,233 index entries. One partial index a theme and a management
//! focus, of the published practices that hold it, makes such a count read the practices of its
//! theme alone (35,535 for HEALTH), and a page walk them in id order. The indexes hold what the
//! list's other filters read, so that a count reads no practice's row. A filter of several
//! themes still reads the index of every published practice for its count: PostgreSQL combines
//! the indexes of its themes only as a bitmap of rows, which it would then read.
//!
//! The bits are those of the migration `practice_signature`. The filter writes a theme's
//! condition as its index does (`(theme_bits & bit) <> 0`, one such term a theme, joined by OR),
//! which PostgreSQL needs to see that the index holds every practice the term keeps.
//!
//! SQLite keeps its index led by the status (see `practice_listing`): on the same base it chose
//! that index over such partial indexes, which it would use only where a statement repeats
//! their condition word for word, and not for the terms of an OR.

use sea_orm_migration::prelude::*;

// The bits the practices' rows keep, in that migration's order.
use crate::m20261202_000000_practice_signature::{FOCUSES, THEMES};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261217_000000_practice_theme_listing"
    }
}

/// `(index name, bits column, bit)` of every theme and management focus.
fn indexes() -> Vec<(String, &'static str, i64)> {
    let of = |prefix: &str, column: &'static str, values: &[&str]| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    format!("ix_practice_published_{prefix}_{}", v.to_lowercase()),
                    column,
                    1_i64 << i,
                )
            })
            .collect::<Vec<_>>()
    };
    let mut all = of("theme", "theme_bits", &THEMES);
    all.extend(of("focus", "focus_bits", &FOCUSES));
    all
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column, bit) in indexes() {
            crate::on_postgres(
                manager,
                &format!(
                    "CREATE INDEX {name} ON practice (id) \
                     INCLUDE (orientation, modality, start_year, end_year, theme_bits, focus_bits) \
                     WHERE status = 'PUBLISHED' AND ({column} & {bit}) <> 0"
                ),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _, _) in indexes() {
            crate::on_postgres(manager, &format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
