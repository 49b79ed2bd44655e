//! Needs: what cities ask for, the demand side of the base, and the changes made to them.

use async_graphql::{Context, ID, InputObject, Object};
use domain::editing as e;
use domain::entities as d;
use domain::framework::PublicationStatus as Status;
use domain::repository as r;
use domain::service::Tagged;
use rust_decimal::Decimal;

use super::city::City;
use super::connection::{FilterInput, root_fields};
use super::enums::*;
use super::ids::{Kind, id, parse_id, parse_opt_id};
use super::loaders::*;
use super::relations::*;
use super::resolve::edit;

record_type!(
    /// What a city asks for: the demand side of the base.
    Need(d::Need)
);

#[Object]
impl Need {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::Need, self.0.id)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn status(&self) -> NeedStatus {
        self.0.status.into()
    }
    async fn publication_status(&self) -> PublicationStatus {
        self.0.publication.into()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    async fn city(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<City>> {
        one(ctx, CityKey(self.0.city_id), City).await
    }
    async fn themes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Theme>> {
        tagged(ctx, Tagged::Need, self.0.id, |t| &t.themes).await
    }
    async fn management_focus(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ManagementFocus>> {
        tagged(ctx, Tagged::Need, self.0.id, |t| &t.management_focus).await
    }
    /// The kind of link wanted.
    async fn modality(&self) -> Option<LinkingModality> {
        self.0.modality.map(Into::into)
    }
    /// The kinds of support wanted.
    async fn support_modalities(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<SupportModality>> {
        tagged(ctx, Tagged::Need, self.0.id, |t| &t.support_modalities).await
    }
    async fn amount_required(&self) -> Option<Decimal> {
        self.0.amount_required
    }
    async fn amount_required_currency(&self) -> Option<&str> {
        self.0.amount_required_currency.as_deref()
    }
}

#[derive(InputObject, Default)]
pub struct NeedFilter {
    pub text: Option<String>,
    pub themes: Option<Vec<Theme>>,
    pub status: Option<NeedStatus>,
    pub city_id: Option<ID>,
    pub country_code: Option<String>,
    /// Needs saved (created, changed, published, matched) after this time.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl FilterInput for NeedFilter {
    type Domain = r::NeedFilter;

    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    fn into_domain(self) -> async_graphql::Result<r::NeedFilter> {
        Ok(r::NeedFilter {
            text: self.text,
            themes: into_domain(&self.themes),
            status: self.status.map(Into::into),
            city_id: parse_opt_id(Kind::City, "cityId", &self.city_id)?,
            country_code: self.country_code,
            updated_since: self.updated_since,
        })
    }
}

#[derive(InputObject, Default)]
pub struct NeedInput {
    /// The city asking; a practitioner's own city by default.
    pub city_id: Option<ID>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub themes: Option<Vec<Theme>>,
    pub management_focus: Option<Vec<ManagementFocus>>,
    pub modality: Option<LinkingModality>,
    pub support_modalities: Option<Vec<SupportModality>>,
    pub amount_required: Option<Decimal>,
    pub amount_required_currency: Option<String>,
}

impl NeedInput {
    fn into_domain(self) -> async_graphql::Result<e::NeedInput> {
        Ok(e::NeedInput {
            city_id: parse_opt_id(Kind::City, "cityId", &self.city_id)?,
            themes: given_into_domain(&self.themes),
            management_focus: given_into_domain(&self.management_focus),
            support_modalities: given_into_domain(&self.support_modalities),
            modality: self.modality.map(Into::into),
            title: self.title,
            description: self.description,
            source: self.source,
            amount_required: self.amount_required,
            amount_required_currency: self.amount_required_currency,
        })
    }
}

root_fields!(NeedQuery {
    needs(NeedFilter),
    need(NeedKey) -> Need
});

#[derive(Default)]
pub struct NeedMutation;

#[Object]
impl NeedMutation {
    /// A city's new need, as a DRAFT.
    async fn create_need(
        &self,
        ctx: &Context<'_>,
        input: NeedInput,
    ) -> async_graphql::Result<Need> {
        let input = input.into_domain()?;
        edit(ctx, |e, a| e.create_need(a, input)).await
    }

    async fn update_need(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: NeedInput,
    ) -> async_graphql::Result<Need> {
        let (id, input) = (parse_id(Kind::Need, "id", &id)?, input.into_domain()?);
        edit(ctx, |e, a| e.update_need(a, id, version, input)).await
    }

    async fn publish_need(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<Need> {
        let id = parse_id(Kind::Need, "id", &id)?;
        edit(ctx, |e, a| {
            e.set_need_publication(a, id, version, Status::Published)
        })
        .await
    }

    /// OPEN, MATCHED or CLOSED: set by support providers and by the city.
    async fn set_need_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        status: NeedStatus,
    ) -> async_graphql::Result<Need> {
        let id = parse_id(Kind::Need, "id", &id)?;
        edit(ctx, |e, a| e.set_need_status(a, id, version, status.into())).await
    }
}
