//! Funding records: money from a donor, a city's own budget or local partners to a practice or a
//! scheme. Who may record or change one is decided by the domain's funding rules; confidential
//! amounts are hidden by the read service before they reach these types.

use async_graphql::{Context, ID, InputObject, Object};
use domain::editing as e;
use domain::entities as d;
use rust_decimal::Decimal;

use super::city::City;
use super::donor::Donor;
use super::enums::*;
use super::ids::{Kind, id, parse_id, parse_opt_id};
use super::loaders::*;
use super::practice::Practice;
use super::relations::*;
use super::resolve::{actor, edit};
use super::scheme::SupportScheme;

/// Money flowing from a donor, a city's own budget or local partners to a practice or a scheme.
///
/// Shared with the request's loaders like the other records (see `record_type!`). A page of
/// records comes with the donors and practices it names, read in the statement that paged them.
pub struct Funding(pub std::sync::Arc<d::Funding>, Named);

impl From<d::Funding> for Funding {
    fn from(record: d::Funding) -> Self {
        Funding(std::sync::Arc::new(record), Named::default())
    }
}

impl From<std::sync::Arc<d::Funding>> for Funding {
    fn from(record: std::sync::Arc<d::Funding>) -> Self {
        Funding(record, Named::default())
    }
}

#[Object]
impl Funding {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::Funding, self.0.id)
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
        if let Some(donor) = &self.1.donor {
            return Ok(Some(Donor(donor.clone())));
        }
        maybe(ctx, self.0.donor_id.map(DonorKey), Donor).await
    }
    /// The city whose budget or community provides the money.
    async fn source_city(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<City>> {
        maybe(ctx, self.0.source_city_id.map(CityKey), City).await
    }
    async fn practice(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Practice>> {
        if let Some(practice) = &self.1.practice {
            return Ok(Some(Practice(practice.clone())));
        }
        maybe(ctx, self.0.practice_id.map(PracticeKey), Practice).await
    }
    async fn scheme(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SupportScheme>> {
        maybe(ctx, self.0.scheme_id.map(SchemeKey), SupportScheme).await
    }
}

/// Money to a practice or a scheme (exactly one). A donor's records are its own; only the
/// secretariat names `donorId`.
#[derive(InputObject, Default)]
pub struct FundingInput {
    pub practice_id: Option<ID>,
    pub scheme_id: Option<ID>,
    pub donor_id: Option<ID>,
    pub amount: Option<Decimal>,
    /// ISO 4217 code (legacy euro currencies such as NLG included).
    pub currency: Option<String>,
    pub year: Option<i32>,
    pub status: Option<FundingStatus>,
    pub source_type: Option<FundingSource>,
    pub source_name: Option<String>,
    /// Hides the amount from everyone but the donor and the secretariat.
    pub confidential: Option<bool>,
    pub note: Option<String>,
}

impl FundingInput {
    fn into_domain(self) -> async_graphql::Result<e::FundingInput> {
        Ok(e::FundingInput {
            practice_id: parse_opt_id(Kind::Practice, "practiceId", &self.practice_id)?,
            scheme_id: parse_opt_id(Kind::SupportScheme, "schemeId", &self.scheme_id)?,
            donor_id: parse_opt_id(Kind::Donor, "donorId", &self.donor_id)?,
            amount: self.amount,
            currency: self.currency,
            year: self.year,
            status: self.status.map(Into::into),
            source_type: self.source_type.map(Into::into),
            source_name: self.source_name,
            confidential: self.confidential,
            note: self.note,
        })
    }
}

#[derive(Default)]
pub struct FundingMutation;

#[Object]
impl FundingMutation {
    /// Money to a practice or a scheme, converted to USD at the stored rate, which is frozen on
    /// the record.
    async fn record_funding(
        &self,
        ctx: &Context<'_>,
        input: FundingInput,
    ) -> async_graphql::Result<Funding> {
        let input = input.into_domain()?;
        let recorded = edit(ctx, |e, a| e.record_funding(a, input)).await?;
        Ok(as_read(ctx, recorded))
    }

    async fn update_funding(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: FundingInput,
    ) -> async_graphql::Result<Funding> {
        let (id, input) = (parse_id(Kind::Funding, "id", &id)?, input.into_domain()?);
        let updated = edit(ctx, |e, a| e.update_funding(a, id, version, input)).await?;
        Ok(as_read(ctx, updated))
    }
}

/// A mutation answers with what a query would show the caller: the same read rule for
/// confidential amounts (a practitioner may change a record whose amount it may not see).
fn as_read(ctx: &Context<'_>, record: d::Funding) -> Funding {
    domain::policy::funding_as_read_by(actor(ctx), record).into()
}

/// A page of the funding records of a practice, a scheme or a donor (`of`), read with the records
/// themselves for the whole page of owners at once.
pub(crate) async fn funding_page(
    ctx: &Context<'_>,
    of: domain::repository::Nested,
    owner: d::Id,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<super::connection::ListConnection<Funding>> {
    let edge = |(f, named): &ListedFunding| (f.id, Funding(f.clone(), named.clone()));
    super::connection::nested_records(ctx, of, owner, first, after, FundingPageKey, edge).await
}
