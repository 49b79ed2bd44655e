//! Reference data and the seeded information base, both compiled into the binary.
//!
//! The information base is loaded in one transaction: either all of it lands or none. Its
//! records are checked by the domain's own rules (`build`) and written by the repositories'
//! row-building code (`load`).

mod build;
mod format;
mod load;

use chrono::Utc;
use domain::entities::CurrencyRate;
use domain::framework::Bloc;
use domain::values::{self, CountryCode, CurrencyCode};
use domain::{Error, Result};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    TransactionTrait,
};

pub use format::*;

use crate::entities::*;
use crate::store::db_err;

pub const COUNTRIES_CSV: &str = include_str!("../../../../data/countries.csv");
pub const USD_RATES_CSV: &str = include_str!("../../../../data/usd_rates.csv");
pub const INFORMATION_BASE_JSON: &str = include_str!("../../../../data/information_base.json");

/// Each record of a compiled-in CSV file (header skipped) as `row` makes it; a record that does
/// not parse is a broken build, hence INTERNAL.
fn csv_rows<R>(
    file: &str,
    text: &str,
    row: impl Fn(&dyn Fn(usize) -> String) -> Result<R>,
) -> Result<Vec<R>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|record| {
            let r = record.map_err(|e| Error::internal(format!("{file}: {e}")))?;
            let field = |i: usize| r.get(i).unwrap_or_default().to_string();
            row(&field).map_err(|e| Error::internal(format!("{file}: {e}")))
        })
        .collect()
}

/// Loads countries and USD rates where their tables are empty. Cheap and idempotent: run on
/// every start.
pub async fn ensure_reference_data<C: ConnectionTrait>(db: &C) -> Result<()> {
    if country::Entity::find().count(db).await.map_err(db_err)? == 0 {
        let rows = csv_rows("countries.csv", COUNTRIES_CSV, |field| {
            Ok(country::ActiveModel {
                code: Set(CountryCode::parse(&field(0))?.as_str().to_string()),
                alpha3: Set(field(1)),
                name: Set(field(2)),
                bloc: Set(Bloc::parse(&field(3), "bloc")?.as_str().to_string()),
                ldc: Set(field(4) == "true"),
            })
        })?;
        country::Entity::insert_many(rows)
            .exec(db)
            .await
            .map_err(db_err)?;
    }
    if currency_rate::Entity::find()
        .count(db)
        .await
        .map_err(db_err)?
        == 0
    {
        let rows = csv_rows("usd_rates.csv", USD_RATES_CSV, |field| {
            Ok(crate::reference::rate_row(&CurrencyRate {
                currency: CurrencyCode::parse(&field(0))?.as_str().to_string(),
                usd_per_unit: values::rate("usd_per_unit", &field(1))?,
                as_of: field(2),
                source: field(3),
            }))
        })?;
        currency_rate::Entity::insert_many(rows)
            .exec(db)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Whether the information base holds anything yet.
pub async fn is_empty(db: &DatabaseConnection) -> Result<bool> {
    let practices = practice::Entity::find().count(db).await.map_err(db_err)?;
    let cities = city::Entity::find().count(db).await.map_err(db_err)?;
    Ok(practices == 0 && cities == 0)
}

/// How many records of each kind a seed loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub cities: usize,
    pub associations: usize,
    pub donors: usize,
    pub schemes: usize,
    pub practices: usize,
    pub funding: usize,
    pub needs: usize,
}

/// Parses the compiled-in information base.
pub fn parse_information_base(json: &str) -> Result<InformationBase> {
    serde_json::from_str(json)
        .map_err(|e| Error::validation("information_base.json", e.to_string()))
}

/// Loads the information base into an empty database, in one transaction.
pub async fn seed_information_base(
    db: &DatabaseConnection,
    base: &InformationBase,
) -> Result<SeedReport> {
    let txn = db.begin().await.map_err(db_err)?;
    let mut loader = load::Loader {
        txn: &txn,
        reference: build::Reference::load(&txn).await?,
        now: Utc::now(),
        keys: build::Keys::default(),
        report: SeedReport::default(),
    };
    loader.cities(&base.cities).await?;
    loader.associations(&base.associations).await?;
    loader.donors(&base.donors).await?;
    loader.schemes(&base.support_schemes).await?;
    loader.practices(&base.practices).await?;
    loader.needs(&base.needs).await?;
    let report = loader.report;
    // Written around the maintained path: the funding-gap rollups are rebuilt when next asked.
    crate::rollup::invalidate(&txn).await?;
    txn.commit().await.map_err(db_err)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_information_base_parses() {
        let base =
            parse_information_base(INFORMATION_BASE_JSON).expect("information_base.json parses");
        assert!(
            base.practices.len() >= 30,
            "the report's boxes and the CityLinks partnerships"
        );
        assert!(base.support_schemes.len() >= 10);
    }

    #[test]
    fn reference_csvs_parse() {
        let countries = csv::Reader::from_reader(COUNTRIES_CSV.as_bytes())
            .records()
            .count();
        assert!(countries >= 249);
        let rates: Vec<_> = csv::Reader::from_reader(USD_RATES_CSV.as_bytes())
            .records()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert!(rates.iter().any(|r| &r[0] == "NLG"));
    }
}
