//! Reference data and the seeded information base, both compiled into the binary.
//!
//! The information base is loaded in one transaction: either all of it lands or none.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::Utc;
use domain::entities::{Id, Tags};
use domain::framework::*;
use domain::values::{self, CountryCode, CurrencyCode, limits};
use domain::{Error, Result, orientation};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    TransactionTrait,
};
use serde::Deserialize;

use crate::entities::*;
use crate::mapping::tag_rows;
use crate::store::db_err;

pub const COUNTRIES_CSV: &str = include_str!("../../../data/countries.csv");
pub const USD_RATES_CSV: &str = include_str!("../../../data/usd_rates.csv");
pub const INFORMATION_BASE_JSON: &str = include_str!("../../../data/information_base.json");

/// Loads countries and USD rates where their tables are empty. Cheap and idempotent: run on
/// every start.
pub async fn ensure_reference_data(db: &DatabaseConnection) -> Result<()> {
    if country::Entity::find().count(db).await.map_err(db_err)? == 0 {
        let mut rows = Vec::new();
        for record in csv::Reader::from_reader(COUNTRIES_CSV.as_bytes()).records() {
            let r = record.map_err(|e| Error::internal(format!("countries.csv: {e}")))?;
            let field = |i: usize| r.get(i).unwrap_or_default().to_string();
            let bloc = Bloc::parse(&field(3), "bloc")
                .map_err(|e| Error::internal(format!("countries.csv: {e}")))?;
            rows.push(country::ActiveModel {
                code: Set(CountryCode::parse(&field(0))?.as_str().to_string()),
                alpha3: Set(field(1)),
                name: Set(field(2)),
                bloc: Set(bloc.as_str().to_string()),
                ldc: Set(field(4) == "true"),
            });
        }
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
        let mut rows = Vec::new();
        for record in csv::Reader::from_reader(USD_RATES_CSV.as_bytes()).records() {
            let r = record.map_err(|e| Error::internal(format!("usd_rates.csv: {e}")))?;
            let field = |i: usize| r.get(i).unwrap_or_default().to_string();
            let rate = values::rate("usd_per_unit", &field(1))
                .map_err(|e| Error::internal(format!("usd_rates.csv: {e}")))?;
            rows.push(currency_rate::ActiveModel {
                currency: Set(CurrencyCode::parse(&field(0))?.as_str().to_string()),
                usd_per_unit: Set(rate.to_string()),
                as_of: Set(field(2)),
                source: Set(field(3)),
            });
        }
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InformationBase {
    pub cities: Vec<SeedCity>,
    pub associations: Vec<SeedAssociation>,
    pub donors: Vec<SeedDonor>,
    pub support_schemes: Vec<SeedScheme>,
    pub practices: Vec<SeedPractice>,
    #[serde(default)]
    pub needs: Vec<SeedNeed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedCity {
    pub key: String,
    pub name: String,
    pub country_code: String,
    pub kind: CityKind,
    pub population: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedAssociation {
    pub key: String,
    pub name: String,
    pub acronym: Option<String>,
    pub scope: AssociationScope,
    pub country_code: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub member_cities: Vec<String>,
    #[serde(default)]
    pub member_associations: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedAgenda {
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub orientations: Vec<GeographicOrientation>,
    #[serde(default)]
    pub country_codes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedDonor {
    pub key: String,
    pub name: String,
    pub acronym: Option<String>,
    pub kind: DonorKind,
    pub country_code: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub agenda: SeedAgenda,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedMoney {
    pub amount: String,
    pub currency: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedOperators {
    #[serde(default)]
    pub associations: Vec<String>,
    #[serde(default)]
    pub donors: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedFunding {
    pub donor: Option<String>,
    pub source_city: Option<String>,
    pub source_name: Option<String>,
    pub source_type: FundingSource,
    pub amount: Option<String>,
    pub currency: String,
    pub year: Option<i32>,
    pub status: FundingStatus,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedScheme {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub source: Option<String>,
    #[serde(default)]
    pub operators: SeedOperators,
    #[serde(default)]
    pub facilitating_structures: Vec<FacilitatingStructure>,
    #[serde(default)]
    pub funding_sources: Vec<FundingSource>,
    #[serde(default)]
    pub support_modalities: Vec<SupportModality>,
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub orientations: Vec<GeographicOrientation>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub budget: Option<SeedMoney>,
    #[serde(default)]
    pub open_for_applications: bool,
    #[serde(default)]
    pub funding: Vec<SeedFunding>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPracticeCity {
    pub city: String,
    pub role: CityRole,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPartner {
    pub name: String,
    pub kind: CooperatingParty,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedIndicator {
    pub name: String,
    pub unit: Option<String>,
    pub baseline: Option<String>,
    pub target: Option<String>,
    pub actual: Option<String>,
    pub year: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPractice {
    pub key: String,
    pub title: String,
    pub summary: Option<String>,
    pub context: Option<String>,
    pub outcomes: Option<String>,
    pub issues: Option<String>,
    pub source: Option<String>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub cities: Vec<SeedPracticeCity>,
    #[serde(default)]
    pub associations: Vec<String>,
    #[serde(default)]
    pub partners: Vec<SeedPartner>,
    pub orientation: Option<GeographicOrientation>,
    /// Why a historical case keeps an orientation that today's blocs would not give (countries
    /// that were transition economies when the case ran).
    pub orientation_note: Option<String>,
    pub modality: LinkingModality,
    pub cooperating_parties: Vec<CooperatingParty>,
    pub management_focus: Vec<ManagementFocus>,
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub schemes: Vec<String>,
    pub amount_required: Option<SeedMoney>,
    #[serde(default)]
    pub indicators: Vec<SeedIndicator>,
    #[serde(default)]
    pub funding: Vec<SeedFunding>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedNeed {
    pub key: String,
    pub city: String,
    pub title: String,
    pub description: Option<String>,
    pub source: Option<String>,
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub management_focus: Vec<ManagementFocus>,
    pub modality: Option<LinkingModality>,
    #[serde(default)]
    pub support_modalities: Vec<SupportModality>,
    pub amount_required: Option<SeedMoney>,
    pub status: NeedStatus,
}

/// Prefixes a validation error's field with the record it belongs to, e.g. `practices[gulu].title`.
fn at(record: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Validation { field, message } => Error::Validation {
            field: format!("{record}.{field}"),
            message,
        },
        other => other,
    }
}

fn lookup(map: &HashMap<String, Id>, kind: &str, key: &str, record: &str) -> Result<Id> {
    map.get(key).copied().ok_or_else(|| {
        Error::validation(
            format!("{record}.{kind}"),
            format!("unknown {kind} key {key:?}"),
        )
    })
}

/// Parses the compiled-in information base.
pub fn parse_information_base(json: &str) -> Result<InformationBase> {
    serde_json::from_str(json)
        .map_err(|e| Error::validation("information_base.json", e.to_string()))
}

/// The USD rates and country blocs needed to validate and normalise seeded records.
struct Reference {
    /// USD per unit and the citation funding records keep, per currency.
    rates: HashMap<String, (Decimal, String)>,
    blocs: HashMap<String, Bloc>,
}

impl Reference {
    async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let rates = currency_rate::Entity::find()
            .all(db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| {
                let citation = format!("{}, {}", r.source, r.as_of);
                Decimal::from_str(&r.usd_per_unit)
                    .map(|d| (r.currency, (d, citation)))
                    .map_err(Error::internal)
            })
            .collect::<Result<_>>()?;
        let blocs = country::Entity::find()
            .all(db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|c| Bloc::parse(&c.bloc, "bloc").map(|b| (c.code, b)))
            .collect::<Result<_>>()?;
        Ok(Reference { rates, blocs })
    }

    fn country(&self, code: &str) -> Result<String> {
        let code = CountryCode::parse(code)?;
        if self.blocs.contains_key(code.as_str()) {
            Ok(code.as_str().to_string())
        } else {
            Err(Error::validation(
                "countryCode",
                format!("unknown country {code}"),
            ))
        }
    }

    fn rate(&self, currency: &str) -> Result<(String, Decimal, String)> {
        let code = CurrencyCode::parse(currency)?;
        self.rates
            .get(code.as_str())
            .map(|(rate, citation)| (code.as_str().to_string(), *rate, citation.clone()))
            .ok_or_else(|| Error::validation("currency", format!("no USD rate for {code}")))
    }

    /// `(amount text, currency, USD cents)` of seeded money.
    fn money(&self, money: &SeedMoney) -> Result<(String, String, i64)> {
        let amount = values::amount("amount", &money.amount)?;
        let (currency, rate, _) = self.rate(&money.currency)?;
        Ok((
            amount.to_string(),
            currency,
            values::to_usd_cents(amount, rate)?,
        ))
    }
}

/// Loads the information base into an empty database, in one transaction.
pub async fn seed_information_base(
    db: &DatabaseConnection,
    base: &InformationBase,
) -> Result<SeedReport> {
    let txn = db.begin().await.map_err(db_err)?;
    let reference = Reference::load(&txn).await?;
    let now = Utc::now();
    let mut report = SeedReport::default();

    let mut cities: HashMap<String, Id> = HashMap::new();
    let mut city_blocs: HashMap<Id, Bloc> = HashMap::new();
    for c in &base.cities {
        let record = format!("cities[{}]", c.key);
        let country_code = reference.country(&c.country_code).map_err(at(&record))?;
        let model = city::ActiveModel {
            name: Set(values::bounded_text("name", &c.name, limits::NAME).map_err(at(&record))?),
            kind: Set(c.kind.as_str().to_string()),
            country_code: Set(country_code.clone()),
            population: Set(c.population),
            latitude: Set(c.latitude),
            longitude: Set(c.longitude),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = city::Entity::insert(model)
            .exec(&txn)
            .await
            .map_err(db_err)?
            .last_insert_id;
        if cities.insert(c.key.clone(), id).is_some() {
            return Err(Error::validation(record, "duplicate key"));
        }
        city_blocs.insert(id, reference.blocs[&country_code]);
        report.cities += 1;
    }

    let mut associations: HashMap<String, Id> = HashMap::new();
    for a in &base.associations {
        let record = format!("associations[{}]", a.key);
        let model = association::ActiveModel {
            name: Set(values::bounded_text("name", &a.name, limits::NAME).map_err(at(&record))?),
            acronym: Set(
                values::optional_text("acronym", a.acronym.as_deref(), 40).map_err(at(&record))?
            ),
            scope: Set(a.scope.as_str().to_string()),
            country_code: Set(a
                .country_code
                .as_deref()
                .map(|c| reference.country(c))
                .transpose()
                .map_err(at(&record))?),
            description: Set(values::optional_text(
                "description",
                a.description.as_deref(),
                limits::LONG_TEXT,
            )
            .map_err(at(&record))?),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = association::Entity::insert(model)
            .exec(&txn)
            .await
            .map_err(db_err)?
            .last_insert_id;
        if associations.insert(a.key.clone(), id).is_some() {
            return Err(Error::validation(record, "duplicate key"));
        }
        report.associations += 1;
    }
    for a in &base.associations {
        let record = format!("associations[{}]", a.key);
        let id = associations[&a.key];
        let members = a
            .member_cities
            .iter()
            .map(|k| lookup(&cities, "city", k, &record))
            .collect::<Result<std::collections::BTreeSet<_>>>()?;
        if !members.is_empty() {
            let rows = members
                .into_iter()
                .map(|city_id| association_city::ActiveModel {
                    association_id: Set(id),
                    city_id: Set(city_id),
                });
            association_city::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        let members = a
            .member_associations
            .iter()
            .map(|k| lookup(&associations, "association", k, &record))
            .collect::<Result<std::collections::BTreeSet<_>>>()?;
        if !members.is_empty() {
            let rows = members
                .into_iter()
                .map(|m| association_member::ActiveModel {
                    association_id: Set(id),
                    member_id: Set(m),
                });
            association_member::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
    }

    let mut donors: HashMap<String, Id> = HashMap::new();
    for d in &base.donors {
        let record = format!("donors[{}]", d.key);
        let model = donor::ActiveModel {
            name: Set(values::bounded_text("name", &d.name, limits::NAME).map_err(at(&record))?),
            acronym: Set(
                values::optional_text("acronym", d.acronym.as_deref(), 40).map_err(at(&record))?
            ),
            kind: Set(d.kind.as_str().to_string()),
            country_code: Set(d
                .country_code
                .as_deref()
                .map(|c| reference.country(c))
                .transpose()
                .map_err(at(&record))?),
            description: Set(values::optional_text(
                "description",
                d.description.as_deref(),
                limits::LONG_TEXT,
            )
            .map_err(at(&record))?),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = donor::Entity::insert(model)
            .exec(&txn)
            .await
            .map_err(db_err)?
            .last_insert_id;
        if donors.insert(d.key.clone(), id).is_some() {
            return Err(Error::validation(record, "duplicate key"));
        }
        let mut agenda: Vec<(String, String)> = Vec::new();
        agenda.extend(
            d.agenda
                .themes
                .iter()
                .map(|t| (Dimension::Theme.as_str().into(), t.as_str().into())),
        );
        agenda.extend(
            d.agenda
                .orientations
                .iter()
                .map(|o| (Dimension::Orientation.as_str().into(), o.as_str().into())),
        );
        for c in &d.agenda.country_codes {
            agenda.push((
                Dimension::Country.as_str().into(),
                reference.country(c).map_err(at(&record))?,
            ));
        }
        agenda.sort();
        agenda.dedup();
        if !agenda.is_empty() {
            let rows = agenda
                .into_iter()
                .map(|(dimension, value)| donor_agenda::ActiveModel {
                    donor_id: Set(id),
                    dimension: Set(dimension),
                    value: Set(value),
                });
            donor_agenda::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        report.donors += 1;
    }

    let refs = Refs {
        cities: &cities,
        donors: &donors,
        reference: &reference,
    };

    let mut schemes: HashMap<String, Id> = HashMap::new();
    for s in &base.support_schemes {
        let record = format!("supportSchemes[{}]", s.key);
        let (start_year, end_year) =
            values::year_range(s.start_year, s.end_year).map_err(at(&record))?;
        let budget = s
            .budget
            .as_ref()
            .map(|m| reference.money(m))
            .transpose()
            .map_err(at(&format!("{record}.budget")))?;
        let model = support_scheme::ActiveModel {
            status: Set(PublicationStatus::Published.as_str().into()),
            name: Set(values::bounded_text("name", &s.name, limits::NAME).map_err(at(&record))?),
            description: Set(values::optional_text(
                "description",
                s.description.as_deref(),
                limits::LONG_TEXT,
            )
            .map_err(at(&record))?),
            source: Set(
                values::optional_text("source", s.source.as_deref(), limits::SOURCE)
                    .map_err(at(&record))?,
            ),
            start_year: Set(start_year),
            end_year: Set(end_year),
            budget_amount: Set(budget.as_ref().map(|b| b.0.clone())),
            budget_currency: Set(budget.as_ref().map(|b| b.1.clone())),
            budget_usd_cents: Set(budget.as_ref().map(|b| b.2)),
            open_for_applications: Set(s.open_for_applications),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = support_scheme::Entity::insert(model)
            .exec(&txn)
            .await
            .map_err(db_err)?
            .last_insert_id;
        if schemes.insert(s.key.clone(), id).is_some() {
            return Err(Error::validation(record, "duplicate key"));
        }
        let tags = Tags {
            themes: s.themes.clone(),
            orientations: s.orientations.clone(),
            facilitating_structures: s.facilitating_structures.clone(),
            funding_sources: s.funding_sources.clone(),
            support_modalities: s.support_modalities.clone(),
            ..Default::default()
        };
        insert_tags(&txn, TagTable::Scheme, id, &tags).await?;
        let mut operators = Vec::new();
        for k in &s.operators.associations {
            operators.push((
                Some(lookup(&associations, "association", k, &record)?),
                None,
            ));
        }
        for k in &s.operators.donors {
            operators.push((None, Some(lookup(&donors, "donor", k, &record)?)));
        }
        if !operators.is_empty() {
            let rows = operators
                .into_iter()
                .map(|(a, d)| scheme_operator::ActiveModel {
                    scheme_id: Set(id),
                    association_id: Set(a),
                    donor_id: Set(d),
                    ..Default::default()
                });
            scheme_operator::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        report.funding += insert_funding(&txn, &refs, &s.funding, None, Some(id), &record).await?;
        report.schemes += 1;
    }

    for p in &base.practices {
        let record = format!("practices[{}]", p.key);
        let (start_year, end_year) =
            values::year_range(p.start_year, p.end_year).map_err(at(&record))?;
        if p.themes.is_empty() || p.cooperating_parties.is_empty() || p.management_focus.is_empty()
        {
            return Err(Error::validation(
                record,
                "themes, cooperatingParties and managementFocus must each name a value",
            ));
        }
        let mut city_roles: Vec<(Id, CityRole)> = Vec::new();
        for c in &p.cities {
            let id = lookup(&cities, "city", &c.city, &record)?;
            if city_roles.iter().any(|(existing, _)| *existing == id) {
                return Err(Error::validation(
                    format!("{record}.cities"),
                    format!("city {} listed twice", c.city),
                ));
            }
            city_roles.push((id, c.role));
        }
        let blocs: Vec<Bloc> = city_roles.iter().map(|(id, _)| city_blocs[id]).collect();
        // A historical case may keep the orientation of its time when it says why.
        let orientation = match (p.orientation, &p.orientation_note) {
            (Some(given), Some(_)) => given,
            (given, _) => orientation::resolve(given, &blocs).map_err(at(&record))?,
        };
        let required = p
            .amount_required
            .as_ref()
            .map(|m| reference.money(m))
            .transpose()
            .map_err(at(&format!("{record}.amountRequired")))?;
        let model = practice::ActiveModel {
            status: Set(PublicationStatus::Published.as_str().into()),
            title: Set(values::bounded_text("title", &p.title, limits::TITLE).map_err(at(&record))?),
            summary: Set(
                values::optional_text("summary", p.summary.as_deref(), limits::SUMMARY)
                    .map_err(at(&record))?,
            ),
            context: Set(
                values::optional_text("context", p.context.as_deref(), limits::LONG_TEXT)
                    .map_err(at(&record))?,
            ),
            outcomes: Set(values::optional_text(
                "outcomes",
                p.outcomes.as_deref(),
                limits::LONG_TEXT,
            )
            .map_err(at(&record))?),
            issues: Set(
                values::optional_text("issues", p.issues.as_deref(), limits::LONG_TEXT)
                    .map_err(at(&record))?,
            ),
            source: Set(
                values::optional_text("source", p.source.as_deref(), limits::SOURCE)
                    .map_err(at(&record))?,
            ),
            start_year: Set(start_year),
            end_year: Set(end_year),
            orientation: Set(orientation.as_str().into()),
            modality: Set(p.modality.as_str().into()),
            amount_required: Set(required.as_ref().map(|r| r.0.clone())),
            amount_required_currency: Set(required.as_ref().map(|r| r.1.clone())),
            amount_required_usd_cents: Set(required.as_ref().map(|r| r.2)),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = practice::Entity::insert(model)
            .exec(&txn)
            .await
            .map_err(db_err)?
            .last_insert_id;
        let tags = Tags {
            themes: p.themes.clone(),
            management_focus: p.management_focus.clone(),
            cooperating_parties: p.cooperating_parties.clone(),
            ..Default::default()
        };
        insert_tags(&txn, TagTable::Practice, id, &tags).await?;
        if !city_roles.is_empty() {
            let rows = city_roles
                .into_iter()
                .map(|(city_id, role)| practice_city::ActiveModel {
                    practice_id: Set(id),
                    city_id: Set(city_id),
                    role: Set(role.as_str().into()),
                });
            practice_city::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        let linked = p
            .associations
            .iter()
            .map(|k| lookup(&associations, "association", k, &record))
            .collect::<Result<std::collections::BTreeSet<_>>>()?;
        if !linked.is_empty() {
            let rows = linked
                .into_iter()
                .map(|a| practice_association::ActiveModel {
                    practice_id: Set(id),
                    association_id: Set(a),
                });
            practice_association::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        let linked = p
            .schemes
            .iter()
            .map(|k| lookup(&schemes, "scheme", k, &record))
            .collect::<Result<std::collections::BTreeSet<_>>>()?;
        if !linked.is_empty() {
            let rows = linked.into_iter().map(|s| practice_scheme::ActiveModel {
                practice_id: Set(id),
                scheme_id: Set(s),
            });
            practice_scheme::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        if !p.partners.is_empty() {
            let rows = p
                .partners
                .iter()
                .map(|partner| {
                    Ok(practice_partner::ActiveModel {
                        practice_id: Set(id),
                        name: Set(values::bounded_text(
                            "partners.name",
                            &partner.name,
                            limits::NAME,
                        )
                        .map_err(at(&record))?),
                        kind: Set(partner.kind.as_str().into()),
                        ..Default::default()
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            practice_partner::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        if !p.indicators.is_empty() {
            let number = |field: &str, v: &Option<String>| -> Result<Option<String>> {
                v.as_deref()
                    .map(|t| Decimal::from_str(t.trim()).map(|d| d.normalize().to_string()))
                    .transpose()
                    .map_err(|_| {
                        Error::validation(
                            format!("{record}.indicators.{field}"),
                            "is not a decimal number",
                        )
                    })
            };
            let rows = p
                .indicators
                .iter()
                .map(|i| {
                    Ok(indicator::ActiveModel {
                        practice_id: Set(id),
                        name: Set(
                            values::bounded_text("indicators.name", &i.name, limits::NAME)
                                .map_err(at(&record))?,
                        ),
                        unit: Set(
                            values::optional_text("indicators.unit", i.unit.as_deref(), 40)
                                .map_err(at(&record))?,
                        ),
                        baseline: Set(number("baseline", &i.baseline)?),
                        target: Set(number("target", &i.target)?),
                        actual: Set(number("actual", &i.actual)?),
                        year: Set(i
                            .year
                            .map(|y| values::year("indicators.year", y))
                            .transpose()
                            .map_err(at(&record))?),
                        ..Default::default()
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            indicator::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        report.funding += insert_funding(&txn, &refs, &p.funding, Some(id), None, &record).await?;
        report.practices += 1;
    }

    for n in &base.needs {
        let record = format!("needs[{}]", n.key);
        let city_id = lookup(&cities, "city", &n.city, &record)?;
        let required = n
            .amount_required
            .as_ref()
            .map(|m| reference.money(m))
            .transpose()
            .map_err(at(&format!("{record}.amountRequired")))?;
        let model = need::ActiveModel {
            publication: Set(PublicationStatus::Published.as_str().into()),
            city_id: Set(city_id),
            title: Set(values::bounded_text("title", &n.title, limits::TITLE).map_err(at(&record))?),
            description: Set(values::optional_text(
                "description",
                n.description.as_deref(),
                limits::LONG_TEXT,
            )
            .map_err(at(&record))?),
            source: Set(
                values::optional_text("source", n.source.as_deref(), limits::SOURCE)
                    .map_err(at(&record))?,
            ),
            modality: Set(n.modality.map(|m| m.as_str().into())),
            amount_required: Set(required.as_ref().map(|r| r.0.clone())),
            amount_required_currency: Set(required.as_ref().map(|r| r.1.clone())),
            amount_required_usd_cents: Set(required.as_ref().map(|r| r.2)),
            status: Set(n.status.as_str().into()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = need::Entity::insert(model)
            .exec(&txn)
            .await
            .map_err(db_err)?
            .last_insert_id;
        let tags = Tags {
            themes: n.themes.clone(),
            management_focus: n.management_focus.clone(),
            support_modalities: n.support_modalities.clone(),
            ..Default::default()
        };
        insert_tags(&txn, TagTable::Need, id, &tags).await?;
        report.needs += 1;
    }

    // Written around the maintained path: the funding-gap rollups are rebuilt when next asked.
    crate::rollup::invalidate(&txn).await?;
    txn.commit().await.map_err(db_err)?;
    Ok(report)
}

struct Refs<'a> {
    cities: &'a HashMap<String, Id>,
    donors: &'a HashMap<String, Id>,
    reference: &'a Reference,
}

async fn insert_funding(
    db: &impl ConnectionTrait,
    refs: &Refs<'_>,
    records: &[SeedFunding],
    practice_id: Option<Id>,
    scheme_id: Option<Id>,
    record: &str,
) -> Result<usize> {
    if records.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let record = format!("{record}.funding");
    let mut rows = Vec::new();
    for f in records {
        let (currency, rate, citation) = refs.reference.rate(&f.currency).map_err(at(&record))?;
        let amount = f
            .amount
            .as_deref()
            .map(|a| values::amount("amount", a))
            .transpose()
            .map_err(at(&record))?;
        let usd = amount
            .map(|a| values::to_usd_cents(a, rate))
            .transpose()
            .map_err(at(&record))?;
        rows.push(funding::ActiveModel {
            practice_id: Set(practice_id),
            scheme_id: Set(scheme_id),
            donor_id: Set(f
                .donor
                .as_deref()
                .map(|k| lookup(refs.donors, "donor", k, &record))
                .transpose()?),
            source_city_id: Set(f
                .source_city
                .as_deref()
                .map(|k| lookup(refs.cities, "city", k, &record))
                .transpose()?),
            source_name: Set(values::optional_text(
                "sourceName",
                f.source_name.as_deref(),
                limits::NAME,
            )
            .map_err(at(&record))?),
            source_type: Set(f.source_type.as_str().into()),
            amount: Set(amount.map(|a| a.to_string())),
            currency: Set(currency),
            rate: Set(rate.to_string()),
            rate_source: Set(Some(citation)),
            amount_usd_cents: Set(usd),
            year: Set(f
                .year
                .map(|y| values::year("year", y))
                .transpose()
                .map_err(at(&record))?),
            status: Set(f.status.as_str().into()),
            confidential: Set(false),
            note: Set(values::optional_text("note", f.note.as_deref(), 1000).map_err(at(&record))?),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    let n = rows.len();
    funding::Entity::insert_many(rows)
        .exec(db)
        .await
        .map_err(db_err)?;
    Ok(n)
}

#[derive(Clone, Copy)]
enum TagTable {
    Practice,
    Scheme,
    Need,
}

async fn insert_tags(
    db: &impl ConnectionTrait,
    table: TagTable,
    id: Id,
    tags: &Tags,
) -> Result<()> {
    let rows = tag_rows(tags);
    if rows.is_empty() {
        return Ok(());
    }
    let result = match table {
        TagTable::Practice => practice_tag::Entity::insert_many(rows.into_iter().map(|(d, v)| {
            practice_tag::ActiveModel {
                practice_id: Set(id),
                dimension: Set(d.as_str().into()),
                value: Set(v.into()),
            }
        }))
        .exec(db)
        .await
        .map(|_| ()),
        TagTable::Scheme => scheme_tag::Entity::insert_many(rows.into_iter().map(|(d, v)| {
            scheme_tag::ActiveModel {
                scheme_id: Set(id),
                dimension: Set(d.as_str().into()),
                value: Set(v.into()),
            }
        }))
        .exec(db)
        .await
        .map(|_| ()),
        TagTable::Need => {
            need_tag::Entity::insert_many(rows.into_iter().map(|(d, v)| need_tag::ActiveModel {
                need_id: Set(id),
                dimension: Set(d.as_str().into()),
                value: Set(v.into()),
            }))
            .exec(db)
            .await
            .map(|_| ())
        }
    };
    result.map_err(db_err)
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
