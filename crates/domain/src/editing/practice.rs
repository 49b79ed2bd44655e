//! Practices: their texts, framework values, cities and associations, orientation, the amount
//! they require, and the indicators they measure success by.

use rust_decimal::Decimal;

use super::{Editor, ExistsIn, Patch, found, non_empty, status_action};
use crate::actor::Affiliation;
use crate::audit::AuditEntry;
use crate::entities::*;
use crate::framework::*;
use crate::values::{self, bounded_text, optional_text};
use crate::{Actor, Error, Result, limits, orientation, policy};

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

impl PracticeRecord {
    /// A new practice: a DRAFT with nothing but its modality, before the input is applied.
    pub(crate) fn draft(modality: LinkingModality) -> Self {
        PracticeRecord {
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
                modality,
                amount_required: None,
                amount_required_currency: None,
            },
            tags: Tags::default(),
            cities: vec![],
            association_ids: vec![],
            indicators: vec![],
            owner: None,
            amount_required_usd_cents: None,
        }
    }

    pub(super) fn city_ids(&self) -> Vec<Id> {
        self.cities.iter().map(|(c, _)| *c).collect()
    }

    fn may_be_changed_by(&self, actor: &Actor) -> Result<()> {
        policy::may_change_practice(actor, &self.city_ids(), &self.association_ids)
    }
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
    /// The year `actual` was measured in.
    pub year: Option<i32>,
    pub baseline: Option<Decimal>,
    pub target: Option<Decimal>,
    pub actual: Option<Decimal>,
}

impl IndicatorInput {
    fn validate(&self, practice_id: Id) -> Result<Indicator> {
        Ok(Indicator {
            id: 0,
            practice_id,
            name: bounded_text("indicators.name", &self.name, limits::NAME)?,
            unit: optional_text(
                "indicators.unit",
                self.unit.as_deref(),
                limits::INDICATOR_UNIT,
            )?,
            baseline: self.baseline.map(|v| v.normalize()),
            target: self.target.map(|v| v.normalize()),
            actual: self.actual.map(|v| v.normalize()),
            year: self
                .year
                .map(|y| values::year("indicators.year", y))
                .transpose()?,
        })
    }
}

/// Whether a change makes a new record: a creation derives and checks what an update keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Making {
    New,
    Change,
}

impl Editor {
    pub async fn create_practice(&self, actor: &Actor, input: PracticeInput) -> Result<Practice> {
        policy::approved(actor)?;
        let modality = input
            .modality
            .ok_or_else(|| Error::validation("modality", "required"))?;
        let mut record = PracticeRecord::draft(modality);
        if input.title.is_none() {
            return Err(Error::validation("title", "required"));
        }
        let fields = self.apply_practice(&mut record, input, Making::New).await?;
        record.may_be_changed_by(actor)?;
        record.owner = super::affiliation_of(actor);
        let audit = AuditEntry::new(actor, "CREATE", "Practice", 0, fields);
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
        let fields = self
            .apply_practice(&mut record, input, Making::Change)
            .await?;
        // The editor must still be entitled after the change (a city cannot drop itself out of reach).
        record.may_be_changed_by(actor)?;
        let audit = AuditEntry::new(actor, "UPDATE", "Practice", id, fields);
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
        let action = status_action(status);
        let audit = AuditEntry::new(actor, action, "Practice", id, vec!["status".into()]);
        self.repo.save_practice(&record, Some(version), audit).await
    }

    async fn practice_for_change(&self, actor: &Actor, id: Id) -> Result<PracticeRecord> {
        policy::approved(actor)?;
        let record = self.readable_practice(actor, id).await?;
        record.may_be_changed_by(actor)?;
        Ok(record)
    }

    /// The practice, NOT_FOUND alike when it is missing and when the actor may not read it, so
    /// that no answer tells a hidden draft from an id nobody uses.
    pub(super) async fn readable_practice(&self, actor: &Actor, id: Id) -> Result<PracticeRecord> {
        let record = found("Practice", id, self.repo.practice_record(id).await?)?;
        let (p, owner) = (&record.practice, record.owner.as_ref());
        let (cities, associations) = (record.city_ids(), &record.association_ids);
        if policy::may_read_practice(actor, p.status, owner, &cities, associations) {
            Ok(record)
        } else {
            Err(Error::not_found("Practice", id))
        }
    }

    async fn apply_practice(
        &self,
        r: &mut PracticeRecord,
        i: PracticeInput,
        making: Making,
    ) -> Result<Vec<String>> {
        let mut patch = Patch::default();
        let p = &mut r.practice;
        patch.text("title", i.title, limits::TITLE, &mut p.title)?;
        patch.optional_text("summary", i.summary, limits::SUMMARY, &mut p.summary)?;
        patch.optional_text("context", i.context, limits::LONG_TEXT, &mut p.context)?;
        patch.optional_text("outcomes", i.outcomes, limits::LONG_TEXT, &mut p.outcomes)?;
        patch.optional_text("issues", i.issues, limits::LONG_TEXT, &mut p.issues)?;
        patch.optional_text("source", i.source, limits::SOURCE, &mut p.source)?;
        patch.value("modality", i.modality, &mut p.modality);
        let always = making == Making::New;
        let years = (&mut p.start_year, &mut p.end_year);
        patch.years(i.start_year, i.end_year, always, years)?;
        patch.tags("themes", i.themes, &mut r.tags.themes);
        let focus = &mut r.tags.management_focus;
        patch.tags("managementFocus", i.management_focus, focus);
        let parties = &mut r.tags.cooperating_parties;
        patch.tags("cooperatingParties", i.cooperating_parties, parties);
        non_empty("themes", &r.tags.themes)?;
        non_empty("managementFocus", &r.tags.management_focus)?;
        non_empty("cooperatingParties", &r.tags.cooperating_parties)?;
        let cities_given = i.city_ids.is_some();
        if let Some(ids) = patch.given("cityIds", i.city_ids) {
            r.cities = self.practice_cities(ids, i.lead_city_ids).await?;
        } else if i.lead_city_ids.is_some() {
            return Err(Error::validation("leadCityIds", "give cityIds with it"));
        }
        if let Some(ids) = patch.given("associationIds", i.association_ids) {
            let ids = super::patch::dedup(&ids);
            if ids.len() > limits::MAX_ASSOCIATIONS {
                return Err(Error::validation(
                    "associationIds",
                    format!("at most {} associations", limits::MAX_ASSOCIATIONS),
                ));
            }
            self.require_existing(ExistsIn::Associations, "associationIds", &ids)
                .await?;
            r.association_ids = ids;
        }
        // Orientation is checked against the cities whenever either changes.
        let given = patch.given("orientation", i.orientation);
        if given.is_some() || cities_given || always {
            r.practice.orientation = self
                .practice_orientation(&r.city_ids(), given, r.practice.orientation, making)
                .await?;
        }
        let p = &mut r.practice;
        let money = (i.amount_required, i.amount_required_currency);
        let target = (
            &mut p.amount_required,
            &mut p.amount_required_currency,
            &mut r.amount_required_usd_cents,
        );
        self.patch_money(&mut patch, "amountRequired", money, target)
            .await?;
        if let Some(list) = patch.given("indicators", i.indicators) {
            if list.len() > limits::MAX_INDICATORS {
                return Err(Error::validation(
                    "indicators",
                    format!("at most {}", limits::MAX_INDICATORS),
                ));
            }
            r.indicators = list
                .iter()
                .map(|x| x.validate(r.practice.id))
                .collect::<Result<Vec<_>>>()?;
        }
        Ok(patch.fields())
    }

    /// The cities of a practice in the order first listed, the leads marked.
    async fn practice_cities(
        &self,
        ids: Vec<Id>,
        leads: Option<Vec<Id>>,
    ) -> Result<Vec<(Id, CityRole)>> {
        let mut unique = Vec::new();
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        if unique.len() > limits::MAX_CITIES {
            return Err(Error::validation(
                "cityIds",
                format!("at most {} cities", limits::MAX_CITIES),
            ));
        }
        self.require_existing(ExistsIn::Cities, "cityIds", &unique)
            .await?;
        let leads = leads.unwrap_or_else(|| unique.first().copied().into_iter().collect());
        if let Some(stray) = leads.iter().find(|l| !unique.contains(l)) {
            return Err(Error::validation(
                "leadCityIds",
                format!("{stray} is not among cityIds"),
            ));
        }
        let role = |id: &Id| {
            if leads.contains(id) {
                CityRole::Lead
            } else {
                CityRole::Partner
            }
        };
        Ok(unique.iter().map(|id| (*id, role(id))).collect())
    }

    /// The orientation to store: the given one, else on a creation the one the cities' blocs
    /// imply, else the stored one if the cities still agree with it.
    async fn practice_orientation(
        &self,
        city_ids: &[Id],
        given: Option<GeographicOrientation>,
        stored: GeographicOrientation,
        making: Making,
    ) -> Result<GeographicOrientation> {
        let blocs: Vec<Bloc> = self
            .repo
            .city_blocs(city_ids)
            .await?
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        let keeps_stored = given.is_none() && making == Making::Change;
        let wanted = if keeps_stored { Some(stored) } else { given };
        match orientation::resolve(wanted, &blocs) {
            Ok(o) => Ok(o),
            // An update that only changes cities re-derives a stored orientation they contradict.
            Err(_) if keeps_stored => orientation::resolve(None, &blocs),
            Err(e) => Err(e),
        }
    }
}
