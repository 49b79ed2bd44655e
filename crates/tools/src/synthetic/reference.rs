//! The reference data generation reads: countries and USD rates, and which currencies the
//! records of each era are in.

use std::str::FromStr;

use domain::{Error, Result, values};
use persistence::bulk;
pub(crate) use persistence::bulk::CountryRow as Country;
use persistence::db::Database;
use rust_decimal::Decimal;

use super::specs::Money;

pub(crate) struct Rate {
    pub(crate) currency: String,
    pub(crate) usd_per_unit: Decimal,
    /// What a funding record cites for its rate, as the seed loader writes it.
    pub(crate) citation: String,
}

/// Weighted currency indexes (into `Reference::rates`) for the eras of the records.
pub(crate) struct CurrencyMix {
    /// Before the euro notes: legacy currencies in use.
    pub(crate) before_1999: Vec<(usize, u32)>,
    /// Euro as book money, legacy notes still in circulation.
    pub(crate) before_2002: Vec<(usize, u32)>,
    pub(crate) from_2002: Vec<(usize, u32)>,
    /// Amounts a city asks for.
    pub(crate) required: Vec<(usize, u32)>,
    pub(crate) budgets: Vec<(usize, u32)>,
}

impl CurrencyMix {
    pub(crate) fn new(rates: &[Rate]) -> Result<Self> {
        let index = |code: &str| rates.iter().position(|r| r.currency == code);
        if index("USD").is_none() {
            return Err(Error::internal(
                "the currency_rate table has no USD rate: load the reference data first",
            ));
        }
        // Every mix names USD, so none is empty whatever else the table lacks.
        let mix = |table: &[(&str, u32)]| -> Vec<(usize, u32)> {
            table
                .iter()
                .filter_map(|(code, weight)| index(code).map(|i| (i, *weight)))
                .collect()
        };
        Ok(CurrencyMix {
            before_1999: mix(&[
                ("USD", 40),
                ("GBP", 14),
                ("JPY", 8),
                ("NLG", 13),
                ("FRF", 12),
                ("DEM", 13),
            ]),
            before_2002: mix(&[
                ("USD", 40),
                ("EUR", 10),
                ("GBP", 14),
                ("JPY", 7),
                ("NLG", 10),
                ("FRF", 9),
                ("DEM", 10),
            ]),
            from_2002: mix(&[("USD", 50), ("EUR", 35), ("GBP", 10), ("JPY", 5)]),
            required: mix(&[("USD", 65), ("EUR", 35)]),
            budgets: mix(&[("USD", 50), ("EUR", 30), ("GBP", 10), ("JPY", 10)]),
        })
    }

    pub(crate) fn for_year(&self, year: i32) -> &[(usize, u32)] {
        if year < 1999 {
            &self.before_1999
        } else if year < 2002 {
            &self.before_2002
        } else {
            &self.from_2002
        }
    }
}

/// Countries and USD rates as the database has them, in a fixed order so that generation does
/// not depend on the order rows come back in.
pub(crate) struct Reference {
    pub(crate) countries: Vec<Country>,
    pub(crate) rates: Vec<Rate>,
    pub(crate) mix: CurrencyMix,
}

impl Reference {
    pub(crate) fn new(mut countries: Vec<Country>, mut rates: Vec<Rate>) -> Result<Self> {
        if countries.is_empty() {
            return Err(Error::internal(
                "the country table is empty: load the reference data first",
            ));
        }
        countries.sort_by(|a, b| a.code.cmp(&b.code));
        rates.sort_by(|a, b| a.currency.cmp(&b.currency));
        let mix = CurrencyMix::new(&rates)?;
        Ok(Reference {
            countries,
            rates,
            mix,
        })
    }

    pub(crate) async fn load(db: &Database) -> Result<Self> {
        let (countries, rates) = bulk::reference_data(db).await?;
        let rates = rates
            .into_iter()
            .map(|r| {
                Ok(Rate {
                    usd_per_unit: Decimal::from_str(&r.usd_per_unit).map_err(|e| {
                        Error::internal(format!("stored rate {:?}: {e}", r.usd_per_unit))
                    })?,
                    citation: format!("{}, {}", r.source, r.as_of),
                    currency: r.currency,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Reference::new(countries, rates)
    }

    /// `usd` expressed in `currency` (to three significant figures, as amounts are quoted) and
    /// its USD cents, computed the way every other record's are.
    pub(crate) fn convert(&self, usd: Decimal, currency: usize) -> Result<(Decimal, i64)> {
        let rate = self.rates[currency].usd_per_unit;
        let amount = if rate == Decimal::ONE {
            usd
        } else {
            usd.checked_div(rate)
                .and_then(|a| a.round_sf(3))
                .ok_or_else(|| Error::internal(format!("cannot convert {usd} USD")))?
        }
        .normalize();
        Ok((amount, values::to_usd_cents(amount, rate)?))
    }

    pub(crate) fn money(&self, usd: Decimal, currency: usize) -> Result<Money> {
        let (amount, usd_cents) = self.convert(usd, currency)?;
        Ok(Money {
            currency,
            amount,
            usd_cents,
        })
    }
}
