//! The donors' questions (report 6.3) on the wire.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use domain::analytics::{self as a, Analytics, Matchmaking};
use domain::entities::Id;
use rust_decimal::Decimal;

use super::city::City;
use super::connection::{ListConnection, held_page, page_complexity, preloaded_page};
use super::donor::Donor;
use super::enums::{FundingStatus, GeographicOrientation, SupportModality, Theme};
use super::ids::{Kind, parse_id};
use super::loaders::{CityKey, DonorKey, Key, PracticeKey, SchemeKey};
use super::practice::Practice;
use super::relations::one;
use super::resolve::{actor, loaders};
use super::scheme::SupportScheme;
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

/// How exact a funding-gap cell's money figures are for the caller. Confidential amounts are
/// counted in every cell; for a caller who may not see one (anyone but its donor and the
/// secretariat) each such record counts rounded to two significant digits, never finer than
/// USD 1,000, before it is added, so that no combination of cells, totals, groupings and
/// periods recovers it.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::analytics::Disclosure")]
pub enum Disclosure {
    /// Every amount counted as recorded.
    Exact,
    /// Confidential amounts the caller may not see counted rounded: funded, pledged, gap and
    /// coverage are approximate.
    Rounded,
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
    /// A year filter makes the table be read from the base rows rather than the rollups.
    fn by_year(filter: &Option<GapFilter>) -> bool {
        filter
            .as_ref()
            .is_some_and(|f| f.from_year.is_some() || f.to_year.is_some())
    }

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
                .map(|i| parse_id(Kind::Donor, "agendaOfDonor", i))
                .transpose()?,
        })
    }
}

#[derive(SimpleObject)]
pub struct GapKey {
    dimension: GapDimension,
    value: String,
}

/// One cell of the funding-gap table. Amounts are USD, exact unless `disclosure` says otherwise. A practice with several values of a
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
    /// Whether the money figures are exact for the caller, or count confidential amounts it may
    /// not see rounded.
    async fn disclosure(&self) -> Disclosure {
        self.0.disclosure.into()
    }
}

/// Results per theme: how practices measure success and how many reach their targets.
#[derive(SimpleObject)]
pub struct ThemeResults {
    theme: Theme,
    /// Published practices with the theme.
    practices: i64,
    practices_with_indicators: i64,
    indicators: i64,
    /// Indicators with both a target and an actual value.
    indicators_with_target: i64,
    /// … whose actual value reached the target.
    targets_met: i64,
}

#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// The report's "how should successes be measured and monitored", per theme.
    #[graphql(complexity = "super::cost::weighed(super::cost::RESULTS, child_complexity)")]
    async fn results_by_theme(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ThemeResults>> {
        let rows = ctx
            .data_unchecked::<Analytics>()
            .results_by_theme()
            .await
            .api()?;
        Ok(rows
            .into_iter()
            .map(|r| ThemeResults {
                theme: r.theme.into(),
                practices: r.practices,
                practices_with_indicators: r.practices_with_indicators,
                indicators: r.indicators,
                indicators_with_target: r.indicators_with_target,
                targets_met: r.targets_met,
            })
            .collect())
    }

    /// Where funding is missing: the base grouped by one to three dimensions, largest gap first.
    /// Confidential amounts count here without being revealed (see `Disclosure`).
    #[graphql(
        complexity = "super::cost::gaps(by.len(), GapFilter::by_year(&filter), child_complexity)"
    )]
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
            .funding_gaps(actor(ctx), &by, filter)
            .await
            .api()?;
        Ok(cells.into_iter().map(FundingGapCell).collect())
    }

    /// The same figures for the whole base, each practice and need counted once.
    #[graphql(complexity = "super::cost::gaps(0, GapFilter::by_year(&filter), child_complexity)")]
    async fn funding_gap_total(
        &self,
        ctx: &Context<'_>,
        filter: Option<GapFilter>,
    ) -> async_graphql::Result<FundingGapCell> {
        let filter = filter.unwrap_or_default().into_domain()?;
        Ok(FundingGapCell(
            ctx.data_unchecked::<Analytics>()
                .funding_gap_total(actor(ctx), filter)
                .await
                .api()?,
        ))
    }
}

/// Schemes that target the same theme × orientation × support modality.
pub struct SchemeOverlap {
    overlap: a::SchemeOverlap,
    /// The schemes of every overlap of the report, read at once when `schemes` is selected.
    schemes: Option<Arc<HashMap<SchemeKey, Arc<domain::entities::SupportScheme>>>>,
}

#[Object]
impl SchemeOverlap {
    async fn theme(&self) -> Theme {
        self.overlap.theme.into()
    }
    async fn orientation(&self) -> GeographicOrientation {
        self.overlap.orientation.into()
    }
    async fn support_modality(&self) -> SupportModality {
        self.overlap.modality.into()
    }
    /// The published schemes of the cell, in id order.
    #[graphql(complexity = "super::cost::page(first, child_complexity)")]
    async fn schemes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<SupportScheme>> {
        let ids = &self.overlap.scheme_ids;
        match &self.schemes {
            Some(found) => preloaded_page(ids, first, after, found, SchemeKey, SupportScheme),
            None => held_page(ctx, ids, first, after, SchemeKey, SupportScheme).await,
        }
    }
    /// Published practices supported by two or more of these schemes, in id order.
    #[graphql(complexity = "super::cost::page(first, child_complexity)")]
    async fn shared_practices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ListConnection<Practice>> {
        let ids = &self.overlap.shared_practice_ids;
        held_page(ctx, ids, first, after, PracticeKey, Practice).await
    }
}

/// A theme × orientation cell with published practices that no published scheme targets.
#[derive(SimpleObject)]
pub struct UnsupportedCell {
    theme: Theme,
    orientation: GeographicOrientation,
    practices: i64,
}

#[derive(SimpleObject)]
pub struct SchemeOverlapReport {
    overlaps: Vec<SchemeOverlap>,
    /// The gaps in support.
    unsupported: Vec<UnsupportedCell>,
}

macro_rules! ranked {
    ($name:ident, $field:ident, $node:ident, $key:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(a::Match);

        #[Object]
        impl $name {
            async fn $field(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<$node>> {
                one(ctx, $key(self.0.id), $node).await
            }
            /// Higher is closer.
            async fn score(&self) -> i64 {
                self.0.score
            }
            /// Why it matched.
            async fn reasons(&self) -> &[String] {
                &self.0.reasons
            }
        }
    };
}

ranked!(
    PracticeMatch,
    practice,
    Practice,
    PracticeKey,
    "A practice with experience the need asks for."
);
ranked!(
    CityMatch,
    city,
    City,
    CityKey,
    "A city that holds that experience."
);
ranked!(
    SchemeMatch,
    scheme,
    SupportScheme,
    SchemeKey,
    "An open scheme that targets the need."
);
ranked!(
    DonorMatch,
    donor,
    Donor,
    DonorKey,
    "A donor whose agenda fits the need."
);

#[derive(SimpleObject)]
pub struct NeedMatches {
    /// Published practices sharing a theme with the need, best first. Score: 3 per shared
    /// theme, 2 per shared management focus, 1 for the same linking modality, 1 per key word
    /// of the need's title and description found in the practice's text.
    practices: Vec<PracticeMatch>,
    /// The cities that took part in those practices, the need's own city aside, best first.
    /// Score: the sum of the scores of the practices they took part in.
    cities: Vec<CityMatch>,
    /// Open published schemes targeting the need's themes, with no orientation or one that
    /// reaches the city's bloc. Score: 2 per targeted theme, 1 per support modality the need
    /// asks for.
    schemes: Vec<SchemeMatch>,
    /// Donors whose agenda names the need's themes or its city's country. Score: 2 per theme,
    /// 3 for the country, 1 if an agenda orientation reaches the city's bloc.
    donors: Vec<DonorMatch>,
}

#[derive(Default)]
pub struct MatchQuery;

#[Object]
impl MatchQuery {
    /// Overlaps among support schemes, and the framework cells no scheme targets.
    #[graphql(complexity = "super::cost::weighed(super::cost::OVERLAPS, child_complexity)")]
    async fn scheme_overlaps(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<SchemeOverlapReport> {
        let report = ctx
            .data_unchecked::<Matchmaking>()
            .scheme_overlaps()
            .await
            .api()?;
        // The same few hundred schemes recur across the overlaps: read once, for all of them.
        let schemes = if ctx.look_ahead().field("overlaps").field("schemes").exists() {
            let mut ids: Vec<Id> = report
                .overlaps
                .iter()
                .flat_map(|o| o.scheme_ids.iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let keys = ids.into_iter().map(SchemeKey).collect();
            Some(Arc::new(SchemeKey::load(loaders(ctx), keys).await.api()?))
        } else {
            None
        };
        Ok(SchemeOverlapReport {
            overlaps: report
                .overlaps
                .into_iter()
                .map(|overlap| SchemeOverlap {
                    overlap,
                    schemes: schemes.clone(),
                })
                .collect(),
            unsupported: report
                .unsupported
                .into_iter()
                .map(|u| UnsupportedCell {
                    theme: u.theme.into(),
                    orientation: u.orientation.into(),
                    practices: u.practices,
                })
                .collect(),
        })
    }

    /// Match-making for a need: ranked practices, cities, open schemes and donors, each with
    /// the reasons it matched.
    #[graphql(
        complexity = "super::cost::weighed(super::cost::MATCHES, 4 * page_complexity(first, child_complexity))"
    )]
    async fn matches(
        &self,
        ctx: &Context<'_>,
        need_id: ID,
        #[graphql(desc = "How many of each kind, at most 100 (default 20).")] first: Option<i32>,
    ) -> async_graphql::Result<NeedMatches> {
        let need_id = parse_id(Kind::Need, "needId", &need_id)?;
        let m = ctx
            .data_unchecked::<Matchmaking>()
            .matches(actor(ctx), need_id, first)
            .await
            .api()?;
        Ok(NeedMatches {
            practices: m.practices.into_iter().map(PracticeMatch).collect(),
            cities: m.cities.into_iter().map(CityMatch).collect(),
            schemes: m.schemes.into_iter().map(SchemeMatch).collect(),
            donors: m.donors.into_iter().map(DonorMatch).collect(),
        })
    }
}
