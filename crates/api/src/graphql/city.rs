//! Cities: local authorities of any size or level, their part in practices, and their profiles.

use async_graphql::{Context, ID, InputObject, Object};
use domain::editing as e;
use domain::entities as d;
use domain::repository::{self as r, Nested};

use super::association::Association;
use super::connection::{FilterInput, ListConnection, nested, page_complexity, root_fields};
use super::enums::*;
use super::ids::{Kind, id, parse_id};
use super::loaders::*;
use super::need::Need;
use super::practice::Practice;
use super::reference::Country;
use super::relations::*;
use super::resolve::edit;

record_type!(
    /// A local authority of any size or level.
    City(d::City)
);

#[Object]
impl City {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::City, self.0.id)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> CityKind {
        self.0.kind.into()
    }
    async fn country(&self, ctx: &Context<'_>) -> async_graphql::Result<Country> {
        country(ctx, &self.0.country_code).await
    }
    async fn population(&self) -> Option<i64> {
        self.0.population
    }
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    /// The practices this city takes part in.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn practices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Practice>> {
        let of = Nested::CityPractices;
        nested(ctx, of, self.0.id, first, after, PracticeKey, Practice).await
    }
    /// The city's part in each of its practices, in the order of `practices`.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn participations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Participation>> {
        let (of, city) = (Nested::CityPractices, self.0.id);
        let key = move |practice| ParticipationKey(city, practice);
        nested(ctx, of, city, first, after, key, |p| Participation(p, None)).await
    }
    /// What the city asks for.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Need>> {
        nested(
            ctx,
            Nested::CityNeeds,
            self.0.id,
            first,
            after,
            NeedKey,
            Need,
        )
        .await
    }
    /// The associations and networks the city is a member of.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Association>> {
        let of = Nested::CityMemberships;
        nested(
            ctx,
            of,
            self.0.id,
            first,
            after,
            AssociationKey,
            Association,
        )
        .await
    }
}

/// A city's part in a practice.
/// The city's record comes with the link when it was read with it (a practice's participants).
pub struct Participation(pub d::PracticeCity, pub Option<std::sync::Arc<d::City>>);

#[Object]
impl Participation {
    async fn role(&self) -> CityRole {
        self.0.role.into()
    }
    async fn city(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<City>> {
        match &self.1 {
            Some(city) => Ok(Some(City(city.clone()))),
            None => one(ctx, CityKey(self.0.city_id), City).await,
        }
    }
    async fn practice(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Practice>> {
        one(ctx, PracticeKey(self.0.practice_id), Practice).await
    }
}

#[derive(InputObject, Default)]
pub struct CityFilter {
    /// Words in the city's name (case-insensitive).
    pub text: Option<String>,
    pub country_code: Option<String>,
    pub bloc: Option<Bloc>,
}

impl FilterInput for CityFilter {
    type Domain = r::CityFilter;

    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    fn into_domain(self) -> async_graphql::Result<r::CityFilter> {
        Ok(r::CityFilter {
            text: self.text,
            country_code: self.country_code,
            bloc: self.bloc.map(Into::into),
        })
    }
}

#[derive(InputObject, Default)]
pub struct CityInput {
    pub name: Option<String>,
    pub kind: Option<CityKind>,
    pub country_code: Option<String>,
    pub population: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl From<CityInput> for e::CityInput {
    fn from(i: CityInput) -> Self {
        e::CityInput {
            name: i.name,
            kind: i.kind.map(Into::into),
            country_code: i.country_code,
            population: i.population,
            latitude: i.latitude,
            longitude: i.longitude,
        }
    }
}

root_fields!(CityQuery {
    cities(CityFilter),
    city(CityKey) -> City
});

#[derive(Default)]
pub struct CityMutation;

#[Object]
impl CityMutation {
    async fn create_city(
        &self,
        ctx: &Context<'_>,
        input: CityInput,
    ) -> async_graphql::Result<City> {
        edit(ctx, |e, a| e.create_city(a, input.into())).await
    }

    async fn update_city(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: CityInput,
    ) -> async_graphql::Result<City> {
        let id = parse_id(Kind::City, "id", &id)?;
        edit(ctx, |e, a| e.update_city(a, id, version, input.into())).await
    }
}
