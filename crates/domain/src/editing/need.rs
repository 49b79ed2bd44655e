//! Cities' needs: what a city asks for, its publication and its match status.

use rust_decimal::Decimal;

use super::{Editor, ExistsIn, Patch, found, non_empty, status_action};
use crate::actor::Affiliation;
use crate::audit::AuditEntry;
use crate::entities::*;
use crate::framework::*;
use crate::{Actor, Error, Result, limits, policy};

#[derive(Debug, Clone, PartialEq)]
pub struct NeedRecord {
    pub need: Need,
    pub tags: Tags,
    pub owner: Option<Affiliation>,
    pub amount_required_usd_cents: Option<i64>,
}

impl NeedRecord {
    /// A new need of a city: an OPEN DRAFT, before the input is applied.
    pub(crate) fn draft(city_id: Id) -> Self {
        NeedRecord {
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
        }
    }
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

impl Editor {
    pub async fn create_need(&self, actor: &Actor, i: NeedInput) -> Result<Need> {
        let city_id = policy::city_of_new_need(actor, i.city_id)?;
        policy::may_change_need(actor, city_id)?;
        self.require_existing(ExistsIn::Cities, "cityId", &[city_id])
            .await?;
        if i.title.is_none() {
            return Err(Error::validation("title", "required"));
        }
        let mut record = NeedRecord::draft(city_id);
        let fields = self.apply_need(&mut record, i).await?;
        let audit = AuditEntry::new(actor, "CREATE", "Need", 0, fields);
        self.repo.save_need(&record, None, audit).await
    }

    pub async fn update_need(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: NeedInput,
    ) -> Result<Need> {
        let mut record = self.need_record(actor, id).await?;
        policy::may_change_need(actor, record.need.city_id)?;
        if i.city_id.is_some_and(|c| c != record.need.city_id) {
            return Err(Error::validation("cityId", "a need stays with its city"));
        }
        let fields = self.apply_need(&mut record, i).await?;
        let audit = AuditEntry::new(actor, "UPDATE", "Need", id, fields);
        self.repo.save_need(&record, Some(version), audit).await
    }

    pub async fn set_need_publication(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        publication: PublicationStatus,
    ) -> Result<Need> {
        let mut record = self.need_record(actor, id).await?;
        policy::may_change_need(actor, record.need.city_id)?;
        record.need.publication = publication;
        let action = status_action(publication);
        let fields = vec!["publicationStatus".into()];
        let audit = AuditEntry::new(actor, action, "Need", id, fields);
        self.repo.save_need(&record, Some(version), audit).await
    }

    pub async fn set_need_status(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        status: NeedStatus,
    ) -> Result<Need> {
        let mut record = self.need_record(actor, id).await?;
        policy::may_set_need_status(actor, record.need.city_id)?;
        record.need.status = status;
        let audit = AuditEntry::new(actor, "SET_STATUS", "Need", id, vec!["status".into()]);
        self.repo.save_need(&record, Some(version), audit).await
    }

    /// The need an approved actor asks to change, NOT_FOUND when the actor may not read it;
    /// whether this actor may change it is the caller's check.
    async fn need_record(&self, actor: &Actor, id: Id) -> Result<NeedRecord> {
        policy::approved(actor)?;
        let record = found("Need", id, self.repo.need_record(id).await?)?;
        let n = &record.need;
        if policy::may_read_need(actor, n.publication, record.owner.as_ref(), n.city_id) {
            Ok(record)
        } else {
            Err(Error::not_found("Need", id))
        }
    }

    async fn apply_need(&self, r: &mut NeedRecord, i: NeedInput) -> Result<Vec<String>> {
        let mut patch = Patch::default();
        let (n, tags) = (&mut r.need, &mut r.tags);
        patch.text("title", i.title, limits::TITLE, &mut n.title)?;
        let description = &mut n.description;
        patch.optional_text("description", i.description, limits::LONG_TEXT, description)?;
        patch.optional_text("source", i.source, limits::SOURCE, &mut n.source)?;
        patch.value("modality", i.modality.map(Some), &mut n.modality);
        patch.tags("themes", i.themes, &mut tags.themes);
        let focus = &mut tags.management_focus;
        patch.tags("managementFocus", i.management_focus, focus);
        let modalities = &mut tags.support_modalities;
        patch.tags("supportModalities", i.support_modalities, modalities);
        non_empty("themes", &tags.themes)?;
        let money = (i.amount_required, i.amount_required_currency);
        let target = (
            &mut n.amount_required,
            &mut n.amount_required_currency,
            &mut r.amount_required_usd_cents,
        );
        self.patch_money(&mut patch, "amountRequired", money, target)
            .await?;
        Ok(patch.fields())
    }
}
