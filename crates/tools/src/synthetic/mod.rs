//! Deterministic synthetic data at scale, for benchmarks: cities in every country, associations,
//! donors with agendas, support schemes, practices with their tags, cities and schemes, funding
//! and needs, shaped like the report's cases but many times over.
//!
//! Generation is pure and separate from insertion: a seeded ChaCha stream per table and a fixed
//! timestamp, so a seed always gives the same records. Insertion ([`persistence::bulk`]) numbers
//! the new rows after the largest ids already present; run it while nobody else writes to the
//! database.

mod generator;
mod practices;
mod random;
mod reference;
mod rows;
mod specs;
mod vocabulary;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use domain::{Error, Result};
use persistence::bulk::{self, Loader, TagTable};
use persistence::db::Database;

use generator::generate;
use reference::Reference;
use rows::{Rows, source_of, tag_rows};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticOptions {
    pub practices: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyntheticReport {
    pub cities: usize,
    pub donors: usize,
    pub schemes: usize,
    pub practices: usize,
    pub funding: usize,
    pub needs: usize,
}

/// 2025-01-01T00:00:00Z: every synthetic record is "created" then, so two runs compare equal.
const CREATED_AT: i64 = 1_735_689_600;
/// The last year a practice may start or a payment be made in.
const LAST_YEAR: i32 = 2024;

fn created_at() -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(CREATED_AT, 0)
        .ok_or_else(|| Error::internal("synthetic timestamp out of range"))
}

/// Loads `options.practices` practices and everything around them into a migrated database that
/// holds the reference data. Only adds rows.
///
/// `progress(stage, done, total)` is called at the start and after every statement of each
/// stage (a stage is a table, or `generate`).
pub async fn seed_synthetic(
    db: &Database,
    options: &SyntheticOptions,
    progress: &(dyn Fn(&str, usize, usize) + Sync),
) -> Result<SyntheticReport> {
    let reference = Reference::load(db).await?;
    let first = bulk::next_ids(db).await?;
    progress("generate", 0, 1);
    let data = generate(&reference, options, &first)?;
    progress("generate", 1, 1);

    let rows = Rows {
        reference: &reference,
        source: source_of(options.seed),
    };
    let r = &rows;
    let load = Loader::new(db, created_at()?, progress);
    let (cities, donors, schemes) = (&data.cities, &data.donors, &data.schemes);
    let (practices, needs) = (&data.practices, &data.needs);
    load.insert(cities.len(), cities.iter().map(|c| r.city(c)))
        .await?;
    let associations = &data.associations;
    load.insert(
        associations.len(),
        associations.iter().map(|a| r.association(a)),
    )
    .await?;
    load.insert(donors.len(), donors.iter().map(|d| r.donor(d)))
        .await?;
    let agenda = donors
        .iter()
        .flat_map(|d| tag_rows(d.id, d.agenda(&reference)));
    let agenda_len = donors.iter().map(|d| d.agenda_len()).sum();
    load.tags(TagTable::DonorAgenda, agenda_len, agenda).await?;
    load.insert(schemes.len(), schemes.iter().map(|s| r.scheme(s)))
        .await?;
    let scheme_tags = schemes.iter().flat_map(|s| tag_rows(s.id, s.tags()));
    let scheme_tags_len = schemes.iter().map(|s| s.tags().len()).sum();
    load.tags(TagTable::SchemeTag, scheme_tags_len, scheme_tags)
        .await?;
    let operators_len = schemes.iter().map(|s| s.operators.len()).sum();
    load.insert(
        operators_len,
        schemes.iter().flat_map(|s| s.operator_rows()),
    )
    .await?;
    load.insert(practices.len(), practices.iter().map(|p| r.practice(p)))
        .await?;
    let practice_tags = practices.iter().flat_map(|p| tag_rows(p.id, p.tags()));
    let practice_tags_len = practices.iter().map(|p| p.tags().len()).sum();
    load.tags(TagTable::PracticeTag, practice_tags_len, practice_tags)
        .await?;
    let practice_cities_len = practices.iter().map(|p| p.cities.len()).sum();
    load.insert(
        practice_cities_len,
        practices.iter().flat_map(|p| p.city_rows()),
    )
    .await?;
    let practice_schemes = practices.iter().filter_map(|p| p.scheme_row());
    let practice_schemes_len = practices.iter().filter(|p| p.scheme.is_some()).count();
    load.insert(practice_schemes_len, practice_schemes).await?;
    let funding = &data.funding;
    load.insert(funding.len(), funding.iter().map(|f| r.funding(f)))
        .await?;
    load.insert(needs.len(), needs.iter().map(|n| r.need(n)))
        .await?;
    let need_tags = needs.iter().flat_map(|n| tag_rows(n.id, n.tags()));
    let need_tags_len = needs.iter().map(|n| n.tags().len()).sum();
    load.tags(TagTable::NeedTag, need_tags_len, need_tags)
        .await?;
    load.finish().await?;

    Ok(SyntheticReport {
        cities: data.cities.len(),
        donors: data.donors.len(),
        schemes: data.schemes.len(),
        practices: data.practices.len(),
        funding: data.funding.len(),
        needs: data.needs.len(),
    })
}
