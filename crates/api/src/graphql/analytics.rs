//! The donors' questions (report 6.3) on the wire.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use domain::analytics::{self as a, Analytics};
use rust_decimal::Decimal;

use super::enums::FundingStatus;
use super::ids::parse_id;
use crate::error::ResultExt;

/// What a funding-gap table is grouped by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::analytics::GapDimension")]
pub enum GapDimension {
    Theme,
    Orientation,
    /// The blocs of the participating cities' countries (a need's city's).
    Bloc,
    /// The participating cities' countries (a need's city's).
    Country,
    Modality,
    ManagementFocus,
}

#[derive(InputObject, Default)]
pub struct GapFilter {
    /// Funding of this year and later; practices still running in it.
    pub from_year: Option<i32>,
    /// Funding up to this year; practices started by then.
    pub to_year: Option<i32>,
    /// Funding statuses that count as funded (default COMMITTED and DISBURSED; PLEDGED is refused).
    pub statuses: Option<Vec<FundingStatus>>,
    /// Only the cells in this donor's agenda (its themes, orientations and countries, where it names any).
    pub agenda_of_donor: Option<ID>,
}

impl GapFilter {
    fn into_domain(self) -> async_graphql::Result<a::GapFilter> {
        Ok(a::GapFilter {
            from_year: self.from_year,
            to_year: self.to_year,
            statuses: self
                .statuses
                .iter()
                .flatten()
                .map(|s| (*s).into())
                .collect(),
            agenda_of_donor: self
                .agenda_of_donor
                .as_ref()
                .map(|i| parse_id("agendaOfDonor", i))
                .transpose()?,
        })
    }
}

#[derive(SimpleObject)]
pub struct GapKey {
    dimension: GapDimension,
    value: String,
}

/// One cell of the funding-gap table. Amounts are USD. A practice with several values of a
/// grouping dimension (several themes, cities in several countries) counts in each of its
/// cells, so cells do not add up to the total: ask `fundingGapTotal` for that.
pub struct FundingGapCell(a::FundingGapCell);

#[Object]
impl FundingGapCell {
    async fn key(&self) -> Vec<GapKey> {
        self.0
            .key
            .iter()
            .map(|k| GapKey {
                dimension: k.dimension.into(),
                value: k.value.clone(),
            })
            .collect()
    }
    /// Published needs still OPEN.
    async fn open_needs(&self) -> i64 {
        self.0.open_needs
    }
    /// Published practices running in the filter's period (all published ones without a period).
    async fn active_practices(&self) -> i64 {
        self.0.active_practices
    }
    /// What the practices and open needs require.
    async fn required_usd(&self) -> Decimal {
        self.0.required()
    }
    /// Committed and disbursed funding (or the statuses of the filter).
    async fn funded_usd(&self) -> Decimal {
        self.0.funded()
    }
    /// Pledges not yet committed: reported, never counted as funded.
    async fn pledged_usd(&self) -> Decimal {
        self.0.pledged()
    }
    /// Required minus funded, never below zero.
    async fn gap_usd(&self) -> Decimal {
        self.0.gap()
    }
    /// Funded over required; null where nothing is required.
    async fn coverage(&self) -> Option<f64> {
        self.0.coverage()
    }
    /// Support schemes behind the cell's practices.
    async fn scheme_count(&self) -> i64 {
        self.0.scheme_count
    }
    /// Donors funding the cell's practices.
    async fn donor_count(&self) -> i64 {
        self.0.donor_count
    }
}

#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// Where funding is missing: the base grouped by one to three dimensions, largest gap first.
    /// Confidential amounts count here without being revealed.
    async fn funding_gaps(
        &self,
        ctx: &Context<'_>,
        by: Vec<GapDimension>,
        filter: Option<GapFilter>,
    ) -> async_graphql::Result<Vec<FundingGapCell>> {
        let by: Vec<a::GapDimension> = by.into_iter().map(Into::into).collect();
        let filter = filter.unwrap_or_default().into_domain()?;
        let cells = ctx
            .data_unchecked::<Analytics>()
            .funding_gaps(&by, filter)
            .await
            .api()?;
        Ok(cells.into_iter().map(FundingGapCell).collect())
    }

    /// The same figures for the whole base, each practice and need counted once.
    async fn funding_gap_total(
        &self,
        ctx: &Context<'_>,
        filter: Option<GapFilter>,
    ) -> async_graphql::Result<FundingGapCell> {
        let filter = filter.unwrap_or_default().into_domain()?;
        Ok(FundingGapCell(
            ctx.data_unchecked::<Analytics>()
                .funding_gap_total(filter)
                .await
                .api()?,
        ))
    }
}
