//! The read side of the information base: what an actor may see, decided here and nowhere else.
//!
//! Root lists go through [`Catalog::list`] and [`Catalog::count`] with a filter that knows its own
//! checks ([`Listing`]); records by id through [`Catalog::by_ids`] ([`Fetch`]). Rows hanging off a
//! record (tags, partners, links, …) carry no visibility of their own: they are only reached
//! through a record the actor has been allowed to see.

use std::sync::Arc;

use async_trait::async_trait;

use crate::entities::*;
use crate::page::{Page, PageRequest};
use crate::repository::*;
use crate::values::{self, CountryCode};
use crate::{Actor, Error, Result, Visibility};

pub use crate::limits::MAX_SEARCH_TEXT;

#[derive(Clone)]
pub struct Catalog {
    store: Arc<dyn Store>,
}

fn check_text(text: &mut Option<String>) -> Result<()> {
    if let Some(t) = text {
        let trimmed = crate::values::without_nul("text", t)?.trim();
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

fn check_active_year(year: &mut Option<i32>) -> Result<()> {
    if let Some(y) = year {
        values::year("activeInYear", *y)?;
    }
    Ok(())
}

fn check_country(code: &mut Option<String>) -> Result<()> {
    if let Some(c) = code {
        *c = CountryCode::parse(c)?.as_str().to_string();
    }
    Ok(())
}

/// The filter of a root list: how its input is checked and which store methods answer it, so
/// that a page and its total always apply the same filter and the same visibility.
#[async_trait]
pub trait Listing: Clone + Send + Sync + 'static {
    type Item: Send;
    /// The id a cursor is made of.
    fn id(item: &Self::Item) -> Id;
    /// Normalises the free text and country code; refuses them when out of bounds.
    fn check(&mut self) -> Result<()>;
    async fn page(
        &self,
        store: &dyn Store,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<Self::Item>>;
    async fn count(&self, store: &dyn Store, vis: &Visibility) -> Result<i64>;
}

/// A record loaded by id: drafts among practices, schemes and needs only for those who may see
/// them; cities, associations and donors are public.
#[async_trait]
pub trait Fetch: Sized + Send {
    async fn by_ids(store: &dyn Store, ids: &[Id], vis: &Visibility) -> Result<Vec<Self>>;
}

/// Calls a store method with the viewer's visibility where the records have drafts, without it
/// where they are public.
macro_rules! scoped {
    (gated $store:ident.$method:ident($arg:expr; $vis:expr $(; $rest:expr)?)) => {
        $store.$method($arg, $vis $(, $rest)?)
    };
    (public $store:ident.$method:ident($arg:expr; $vis:expr $(; $rest:expr)?)) => {{
        let _ = $vis;
        $store.$method($arg $(, $rest)?)
    }};
}

macro_rules! listing {
    ($filter:ty => $item:ty, $scope:ident $list:ident $count:ident, checks $($field:ident: $check:ident),+) => {
        #[async_trait]
        impl Listing for $filter {
            type Item = $item;

            fn id(item: &$item) -> Id {
                item.id
            }

            fn check(&mut self) -> Result<()> {
                $($check(&mut self.$field)?;)+
                Ok(())
            }

            async fn page(
                &self,
                store: &dyn Store,
                vis: &Visibility,
                page: PageRequest,
            ) -> Result<Page<$item>> {
                scoped!($scope store.$list(self; vis; page)).await
            }

            async fn count(&self, store: &dyn Store, vis: &Visibility) -> Result<i64> {
                scoped!($scope store.$count(self; vis)).await
            }
        }
    };
}

listing!(PracticeFilter => Practice, gated list_practices count_practices,
    checks text: check_text, country_code: check_country, active_in_year: check_active_year);
listing!(CityFilter => City, public list_cities count_cities,
    checks text: check_text, country_code: check_country);
listing!(AssociationFilter => Association, public list_associations count_associations,
    checks text: check_text);
listing!(DonorFilter => Donor, public list_donors count_donors, checks text: check_text);
listing!(SchemeFilter => SupportScheme, gated list_schemes count_schemes, checks text: check_text);
listing!(NeedFilter => Need, gated list_needs count_needs,
    checks text: check_text, country_code: check_country);

macro_rules! fetch {
    ($($record:ty: $scope:ident $method:ident;)+) => {$(
        #[async_trait]
        impl Fetch for $record {
            async fn by_ids(store: &dyn Store, ids: &[Id], vis: &Visibility) -> Result<Vec<Self>> {
                scoped!($scope store.$method(ids; vis)).await
            }
        }
    )+};
}

fetch! {
    Practice: gated practices_by_ids;
    SupportScheme: gated schemes_by_ids;
    Need: gated needs_by_ids;
    City: public cities_by_ids;
    Association: public associations_by_ids;
    Donor: public donors_by_ids;
}

/// Confidential amounts hidden from everyone but their donor and ADMIN.
fn redacted(actor: &Actor, mut records: Vec<Funding>) -> Vec<Funding> {
    records.iter_mut().for_each(|f| redact(actor, f));
    records
}

fn redact(actor: &Actor, f: &mut Funding) {
    if f.confidential && !actor.sees_confidential_amounts_of(f.donor_id) {
        f.amount = None;
        f.amount_usd = None;
    }
}

/// The records whose framework tags [`Catalog::tags`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tagged {
    Practice,
    Scheme,
    Need,
}

/// The named methods of each root list, kept for callers that know which list they want. Lists of
/// public records take no actor.
macro_rules! named_lists {
    (@actor $actor:ident) => { $actor };
    (@actor) => { &Actor::Anonymous };
    ($($list:ident, $count:ident ($($actor:ident)?): $filter:ty => $item:ty;)+) => {
        impl Catalog {$(
            pub async fn $list(
                &self,
                $($actor: &Actor,)?
                filter: $filter,
                page: PageRequest,
            ) -> Result<Page<$item>> {
                self.list(named_lists!(@actor $($actor)?), filter, page).await
            }

            pub async fn $count(&self, $($actor: &Actor,)? filter: $filter) -> Result<i64> {
                self.count(named_lists!(@actor $($actor)?), filter).await
            }
        )+}
    };
}

named_lists! {
    practices, count_practices (actor): PracticeFilter => Practice;
    cities, count_cities (): CityFilter => City;
    associations, count_associations (): AssociationFilter => Association;
    donors, count_donors (): DonorFilter => Donor;
    schemes, count_schemes (actor): SchemeFilter => SupportScheme;
    needs, count_needs (actor): NeedFilter => Need;
}

impl Catalog {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Catalog { store }
    }

    /// One page of the records the filter selects among those the actor may see.
    pub async fn list<F: Listing>(
        &self,
        actor: &Actor,
        mut filter: F,
        page: PageRequest,
    ) -> Result<Page<F::Item>> {
        filter.check()?;
        filter
            .page(self.store.as_ref(), &actor.visibility(), page)
            .await
    }

    /// How many records the filter selects over all pages, with the same checks as [`Self::list`].
    pub async fn count<F: Listing>(&self, actor: &Actor, mut filter: F) -> Result<i64> {
        filter.check()?;
        filter.count(self.store.as_ref(), &actor.visibility()).await
    }

    /// The records with these ids that the actor may see, in no particular order.
    pub async fn by_ids<R: Fetch>(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<R>> {
        R::by_ids(self.store.as_ref(), ids, &actor.visibility()).await
    }

    pub async fn practices_by_ids(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<Practice>> {
        self.by_ids(actor, ids).await
    }

    pub async fn schemes_by_ids(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<SupportScheme>> {
        self.by_ids(actor, ids).await
    }

    pub async fn needs_by_ids(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<Need>> {
        self.by_ids(actor, ids).await
    }

    /// The practices of these cities, only those the actor may see.
    pub async fn city_practices(
        &self,
        actor: &Actor,
        city_ids: &[Id],
    ) -> Result<Vec<PracticeCity>> {
        self.store
            .city_practices(city_ids, &actor.visibility())
            .await
    }

    /// A page of each parent's nested list, as `(parent, child id)` pairs; see
    /// [`NestedRepository::nested_page`]. The children are then read by id, which applies the
    /// actor's visibility once more.
    pub async fn nested_page(
        &self,
        actor: &Actor,
        nested: Nested,
        parents: &[Id],
        page: PageRequest,
    ) -> Result<NestedRows> {
        self.store
            .nested_page(nested, parents, &actor.visibility(), page)
            .await
    }

    /// A page of each parent's funding records with the records they name, in record-id order,
    /// with confidential amounts hidden as [`Catalog::funding_by_ids`] hides them; see
    /// [`NestedRepository::funding_page`].
    pub async fn funding_page(
        &self,
        actor: &Actor,
        nested: Nested,
        parents: &[Id],
        page: PageRequest,
    ) -> Result<Vec<FundingRow>> {
        let mut rows = self
            .store
            .funding_page(nested, parents, &actor.visibility(), page)
            .await?;
        rows.iter_mut().for_each(|r| redact(actor, &mut r.record));
        Ok(rows)
    }

    /// A page of practices as [`Self::list`] answers it, with what `along` asks of each
    /// practice's nested lists as [`Self::practice_participants`], [`Self::scheme_page`] and
    /// [`Self::funding_page`] answer it; see [`NestedRepository::practice_page_along`].
    pub async fn practice_page_along(
        &self,
        actor: &Actor,
        mut filter: PracticeFilter,
        page: PageRequest,
        along: &Along,
    ) -> Result<(Page<Practice>, Alongside)> {
        filter.check()?;
        let (page, mut alongside) = self
            .store
            .practice_page_along(&filter, &actor.visibility(), page, along)
            .await?;
        (alongside.funding.iter_mut()).for_each(|r| redact(actor, &mut r.record));
        Ok((page, alongside))
    }

    /// A page of each parent's support schemes, `(parent, scheme)` in scheme-id order; see
    /// [`NestedRepository::scheme_page`].
    pub async fn scheme_page(
        &self,
        actor: &Actor,
        nested: Nested,
        parents: &[Id],
        page: PageRequest,
    ) -> Result<Vec<(Id, SupportScheme)>> {
        self.store
            .scheme_page(nested, parents, &actor.visibility(), page)
            .await
    }

    /// How many children of a nested list each parent has for the actor.
    pub async fn nested_count(
        &self,
        actor: &Actor,
        nested: Nested,
        parents: &[Id],
    ) -> Result<Vec<(Id, i64)>> {
        self.store
            .nested_count(nested, parents, &actor.visibility())
            .await
    }

    /// Cities' parts in practices, for `(city, practice)` pairs the caller already may see.
    pub async fn participations(&self, pairs: &[(Id, Id)]) -> Result<Vec<PracticeCity>> {
        self.store.participations(pairs).await
    }

    /// Funding records by id, with confidential amounts hidden from everyone but their donor
    /// and ADMIN: others learn that the funding exists, not how much it is.
    pub async fn funding_by_ids(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<Funding>> {
        let records = self.store.funding_by_ids(ids, &actor.visibility()).await?;
        Ok(redacted(actor, records))
    }

    pub async fn inventory(&self, actor: &Actor) -> Result<Inventory> {
        self.store.inventory(&actor.visibility()).await
    }

    /// Every country of ISO 3166-1: reference data, public.
    pub async fn countries(&self) -> Result<Vec<Country>> {
        self.store.all_countries().await
    }

    pub async fn countries_by_codes(&self, codes: &[String]) -> Result<Vec<Country>> {
        self.store.countries_by_codes(codes).await
    }

    /// The framework tags of practices, schemes or needs, per record id.
    pub async fn tags(&self, of: Tagged, ids: &[Id]) -> Result<Vec<(Id, Tags)>> {
        match of {
            Tagged::Practice => self.store.practice_tags(ids).await,
            Tagged::Scheme => self.store.scheme_tags(ids).await,
            Tagged::Need => self.store.need_tags(ids).await,
        }
    }

    /// Donors' agendas, per donor id.
    pub async fn agendas(&self, donor_ids: &[Id]) -> Result<Vec<(Id, Agenda)>> {
        self.store.agendas(donor_ids).await
    }

    /// Who operates these schemes, per scheme id.
    pub async fn scheme_operators(&self, scheme_ids: &[Id]) -> Result<Vec<(Id, Operator)>> {
        self.store.scheme_operators(scheme_ids).await
    }

    /// The cities of these practices with their roles. Cities are public, so unlike
    /// [`Self::city_practices`] nothing is left out.
    pub async fn practice_cities(&self, practice_ids: &[Id]) -> Result<Vec<PracticeCity>> {
        self.store.practice_cities(practice_ids).await
    }

    /// The cities of these practices with their roles and their records, lead cities first.
    pub async fn practice_participants(
        &self,
        practice_ids: &[Id],
    ) -> Result<Vec<(PracticeCity, City)>> {
        self.store.practice_participants(practice_ids).await
    }

    pub async fn partners(&self, practice_ids: &[Id]) -> Result<Vec<Partner>> {
        self.store.partners(practice_ids).await
    }

    pub async fn indicators(&self, practice_ids: &[Id]) -> Result<Vec<Indicator>> {
        self.store.indicators(practice_ids).await
    }

    /// Id pairs `(from, to)` of a relation. The targets are not filtered here: callers load them
    /// through [`Self::by_ids`], which leaves out what the actor may not see.
    pub async fn links(&self, link: Link, from: &[Id]) -> Result<Vec<(Id, Id)>> {
        self.store.links(link, from).await
    }
}
