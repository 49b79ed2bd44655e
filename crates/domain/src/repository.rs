//! What the domain needs from storage. The persistence crate implements these on a database;
//! every list method applies the [`Visibility`] in the query so pages and counts agree.

use std::sync::Arc;

use async_trait::async_trait;

use crate::entities::*;
use crate::framework::*;
use crate::page::{Page, PageRequest};
use crate::{Result, Visibility};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PracticeFilter {
    pub text: Option<String>,
    pub themes: Vec<Theme>,
    pub orientation: Option<GeographicOrientation>,
    pub modality: Option<LinkingModality>,
    pub management_focus: Vec<ManagementFocus>,
    pub cooperating_parties: Vec<CooperatingParty>,
    pub country_code: Option<String>,
    pub city_id: Option<Id>,
    pub scheme_id: Option<Id>,
    pub status: Option<PublicationStatus>,
    pub active_in_year: Option<i32>,
    /// Practices saved (created, changed, published, archived) after this time.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CityFilter {
    pub text: Option<String>,
    pub country_code: Option<String>,
    pub bloc: Option<Bloc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssociationFilter {
    pub text: Option<String>,
    pub scope: Option<AssociationScope>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DonorFilter {
    pub text: Option<String>,
    pub kind: Option<DonorKind>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemeFilter {
    pub text: Option<String>,
    pub themes: Vec<Theme>,
    pub orientation: Option<GeographicOrientation>,
    pub support_modality: Option<SupportModality>,
    pub open_for_applications: Option<bool>,
    pub association_id: Option<Id>,
    pub donor_id: Option<Id>,
    pub status: Option<PublicationStatus>,
    /// Schemes saved after this time.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NeedFilter {
    pub text: Option<String>,
    pub themes: Vec<Theme>,
    pub status: Option<NeedStatus>,
    pub city_id: Option<Id>,
    pub country_code: Option<String>,
    /// Needs saved after this time.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// Many-to-many and one-to-many relations loaded as id pairs `(from, to)`, batched by `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    /// The associations a practice names: a short list, bounded when the practice is saved.
    PracticeAssociations,
}

#[async_trait]
pub trait ReferenceRepository: Send + Sync {
    async fn countries_by_codes(&self, codes: &[String]) -> Result<Vec<Country>>;
    async fn all_countries(&self) -> Result<Vec<Country>>;
}

#[async_trait]
pub trait CityRepository: Send + Sync {
    async fn cities_by_ids(&self, ids: &[Id]) -> Result<Vec<City>>;
    async fn list_cities(&self, filter: &CityFilter, page: PageRequest) -> Result<Page<City>>;
    async fn count_cities(&self, filter: &CityFilter) -> Result<i64>;
}

#[async_trait]
pub trait AssociationRepository: Send + Sync {
    async fn associations_by_ids(&self, ids: &[Id]) -> Result<Vec<Association>>;
    async fn list_associations(
        &self,
        filter: &AssociationFilter,
        page: PageRequest,
    ) -> Result<Page<Association>>;
    async fn count_associations(&self, filter: &AssociationFilter) -> Result<i64>;
}

#[async_trait]
pub trait DonorRepository: Send + Sync {
    async fn donors_by_ids(&self, ids: &[Id]) -> Result<Vec<Donor>>;
    async fn list_donors(&self, filter: &DonorFilter, page: PageRequest) -> Result<Page<Donor>>;
    async fn count_donors(&self, filter: &DonorFilter) -> Result<i64>;
    async fn agendas(&self, donor_ids: &[Id]) -> Result<Vec<(Id, Agenda)>>;
}

#[async_trait]
pub trait SchemeRepository: Send + Sync {
    async fn schemes_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<SupportScheme>>;
    async fn list_schemes(
        &self,
        filter: &SchemeFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<SupportScheme>>;
    async fn count_schemes(&self, filter: &SchemeFilter, vis: &Visibility) -> Result<i64>;
    async fn scheme_tags(&self, scheme_ids: &[Id]) -> Result<Vec<(Id, Tags)>>;
    async fn scheme_operators(&self, scheme_ids: &[Id]) -> Result<Vec<(Id, Operator)>>;
}

#[async_trait]
pub trait PracticeRepository: Send + Sync {
    async fn practices_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<Practice>>;
    async fn list_practices(
        &self,
        filter: &PracticeFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<Practice>>;
    async fn count_practices(&self, filter: &PracticeFilter, vis: &Visibility) -> Result<i64>;
    async fn practice_tags(&self, practice_ids: &[Id]) -> Result<Vec<(Id, Tags)>>;
    async fn practice_cities(&self, practice_ids: &[Id]) -> Result<Vec<PracticeCity>>;
    /// [`PracticeRepository::practice_cities`] with each city's record, in one read.
    async fn practice_participants(&self, practice_ids: &[Id])
    -> Result<Vec<(PracticeCity, City)>>;
    /// The practices of these cities, only those the viewer may see.
    async fn city_practices(&self, city_ids: &[Id], vis: &Visibility) -> Result<Vec<PracticeCity>>;
    async fn partners(&self, practice_ids: &[Id]) -> Result<Vec<Partner>>;
    async fn indicators(&self, practice_ids: &[Id]) -> Result<Vec<Indicator>>;
}

#[async_trait]
pub trait NeedRepository: Send + Sync {
    async fn needs_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<Need>>;
    async fn list_needs(
        &self,
        filter: &NeedFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<Need>>;
    async fn count_needs(&self, filter: &NeedFilter, vis: &Visibility) -> Result<i64>;
    async fn need_tags(&self, need_ids: &[Id]) -> Result<Vec<(Id, Tags)>>;
}

#[async_trait]
pub trait LinkRepository: Send + Sync {
    async fn links(&self, link: Link, from: &[Id]) -> Result<Vec<(Id, Id)>>;
}

/// A list hanging off a record that grows with the base, read a page per parent record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nested {
    /// Funding records whose source is a donor.
    DonorFunding,
    /// Funding records attached to a support scheme.
    SchemeFunding,
    /// The practices a city takes part in (the child id is the practice's).
    CityPractices,
    /// The needs a city asks for.
    CityNeeds,
    /// The practices an association is involved in.
    AssociationPractices,
    /// The practices a support scheme supports.
    SchemePractices,
    /// The cities that are members of an association.
    AssociationMemberCities,
    /// Funding records attached to a practice.
    PracticeFunding,
    /// The support schemes behind a practice.
    PracticeSchemes,
    /// The donors of a practice's funding records, each once.
    PracticeDonors,
    /// The donors of a support scheme's funding records, each once.
    SchemeDonors,
    /// The support schemes a donor funds or operates.
    DonorSchemes,
    /// The support schemes an association operates.
    AssociationSchemes,
    /// The associations a city is a member of.
    CityMemberships,
    /// The associations that are members of an association.
    AssociationMembers,
    /// The associations an association is a member of.
    AssociationParents,
}

impl Nested {
    /// Whether the list's children are funding records, which its own table holds: such a page
    /// can be read with the records themselves ([`NestedRepository::funding_page`]).
    pub fn lists_funding(self) -> bool {
        matches!(
            self,
            Nested::DonorFunding | Nested::SchemeFunding | Nested::PracticeFunding
        )
    }

    /// Whether the list's children are support schemes named by a column of its table: such a
    /// page can be read with the schemes themselves ([`NestedRepository::scheme_page`]).
    pub fn lists_schemes(self) -> bool {
        matches!(self, Nested::PracticeSchemes | Nested::AssociationSchemes)
    }
}

/// One page of the children of one parent record: `(parent, child id)` pairs in child-id order.
pub type NestedRows = Vec<(Id, Id)>;
/// A funding record of a nested page with the records it names that the statement paging it
/// read: the donor (donors are public) and, in the lists whose parent is not the practice, the
/// practice (a record the viewer may see names a practice the viewer may see: one rule decides
/// both). `None` where the record names none, or where it was not read.
#[derive(Clone, Debug)]
pub struct FundingRow {
    pub parent: Id,
    pub record: Funding,
    /// Shared by every row of the page that names it.
    pub donor: Option<Arc<Donor>>,
    pub practice: Option<Arc<Practice>>,
}

/// Pages of nested lists for many parents at once, each parent getting its own page: one
/// statement for a whole batch of parents, whatever their number.
#[async_trait]
pub trait NestedRepository: Send + Sync {
    /// For each parent, up to `page.first + 1` of its children after `page.after` (the extra one
    /// tells whether more follow), only those the viewer may see.
    async fn nested_page(
        &self,
        nested: Nested,
        parents: &[Id],
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<NestedRows>;
    /// A page of each parent's funding records as [`NestedRepository::nested_page`] reads their
    /// ids, with the records themselves and those they name (see [`FundingRow`]), in
    /// record-id order, for the lists whose children are funding records
    /// ([`Nested::lists_funding`]). Amounts are not redacted here.
    async fn funding_page(
        &self,
        nested: Nested,
        parents: &[Id],
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Vec<FundingRow>>;
    /// A page of each parent's support schemes as [`NestedRepository::nested_page`] reads their
    /// ids, with the schemes themselves: `(parent, scheme)` in scheme-id order, for the lists
    /// of [`Nested::lists_schemes`].
    async fn scheme_page(
        &self,
        nested: Nested,
        parents: &[Id],
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Vec<(Id, SupportScheme)>>;
    /// How many children each parent has that the viewer may see; parents without any are absent.
    async fn nested_count(
        &self,
        nested: Nested,
        parents: &[Id],
        vis: &Visibility,
    ) -> Result<Vec<(Id, i64)>>;
    /// The role of each `(city, practice)` pair that exists.
    async fn participations(&self, pairs: &[(Id, Id)]) -> Result<Vec<PracticeCity>>;
    /// Funding records by id, leaving out those attached to a practice or scheme the viewer may
    /// not see. Amounts are not redacted here.
    async fn funding_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<Funding>>;
    /// A page of practices as [`PracticeRepository::list_practices`] reads it, and for the
    /// practices of the page (not the extra one that tells whether more follow) what `along`
    /// asks of their nested lists, as [`PracticeRepository::practice_participants`],
    /// [`Self::scheme_page`] (of [`Nested::PracticeSchemes`]) and [`Self::funding_page`] (of
    /// [`Nested::PracticeFunding`]) read them. A store that can may read the nested lists
    /// without waiting for the page's ids, as long as it answers them for the page's practices.
    async fn practice_page_along(
        &self,
        filter: &PracticeFilter,
        vis: &Visibility,
        page: PageRequest,
        along: &Along,
    ) -> Result<(Page<Practice>, Alongside)>;
}

/// What [`NestedRepository::practice_page_along`] reads with a page of practices: each
/// practice's cities with their records, and a page of its schemes and of its funding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Along {
    pub participants: bool,
    pub schemes: Option<PageRequest>,
    pub funding: Option<PageRequest>,
}

impl Along {
    pub fn is_empty(&self) -> bool {
        *self == Along::default()
    }
}

/// What was read with a page of practices, as the single reads answer it: empty where not
/// asked.
#[derive(Debug, Default)]
pub struct Alongside {
    pub participants: Vec<(PracticeCity, City)>,
    pub schemes: Vec<(Id, SupportScheme)>,
    pub funding: Vec<FundingRow>,
}

#[async_trait]
pub trait InventoryRepository: Send + Sync {
    async fn inventory(&self, vis: &Visibility) -> Result<Inventory>;
}

/// A trait that is the sum of others, implemented for every type that implements them all, so
/// that services hold one object for several repositories.
macro_rules! sum_trait {
    ($(#[$meta:meta])* $name:ident = $first:ident $(+ $rest:ident)*) => {
        $(#[$meta])*
        pub trait $name: $first $(+ $rest)* {}
        impl<T: $first $(+ $rest)*> $name for T {}
    };
}

pub(crate) use sum_trait;

sum_trait!(
    /// Everything the read side needs, as one object the API can hold.
    Store = ReferenceRepository
        + CityRepository
        + AssociationRepository
        + DonorRepository
        + SchemeRepository
        + PracticeRepository
        + NeedRepository
        + LinkRepository
        + NestedRepository
        + InventoryRepository
);
