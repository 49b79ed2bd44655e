//! The object types of the graph, each built from a domain record; relations go through the
//! request's dataloaders.

use std::collections::HashMap;
use std::hash::Hash;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object, SimpleObject, Union};
use domain::entities as d;
use domain::repository::{FundingOwner, Link};
use rust_decimal::Decimal;

use super::enums::*;
use super::ids::id;
use super::loaders::*;
use crate::error::ResultExt;

/// What a nested list is assumed to hold when a query's complexity is scored: nested lists are
/// not paginated, so cycles (practice → cities → practices …) must grow the score quickly.
pub const LIST_COST: usize = 5;

fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// Loads records by key and returns them in the keys' order, leaving out those not visible.
async fn ordered<K, V, T>(
    ctx: &Context<'_>,
    keys: Vec<K>,
    wrap: fn(V) -> T,
) -> async_graphql::Result<Vec<T>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    AppLoader: Loader<K, Value = V, Error = domain::Error>,
{
    let mut found: HashMap<K, V> = loaders(ctx).load_many(keys.clone()).await.api()?;
    Ok(keys
        .iter()
        .filter_map(|k| found.remove(k))
        .map(wrap)
        .collect())
}

async fn one<K, V, T>(
    ctx: &Context<'_>,
    key: K,
    wrap: fn(V) -> T,
) -> async_graphql::Result<Option<T>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    AppLoader: Loader<K, Value = V, Error = domain::Error>,
{
    Ok(loaders(ctx).load_one(key).await.api()?.map(wrap))
}

async fn linked(ctx: &Context<'_>, link: Link, from: d::Id) -> async_graphql::Result<Vec<d::Id>> {
    Ok(loaders(ctx)
        .load_one(LinkKey(link, from))
        .await
        .api()?
        .unwrap_or_default())
}

async fn tags<K>(ctx: &Context<'_>, key: K) -> async_graphql::Result<d::Tags>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    AppLoader: Loader<K, Value = d::Tags, Error = domain::Error>,
{
    Ok(loaders(ctx).load_one(key).await.api()?.unwrap_or_default())
}

async fn funding(
    ctx: &Context<'_>,
    owner: FundingOwner,
    id: d::Id,
) -> async_graphql::Result<Vec<Funding>> {
    let records = loaders(ctx)
        .load_one(FundingKey(owner, id))
        .await
        .api()?
        .unwrap_or_default();
    Ok(records.into_iter().map(Funding).collect())
}

/// Donors named by funding records, in order of first appearance.
async fn donors_of(
    ctx: &Context<'_>,
    owner: FundingOwner,
    id: d::Id,
) -> async_graphql::Result<Vec<Donor>> {
    let records = loaders(ctx)
        .load_one(FundingKey(owner, id))
        .await
        .api()?
        .unwrap_or_default();
    let mut keys: Vec<DonorKey> = Vec::new();
    for donor in records.iter().filter_map(|f| f.donor_id) {
        if !keys.contains(&DonorKey(donor)) {
            keys.push(DonorKey(donor));
        }
    }
    ordered(ctx, keys, Donor).await
}

pub struct Country(pub d::Country);

#[Object]
impl Country {
    /// ISO 3166-1 alpha-2 code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// ISO 3166-1 alpha-3 code.
    async fn alpha3(&self) -> &str {
        &self.0.alpha3
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// UN developed (NORTH), transition (EAST) or developing (SOUTH) economy, today.
    async fn bloc(&self) -> Bloc {
        self.0.bloc.into()
    }
    /// On the UN list of Least Developed Countries.
    async fn ldc(&self) -> bool {
        self.0.ldc
    }
}

async fn country(ctx: &Context<'_>, code: &str) -> async_graphql::Result<Country> {
    one(ctx, CountryKey(code.to_string()), Country)
        .await?
        .ok_or_else(|| {
            crate::error::ApiError(domain::Error::internal(format!(
                "country {code} missing from reference data"
            )))
            .into()
        })
}

/// A local authority of any size or level.
pub struct City(pub d::City);

#[Object]
impl City {
    async fn id(&self) -> ID {
        id(self.0.id)
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
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn practices(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Practice>> {
        let links = loaders(ctx)
            .load_one(CityPracticesKey(self.0.id))
            .await
            .api()?
            .unwrap_or_default();
        ordered(
            ctx,
            links.iter().map(|l| PracticeKey(l.practice_id)).collect(),
            Practice,
        )
        .await
    }
    /// The city's part in each of its practices.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn participations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Participation>> {
        let links = loaders(ctx)
            .load_one(CityPracticesKey(self.0.id))
            .await
            .api()?
            .unwrap_or_default();
        Ok(links.into_iter().map(Participation).collect())
    }
    /// What the city asks for.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn needs(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Need>> {
        let ids = linked(ctx, Link::CityNeeds, self.0.id).await?;
        ordered(ctx, ids.into_iter().map(NeedKey).collect(), Need).await
    }
    /// The associations and networks the city is a member of.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn memberships(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Association>> {
        let ids = linked(ctx, Link::CityMemberships, self.0.id).await?;
        ordered(
            ctx,
            ids.into_iter().map(AssociationKey).collect(),
            Association,
        )
        .await
    }
}

/// A city's part in a practice.
pub struct Participation(pub d::PracticeCity);

#[Object]
impl Participation {
    async fn role(&self) -> CityRole {
        self.0.role.into()
    }
    async fn city(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<City>> {
        one(ctx, CityKey(self.0.city_id), City).await
    }
    async fn practice(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Practice>> {
        one(ctx, PracticeKey(self.0.practice_id), Practice).await
    }
}

/// An association or network of local authorities, or a professional body.
pub struct Association(pub d::Association);

#[Object]
impl Association {
    async fn id(&self) -> ID {
        id(self.0.id)
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
        match &self.0.country_code {
            Some(code) => country(ctx, code).await.map(Some),
            None => Ok(None),
        }
    }
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn member_cities(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<City>> {
        let ids = linked(ctx, Link::AssociationMemberCities, self.0.id).await?;
        ordered(ctx, ids.into_iter().map(CityKey).collect(), City).await
    }
    async fn member_associations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<Association>> {
        let ids = linked(ctx, Link::AssociationMemberAssociations, self.0.id).await?;
        ordered(
            ctx,
            ids.into_iter().map(AssociationKey).collect(),
            Association,
        )
        .await
    }
    /// The associations this one is a member of (IULA and UTO in WACLAC, for instance).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn member_of(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Association>> {
        let ids = linked(ctx, Link::AssociationParents, self.0.id).await?;
        ordered(
            ctx,
            ids.into_iter().map(AssociationKey).collect(),
            Association,
        )
        .await
    }
    /// Practices the association is involved in.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn practices(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Practice>> {
        let ids = linked(ctx, Link::AssociationPractices, self.0.id).await?;
        ordered(ctx, ids.into_iter().map(PracticeKey).collect(), Practice).await
    }
    /// Support schemes the association operates.
    async fn schemes_operated(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<SupportScheme>> {
        let ids = linked(ctx, Link::AssociationSchemes, self.0.id).await?;
        ordered(ctx, ids.into_iter().map(SchemeKey).collect(), SupportScheme).await
    }
}

/// What a donor cares about: the cells of the framework where it wants its money to go.
#[derive(SimpleObject)]
pub struct Agenda {
    themes: Vec<Theme>,
    orientations: Vec<GeographicOrientation>,
    /// ISO 3166-1 alpha-2 codes.
    country_codes: Vec<String>,
}

/// A bilateral or multilateral agency, a foundation, a private company or a government that funds
/// city-to-city cooperation.
pub struct Donor(pub d::Donor);

#[Object]
impl Donor {
    async fn id(&self) -> ID {
        id(self.0.id)
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
        match &self.0.country_code {
            Some(code) => country(ctx, code).await.map(Some),
            None => Ok(None),
        }
    }
    async fn agenda(&self, ctx: &Context<'_>) -> async_graphql::Result<Agenda> {
        let a = loaders(ctx)
            .load_one(AgendaKey(self.0.id))
            .await
            .api()?
            .unwrap_or_default();
        Ok(Agenda {
            themes: from_domain(&a.themes),
            orientations: from_domain(&a.orientations),
            country_codes: a.country_codes,
        })
    }
    /// Funding records whose source is this donor.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn funding(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Funding>> {
        funding(ctx, FundingOwner::Donor, self.0.id).await
    }
    /// Support schemes the donor funds or operates.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn schemes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SupportScheme>> {
        let ids = linked(ctx, Link::DonorSchemes, self.0.id).await?;
        ordered(ctx, ids.into_iter().map(SchemeKey).collect(), SupportScheme).await
    }
}

/// Who runs a support scheme.
#[derive(Union)]
pub enum Organisation {
    Association(Association),
    Donor(Donor),
}

/// A support option for city-to-city cooperation (report chapter 4).
pub struct SupportScheme(pub d::SupportScheme);

#[Object]
impl SupportScheme {
    async fn id(&self) -> ID {
        id(self.0.id)
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
        Ok(from_domain(
            &tags(ctx, SchemeTagsKey(self.0.id))
                .await?
                .facilitating_structures,
        ))
    }
    async fn funding_sources(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<FundingSource>> {
        Ok(from_domain(
            &tags(ctx, SchemeTagsKey(self.0.id)).await?.funding_sources,
        ))
    }
    async fn support_modalities(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<SupportModality>> {
        Ok(from_domain(
            &tags(ctx, SchemeTagsKey(self.0.id))
                .await?
                .support_modalities,
        ))
    }
    /// Themes the scheme targets.
    async fn themes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Theme>> {
        Ok(from_domain(
            &tags(ctx, SchemeTagsKey(self.0.id)).await?.themes,
        ))
    }
    /// Orientations the scheme targets.
    async fn orientations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<GeographicOrientation>> {
        Ok(from_domain(
            &tags(ctx, SchemeTagsKey(self.0.id)).await?.orientations,
        ))
    }
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn operators(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Organisation>> {
        let operators = loaders(ctx)
            .load_one(OperatorsKey(self.0.id))
            .await
            .api()?
            .unwrap_or_default();
        let associations = ordered(
            ctx,
            operators
                .iter()
                .filter_map(|o| {
                    if let d::Operator::Association(a) = o {
                        Some(AssociationKey(*a))
                    } else {
                        None
                    }
                })
                .collect(),
            Association,
        );
        let donors = ordered(
            ctx,
            operators
                .iter()
                .filter_map(|o| {
                    if let d::Operator::Donor(a) = o {
                        Some(DonorKey(*a))
                    } else {
                        None
                    }
                })
                .collect(),
            Donor,
        );
        let (associations, donors) = futures_join(associations, donors).await;
        Ok(associations?
            .into_iter()
            .map(Organisation::Association)
            .chain(donors?.into_iter().map(Organisation::Donor))
            .collect())
    }
    /// Donors with funding records on this scheme.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn donors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Donor>> {
        donors_of(ctx, FundingOwner::Scheme, self.0.id).await
    }
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn funding(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Funding>> {
        funding(ctx, FundingOwner::Scheme, self.0.id).await
    }
    /// Practices the scheme supports.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn practices(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Practice>> {
        let ids = linked(ctx, Link::SchemePractices, self.0.id).await?;
        ordered(ctx, ids.into_iter().map(PracticeKey).collect(), Practice).await
    }
}

async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}

/// A partner other than a city: an NGO, a university, a firm, a utility.
#[derive(SimpleObject)]
pub struct Partner {
    name: String,
    kind: CooperatingParty,
}

/// How a practice measures success: baseline, target and actual values of one indicator.
pub struct Indicator(pub d::Indicator);

#[Object]
impl Indicator {
    async fn id(&self) -> ID {
        id(self.0.id)
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

/// One city-to-city link or project, classified on the five dimensions of the framework.
pub struct Practice(pub d::Practice);

#[Object]
impl Practice {
    async fn id(&self) -> ID {
        id(self.0.id)
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
        Ok(from_domain(
            &tags(ctx, PracticeTagsKey(self.0.id)).await?.themes,
        ))
    }
    async fn management_focus(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ManagementFocus>> {
        Ok(from_domain(
            &tags(ctx, PracticeTagsKey(self.0.id))
                .await?
                .management_focus,
        ))
    }
    async fn cooperating_parties(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<CooperatingParty>> {
        Ok(from_domain(
            &tags(ctx, PracticeTagsKey(self.0.id))
                .await?
                .cooperating_parties,
        ))
    }
    /// The participating cities, lead cities first.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn cities(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<City>> {
        let links = loaders(ctx)
            .load_one(PracticeCitiesKey(self.0.id))
            .await
            .api()?
            .unwrap_or_default();
        ordered(
            ctx,
            links.iter().map(|l| CityKey(l.city_id)).collect(),
            City,
        )
        .await
    }
    /// The participating cities with their role.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn participants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Participation>> {
        let links = loaders(ctx)
            .load_one(PracticeCitiesKey(self.0.id))
            .await
            .api()?
            .unwrap_or_default();
        Ok(links.into_iter().map(Participation).collect())
    }
    /// Associations and networks involved.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn associations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Association>> {
        let ids = linked(ctx, Link::PracticeAssociations, self.0.id).await?;
        ordered(
            ctx,
            ids.into_iter().map(AssociationKey).collect(),
            Association,
        )
        .await
    }
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn partners(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Partner>> {
        let partners = loaders(ctx)
            .load_one(PartnersKey(self.0.id))
            .await
            .api()?
            .unwrap_or_default();
        Ok(partners
            .into_iter()
            .map(|p| Partner {
                name: p.name,
                kind: p.kind.into(),
            })
            .collect())
    }
    /// The support schemes behind the practice.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn schemes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SupportScheme>> {
        let ids = linked(ctx, Link::PracticeSchemes, self.0.id).await?;
        ordered(ctx, ids.into_iter().map(SchemeKey).collect(), SupportScheme).await
    }
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn funding(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Funding>> {
        funding(ctx, FundingOwner::Practice, self.0.id).await
    }
    /// Donors with funding records on this practice.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn donors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Donor>> {
        donors_of(ctx, FundingOwner::Practice, self.0.id).await
    }
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn indicators(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Indicator>> {
        let list = loaders(ctx)
            .load_one(IndicatorsKey(self.0.id))
            .await
            .api()?
            .unwrap_or_default();
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

/// Money flowing from a donor, a city's own budget or local partners to a practice or a scheme.
pub struct Funding(pub d::Funding);

#[Object]
impl Funding {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The amount in `currency`; null when the source does not state it, or when the record is
    /// confidential and the viewer is neither its donor nor the secretariat.
    async fn amount(&self) -> Option<Decimal> {
        self.0.amount
    }
    /// ISO 4217 code.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// USD per unit of `currency`, frozen when the record was made.
    async fn rate(&self) -> Decimal {
        self.0.rate
    }
    /// Where `rate` came from and as of when.
    async fn rate_source(&self) -> Option<&str> {
        self.0.rate_source.as_deref()
    }
    /// `amount` in USD at `rate`, to the cent; null when `amount` is.
    async fn amount_usd(&self) -> Option<Decimal> {
        self.0.amount_usd
    }
    async fn year(&self) -> Option<i32> {
        self.0.year
    }
    async fn status(&self) -> FundingStatus {
        self.0.status.into()
    }
    async fn source_type(&self) -> FundingSource {
        self.0.source_type.into()
    }
    async fn confidential(&self) -> bool {
        self.0.confidential
    }
    /// Who gives the money when it is not a donor of the base (a community fund, a local firm).
    async fn source_name(&self) -> Option<&str> {
        self.0.source_name.as_deref()
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn donor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Donor>> {
        match self.0.donor_id {
            Some(d) => one(ctx, DonorKey(d), Donor).await,
            None => Ok(None),
        }
    }
    /// The city whose budget or community provides the money.
    async fn source_city(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<City>> {
        match self.0.source_city_id {
            Some(c) => one(ctx, CityKey(c), City).await,
            None => Ok(None),
        }
    }
    async fn practice(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Practice>> {
        match self.0.practice_id {
            Some(p) => one(ctx, PracticeKey(p), Practice).await,
            None => Ok(None),
        }
    }
    async fn scheme(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SupportScheme>> {
        match self.0.scheme_id {
            Some(s) => one(ctx, SchemeKey(s), SupportScheme).await,
            None => Ok(None),
        }
    }
}

/// What a city asks for: the demand side of the base.
pub struct Need(pub d::Need);

#[Object]
impl Need {
    async fn id(&self) -> ID {
        id(self.0.id)
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
        Ok(from_domain(
            &tags(ctx, NeedTagsKey(self.0.id)).await?.themes,
        ))
    }
    async fn management_focus(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ManagementFocus>> {
        Ok(from_domain(
            &tags(ctx, NeedTagsKey(self.0.id)).await?.management_focus,
        ))
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
        Ok(from_domain(
            &tags(ctx, NeedTagsKey(self.0.id)).await?.support_modalities,
        ))
    }
    async fn amount_required(&self) -> Option<Decimal> {
        self.0.amount_required
    }
    async fn amount_required_currency(&self) -> Option<&str> {
        self.0.amount_required_currency.as_deref()
    }
}

/// How many records carry one value of one dimension.
#[derive(SimpleObject)]
pub struct FacetCount {
    dimension: Dimension,
    value: String,
    count: i64,
}

/// Table 2.2 of the report filled in: what the base holds, per framework value.
#[derive(SimpleObject)]
pub struct Inventory {
    practice_count: i64,
    support_scheme_count: i64,
    city_count: i64,
    association_count: i64,
    donor_count: i64,
    /// Practices per orientation, modality, cooperating party, management focus and theme. A
    /// practice with several values of a dimension counts once under each.
    practice_facets: Vec<FacetCount>,
    /// Schemes per facilitating structure, funding source, support modality, theme and
    /// orientation targeted.
    scheme_facets: Vec<FacetCount>,
}

impl From<d::Inventory> for Inventory {
    fn from(i: d::Inventory) -> Self {
        let facets = |list: Vec<d::FacetCount>| {
            list.into_iter()
                .map(|f| FacetCount {
                    dimension: f.dimension.into(),
                    value: f.value,
                    count: f.count,
                })
                .collect()
        };
        Inventory {
            practice_count: i.practice_count,
            support_scheme_count: i.support_scheme_count,
            city_count: i.city_count,
            association_count: i.association_count,
            donor_count: i.donor_count,
            practice_facets: facets(i.practice_facets),
            scheme_facets: facets(i.scheme_facets),
        }
    }
}
