//! Funding records: money from a donor, a city's own budget or local partners to a practice or a
//! scheme, converted to USD at the rate of the day and keeping that rate.

use rust_decimal::Decimal;

use super::{Editor, ExistsIn, Patch, found};
use crate::actor::Affiliation;
use crate::audit::AuditEntry;
use crate::entities::*;
use crate::framework::*;
use crate::values::{self, cents_to_decimal};
use crate::{Actor, Error, Result, limits, policy};

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

impl Editor {
    pub async fn record_funding(&self, actor: &Actor, i: FundingInput) -> Result<Funding> {
        policy::approved(actor)?;
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
        // A recipient the caller may not read is NOT_FOUND before anything else is said.
        let practice_cities = self
            .readable_recipient(actor, practice_id, scheme_id)
            .await?;
        let donor_id = policy::donor_of_new_funding(actor, i.donor_id)?;
        let source_type = i
            .source_type
            .ok_or_else(|| Error::validation("sourceType", "required"))?;
        if let Some(d) = donor_id {
            self.require_existing(ExistsIn::Donors, "donorId", &[d])
                .await?;
        }
        policy::may_change_funding(actor, donor_id, source_type, &practice_cities)?;
        let source_city_id = match (super::affiliation_of(actor), source_type) {
            (Some(Affiliation::City(c)), FundingSource::OwnBudget) => Some(c),
            _ => None,
        };
        let mut funding = Funding {
            id: 0,
            version: 1,
            practice_id,
            scheme_id,
            donor_id,
            source_city_id,
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
        let mut patch = Patch::default();
        let cents = self
            .apply_funding(&mut patch, &mut funding, None, i)
            .await?;
        let audit = AuditEntry::new(actor, "CREATE", "Funding", 0, patch.fields());
        self.repo.save_funding(&funding, cents, None, audit).await
    }

    pub async fn update_funding(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: FundingInput,
    ) -> Result<Funding> {
        policy::approved(actor)?;
        let (mut funding, cents) = found("Funding", id, self.repo.funding_by_id(id).await?)?;
        // A record is read only with what it funds: hidden alike, before any version check.
        let practice_cities = self
            .readable_recipient(actor, funding.practice_id, funding.scheme_id)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => Error::not_found("Funding", id),
                e => e,
            })?;
        let donor_id = funding.donor_id;
        policy::may_change_funding(actor, donor_id, funding.source_type, &practice_cities)?;
        if i.practice_id.is_some() || i.scheme_id.is_some() || i.donor_id.is_some() {
            return Err(Error::validation(
                "practiceId",
                "a funding record's recipient and donor do not change; record a new one",
            ));
        }
        if let Some(t) = i.source_type {
            // The new source type must still be one this actor may record.
            policy::may_change_funding(actor, donor_id, t, &practice_cities)?;
            funding.source_type = t;
        }
        if let Some(s) = i.status {
            funding.status = s;
        }
        let (source_type, status) = (i.source_type, i.status);
        let mut patch = Patch::default();
        let cents = self
            .apply_funding(&mut patch, &mut funding, cents, i)
            .await?;
        patch.touched("sourceType", source_type.is_some());
        patch.touched("status", status.is_some());
        let audit = AuditEntry::new(actor, "UPDATE", "Funding", id, patch.fields());
        self.repo
            .save_funding(&funding, cents, Some(version), audit)
            .await
    }

    /// The cities of the practice a record funds (whose own budget it may be), once the practice
    /// or scheme it funds is known to be one the actor may read; NOT_FOUND otherwise.
    async fn readable_recipient(
        &self,
        actor: &Actor,
        practice_id: Option<Id>,
        scheme_id: Option<Id>,
    ) -> Result<Vec<Id>> {
        if let Some(s) = scheme_id {
            self.readable_scheme(actor, s).await?;
        }
        match practice_id {
            Some(p) => Ok(self.readable_practice(actor, p).await?.city_ids()),
            None => Ok(vec![]),
        }
    }

    /// Applies the input's amount and details; answers the record's USD cents.
    async fn apply_funding(
        &self,
        patch: &mut Patch,
        f: &mut Funding,
        cents: Option<i64>,
        i: FundingInput,
    ) -> Result<Option<i64>> {
        let mut cents = cents;
        let amount_given = patch.touched("amount", i.amount.is_some());
        if patch.touched("currency", i.currency.is_some()) | amount_given {
            let amount = i
                .amount
                .or(f.amount)
                .ok_or_else(|| Error::validation("amount", "required"))?;
            let currency = i.currency.unwrap_or_else(|| f.currency.clone());
            let (money, rate) = self
                .convert(("amount", "currency"), amount, Some(&currency))
                .await?;
            cents = Some(money.usd_cents);
            f.amount = Some(money.amount);
            f.currency = money.currency.to_string();
            f.rate = rate.usd_per_unit;
            f.rate_source = Some(rate.citation());
            f.amount_usd = Some(cents_to_decimal(money.usd_cents));
        }
        let year = |y| values::year("year", y);
        patch.checked("year", i.year, year, &mut f.year)?;
        patch.value("confidential", i.confidential, &mut f.confidential);
        let source_name = &mut f.source_name;
        patch.optional_text("sourceName", i.source_name, limits::NAME, source_name)?;
        patch.optional_text("note", i.note, limits::NOTE, &mut f.note)?;
        Ok(cents)
    }
}
