//! The donors' questions of report 6.3, answered in the database: where funding is missing.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::entities::Id;
use crate::framework::{FundingStatus, GeographicOrientation, SupportModality, Theme, vocabulary};
use crate::repository::sum_trait;
use crate::values::year;
use crate::{Error, Result};

vocabulary!(
    /// A dimension a funding-gap table can be grouped by.
    GapDimension {
        Theme = "THEME",
        Orientation = "ORIENTATION",
        Bloc = "BLOC",
        Country = "COUNTRY",
        Modality = "MODALITY",
        ManagementFocus = "MANAGEMENT_FOCUS",
    }
);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GapFilter {
    /// Funding and practice activity from this year on.
    pub from_year: Option<i32>,
    /// … up to this year.
    pub to_year: Option<i32>,
    /// Funding statuses that count as funded; COMMITTED and DISBURSED by default. Pledges are
    /// reported apart and never count as funded.
    pub statuses: Vec<FundingStatus>,
    /// Only the cells in this donor's agenda (its themes, orientations and countries).
    pub agenda_of_donor: Option<Id>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GapKey {
    pub dimension: GapDimension,
    pub value: String,
}

/// One cell of the table: amounts in USD cents as SQL adds them up exactly. One record holds
/// up to about 2^63 cents, so sums of many are kept in 128 bits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FundingGapCell {
    pub key: Vec<GapKey>,
    pub open_needs: i64,
    pub active_practices: i64,
    pub required_cents: i128,
    pub funded_cents: i128,
    pub pledged_cents: i128,
    pub scheme_count: i64,
    pub donor_count: i64,
}

/// USD cents as a decimal amount. Sums of the rows a database can hold stay far below the
/// decimal's range (about 7.9 × 10^28); beyond it the figure saturates rather than fail.
pub fn cents_to_usd(cents: i128) -> Decimal {
    Decimal::try_from_i128_with_scale(cents, 2).unwrap_or(if cents < 0 {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}

impl FundingGapCell {
    pub fn gap_cents(&self) -> i128 {
        (self.required_cents - self.funded_cents).max(0)
    }

    pub fn required(&self) -> Decimal {
        cents_to_usd(self.required_cents)
    }

    pub fn funded(&self) -> Decimal {
        cents_to_usd(self.funded_cents)
    }

    pub fn pledged(&self) -> Decimal {
        cents_to_usd(self.pledged_cents)
    }

    pub fn gap(&self) -> Decimal {
        cents_to_usd(self.gap_cents())
    }

    /// Funded over required; `None` where nothing is required.
    pub fn coverage(&self) -> Option<f64> {
        (self.required_cents > 0).then(|| self.funded_cents as f64 / self.required_cents as f64)
    }
}

#[async_trait]
pub trait AnalyticsRepository: Send + Sync {
    /// Cells grouped by `by` (no dimension: one total cell), largest gap first, in one statement.
    async fn funding_gaps(
        &self,
        by: &[GapDimension],
        filter: &GapFilter,
    ) -> Result<Vec<FundingGapCell>>;
}

pub use crate::limits::MAX_GAP_DIMENSIONS;

sum_trait!(
    /// What the analytics read: the funding-gap table and the results view.
    AnalyticsStore = AnalyticsRepository + ResultsRepository
);

#[derive(Clone)]
pub struct Analytics {
    repo: Arc<dyn AnalyticsStore>,
}

impl Analytics {
    pub fn new(repo: Arc<dyn AnalyticsStore>) -> Self {
        Analytics { repo }
    }

    pub async fn results_by_theme(&self) -> Result<Vec<ThemeResults>> {
        self.repo.results_by_theme().await
    }

    /// The funding-gap table over the published base. Everyone may ask: aggregates include
    /// confidential amounts without revealing any one of them.
    pub async fn funding_gaps(
        &self,
        by: &[GapDimension],
        filter: GapFilter,
    ) -> Result<Vec<FundingGapCell>> {
        let dims = by.to_vec();
        let mut distinct = dims.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != dims.len() {
            return Err(Error::validation("by", "names a dimension twice"));
        }
        if dims.is_empty() || dims.len() > MAX_GAP_DIMENSIONS {
            return Err(Error::validation(
                "by",
                format!("group by 1 to {MAX_GAP_DIMENSIONS} dimensions"),
            ));
        }
        self.repo.funding_gaps(&dims, &Self::check(filter)?).await
    }

    /// The same figures for the whole base, each practice and need counted once.
    pub async fn funding_gap_total(&self, filter: GapFilter) -> Result<FundingGapCell> {
        let mut cells = self.repo.funding_gaps(&[], &Self::check(filter)?).await?;
        Ok(cells.pop().unwrap_or_default())
    }

    fn check(mut filter: GapFilter) -> Result<GapFilter> {
        let from = filter.from_year.map(|y| year("fromYear", y)).transpose()?;
        let to = filter.to_year.map(|y| year("toYear", y)).transpose()?;
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(Error::validation("toYear", "is before fromYear"));
        }
        if filter.statuses.contains(&FundingStatus::Pledged) {
            return Err(Error::validation(
                "statuses",
                "pledges never count as funded; they are reported as pledged",
            ));
        }
        if filter.statuses.is_empty() {
            filter.statuses = vec![FundingStatus::Committed, FundingStatus::Disbursed];
        }
        Ok(filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(required: i128, funded: i128) -> FundingGapCell {
        FundingGapCell {
            required_cents: required,
            funded_cents: funded,
            ..FundingGapCell::default()
        }
    }

    #[test]
    fn gap_and_coverage() {
        assert_eq!(cell(10_000, 2_500).gap().to_string(), "75.00");
        assert_eq!(cell(10_000, 2_500).coverage(), Some(0.25));
        assert_eq!(
            cell(1_000, 5_000).gap_cents(),
            0,
            "over-funded cells have no gap"
        );
        assert_eq!(
            cell(0, 5_000).coverage(),
            None,
            "nothing required: no ratio"
        );
    }

    #[test]
    fn sums_beyond_64_bits_stay_exact() {
        let max = i128::from(i64::MAX);
        let c = cell(3 * max, max);
        assert_eq!(c.gap_cents(), 2 * max);
        assert_eq!(c.required().to_string(), "276701161105643274.21");
        assert_eq!(cents_to_usd(i128::MAX), Decimal::MAX, "saturates");
    }
}

/// Support schemes that target one theme × orientation × support modality.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemeOverlap {
    pub theme: Theme,
    pub orientation: GeographicOrientation,
    pub modality: SupportModality,
    pub scheme_ids: Vec<Id>,
    /// Published practices supported by two or more of these schemes.
    pub shared_practice_ids: Vec<Id>,
}

/// A theme × orientation cell with published practices and no published scheme targeting it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsupportedCell {
    pub theme: Theme,
    pub orientation: GeographicOrientation,
    pub practices: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OverlapReport {
    pub overlaps: Vec<SchemeOverlap>,
    pub unsupported: Vec<UnsupportedCell>,
}

/// One ranked candidate for a need, with the reasons it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub id: Id,
    pub score: i64,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NeedMatches {
    pub practices: Vec<Match>,
    pub cities: Vec<Match>,
    pub schemes: Vec<Match>,
    pub donors: Vec<Match>,
}

#[async_trait]
pub trait MatchRepository: Send + Sync {
    async fn scheme_overlaps(&self) -> Result<OverlapReport>;
    /// `None` when the need does not exist or is not visible.
    async fn matches(
        &self,
        need_id: Id,
        first: u64,
        vis: &crate::Visibility,
    ) -> Result<Option<NeedMatches>>;
}

#[derive(Clone)]
pub struct Matchmaking {
    repo: Arc<dyn MatchRepository>,
}

impl Matchmaking {
    pub fn new(repo: Arc<dyn MatchRepository>) -> Self {
        Matchmaking { repo }
    }

    pub async fn scheme_overlaps(&self) -> Result<OverlapReport> {
        self.repo.scheme_overlaps().await
    }

    /// Documented experience for a city's need (report 6.3): similar practices, the cities that
    /// hold that experience, open schemes, donors whose agenda fits.
    pub async fn matches(
        &self,
        actor: &crate::Actor,
        need_id: Id,
        first: Option<i32>,
    ) -> Result<NeedMatches> {
        let first = crate::page::PageRequest::new(first, None)?.first;
        self.repo
            .matches(need_id, first, &actor.visibility())
            .await?
            .ok_or_else(|| Error::not_found("Need", need_id))
    }
}

/// How the practices of one theme measure and reach their results (report 6.3: "how should
/// successes be measured and monitored").
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeResults {
    pub theme: Theme,
    pub practices: i64,
    pub practices_with_indicators: i64,
    pub indicators: i64,
    /// Indicators with both a target and an actual value.
    pub indicators_with_target: i64,
    /// … whose actual value reached the target.
    pub targets_met: i64,
}

#[async_trait]
pub trait ResultsRepository: Send + Sync {
    /// Published practices only, one statement.
    async fn results_by_theme(&self) -> Result<Vec<ThemeResults>>;
}
