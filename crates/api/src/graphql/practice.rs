//! Practices: the city-to-city links of the base, classified on the framework; their indicators
//! and partners, the filter of `practices`, and the changes made to them.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::editing as e;
use domain::entities as d;
use domain::framework::PublicationStatus as Status;
use domain::repository::{self as r, Link, Nested};
use domain::service::Tagged;
use rust_decimal::Decimal;

use super::association::Association;
use super::city::{City, Participation};
use super::connection::{FilterInput, ListConnection, nested, page_complexity, root_fields};
use super::donor::Donor;
use super::enums::*;
use super::funding::{Funding, funding_page};
use super::ids::{Kind, id, indicator_id, parse_id, parse_ids, parse_opt_id};
use super::loaders::*;
use super::relations::*;
use super::resolve::edit;
use super::scheme::{SupportScheme, scheme_page};

record_type!(
    /// One city-to-city link or project, classified on the five dimensions of the framework.
    Practice(d::Practice)
);

#[Object]
impl Practice {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::Practice, self.0.id)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn status(&self) -> PublicationStatus {
        self.0.status.into()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// The setting in which the cooperation arose.
    async fn context(&self) -> Option<&str> {
        self.0.context.as_deref()
    }
    /// Outcomes and lessons.
    async fn outcomes(&self) -> Option<&str> {
        self.0.outcomes.as_deref()
    }
    /// Issues arising.
    async fn issues(&self) -> Option<&str> {
        self.0.issues.as_deref()
    }
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    async fn start_year(&self) -> Option<i32> {
        self.0.start_year
    }
    async fn end_year(&self) -> Option<i32> {
        self.0.end_year
    }
    async fn orientation(&self) -> GeographicOrientation {
        self.0.orientation.into()
    }
    async fn modality(&self) -> LinkingModality {
        self.0.modality.into()
    }
    async fn themes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Theme>> {
        tagged(ctx, Tagged::Practice, self.0.id, |t| &t.themes).await
    }
    async fn management_focus(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ManagementFocus>> {
        tagged(ctx, Tagged::Practice, self.0.id, |t| &t.management_focus).await
    }
    async fn cooperating_parties(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CooperatingParty>> {
        tagged(ctx, Tagged::Practice, self.0.id, |t| &t.cooperating_parties).await
    }
    /// The participating cities, lead cities first.
    #[graphql(complexity = "super::cost::list(child_complexity)")]
    async fn cities(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<City>> {
        let links = held(ctx, PracticeCitiesKey(self.0.id)).await?;
        Ok(links.into_iter().map(|(_, city)| City(city)).collect())
    }
    /// The participating cities with their role.
    #[graphql(complexity = "super::cost::list(child_complexity)")]
    async fn participants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Participation>> {
        let links = held(ctx, PracticeCitiesKey(self.0.id)).await?;
        let participation = |(link, city)| Participation(link, Some(city));
        Ok(links.into_iter().map(participation).collect())
    }
    /// Associations and networks involved.
    #[graphql(complexity = "super::cost::list(child_complexity)")]
    async fn associations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Association>> {
        let link = Link::PracticeAssociations;
        linked(ctx, link, self.0.id, AssociationKey, Association).await
    }
    #[graphql(complexity = "super::cost::list(child_complexity)")]
    async fn partners(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Partner>> {
        let partners = held(ctx, PartnersKey(self.0.id)).await?;
        Ok(partners.into_iter().map(Partner::from).collect())
    }
    /// The support schemes behind the practice.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn schemes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<SupportScheme>> {
        scheme_page(ctx, Nested::PracticeSchemes, self.0.id, first, after).await
    }
    /// Funding records attached to the practice.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn funding(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Funding>> {
        funding_page(ctx, Nested::PracticeFunding, self.0.id, first, after).await
    }
    /// Donors with funding records on this practice, in id order.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn donors(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Donor>> {
        let of = Nested::PracticeDonors;
        nested(ctx, of, self.0.id, first, after, DonorKey, Donor).await
    }
    #[graphql(complexity = "super::cost::list(child_complexity)")]
    async fn indicators(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Indicator>> {
        let list = held(ctx, IndicatorsKey(self.0.id)).await?;
        Ok(list.into_iter().map(Indicator).collect())
    }
    /// The amount the practice still requires, in `amountRequiredCurrency`.
    async fn amount_required(&self) -> Option<Decimal> {
        self.0.amount_required
    }
    async fn amount_required_currency(&self) -> Option<&str> {
        self.0.amount_required_currency.as_deref()
    }
}

/// A partner other than a city: an NGO, a university, a firm, a utility.
#[derive(SimpleObject)]
pub struct Partner {
    name: String,
    kind: CooperatingParty,
}

impl From<d::Partner> for Partner {
    fn from(p: d::Partner) -> Self {
        Partner {
            name: p.name,
            kind: p.kind.into(),
        }
    }
}

/// How a practice measures success: baseline, target and actual values of one indicator.
pub struct Indicator(pub d::Indicator);

#[Object]
impl Indicator {
    pub(crate) async fn id(&self) -> ID {
        indicator_id(self.0.practice_id, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn unit(&self) -> Option<&str> {
        self.0.unit.as_deref()
    }
    async fn baseline(&self) -> Option<Decimal> {
        self.0.baseline
    }
    async fn target(&self) -> Option<Decimal> {
        self.0.target
    }
    async fn actual(&self) -> Option<Decimal> {
        self.0.actual
    }
    async fn year(&self) -> Option<i32> {
        self.0.year
    }
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
    /// Practices that had started by this year and had not ended before it (1900 to 2100).
    pub active_in_year: Option<i32>,
    /// Practices saved (created, changed, published, archived) after this time: what a mirror
    /// reads again to catch up (see also `changes`).
    pub updated_since: Option<DateTime<Utc>>,
    /// Words in the title, summary, context, outcomes or issues (case-insensitive).
    pub text: Option<String>,
}

impl FilterInput for PracticeFilter {
    type Domain = r::PracticeFilter;

    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    fn into_domain(self) -> async_graphql::Result<r::PracticeFilter> {
        Ok(r::PracticeFilter {
            themes: into_domain(&self.themes),
            orientation: self.orientation.map(Into::into),
            modality: self.modality.map(Into::into),
            management_focus: into_domain(&self.management_focus),
            cooperating_parties: into_domain(&self.cooperating_parties),
            country_code: self.country_code,
            city_id: parse_opt_id(Kind::City, "cityId", &self.city_id)?,
            scheme_id: parse_opt_id(Kind::SupportScheme, "schemeId", &self.scheme_id)?,
            status: self.status.map(Into::into),
            active_in_year: self.active_in_year,
            updated_since: self.updated_since,
            text: self.text,
        })
    }
}

/// A practice's fields. On update, absent fields keep their value and an empty string clears an
/// optional text. `orientation` is derived from the cities' blocs when absent.
#[derive(InputObject, Default)]
pub struct PracticeInput {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub context: Option<String>,
    pub outcomes: Option<String>,
    pub issues: Option<String>,
    pub source: Option<String>,
    pub themes: Option<Vec<Theme>>,
    pub modality: Option<LinkingModality>,
    pub management_focus: Option<Vec<ManagementFocus>>,
    pub cooperating_parties: Option<Vec<CooperatingParty>>,
    pub orientation: Option<GeographicOrientation>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    /// The participating cities (at most 500).
    pub city_ids: Option<Vec<ID>>,
    /// The leading cities among `cityIds`; by default the first one.
    pub lead_city_ids: Option<Vec<ID>>,
    pub association_ids: Option<Vec<ID>>,
    pub amount_required: Option<Decimal>,
    pub amount_required_currency: Option<String>,
    /// Replaces the practice's indicators (at most 50).
    pub indicators: Option<Vec<IndicatorInput>>,
}

/// How a practice measures success.
#[derive(InputObject, Default)]
pub struct IndicatorInput {
    pub name: String,
    pub unit: Option<String>,
    pub baseline: Option<Decimal>,
    pub target: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub year: Option<i32>,
}

impl From<IndicatorInput> for e::IndicatorInput {
    fn from(i: IndicatorInput) -> Self {
        e::IndicatorInput {
            name: i.name,
            unit: i.unit,
            baseline: i.baseline,
            target: i.target,
            actual: i.actual,
            year: i.year,
        }
    }
}

impl PracticeInput {
    fn into_domain(self) -> async_graphql::Result<e::PracticeInput> {
        Ok(e::PracticeInput {
            city_ids: parse_ids(Kind::City, "cityIds", &self.city_ids)?,
            lead_city_ids: parse_ids(Kind::City, "leadCityIds", &self.lead_city_ids)?,
            association_ids: parse_ids(Kind::Association, "associationIds", &self.association_ids)?,
            themes: given_into_domain(&self.themes),
            management_focus: given_into_domain(&self.management_focus),
            cooperating_parties: given_into_domain(&self.cooperating_parties),
            title: self.title,
            summary: self.summary,
            context: self.context,
            outcomes: self.outcomes,
            issues: self.issues,
            source: self.source,
            modality: self.modality.map(Into::into),
            orientation: self.orientation.map(Into::into),
            start_year: self.start_year,
            end_year: self.end_year,
            amount_required: self.amount_required,
            amount_required_currency: self.amount_required_currency,
            indicators: self
                .indicators
                .map(|list| list.into_iter().map(Into::into).collect()),
        })
    }
}

async fn set_status(
    ctx: &Context<'_>,
    id: &ID,
    version: i32,
    status: Status,
) -> async_graphql::Result<Practice> {
    let id = parse_id(Kind::Practice, "id", id)?;
    edit(ctx, |e, a| e.set_practice_status(a, id, version, status)).await
}

root_fields!(PracticeQuery {
    /// Published practices (drafts too for the secretariat), in the order they were recorded.
    practices(PracticeFilter),
    practice(PracticeKey) -> Practice
});

#[derive(Default)]
pub struct PracticeMutation;

#[Object]
impl PracticeMutation {
    /// A new practice, as a DRAFT owned by the caller's organisation.
    async fn create_practice(
        &self,
        ctx: &Context<'_>,
        input: PracticeInput,
    ) -> async_graphql::Result<Practice> {
        let input = input.into_domain()?;
        edit(ctx, |e, a| e.create_practice(a, input)).await
    }

    async fn update_practice(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: PracticeInput,
    ) -> async_graphql::Result<Practice> {
        let (id, input) = (parse_id(Kind::Practice, "id", &id)?, input.into_domain()?);
        edit(ctx, |e, a| e.update_practice(a, id, version, input)).await
    }

    /// Makes a practice part of the public base.
    async fn publish_practice(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<Practice> {
        set_status(ctx, &id, version, Status::Published).await
    }

    /// Withdraws a practice from the public base, keeping its record.
    async fn archive_practice(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<Practice> {
        set_status(ctx, &id, version, Status::Archived).await
    }
}
