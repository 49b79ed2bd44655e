//! Deterministic synthetic data at scale, for benchmarks: cities in every country, associations,
//! donors with agendas, support schemes, practices with their tags, cities and schemes, funding
//! and needs, shaped like the report's cases but many times over.
//!
//! Generation is pure and separate from insertion: a seeded ChaCha stream per table and a fixed
//! timestamp, so a seed always gives the same records (and changing how one table is generated
//! does not reshuffle the others). Insertion numbers the new rows after the largest ids already
//! present, which lets tag and link rows go in without reading anything back; run it while nobody
//! else writes to the database, since a concurrent insert could take one of those ids.

use std::collections::HashSet;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use domain::framework::*;
use domain::{Error, Result, orientation, values};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, Iterable, QueryOrder, Statement,
};

use crate::db::write_transaction;
use crate::entities::{
    city, country, currency_rate, donor, donor_agenda, funding, need, need_tag, practice,
    practice_city, practice_scheme, practice_tag, scheme_operator, scheme_tag, support_scheme,
};

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

/// Bound parameters per statement: well under SQLite's 32,766 and PostgreSQL's 65,535.
const PARAMETER_BUDGET: usize = 30_000;
const _: () = assert!(PARAMETER_BUDGET < 32_766);
/// Below this, statements get too small to be worth a progress report.
const MIN_ROWS_PER_CHUNK: usize = 500;
/// Statements per transaction: few commits (each one an fsync on SQLite) without one giant
/// transaction holding the write lock for the whole load.
const CHUNKS_PER_TRANSACTION: usize = 20;
/// 2025-01-01T00:00:00Z: every synthetic record is "created" then, so two runs compare equal.
const CREATED_AT: i64 = 1_735_689_600;
/// The last year a practice may start or a payment be made in.
const LAST_YEAR: i32 = 2024;
/// Tables with an auto-increment id that this module numbers itself.
const SERIAL_TABLES: [&str; 8] = [
    "city",
    "association",
    "donor",
    "support_scheme",
    "scheme_operator",
    "practice",
    "funding",
    "need",
];

/// Loads `options.practices` practices and everything around them into a migrated database that
/// holds the reference data. Only adds rows.
///
/// `progress(stage, done, total)` is called at the start and after every statement of each
/// stage (a stage is a table, or `generate`).
pub async fn seed_synthetic(
    db: &DatabaseConnection,
    options: &SyntheticOptions,
    progress: &(dyn Fn(&str, usize, usize) + Sync),
) -> Result<SyntheticReport> {
    let reference = Reference::load(db).await?;
    let first = FirstIds::load(db).await?;
    progress("generate", 0, 1);
    let data = generate(&reference, options, &first)?;
    progress("generate", 1, 1);

    let rows = Rows {
        reference: &reference,
        at: DateTime::from_timestamp(CREATED_AT, 0)
            .ok_or_else(|| Error::internal("synthetic timestamp out of range"))?,
        source: source_of(options.seed),
    };
    let load = Loader {
        db,
        progress,
        rows: &rows,
    };
    // Plain `fn`s rather than closures: a closure over borrowed records held across an await
    // makes the future lose `Send` (a rustc limitation), and callers may spawn this.
    load.stage("city", &data.cities, one, |c, r, out| {
        out.push(c.model(r).into_active_model())
    })
    .await?;
    load.stage("association", &data.associations, one, |a, r, out| {
        out.push(a.model(r).into_active_model())
    })
    .await?;
    load.stage("donor", &data.donors, one, |d, r, out| {
        out.push(d.model(r).into_active_model())
    })
    .await?;
    load.stage(
        "donor_agenda",
        &data.donors,
        |d| d.agenda_len(),
        |d, r, out| {
            out.extend(d.agenda(r.reference).into_iter().map(|(dimension, value)| {
                donor_agenda::Model {
                    donor_id: d.id,
                    dimension: dimension.as_str().into(),
                    value,
                }
                .into_active_model()
            }))
        },
    )
    .await?;
    load.stage("support_scheme", &data.schemes, one, |s, r, out| {
        out.push(s.model(r).into_active_model())
    })
    .await?;
    load.stage(
        "scheme_tag",
        &data.schemes,
        |s| s.tags().len(),
        |s, _, out| {
            out.extend(s.tags().into_iter().map(|(dimension, value)| {
                scheme_tag::Model {
                    scheme_id: s.id,
                    dimension: dimension.as_str().into(),
                    value: value.into(),
                }
                .into_active_model()
            }))
        },
    )
    .await?;
    load.stage(
        "scheme_operator",
        &data.schemes,
        |s| s.operators.len(),
        |s, _, out| {
            out.extend(s.operators.iter().map(|o| {
                scheme_operator::Model {
                    id: o.id,
                    scheme_id: s.id,
                    association_id: o.association_id,
                    donor_id: o.donor_id,
                }
                .into_active_model()
            }))
        },
    )
    .await?;
    load.stage("practice", &data.practices, one, |p, r, out| {
        out.push(p.model(r).into_active_model())
    })
    .await?;
    load.stage(
        "practice_tag",
        &data.practices,
        |p| p.tags().len(),
        |p, _, out| {
            out.extend(p.tags().into_iter().map(|(dimension, value)| {
                practice_tag::Model {
                    practice_id: p.id,
                    dimension: dimension.as_str().into(),
                    value: value.into(),
                }
                .into_active_model()
            }))
        },
    )
    .await?;
    load.stage(
        "practice_city",
        &data.practices,
        |p| p.cities.len(),
        |p, _, out| {
            out.extend(p.cities.iter().enumerate().map(|(i, city_id)| {
                let role = if i == 0 {
                    CityRole::Lead
                } else {
                    CityRole::Partner
                };
                practice_city::Model {
                    practice_id: p.id,
                    city_id: *city_id,
                    role: role.as_str().into(),
                }
                .into_active_model()
            }))
        },
    )
    .await?;
    load.stage(
        "practice_scheme",
        &data.practices,
        |p| usize::from(p.scheme.is_some()),
        |p, _, out| {
            out.extend(p.scheme.map(|scheme_id| {
                practice_scheme::Model {
                    practice_id: p.id,
                    scheme_id,
                }
                .into_active_model()
            }))
        },
    )
    .await?;
    load.stage("funding", &data.funding, one, |f, r, out| {
        out.push(f.model(r).into_active_model())
    })
    .await?;
    load.stage("need", &data.needs, one, |n, r, out| {
        out.push(n.model(r).into_active_model())
    })
    .await?;
    load.stage(
        "need_tag",
        &data.needs,
        |n| n.tags().len(),
        |n, _, out| {
            out.extend(n.tags().into_iter().map(|(dimension, value)| {
                need_tag::Model {
                    need_id: n.id,
                    dimension: dimension.as_str().into(),
                    value: value.into(),
                }
                .into_active_model()
            }))
        },
    )
    .await?;
    reset_sequences(db).await?;
    // Loaded around the maintained path: the funding-gap rollups are rebuilt when next asked.
    crate::rollup::invalidate(db).await?;

    Ok(SyntheticReport {
        cities: data.cities.len(),
        donors: data.donors.len(),
        schemes: data.schemes.len(),
        practices: data.practices.len(),
        funding: data.funding.len(),
        needs: data.needs.len(),
    })
}

fn failed(stage: &str) -> impl Fn(DbErr) -> Error + '_ {
    move |e| Error::internal(format!("synthetic data, {stage}: {e}"))
}

/// Rows per `INSERT` for a stage of `total` rows of `columns` columns: as many as the parameter
/// budget allows, but at most a fiftieth of the stage so that progress is reported at least
/// every 2% (stages too small for that to matter go in whole).
fn rows_per_chunk(columns: usize, total: usize) -> usize {
    let most = (PARAMETER_BUDGET / columns.max(1)).max(1);
    most.min(total.div_ceil(50).max(MIN_ROWS_PER_CHUNK))
}

/// Rows per record for tables with one row per record.
fn one<S>(_: &S) -> usize {
    1
}

struct Loader<'a> {
    db: &'a DatabaseConnection,
    progress: &'a (dyn Fn(&str, usize, usize) + Sync),
    rows: &'a Rows<'a>,
}

impl Loader<'_> {
    /// Inserts the rows of `records` (`count` of them per record, `rows` appends them) in
    /// multi-row statements, several statements per transaction.
    async fn stage<S, A>(
        &self,
        stage: &str,
        records: &[S],
        count: fn(&S) -> usize,
        rows: fn(&S, &Rows, &mut Vec<A>),
    ) -> Result<usize>
    where
        S: Sync,
        A: ActiveModelTrait + Send,
    {
        let total: usize = records.iter().map(count).sum();
        let columns = <A::Entity as EntityTrait>::Column::iter().count();
        let per_chunk = rows_per_chunk(columns, total);
        let mut pending: Vec<A> = Vec::with_capacity(per_chunk);
        let mut next = 0;
        let mut done = 0;
        (self.progress)(stage, 0, total);
        while !(pending.is_empty() && next == records.len()) {
            let txn = write_transaction(self.db).await?;
            for _ in 0..CHUNKS_PER_TRANSACTION {
                while pending.len() < per_chunk && next < records.len() {
                    rows(&records[next], self.rows, &mut pending);
                    next += 1;
                }
                if pending.is_empty() {
                    break;
                }
                let rest = pending.split_off(per_chunk.min(pending.len()));
                let chunk = std::mem::replace(&mut pending, rest);
                done += chunk.len();
                <A::Entity as EntityTrait>::insert_many(chunk)
                    .exec_without_returning(&txn)
                    .await
                    .map_err(failed(stage))?;
                (self.progress)(stage, done, total);
            }
            txn.commit().await.map_err(failed(stage))?;
        }
        Ok(done)
    }
}

/// PostgreSQL's sequences do not see explicit ids: without this the next ordinary insert would
/// be handed an id that is already taken. SQLite takes the largest rowid by itself.
async fn reset_sequences(db: &DatabaseConnection) -> Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for table in SERIAL_TABLES {
        // setval is strict: on an empty table MAX is NULL and nothing changes.
        db.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        ))
        .await
        .map_err(failed("sequences"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reference data and ids

struct Country {
    code: String,
    name: String,
    bloc: Bloc,
}

struct Rate {
    currency: String,
    usd_per_unit: Decimal,
    /// As stored in the rate table; funding freezes this text.
    text: String,
    /// What a funding record cites for its rate, as the seed loader writes it.
    citation: String,
}

/// Weighted currency indexes (into `Reference::rates`) for the eras of the records.
struct CurrencyMix {
    /// Before the euro notes: legacy currencies in use.
    before_1999: Vec<(usize, u32)>,
    /// Euro as book money, legacy notes still in circulation.
    before_2002: Vec<(usize, u32)>,
    from_2002: Vec<(usize, u32)>,
    /// Amounts a city asks for.
    required: Vec<(usize, u32)>,
    budgets: Vec<(usize, u32)>,
}

impl CurrencyMix {
    fn new(rates: &[Rate]) -> Result<Self> {
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

    fn for_year(&self, year: i32) -> &[(usize, u32)] {
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
struct Reference {
    countries: Vec<Country>,
    rates: Vec<Rate>,
    mix: CurrencyMix,
}

impl Reference {
    fn new(mut countries: Vec<Country>, mut rates: Vec<Rate>) -> Result<Self> {
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

    async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let countries = country::Entity::find()
            .order_by_asc(country::Column::Code)
            .all(db)
            .await
            .map_err(failed("countries"))?
            .into_iter()
            .map(|c| {
                Ok(Country {
                    bloc: Bloc::parse(&c.bloc, "bloc").map_err(Error::internal)?,
                    code: c.code,
                    name: c.name,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rates = currency_rate::Entity::find()
            .order_by_asc(currency_rate::Column::Currency)
            .all(db)
            .await
            .map_err(failed("currency rates"))?
            .into_iter()
            .map(|r| {
                Ok(Rate {
                    usd_per_unit: Decimal::from_str(&r.usd_per_unit).map_err(|e| {
                        Error::internal(format!("stored rate {:?}: {e}", r.usd_per_unit))
                    })?,
                    citation: format!("{}, {}", r.source, r.as_of),
                    text: r.usd_per_unit,
                    currency: r.currency,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Reference::new(countries, rates)
    }

    /// `usd` expressed in `currency` (to three significant figures, as amounts are quoted) and
    /// its USD cents, computed the way every other record's are.
    fn convert(&self, usd: Decimal, currency: usize) -> Result<(Decimal, i64)> {
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

    fn money(&self, usd: Decimal, currency: usize) -> Result<Money> {
        let (amount, usd_cents) = self.convert(usd, currency)?;
        Ok(Money {
            currency,
            amount,
            usd_cents,
        })
    }
}

/// The id of the first new row of each table this module numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FirstIds {
    city: i64,
    association: i64,
    donor: i64,
    scheme: i64,
    scheme_operator: i64,
    practice: i64,
    funding: i64,
    need: i64,
}

impl FirstIds {
    async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let columns = SERIAL_TABLES
            .iter()
            .map(|t| format!("(SELECT MAX(id) FROM {t}) AS {t}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT {columns}"),
            ))
            .await
            .map_err(failed("largest ids"))?
            .ok_or_else(|| Error::internal("largest ids: no row"))?;
        let next = |table: &str| -> Result<i64> {
            let max = row
                .try_get::<Option<i64>>("", table)
                .map_err(failed("largest ids"))?;
            Ok(max.unwrap_or(0) + 1)
        };
        Ok(FirstIds {
            city: next("city")?,
            association: next("association")?,
            donor: next("donor")?,
            scheme: next("support_scheme")?,
            scheme_operator: next("scheme_operator")?,
            practice: next("practice")?,
            funding: next("funding")?,
            need: next("need")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// A ChaCha8 stream: its output for a seed is fixed by the algorithm, not by a crate version.
struct Rng(ChaCha8Rng);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Rng(rng)
    }

    /// Uniform in `0..n` (0 for `n` = 0) by multiply-shift; the bias is far below what a
    /// benchmark could notice.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.0.next_u64()) * n as u128) >> 64) as usize
    }

    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high.saturating_sub(low) + 1)
    }

    fn year(&mut self, low: i32, high: i32) -> i32 {
        low + self.below((high - low).max(0) as usize + 1) as i32
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    /// One of a constant, non-empty list.
    fn one<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }

    /// A value of a non-empty table, with probability proportional to its weight.
    fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut ticket = self.below(total as usize) as u64;
        for (value, weight) in table {
            if ticket < u64::from(*weight) {
                return *value;
            }
            ticket -= u64::from(*weight);
        }
        table[table.len() - 1].0
    }

    /// `min..=max` distinct values drawn by weight, in the order drawn.
    fn several<T: Copy + PartialEq>(
        &mut self,
        table: &[(T, u32)],
        min: usize,
        max: usize,
    ) -> Vec<T> {
        let want = self.between(min, max).min(table.len());
        let mut rest = table.to_vec();
        let mut chosen = Vec::with_capacity(want);
        while chosen.len() < want {
            let value = self.weighted(&rest);
            chosen.push(value);
            rest.retain(|(v, _)| *v != value);
        }
        chosen
    }

    /// A round figure in USD, as budgets are quoted: a two-digit mantissa times a power of ten,
    /// from `10^low` to just under `10^(high + 1)`.
    fn usd(&mut self, low: u32, high: u32) -> Decimal {
        let exponent = self.between(low as usize, high as usize) as u32;
        let mantissa = 10 + self.below(90) as i64;
        Decimal::from(mantissa) * Decimal::from(10_i64.pow(exponent.saturating_sub(1)))
    }
}

/// Indexes drawn with probability proportional to weights given once (donor sizes, country
/// sizes), by binary search over the running totals.
struct Lottery {
    cumulative: Vec<u64>,
}

impl Lottery {
    fn new(weights: impl IntoIterator<Item = u64>) -> Self {
        let mut total = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Lottery { cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> Option<usize> {
        let total = *self.cumulative.last()?;
        if total == 0 {
            return None;
        }
        let ticket = rng.below(total as usize) as u64;
        Some(self.cumulative.partition_point(|&c| c <= ticket))
    }
}

/// Keeps generated names apart: "… Programme", "… Programme 2".
#[derive(Default)]
struct Names(HashSet<String>);

impl Names {
    fn unique(&mut self, name: String) -> String {
        if self.0.insert(name.clone()) {
            return name;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{name} {n}");
            if self.0.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabularies and their weights

/// Roughly the spread of themes over the report's cases.
const THEMES: &[(Theme, u32)] = &[
    (Theme::Environment, 20),
    (Theme::InfrastructureServices, 19),
    (Theme::MunicipalFinance, 13),
    (Theme::EconomicDevelopment, 12),
    (Theme::Housing, 10),
    (Theme::Health, 9),
    (Theme::SocialCultural, 8),
    (Theme::SecurityDisaster, 5),
    (Theme::Other, 4),
];

const MANAGEMENT_FOCUS: &[(ManagementFocus, u32)] = &[
    (ManagementFocus::TechnicalExpertise, 40),
    (ManagementFocus::StrategyImplementation, 25),
    (ManagementFocus::StrategyFormulation, 20),
    (ManagementFocus::InstitutionalReform, 15),
];

const COOPERATING_PARTIES: &[(CooperatingParty, u32)] = &[
    (CooperatingParty::LocalAuthorityServices, 45),
    (CooperatingParty::NgoCbo, 18),
    (CooperatingParty::Academia, 12),
    (CooperatingParty::PrivateSector, 12),
    (CooperatingParty::NationalAssociation, 9),
    (CooperatingParty::Other, 4),
];

const LINKING_MODALITIES: &[(LinkingModality, u32)] = &[
    (LinkingModality::OneOnOne, 65),
    (LinkingModality::Group, 20),
    (LinkingModality::Network, 15),
];

const ORIENTATIONS: &[(GeographicOrientation, u32)] = &[
    (GeographicOrientation::NorthSouth, 45),
    (GeographicOrientation::SouthSouth, 20),
    (GeographicOrientation::WestEast, 15),
    (GeographicOrientation::NorthNorth, 10),
    (GeographicOrientation::Global, 10),
];

const SUPPORT_MODALITIES: &[(SupportModality, u32)] = &[
    (SupportModality::KnowledgeExchange, 25),
    (SupportModality::StaffExchange, 20),
    (SupportModality::Networking, 15),
    (SupportModality::ExpertiseTools, 15),
    (SupportModality::BestPracticeMatchmaking, 10),
    (SupportModality::DemonstrationReplication, 10),
    (SupportModality::Other, 5),
];

const FACILITATING_STRUCTURES: &[(FacilitatingStructure, u32)] = &[
    (FacilitatingStructure::LocalAuthorityAssociation, 35),
    (FacilitatingStructure::AidOrganisation, 20),
    (FacilitatingStructure::NationalGovernment, 15),
    (FacilitatingStructure::CityAuthority, 10),
    (FacilitatingStructure::ProfessionalAssociation, 10),
    (FacilitatingStructure::Ngo, 7),
    (FacilitatingStructure::Other, 3),
];

const SCHEME_FUNDING_SOURCES: &[(FundingSource, u32)] = &[
    (FundingSource::DevelopmentProgramme, 35),
    (FundingSource::GrantsLoans, 25),
    (FundingSource::OwnBudget, 10),
    (FundingSource::SelfFunding, 10),
    (FundingSource::FoundationTrust, 10),
    (FundingSource::LocalPartners, 5),
    (FundingSource::Other, 5),
];

/// Where a practice's money comes from: most from a donor, a share from the cities themselves.
const PRACTICE_FUNDING_SOURCES: &[(FundingSource, u32)] = &[
    (FundingSource::GrantsLoans, 45),
    (FundingSource::DevelopmentProgramme, 25),
    (FundingSource::FoundationTrust, 10),
    (FundingSource::OwnBudget, 13),
    (FundingSource::LocalPartners, 7),
];

const SCHEME_FUNDING: &[(FundingSource, u32)] = &[
    (FundingSource::DevelopmentProgramme, 50),
    (FundingSource::GrantsLoans, 35),
    (FundingSource::FoundationTrust, 15),
];

const FUNDING_STATUS: &[(FundingStatus, u32)] = &[
    (FundingStatus::Pledged, 20),
    (FundingStatus::Committed, 30),
    (FundingStatus::Disbursed, 50),
];

const PRACTICE_STATUS: &[(PublicationStatus, u32)] = &[
    (PublicationStatus::Published, 95),
    (PublicationStatus::Draft, 3),
    (PublicationStatus::Archived, 2),
];

const SCHEME_STATUS: &[(PublicationStatus, u32)] = &[
    (PublicationStatus::Published, 90),
    (PublicationStatus::Draft, 5),
    (PublicationStatus::Archived, 5),
];

const NEED_STATUS: &[(NeedStatus, u32)] = &[
    (NeedStatus::Open, 80),
    (NeedStatus::Matched, 12),
    (NeedStatus::Closed, 8),
];

const CITY_KINDS: &[(CityKind, u32)] = &[
    (CityKind::Municipality, 70),
    (CityKind::MetropolitanArea, 8),
    (CityKind::District, 8),
    (CityKind::County, 5),
    (CityKind::Province, 4),
    (CityKind::Region, 4),
    (CityKind::Other, 1),
];

const ASSOCIATION_SCOPES: &[(AssociationScope, u32)] = &[
    (AssociationScope::National, 60),
    (AssociationScope::Regional, 16),
    (AssociationScope::Professional, 10),
    (AssociationScope::Network, 8),
    (AssociationScope::Global, 6),
];

const DONOR_KINDS: &[(DonorKind, u32)] = &[
    (DonorKind::Bilateral, 30),
    (DonorKind::Foundation, 25),
    (DonorKind::Multilateral, 15),
    (DonorKind::PrivateSector, 10),
    (DonorKind::NationalGovernment, 10),
    (DonorKind::LocalGovernment, 10),
];

/// How a practice's cities are chosen, which decides its derived orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pairing {
    NorthSouth,
    SouthSouth,
    NorthNorth,
    WithEast,
    Mixed,
}

const PAIRINGS: &[(Pairing, u32)] = &[
    (Pairing::NorthSouth, 50),
    (Pairing::SouthSouth, 20),
    (Pairing::NorthNorth, 15),
    (Pairing::WithEast, 10),
    (Pairing::Mixed, 5),
];

fn topics(theme: Theme) -> &'static [&'static str] {
    match theme {
        Theme::Environment => &[
            "solid waste management",
            "waste recycling",
            "river clean-up",
            "urban greening",
            "air quality monitoring",
            "climate adaptation planning",
        ],
        Theme::InfrastructureServices => &[
            "water supply",
            "sanitation",
            "public transport",
            "street lighting",
            "storm drainage",
            "road maintenance",
        ],
        Theme::MunicipalFinance => &[
            "property tax collection",
            "municipal budgeting",
            "revenue administration",
            "financial management",
            "participatory budgeting",
        ],
        Theme::EconomicDevelopment => &[
            "local economic development",
            "market modernisation",
            "small business support",
            "tourism promotion",
            "investment promotion",
        ],
        Theme::Housing => &[
            "informal settlement upgrading",
            "social housing",
            "land registration",
            "housing finance",
        ],
        Theme::Health => &[
            "primary health care",
            "HIV/AIDS prevention",
            "emergency medical services",
            "food safety inspection",
        ],
        Theme::SocialCultural => &[
            "youth exchange",
            "cultural heritage",
            "school partnerships",
            "social inclusion",
        ],
        Theme::SecurityDisaster => &[
            "disaster preparedness",
            "fire services",
            "community policing",
            "post-conflict reconstruction",
        ],
        Theme::Other => &["e-government", "statistics and GIS", "public participation"],
    }
}

fn focus_phrase(focus: ManagementFocus) -> &'static str {
    match focus {
        ManagementFocus::TechnicalExpertise => "training of municipal technical staff",
        ManagementFocus::StrategyFormulation => "drafting a city development strategy",
        ManagementFocus::StrategyImplementation => "carrying out an agreed action plan",
        ManagementFocus::InstitutionalReform => "reorganising municipal departments",
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "ma", "ri", "ta", "ne", "sa", "bu", "do", "vi", "len", "mor", "tan", "gra", "sel",
    "ber", "ko", "na", "zu", "pe", "hal", "din", "ro", "va", "mi", "tor", "ga", "lin", "so", "be",
    "al", "en", "or", "us", "ar", "el", "ki", "tu", "fa", "ho",
];

const REGIONS: &[&str] = &[
    "African",
    "Asian",
    "Caribbean",
    "Pacific",
    "Latin American",
    "Mediterranean",
    "Nordic",
    "Baltic",
    "Andean",
    "Danube",
    "Arab",
    "Central European",
];

const SURNAMES: &[&str] = &[
    "Hartmann",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Whitfield",
    "Castellanos",
    "Novak",
    "Mbeki",
    "Rasmussen",
    "Fairbanks",
    "Van Dijk",
    "Kowalski",
    "Adeyemi",
    "Sørensen",
];

const CONTEXTS: &[&str] = &[
    "The cooperation grew out of a study visit by the mayors and is run by the international relations offices.",
    "A national programme brokered the first contacts and paid for the early exchanges of staff.",
    "Diaspora communities in the partner city asked for the link, and the councils formalised it in a memorandum.",
    "The partners met through their association of local authorities and chose a single sector to work on.",
];

const OUTCOMES: &[&str] = &[
    "Staff of both cities trained together, and the procedures tested were adopted by the council.",
    "A pilot in one district was extended to the whole city after two years.",
    "The partners produced a manual that neighbouring municipalities now use.",
    "Service coverage rose measurably, though maintenance remains a concern.",
];

const ISSUES: &[&str] = &[
    "Turnover among elected officials slowed the work after each election.",
    "The exchange depended on one committed official on each side.",
    "Funding for follow-up was not secured when the donor grant ended.",
];

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The initials of a name's capitalised words: "Association of Cities of Kenya" → "ACK".
fn acronym(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_uppercase())
        .take(10)
        .collect()
}

fn city_name(rng: &mut Rng, bloc: Bloc) -> String {
    let syllables = rng.between(2, 3);
    let mut name: String = (0..syllables).map(|_| rng.one(SYLLABLES)).collect();
    if rng.percent(30) {
        name.push_str(rng.one(match bloc {
            Bloc::North => &["burg", "ton", "ville", "dorf", "stad", "ford"][..],
            Bloc::East => &["grad", "ovo", "sk", "ice", "ava"][..],
            Bloc::South => &["pur", "abad", "polis", "nde", "kro", "ta"][..],
        }));
    }
    capitalised(&name)
}

fn bloc_index(bloc: Bloc) -> usize {
    match bloc {
        Bloc::North => 0,
        Bloc::East => 1,
        Bloc::South => 2,
    }
}

/// "A", "A and B", "A, B and C".
fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------------
// Generated records

#[derive(Debug, Clone, PartialEq)]
struct Money {
    currency: usize,
    amount: Decimal,
    usd_cents: i64,
}

#[derive(Debug, Clone, PartialEq)]
struct CitySpec {
    id: i64,
    name: String,
    kind: CityKind,
    country: usize,
    population: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
struct AssociationSpec {
    id: i64,
    name: String,
    acronym: String,
    scope: AssociationScope,
    country: Option<usize>,
    description: String,
}

#[derive(Debug, Clone, PartialEq)]
struct DonorSpec {
    id: i64,
    name: String,
    acronym: String,
    kind: DonorKind,
    country: Option<usize>,
    description: String,
    themes: Vec<Theme>,
    orientations: Vec<GeographicOrientation>,
    agenda_countries: Vec<usize>,
    /// How much of the funding this donor gives, relative to the others.
    weight: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct OperatorSpec {
    id: i64,
    association_id: Option<i64>,
    donor_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
struct SchemeSpec {
    id: i64,
    status: PublicationStatus,
    name: String,
    description: String,
    start_year: i32,
    end_year: Option<i32>,
    budget: Option<Money>,
    open_for_applications: bool,
    themes: Vec<Theme>,
    orientations: Vec<GeographicOrientation>,
    support_modalities: Vec<SupportModality>,
    facilitating_structures: Vec<FacilitatingStructure>,
    funding_sources: Vec<FundingSource>,
    operators: Vec<OperatorSpec>,
}

#[derive(Debug, Clone, PartialEq)]
struct PracticeSpec {
    id: i64,
    status: PublicationStatus,
    title: String,
    summary: String,
    context: Option<String>,
    outcomes: Option<String>,
    issues: Option<String>,
    start_year: i32,
    end_year: Option<i32>,
    orientation: GeographicOrientation,
    modality: LinkingModality,
    required: Option<Money>,
    themes: Vec<Theme>,
    management_focus: Vec<ManagementFocus>,
    cooperating_parties: Vec<CooperatingParty>,
    /// City ids, the lead first.
    cities: Vec<i64>,
    scheme: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
struct FundingSpec {
    id: i64,
    practice_id: Option<i64>,
    scheme_id: Option<i64>,
    donor_id: Option<i64>,
    source_city_id: Option<i64>,
    source_name: Option<String>,
    payment: Payment,
}

/// What a funding record says about the money itself.
#[derive(Debug, Clone, PartialEq)]
struct Payment {
    source_type: FundingSource,
    currency: usize,
    /// `(amount, USD cents)`; `None` where the source names the funder but not the sum.
    amount: Option<(Decimal, i64)>,
    year: i32,
    status: FundingStatus,
    confidential: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct NeedSpec {
    id: i64,
    city_id: i64,
    title: String,
    description: String,
    modality: Option<LinkingModality>,
    required: Option<Money>,
    status: NeedStatus,
    themes: Vec<Theme>,
    management_focus: Vec<ManagementFocus>,
    support_modalities: Vec<SupportModality>,
}

#[derive(Debug, Clone, PartialEq)]
struct Dataset {
    cities: Vec<CitySpec>,
    associations: Vec<AssociationSpec>,
    donors: Vec<DonorSpec>,
    schemes: Vec<SchemeSpec>,
    practices: Vec<PracticeSpec>,
    funding: Vec<FundingSpec>,
    needs: Vec<NeedSpec>,
}

/// How many rows of each kind `practices` practices come with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Volumes {
    cities: usize,
    associations: usize,
    donors: usize,
    schemes: usize,
    practices: usize,
    funding_on_practices: usize,
    funding_on_schemes: usize,
    needs: usize,
}

impl Volumes {
    fn new(practices: usize, countries: usize) -> Self {
        let funding = 5 * practices;
        let funding_on_schemes = funding * 3 / 100;
        Volumes {
            cities: (practices / 20).max(200).max(countries),
            associations: 50,
            donors: (practices / 2000).max(30),
            schemes: (practices / 500).max(30),
            practices,
            funding_on_practices: funding - funding_on_schemes,
            funding_on_schemes,
            needs: practices / 10,
        }
    }
}

const STREAM_CITIES: u64 = 1;
const STREAM_ASSOCIATIONS: u64 = 2;
const STREAM_DONORS: u64 = 3;
const STREAM_SCHEMES: u64 = 4;
const STREAM_PRACTICES: u64 = 5;
const STREAM_FUNDING: u64 = 6;
const STREAM_NEEDS: u64 = 7;

fn generate(
    reference: &Reference,
    options: &SyntheticOptions,
    first: &FirstIds,
) -> Result<Dataset> {
    let volumes = Volumes::new(options.practices, reference.countries.len());
    let g = Generator {
        reference,
        first: *first,
        seed: options.seed,
    };
    let cities = g.cities(volumes.cities);
    let world = World::new(reference, &cities);
    let associations = g.associations(volumes.associations);
    let donors = g.donors(volumes.donors, &cities);
    let schemes = g.schemes(volumes.schemes, &associations, &donors)?;
    let practices = g.practices(volumes.practices, &world, &schemes)?;
    let funding = g.funding(&volumes, &world, &practices, &schemes, &donors)?;
    let needs = g.needs(volumes.needs, &world)?;
    Ok(Dataset {
        cities,
        associations,
        donors,
        schemes,
        practices,
        funding,
        needs,
    })
}

/// The generated cities, grouped by bloc for choosing partners.
struct World<'a> {
    reference: &'a Reference,
    cities: &'a [CitySpec],
    by_bloc: [Vec<usize>; 3],
}

impl<'a> World<'a> {
    fn new(reference: &'a Reference, cities: &'a [CitySpec]) -> Self {
        let mut by_bloc: [Vec<usize>; 3] = Default::default();
        for (i, c) in cities.iter().enumerate() {
            by_bloc[bloc_index(reference.countries[c.country].bloc)].push(i);
        }
        World {
            reference,
            cities,
            by_bloc,
        }
    }

    fn bloc(&self, city: usize) -> Bloc {
        self.reference.countries[self.cities[city].country].bloc
    }

    /// A city of `bloc`, or of any bloc where the reference data has none of it.
    fn city_in(&self, rng: &mut Rng, bloc: Bloc) -> usize {
        rng.pick(&self.by_bloc[bloc_index(bloc)])
            .copied()
            .unwrap_or_else(|| rng.below(self.cities.len()))
    }

    fn country_name(&self, city: usize) -> &str {
        &self.reference.countries[self.cities[city].country].name
    }
}

struct Generator<'a> {
    reference: &'a Reference,
    first: FirstIds,
    seed: u64,
}

impl Generator<'_> {
    fn rng(&self, stream: u64) -> Rng {
        Rng::new(self.seed, stream)
    }

    fn cities(&self, count: usize) -> Vec<CitySpec> {
        let mut rng = self.rng(STREAM_CITIES);
        let countries = &self.reference.countries;
        // Every country gets a city; the rest go to countries by a size drawn once per country,
        // so a bloc's share follows its number of countries while some countries get many more
        // cities than others.
        let sizes = Lottery::new(countries.iter().map(|_| 1 + rng.below(9) as u64));
        (0..count)
            .map(|i| {
                let country = if i < countries.len() {
                    i
                } else {
                    sizes.draw(&mut rng).unwrap_or(0)
                };
                let exponent = rng.weighted(&[(4, 50), (5, 35), (6, 12), (7, 3)]);
                CitySpec {
                    id: self.first.city + i as i64,
                    name: city_name(&mut rng, countries[country].bloc),
                    kind: rng.weighted(CITY_KINDS),
                    country,
                    population: rng
                        .percent(90)
                        .then(|| (10 + rng.below(90) as i64) * 10_i64.pow(exponent - 1)),
                }
            })
            .collect()
    }

    fn associations(&self, count: usize) -> Vec<AssociationSpec> {
        let mut rng = self.rng(STREAM_ASSOCIATIONS);
        let countries = &self.reference.countries;
        let mut names = Names::default();
        (0..count)
            .map(|i| {
                let scope = rng.weighted(ASSOCIATION_SCOPES);
                let mut country = None;
                let name = match scope {
                    AssociationScope::National => {
                        let c = rng.below(countries.len());
                        country = Some(c);
                        rng.one(&[
                            "Association of Municipalities of %C",
                            "National Union of Local Authorities of %C",
                            "%C Association of Cities",
                            "Federation of %C Municipalities",
                        ])
                        .replace("%C", &countries[c].name)
                    }
                    AssociationScope::Regional => {
                        format!("{} Union of Local Authorities", rng.one(REGIONS))
                    }
                    AssociationScope::Global => format!(
                        "World {} of Local Governments",
                        rng.one(&["Organisation", "Forum", "Assembly", "Council"])
                    ),
                    AssociationScope::Professional => format!(
                        "International Association of Municipal {}",
                        rng.one(&[
                            "Managers",
                            "Engineers",
                            "Planners",
                            "Finance Officers",
                            "Water Utilities"
                        ])
                    ),
                    AssociationScope::Network => {
                        let theme = rng.weighted(THEMES);
                        format!("{} Cities Network", capitalised(rng.one(topics(theme))))
                    }
                };
                let name = names.unique(name);
                AssociationSpec {
                    id: self.first.association + i as i64,
                    acronym: acronym(&name),
                    description: format!(
                        "{name} brings local authorities together to exchange experience and \
                         to represent them towards national governments and donors."
                    ),
                    name,
                    scope,
                    country,
                }
            })
            .collect()
    }

    fn donors(&self, count: usize, cities: &[CitySpec]) -> Vec<DonorSpec> {
        let mut rng = self.rng(STREAM_DONORS);
        let countries = &self.reference.countries;
        let of_bloc = |wanted: &[Bloc]| -> Vec<usize> {
            let found: Vec<usize> = (0..countries.len())
                .filter(|&i| wanted.contains(&countries[i].bloc))
                .collect();
            if found.is_empty() {
                (0..countries.len()).collect()
            } else {
                found
            }
        };
        let north = of_bloc(&[Bloc::North]);
        let developing = of_bloc(&[Bloc::South, Bloc::East]);
        let mut names = Names::default();
        (0..count)
            .map(|i| {
                let kind = rng.weighted(DONOR_KINDS);
                let (name, country) = match kind {
                    DonorKind::Bilateral => {
                        let c = rng.one(&north);
                        let name = rng
                            .one(&[
                                "%C Agency for International Development",
                                "%C Development Cooperation Agency",
                                "%C Fund for Local Government Partnerships",
                            ])
                            .replace("%C", &countries[c].name);
                        (name, Some(c))
                    }
                    DonorKind::Multilateral => (
                        format!(
                            "{} {}",
                            rng.one(REGIONS),
                            rng.one(&[
                                "Development Bank",
                                "Urban Development Facility",
                                "Municipal Fund"
                            ])
                        ),
                        None,
                    ),
                    DonorKind::Foundation => (
                        format!(
                            "{} {}",
                            rng.one(SURNAMES),
                            rng.one(&["Foundation", "Trust for Cities", "Charitable Trust"])
                        ),
                        rng.percent(70).then(|| rng.one(&north)),
                    ),
                    DonorKind::PrivateSector => (
                        format!(
                            "{} {}",
                            capitalised(&city_name(&mut rng, Bloc::North)),
                            rng.one(&["Utilities Group", "Infrastructure Partners", "Bank"])
                        ),
                        Some(rng.one(&north)),
                    ),
                    DonorKind::NationalGovernment => {
                        let c = rng.below(countries.len());
                        (
                            format!("Ministry of Local Government of {}", countries[c].name),
                            Some(c),
                        )
                    }
                    DonorKind::LocalGovernment => {
                        let city = rng.below(cities.len());
                        (
                            format!("City of {}", cities[city].name),
                            Some(cities[city].country),
                        )
                    }
                    DonorKind::Other => ("Other donor".to_string(), None),
                };
                let name = names.unique(name);
                let themes = rng.several(THEMES, 1, 3);
                let orientations = rng.several(ORIENTATIONS, 1, 2);
                let wanted = rng.below(5);
                let mut agenda_countries = Vec::with_capacity(wanted);
                for _ in 0..wanted {
                    let c = rng.one(&developing);
                    if !agenda_countries.contains(&c) {
                        agenda_countries.push(c);
                    }
                }
                let size = 1 + rng.below(10) as u64;
                DonorSpec {
                    id: self.first.donor + i as i64,
                    acronym: acronym(&name),
                    description: format!(
                        "{name} funds cooperation between local authorities, chiefly on {}.",
                        listed(&themes.iter().map(|t| topics(*t)[0]).collect::<Vec<_>>())
                    ),
                    name,
                    kind,
                    country,
                    themes,
                    orientations,
                    agenda_countries,
                    weight: size * size,
                }
            })
            .collect()
    }

    fn schemes(
        &self,
        count: usize,
        associations: &[AssociationSpec],
        donors: &[DonorSpec],
    ) -> Result<Vec<SchemeSpec>> {
        let mut rng = self.rng(STREAM_SCHEMES);
        let mut names = Names::default();
        let mut next_operator = self.first.scheme_operator;
        let mut schemes = Vec::with_capacity(count);
        for i in 0..count {
            let association = if rng.percent(75) {
                rng.pick(associations)
            } else {
                None
            };
            let donor = if association.is_none() || rng.percent(40) {
                rng.pick(donors)
            } else {
                None
            };
            let mut operators = Vec::new();
            for (association_id, donor_id) in [
                (association.map(|a| a.id), None),
                (None, donor.map(|d| d.id)),
            ] {
                if association_id.is_some() || donor_id.is_some() {
                    operators.push(OperatorSpec {
                        id: next_operator,
                        association_id,
                        donor_id,
                    });
                    next_operator += 1;
                }
            }
            let label = association
                .map(|a| a.acronym.as_str())
                .or(donor.map(|d| d.acronym.as_str()))
                .unwrap_or("Municipal");
            let themes = rng.several(THEMES, 1, 3);
            let support_modalities = rng.several(SUPPORT_MODALITIES, 1, 3);
            let name = names.unique(format!(
                "{label} {} {}",
                capitalised(rng.one(topics(themes[0]))),
                rng.one(&[
                    "Programme",
                    "Partnership Facility",
                    "Twinning Scheme",
                    "Exchange Programme",
                    "Fund"
                ])
            ));
            let start_year = rng.year(1980, 2020);
            let end_year = (!rng.percent(50)).then(|| (start_year + rng.year(3, 12)).min(2030));
            let budget = if rng.percent(50) {
                let usd = rng.usd(6, 7);
                let currency = rng.weighted(&self.reference.mix.budgets);
                Some(self.reference.money(usd, currency)?)
            } else {
                None
            };
            schemes.push(SchemeSpec {
                id: self.first.scheme + i as i64,
                status: rng.weighted(SCHEME_STATUS),
                description: format!(
                    "Supports {} between local authorities, mainly on {}.",
                    listed(
                        &support_modalities
                            .iter()
                            .map(|m| m.as_str())
                            .collect::<Vec<_>>()
                    )
                    .to_lowercase()
                    .replace('_', " "),
                    listed(&themes.iter().map(|t| topics(*t)[0]).collect::<Vec<_>>())
                ),
                name,
                start_year,
                open_for_applications: end_year.is_none() && rng.percent(50),
                end_year,
                budget,
                themes,
                orientations: rng.several(ORIENTATIONS, 1, 2),
                support_modalities,
                facilitating_structures: rng.several(FACILITATING_STRUCTURES, 1, 2),
                funding_sources: rng.several(SCHEME_FUNDING_SOURCES, 1, 2),
                operators,
            });
        }
        Ok(schemes)
    }

    /// Cities for a practice, chosen by bloc so that the orientation derived from them follows
    /// the report's mix; the lead first, no city twice.
    fn practice_cities(
        &self,
        rng: &mut Rng,
        world: &World,
        pairing: Pairing,
        count: usize,
    ) -> Vec<usize> {
        use Bloc::{East, North, South};
        let either = |rng: &mut Rng, a: Bloc, b: Bloc| if rng.percent(50) { a } else { b };
        let mut blocs: Vec<Bloc> = match pairing {
            Pairing::NorthSouth if rng.percent(55) => vec![North, South],
            Pairing::NorthSouth => vec![South, North],
            Pairing::SouthSouth => vec![South, South],
            Pairing::NorthNorth => vec![North, North],
            Pairing::WithEast => match rng.below(10) {
                0..=6 => vec![either(rng, North, East), East, North],
                7 | 8 => vec![East, East],
                _ => vec![East, South],
            },
            Pairing::Mixed if count >= 3 => vec![North, South, East],
            Pairing::Mixed => vec![South, East],
        };
        // The third and later cities repeat the blocs already present, so they never change the
        // orientation the first ones set.
        let present = blocs.clone();
        blocs.truncate(count.max(2));
        while blocs.len() < count {
            blocs.push(rng.one(&present));
        }
        let mut chosen: Vec<usize> = Vec::with_capacity(count);
        for bloc in blocs {
            for _ in 0..8 {
                let city = world.city_in(rng, bloc);
                if !chosen.contains(&city) {
                    chosen.push(city);
                    break;
                }
            }
        }
        chosen
    }

    fn practices(
        &self,
        count: usize,
        world: &World,
        schemes: &[SchemeSpec],
    ) -> Result<Vec<PracticeSpec>> {
        let mut rng = self.rng(STREAM_PRACTICES);
        let mut practices = Vec::with_capacity(count);
        for i in 0..count {
            let pairing = rng.weighted(PAIRINGS);
            let modality = rng.weighted(LINKING_MODALITIES);
            let city_count = match modality {
                LinkingModality::OneOnOne => 2,
                _ => rng.between(3, 4),
            };
            let cities = self.practice_cities(&mut rng, world, pairing, city_count);
            let blocs: Vec<Bloc> = cities.iter().map(|&c| world.bloc(c)).collect();
            let orientation = orientation::derive(&blocs).unwrap_or(GeographicOrientation::Global);
            let themes = rng.several(THEMES, 1, 3);
            let management_focus = rng.several(MANAGEMENT_FOCUS, 1, 2);
            // Later starts are more common, as the practice spread through the 1990s.
            let start_year = rng.year(1985, LAST_YEAR).max(rng.year(1985, LAST_YEAR));
            let end_year = (!rng.percent(45)).then(|| start_year + rng.year(1, 6));
            let required = if rng.percent(60) {
                let usd = rng.usd(4, 6);
                let currency = rng.weighted(&self.reference.mix.required);
                Some(self.reference.money(usd, currency)?)
            } else {
                None
            };
            let topic = rng.one(topics(themes[0]));
            let names: Vec<&str> = cities
                .iter()
                .map(|&c| world.cities[c].name.as_str())
                .collect();
            let lead = names.first().copied().unwrap_or("A city");
            let title = match (modality, names.as_slice()) {
                (LinkingModality::OneOnOne, [a, b]) => format!(
                    "{a}–{b} {topic} {}",
                    rng.one(&["partnership", "twinning", "exchange", "cooperation"])
                ),
                (LinkingModality::Network, _) => {
                    format!("{} network led by {lead}", capitalised(topic))
                }
                _ => format!(
                    "{} cooperation of {lead} and {} partner cities",
                    capitalised(topic),
                    names.len().saturating_sub(1)
                ),
            };
            let summary = format!(
                "{lead} ({}) works with {} on {topic}, with a focus on {}.",
                cities
                    .first()
                    .map(|&c| world.country_name(c))
                    .unwrap_or("?"),
                listed(names.get(1..).unwrap_or_default()),
                focus_phrase(management_focus[0])
            );
            practices.push(PracticeSpec {
                id: self.first.practice + i as i64,
                status: rng.weighted(PRACTICE_STATUS),
                title,
                summary,
                context: rng.percent(30).then(|| rng.one(CONTEXTS).to_string()),
                outcomes: rng.percent(25).then(|| rng.one(OUTCOMES).to_string()),
                issues: rng.percent(15).then(|| rng.one(ISSUES).to_string()),
                start_year,
                end_year,
                orientation,
                modality,
                required,
                themes,
                management_focus,
                cooperating_parties: rng.several(COOPERATING_PARTIES, 1, 2),
                cities: cities.iter().map(|&c| world.cities[c].id).collect(),
                scheme: if rng.percent(35) {
                    rng.pick(schemes).map(|s| s.id)
                } else {
                    None
                },
            });
        }
        Ok(practices)
    }

    fn funding(
        &self,
        volumes: &Volumes,
        world: &World,
        practices: &[PracticeSpec],
        schemes: &[SchemeSpec],
        donors: &[DonorSpec],
    ) -> Result<Vec<FundingSpec>> {
        let mut rng = self.rng(STREAM_FUNDING);
        let all_donors = Lottery::new(donors.iter().map(|d| d.weight));
        let foundations = Lottery::new(donors.iter().map(|d| {
            if d.kind == DonorKind::Foundation {
                d.weight
            } else {
                0
            }
        }));
        let donor_for = |rng: &mut Rng, source: FundingSource| {
            let foundation = match source {
                FundingSource::FoundationTrust => foundations.draw(rng),
                _ => None,
            };
            foundation
                .or_else(|| all_donors.draw(rng))
                .map(|i| donors[i].id)
        };
        let mut rows =
            Vec::with_capacity(volumes.funding_on_practices + volumes.funding_on_schemes);
        let mut next_id = self.first.funding;

        // Every practice has a funding record; the rest are spread at random, so the totals are
        // exact while the counts per practice vary.
        let per_practice = spread(&mut rng, practices.len(), volumes.funding_on_practices, 1);
        for (p, &n) in practices.iter().zip(&per_practice) {
            let last_year = p.end_year.unwrap_or(p.start_year + 5).min(LAST_YEAR);
            for _ in 0..n {
                let source_type = rng.weighted(PRACTICE_FUNDING_SOURCES);
                let (donor_id, source_city_id, source_name, exponents) = match source_type {
                    FundingSource::OwnBudget => {
                        let city = if rng.percent(70) {
                            p.cities.first().copied()
                        } else {
                            rng.pick(&p.cities).copied()
                        };
                        (None, city, None, (3, 5))
                    }
                    FundingSource::LocalPartners => {
                        let city = rng
                            .pick(&p.cities)
                            .map(|&id| world.cities[(id - self.first.city) as usize].name.as_str());
                        let name = rng
                            .one(&[
                                "%C Chamber of Commerce",
                                "%C Water Utility",
                                "Community organisations of %C",
                                "University of %C",
                            ])
                            .replace("%C", city.unwrap_or("the city"));
                        (None, None, Some(name), (3, 4))
                    }
                    FundingSource::FoundationTrust => {
                        (donor_for(&mut rng, source_type), None, None, (4, 5))
                    }
                    FundingSource::DevelopmentProgramme => {
                        (donor_for(&mut rng, source_type), None, None, (5, 6))
                    }
                    _ => (donor_for(&mut rng, source_type), None, None, (4, 6)),
                };
                let year = rng.year(p.start_year, last_year.max(p.start_year));
                rows.push(FundingSpec {
                    id: next_id,
                    practice_id: Some(p.id),
                    scheme_id: None,
                    donor_id,
                    source_city_id,
                    source_name,
                    payment: self.payment(&mut rng, source_type, year, exponents)?,
                });
                next_id += 1;
            }
        }

        let per_scheme = spread(&mut rng, schemes.len(), volumes.funding_on_schemes, 0);
        for (s, &n) in schemes.iter().zip(&per_scheme) {
            let operating_donor = s.operators.iter().find_map(|o| o.donor_id);
            let last_year = s.end_year.unwrap_or(s.start_year + 10).min(LAST_YEAR);
            for _ in 0..n {
                let source_type = rng.weighted(SCHEME_FUNDING);
                let donor_id = match operating_donor {
                    Some(d) if rng.percent(60) => Some(d),
                    _ => donor_for(&mut rng, source_type),
                };
                let year = rng.year(s.start_year, last_year.max(s.start_year));
                rows.push(FundingSpec {
                    id: next_id,
                    practice_id: None,
                    scheme_id: Some(s.id),
                    donor_id,
                    source_city_id: None,
                    source_name: None,
                    payment: self.payment(&mut rng, source_type, year, (5, 7))?,
                });
                next_id += 1;
            }
        }
        Ok(rows)
    }

    /// The money part of a funding record: currency of its era, amount, status, confidentiality.
    fn payment(
        &self,
        rng: &mut Rng,
        source_type: FundingSource,
        year: i32,
        (low, high): (u32, u32),
    ) -> Result<Payment> {
        let currency = rng.weighted(self.reference.mix.for_year(year));
        // A few records name the funder but not the sum, as sources often do.
        let amount = if rng.percent(98) {
            let usd = rng.usd(low, high);
            Some(self.reference.convert(usd, currency)?)
        } else {
            None
        };
        Ok(Payment {
            source_type,
            currency,
            amount,
            year,
            status: rng.weighted(FUNDING_STATUS),
            confidential: rng.percent(5),
        })
    }

    fn needs(&self, count: usize, world: &World) -> Result<Vec<NeedSpec>> {
        let mut rng = self.rng(STREAM_NEEDS);
        let mut needs = Vec::with_capacity(count);
        for i in 0..count {
            // Needs are mostly voiced by cities of the South and East.
            let bloc = rng.weighted(&[(Bloc::South, 75), (Bloc::East, 15), (Bloc::North, 10)]);
            let city = world.city_in(&mut rng, bloc);
            let name = &world.cities[city].name;
            let themes = rng.several(THEMES, 1, 2);
            let topic = rng.one(topics(themes[0]));
            let required = if rng.percent(85) {
                let usd = rng.usd(4, 5);
                let currency = rng.weighted(&self.reference.mix.required);
                Some(self.reference.money(usd, currency)?)
            } else {
                None
            };
            needs.push(NeedSpec {
                id: self.first.need + i as i64,
                city_id: world.cities[city].id,
                title: format!("{name}: {topic}"),
                description: format!(
                    "{name} ({}) seeks a partner local authority with experience in {topic}.",
                    world.country_name(city)
                ),
                modality: rng.percent(70).then(|| rng.weighted(LINKING_MODALITIES)),
                required,
                status: rng.weighted(NEED_STATUS),
                themes,
                management_focus: rng.several(MANAGEMENT_FOCUS, 1, 1),
                support_modalities: rng.several(SUPPORT_MODALITIES, 1, 2),
            });
        }
        Ok(needs)
    }
}

/// `total` items over `slots` slots, each getting at least `minimum` (when the total allows).
fn spread(rng: &mut Rng, slots: usize, total: usize, minimum: usize) -> Vec<usize> {
    if slots == 0 {
        return Vec::new();
    }
    let base = minimum.min(total / slots);
    let mut counts = vec![base; slots];
    for _ in 0..total - base * slots {
        counts[rng.below(slots)] += 1;
    }
    counts
}

// ---------------------------------------------------------------------------------------------
// Records to rows

/// What turning a record into a row needs besides the record.
struct Rows<'a> {
    reference: &'a Reference,
    at: DateTime<Utc>,
    /// What every synthetic practice, scheme and need gives as its source, so that they can be
    /// told from real records.
    source: String,
}

fn source_of(seed: u64) -> String {
    format!("Synthetic benchmark data, seed {seed}")
}

impl CitySpec {
    fn model(&self, rows: &Rows) -> city::Model {
        let (r, at) = (rows.reference, rows.at);
        city::Model {
            id: self.id,
            version: 1,
            created_at: at,
            updated_at: at,
            name: self.name.clone(),
            kind: self.kind.as_str().into(),
            country_code: r.countries[self.country].code.clone(),
            population: self.population,
            latitude: None,
            longitude: None,
        }
    }
}

impl AssociationSpec {
    fn model(&self, rows: &Rows) -> crate::entities::association::Model {
        let (r, at) = (rows.reference, rows.at);
        crate::entities::association::Model {
            id: self.id,
            version: 1,
            created_at: at,
            updated_at: at,
            name: self.name.clone(),
            acronym: Some(self.acronym.clone()),
            scope: self.scope.as_str().into(),
            country_code: self.country.map(|c| r.countries[c].code.clone()),
            description: Some(self.description.clone()),
        }
    }
}

impl DonorSpec {
    fn model(&self, rows: &Rows) -> donor::Model {
        let (r, at) = (rows.reference, rows.at);
        donor::Model {
            id: self.id,
            version: 1,
            created_at: at,
            updated_at: at,
            name: self.name.clone(),
            acronym: Some(self.acronym.clone()),
            kind: self.kind.as_str().into(),
            country_code: self.country.map(|c| r.countries[c].code.clone()),
            description: Some(self.description.clone()),
        }
    }

    fn agenda_len(&self) -> usize {
        self.themes.len() + self.orientations.len() + self.agenda_countries.len()
    }

    fn agenda(&self, r: &Reference) -> Vec<(Dimension, String)> {
        let themes = self
            .themes
            .iter()
            .map(|t| (Dimension::Theme, t.as_str().to_string()));
        let orientations = self
            .orientations
            .iter()
            .map(|o| (Dimension::Orientation, o.as_str().to_string()));
        let countries = self
            .agenda_countries
            .iter()
            .map(|&c| (Dimension::Country, r.countries[c].code.clone()));
        themes.chain(orientations).chain(countries).collect()
    }
}

impl SchemeSpec {
    fn model(&self, rows: &Rows) -> support_scheme::Model {
        let (r, at) = (rows.reference, rows.at);
        support_scheme::Model {
            id: self.id,
            version: 1,
            created_at: at,
            updated_at: at,
            status: self.status.as_str().into(),
            name: self.name.clone(),
            description: Some(self.description.clone()),
            source: Some(rows.source.clone()),
            start_year: Some(self.start_year),
            end_year: self.end_year,
            budget_amount: self.budget.as_ref().map(|b| b.amount.to_string()),
            budget_currency: self
                .budget
                .as_ref()
                .map(|b| r.rates[b.currency].currency.clone()),
            budget_usd_cents: self.budget.as_ref().map(|b| b.usd_cents),
            open_for_applications: self.open_for_applications,
            owner_kind: None,
            owner_id: None,
        }
    }

    fn tags(&self) -> Vec<(Dimension, &'static str)> {
        let mut rows = Vec::new();
        rows.extend(self.themes.iter().map(|v| (Dimension::Theme, v.as_str())));
        rows.extend(
            self.orientations
                .iter()
                .map(|v| (Dimension::Orientation, v.as_str())),
        );
        rows.extend(
            self.support_modalities
                .iter()
                .map(|v| (Dimension::SupportModality, v.as_str())),
        );
        rows.extend(
            self.facilitating_structures
                .iter()
                .map(|v| (Dimension::FacilitatingStructure, v.as_str())),
        );
        rows.extend(
            self.funding_sources
                .iter()
                .map(|v| (Dimension::FundingSource, v.as_str())),
        );
        rows
    }
}

impl PracticeSpec {
    fn model(&self, rows: &Rows) -> practice::Model {
        let (r, at) = (rows.reference, rows.at);
        practice::Model {
            id: self.id,
            version: 1,
            created_at: at,
            updated_at: at,
            status: self.status.as_str().into(),
            title: self.title.clone(),
            summary: Some(self.summary.clone()),
            context: self.context.clone(),
            outcomes: self.outcomes.clone(),
            issues: self.issues.clone(),
            source: Some(rows.source.clone()),
            start_year: Some(self.start_year),
            end_year: self.end_year,
            orientation: self.orientation.as_str().into(),
            modality: self.modality.as_str().into(),
            amount_required: self.required.as_ref().map(|m| m.amount.to_string()),
            amount_required_currency: self
                .required
                .as_ref()
                .map(|m| r.rates[m.currency].currency.clone()),
            amount_required_usd_cents: self.required.as_ref().map(|m| m.usd_cents),
            owner_kind: None,
            owner_id: None,
        }
    }

    fn tags(&self) -> Vec<(Dimension, &'static str)> {
        let mut rows = Vec::new();
        rows.extend(self.themes.iter().map(|v| (Dimension::Theme, v.as_str())));
        rows.extend(
            self.management_focus
                .iter()
                .map(|v| (Dimension::ManagementFocus, v.as_str())),
        );
        rows.extend(
            self.cooperating_parties
                .iter()
                .map(|v| (Dimension::CooperatingParty, v.as_str())),
        );
        rows
    }
}

impl FundingSpec {
    fn model(&self, rows: &Rows) -> funding::Model {
        let p = &self.payment;
        let rate = &rows.reference.rates[p.currency];
        let at = rows.at;
        funding::Model {
            id: self.id,
            version: 1,
            created_at: at,
            updated_at: at,
            practice_id: self.practice_id,
            scheme_id: self.scheme_id,
            donor_id: self.donor_id,
            source_city_id: self.source_city_id,
            source_name: self.source_name.clone(),
            source_type: p.source_type.as_str().into(),
            amount: p.amount.map(|(a, _)| a.to_string()),
            currency: rate.currency.clone(),
            rate: rate.text.clone(),
            amount_usd_cents: p.amount.map(|(_, cents)| cents),
            year: Some(p.year),
            status: p.status.as_str().into(),
            confidential: p.confidential,
            note: None,
            rate_source: Some(rate.citation.clone()),
        }
    }
}

impl NeedSpec {
    fn model(&self, rows: &Rows) -> need::Model {
        let (r, at) = (rows.reference, rows.at);
        need::Model {
            id: self.id,
            version: 1,
            created_at: at,
            updated_at: at,
            publication: PublicationStatus::Published.as_str().into(),
            city_id: self.city_id,
            title: self.title.clone(),
            description: Some(self.description.clone()),
            source: Some(rows.source.clone()),
            modality: self.modality.map(|m| m.as_str().into()),
            amount_required: self.required.as_ref().map(|m| m.amount.to_string()),
            amount_required_currency: self
                .required
                .as_ref()
                .map(|m| r.rates[m.currency].currency.clone()),
            amount_required_usd_cents: self.required.as_ref().map(|m| m.usd_cents),
            status: self.status.as_str().into(),
            owner_kind: None,
            owner_id: None,
        }
    }

    fn tags(&self) -> Vec<(Dimension, &'static str)> {
        let mut rows = Vec::new();
        rows.extend(self.themes.iter().map(|v| (Dimension::Theme, v.as_str())));
        rows.extend(
            self.management_focus
                .iter()
                .map(|v| (Dimension::ManagementFocus, v.as_str())),
        );
        rows.extend(
            self.support_modalities
                .iter()
                .map(|v| (Dimension::SupportModality, v.as_str())),
        );
        rows
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;
    use crate::seed::{COUNTRIES_CSV, USD_RATES_CSV};

    fn reference() -> Reference {
        let countries = csv::Reader::from_reader(COUNTRIES_CSV.as_bytes())
            .records()
            .map(|r| {
                let r = r.unwrap();
                Country {
                    code: r[0].to_string(),
                    name: r[2].to_string(),
                    bloc: Bloc::parse(&r[3], "bloc").unwrap(),
                }
            })
            .collect();
        let rates = csv::Reader::from_reader(USD_RATES_CSV.as_bytes())
            .records()
            .map(|r| {
                let r = r.unwrap();
                let rate = values::rate("usd_per_unit", &r[1]).unwrap();
                Rate {
                    currency: r[0].to_string(),
                    usd_per_unit: rate,
                    text: rate.to_string(),
                    citation: format!("{}, {}", &r[3], &r[2]),
                }
            })
            .collect();
        Reference::new(countries, rates).unwrap()
    }

    const FRESH: FirstIds = FirstIds {
        city: 1,
        association: 1,
        donor: 1,
        scheme: 1,
        scheme_operator: 1,
        practice: 1,
        funding: 1,
        need: 1,
    };

    fn dataset(practices: usize, seed: u64) -> Dataset {
        generate(&reference(), &SyntheticOptions { practices, seed }, &FRESH).unwrap()
    }

    fn share<T>(items: &[T], wanted: impl Fn(&T) -> bool) -> f64 {
        items.iter().filter(|i| wanted(i)).count() as f64 / items.len() as f64
    }

    fn near(actual: f64, expected: f64, what: &str) {
        assert!(
            (actual - expected).abs() < 0.03,
            "{what}: {actual:.3}, expected about {expected}"
        );
    }

    #[test]
    fn volumes_for_two_hundred_thousand_practices() {
        let v = Volumes::new(200_000, 249);
        assert_eq!(v.cities, 10_000);
        assert_eq!(v.associations, 50);
        assert_eq!(v.donors, 100);
        assert_eq!(v.schemes, 400);
        assert_eq!(v.needs, 20_000);
        assert_eq!(v.funding_on_practices + v.funding_on_schemes, 1_000_000);
        assert_eq!(v.funding_on_schemes, 30_000);
        // Small runs still give every country a city.
        assert_eq!(Volumes::new(100, 249).cities, 249);
        assert_eq!(Volumes::new(100, 249).donors, 30);
    }

    #[test]
    fn chunks_stay_under_both_parameter_limits() {
        for columns in [
            funding::Column::iter().count(),
            practice::Column::iter().count(),
            practice_tag::Column::iter().count(),
            practice_city::Column::iter().count(),
        ] {
            // A big stage fills each statement up to the budget, under both databases' limits.
            let rows = rows_per_chunk(columns, 1_000_000);
            assert!(rows * columns <= PARAMETER_BUDGET);
            assert!(rows * columns > PARAMETER_BUDGET - columns);
        }
        // A small one is still cut into fiftieths, for progress reports.
        let rows = rows_per_chunk(2, 70_000);
        assert_eq!(rows, 1_400);
        assert_eq!(70_000usize.div_ceil(rows), 50);
        // A tiny one goes in whole.
        assert_eq!(rows_per_chunk(3, 400), MIN_ROWS_PER_CHUNK);
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = dataset(400, 7);
        assert_eq!(a, dataset(400, 7));
        let b = dataset(400, 8);
        assert_ne!(a.practices[..10], b.practices[..10]);
        assert_ne!(a.funding[..10], b.funding[..10]);
        // The streams are independent: more practices leave the cities as they were.
        assert_eq!(dataset(800, 7).cities, a.cities);
    }

    #[test]
    fn ids_follow_the_largest_existing_ones() {
        let first = FirstIds {
            city: 501,
            association: 12,
            donor: 40,
            scheme: 33,
            scheme_operator: 70,
            practice: 1001,
            funding: 9000,
            need: 5,
        };
        let d = generate(
            &reference(),
            &SyntheticOptions {
                practices: 300,
                seed: 1,
            },
            &first,
        )
        .unwrap();
        let consecutive = |ids: Vec<i64>, start: i64| {
            assert_eq!(ids, (start..start + ids.len() as i64).collect::<Vec<_>>());
        };
        consecutive(d.cities.iter().map(|c| c.id).collect(), 501);
        consecutive(d.associations.iter().map(|a| a.id).collect(), 12);
        consecutive(d.donors.iter().map(|x| x.id).collect(), 40);
        consecutive(d.schemes.iter().map(|s| s.id).collect(), 33);
        consecutive(
            d.schemes
                .iter()
                .flat_map(|s| s.operators.iter().map(|o| o.id))
                .collect(),
            70,
        );
        consecutive(d.practices.iter().map(|p| p.id).collect(), 1001);
        consecutive(d.funding.iter().map(|f| f.id).collect(), 9000);
        consecutive(d.needs.iter().map(|n| n.id).collect(), 5);
        let city_ids = 501..501 + d.cities.len() as i64;
        assert!(
            d.practices
                .iter()
                .all(|p| p.cities.iter().all(|c| city_ids.contains(c)))
        );
        assert!(d.needs.iter().all(|n| city_ids.contains(&n.city_id)));
    }

    #[test]
    fn cities_cover_every_country() {
        let r = reference();
        let d = dataset(20_000, 3);
        assert_eq!(d.cities.len(), 1_000);
        let mut per_country = vec![0; r.countries.len()];
        for c in &d.cities {
            per_country[c.country] += 1;
        }
        assert!(per_country.iter().all(|&n| n >= 1));
        assert!(per_country.iter().any(|&n| n >= 5));
    }

    #[test]
    fn practices_are_shaped_like_the_report() {
        let r = reference();
        let d = dataset(6_000, 42);
        let p = &d.practices;
        assert_eq!(p.len(), 6_000);

        use GeographicOrientation::*;
        near(
            share(p, |x| x.orientation == NorthSouth),
            0.50,
            "NORTH_SOUTH",
        );
        near(
            share(p, |x| x.orientation == SouthSouth),
            0.20,
            "SOUTH_SOUTH",
        );
        near(
            share(p, |x| x.orientation == NorthNorth),
            0.15,
            "NORTH_NORTH",
        );
        near(share(p, |x| x.orientation == WestEast), 0.09, "WEST_EAST");
        near(share(p, |x| x.orientation == Global), 0.06, "GLOBAL");

        use LinkingModality::*;
        near(share(p, |x| x.modality == OneOnOne), 0.65, "ONE_ON_ONE");
        near(share(p, |x| x.modality == Group), 0.20, "GROUP");
        near(share(p, |x| x.modality == Network), 0.15, "NETWORK");
        near(
            share(p, |x| x.status == PublicationStatus::Published),
            0.95,
            "PUBLISHED",
        );
        near(share(p, |x| x.required.is_some()), 0.60, "amount required");

        let bloc_of = |id: i64| {
            let c = &d.cities[(id - FRESH.city) as usize];
            r.countries[c.country].bloc
        };
        for x in p {
            assert!((2..=4).contains(&x.cities.len()), "{x:?}");
            let distinct: HashSet<_> = x.cities.iter().collect();
            assert_eq!(distinct.len(), x.cities.len());
            let blocs: Vec<Bloc> = x.cities.iter().map(|&c| bloc_of(c)).collect();
            assert_eq!(Some(x.orientation), orientation::derive(&blocs));
            assert!((1..=3).contains(&x.themes.len()));
            assert!((1..=2).contains(&x.management_focus.len()));
            assert!((1..=2).contains(&x.cooperating_parties.len()));
            assert!((1985..=LAST_YEAR).contains(&x.start_year));
            assert!(
                x.end_year
                    .is_none_or(|e| e > x.start_year && e <= x.start_year + 6)
            );
            assert!(values::bounded_text("title", &x.title, values::limits::TITLE).is_ok());
            assert!(x.summary.chars().count() <= values::limits::SUMMARY);
            if let Some(m) = &x.required {
                let code = r.rates[m.currency].currency.as_str();
                assert!(code == "USD" || code == "EUR");
            }
        }

        let mut themes: BTreeMap<Theme, usize> = BTreeMap::new();
        for t in p.iter().flat_map(|x| &x.themes) {
            *themes.entry(*t).or_default() += 1;
        }
        let mut ranked: Vec<(Theme, usize)> = themes.into_iter().collect();
        ranked.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        let top: HashSet<Theme> = ranked[..2].iter().map(|(t, _)| *t).collect();
        assert_eq!(
            top,
            HashSet::from([Theme::Environment, Theme::InfrastructureServices])
        );
        assert_eq!(ranked[ranked.len() - 1].0, Theme::Other);
    }

    #[test]
    fn funding_is_exact_and_converted_like_any_other_record() {
        let r = reference();
        let d = dataset(4_000, 9);
        let f = &d.funding;
        assert_eq!(f.len(), 20_000);
        let on_schemes = f.iter().filter(|x| x.scheme_id.is_some()).count();
        assert_eq!(on_schemes, 600);
        assert!(
            f.iter()
                .all(|x| x.practice_id.is_some() != x.scheme_id.is_some())
        );
        let practices: HashMap<i64, &PracticeSpec> =
            d.practices.iter().map(|p| (p.id, p)).collect();
        let funded: HashSet<i64> = f.iter().filter_map(|x| x.practice_id).collect();
        assert_eq!(funded.len(), d.practices.len(), "every practice is funded");

        use FundingStatus::*;
        near(share(f, |x| x.payment.status == Pledged), 0.20, "PLEDGED");
        near(
            share(f, |x| x.payment.status == Committed),
            0.30,
            "COMMITTED",
        );
        near(
            share(f, |x| x.payment.status == Disbursed),
            0.50,
            "DISBURSED",
        );
        near(share(f, |x| x.payment.confidential), 0.05, "confidential");
        near(share(f, |x| x.donor_id.is_some()), 0.80, "with a donor");

        for x in f {
            let p = &x.payment;
            let rate = &r.rates[p.currency];
            if let Some((amount, cents)) = p.amount {
                let parsed = values::amount("amount", &amount.to_string()).unwrap();
                assert_eq!(parsed.to_string(), amount.to_string());
                let stored_rate = Decimal::from_str(&rate.text).unwrap();
                assert_eq!(cents, values::to_usd_cents(parsed, stored_rate).unwrap());
                assert!(cents > 0);
            }
            if ["NLG", "FRF", "DEM"].contains(&rate.currency.as_str()) {
                assert!(p.year < 2002, "{x:?}");
            }
            if rate.currency == "EUR" {
                assert!(p.year >= 1999, "{x:?}");
            }
            match p.source_type {
                FundingSource::OwnBudget => {
                    let practice = practices[&x.practice_id.unwrap()];
                    assert!(practice.cities.contains(&x.source_city_id.unwrap()));
                    assert!(x.donor_id.is_none());
                }
                FundingSource::LocalPartners => {
                    assert!(x.donor_id.is_none() && x.source_name.is_some());
                }
                _ => assert!(x.donor_id.is_some()),
            }
            if let Some(id) = x.practice_id {
                let practice = practices[&id];
                assert!(
                    p.year >= practice.start_year && p.year <= LAST_YEAR.max(practice.start_year)
                );
            }
        }
        let legacy = f
            .iter()
            .filter(|x| {
                ["NLG", "FRF", "DEM"].contains(&r.rates[x.payment.currency].currency.as_str())
            })
            .count();
        assert!(legacy > 0, "some funding predates the euro");
    }

    #[test]
    fn organisations_schemes_and_needs_carry_their_tags() {
        let r = reference();
        let d = dataset(2_000, 5);
        assert_eq!(d.associations.len(), 50);
        assert_eq!(d.donors.len(), 30);
        assert_eq!(d.schemes.len(), 30);
        assert_eq!(d.needs.len(), 200);
        for donor in &d.donors {
            let agenda = donor.agenda(&r);
            assert!(agenda.iter().any(|(dim, _)| *dim == Dimension::Theme));
            assert!(agenda.iter().any(|(dim, _)| *dim == Dimension::Orientation));
            let unique: HashSet<_> = agenda.iter().collect();
            assert_eq!(unique.len(), agenda.len());
        }
        for s in &d.schemes {
            assert!(!s.operators.is_empty());
            let tags = s.tags();
            for dim in [
                Dimension::Theme,
                Dimension::Orientation,
                Dimension::SupportModality,
                Dimension::FacilitatingStructure,
                Dimension::FundingSource,
            ] {
                assert!(
                    tags.iter().any(|(d, _)| *d == dim),
                    "{} lacks {dim}",
                    s.name
                );
            }
        }
        let names: HashSet<&str> = d.schemes.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), d.schemes.len());
        near(
            share(&d.needs, |n| n.status == NeedStatus::Open),
            0.80,
            "open needs",
        );
        assert!(share(&d.needs, |n| n.required.is_some()) > 0.75);
        for n in &d.needs {
            let tags = n.tags();
            assert!(tags.iter().any(|(d, _)| *d == Dimension::Theme));
            assert!(tags.iter().any(|(d, _)| *d == Dimension::ManagementFocus));
            assert!(tags.iter().any(|(d, _)| *d == Dimension::SupportModality));
        }
    }

    #[test]
    fn rows_carry_the_rate_table_and_the_synthetic_source() {
        let r = reference();
        let d = dataset(200, 11);
        let rows = Rows {
            reference: &r,
            at: DateTime::from_timestamp(CREATED_AT, 0).unwrap(),
            source: source_of(11),
        };
        let f = d.funding[0].model(&rows);
        let rate = r.rates.iter().find(|x| x.currency == f.currency).unwrap();
        assert_eq!(f.rate, rate.text);
        assert_eq!(f.rate_source.as_deref(), Some(rate.citation.as_str()));
        assert_eq!(f.version, 1);
        let p = d.practices[0].model(&rows);
        assert_eq!(
            p.source.as_deref(),
            Some("Synthetic benchmark data, seed 11")
        );
        assert_eq!(p.created_at.to_rfc3339(), "2025-01-01T00:00:00+00:00");
    }

    #[test]
    fn drawing_helpers() {
        let mut rng = Rng::new(1, 0);
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[rng.weighted(&[(0, 1), (1, 2), (2, 7)])] += 1;
        }
        near(counts[2] as f64 / 30_000.0, 0.7, "weight 7 of 10");
        for _ in 0..1_000 {
            let picked = rng.several(THEMES, 1, 3);
            let unique: HashSet<_> = picked.iter().collect();
            assert_eq!(unique.len(), picked.len());
            assert!((1..=3).contains(&picked.len()));
        }
        let lottery = Lottery::new([0, 5, 0, 5]);
        for _ in 0..1_000 {
            assert!(matches!(lottery.draw(&mut rng), Some(1 | 3)));
        }
        assert_eq!(Lottery::new([0, 0]).draw(&mut rng), None);
        let spread_out = spread(&mut rng, 10, 95, 1);
        assert_eq!(spread_out.iter().sum::<usize>(), 95);
        assert!(spread_out.iter().all(|&n| n >= 1));
        assert_eq!(acronym("Association of Cities of Kenya 2"), "ACK");
        assert_eq!(listed(&["a", "b", "c"]), "a, b and c");
    }
}
