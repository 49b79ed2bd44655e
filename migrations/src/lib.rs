//! The schema, one set of migrations for SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_information_base;
mod m20261122_000002_accounts_and_audit;
mod m20261122_000003_full_text_search;
mod m20261122_000004_rate_sources;
mod m20261125_000005_gap_rollups;
mod m20261130_000006_rollup_money_parts;
mod m20261130_140000_sign_in_attempts;
mod m20261130_210000_iati_activities;
mod m20261130_211000_password_resets;
mod m20261201_000100_change_log;
mod m20261201_120000_rollup_confidential;
mod m20261201_130000_rollup_results;
mod m20261201_140000_rollup_years;
mod m20261201_150000_rollup_member_counts;
mod m20261201_160000_open_needs_index;
mod m20261201_170000_rollup_year_tables;
mod m20261201_180000_rollup_year_spans;
mod m20261201_190000_practice_tag_covering;
mod m20261201_200000_confidential_every_donor;
mod m20261202_000000_practice_signature;
mod m20261203_000000_practice_scheme_links;
mod m20261204_000000_rollup_span_counts;
mod m20261204_010000_open_needs_searchable;
mod m20261205_000000_nested_page_indexes;
mod m20261206_000000_rollup_year_edges;
mod m20261207_000000_rollup_year_decades;
mod m20261208_000000_practice_published_cells;
mod m20261209_000000_practice_signature_words;
mod m20261210_000000_rollups_unlogged;
mod m20261211_000000_practice_text_version;
mod m20261212_000000_rollup_year_confidential_covering;
mod m20261213_000000_prepared_groupings;
mod m20261214_000000_rollup_build_times;
mod m20261215_000000_practice_signature_sizes;
mod m20261216_000000_practice_listing;
mod m20261217_000000_practice_theme_listing;
mod m20261218_000000_folded_names;
mod m20261219_000000_folded_search;
mod m20261220_000000_spelled_out_search;
mod m20261220_010000_composed_emails;

pub use m20261219_000000_folded_search::SEARCH_CONFIGURATION;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_information_base::Migration),
            Box::new(m20261122_000002_accounts_and_audit::Migration),
            Box::new(m20261122_000003_full_text_search::Migration),
            Box::new(m20261122_000004_rate_sources::Migration),
            Box::new(m20261125_000005_gap_rollups::Migration),
            Box::new(m20261130_000006_rollup_money_parts::Migration),
            Box::new(m20261130_140000_sign_in_attempts::Migration),
            Box::new(m20261130_210000_iati_activities::Migration),
            Box::new(m20261130_211000_password_resets::Migration),
            Box::new(m20261201_000100_change_log::Migration),
            Box::new(m20261201_120000_rollup_confidential::Migration),
            Box::new(m20261201_130000_rollup_results::Migration),
            Box::new(m20261201_140000_rollup_years::Migration),
            Box::new(m20261201_150000_rollup_member_counts::Migration),
            Box::new(m20261201_160000_open_needs_index::Migration),
            Box::new(m20261201_170000_rollup_year_tables::Migration),
            Box::new(m20261201_180000_rollup_year_spans::Migration),
            Box::new(m20261201_190000_practice_tag_covering::Migration),
            Box::new(m20261201_200000_confidential_every_donor::Migration),
            Box::new(m20261202_000000_practice_signature::Migration),
            Box::new(m20261203_000000_practice_scheme_links::Migration),
            Box::new(m20261204_000000_rollup_span_counts::Migration),
            Box::new(m20261204_010000_open_needs_searchable::Migration),
            Box::new(m20261205_000000_nested_page_indexes::Migration),
            Box::new(m20261206_000000_rollup_year_edges::Migration),
            Box::new(m20261207_000000_rollup_year_decades::Migration),
            Box::new(m20261208_000000_practice_published_cells::Migration),
            Box::new(m20261209_000000_practice_signature_words::Migration),
            Box::new(m20261210_000000_rollups_unlogged::Migration),
            Box::new(m20261211_000000_practice_text_version::Migration),
            Box::new(m20261212_000000_rollup_year_confidential_covering::Migration),
            Box::new(m20261213_000000_prepared_groupings::Migration),
            Box::new(m20261214_000000_rollup_build_times::Migration),
            Box::new(m20261215_000000_practice_signature_sizes::Migration),
            Box::new(m20261216_000000_practice_listing::Migration),
            Box::new(m20261217_000000_practice_theme_listing::Migration),
            Box::new(m20261218_000000_folded_names::Migration),
            Box::new(m20261219_000000_folded_search::Migration),
            Box::new(m20261220_000000_spelled_out_search::Migration),
            Box::new(m20261220_010000_composed_emails::Migration),
        ]
    }
}

/// Runs `sql` on PostgreSQL and does nothing on SQLite: for indexes only PostgreSQL's plans
/// use.
async fn on_postgres(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Runs `statements` in order on SQLite and does nothing on PostgreSQL: for what only
/// SQLite's reads keep (triggers and the tables they write).
async fn on_sqlite<S: AsRef<str>>(
    manager: &SchemaManager<'_>,
    statements: &[S],
) -> Result<(), DbErr> {
    if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Sqlite {
        for sql in statements {
            manager
                .get_connection()
                .execute_unprepared(sql.as_ref())
                .await?;
        }
    }
    Ok(())
}

/// Drops, on SQLite, `table` and the triggers `{table}_insert`, `{table}_delete` and
/// `{table}_update` on `practice` that keep it.
async fn drop_kept_by_triggers(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let statements: Vec<String> = ["insert", "delete", "update"]
        .iter()
        .map(|event| format!("DROP TRIGGER IF EXISTS {table}_{event}"))
        .chain([format!("DROP TABLE IF EXISTS {table}")])
        .collect();
    on_sqlite(manager, &statements).await
}
