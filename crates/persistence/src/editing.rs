//! The write side as the domain's editor asks for it. Every save goes through
//! [`crate::versioned::save_versioned`]; each aggregate's rows are in its own module.

use async_trait::async_trait;
use domain::Result;
use domain::audit::{AuditEntry, AuditFilter};
use domain::editing::*;
use domain::entities::*;
use domain::framework::Bloc;
use domain::page::{Page, PageRequest};
use domain::repository::{AssociationRepository, CityRepository};

use crate::funding::FundingRow;
use crate::profiles::DonorRow;
use crate::store::SeaStore;
use crate::versioned::save_versioned;
use crate::{audit, funding, need, practice, profiles, reference, scheme};

#[async_trait]
impl EditRepository for SeaStore {
    async fn practice_record(&self, id: Id) -> Result<Option<PracticeRecord>> {
        practice::record(self, id).await
    }

    async fn save_practice(
        &self,
        r: &PracticeRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Practice> {
        save_versioned(self, r, expected_version, audit).await
    }

    async fn scheme_record(&self, id: Id) -> Result<Option<SchemeRecord>> {
        scheme::record(self, id).await
    }

    async fn save_scheme(
        &self,
        r: &SchemeRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<SupportScheme> {
        save_versioned(self, r, expected_version, audit).await
    }

    async fn link_scheme(&self, scheme_id: Id, practice_id: Id, audit: AuditEntry) -> Result<()> {
        crate::db::retrying(|| practice::link_scheme(self, scheme_id, practice_id, audit.clone()))
            .await
    }

    async fn funding_by_id(&self, id: Id) -> Result<Option<(Funding, Option<i64>)>> {
        funding::by_id(self, id).await
    }

    async fn save_funding(
        &self,
        f: &Funding,
        cents: Option<i64>,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Funding> {
        let row = FundingRow {
            funding: f,
            usd_cents: cents,
        };
        save_versioned(self, &row, expected_version, audit).await
    }

    async fn need_record(&self, id: Id) -> Result<Option<NeedRecord>> {
        need::record(self, id).await
    }

    async fn save_need(
        &self,
        r: &NeedRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Need> {
        save_versioned(self, r, expected_version, audit).await
    }

    async fn city(&self, id: Id) -> Result<Option<City>> {
        Ok(self.cities_by_ids(&[id]).await?.pop())
    }

    async fn association(&self, id: Id) -> Result<Option<Association>> {
        Ok(self.associations_by_ids(&[id]).await?.pop())
    }

    async fn donor_with_agenda(&self, id: Id) -> Result<Option<(Donor, Agenda)>> {
        profiles::donor_with_agenda(self, id).await
    }

    async fn save_city(
        &self,
        c: &City,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<City> {
        save_versioned(self, c, expected_version, audit).await
    }

    async fn save_association(
        &self,
        a: &Association,
        expected_version: i32,
        audit: AuditEntry,
    ) -> Result<Association> {
        save_versioned(self, a, Some(expected_version), audit).await
    }

    async fn save_donor(
        &self,
        d: &Donor,
        agenda: &Agenda,
        expected_version: i32,
        audit: AuditEntry,
    ) -> Result<Donor> {
        let row = DonorRow { donor: d, agenda };
        save_versioned(self, &row, Some(expected_version), audit).await
    }

    async fn usd_rate(&self, currency: &str) -> Result<Option<CurrencyRate>> {
        reference::usd_rate(self, currency).await
    }

    async fn currency_rates(&self) -> Result<Vec<CurrencyRate>> {
        reference::currency_rates(self).await
    }

    async fn save_rate(&self, r: &CurrencyRate, audit: AuditEntry) -> Result<CurrencyRate> {
        reference::save_rate(self, r, audit).await
    }

    async fn country_bloc(&self, code: &str) -> Result<Option<Bloc>> {
        reference::country_bloc(self, code).await
    }

    async fn city_blocs(&self, city_ids: &[Id]) -> Result<Vec<(Id, Bloc)>> {
        reference::city_blocs(self, city_ids).await
    }

    async fn existing_ids(&self, table: ExistsIn, ids: &[Id]) -> Result<Vec<Id>> {
        reference::existing_ids(self, table, ids).await
    }

    async fn audit_log(&self, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEntry>> {
        audit::audit_log(self, filter, page).await
    }

    async fn count_audit(&self, filter: &AuditFilter) -> Result<i64> {
        audit::count_audit(self, filter).await
    }
}
