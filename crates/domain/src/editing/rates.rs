//! The secretariat's tables: the USD rates records convert at, and the audit trail.

use rust_decimal::Decimal;

use super::Editor;
use crate::audit::{AuditEntry, AuditFilter};
use crate::entities::{CurrencyRate, Id};
use crate::page::{Page, PageRequest};
use crate::values::{self, CurrencyCode, bounded_text};
use crate::{Actor, Error, Result, limits, policy};

impl Editor {
    pub async fn currency_rates(&self) -> Result<Vec<CurrencyRate>> {
        self.repo.currency_rates().await
    }

    /// Sets the USD rate of a currency. Existing funding keeps the rate it was recorded at.
    pub async fn set_currency_rate(
        &self,
        actor: &Actor,
        currency: &str,
        usd_per_unit: Decimal,
        as_of: &str,
        source: &str,
    ) -> Result<CurrencyRate> {
        policy::may_set_currency_rate(actor)?;
        let currency = CurrencyCode::parse(currency)?;
        let usd_per_unit = values::rate("usdPerUnit", &usd_per_unit.to_string())?;
        let as_of = chrono::NaiveDate::parse_from_str(as_of.trim(), "%Y-%m-%d")
            .map_err(|_| Error::validation("asOf", "is not a date (YYYY-MM-DD)"))?
            .to_string();
        let source = bounded_text("source", source, limits::RATE_SOURCE)?;
        let rate = CurrencyRate {
            currency: currency.to_string(),
            usd_per_unit,
            as_of,
            source,
        };
        let fields = [rate.currency.as_str(), "usdPerUnit", "asOf", "source"];
        let fields = fields.map(String::from).to_vec();
        let audit = AuditEntry::new(actor, "SET_RATE", "CurrencyRate", 0, fields);
        self.repo.save_rate(&rate, audit).await
    }

    pub async fn audit_log(
        &self,
        actor: &Actor,
        mut filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        policy::may_read_audit_log(actor)?;
        filter.check()?;
        self.repo.audit_log(&filter, page).await
    }

    /// One entry of the audit trail by id, for the secretariat; `None` for anyone else.
    pub async fn audit_entry(&self, actor: &Actor, id: Id) -> Result<Option<AuditEntry>> {
        if policy::may_read_audit_log(actor).is_err() {
            return Ok(None);
        }
        // The log reads newest first from a cursor: the first entry before `id + 1` is `id`
        // itself when it exists.
        let page = PageRequest {
            first: 1,
            after: Some(id.saturating_add(1)),
        };
        let found = self.repo.audit_log(&AuditFilter::default(), page).await?;
        Ok(found.items.into_iter().find(|e| e.id == id))
    }

    pub async fn count_audit(&self, actor: &Actor, mut filter: AuditFilter) -> Result<i64> {
        policy::may_read_audit_log(actor)?;
        filter.check()?;
        self.repo.count_audit(&filter).await
    }
}
