//! The read side of the information base: what an actor may see, decided here and nowhere else.

use std::sync::Arc;

use crate::entities::*;
use crate::page::{Page, PageRequest};
use crate::repository::*;
use crate::values::CountryCode;
use crate::{Actor, Error, Result};

/// Longest `text` filter accepted: a search phrase, not a document.
pub const MAX_SEARCH_TEXT: usize = 200;

#[derive(Clone)]
pub struct Catalog {
    store: Arc<dyn Store>,
}

fn check_text(text: &mut Option<String>) -> Result<()> {
    if let Some(t) = text {
        let trimmed = t.trim();
        if trimmed.chars().count() > MAX_SEARCH_TEXT {
            return Err(Error::validation(
                "text",
                format!("at most {MAX_SEARCH_TEXT} characters"),
            ));
        }
        *text = if trimmed.is_empty() {
            None
        } else {
            Some(trimmed.to_string())
        };
    }
    Ok(())
}

fn check_country(code: &mut Option<String>) -> Result<()> {
    if let Some(c) = code {
        *c = CountryCode::parse(c)?.as_str().to_string();
    }
    Ok(())
}

impl Catalog {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Catalog { store }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub async fn practices(
        &self,
        actor: &Actor,
        mut filter: PracticeFilter,
        page: PageRequest,
    ) -> Result<Page<Practice>> {
        check_text(&mut filter.text)?;
        check_country(&mut filter.country_code)?;
        self.store
            .list_practices(&filter, &actor.visibility(), page)
            .await
    }

    pub async fn count_practices(&self, actor: &Actor, mut filter: PracticeFilter) -> Result<i64> {
        check_text(&mut filter.text)?;
        check_country(&mut filter.country_code)?;
        self.store
            .count_practices(&filter, &actor.visibility())
            .await
    }

    pub async fn cities(&self, mut filter: CityFilter, page: PageRequest) -> Result<Page<City>> {
        check_text(&mut filter.text)?;
        check_country(&mut filter.country_code)?;
        self.store.list_cities(&filter, page).await
    }

    pub async fn count_cities(&self, mut filter: CityFilter) -> Result<i64> {
        check_text(&mut filter.text)?;
        check_country(&mut filter.country_code)?;
        self.store.count_cities(&filter).await
    }

    pub async fn associations(
        &self,
        mut filter: AssociationFilter,
        page: PageRequest,
    ) -> Result<Page<Association>> {
        check_text(&mut filter.text)?;
        self.store.list_associations(&filter, page).await
    }

    pub async fn count_associations(&self, mut filter: AssociationFilter) -> Result<i64> {
        check_text(&mut filter.text)?;
        self.store.count_associations(&filter).await
    }

    pub async fn donors(&self, mut filter: DonorFilter, page: PageRequest) -> Result<Page<Donor>> {
        check_text(&mut filter.text)?;
        self.store.list_donors(&filter, page).await
    }

    pub async fn count_donors(&self, mut filter: DonorFilter) -> Result<i64> {
        check_text(&mut filter.text)?;
        self.store.count_donors(&filter).await
    }

    pub async fn schemes(
        &self,
        actor: &Actor,
        mut filter: SchemeFilter,
        page: PageRequest,
    ) -> Result<Page<SupportScheme>> {
        check_text(&mut filter.text)?;
        self.store
            .list_schemes(&filter, &actor.visibility(), page)
            .await
    }

    pub async fn count_schemes(&self, actor: &Actor, mut filter: SchemeFilter) -> Result<i64> {
        check_text(&mut filter.text)?;
        self.store.count_schemes(&filter, &actor.visibility()).await
    }

    pub async fn needs(
        &self,
        actor: &Actor,
        mut filter: NeedFilter,
        page: PageRequest,
    ) -> Result<Page<Need>> {
        check_text(&mut filter.text)?;
        check_country(&mut filter.country_code)?;
        self.store
            .list_needs(&filter, &actor.visibility(), page)
            .await
    }

    pub async fn count_needs(&self, actor: &Actor, mut filter: NeedFilter) -> Result<i64> {
        check_text(&mut filter.text)?;
        check_country(&mut filter.country_code)?;
        self.store.count_needs(&filter, &actor.visibility()).await
    }

    pub async fn practices_by_ids(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<Practice>> {
        self.store.practices_by_ids(ids, &actor.visibility()).await
    }

    pub async fn schemes_by_ids(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<SupportScheme>> {
        self.store.schemes_by_ids(ids, &actor.visibility()).await
    }

    pub async fn needs_by_ids(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<Need>> {
        self.store.needs_by_ids(ids, &actor.visibility()).await
    }

    pub async fn city_practices(
        &self,
        actor: &Actor,
        city_ids: &[Id],
    ) -> Result<Vec<PracticeCity>> {
        self.store
            .city_practices(city_ids, &actor.visibility())
            .await
    }

    /// Funding records with confidential amounts hidden from everyone but their donor and ADMIN:
    /// others learn that the funding exists, not how much it is.
    pub async fn funding_of(
        &self,
        actor: &Actor,
        owner: FundingOwner,
        ids: &[Id],
    ) -> Result<Vec<Funding>> {
        let mut records = self
            .store
            .funding_of(owner, ids, &actor.visibility())
            .await?;
        for f in records.iter_mut().filter(|f| f.confidential) {
            if !actor.sees_confidential_amounts_of(f.donor_id) {
                f.amount = None;
                f.amount_usd = None;
            }
        }
        Ok(records)
    }

    pub async fn inventory(&self, actor: &Actor) -> Result<Inventory> {
        self.store.inventory(&actor.visibility()).await
    }
}
