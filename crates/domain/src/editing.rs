//! Changes to the information base: who may make them (DESIGN: the three partner groups), what a
//! valid record is, and no lost updates (every change names the version it was based on).
//!
//! Every change is written with its audit entry in one transaction by the repository.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::actor::{Affiliation, Role};
use crate::audit::{AuditEntry, AuditFilter};
use crate::entities::*;
use crate::framework::*;
use crate::page::{Page, PageRequest};
use crate::values::{self, CountryCode, CurrencyCode, bounded_text, limits, optional_text};
use crate::{Actor, Error, Result, orientation};

/// A practice with everything a change may touch.
#[derive(Debug, Clone, PartialEq)]
pub struct PracticeRecord {
    pub practice: Practice,
    pub tags: Tags,
    pub cities: Vec<(Id, CityRole)>,
    pub association_ids: Vec<Id>,
    pub indicators: Vec<Indicator>,
    pub owner: Option<Affiliation>,
    pub amount_required_usd_cents: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchemeRecord {
    pub scheme: SupportScheme,
    pub tags: Tags,
    pub operators: Vec<Operator>,
    pub owner: Option<Affiliation>,
    pub budget_usd_cents: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NeedRecord {
    pub need: Need,
    pub tags: Tags,
    pub owner: Option<Affiliation>,
    pub amount_required_usd_cents: Option<i64>,
}

#[async_trait]
pub trait EditRepository: Send + Sync {
    async fn practice_record(&self, id: Id) -> Result<Option<PracticeRecord>>;
    /// Inserts (id 0) or replaces the practice; with `expected_version`, only if the stored
    /// version still is that one (CONFLICT otherwise). Writes `audit` in the same transaction.
    async fn save_practice(
        &self,
        record: &PracticeRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Practice>;
    async fn scheme_record(&self, id: Id) -> Result<Option<SchemeRecord>>;
    async fn save_scheme(
        &self,
        record: &SchemeRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<SupportScheme>;
    /// Links a scheme to a practice; linking twice changes nothing and is not an error.
    async fn link_scheme(&self, scheme_id: Id, practice_id: Id, audit: AuditEntry) -> Result<()>;
    async fn funding_by_id(&self, id: Id) -> Result<Option<(Funding, Option<i64>)>>;
    /// `amount_usd_cents` is what aggregates add up.
    async fn save_funding(
        &self,
        funding: &Funding,
        amount_usd_cents: Option<i64>,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Funding>;
    async fn need_record(&self, id: Id) -> Result<Option<NeedRecord>>;
    async fn save_need(
        &self,
        record: &NeedRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Need>;
    async fn city(&self, id: Id) -> Result<Option<City>>;
    async fn association(&self, id: Id) -> Result<Option<Association>>;
    async fn donor_with_agenda(&self, id: Id) -> Result<Option<(Donor, Agenda)>>;
    async fn save_city(
        &self,
        city: &City,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<City>;
    async fn save_association(
        &self,
        association: &Association,
        expected_version: i32,
        audit: AuditEntry,
    ) -> Result<Association>;
    async fn save_donor(
        &self,
        donor: &Donor,
        agenda: &Agenda,
        expected_version: i32,
        audit: AuditEntry,
    ) -> Result<Donor>;

    async fn usd_rate(&self, currency: &str) -> Result<Option<CurrencyRate>>;
    async fn currency_rates(&self) -> Result<Vec<CurrencyRate>>;
    /// Inserts or replaces the rate of a currency; records made later convert at it.
    async fn save_rate(&self, rate: &CurrencyRate, audit: AuditEntry) -> Result<CurrencyRate>;
    async fn country_bloc(&self, code: &str) -> Result<Option<Bloc>>;
    async fn city_blocs(&self, city_ids: &[Id]) -> Result<Vec<(Id, Bloc)>>;
    async fn existing_ids(&self, table: ExistsIn, ids: &[Id]) -> Result<Vec<Id>>;

    async fn audit_log(&self, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEntry>>;
    async fn count_audit(&self, filter: &AuditFilter) -> Result<i64>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistsIn {
    Cities,
    Associations,
    Donors,
    Practices,
    Schemes,
}

/// Fields of a practice as a client sends them. On update an absent field keeps its value; an
/// empty string clears an optional text.
#[derive(Debug, Clone, Default)]
pub struct PracticeInput {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub context: Option<String>,
    pub outcomes: Option<String>,
    pub issues: Option<String>,
    pub source: Option<String>,
    pub themes: Option<Vec<Theme>>,
    pub modality: Option<LinkingModality>,
    pub management_focus: Option<Vec<ManagementFocus>>,
    pub cooperating_parties: Option<Vec<CooperatingParty>>,
    pub orientation: Option<GeographicOrientation>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub city_ids: Option<Vec<Id>>,
    /// Cities among `city_ids` that lead; by default the first listed.
    pub lead_city_ids: Option<Vec<Id>>,
    pub association_ids: Option<Vec<Id>>,
    pub amount_required: Option<Decimal>,
    pub amount_required_currency: Option<String>,
    /// Replaces the practice's indicators.
    pub indicators: Option<Vec<IndicatorInput>>,
}

/// How a practice measures success: one indicator with baseline, target and actual values.
#[derive(Debug, Clone, Default)]
pub struct IndicatorInput {
    pub name: String,
    pub unit: Option<String>,
    pub baseline: Option<Decimal>,
    pub target: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub year: Option<i32>,
}

pub const MAX_INDICATORS: usize = 50;

#[derive(Debug, Clone, Default)]
pub struct SchemeInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub facilitating_structures: Option<Vec<FacilitatingStructure>>,
    pub funding_sources: Option<Vec<FundingSource>>,
    pub support_modalities: Option<Vec<SupportModality>>,
    pub themes: Option<Vec<Theme>>,
    pub orientations: Option<Vec<GeographicOrientation>>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub budget: Option<Decimal>,
    pub budget_currency: Option<String>,
    pub open_for_applications: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct FundingInput {
    pub practice_id: Option<Id>,
    pub scheme_id: Option<Id>,
    /// Only the secretariat names a donor; a donor's records are its own.
    pub donor_id: Option<Id>,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub year: Option<i32>,
    pub status: Option<FundingStatus>,
    pub source_type: Option<FundingSource>,
    pub source_name: Option<String>,
    pub confidential: Option<bool>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NeedInput {
    /// The city asking; a practitioner's own city by default.
    pub city_id: Option<Id>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub themes: Option<Vec<Theme>>,
    pub management_focus: Option<Vec<ManagementFocus>>,
    pub modality: Option<LinkingModality>,
    pub support_modalities: Option<Vec<SupportModality>>,
    pub amount_required: Option<Decimal>,
    pub amount_required_currency: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CityInput {
    pub name: Option<String>,
    pub kind: Option<CityKind>,
    pub country_code: Option<String>,
    pub population: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct AssociationInput {
    pub name: Option<String>,
    pub acronym: Option<String>,
    pub scope: Option<AssociationScope>,
    pub country_code: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DonorInput {
    pub name: Option<String>,
    pub acronym: Option<String>,
    pub kind: Option<DonorKind>,
    pub country_code: Option<String>,
    pub description: Option<String>,
    pub agenda_themes: Option<Vec<Theme>>,
    pub agenda_orientations: Option<Vec<GeographicOrientation>>,
    pub agenda_country_codes: Option<Vec<String>>,
}

/// Records the names of the fields an input sets, for the audit trail.
#[derive(Default)]
struct Changes(Vec<String>);

impl Changes {
    fn set<T>(&mut self, name: &str, value: &Option<T>) -> bool {
        if value.is_some() {
            self.0.push(name.to_string());
        }
        value.is_some()
    }
}

fn dedup<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut v = values.to_vec();
    v.sort();
    v.dedup();
    v
}

fn non_empty<T>(field: &str, values: &[T]) -> Result<()> {
    if values.is_empty() {
        Err(Error::validation(field, "must name at least one value"))
    } else {
        Ok(())
    }
}

fn forbidden(why: &str) -> Error {
    Error::Forbidden(why.into())
}

#[derive(Clone)]
pub struct Editor {
    repo: Arc<dyn EditRepository>,
}

impl Editor {
    pub fn new(repo: Arc<dyn EditRepository>) -> Self {
        Editor { repo }
    }

    // ---- authorization: the one place that decides who may change what ----

    /// A practice may be changed by the secretariat and by practitioners of a city taking part
    /// in it or of an association involved in it.
    fn may_edit_practice(actor: &Actor, cities: &[Id], associations: &[Id]) -> Result<()> {
        match actor.approved()? {
            (_, Role::Admin, _) => Ok(()),
            (_, Role::Practitioner, Some(Affiliation::City(c))) if cities.contains(c) => Ok(()),
            (_, Role::Practitioner, Some(Affiliation::Association(a)))
                if associations.contains(a) =>
            {
                Ok(())
            }
            _ => Err(forbidden(
                "only practitioners of the practice's cities or associations may change it",
            )),
        }
    }

    fn may_edit_scheme(actor: &Actor, operators: &[Operator]) -> Result<()> {
        match actor.approved()? {
            (_, Role::Admin, _) => Ok(()),
            (_, Role::SupportProvider, Some(Affiliation::Association(a)))
                if operators.contains(&Operator::Association(*a)) =>
            {
                Ok(())
            }
            _ => Err(forbidden(
                "only support providers of an operating association may change this scheme",
            )),
        }
    }

    fn may_edit_need(actor: &Actor, city_id: Id) -> Result<()> {
        match actor.approved()? {
            (_, Role::Admin, _) => Ok(()),
            (_, Role::Practitioner, Some(Affiliation::City(c))) if *c == city_id => Ok(()),
            _ => Err(forbidden(
                "only practitioners of the city may change its needs",
            )),
        }
    }

    /// Own-budget and local-partner funding belongs to the practice's cities; everything else to
    /// the donor who is its source.
    fn may_edit_funding(
        actor: &Actor,
        donor_id: Option<Id>,
        source_type: FundingSource,
        practice_cities: &[Id],
    ) -> Result<()> {
        let local = matches!(
            source_type,
            FundingSource::OwnBudget | FundingSource::LocalPartners
        );
        match actor.approved()? {
            (_, Role::Admin, _) => Ok(()),
            (_, Role::Donor, Some(Affiliation::Donor(d))) if donor_id == Some(*d) && !local => {
                Ok(())
            }
            (_, Role::Practitioner, Some(Affiliation::City(c)))
                if local && donor_id.is_none() && practice_cities.contains(c) =>
            {
                Ok(())
            }
            _ => Err(forbidden(
                "only the donor who is the source, or for own-budget and local-partner funding a practitioner of the practice's city, may record this funding",
            )),
        }
    }

    // ---- helpers ----

    async fn require_existing(&self, table: ExistsIn, field: &str, ids: &[Id]) -> Result<()> {
        let ids = dedup(ids);
        if ids.is_empty() {
            return Ok(());
        }
        let found = self.repo.existing_ids(table, &ids).await?;
        match ids.iter().find(|id| !found.contains(id)) {
            Some(missing) => Err(Error::validation(
                field,
                format!("{missing} does not exist"),
            )),
            None => Ok(()),
        }
    }

    async fn country(&self, code: &str) -> Result<String> {
        let code = CountryCode::parse(code)?;
        match self.repo.country_bloc(code.as_str()).await? {
            Some(_) => Ok(code.as_str().to_string()),
            None => Err(Error::validation(
                "countryCode",
                format!("unknown country {code}"),
            )),
        }
    }

    /// `(amount, currency, USD cents)` of an optional amount with its currency.
    async fn money(
        &self,
        amount_field: &str,
        amount: Option<Decimal>,
        currency: Option<&str>,
    ) -> Result<Option<(Decimal, String, i64)>> {
        let Some(amount) = amount else {
            return Ok(None);
        };
        let amount = values::non_negative(amount_field, amount)?;
        let currency = CurrencyCode::parse(
            currency.ok_or_else(|| Error::validation("currency", "required with an amount"))?,
        )?;
        let rate = self
            .repo
            .usd_rate(currency.as_str())
            .await?
            .ok_or_else(|| Error::validation("currency", format!("no USD rate for {currency}")))?;
        Ok(Some((
            amount,
            currency.as_str().to_string(),
            values::to_usd_cents(amount, rate.usd_per_unit)?,
        )))
    }

    // ---- practices ----

    pub async fn create_practice(&self, actor: &Actor, input: PracticeInput) -> Result<Practice> {
        actor.approved()?;
        let mut record = PracticeRecord {
            practice: Practice {
                id: 0,
                version: 1,
                status: PublicationStatus::Draft,
                title: String::new(),
                summary: None,
                context: None,
                outcomes: None,
                issues: None,
                source: None,
                start_year: None,
                end_year: None,
                orientation: GeographicOrientation::Global,
                modality: input
                    .modality
                    .ok_or_else(|| Error::validation("modality", "required"))?,
                amount_required: None,
                amount_required_currency: None,
            },
            tags: Tags::default(),
            cities: vec![],
            association_ids: vec![],
            indicators: vec![],
            owner: None,
            amount_required_usd_cents: None,
        };
        if input.title.is_none() {
            return Err(Error::validation("title", "required"));
        }
        let changes = self.apply_practice(&mut record, input, true).await?;
        let cities: Vec<Id> = record.cities.iter().map(|(c, _)| *c).collect();
        Self::may_edit_practice(actor, &cities, &record.association_ids)?;
        record.owner = match actor {
            Actor::User { affiliation, .. } => affiliation.clone(),
            _ => None,
        };
        let audit = AuditEntry::new(actor, "CREATE", "Practice", 0, changes.0);
        self.repo.save_practice(&record, None, audit).await
    }

    pub async fn update_practice(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        input: PracticeInput,
    ) -> Result<Practice> {
        let mut record = self.practice_for_change(actor, id).await?;
        let changes = self.apply_practice(&mut record, input, false).await?;
        // The editor must still be entitled after the change (a city cannot drop itself out of reach).
        let cities: Vec<Id> = record.cities.iter().map(|(c, _)| *c).collect();
        Self::may_edit_practice(actor, &cities, &record.association_ids)?;
        let audit = AuditEntry::new(actor, "UPDATE", "Practice", id, changes.0);
        self.repo.save_practice(&record, Some(version), audit).await
    }

    pub async fn set_practice_status(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        status: PublicationStatus,
    ) -> Result<Practice> {
        let mut record = self.practice_for_change(actor, id).await?;
        record.practice.status = status;
        let action = match status {
            PublicationStatus::Published => "PUBLISH",
            PublicationStatus::Archived => "ARCHIVE",
            PublicationStatus::Draft => "UNPUBLISH",
        };
        let audit = AuditEntry::new(actor, action, "Practice", id, vec!["status".into()]);
        self.repo.save_practice(&record, Some(version), audit).await
    }

    async fn practice_for_change(&self, actor: &Actor, id: Id) -> Result<PracticeRecord> {
        actor.approved()?;
        let record = self
            .repo
            .practice_record(id)
            .await?
            .ok_or_else(|| Error::not_found("Practice", id))?;
        let cities: Vec<Id> = record.cities.iter().map(|(c, _)| *c).collect();
        Self::may_edit_practice(actor, &cities, &record.association_ids)?;
        Ok(record)
    }

    async fn apply_practice(
        &self,
        r: &mut PracticeRecord,
        i: PracticeInput,
        creating: bool,
    ) -> Result<Changes> {
        let mut ch = Changes::default();
        let p = &mut r.practice;
        if ch.set("title", &i.title) {
            p.title = bounded_text(
                "title",
                i.title.as_deref().unwrap_or_default(),
                limits::TITLE,
            )?;
        }
        if ch.set("summary", &i.summary) {
            p.summary = optional_text("summary", i.summary.as_deref(), limits::SUMMARY)?;
        }
        if ch.set("context", &i.context) {
            p.context = optional_text("context", i.context.as_deref(), limits::LONG_TEXT)?;
        }
        if ch.set("outcomes", &i.outcomes) {
            p.outcomes = optional_text("outcomes", i.outcomes.as_deref(), limits::LONG_TEXT)?;
        }
        if ch.set("issues", &i.issues) {
            p.issues = optional_text("issues", i.issues.as_deref(), limits::LONG_TEXT)?;
        }
        if ch.set("source", &i.source) {
            p.source = optional_text("source", i.source.as_deref(), limits::SOURCE)?;
        }
        if let Some(m) = i.modality {
            ch.0.push("modality".into());
            p.modality = m;
        }
        if ch.set("startYear", &i.start_year) | ch.set("endYear", &i.end_year) || creating {
            let start = i.start_year.or(p.start_year);
            let end = i.end_year.or(p.end_year);
            let (s, e) = values::year_range(start, end)?;
            p.start_year = s;
            p.end_year = e;
        }
        if let Some(v) = &i.themes {
            ch.0.push("themes".into());
            r.tags.themes = dedup(v);
        }
        if let Some(v) = &i.management_focus {
            ch.0.push("managementFocus".into());
            r.tags.management_focus = dedup(v);
        }
        if let Some(v) = &i.cooperating_parties {
            ch.0.push("cooperatingParties".into());
            r.tags.cooperating_parties = dedup(v);
        }
        non_empty("themes", &r.tags.themes)?;
        non_empty("managementFocus", &r.tags.management_focus)?;
        non_empty("cooperatingParties", &r.tags.cooperating_parties)?;
        if let Some(ids) = &i.city_ids {
            ch.0.push("cityIds".into());
            let ids = {
                let mut seen = Vec::new();
                for id in ids {
                    if !seen.contains(id) {
                        seen.push(*id);
                    }
                }
                seen
            };
            if ids.len() > 500 {
                return Err(Error::validation("cityIds", "at most 500 cities"));
            }
            self.require_existing(ExistsIn::Cities, "cityIds", &ids)
                .await?;
            let leads = i
                .lead_city_ids
                .clone()
                .unwrap_or_else(|| ids.first().copied().into_iter().collect());
            if let Some(stray) = leads.iter().find(|l| !ids.contains(l)) {
                return Err(Error::validation(
                    "leadCityIds",
                    format!("{stray} is not among cityIds"),
                ));
            }
            r.cities = ids
                .iter()
                .map(|id| {
                    (
                        *id,
                        if leads.contains(id) {
                            CityRole::Lead
                        } else {
                            CityRole::Partner
                        },
                    )
                })
                .collect();
        } else if i.lead_city_ids.is_some() {
            return Err(Error::validation("leadCityIds", "give cityIds with it"));
        }
        if let Some(ids) = &i.association_ids {
            ch.0.push("associationIds".into());
            let ids = dedup(ids);
            self.require_existing(ExistsIn::Associations, "associationIds", &ids)
                .await?;
            r.association_ids = ids;
        }
        // Orientation is checked against the cities whenever either changes.
        if i.orientation.is_some() || i.city_ids.is_some() || creating {
            if i.orientation.is_some() {
                ch.0.push("orientation".into());
            }
            let ids: Vec<Id> = r.cities.iter().map(|(c, _)| *c).collect();
            let blocs: Vec<Bloc> = self
                .repo
                .city_blocs(&ids)
                .await?
                .into_iter()
                .map(|(_, b)| b)
                .collect();
            let given = if i.orientation.is_some() || creating {
                i.orientation
            } else {
                Some(p.orientation)
            };
            p.orientation = match orientation::resolve(given, &blocs) {
                Ok(o) => o,
                // An update that only changes cities re-derives a stored orientation they contradict.
                Err(_) if i.orientation.is_none() && !creating => {
                    orientation::resolve(None, &blocs)?
                }
                Err(e) => return Err(e),
            };
        }
        if i.amount_required.is_some() || i.amount_required_currency.is_some() {
            ch.0.push("amountRequired".into());
            let amount = i.amount_required.or(p.amount_required);
            let currency = i
                .amount_required_currency
                .clone()
                .or(p.amount_required_currency.clone());
            let money = self
                .money("amountRequired", amount, currency.as_deref())
                .await?;
            p.amount_required = money.as_ref().map(|m| m.0);
            p.amount_required_currency = money.as_ref().map(|m| m.1.clone());
            r.amount_required_usd_cents = money.map(|m| m.2);
        }
        if let Some(list) = &i.indicators {
            ch.0.push("indicators".into());
            if list.len() > MAX_INDICATORS {
                return Err(Error::validation(
                    "indicators",
                    format!("at most {MAX_INDICATORS}"),
                ));
            }
            r.indicators = list
                .iter()
                .map(|x| {
                    Ok(Indicator {
                        id: 0,
                        practice_id: r.practice.id,
                        name: bounded_text("indicators.name", &x.name, limits::NAME)?,
                        unit: optional_text("indicators.unit", x.unit.as_deref(), 40)?,
                        baseline: x.baseline.map(|v| v.normalize()),
                        target: x.target.map(|v| v.normalize()),
                        actual: x.actual.map(|v| v.normalize()),
                        year: x
                            .year
                            .map(|y| values::year("indicators.year", y))
                            .transpose()?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        }
        Ok(ch)
    }

    // ---- support schemes ----

    pub async fn create_scheme(&self, actor: &Actor, input: SchemeInput) -> Result<SupportScheme> {
        let operators = match actor.approved()? {
            (_, Role::Admin, _) => vec![],
            (_, Role::SupportProvider, Some(Affiliation::Association(a))) => {
                vec![Operator::Association(*a)]
            }
            _ => {
                return Err(forbidden(
                    "only support providers and the secretariat create support schemes",
                ));
            }
        };
        if input.name.is_none() {
            return Err(Error::validation("name", "required"));
        }
        let mut record = SchemeRecord {
            scheme: SupportScheme {
                id: 0,
                version: 1,
                status: PublicationStatus::Draft,
                name: String::new(),
                description: None,
                source: None,
                start_year: None,
                end_year: None,
                budget_amount: None,
                budget_currency: None,
                open_for_applications: false,
            },
            tags: Tags::default(),
            operators,
            owner: match actor {
                Actor::User { affiliation, .. } => affiliation.clone(),
                _ => None,
            },
            budget_usd_cents: None,
        };
        let changes = self.apply_scheme(&mut record, input).await?;
        let audit = AuditEntry::new(actor, "CREATE", "SupportScheme", 0, changes.0);
        self.repo.save_scheme(&record, None, audit).await
    }

    pub async fn update_scheme(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        input: SchemeInput,
    ) -> Result<SupportScheme> {
        actor.approved()?;
        let mut record = self
            .repo
            .scheme_record(id)
            .await?
            .ok_or_else(|| Error::not_found("SupportScheme", id))?;
        Self::may_edit_scheme(actor, &record.operators)?;
        let changes = self.apply_scheme(&mut record, input).await?;
        let audit = AuditEntry::new(actor, "UPDATE", "SupportScheme", id, changes.0);
        self.repo.save_scheme(&record, Some(version), audit).await
    }

    pub async fn set_scheme_status(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        status: PublicationStatus,
    ) -> Result<SupportScheme> {
        actor.approved()?;
        let mut record = self
            .repo
            .scheme_record(id)
            .await?
            .ok_or_else(|| Error::not_found("SupportScheme", id))?;
        Self::may_edit_scheme(actor, &record.operators)?;
        record.scheme.status = status;
        let action = if status == PublicationStatus::Published {
            "PUBLISH"
        } else {
            "ARCHIVE"
        };
        let audit = AuditEntry::new(actor, action, "SupportScheme", id, vec!["status".into()]);
        self.repo.save_scheme(&record, Some(version), audit).await
    }

    pub async fn link_scheme_to_practice(
        &self,
        actor: &Actor,
        scheme_id: Id,
        practice_id: Id,
    ) -> Result<()> {
        actor.approved()?;
        let record = self
            .repo
            .scheme_record(scheme_id)
            .await?
            .ok_or_else(|| Error::not_found("SupportScheme", scheme_id))?;
        Self::may_edit_scheme(actor, &record.operators)?;
        self.require_existing(ExistsIn::Practices, "practiceId", &[practice_id])
            .await?;
        let audit = AuditEntry::new(
            actor,
            "LINK",
            "SupportScheme",
            scheme_id,
            vec![format!("practice:{practice_id}")],
        );
        self.repo.link_scheme(scheme_id, practice_id, audit).await
    }

    async fn apply_scheme(&self, r: &mut SchemeRecord, i: SchemeInput) -> Result<Changes> {
        let mut ch = Changes::default();
        let s = &mut r.scheme;
        if ch.set("name", &i.name) {
            s.name = bounded_text("name", i.name.as_deref().unwrap_or_default(), limits::NAME)?;
        }
        if ch.set("description", &i.description) {
            s.description =
                optional_text("description", i.description.as_deref(), limits::LONG_TEXT)?;
        }
        if ch.set("source", &i.source) {
            s.source = optional_text("source", i.source.as_deref(), limits::SOURCE)?;
        }
        if ch.set("startYear", &i.start_year) | ch.set("endYear", &i.end_year) {
            let (a, b) =
                values::year_range(i.start_year.or(s.start_year), i.end_year.or(s.end_year))?;
            s.start_year = a;
            s.end_year = b;
        }
        if let Some(open) = i.open_for_applications {
            ch.0.push("openForApplications".into());
            s.open_for_applications = open;
        }
        if let Some(v) = &i.facilitating_structures {
            ch.0.push("facilitatingStructures".into());
            r.tags.facilitating_structures = dedup(v);
        }
        if let Some(v) = &i.funding_sources {
            ch.0.push("fundingSources".into());
            r.tags.funding_sources = dedup(v);
        }
        if let Some(v) = &i.support_modalities {
            ch.0.push("supportModalities".into());
            r.tags.support_modalities = dedup(v);
        }
        if let Some(v) = &i.themes {
            ch.0.push("themes".into());
            r.tags.themes = dedup(v);
        }
        if let Some(v) = &i.orientations {
            ch.0.push("orientations".into());
            r.tags.orientations = dedup(v);
        }
        if i.budget.is_some() || i.budget_currency.is_some() {
            ch.0.push("budget".into());
            let money = self
                .money(
                    "budget",
                    i.budget.or(s.budget_amount),
                    i.budget_currency
                        .as_deref()
                        .or(s.budget_currency.as_deref()),
                )
                .await?;
            s.budget_amount = money.as_ref().map(|m| m.0);
            s.budget_currency = money.as_ref().map(|m| m.1.clone());
            r.budget_usd_cents = money.map(|m| m.2);
        }
        Ok(ch)
    }

    // ---- funding ----

    pub async fn record_funding(&self, actor: &Actor, i: FundingInput) -> Result<Funding> {
        let (_, role, affiliation) = actor.approved()?;
        let donor_id = match (role, affiliation) {
            (Role::Donor, Some(Affiliation::Donor(d))) => {
                if i.donor_id.is_some_and(|given| given != *d) {
                    return Err(forbidden("a donor records its own funding only"));
                }
                Some(*d)
            }
            (Role::Admin, _) => i.donor_id,
            _ => {
                if i.donor_id.is_some() {
                    return Err(forbidden(
                        "only the donor itself or the secretariat names a donor",
                    ));
                }
                None
            }
        };
        let source_type = i
            .source_type
            .ok_or_else(|| Error::validation("sourceType", "required"))?;
        let (practice_id, scheme_id) = match (i.practice_id, i.scheme_id) {
            (Some(p), None) => (Some(p), None),
            (None, Some(s)) => (None, Some(s)),
            _ => {
                return Err(Error::validation(
                    "practiceId",
                    "give exactly one of practiceId and schemeId",
                ));
            }
        };
        let practice_cities = self.practice_cities_of(practice_id).await?;
        if let Some(s) = scheme_id {
            self.require_existing(ExistsIn::Schemes, "schemeId", &[s])
                .await?;
        }
        if let Some(d) = donor_id {
            self.require_existing(ExistsIn::Donors, "donorId", &[d])
                .await?;
        }
        Self::may_edit_funding(actor, donor_id, source_type, &practice_cities)?;
        let mut funding = Funding {
            id: 0,
            version: 1,
            practice_id,
            scheme_id,
            donor_id,
            source_city_id: match (affiliation, source_type) {
                (Some(Affiliation::City(c)), FundingSource::OwnBudget) => Some(*c),
                _ => None,
            },
            source_name: None,
            source_type,
            amount: None,
            currency: String::new(),
            rate: Decimal::ZERO,
            rate_source: None,
            amount_usd: None,
            year: None,
            status: i
                .status
                .ok_or_else(|| Error::validation("status", "required"))?,
            confidential: false,
            note: None,
        };
        if i.amount.is_none() {
            return Err(Error::validation("amount", "required"));
        }
        let (changes, cents) = self.apply_funding(&mut funding, None, &i).await?;
        let audit = AuditEntry::new(actor, "CREATE", "Funding", 0, changes.0);
        self.repo.save_funding(&funding, cents, None, audit).await
    }

    pub async fn update_funding(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: FundingInput,
    ) -> Result<Funding> {
        actor.approved()?;
        let (mut funding, cents) = self
            .repo
            .funding_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found("Funding", id))?;
        let practice_cities = self.practice_cities_of(funding.practice_id).await?;
        Self::may_edit_funding(
            actor,
            funding.donor_id,
            funding.source_type,
            &practice_cities,
        )?;
        if i.practice_id.is_some() || i.scheme_id.is_some() || i.donor_id.is_some() {
            return Err(Error::validation(
                "practiceId",
                "a funding record's recipient and donor do not change; record a new one",
            ));
        }
        if let Some(t) = i.source_type {
            // The new source type must still be one this actor may record.
            Self::may_edit_funding(actor, funding.donor_id, t, &practice_cities)?;
            funding.source_type = t;
        }
        if let Some(s) = i.status {
            funding.status = s;
        }
        let (mut changes, cents) = self.apply_funding(&mut funding, cents, &i).await?;
        if i.source_type.is_some() {
            changes.0.push("sourceType".into());
        }
        if i.status.is_some() {
            changes.0.push("status".into());
        }
        let audit = AuditEntry::new(actor, "UPDATE", "Funding", id, changes.0);
        self.repo
            .save_funding(&funding, cents, Some(version), audit)
            .await
    }

    async fn practice_cities_of(&self, practice_id: Option<Id>) -> Result<Vec<Id>> {
        match practice_id {
            Some(p) => {
                let record = self.repo.practice_record(p).await?.ok_or_else(|| {
                    Error::validation("practiceId", format!("{p} does not exist"))
                })?;
                Ok(record.cities.iter().map(|(c, _)| *c).collect())
            }
            None => Ok(vec![]),
        }
    }

    async fn apply_funding(
        &self,
        f: &mut Funding,
        cents: Option<i64>,
        i: &FundingInput,
    ) -> Result<(Changes, Option<i64>)> {
        let mut ch = Changes::default();
        let mut cents = cents;
        if ch.set("amount", &i.amount) | ch.set("currency", &i.currency) {
            let amount = i.amount.or(f.amount);
            let currency = i.currency.clone().unwrap_or_else(|| f.currency.clone());
            let amount = values::non_negative(
                "amount",
                amount.ok_or_else(|| Error::validation("amount", "required"))?,
            )?;
            let currency = CurrencyCode::parse(&currency)?;
            let rate = self
                .repo
                .usd_rate(currency.as_str())
                .await?
                .ok_or_else(|| {
                    Error::validation("currency", format!("no USD rate for {currency}"))
                })?;
            cents = Some(values::to_usd_cents(amount, rate.usd_per_unit)?);
            f.amount = Some(amount);
            f.currency = currency.as_str().to_string();
            f.rate = rate.usd_per_unit;
            f.rate_source = Some(rate.citation());
            f.amount_usd = cents.map(values::cents_to_decimal);
        }
        if let Some(y) = i.year {
            ch.0.push("year".into());
            f.year = Some(values::year("year", y)?);
        }
        if let Some(c) = i.confidential {
            ch.0.push("confidential".into());
            f.confidential = c;
        }
        if ch.set("sourceName", &i.source_name) {
            f.source_name = optional_text("sourceName", i.source_name.as_deref(), limits::NAME)?;
        }
        if ch.set("note", &i.note) {
            f.note = optional_text("note", i.note.as_deref(), 1000)?;
        }
        Ok((ch, cents))
    }

    // ---- needs ----

    pub async fn create_need(&self, actor: &Actor, i: NeedInput) -> Result<Need> {
        let city_id = match (actor.approved()?, i.city_id) {
            ((_, Role::Practitioner, Some(Affiliation::City(c))), None) => *c,
            (_, Some(c)) => c,
            _ => return Err(Error::validation("cityId", "required")),
        };
        Self::may_edit_need(actor, city_id)?;
        self.require_existing(ExistsIn::Cities, "cityId", &[city_id])
            .await?;
        if i.title.is_none() {
            return Err(Error::validation("title", "required"));
        }
        let mut record = NeedRecord {
            need: Need {
                id: 0,
                version: 1,
                publication: PublicationStatus::Draft,
                city_id,
                title: String::new(),
                description: None,
                source: None,
                modality: None,
                amount_required: None,
                amount_required_currency: None,
                status: NeedStatus::Open,
            },
            tags: Tags::default(),
            owner: Some(Affiliation::City(city_id)),
            amount_required_usd_cents: None,
        };
        let changes = self.apply_need(&mut record, i).await?;
        let audit = AuditEntry::new(actor, "CREATE", "Need", 0, changes.0);
        self.repo.save_need(&record, None, audit).await
    }

    pub async fn update_need(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: NeedInput,
    ) -> Result<Need> {
        actor.approved()?;
        let mut record = self
            .repo
            .need_record(id)
            .await?
            .ok_or_else(|| Error::not_found("Need", id))?;
        Self::may_edit_need(actor, record.need.city_id)?;
        if i.city_id.is_some_and(|c| c != record.need.city_id) {
            return Err(Error::validation("cityId", "a need stays with its city"));
        }
        let changes = self.apply_need(&mut record, i).await?;
        let audit = AuditEntry::new(actor, "UPDATE", "Need", id, changes.0);
        self.repo.save_need(&record, Some(version), audit).await
    }

    pub async fn set_need_publication(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        publication: PublicationStatus,
    ) -> Result<Need> {
        actor.approved()?;
        let mut record = self
            .repo
            .need_record(id)
            .await?
            .ok_or_else(|| Error::not_found("Need", id))?;
        Self::may_edit_need(actor, record.need.city_id)?;
        record.need.publication = publication;
        let audit = AuditEntry::new(
            actor,
            "PUBLISH",
            "Need",
            id,
            vec!["publicationStatus".into()],
        );
        self.repo.save_need(&record, Some(version), audit).await
    }

    /// The match status is the support providers' to set, and the city's.
    pub async fn set_need_status(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        status: NeedStatus,
    ) -> Result<Need> {
        actor.approved()?;
        let mut record = self
            .repo
            .need_record(id)
            .await?
            .ok_or_else(|| Error::not_found("Need", id))?;
        if !matches!(
            actor,
            Actor::User {
                role: Role::SupportProvider,
                ..
            }
        ) {
            Self::may_edit_need(actor, record.need.city_id)?;
        }
        record.need.status = status;
        let audit = AuditEntry::new(actor, "SET_STATUS", "Need", id, vec!["status".into()]);
        self.repo.save_need(&record, Some(version), audit).await
    }

    async fn apply_need(&self, r: &mut NeedRecord, i: NeedInput) -> Result<Changes> {
        let mut ch = Changes::default();
        let n = &mut r.need;
        if ch.set("title", &i.title) {
            n.title = bounded_text(
                "title",
                i.title.as_deref().unwrap_or_default(),
                limits::TITLE,
            )?;
        }
        if ch.set("description", &i.description) {
            n.description =
                optional_text("description", i.description.as_deref(), limits::LONG_TEXT)?;
        }
        if ch.set("source", &i.source) {
            n.source = optional_text("source", i.source.as_deref(), limits::SOURCE)?;
        }
        if let Some(m) = i.modality {
            ch.0.push("modality".into());
            n.modality = Some(m);
        }
        if let Some(v) = &i.themes {
            ch.0.push("themes".into());
            r.tags.themes = dedup(v);
        }
        if let Some(v) = &i.management_focus {
            ch.0.push("managementFocus".into());
            r.tags.management_focus = dedup(v);
        }
        if let Some(v) = &i.support_modalities {
            ch.0.push("supportModalities".into());
            r.tags.support_modalities = dedup(v);
        }
        non_empty("themes", &r.tags.themes)?;
        if i.amount_required.is_some() || i.amount_required_currency.is_some() {
            ch.0.push("amountRequired".into());
            let money = self
                .money(
                    "amountRequired",
                    i.amount_required.or(n.amount_required),
                    i.amount_required_currency
                        .as_deref()
                        .or(n.amount_required_currency.as_deref()),
                )
                .await?;
            n.amount_required = money.as_ref().map(|m| m.0);
            n.amount_required_currency = money.as_ref().map(|m| m.1.clone());
            r.amount_required_usd_cents = money.map(|m| m.2);
        }
        Ok(ch)
    }

    // ---- cities, associations, donors ----

    pub async fn create_city(&self, actor: &Actor, i: CityInput) -> Result<City> {
        match actor.approved()? {
            (_, Role::Admin | Role::Practitioner | Role::SupportProvider, _) => {}
            _ => return Err(forbidden("donors do not add cities")),
        }
        let mut city = City {
            id: 0,
            version: 1,
            name: bounded_text(
                "name",
                i.name
                    .as_deref()
                    .ok_or_else(|| Error::validation("name", "required"))?,
                limits::NAME,
            )?,
            kind: i.kind.unwrap_or(CityKind::Municipality),
            country_code: self
                .country(
                    i.country_code
                        .as_deref()
                        .ok_or_else(|| Error::validation("countryCode", "required"))?,
                )
                .await?,
            population: None,
            latitude: None,
            longitude: None,
        };
        let changes = self.apply_city(
            &mut city,
            CityInput {
                name: None,
                kind: None,
                country_code: None,
                ..i
            },
        )?;
        let mut fields = vec!["name".to_string(), "kind".into(), "countryCode".into()];
        fields.extend(changes.0);
        let audit = AuditEntry::new(actor, "CREATE", "City", 0, fields);
        self.repo.save_city(&city, None, audit).await
    }

    pub async fn update_city(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: CityInput,
    ) -> Result<City> {
        match actor.approved()? {
            (_, Role::Admin, _) => {}
            (_, Role::Practitioner, Some(Affiliation::City(c))) if *c == id => {}
            _ => {
                return Err(forbidden(
                    "only practitioners of the city may change its profile",
                ));
            }
        }
        let mut city = self
            .repo
            .city(id)
            .await?
            .ok_or_else(|| Error::not_found("City", id))?;
        let mut changes = Changes::default();
        if ch_set(&mut changes, "name", &i.name) {
            city.name = bounded_text("name", i.name.as_deref().unwrap_or_default(), limits::NAME)?;
        }
        if let Some(k) = i.kind {
            changes.0.push("kind".into());
            city.kind = k;
        }
        if let Some(code) = &i.country_code {
            changes.0.push("countryCode".into());
            city.country_code = self.country(code).await?;
        }
        let more = self.apply_city(
            &mut city,
            CityInput {
                name: None,
                kind: None,
                country_code: None,
                ..i
            },
        )?;
        changes.0.extend(more.0);
        let audit = AuditEntry::new(actor, "UPDATE", "City", id, changes.0);
        self.repo.save_city(&city, Some(version), audit).await
    }

    fn apply_city(&self, city: &mut City, i: CityInput) -> Result<Changes> {
        let mut ch = Changes::default();
        if let Some(p) = i.population {
            ch.0.push("population".into());
            if !(0..=100_000_000).contains(&p) {
                return Err(Error::validation(
                    "population",
                    "must be between 0 and 100,000,000",
                ));
            }
            city.population = Some(p);
        }
        if let Some(lat) = i.latitude {
            ch.0.push("latitude".into());
            if !(-90.0..=90.0).contains(&lat) {
                return Err(Error::validation("latitude", "must be between -90 and 90"));
            }
            city.latitude = Some(lat);
        }
        if let Some(lon) = i.longitude {
            ch.0.push("longitude".into());
            if !(-180.0..=180.0).contains(&lon) {
                return Err(Error::validation(
                    "longitude",
                    "must be between -180 and 180",
                ));
            }
            city.longitude = Some(lon);
        }
        Ok(ch)
    }

    pub async fn update_association(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: AssociationInput,
    ) -> Result<Association> {
        match actor.approved()? {
            (_, Role::Admin, _) => {}
            (_, Role::SupportProvider, Some(Affiliation::Association(a))) if *a == id => {}
            _ => {
                return Err(forbidden(
                    "only support providers of the association may change its profile",
                ));
            }
        }
        let mut a = self
            .repo
            .association(id)
            .await?
            .ok_or_else(|| Error::not_found("Association", id))?;
        let mut ch = Changes::default();
        if ch.set("name", &i.name) {
            a.name = bounded_text("name", i.name.as_deref().unwrap_or_default(), limits::NAME)?;
        }
        if ch.set("acronym", &i.acronym) {
            a.acronym = optional_text("acronym", i.acronym.as_deref(), 40)?;
        }
        if let Some(s) = i.scope {
            ch.0.push("scope".into());
            a.scope = s;
        }
        if let Some(code) = &i.country_code {
            ch.0.push("countryCode".into());
            a.country_code = if code.trim().is_empty() {
                None
            } else {
                Some(self.country(code).await?)
            };
        }
        if ch.set("description", &i.description) {
            a.description =
                optional_text("description", i.description.as_deref(), limits::LONG_TEXT)?;
        }
        let audit = AuditEntry::new(actor, "UPDATE", "Association", id, ch.0);
        self.repo.save_association(&a, version, audit).await
    }

    pub async fn update_donor(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: DonorInput,
    ) -> Result<Donor> {
        match actor.approved()? {
            (_, Role::Admin, _) => {}
            (_, Role::Donor, Some(Affiliation::Donor(d))) if *d == id => {}
            _ => {
                return Err(forbidden(
                    "only the donor itself may change its profile and agenda",
                ));
            }
        }
        let (mut d, mut agenda) = self
            .repo
            .donor_with_agenda(id)
            .await?
            .ok_or_else(|| Error::not_found("Donor", id))?;
        let mut ch = Changes::default();
        if ch.set("name", &i.name) {
            d.name = bounded_text("name", i.name.as_deref().unwrap_or_default(), limits::NAME)?;
        }
        if ch.set("acronym", &i.acronym) {
            d.acronym = optional_text("acronym", i.acronym.as_deref(), 40)?;
        }
        if let Some(k) = i.kind {
            ch.0.push("kind".into());
            d.kind = k;
        }
        if let Some(code) = &i.country_code {
            ch.0.push("countryCode".into());
            d.country_code = if code.trim().is_empty() {
                None
            } else {
                Some(self.country(code).await?)
            };
        }
        if ch.set("description", &i.description) {
            d.description =
                optional_text("description", i.description.as_deref(), limits::LONG_TEXT)?;
        }
        if let Some(v) = &i.agenda_themes {
            ch.0.push("agenda.themes".into());
            agenda.themes = dedup(v);
        }
        if let Some(v) = &i.agenda_orientations {
            ch.0.push("agenda.orientations".into());
            agenda.orientations = dedup(v);
        }
        if let Some(codes) = &i.agenda_country_codes {
            ch.0.push("agenda.countryCodes".into());
            if codes.len() > 250 {
                return Err(Error::validation(
                    "agenda.countryCodes",
                    "at most 250 countries",
                ));
            }
            let mut list = Vec::new();
            for c in codes {
                list.push(self.country(c).await?);
            }
            list.sort();
            list.dedup();
            agenda.country_codes = list;
        }
        let audit = AuditEntry::new(actor, "UPDATE", "Donor", id, ch.0);
        self.repo.save_donor(&d, &agenda, version, audit).await
    }

    // ---- the rate table ----

    pub async fn currency_rates(&self) -> Result<Vec<CurrencyRate>> {
        self.repo.currency_rates().await
    }

    /// ADMIN: sets the USD rate of a currency. Existing funding keeps the rate it was recorded at.
    pub async fn set_currency_rate(
        &self,
        actor: &Actor,
        currency: &str,
        usd_per_unit: Decimal,
        as_of: &str,
        source: &str,
    ) -> Result<CurrencyRate> {
        crate::account::require_admin(actor)?;
        let currency = CurrencyCode::parse(currency)?;
        let usd_per_unit = values::rate("usdPerUnit", &usd_per_unit.to_string())?;
        let as_of = chrono::NaiveDate::parse_from_str(as_of.trim(), "%Y-%m-%d")
            .map_err(|_| Error::validation("asOf", "is not a date (YYYY-MM-DD)"))?
            .to_string();
        let source = bounded_text("source", source, 200)?;
        let rate = CurrencyRate {
            currency: currency.as_str().to_string(),
            usd_per_unit,
            as_of,
            source,
        };
        let audit = AuditEntry::new(
            actor,
            "SET_RATE",
            "CurrencyRate",
            0,
            vec![
                rate.currency.clone(),
                "usdPerUnit".into(),
                "asOf".into(),
                "source".into(),
            ],
        );
        self.repo.save_rate(&rate, audit).await
    }

    // ---- the audit trail ----

    pub async fn audit_log(
        &self,
        actor: &Actor,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        crate::account::require_admin(actor)?;
        self.repo.audit_log(&filter, page).await
    }

    pub async fn count_audit(&self, actor: &Actor, filter: AuditFilter) -> Result<i64> {
        crate::account::require_admin(actor)?;
        self.repo.count_audit(&filter).await
    }
}

fn ch_set<T>(changes: &mut Changes, name: &str, value: &Option<T>) -> bool {
    changes.set(name, value)
}
