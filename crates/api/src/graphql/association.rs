//! Associations and networks of local authorities, and professional bodies: their members,
//! practices and schemes, and their profiles.

use async_graphql::{Context, ID, InputObject, Object};
use domain::editing as e;
use domain::entities as d;
use domain::repository::{self as r, Nested};

use super::city::City;
use super::connection::{FilterInput, ListConnection, nested, page_complexity, root_fields};
use super::enums::*;
use super::ids::{Kind, id, parse_id};
use super::loaders::*;
use super::practice::Practice;
use super::reference::Country;
use super::relations::*;
use super::resolve::edit;
use super::scheme::{SupportScheme, scheme_page};

record_type!(
    /// An association or network of local authorities, or a professional body.
    Association(d::Association)
);

#[Object]
impl Association {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::Association, self.0.id)
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
    async fn scope(&self) -> AssociationScope {
        self.0.scope.into()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn country(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Country>> {
        country_of(ctx, &self.0.country_code).await
    }
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn member_cities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<City>> {
        let of = Nested::AssociationMemberCities;
        nested(ctx, of, self.0.id, first, after, CityKey, City).await
    }
    /// The associations that are members of this one.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn member_associations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Association>> {
        let of = Nested::AssociationMembers;
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
    /// The associations this one is a member of (IULA and UTO in WACLAC, for instance).
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn member_of(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Association>> {
        let of = Nested::AssociationParents;
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
    /// Practices the association is involved in.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn practices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Practice>> {
        let of = Nested::AssociationPractices;
        nested(ctx, of, self.0.id, first, after, PracticeKey, Practice).await
    }
    /// Support schemes the association operates.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn schemes_operated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<SupportScheme>> {
        scheme_page(ctx, Nested::AssociationSchemes, self.0.id, first, after).await
    }
}

#[derive(InputObject, Default)]
pub struct AssociationFilter {
    pub text: Option<String>,
    pub scope: Option<AssociationScope>,
}

impl FilterInput for AssociationFilter {
    type Domain = r::AssociationFilter;

    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    fn into_domain(self) -> async_graphql::Result<r::AssociationFilter> {
        Ok(r::AssociationFilter {
            text: self.text,
            scope: self.scope.map(Into::into),
        })
    }
}

#[derive(InputObject, Default)]
pub struct AssociationInput {
    pub name: Option<String>,
    pub acronym: Option<String>,
    pub scope: Option<AssociationScope>,
    pub country_code: Option<String>,
    pub description: Option<String>,
}

impl From<AssociationInput> for e::AssociationInput {
    fn from(i: AssociationInput) -> Self {
        e::AssociationInput {
            name: i.name,
            acronym: i.acronym,
            scope: i.scope.map(Into::into),
            country_code: i.country_code,
            description: i.description,
        }
    }
}

root_fields!(AssociationQuery {
    associations(AssociationFilter),
    association(AssociationKey) -> Association
});

#[derive(Default)]
pub struct AssociationMutation;

#[Object]
impl AssociationMutation {
    async fn update_association(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: AssociationInput,
    ) -> async_graphql::Result<Association> {
        let id = parse_id(Kind::Association, "id", &id)?;
        edit(ctx, |e, a| {
            e.update_association(a, id, version, input.into())
        })
        .await
    }
}
