//! Changes to the information base: what a valid record is, and no lost updates (every change
//! names the version it was based on). Who may make a change is [`crate::policy`]'s to decide.
//!
//! Every change is written with its audit entry in one transaction by the repository. One file
//! per kind of record: the input a client sends, the record a change touches, and the
//! [`Editor`]'s methods for it.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::audit::{AuditEntry, AuditFilter};
use crate::entities::*;
use crate::framework::*;
use crate::page::{Page, PageRequest};
use crate::values::{CountryCode, CurrencyCode, Money};
use crate::{Actor, Error, Result, values};

mod funding;
mod need;
mod patch;
mod practice;
mod profiles;
mod rates;
mod scheme;
#[cfg(test)]
mod tests;

pub use crate::limits::MAX_INDICATORS;
pub use funding::FundingInput;
pub use need::{NeedInput, NeedRecord};
pub use practice::{IndicatorInput, PracticeInput, PracticeRecord};
pub use profiles::{AssociationInput, CityInput, DonorInput};
pub use scheme::{SchemeInput, SchemeRecord};

use patch::Patch;

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

/// Where a record keeps money: amount, currency and USD cents.
type MoneyFields<'a> = (
    &'a mut Option<Decimal>,
    &'a mut Option<String>,
    &'a mut Option<i64>,
);

#[derive(Clone)]
pub struct Editor {
    repo: Arc<dyn EditRepository>,
}

/// The audit action of a change of publication status, named after where the record goes.
fn status_action(status: PublicationStatus) -> &'static str {
    match status {
        PublicationStatus::Published => "PUBLISH",
        PublicationStatus::Archived => "ARCHIVE",
        PublicationStatus::Draft => "UNPUBLISH",
    }
}

/// The record, or NOT_FOUND.
fn found<T>(entity: &'static str, id: Id, record: Option<T>) -> Result<T> {
    record.ok_or_else(|| Error::not_found(entity, id))
}

fn non_empty<T>(field: &str, values: &[T]) -> Result<()> {
    if values.is_empty() {
        Err(Error::validation(field, "must name at least one value"))
    } else {
        Ok(())
    }
}

/// The owner of a record an actor creates: its organisation.
fn affiliation_of(actor: &Actor) -> Option<crate::actor::Affiliation> {
    match actor {
        Actor::User { affiliation, .. } => affiliation.clone(),
        _ => None,
    }
}

impl Editor {
    pub fn new(repo: Arc<dyn EditRepository>) -> Self {
        Editor { repo }
    }

    /// VALIDATION on `field` naming the first of `ids` that is not in `table`.
    async fn require_existing(&self, table: ExistsIn, field: &str, ids: &[Id]) -> Result<()> {
        let ids = patch::dedup(ids);
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

    /// A country code the reference data knows, normalised; `field` names the input in errors.
    async fn country(&self, field: &str, code: &str) -> Result<String> {
        let code = CountryCode::parse_for(field, code)?;
        match self.repo.country_bloc(code.as_str()).await? {
            Some(_) => Ok(code.as_str().to_string()),
            None => Err(Error::validation(field, format!("unknown country {code}"))),
        }
    }

    /// An optional country (`countryCode`): blank clears it.
    async fn optional_country(&self, code: &str) -> Result<Option<String>> {
        if code.trim().is_empty() {
            Ok(None)
        } else {
            self.country("countryCode", code).await.map(Some)
        }
    }

    /// An amount in a currency, converted at the currency's current USD rate (returned too, for
    /// records that keep it). The fields are the input's names of the two, for errors.
    async fn convert(
        &self,
        (amount_field, currency_field): (&str, &str),
        amount: Decimal,
        currency: Option<&str>,
    ) -> Result<(Money, CurrencyRate)> {
        let amount = values::non_negative(amount_field, amount)?;
        let currency = CurrencyCode::parse_for(
            currency_field,
            currency.ok_or_else(|| Error::validation(currency_field, "required with an amount"))?,
        )?;
        let rate = self
            .repo
            .usd_rate(currency.as_str())
            .await?
            .ok_or_else(|| {
                Error::validation(currency_field, format!("no USD rate for {currency}"))
            })?;
        let usd_cents = values::to_usd_cents(amount, rate.usd_per_unit)
            .map_err(|_| Error::validation(amount_field, "is too large in USD"))?;
        let money = Money {
            amount,
            currency,
            usd_cents,
        };
        Ok((money, rate))
    }

    /// Amount and currency of a record, given together or apart (the other is kept) and
    /// converted again; named `field` in the audit entry and in validation errors of the amount,
    /// `{field}Currency` (the inputs' name for it) in those of the currency.
    async fn patch_money(
        &self,
        patch: &mut Patch,
        field: &str,
        (amount, currency): (Option<Decimal>, Option<String>),
        target: MoneyFields<'_>,
    ) -> Result<()> {
        if patch.touched(field, amount.is_some() || currency.is_some()) {
            let (stored_amount, stored_currency, usd_cents) = target;
            let currency = currency.or(stored_currency.clone());
            let money = self
                .money(
                    (field, &format!("{field}Currency")),
                    amount.or(*stored_amount),
                    currency.as_deref(),
                )
                .await?;
            Money::store(money, stored_amount, stored_currency, usd_cents);
        }
        Ok(())
    }

    /// An optional amount with its currency; no amount is no money.
    async fn money(
        &self,
        fields: (&str, &str),
        amount: Option<Decimal>,
        currency: Option<&str>,
    ) -> Result<Option<Money>> {
        match amount {
            Some(amount) => {
                let (money, _) = self.convert(fields, amount, currency).await?;
                Ok(Some(money))
            }
            None => Ok(None),
        }
    }
}
