//! The funding-gap table in one SQL statement (standard SQL with CTEs, the same on SQLite and
//! PostgreSQL).

use async_trait::async_trait;
use domain::Result;
use domain::analytics::*;
use domain::entities::Id;
use domain::framework::FundingStatus;
use sea_orm::{ConnectionTrait, Statement};

use super::{integer, money, split};
use crate::cells::{practice_joins, practice_source};
use crate::rollup::{self, Combo};
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

/// Published practices `p` active in the period: started by its end and not ended before its
/// start.
fn active_where(filter: &GapFilter) -> String {
    let mut active = vec!["p.status = 'PUBLISHED'".to_string()];
    if let Some(to) = filter.to_year {
        active.push(format!("(p.start_year IS NULL OR p.start_year <= {to})"));
    }
    if let Some(from) = filter.from_year {
        active.push(format!("(p.end_year IS NULL OR p.end_year >= {from})"));
    }
    active.join(" AND ")
}

/// Conditions (each after an AND) keeping the funding records `f` of the period.
fn funding_where(filter: &GapFilter) -> String {
    let mut period = String::new();
    if let Some(from) = filter.from_year {
        period.push_str(&format!(" AND f.year >= {from}"));
    }
    if let Some(to) = filter.to_year {
        period.push_str(&format!(" AND f.year <= {to}"));
    }
    period
}

/// The key columns (`, d0.v AS k1 …`) and joins placing practice `p` in its cells, for the
/// practices whose id satisfies `restrict` when given.
fn practice_keys(dims: &[Option<GapDimension>], restrict: Option<&str>) -> (String, String) {
    let keys = (0..dims.len())
        .map(|i| format!(", d{i}.v AS k{}", i + 1))
        .collect();
    (keys, practice_joins(dims, restrict))
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
/// and filter, but `except_donor`'s, per cell and funded-or-pledged: exact sums (in two parts, see
/// `super::split`) and sums of the records rounded. Confidential records are few, so the
/// statement starts from them (through their partial index) and places only the practices they
/// fund in cells; CROSS JOIN keeps SQLite's planner to that order (PostgreSQL reorders freely),
/// and the status test is a CASE so that it does not lure SQLite onto the index of statuses.
pub(crate) fn confidential_parts_sql(
    by: &[GapDimension],
    filter: &GapFilter,
    except_donor: Option<Id>,
) -> String {
    let dims = dims_of(by);
    let keys = key_list(&dims);
    let restrict =
        "IN (SELECT practice_id FROM funding WHERE confidential AND practice_id IS NOT NULL)";
    // Sources of a row per practice are joined by its id as they are; those that list distinct
    // pairs are built first, so they are kept to the practices with confidential funding.
    let sources: String = dims
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let distinct = matches!(d, Some(GapDimension::Bloc | GapDimension::Country));
            let source = practice_source(*d, distinct.then_some(restrict));
            format!(" CROSS JOIN ({source}) d{i}")
        })
        .collect();
    let placed: String = (0..dims.len())
        .map(|i| format!(" AND d{i}.oid = p.id"))
        .collect();
    let (practice_keys, _) = practice_keys(&dims, None);
    let (hi, lo) = split("f.amount_usd_cents");
    let (r_hi, r_lo) = split("rounded");
    format!(
        "WITH parts AS (SELECT * FROM ( \
             SELECT 1 AS one{practice_keys}, \
                    CASE WHEN f.status IN ({funded}) THEN 1 ELSE 0 END AS funded, \
                    {hi} AS hi, {lo} AS lo, {rounded} AS rounded \
             FROM funding f CROSS JOIN practice p{sources} \
             WHERE f.confidential AND f.practice_id IS NOT NULL AND f.amount_usd_cents IS NOT NULL \
               AND CASE WHEN f.status IN ({funded}, 'PLEDGED') THEN 1 ELSE 0 END = 1{period}{others} \
               AND p.id = f.practice_id{placed} AND {active}) x {agenda}) \
         SELECT {keys}, funded, SUM(hi), SUM(lo), SUM({r_hi}), SUM({r_lo}) FROM parts \
         GROUP BY {keys}, funded",
        others = except_donor
            .map(|d| format!(" AND (f.donor_id IS NULL OR f.donor_id <> {d})"))
            .unwrap_or_default(),
        active = active_where(filter),
        agenda = agenda_where(filter, &dims),
        funded = status_list(&filter.statuses),
        rounded = rounded_units_sql("f.amount_usd_cents"),
        period = funding_where(filter),
    )
}

/// The same parts as [`confidential_parts_sql`] read from the grouping's rollup, which keeps them
/// per cell, donor and status (it holds no year filter): a few hundred rows a cell at most.
pub(crate) fn confidential_parts_from_rollup_sql(
    by: &[GapDimension],
    filter: &GapFilter,
    except_donor: Option<Id>,
    combo: &Combo,
) -> String {
    let dims = dims_of(by);
    let keys = key_list(&dims);
    // The rollup stores keys in the grouping's canonical order; name them as asked.
    let mapped: String = dims
        .iter()
        .enumerate()
        .map(|(i, d)| format!(", {} AS k{}", combo.column_of(*d), i + 1))
        .collect();
    let funded = status_list(&filter.statuses);
    format!(
        "SELECT {keys}, funded, SUM(exact_hi), SUM(exact), SUM(rounded_hi), SUM(rounded) FROM ( \
           SELECT * FROM (SELECT 1 AS one{mapped}, \
                  CASE WHEN status IN ({funded}) THEN 1 ELSE 0 END AS funded, \
                  exact_hi, exact, rounded_hi, rounded \
             FROM gap_rollup_confidential \
             WHERE combo = '{name}' AND records > 0 AND status IN ({funded}, 'PLEDGED'){others}) c0 {agenda}) c \
         GROUP BY {keys}, funded",
        // No donor is stored as 0, which no donor's id is.
        others = except_donor
            .map(|d| format!(" AND donor_id <> {d}"))
            .unwrap_or_default(),
        name = combo.name(),
        agenda = agenda_where(filter, &dims),
    )
}

/// The funding-gap statement. With `rollup`, the practice side (cells, their amounts, donors and
/// schemes) is read from that grouping's maintained rollup, which holds no year filter; without
/// it, from the base rows.
pub(crate) fn funding_gap_sql(
    by: &[GapDimension],
    filter: &GapFilter,
    rollup: Option<&Combo>,
) -> String {
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
    let active = active_where(filter);
    let funding_where = funding_where(filter);
    let funded = status_list(&filter.statuses);
    let (practice_keys, practice_joins) = practice_keys(&dims, None);
    let need_joins: String = dims
        .iter()
        .enumerate()
        .map(|(i, d)| format!(" JOIN ({}) e{i} ON e{i}.oid = n.id", need_source(*d)))
        .collect();
    let need_keys: String = (0..dims.len())
        .map(|i| format!(", e{i}.v AS k{}", i + 1))
        .collect();

    let pk_keys = keys
        .iter()
        .map(|k| format!("pk.{k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let practice_side = match rollup {
        None => format!(
            "pk AS (SELECT * FROM (SELECT p.id AS id{practice_keys} FROM practice p{practice_joins} WHERE {active}) pk0 {agenda_where}), \
             pf AS (SELECT f.practice_id AS id, \
                           SUM(CASE WHEN f.status IN ({funded}) THEN {f_hi} ELSE 0 END) AS funded_hi, \
                           SUM(CASE WHEN f.status IN ({funded}) THEN {f_lo} ELSE 0 END) AS funded_lo, \
                           SUM(CASE WHEN f.status = 'PLEDGED' THEN {f_hi} ELSE 0 END) AS pledged_hi, \
                           SUM(CASE WHEN f.status = 'PLEDGED' THEN {f_lo} ELSE 0 END) AS pledged_lo \
                    FROM funding f WHERE f.practice_id IS NOT NULL AND f.amount_usd_cents IS NOT NULL{funding_where} GROUP BY f.practice_id), \
             pcell AS (SELECT {pk_keys}, COUNT(*) AS practices, SUM({r_hi}) AS req_hi, SUM({r_lo}) AS req_lo, \
                              SUM(COALESCE(pf.funded_hi, 0)) AS funded_hi, SUM(COALESCE(pf.funded_lo, 0)) AS funded_lo, \
                              SUM(COALESCE(pf.pledged_hi, 0)) AS pledged_hi, SUM(COALESCE(pf.pledged_lo, 0)) AS pledged_lo \
                       FROM pk JOIN practice p ON p.id = pk.id LEFT JOIN pf ON pf.id = pk.id GROUP BY {pk_keys}), \
             dcell AS (SELECT {pk_keys}, COUNT(DISTINCT f.donor_id) AS donors FROM pk JOIN funding f ON f.practice_id = pk.id \
                       WHERE f.donor_id IS NOT NULL{funding_where} GROUP BY {pk_keys}), \
             scell AS (SELECT {pk_keys}, COUNT(DISTINCT ps.scheme_id) AS schemes FROM pk JOIN practice_scheme ps ON ps.practice_id = pk.id \
                       GROUP BY {pk_keys}), ",
            f_hi = split("f.amount_usd_cents").0,
            f_lo = split("f.amount_usd_cents").1,
            r_hi = split("COALESCE(p.amount_required_usd_cents, 0)").0,
            r_lo = split("COALESCE(p.amount_required_usd_cents, 0)").1,
        ),
        Some(combo) => {
            let name = combo.name();
            // The rollup stores keys in the grouping's canonical order; name them as asked.
            let mapped = dims
                .iter()
                .zip(&keys)
                .map(|(d, k)| format!("{} AS {k}", combo.column_of(*d)))
                .collect::<Vec<_>>()
                .join(", ");
            // The rollup keeps each sum in two parts: `x_hi` whole units of SPLIT cents and
            // the rest in `x` (see `super::split`).
            let funded_sum = |part: &str| {
                filter
                    .statuses
                    .iter()
                    .map(|s| match s {
                        FundingStatus::Committed => format!("committed{part}"),
                        FundingStatus::Disbursed => format!("disbursed{part}"),
                        FundingStatus::Pledged => "0".into(),
                    })
                    .collect::<Vec<_>>()
                    .join(" + ")
            };
            let member = |kind: &str, alias: &str| {
                format!(
                    "SELECT {key_list}, COUNT(*) AS {alias} FROM (SELECT {mapped} FROM gap_rollup_member \
                     WHERE combo = '{name}' AND kind = '{kind}' AND n > 0) m0 {agenda_where} GROUP BY {key_list}"
                )
            };
            format!(
                "pcell AS (SELECT * FROM (SELECT {mapped}, practices, required_hi AS req_hi, required AS req_lo, \
                                  {funded_hi} AS funded_hi, {funded_lo} AS funded_lo, pledged_hi, pledged AS pledged_lo \
                           FROM gap_rollup WHERE combo = '{name}' AND practices > 0) r0 {agenda_where}), \
                 dcell AS ({donors}), scell AS ({schemes}), ",
                funded_hi = funded_sum("_hi"),
                funded_lo = funded_sum(""),
                donors = member("D", "donors"),
                schemes = member("S", "schemes"),
            )
        }
    };

    format!(
        "WITH {practice_side}\
         nk AS (SELECT * FROM (SELECT n.id AS id, n.amount_required_usd_cents AS req{need_keys} FROM need n{need_joins} \
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

#[async_trait]
impl AnalyticsRepository for SeaStore {
    async fn funding_gaps(
        &self,
        by: &[GapDimension],
        filter: &GapFilter,
    ) -> Result<Vec<FundingGapCell>> {
        // Rollups hold whole-life totals; a year range needs the rows themselves.
        let combo = Combo::of(by);
        let sql = if filter.from_year.is_none() && filter.to_year.is_none() {
            rollup::ensure_built(self.connection(), &combo).await?;
            funding_gap_sql(by, filter, Some(&combo))
        } else {
            funding_gap_sql(by, filter, None)
        };
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
        // As for the cells: the rollup unless a year range asks for the rows themselves.
        let sql = if filter.from_year.is_none() && filter.to_year.is_none() {
            let combo = Combo::of(by);
            rollup::ensure_built(self.connection(), &combo).await?;
            confidential_parts_from_rollup_sql(by, filter, except_donor, &combo)
        } else {
            confidential_parts_sql(by, filter, except_donor)
        };
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
