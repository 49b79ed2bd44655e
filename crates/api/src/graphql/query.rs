//! The read side of the graph, one module per aggregate merged into `Query`.

use async_graphql::{Context, ID, InputObject, MergedObject, Object};
use domain::Actor;
use domain::repository as r;
use domain::service::Catalog;

use super::connection::*;
use super::enums::*;
use super::ids::parse_id;
use super::loaders::*;
use super::types::*;
use crate::error::ResultExt;

fn catalog<'a>(ctx: &Context<'a>) -> &'a Catalog {
    ctx.data_unchecked::<Catalog>()
}

fn actor<'a>(ctx: &Context<'a>) -> &'a Actor {
    ctx.data_unchecked::<Actor>()
}

fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// Filters of `practices`. Within a list the values are alternatives (any of them); different
/// fields must all hold.
#[derive(InputObject, Default)]
pub struct PracticeFilter {
    pub themes: Option<Vec<Theme>>,
    pub orientation: Option<GeographicOrientation>,
    pub modality: Option<LinkingModality>,
    pub management_focus: Option<Vec<ManagementFocus>>,
    pub cooperating_parties: Option<Vec<CooperatingParty>>,
    /// ISO 3166-1 alpha-2 code of a participating city's country.
    pub country_code: Option<String>,
    pub city_id: Option<ID>,
    pub scheme_id: Option<ID>,
    pub status: Option<PublicationStatus>,
    /// Practices that had started by this year and had not ended before it.
    pub active_in_year: Option<i32>,
    /// Words in the title, summary, context, outcomes or issues (case-insensitive).
    pub text: Option<String>,
}

impl PracticeFilter {
    fn into_domain(self) -> async_graphql::Result<r::PracticeFilter> {
        Ok(r::PracticeFilter {
            themes: into_domain(&self.themes),
            orientation: self.orientation.map(Into::into),
            modality: self.modality.map(Into::into),
            management_focus: into_domain(&self.management_focus),
            cooperating_parties: into_domain(&self.cooperating_parties),
            country_code: self.country_code,
            city_id: self
                .city_id
                .as_ref()
                .map(|i| parse_id("cityId", i))
                .transpose()?,
            scheme_id: self
                .scheme_id
                .as_ref()
                .map(|i| parse_id("schemeId", i))
                .transpose()?,
            status: self.status.map(Into::into),
            active_in_year: self.active_in_year,
            text: self.text,
        })
    }
}

#[derive(InputObject, Default)]
pub struct CityFilter {
    /// Words in the city's name (case-insensitive).
    pub text: Option<String>,
    pub country_code: Option<String>,
    pub bloc: Option<Bloc>,
}

#[derive(InputObject, Default)]
pub struct AssociationFilter {
    pub text: Option<String>,
    pub scope: Option<AssociationScope>,
}

#[derive(InputObject, Default)]
pub struct DonorFilter {
    pub text: Option<String>,
    pub kind: Option<DonorKind>,
}

#[derive(InputObject, Default)]
pub struct SupportSchemeFilter {
    pub text: Option<String>,
    /// Schemes targeting any of these themes.
    pub themes: Option<Vec<Theme>>,
    pub orientation: Option<GeographicOrientation>,
    pub support_modality: Option<SupportModality>,
    pub open_for_applications: Option<bool>,
    /// Schemes this association operates.
    pub association_id: Option<ID>,
    /// Schemes this donor funds or operates.
    pub donor_id: Option<ID>,
    pub status: Option<PublicationStatus>,
}

#[derive(InputObject, Default)]
pub struct NeedFilter {
    pub text: Option<String>,
    pub themes: Option<Vec<Theme>>,
    pub status: Option<NeedStatus>,
    pub city_id: Option<ID>,
    pub country_code: Option<String>,
}

#[derive(Default)]
pub struct PracticeQuery;

#[Object]
impl PracticeQuery {
    /// Published practices (drafts too for the secretariat), in the order they were recorded.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn practices(
        &self,
        ctx: &Context<'_>,
        filter: Option<PracticeFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Practice>> {
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default().into_domain()?;
        let items = catalog(ctx)
            .practices(actor(ctx), filter.clone(), page)
            .await
            .api()?;
        Ok(connection(
            items,
            |p| p.id,
            Practice,
            CountQuery::Practices(filter),
        ))
    }

    async fn practice(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Practice>> {
        let id = parse_id("id", &id)?;
        Ok(loaders(ctx)
            .load_one(PracticeKey(id))
            .await
            .api()?
            .map(Practice))
    }
}

#[derive(Default)]
pub struct CityQuery;

#[Object]
impl CityQuery {
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn cities(
        &self,
        ctx: &Context<'_>,
        filter: Option<CityFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<City>> {
        let page = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = r::CityFilter {
            text: f.text,
            country_code: f.country_code,
            bloc: f.bloc.map(Into::into),
        };
        let items = catalog(ctx).cities(filter.clone(), page).await.api()?;
        Ok(connection(
            items,
            |c| c.id,
            City,
            CountQuery::Cities(filter),
        ))
    }

    async fn city(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<City>> {
        let id = parse_id("id", &id)?;
        Ok(loaders(ctx).load_one(CityKey(id)).await.api()?.map(City))
    }

    /// Every country of ISO 3166-1 with its bloc and LDC flag.
    async fn countries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Country>> {
        Ok(catalog(ctx)
            .store()
            .all_countries()
            .await
            .api()?
            .into_iter()
            .map(Country)
            .collect())
    }
}

#[derive(Default)]
pub struct AssociationQuery;

#[Object]
impl AssociationQuery {
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn associations(
        &self,
        ctx: &Context<'_>,
        filter: Option<AssociationFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Association>> {
        let page = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = r::AssociationFilter {
            text: f.text,
            scope: f.scope.map(Into::into),
        };
        let items = catalog(ctx)
            .associations(filter.clone(), page)
            .await
            .api()?;
        Ok(connection(
            items,
            |a| a.id,
            Association,
            CountQuery::Associations(filter),
        ))
    }

    async fn association(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Association>> {
        let id = parse_id("id", &id)?;
        Ok(loaders(ctx)
            .load_one(AssociationKey(id))
            .await
            .api()?
            .map(Association))
    }
}

#[derive(Default)]
pub struct DonorQuery;

#[Object]
impl DonorQuery {
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn donors(
        &self,
        ctx: &Context<'_>,
        filter: Option<DonorFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Donor>> {
        let page = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = r::DonorFilter {
            text: f.text,
            kind: f.kind.map(Into::into),
        };
        let items = catalog(ctx).donors(filter.clone(), page).await.api()?;
        Ok(connection(
            items,
            |d| d.id,
            Donor,
            CountQuery::Donors(filter),
        ))
    }

    async fn donor(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Donor>> {
        let id = parse_id("id", &id)?;
        Ok(loaders(ctx).load_one(DonorKey(id)).await.api()?.map(Donor))
    }
}

#[derive(Default)]
pub struct SchemeQuery;

#[Object]
impl SchemeQuery {
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn support_schemes(
        &self,
        ctx: &Context<'_>,
        filter: Option<SupportSchemeFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<SupportScheme>> {
        let page = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = r::SchemeFilter {
            text: f.text,
            themes: into_domain(&f.themes),
            orientation: f.orientation.map(Into::into),
            support_modality: f.support_modality.map(Into::into),
            open_for_applications: f.open_for_applications,
            association_id: f
                .association_id
                .as_ref()
                .map(|i| parse_id("associationId", i))
                .transpose()?,
            donor_id: f
                .donor_id
                .as_ref()
                .map(|i| parse_id("donorId", i))
                .transpose()?,
            status: f.status.map(Into::into),
        };
        let items = catalog(ctx)
            .schemes(actor(ctx), filter.clone(), page)
            .await
            .api()?;
        Ok(connection(
            items,
            |s| s.id,
            SupportScheme,
            CountQuery::Schemes(filter),
        ))
    }

    async fn support_scheme(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<SupportScheme>> {
        let id = parse_id("id", &id)?;
        Ok(loaders(ctx)
            .load_one(SchemeKey(id))
            .await
            .api()?
            .map(SupportScheme))
    }
}

#[derive(Default)]
pub struct NeedQuery;

#[Object]
impl NeedQuery {
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Need>> {
        let page = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = r::NeedFilter {
            text: f.text,
            themes: into_domain(&f.themes),
            status: f.status.map(Into::into),
            city_id: f
                .city_id
                .as_ref()
                .map(|i| parse_id("cityId", i))
                .transpose()?,
            country_code: f.country_code,
        };
        let items = catalog(ctx)
            .needs(actor(ctx), filter.clone(), page)
            .await
            .api()?;
        Ok(connection(items, |n| n.id, Need, CountQuery::Needs(filter)))
    }

    async fn need(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Need>> {
        let id = parse_id("id", &id)?;
        Ok(loaders(ctx).load_one(NeedKey(id)).await.api()?.map(Need))
    }
}

#[derive(Default)]
pub struct InventoryQuery;

#[Object]
impl InventoryQuery {
    /// Counts of what the base holds, per framework value (the report's Table 2.2 filled in).
    async fn inventory(&self, ctx: &Context<'_>) -> async_graphql::Result<Inventory> {
        Ok(catalog(ctx).inventory(actor(ctx)).await.api()?.into())
    }
}

#[derive(MergedObject, Default)]
pub struct Query(
    PracticeQuery,
    CityQuery,
    AssociationQuery,
    DonorQuery,
    SchemeQuery,
    NeedQuery,
    InventoryQuery,
    super::account::AccountQuery,
    super::mutation::AuditQuery,
    super::analytics::AnalyticsQuery,
    super::analytics::MatchQuery,
);
