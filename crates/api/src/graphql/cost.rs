//! What each field weighs when the cost of a request is scored (async-graphql's "complexity"),
//! before anything runs. The unit is about one record read: a scalar field costs 1, a page costs
//! its size times what each of its nodes costs, and the fields that make the database work
//! harder than their answer's size shows (full-text search, the donors' questions) carry a
//! weight of their own. [`MAX_REQUEST_COST`] bounds one request; the same score is what a
//! client's budget over time is charged (see [`crate::budget`]).

use domain::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The most one request may cost: a page of 100 practices with their cities, schemes, donors and
/// funding costs about 12,000; one funding-gap table over three dimensions with a year filter
/// about 31,000. Twenty such tables, or a hundred match lists, are far beyond.
pub const MAX_REQUEST_COST: usize = 50_000;

/// A request at least this costly counts as expensive: only a few run at once in the process
/// (see [`crate::budget::BudgetSettings::expensive_concurrency`]).
pub const EXPENSIVE: usize = 5_000;

/// A nested list without pagination, bounded by what it can hold (a practice's cities, its
/// partners, indicators, schemes …): what it is assumed to hold when scored.
pub const LIST_COST: usize = 5;

/// Countries of ISO 3166-1: a closed list, answered whole.
pub const COUNTRIES: usize = 250;
/// Currencies of the rate table: a closed list, answered whole.
pub const CURRENCIES: usize = 200;

/// One full-text search, and the count of its matches `totalCount` may ask for.
pub const SEARCH: usize = 500;

/// A funding-gap table answered from the rollups, per grouping dimension.
pub const GAPS: usize = 1_000;
/// The same with a year filter: the grouping's rollup by year holds a row per cell and period,
/// and its donors and schemes are counted distinct over the periods that meet the range.
pub const GAPS_BY_YEAR: usize = 10_000;

/// Ranking practices, cities, schemes and donors against one need reads every published
/// practice's tags.
pub const MATCHES: usize = 5_000;

/// The overlaps of support schemes compare every scheme's targets with every other's.
pub const OVERLAPS: usize = 5_000;

/// Results by theme read the THEME rollup (built by the first question that needs it).
pub const RESULTS: usize = 2_000;

/// An IATI import reads a whole file and writes every activity in one transaction: an
/// expensive request, of which only a few run at once.
pub const IMPORT: usize = EXPENSIVE;

/// The inventory counts every table and facet.
pub const INVENTORY: usize = 1_000;

/// No field weighs more than this, so that sums of many fields stay far from overflowing.
const CEILING: usize = 1 << 40;

/// A list field: its page size (the default when not given, within the page cap) times what each
/// node costs.
pub fn page(first: Option<i32>, child: usize) -> usize {
    let n = first
        .unwrap_or(DEFAULT_PAGE_SIZE as i32)
        .clamp(0, MAX_PAGE_SIZE as i32) as usize;
    n.saturating_mul(child.max(1))
        .saturating_add(1)
        .min(CEILING)
}

/// `nodes(ids:)`: each id read costs what its node costs.
pub fn nodes(ids: usize, child: usize) -> usize {
    ids.saturating_mul(child.max(1))
        .saturating_add(1)
        .min(CEILING)
}

/// A bounded list: [`LIST_COST`] times what each item costs.
pub fn list(child: usize) -> usize {
    LIST_COST.saturating_mul(child).min(CEILING)
}

/// A root list: its page, and the full-text search when its filter has one.
pub fn root_list(first: Option<i32>, text: bool, child: usize) -> usize {
    page(first, child).saturating_add(if text { 2 * SEARCH } else { 0 })
}

/// A funding-gap table grouped by `dimensions` (the total is grouped by none), with or without a
/// year filter, and its cells.
pub fn gaps(dimensions: usize, by_year: bool, child: usize) -> usize {
    let weight = if by_year { GAPS_BY_YEAR } else { GAPS };
    weight
        .saturating_mul(dimensions.max(1))
        .saturating_add(list(child))
        .min(CEILING)
}

/// A weighed field and what it answers.
pub fn weighed(weight: usize, child: usize) -> usize {
    weight.saturating_add(child).min(CEILING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_weigh_their_size_and_never_overflow() {
        assert_eq!(page(None, 10), 1 + DEFAULT_PAGE_SIZE as usize * 10);
        assert_eq!(page(Some(1_000_000), 1), 1 + MAX_PAGE_SIZE as usize);
        assert_eq!(page(Some(-5), 7), 1);
        let mut cost = 1;
        for _ in 0..20 {
            cost = page(Some(100), cost);
        }
        assert_eq!(cost, CEILING);
    }

    #[test]
    fn a_year_filter_makes_a_gap_table_far_costlier() {
        assert!(gaps(3, true, 10) >= 10 * gaps(3, false, 10) / 2);
        assert!(20 * gaps(3, true, 10) > MAX_REQUEST_COST);
        assert!(gaps(3, true, 50) < MAX_REQUEST_COST);
    }
}
