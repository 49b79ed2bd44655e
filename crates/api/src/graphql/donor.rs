//! Donors: who funds city-to-city cooperation, their agendas, and their profiles.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use domain::editing as e;
use domain::entities as d;
use domain::repository::{self as r, Nested};

use super::connection::{FilterInput, ListConnection, nested, page_complexity, root_fields};
use super::enums::*;
use super::funding::{Funding, funding_page};
use super::ids::{Kind, id, parse_id};
use super::loaders::*;
use super::reference::Country;
use super::relations::*;
use super::resolve::edit;
use super::scheme::SupportScheme;

/// What a donor cares about: the cells of the framework where it wants its money to go.
#[derive(SimpleObject)]
pub struct Agenda {
    themes: Vec<Theme>,
    orientations: Vec<GeographicOrientation>,
    /// ISO 3166-1 alpha-2 codes.
    country_codes: Vec<String>,
}

impl From<d::Agenda> for Agenda {
    fn from(a: d::Agenda) -> Self {
        Agenda {
            themes: from_domain(&a.themes),
            orientations: from_domain(&a.orientations),
            country_codes: a.country_codes,
        }
    }
}

record_type!(
    /// A bilateral or multilateral agency, a foundation, a private company or a government that
    /// funds city-to-city cooperation.
    Donor(d::Donor)
);

#[Object]
impl Donor {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::Donor, self.0.id)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn acronym(&self) -> Option<&str> {
        self.0.acronym.as_deref()
    }
    async fn kind(&self) -> DonorKind {
        self.0.kind.into()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn country(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Country>> {
        country_of(ctx, &self.0.country_code).await
    }
    async fn agenda(&self, ctx: &Context<'_>) -> async_graphql::Result<Agenda> {
        Ok(held(ctx, AgendaKey(self.0.id)).await?.into())
    }
    /// Funding records whose source is this donor.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn funding(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Funding>> {
        funding_page(ctx, Nested::DonorFunding, self.0.id, first, after).await
    }
    /// Support schemes the donor funds or operates.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn schemes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<SupportScheme>> {
        let of = Nested::DonorSchemes;
        nested(ctx, of, self.0.id, first, after, SchemeKey, SupportScheme).await
    }
}

#[derive(InputObject, Default)]
pub struct DonorFilter {
    pub text: Option<String>,
    pub kind: Option<DonorKind>,
}

impl FilterInput for DonorFilter {
    type Domain = r::DonorFilter;

    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    fn into_domain(self) -> async_graphql::Result<r::DonorFilter> {
        Ok(r::DonorFilter {
            text: self.text,
            kind: self.kind.map(Into::into),
        })
    }
}

#[derive(InputObject, Default)]
pub struct AgendaInput {
    pub themes: Option<Vec<Theme>>,
    pub orientations: Option<Vec<GeographicOrientation>>,
    pub country_codes: Option<Vec<String>>,
}

#[derive(InputObject, Default)]
pub struct DonorInput {
    pub name: Option<String>,
    pub acronym: Option<String>,
    pub kind: Option<DonorKind>,
    pub country_code: Option<String>,
    pub description: Option<String>,
    pub agenda: Option<AgendaInput>,
}

impl From<DonorInput> for e::DonorInput {
    fn from(i: DonorInput) -> Self {
        let agenda = i.agenda.unwrap_or_default();
        e::DonorInput {
            name: i.name,
            acronym: i.acronym,
            kind: i.kind.map(Into::into),
            country_code: i.country_code,
            description: i.description,
            agenda_themes: given_into_domain(&agenda.themes),
            agenda_orientations: given_into_domain(&agenda.orientations),
            agenda_country_codes: agenda.country_codes,
        }
    }
}

root_fields!(DonorQuery {
    donors(DonorFilter),
    donor(DonorKey) -> Donor
});

#[derive(Default)]
pub struct DonorMutation;

#[Object]
impl DonorMutation {
    async fn update_donor(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: DonorInput,
    ) -> async_graphql::Result<Donor> {
        let id = parse_id(Kind::Donor, "id", &id)?;
        edit(ctx, |e, a| e.update_donor(a, id, version, input.into())).await
    }
}
