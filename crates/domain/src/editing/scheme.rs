//! Support schemes: their texts, framework values, budget, and their links to practices.

use rust_decimal::Decimal;

use super::{Editor, Patch, found, status_action};
use crate::actor::Affiliation;
use crate::audit::AuditEntry;
use crate::entities::*;
use crate::framework::*;
use crate::{Actor, Error, Result, limits, policy};

#[derive(Debug, Clone, PartialEq)]
pub struct SchemeRecord {
    pub scheme: SupportScheme,
    pub tags: Tags,
    pub operators: Vec<Operator>,
    pub owner: Option<Affiliation>,
    pub budget_usd_cents: Option<i64>,
}

impl SchemeRecord {
    /// A new scheme: a DRAFT with its operators and owner, before the input is applied.
    pub(crate) fn draft(operators: Vec<Operator>, owner: Option<Affiliation>) -> Self {
        SchemeRecord {
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
            owner,
            budget_usd_cents: None,
        }
    }
}

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

impl Editor {
    pub async fn create_scheme(&self, actor: &Actor, input: SchemeInput) -> Result<SupportScheme> {
        let operators = policy::operators_of_new_scheme(actor)?;
        if input.name.is_none() {
            return Err(Error::validation("name", "required"));
        }
        let mut record = SchemeRecord::draft(operators, super::affiliation_of(actor));
        let fields = self.apply_scheme(&mut record, input).await?;
        let audit = AuditEntry::new(actor, "CREATE", "SupportScheme", 0, fields);
        self.repo.save_scheme(&record, None, audit).await
    }

    pub async fn update_scheme(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        input: SchemeInput,
    ) -> Result<SupportScheme> {
        let mut record = self.scheme_for_change(actor, id).await?;
        let fields = self.apply_scheme(&mut record, input).await?;
        let audit = AuditEntry::new(actor, "UPDATE", "SupportScheme", id, fields);
        self.repo.save_scheme(&record, Some(version), audit).await
    }

    pub async fn set_scheme_status(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        status: PublicationStatus,
    ) -> Result<SupportScheme> {
        let mut record = self.scheme_for_change(actor, id).await?;
        record.scheme.status = status;
        let action = status_action(status);
        let audit = AuditEntry::new(actor, action, "SupportScheme", id, vec!["status".into()]);
        self.repo.save_scheme(&record, Some(version), audit).await
    }

    pub async fn link_scheme_to_practice(
        &self,
        actor: &Actor,
        scheme_id: Id,
        practice_id: Id,
    ) -> Result<()> {
        policy::approved(actor)?;
        // Both records must be readable before whether the actor may link them is said.
        let scheme = self.readable_scheme(actor, scheme_id).await?;
        self.readable_practice(actor, practice_id).await?;
        policy::may_change_scheme(actor, &scheme.operators)?;
        let audit = AuditEntry::new(
            actor,
            "LINK",
            "SupportScheme",
            scheme_id,
            vec![format!("practice:{practice_id}")],
        );
        self.repo.link_scheme(scheme_id, practice_id, audit).await
    }

    async fn scheme_for_change(&self, actor: &Actor, id: Id) -> Result<SchemeRecord> {
        policy::approved(actor)?;
        let record = self.readable_scheme(actor, id).await?;
        policy::may_change_scheme(actor, &record.operators)?;
        Ok(record)
    }

    /// The scheme, NOT_FOUND alike when it is missing and when the actor may not read it.
    pub(super) async fn readable_scheme(&self, actor: &Actor, id: Id) -> Result<SchemeRecord> {
        let record = found("SupportScheme", id, self.repo.scheme_record(id).await?)?;
        let (s, owner) = (&record.scheme, record.owner.as_ref());
        if policy::may_read_scheme(actor, s.status, owner, &record.operators) {
            Ok(record)
        } else {
            Err(Error::not_found("SupportScheme", id))
        }
    }

    async fn apply_scheme(&self, r: &mut SchemeRecord, i: SchemeInput) -> Result<Vec<String>> {
        let mut patch = Patch::default();
        let (s, tags) = (&mut r.scheme, &mut r.tags);
        patch.text("name", i.name, limits::NAME, &mut s.name)?;
        let description = &mut s.description;
        patch.optional_text("description", i.description, limits::LONG_TEXT, description)?;
        patch.optional_text("source", i.source, limits::SOURCE, &mut s.source)?;
        let years = (&mut s.start_year, &mut s.end_year);
        patch.years(i.start_year, i.end_year, false, years)?;
        let open = &mut s.open_for_applications;
        patch.value("openForApplications", i.open_for_applications, open);
        let structures = &mut tags.facilitating_structures;
        patch.tags(
            "facilitatingStructures",
            i.facilitating_structures,
            structures,
        );
        patch.tags(
            "fundingSources",
            i.funding_sources,
            &mut tags.funding_sources,
        );
        let modalities = &mut tags.support_modalities;
        patch.tags("supportModalities", i.support_modalities, modalities);
        patch.tags("themes", i.themes, &mut tags.themes);
        patch.tags("orientations", i.orientations, &mut tags.orientations);
        let money = (i.budget, i.budget_currency);
        let target = (
            &mut s.budget_amount,
            &mut s.budget_currency,
            &mut r.budget_usd_cents,
        );
        self.patch_money(&mut patch, "budget", money, target)
            .await?;
        Ok(patch.fields())
    }
}
