//! The donors' questions of report 6.3, answered in the database: where funding is missing.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;

use crate::entities::Id;
use crate::framework::{FundingStatus, GeographicOrientation, SupportModality, Theme, vocabulary};
use crate::repository::sum_trait;
use crate::values::year;
use crate::{Actor, Error, Result, policy};

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
    /// Whether the money figures are exact for the caller, or rounded by [`disclose`].
    pub disclosure: Disclosure,
}

/// How exact a cell's money figures are for the caller who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disclosure {
    /// Every amount in the cell counted as recorded.
    #[default]
    Exact,
    /// Confidential amounts the caller may not see counted rounded (see [`rounded_units`]).
    Rounded,
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

    /// The confidential funding counted in the same cells that the caller may not see, summed
    /// per cell and whether it counts as funded or pledged, exactly and as [`rounded_units`]
    /// rounds each record: every donor's (and none's) but `except_donor`'s, the donor whose
    /// amounts the caller sees. A few rows a cell however many donors fund it, with no
    /// `donor_id`.
    async fn confidential_parts(
        &self,
        by: &[GapDimension],
        filter: &GapFilter,
        except_donor: Option<Id>,
    ) -> Result<Vec<ConfidentialPart>>;
}

// ---- disclosure control ----
//
// A confidential amount is shown to its donor and the secretariat only, and an aggregate must
// not give it away: with one confidential record in a cell, the cell's funded figure minus the
// public records' amounts is that record. Rounding the cell's figure does not help (a writer can
// add public funding until the rounding flips, and cells of one answer, the total and year
// ranges can be subtracted from each other), and neither does showing a cell exactly once it
// has several contributors (the total minus the other cells of a partition isolates the rest).
// So the rounding is applied to each confidential record the caller may not see, before it is
// added anywhere: every figure the caller gets is a function of public amounts and rounded
// confidential ones, and no combination of answers recovers more than the rounded amount.

/// Significant digits a hidden confidential amount is rounded to.
pub const ROUNDING_DIGITS: u32 = 2;
/// The finest unit a hidden confidential amount is rounded to, in USD cents (USD 1,000).
pub const ROUNDING_UNIT: i64 = 100_000;

/// The unit `cents` is rounded to: its second significant digit, never below [`ROUNDING_UNIT`].
pub fn rounding_unit(cents: i64) -> i64 {
    let digits = cents.unsigned_abs().checked_ilog10().map_or(1, |l| l + 1);
    10i64
        .pow(digits.saturating_sub(ROUNDING_DIGITS))
        .max(ROUNDING_UNIT)
}

/// A hidden confidential amount as aggregates count it: rounded half up to [`rounding_unit`],
/// in units of [`ROUNDING_UNIT`] (so that sums of many cannot overflow). The database computes
/// the same per record; `persistence` builds its expression from [`rounding_unit`].
pub fn rounded_units(cents: i64) -> i64 {
    let unit = rounding_unit(cents);
    let up = cents % unit >= unit - unit / 2;
    (cents / unit + i64::from(up)) * (unit / ROUNDING_UNIT)
}

/// Confidential funding of one donor in one cell, counted as funded or as pledged; of none (a
/// city's own budget, local partners) or of several donors summed when `donor_id` is None.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidentialPart {
    /// The cell's key values, in the order of the grouping asked for (none for the total).
    pub key: Vec<String>,
    pub donor_id: Option<Id>,
    /// Counted as funded under the filter's statuses; otherwise a pledge.
    pub funded: bool,
    pub exact_cents: i128,
    /// The sum of the records' [`rounded_units`], in USD cents.
    pub rounded_cents: i128,
}

/// The cell as `sees` lets the caller read it: every confidential part whose donor's amounts
/// the caller may not see counts rounded instead of exactly, and the cell says so.
pub fn disclose<'a>(
    mut cell: FundingGapCell,
    parts: impl IntoIterator<Item = &'a ConfidentialPart>,
    sees: impl Fn(Option<Id>) -> bool,
) -> FundingGapCell {
    for part in parts {
        if sees(part.donor_id) {
            continue;
        }
        let change = part.rounded_cents - part.exact_cents;
        if part.funded {
            cell.funded_cents += change;
        } else {
            cell.pledged_cents += change;
        }
        cell.disclosure = Disclosure::Rounded;
    }
    cell
}

pub use crate::limits::MAX_GAP_DIMENSIONS;

/// The dimensions of a funding-gap grouping, checked as a question's `by` is: one to
/// [`MAX_GAP_DIMENSIONS`], none twice. Operators name groupings to prepare the same way.
pub fn grouping(by: &[GapDimension]) -> Result<Vec<GapDimension>> {
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
    Ok(dims)
}

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

    /// The funding-gap table over the published base. Everyone may ask: confidential amounts
    /// count, rounded for callers who may not see them (see [`disclose`]).
    pub async fn funding_gaps(
        &self,
        actor: &Actor,
        by: &[GapDimension],
        filter: GapFilter,
    ) -> Result<Vec<FundingGapCell>> {
        let dims = grouping(by)?;
        self.disclosed(actor, &dims, Self::check(filter)?).await
    }

    /// The same figures for the whole base, each practice and need counted once.
    pub async fn funding_gap_total(
        &self,
        actor: &Actor,
        filter: GapFilter,
    ) -> Result<FundingGapCell> {
        let mut cells = self.disclosed(actor, &[], Self::check(filter)?).await?;
        Ok(cells.pop().unwrap_or_default())
    }

    async fn disclosed(
        &self,
        actor: &Actor,
        by: &[GapDimension],
        filter: GapFilter,
    ) -> Result<Vec<FundingGapCell>> {
        let cells = self.repo.funding_gaps(by, &filter).await?;
        if policy::sees_every_confidential_amount(actor) {
            return Ok(cells);
        }
        let mut parts: HashMap<Vec<String>, Vec<ConfidentialPart>> = HashMap::new();
        // Only the parts the caller may not see are read; `disclose` still checks each one.
        let own = policy::own_donor(actor);
        for part in self.repo.confidential_parts(by, &filter, own).await? {
            parts.entry(part.key.clone()).or_default().push(part);
        }
        let mut cells: Vec<FundingGapCell> = cells
            .into_iter()
            .map(|cell| {
                let key: Vec<String> = cell.key.iter().map(|k| k.value.clone()).collect();
                let of_cell = parts.get(&key).into_iter().flatten();
                disclose(cell, of_cell, |donor| {
                    policy::sees_confidential_amount(actor, donor)
                })
            })
            .collect();
        // Largest gap first, as the figures now read.
        cells.sort_by_key(|c| {
            (
                std::cmp::Reverse(c.gap_cents()),
                std::cmp::Reverse(c.required_cents - c.funded_cents),
            )
        });
        Ok(cells)
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
    fn hidden_confidential_amounts_round_to_two_significant_digits() {
        let usd = |units: i64| units * ROUNDING_UNIT / 100;
        // 123,456.78 USD: to ten thousands.
        assert_eq!(usd(rounded_units(12_345_678)), 120_000);
        assert_eq!(usd(rounded_units(12_500_000)), 130_000, "half up");
        assert_eq!(usd(rounded_units(12_499_999)), 120_000);
        // Never finer than USD 1,000.
        assert_eq!(usd(rounded_units(123_456)), 1_000);
        assert_eq!(usd(rounded_units(49_999)), 0);
        assert_eq!(usd(rounded_units(50_000)), 1_000);
        assert_eq!(usd(rounded_units(0)), 0);
        // The largest amounts do not overflow.
        assert_eq!(rounded_units(i64::MAX), 92 * 1_000_000_000_000);
        assert_eq!(rounding_unit(999_999), ROUNDING_UNIT);
        assert_eq!(rounding_unit(9_999_999), 100_000);
        assert_eq!(rounding_unit(10_000_000), 1_000_000);
        assert_eq!(rounding_unit(100_000_000), 10_000_000);
    }

    fn part(donor: Option<Id>, funded: bool, exact: i128, rounded: i128) -> ConfidentialPart {
        ConfidentialPart {
            key: vec![],
            donor_id: donor,
            funded,
            exact_cents: exact,
            rounded_cents: rounded,
        }
    }

    #[test]
    fn a_cell_counts_what_the_caller_may_not_see_rounded() {
        let parts = [
            part(Some(1), true, 12_345_678, 12_000_000),
            part(Some(2), false, 260_000, 300_000),
        ];
        // Everything seen: exact.
        let c = disclose(cell(20_000_000, 15_000_000), &parts, |_| true);
        assert_eq!(c.funded_cents, 15_000_000);
        assert_eq!(c.disclosure, Disclosure::Exact);
        // Donor 1 sees its own funded amount; donor 2's pledge is rounded.
        let c = disclose(cell(20_000_000, 15_000_000), &parts, |d| d == Some(1));
        assert_eq!((c.funded_cents, c.pledged_cents), (15_000_000, 40_000));
        assert_eq!(c.disclosure, Disclosure::Rounded);
        // Nothing seen: the gap and coverage follow the rounded figure.
        let c = disclose(cell(20_000_000, 15_000_000), &parts, |_| false);
        assert_eq!(c.funded_cents, 15_000_000 - 345_678);
        assert_eq!(c.gap_cents(), 20_000_000 - 15_000_000 + 345_678);
        assert_eq!(c.disclosure, Disclosure::Rounded);
        // A cell without confidential funding stays exact.
        let c = disclose(cell(1, 1), [], |_| false);
        assert_eq!(c.disclosure, Disclosure::Exact);
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
