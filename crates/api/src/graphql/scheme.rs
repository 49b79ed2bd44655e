//! Support schemes (report chapter 4): who runs them, what they target, what they fund, and the
//! changes their operators make.

use async_graphql::{Context, ID, InputObject, Object, Union};
use domain::editing as e;
use domain::entities as d;
use domain::framework::PublicationStatus as Status;
use domain::repository::{self as r, Nested};
use domain::service::Tagged;
use rust_decimal::Decimal;

use super::association::Association;
use super::connection::{FilterInput, ListConnection, nested, page_complexity, root_fields};
use super::donor::Donor;
use super::enums::*;
use super::funding::{Funding, funding_page};
use super::ids::{Kind, id, parse_id, parse_opt_id};
use super::loaders::*;
use super::practice::Practice;
use super::relations::*;
use super::resolve::edit;

/// Who runs a support scheme.
#[derive(Union)]
pub enum Organisation {
    Association(Association),
    Donor(Donor),
}

record_type!(
    /// A support option for city-to-city cooperation (report chapter 4).
    SupportScheme(d::SupportScheme)
);

/// A page of the support schemes behind a practice or operated by an association (`of`), read
/// with the schemes themselves for the whole page of parents at once.
pub(crate) async fn scheme_page(
    ctx: &Context<'_>,
    of: Nested,
    parent: d::Id,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<ListConnection<SupportScheme>> {
    let edge = |s: &std::sync::Arc<d::SupportScheme>| (s.id, SupportScheme(s.clone()));
    super::connection::nested_records(ctx, of, parent, first, after, SchemePageKey, edge).await
}

#[Object]
impl SupportScheme {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::SupportScheme, self.0.id)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn status(&self) -> PublicationStatus {
        self.0.status.into()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
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
    async fn budget(&self) -> Option<Decimal> {
        self.0.budget_amount
    }
    /// ISO 4217 code of `budget`.
    async fn budget_currency(&self) -> Option<&str> {
        self.0.budget_currency.as_deref()
    }
    async fn open_for_applications(&self) -> bool {
        self.0.open_for_applications
    }
    async fn facilitating_structures(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<FacilitatingStructure>> {
        tagged(ctx, Tagged::Scheme, self.0.id, |t| {
            &t.facilitating_structures
        })
        .await
    }
    async fn funding_sources(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<FundingSource>> {
        tagged(ctx, Tagged::Scheme, self.0.id, |t| &t.funding_sources).await
    }
    async fn support_modalities(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<SupportModality>> {
        tagged(ctx, Tagged::Scheme, self.0.id, |t| &t.support_modalities).await
    }
    /// Themes the scheme targets.
    async fn themes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Theme>> {
        tagged(ctx, Tagged::Scheme, self.0.id, |t| &t.themes).await
    }
    /// Orientations the scheme targets.
    async fn orientations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<GeographicOrientation>> {
        tagged(ctx, Tagged::Scheme, self.0.id, |t| &t.orientations).await
    }
    // Associations first, then donors, each in the order they were named.
    #[graphql(complexity = "super::cost::list(child_complexity)")]
    async fn operators(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Organisation>> {
        let operators = held(ctx, OperatorsKey(self.0.id)).await?;
        let (mut associations, mut donors) = (Vec::new(), Vec::new());
        for operator in operators {
            match operator {
                d::Operator::Association(a) => associations.push(a),
                d::Operator::Donor(d) => donors.push(d),
            }
        }
        let (associations, donors) = tokio::join!(
            by_ids(ctx, associations, AssociationKey, Association),
            by_ids(ctx, donors, DonorKey, Donor),
        );
        Ok(associations?
            .into_iter()
            .map(Organisation::Association)
            .chain(donors?.into_iter().map(Organisation::Donor))
            .collect())
    }
    /// Donors with funding records on this scheme, in id order.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn donors(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Donor>> {
        let of = Nested::SchemeDonors;
        nested(ctx, of, self.0.id, first, after, DonorKey, Donor).await
    }
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn funding(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Funding>> {
        funding_page(ctx, Nested::SchemeFunding, self.0.id, first, after).await
    }
    /// Practices the scheme supports.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn practices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Practice>> {
        let of = Nested::SchemePractices;
        nested(ctx, of, self.0.id, first, after, PracticeKey, Practice).await
    }
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
    /// Schemes saved (created, changed, published, archived) after this time.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl FilterInput for SupportSchemeFilter {
    type Domain = r::SchemeFilter;

    fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    fn into_domain(self) -> async_graphql::Result<r::SchemeFilter> {
        Ok(r::SchemeFilter {
            text: self.text,
            themes: into_domain(&self.themes),
            orientation: self.orientation.map(Into::into),
            support_modality: self.support_modality.map(Into::into),
            open_for_applications: self.open_for_applications,
            association_id: parse_opt_id(Kind::Association, "associationId", &self.association_id)?,
            donor_id: parse_opt_id(Kind::Donor, "donorId", &self.donor_id)?,
            status: self.status.map(Into::into),
            updated_since: self.updated_since,
        })
    }
}

#[derive(InputObject, Default)]
pub struct SupportSchemeInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub facilitating_structures: Option<Vec<FacilitatingStructure>>,
    pub funding_sources: Option<Vec<FundingSource>>,
    pub support_modalities: Option<Vec<SupportModality>>,
    pub themes: Option<Vec<Theme>>,
    pub orientations: Option<Vec<GeographicOrientation>>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub budget: Option<Decimal>,
    pub budget_currency: Option<String>,
    pub open_for_applications: Option<bool>,
}

impl From<SupportSchemeInput> for e::SchemeInput {
    fn from(i: SupportSchemeInput) -> Self {
        e::SchemeInput {
            facilitating_structures: given_into_domain(&i.facilitating_structures),
            funding_sources: given_into_domain(&i.funding_sources),
            support_modalities: given_into_domain(&i.support_modalities),
            themes: given_into_domain(&i.themes),
            orientations: given_into_domain(&i.orientations),
            name: i.name,
            description: i.description,
            source: i.source,
            start_year: i.start_year,
            end_year: i.end_year,
            budget: i.budget,
            budget_currency: i.budget_currency,
            open_for_applications: i.open_for_applications,
        }
    }
}

root_fields!(SchemeQuery {
    support_schemes(SupportSchemeFilter),
    support_scheme(SchemeKey) -> SupportScheme
});

#[derive(Default)]
pub struct SchemeMutation;

#[Object]
impl SchemeMutation {
    /// A new support scheme, as a DRAFT operated by the caller's association.
    async fn create_support_scheme(
        &self,
        ctx: &Context<'_>,
        input: SupportSchemeInput,
    ) -> async_graphql::Result<SupportScheme> {
        edit(ctx, |e, a| e.create_scheme(a, input.into())).await
    }

    async fn update_support_scheme(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: SupportSchemeInput,
    ) -> async_graphql::Result<SupportScheme> {
        let id = parse_id(Kind::SupportScheme, "id", &id)?;
        edit(ctx, |e, a| e.update_scheme(a, id, version, input.into())).await
    }

    async fn publish_support_scheme(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<SupportScheme> {
        let id = parse_id(Kind::SupportScheme, "id", &id)?;
        edit(ctx, |e, a| {
            e.set_scheme_status(a, id, version, Status::Published)
        })
        .await
    }

    /// Records that a scheme supports a practice (linking twice is harmless).
    async fn link_scheme_to_practice(
        &self,
        ctx: &Context<'_>,
        scheme_id: ID,
        practice_id: ID,
    ) -> async_graphql::Result<bool> {
        let scheme_id = parse_id(Kind::SupportScheme, "schemeId", &scheme_id)?;
        let practice_id = parse_id(Kind::Practice, "practiceId", &practice_id)?;
        edit(ctx, |e, a| async move {
            e.link_scheme_to_practice(a, scheme_id, practice_id).await?;
            Ok(true)
        })
        .await
    }
}
