//! The funding-gap table in one SQL statement (standard SQL with CTEs, the same on SQLite and
//! PostgreSQL).

use async_trait::async_trait;
use domain::Result;
use domain::analytics::*;
use domain::entities::Id;
use domain::framework::FundingStatus;
use sea_orm::{ConnectionTrait, Statement};

use super::{integer, money, split};
use crate::rollup::{self, Combo, EVERY_DONOR};
use crate::store::{SeaStore, db_err};

/// The same for needs. A need has no orientation of its own, so it has no ORIENTATION cell.
fn need_source(d: Option<GapDimension>) -> &'static str {
    match d {
        None => "SELECT id AS oid, 'ALL' AS v FROM need",
        Some(GapDimension::Theme) => {
            "SELECT need_id AS oid, value AS v FROM need_tag WHERE dimension = 'THEME'"
        }
        Some(GapDimension::ManagementFocus) => {
            "SELECT need_id AS oid, value AS v FROM need_tag WHERE dimension = 'MANAGEMENT_FOCUS'"
        }
        Some(GapDimension::Orientation) => "SELECT id AS oid, modality AS v FROM need WHERE 1 = 0",
        Some(GapDimension::Modality) => {
            "SELECT id AS oid, modality AS v FROM need WHERE modality IS NOT NULL"
        }
        Some(GapDimension::Bloc) => {
            "SELECT n.id AS oid, co.bloc AS v FROM need n JOIN city ci ON ci.id = n.city_id JOIN country co ON co.code = ci.country_code"
        }
        Some(GapDimension::Country) => {
            "SELECT n.id AS oid, ci.country_code AS v FROM need n JOIN city ci ON ci.id = n.city_id"
        }
    }
}

/// The agenda dimension that restricts a key, if the donor's agenda speaks of it.
fn agenda_dimension(d: GapDimension) -> Option<&'static str> {
    match d {
        GapDimension::Theme => Some("THEME"),
        GapDimension::Orientation => Some("ORIENTATION"),
        GapDimension::Country => Some("COUNTRY"),
        _ => None,
    }
}

fn status_list(statuses: &[FundingStatus]) -> String {
    statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The grouping's dimensions as the statements see them: none is one cell, 'ALL'.
fn dims_of(by: &[GapDimension]) -> Vec<Option<GapDimension>> {
    if by.is_empty() {
        vec![None]
    } else {
        by.iter().copied().map(Some).collect()
    }
}

/// The cell keys of a grouping's rows, `k1, k2…`.
fn key_list(dims: &[Option<GapDimension>]) -> String {
    (1..=dims.len())
        .map(|i| format!("k{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The condition (a `WHERE` of its own, or nothing) keeping the keys `k1…` of the cells in
/// the filter's donor's agenda.
fn agenda_where(filter: &GapFilter, dims: &[Option<GapDimension>]) -> String {
    let mut agenda = Vec::new();
    if let Some(donor) = filter.agenda_of_donor {
        for (i, d) in dims.iter().enumerate() {
            if let Some(dim) = d.and_then(agenda_dimension) {
                let k = format!("k{}", i + 1);
                agenda.push(format!(
                    "(NOT EXISTS (SELECT 1 FROM donor_agenda WHERE donor_id = {donor} AND dimension = '{dim}') \
                     OR {k} IN (SELECT value FROM donor_agenda WHERE donor_id = {donor} AND dimension = '{dim}'))"
                ));
            }
        }
    }
    if agenda.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", agenda.join(" AND "))
    }
}

/// The range `[from, to]` of a question over years, an open bound standing for every year on
/// its side; None for a whole-life question.
fn period(filter: &GapFilter) -> Option<(i32, i32)> {
    (filter.from_year.is_some() || filter.to_year.is_some()).then(|| {
        (
            filter.from_year.unwrap_or(rollup::OPEN_START),
            filter.to_year.unwrap_or(rollup::OPEN_END),
        )
    })
}

/// The rows of a grouping by year that add up to what meets `[from, to]`, as `(sign,
/// condition)` pairs: those from `from` on by their end (`ends`), less those after `to` by
/// their start (`starts`).
fn in_range(
    ends: rollup::YearSide,
    starts: rollup::YearSide,
    from: i32,
    to: i32,
) -> impl Iterator<Item = (i64, String)> {
    let after = rollup::from_year_on(starts, to.saturating_add(1))
        .into_iter()
        .map(|r| (-r.sign, r.condition()));
    rollup::from_year_on(ends, from)
        .into_iter()
        .map(|r| (r.sign, r.condition()))
        .chain(after)
}

/// The rows by period (confidential funding, spans) of a grouping by year that count in the
/// question: `AND …` conditions on a row's period.
fn in_period(filter: &GapFilter) -> String {
    match period(filter) {
        Some((from, to)) => format!(" AND lo <= {to} AND hi >= {from}"),
        None => String::new(),
    }
}

/// The grouping a question is about: the whole-life one, or the one by year for a range.
fn read_combo(combo: &Combo, filter: &GapFilter) -> Combo {
    match period(filter) {
        Some(_) => combo.by_year(),
        None => combo.clone(),
    }
}

/// Whether `grouping`, the one a question about `by` reads (see `rollup::readable`), is a
/// finer one: its cells are then summed into those of `by` by the statements themselves.
fn is_finer(grouping: &Combo, by: &[GapDimension]) -> bool {
    grouping.dims().len() > Combo::of(by).dims().len()
}

/// A confidential amount of `cents` as aggregates count it for callers who may not see it:
/// `analytics::rounded_units` in SQL, one branch per magnitude whose rounding unit differs.
pub(crate) fn rounded_units_sql(cents: &str) -> String {
    let mut branches = String::new();
    let mut below: i64 = 10;
    let mut unit = rounding_unit(1);
    for digits in 2..=19u32 {
        let next = rounding_unit(10i64.pow(digits - 1));
        if next != unit {
            branches.push_str(&format!(
                " WHEN {cents} < {below} THEN {}",
                rounded(cents, unit)
            ));
            unit = next;
        }
        below = below.saturating_mul(10);
    }
    format!("CASE{branches} ELSE {} END", rounded(cents, unit))
}

/// `cents` rounded half up to `unit`, in units of the finest rounding unit.
fn rounded(cents: &str, unit: i64) -> String {
    let scale = unit / ROUNDING_UNIT;
    format!(
        "(({cents}) / {unit} + CASE WHEN ({cents}) % {unit} >= {half} THEN 1 ELSE 0 END) * {scale}",
        half = unit - unit / 2
    )
}

/// The confidential funding counted in the cells of the gap statement for the same grouping
/// and filter, but `except_donor`'s, per cell and funded-or-pledged: exact sums (in two parts,
/// see `super::split`) and sums of the records rounded. Read from the grouping's rollup (by year
/// for a range), which keeps them per cell, donor and status, and summed over every donor
/// ([`EVERY_DONOR`]): those sums are read, less the asking donor's own rows.
pub(crate) fn confidential_parts_from_rollup_sql(
    by: &[GapDimension],
    filter: &GapFilter,
    except_donor: Option<Id>,
    grouping: &Combo,
) -> String {
    let dims = dims_of(by);
    let keys = key_list(&dims);
    // The rollup stores keys in the grouping's canonical order; name them as asked. A finer
    // grouping's cells are summed into the question's by the grouping below.
    let mapped: String = dims
        .iter()
        .enumerate()
        .map(|(i, d)| format!(", {} AS k{}", grouping.column_of(*d), i + 1))
        .collect();
    let funded = status_list(&filter.statuses);
    let (donors, sign) = match except_donor {
        // No donor is stored as 0, which no donor's id is.
        Some(d) => (
            format!("IN ({EVERY_DONOR}, {d})"),
            format!("CASE WHEN donor_id = {EVERY_DONOR} THEN 1 ELSE -1 END"),
        ),
        None => (format!("= {EVERY_DONOR}"), "1".to_owned()),
    };
    format!(
        "SELECT {keys}, funded, SUM(sgn * exact_hi), SUM(sgn * exact), SUM(sgn * rounded_hi), SUM(sgn * rounded) FROM ( \
           SELECT * FROM (SELECT 1 AS one{mapped}, \
                  CASE WHEN status IN ({funded}) THEN 1 ELSE 0 END AS funded, {sign} AS sgn, \
                  records, exact_hi, exact, rounded_hi, rounded \
             FROM {table} \
             WHERE combo = '{name}' AND donor_id {donors}{period} AND records > 0 AND status IN ({funded}, 'PLEDGED')) c0 {agenda}) c \
         GROUP BY {keys}, funded HAVING SUM(sgn * records) > 0",
        name = grouping.name(),
        table = grouping.tables().confidential,
        period = in_period(filter),
        agenda = agenda_where(filter, &dims),
    )
}

/// The funding-gap statement. The practice side (cells, their amounts, donors and schemes) is
/// read from the grouping's maintained rollups: the whole-life one, or for a range of years the
/// one by year, whose sums and counts are kept by the years periods and spans end and start.
/// Open needs have no period and are few; they are counted from their rows. `grouping` is the
/// rollup read (see `rollup::readable`): the question's own, or a finer one by year.
pub(crate) fn funding_gap_sql(by: &[GapDimension], filter: &GapFilter, grouping: &Combo) -> String {
    let dims = dims_of(by);
    let keys: Vec<String> = (1..=dims.len()).map(|i| format!("k{i}")).collect();
    let key_list = keys.join(", ");
    let on = |a: &str, b: &str| {
        keys.iter()
            .map(|k| format!("{a}.{k} = {b}.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    };

    let agenda_where = agenda_where(filter, &dims);
    // The whole base (no dimension) is one cell: no join to place a need in it.
    let need_joins: String = dims
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_some())
        .map(|(i, d)| format!(" JOIN ({}) e{i} ON e{i}.oid = n.id", need_source(*d)))
        .collect();
    let need_keys: String = dims
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Some(_) => format!(", e{i}.v AS k{}", i + 1),
            None => format!(", 'ALL' AS k{}", i + 1),
        })
        .collect();

    let summed = grouping.name();
    let finer = is_finer(grouping, by);
    // The rollup stores keys in the grouping's canonical order; name them as asked.
    let mapped = dims
        .iter()
        .zip(&keys)
        .map(|(d, k)| format!("{} AS {k}", grouping.column_of(*d)))
        .collect::<Vec<_>>()
        .join(", ");
    // The rollup keeps each sum in two parts: `x_hi` whole units of SPLIT cents and the rest in
    // `x` (see `super::split`).
    let funded_sum = |part: &str| {
        filter
            .statuses
            .iter()
            .map(|s| match s {
                FundingStatus::Committed => format!("SUM(committed{part})"),
                FundingStatus::Disbursed => format!("SUM(disbursed{part})"),
                FundingStatus::Pledged => "0".into(),
            })
            .collect::<Vec<_>>()
            .join(" + ")
    };
    // A whole-life cell is one row. Over a range of years a cell's sums are those of its
    // periods ending in or after `from` less those starting after `to`, plus the periods that
    // end before they start and meet the range at both ends: read from the rows kept by decade
    // and by year past each end of the range (see `rollup::from_year_on` and the migrations
    // `rollup_year_edges` and `rollup_year_decades`).
    let table = grouping.tables().totals;
    let source = match period(filter) {
        None => format!("{table} WHERE combo = '{summed}'"),
        Some((from, to)) => {
            let signed = |sign: i64, side: &str| {
                format!(
                    "SELECT k1, k2, k3, {sign} * practices AS practices, {sign} * required AS required, \
                            {sign} * pledged AS pledged, {sign} * committed AS committed, {sign} * disbursed AS disbursed, \
                            {sign} * required_hi AS required_hi, {sign} * pledged_hi AS pledged_hi, \
                            {sign} * committed_hi AS committed_hi, {sign} * disbursed_hi AS disbursed_hi, \
                            0 AS donors, 0 AS schemes \
                     FROM {table} WHERE combo = '{summed}' AND {side}"
                )
            };
            let branches = in_range(rollup::ENDS, rollup::STARTS, from, to)
                .chain([(1, format!("side = 'X' AND a <= {to} AND b >= {from}"))])
                .map(|(sign, rows)| signed(sign, &rows))
                .collect::<Vec<_>>();
            format!("({}) e", branches.join(" UNION ALL "))
        }
    };
    let sums = format!(
        "SELECT k1, k2, k3, SUM(practices) AS practices, SUM(required_hi) AS req_hi, SUM(required) AS req_lo, \
                {funded_hi} AS funded_hi, {funded_lo} AS funded_lo, SUM(pledged_hi) AS pledged_hi, SUM(pledged) AS pledged_lo, \
                SUM(donors) AS donors, SUM(schemes) AS schemes \
         FROM {source} GROUP BY k1, k2, k3",
        funded_hi = funded_sum("_hi"),
        funded_lo = funded_sum(""),
    );
    // A whole-life cell keeps its counts of donors and schemes. Over a range, a regular member
    // of a cell (its spans there disjoint and ordered, see `rollup::respan`) counts unless all
    // its spans end before `from`, all start after `to`, or the range falls in a gap between
    // two of them: the members whose last span ends in or after `from`, less those whose first
    // span starts after `to`, less the gaps holding the range, each counted at its ends (see
    // `rollup::SPAN_EDGES`), read by decade and year past the range's ends (see
    // `rollup::from_year_on`) where telling the members apart hashed every span. The few
    // members whose spans have no order are counted distinct.
    let (members, counted) = match period(filter) {
        // A finer grouping's members are counted distinct over the cells summed into each:
        // reading every span of the finer grouping that meets the range. A few times the reading
        // of counts at the spans' ends, for the questions asked while the grouping is built.
        Some(_) if finer => (
            format!(
                "mcell AS (SELECT {key_list}, COUNT(DISTINCT CASE WHEN kind = 'D' THEN member_id END) AS donors, \
                                  COUNT(DISTINCT CASE WHEN kind = 'S' THEN member_id END) AS schemes \
                 FROM (SELECT {mapped}, kind, member_id FROM {spans} \
                        WHERE combo = '{summed}'{period}) m0 {agenda_where} GROUP BY {key_list}), ",
                spans = rollup::SPANS,
                period = in_period(filter),
            ),
            "mcell",
        ),
        Some((from, to)) => (
            format!(
                "mcell AS (SELECT {key_list}, SUM(donors) AS donors, SUM(schemes) AS schemes \
                 FROM (SELECT {mapped}, donors, schemes FROM ( \
                         SELECT k1, k2, k3, SUM(CASE WHEN kind = 'D' THEN n ELSE 0 END) AS donors, \
                                SUM(CASE WHEN kind = 'S' THEN n ELSE 0 END) AS schemes \
                         FROM ({counts} \
                               UNION ALL SELECT k1, k2, k3, kind, -n FROM {edges} \
                                 WHERE combo = '{summed}' AND side = 'G' AND a > {to} AND b < {from}) m \
                         GROUP BY k1, k2, k3 \
                         UNION ALL \
                         SELECT k1, k2, k3, COUNT(DISTINCT CASE WHEN kind = 'D' THEN member_id END), \
                                COUNT(DISTINCT CASE WHEN kind = 'S' THEN member_id END) \
                         FROM {spans} WHERE combo = '{summed}' AND prev_hi IS NULL{period} \
                         GROUP BY k1, k2, k3) u) m0 {agenda_where} GROUP BY {key_list}), ",
                edges = rollup::SPAN_EDGES,
                counts = in_range(rollup::LAST_SPANS, rollup::FIRST_SPANS, from, to)
                    .map(|(sign, rows)| format!(
                        "SELECT k1, k2, k3, kind, {sign} * n AS n FROM {} WHERE combo = '{summed}' AND {rows}",
                        rollup::SPAN_EDGES
                    ))
                    .collect::<Vec<_>>()
                    .join(" UNION ALL "),
                spans = rollup::SPANS,
                period = in_period(filter),
            ),
            "mcell",
        ),
        None => (String::new(), "pcell"),
    };
    // SQLite otherwise writes every open need of the question into a table of its own before
    // grouping them (16,016 for the total on 200,000 practices: the statement took 19–25 ms
    // instead of 9–13); PostgreSQL inlines a CTE read once anyway.
    let columns = "practices, req_hi, req_lo, funded_hi, funded_lo, pledged_hi, pledged_lo";
    let cells = if finer {
        // The finer cells summed into the question's; its cells are those with practices, as
        // in a grouping built for it.
        let summed_columns = columns
            .split(", ")
            .map(|c| format!("SUM({c}) AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT * FROM (SELECT {key_list}, {summed_columns}, 0 AS donors, 0 AS schemes \
               FROM (SELECT {mapped}, {columns} FROM ({sums}) r) r1 GROUP BY {key_list}) r2 \
             WHERE practices > 0"
        )
    } else {
        format!("SELECT {mapped}, {columns}, donors, schemes FROM ({sums}) r WHERE practices > 0")
    };
    format!(
        "WITH pcell AS (SELECT * FROM ({cells}) r0 {agenda_where}), \
         {members}dcell AS (SELECT {key_list}, donors FROM {counted}), \
         scell AS (SELECT {key_list}, schemes FROM {counted}), \
         nk AS NOT MATERIALIZED (SELECT * FROM (SELECT n.id AS id, n.amount_required_usd_cents AS req{need_keys} FROM need n{need_joins} \
                WHERE n.publication = 'PUBLISHED' AND n.status = 'OPEN') nk0 {agenda_where}), \
         ncell AS (SELECT {key_list}, COUNT(*) AS needs, SUM({n_hi}) AS req_hi, SUM({n_lo}) AS req_lo FROM nk GROUP BY {key_list}), \
         cells AS (SELECT {key_list} FROM pcell UNION SELECT {key_list} FROM ncell) \
         SELECT {c_keys}, COALESCE(ncell.needs, 0) AS open_needs, COALESCE(pcell.practices, 0) AS practices, \
                COALESCE(pcell.req_hi, 0) + COALESCE(ncell.req_hi, 0) AS required_hi, \
                COALESCE(pcell.req_lo, 0) + COALESCE(ncell.req_lo, 0) AS required_lo, \
                COALESCE(pcell.funded_hi, 0) AS funded_hi, COALESCE(pcell.funded_lo, 0) AS funded_lo, \
                COALESCE(pcell.pledged_hi, 0) AS pledged_hi, COALESCE(pcell.pledged_lo, 0) AS pledged_lo, \
                COALESCE(scell.schemes, 0) AS schemes, COALESCE(dcell.donors, 0) AS donors \
         FROM cells LEFT JOIN pcell ON {on_p} LEFT JOIN ncell ON {on_n} LEFT JOIN dcell ON {on_d} LEFT JOIN scell ON {on_s} \
         ORDER BY {c_keys}",
        n_hi = split("COALESCE(req, 0)").0,
        n_lo = split("COALESCE(req, 0)").1,
        c_keys = keys
            .iter()
            .map(|k| format!("cells.{k}"))
            .collect::<Vec<_>>()
            .join(", "),
        on_p = on("pcell", "cells"),
        on_n = on("ncell", "cells"),
        on_d = on("dcell", "cells"),
        on_s = on("scell", "cells"),
    )
}

/// The rollup a question reads, built first unless it is: the grouping's whole-life one, or for
/// a range of years the one by year, or a finer one by year while that is built (see
/// `rollup::readable`).
async fn ensure_rollup(store: &SeaStore, combo: &Combo, filter: &GapFilter) -> Result<Combo> {
    let read = rollup::readable(
        store.connection(),
        store.background_builds(),
        store.room(),
        &read_combo(combo, filter),
        store.build_wait(),
    )
    .await;
    store.count_given_up(read)
}

#[async_trait]
impl AnalyticsRepository for SeaStore {
    async fn funding_gaps(
        &self,
        by: &[GapDimension],
        filter: &GapFilter,
    ) -> Result<Vec<FundingGapCell>> {
        let combo = Combo::of(by);
        let grouping = ensure_rollup(self, &combo, filter).await?;
        let sql = funding_gap_sql(by, filter, &grouping);
        let backend = self.connection().get_database_backend();
        let rows = self
            .connection()
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .map_err(db_err)?;
        let n = by.len().max(1);
        let mut cells = rows
            .iter()
            .map(|r| {
                let mut key = Vec::new();
                for (i, d) in by.iter().enumerate() {
                    key.push(GapKey {
                        dimension: *d,
                        value: r.try_get_by_index::<String>(i).map_err(db_err)?,
                    });
                }
                let int = |i: usize| integer(r, i);
                Ok(FundingGapCell {
                    key,
                    open_needs: int(n)?,
                    active_practices: int(n + 1)?,
                    required_cents: money(r, n + 2)?,
                    funded_cents: money(r, n + 4)?,
                    pledged_cents: money(r, n + 6)?,
                    scheme_count: int(n + 8)?,
                    donor_count: int(n + 9)?,
                    disclosure: Disclosure::Exact,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Largest gap first (over-funded cells' gap counts as zero; the less over-funded
        // first among them), then by key as the statement ordered them.
        cells.sort_by_key(|c| {
            (
                std::cmp::Reverse(c.gap_cents()),
                std::cmp::Reverse(c.required_cents - c.funded_cents),
            )
        });
        Ok(cells)
    }

    async fn confidential_parts(
        &self,
        by: &[GapDimension],
        filter: &GapFilter,
        except_donor: Option<Id>,
    ) -> Result<Vec<ConfidentialPart>> {
        let combo = Combo::of(by);
        let grouping = ensure_rollup(self, &combo, filter).await?;
        let sql = confidential_parts_from_rollup_sql(by, filter, except_donor, &grouping);
        let backend = self.connection().get_database_backend();
        let rows = self
            .connection()
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .map_err(db_err)?;
        let n = by.len().max(1);
        rows.iter()
            .map(|r| {
                let key = (0..by.len())
                    .map(|i| r.try_get_by_index::<String>(i).map_err(db_err))
                    .collect::<Result<Vec<_>>>()?;
                Ok(ConfidentialPart {
                    key,
                    donor_id: None,
                    funded: integer(r, n)? == 1,
                    exact_cents: money(r, n + 1)?,
                    rounded_cents: money(r, n + 3)? * i128::from(ROUNDING_UNIT),
                })
            })
            .collect()
    }
}
