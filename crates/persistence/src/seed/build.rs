//! Seeded records checked and normalised into the domain's records, with the domain's own
//! validation: the texts' bounds, years, amounts, codes and the orientation rule are those a
//! change through the editor obeys.

use std::collections::HashMap;
use std::str::FromStr;

use domain::editing::{NeedRecord, PracticeRecord, SchemeRecord};
use domain::entities::*;
use domain::framework::*;
use domain::values::{self, CountryCode, CurrencyCode, bounded_text, limits, optional_text};
use domain::{Error, Result, orientation};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, EntityTrait};

use super::format::*;
use crate::entities::{country, currency_rate};
use crate::store::db_err;

/// Prefixes a validation error's field with `place`, e.g. `practices[gulu]` + `title`.
pub(super) fn at(place: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Validation { field, message } => Error::Validation {
            field: format!("{place}.{field}"),
            message,
        },
        other => other,
    }
}

/// The ids given to the records loaded so far, by key.
#[derive(Default)]
pub(super) struct Keys {
    pub(super) cities: HashMap<String, Id>,
    pub(super) city_blocs: HashMap<Id, Bloc>,
    pub(super) associations: HashMap<String, Id>,
    pub(super) donors: HashMap<String, Id>,
    pub(super) schemes: HashMap<String, Id>,
}

/// The id of the record of `kind` keyed `key`.
pub(super) fn lookup(map: &HashMap<String, Id>, kind: &str, key: &str) -> Result<Id> {
    map.get(key)
        .copied()
        .ok_or_else(|| Error::validation(kind, format!("unknown {kind} key {key:?}")))
}

/// Records `id` under `key`; a key may name one record only.
pub(super) fn remember(
    map: &mut HashMap<String, Id>,
    key: &str,
    id: Id,
    place: &str,
) -> Result<()> {
    match map.insert(key.to_string(), id) {
        Some(_) => Err(Error::validation(place, "duplicate key")),
        None => Ok(()),
    }
}

/// The USD rates and country blocs seeded records are checked and converted against.
pub(super) struct Reference {
    rates: HashMap<String, CurrencyRate>,
    pub(super) blocs: HashMap<String, Bloc>,
}

impl Reference {
    pub(super) async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let rates = currency_rate::Entity::find()
            .all(db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|r| {
                let usd_per_unit = Decimal::from_str(&r.usd_per_unit).map_err(Error::internal)?;
                let rate = CurrencyRate {
                    currency: r.currency.clone(),
                    usd_per_unit,
                    as_of: r.as_of,
                    source: r.source,
                };
                Ok((r.currency, rate))
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

    /// A known country's code, normalised.
    pub(super) fn country(&self, code: &str) -> Result<String> {
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

    fn optional_country(&self, code: Option<&str>) -> Result<Option<String>> {
        code.map(|c| self.country(c)).transpose()
    }

    fn rate(&self, currency: &str) -> Result<&CurrencyRate> {
        let code = CurrencyCode::parse(currency)?;
        self.rates
            .get(code.as_str())
            .ok_or_else(|| Error::validation("currency", format!("no USD rate for {code}")))
    }

    /// `(amount, currency, USD cents)` of seeded money.
    fn money(
        &self,
        money: Option<&SeedMoney>,
    ) -> Result<(Option<Decimal>, Option<String>, Option<i64>)> {
        let Some(money) = money else {
            return Ok((None, None, None));
        };
        let amount = values::amount("amount", &money.amount)?;
        let rate = self.rate(&money.currency)?;
        let cents = values::to_usd_cents(amount, rate.usd_per_unit)?;
        Ok((Some(amount), Some(rate.currency.clone()), Some(cents)))
    }

    pub(super) fn city(&self, c: &SeedCity) -> Result<City> {
        Ok(City {
            id: 0,
            version: 1,
            name: bounded_text("name", &c.name, limits::NAME)?,
            kind: c.kind,
            country_code: self.country(&c.country_code)?,
            population: c.population,
            latitude: c.latitude,
            longitude: c.longitude,
        })
    }

    pub(super) fn association(&self, a: &SeedAssociation) -> Result<Association> {
        Ok(Association {
            id: 0,
            version: 1,
            name: bounded_text("name", &a.name, limits::NAME)?,
            acronym: optional_text("acronym", a.acronym.as_deref(), 40)?,
            scope: a.scope,
            country_code: self.optional_country(a.country_code.as_deref())?,
            description: optional_text("description", a.description.as_deref(), limits::LONG_TEXT)?,
        })
    }

    pub(super) fn donor(&self, d: &SeedDonor) -> Result<(Donor, Agenda)> {
        let donor = Donor {
            id: 0,
            version: 1,
            name: bounded_text("name", &d.name, limits::NAME)?,
            acronym: optional_text("acronym", d.acronym.as_deref(), 40)?,
            kind: d.kind,
            country_code: self.optional_country(d.country_code.as_deref())?,
            description: optional_text("description", d.description.as_deref(), limits::LONG_TEXT)?,
        };
        let agenda = Agenda {
            themes: d.agenda.themes.clone(),
            orientations: d.agenda.orientations.clone(),
            country_codes: d
                .agenda
                .country_codes
                .iter()
                .map(|c| self.country(c))
                .collect::<Result<_>>()?,
        };
        Ok((donor, agenda))
    }

    pub(super) fn scheme(&self, s: &SeedScheme, keys: &Keys) -> Result<SchemeRecord> {
        let (start_year, end_year) = values::year_range(s.start_year, s.end_year)?;
        let (budget, currency, cents) = self.money(s.budget.as_ref()).map_err(at("budget"))?;
        let mut operators = Vec::new();
        for k in &s.operators.associations {
            operators.push(Operator::Association(lookup(
                &keys.associations,
                "association",
                k,
            )?));
        }
        for k in &s.operators.donors {
            operators.push(Operator::Donor(lookup(&keys.donors, "donor", k)?));
        }
        Ok(SchemeRecord {
            scheme: SupportScheme {
                id: 0,
                version: 1,
                status: PublicationStatus::Published,
                name: bounded_text("name", &s.name, limits::NAME)?,
                description: optional_text(
                    "description",
                    s.description.as_deref(),
                    limits::LONG_TEXT,
                )?,
                source: optional_text("source", s.source.as_deref(), limits::SOURCE)?,
                start_year,
                end_year,
                budget_amount: budget,
                budget_currency: currency,
                open_for_applications: s.open_for_applications,
            },
            tags: Tags {
                themes: s.themes.clone(),
                orientations: s.orientations.clone(),
                facilitating_structures: s.facilitating_structures.clone(),
                funding_sources: s.funding_sources.clone(),
                support_modalities: s.support_modalities.clone(),
                ..Default::default()
            },
            operators,
            owner: None,
            budget_usd_cents: cents,
        })
    }

    pub(super) fn practice(&self, p: &SeedPractice, keys: &Keys) -> Result<PracticeRecord> {
        // The lists a practice shows unpaged are bounded, seeded or edited alike.
        for (field, len, max) in [
            ("cities", p.cities.len(), limits::MAX_CITIES),
            (
                "associations",
                p.associations.len(),
                limits::MAX_ASSOCIATIONS,
            ),
            ("partners", p.partners.len(), limits::MAX_PARTNERS),
            ("indicators", p.indicators.len(), limits::MAX_INDICATORS),
        ] {
            if len > max {
                return Err(Error::validation(field, format!("at most {max}")));
            }
        }
        let (start_year, end_year) = values::year_range(p.start_year, p.end_year)?;
        let mut cities: Vec<(Id, CityRole)> = Vec::new();
        for c in &p.cities {
            let id = lookup(&keys.cities, "city", &c.city)?;
            if cities.iter().any(|(existing, _)| *existing == id) {
                return Err(Error::validation(
                    "cities",
                    format!("city {} listed twice", c.city),
                ));
            }
            cities.push((id, c.role));
        }
        let blocs: Vec<Bloc> = cities.iter().map(|(id, _)| keys.city_blocs[id]).collect();
        // A historical case may keep the orientation of its time when it says why.
        let orientation = match (p.orientation, &p.orientation_note) {
            (Some(given), Some(_)) => given,
            (given, _) => orientation::resolve(given, &blocs)?,
        };
        let (amount, currency, cents) = self
            .money(p.amount_required.as_ref())
            .map_err(at("amountRequired"))?;
        let mut association_ids = p
            .associations
            .iter()
            .map(|k| lookup(&keys.associations, "association", k))
            .collect::<Result<Vec<_>>>()?;
        association_ids.sort();
        association_ids.dedup();
        Ok(PracticeRecord {
            practice: Practice {
                id: 0,
                version: 1,
                status: PublicationStatus::Published,
                title: bounded_text("title", &p.title, limits::TITLE)?,
                summary: optional_text("summary", p.summary.as_deref(), limits::SUMMARY)?,
                context: optional_text("context", p.context.as_deref(), limits::LONG_TEXT)?,
                outcomes: optional_text("outcomes", p.outcomes.as_deref(), limits::LONG_TEXT)?,
                issues: optional_text("issues", p.issues.as_deref(), limits::LONG_TEXT)?,
                source: optional_text("source", p.source.as_deref(), limits::SOURCE)?,
                start_year,
                end_year,
                orientation,
                modality: p.modality,
                amount_required: amount,
                amount_required_currency: currency,
            },
            tags: Tags {
                themes: p.themes.clone(),
                management_focus: p.management_focus.clone(),
                cooperating_parties: p.cooperating_parties.clone(),
                ..Default::default()
            },
            cities,
            association_ids,
            indicators: p.indicators.iter().map(indicator).collect::<Result<_>>()?,
            owner: None,
            amount_required_usd_cents: cents,
        })
    }

    pub(super) fn need(&self, n: &SeedNeed, keys: &Keys) -> Result<NeedRecord> {
        let (amount, currency, cents) = self
            .money(n.amount_required.as_ref())
            .map_err(at("amountRequired"))?;
        Ok(NeedRecord {
            need: Need {
                id: 0,
                version: 1,
                publication: PublicationStatus::Published,
                city_id: lookup(&keys.cities, "city", &n.city)?,
                title: bounded_text("title", &n.title, limits::TITLE)?,
                description: optional_text(
                    "description",
                    n.description.as_deref(),
                    limits::LONG_TEXT,
                )?,
                source: optional_text("source", n.source.as_deref(), limits::SOURCE)?,
                modality: n.modality,
                amount_required: amount,
                amount_required_currency: currency,
                status: n.status,
            },
            tags: Tags {
                themes: n.themes.clone(),
                management_focus: n.management_focus.clone(),
                support_modalities: n.support_modalities.clone(),
                ..Default::default()
            },
            owner: None,
            amount_required_usd_cents: cents,
        })
    }

    /// A funding record of the practice or scheme the caller names, its amount in USD cents.
    pub(super) fn funding(&self, f: &SeedFunding, keys: &Keys) -> Result<(Funding, Option<i64>)> {
        let rate = self.rate(&f.currency)?;
        let amount = f
            .amount
            .as_deref()
            .map(|a| values::amount("amount", a))
            .transpose()?;
        let cents = amount
            .map(|a| values::to_usd_cents(a, rate.usd_per_unit))
            .transpose()?;
        let funding = Funding {
            id: 0,
            version: 1,
            practice_id: None,
            scheme_id: None,
            donor_id: f
                .donor
                .as_deref()
                .map(|k| lookup(&keys.donors, "donor", k))
                .transpose()?,
            source_city_id: f
                .source_city
                .as_deref()
                .map(|k| lookup(&keys.cities, "city", k))
                .transpose()?,
            source_name: optional_text("sourceName", f.source_name.as_deref(), limits::NAME)?,
            source_type: f.source_type,
            amount,
            currency: rate.currency.clone(),
            rate: rate.usd_per_unit,
            rate_source: Some(rate.citation()),
            amount_usd: cents.map(values::cents_to_decimal),
            year: f.year.map(|y| values::year("year", y)).transpose()?,
            status: f.status,
            confidential: false,
            note: optional_text("note", f.note.as_deref(), 1000)?,
        };
        Ok((funding, cents))
    }
}

/// An indicator as a practice stores it; its values are exact decimals, possibly negative.
fn indicator(i: &SeedIndicator) -> Result<Indicator> {
    let number = |field: &str, v: &Option<String>| -> Result<Option<Decimal>> {
        v.as_deref()
            .map(|t| Decimal::from_str(t.trim()).map(|d| d.normalize()))
            .transpose()
            .map_err(|_| {
                Error::validation(format!("indicators.{field}"), "is not a decimal number")
            })
    };
    Ok(Indicator {
        id: 0,
        practice_id: 0,
        name: bounded_text("indicators.name", &i.name, limits::NAME)?,
        unit: optional_text("indicators.unit", i.unit.as_deref(), 40)?,
        baseline: number("baseline", &i.baseline)?,
        target: number("target", &i.target)?,
        actual: number("actual", &i.actual)?,
        year: i
            .year
            .map(|y| values::year("indicators.year", y))
            .transpose()?,
    })
}
