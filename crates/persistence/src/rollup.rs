//! Funding-gap rollups kept in step with the information base.
//!
//! Joining every published practice with every funding record takes seconds on a large base, far
//! more than a donor's question should. So each grouping asked for (a set of dimensions, in
//! canonical order) is materialized once: per cell, the practices, their required and funded
//! amounts by status, the donors and schemes active there with a reference count, the
//! confidential funding per donor and status (exact and rounded, for disclosure control), and
//! the practices' indicators (the THEME grouping answers `resultsByTheme`). Every
//! write that changes what a practice contributes (the practice itself, its tags and cities, its
//! funding, its scheme links, a city's country) takes the practice's contribution out before the
//! change and puts it back after, in the same transaction, so a rollup never disagrees with the
//! rows it summarizes. Contributions are sums, so concurrent writers compose.
//!
//! Locks on PostgreSQL, always taken in this order: `gap_combo` in SHARE mode (the groupings a
//! writer maintains cannot change under it), then one transaction-scoped advisory lock that
//! every writer maintaining rollups takes ([`MAINTENANCE_LOCK`]), then the touched practices in
//! id order, then the cells. A writer takes out a practice's cells before its change and puts
//! back the cells after, which may be other cells (a practice retagged): two writers doing that
//! at once would each hold a cell the other wants. The advisory lock makes rollup maintenance
//! one writer at a time, so no cycle can form; writers queued on the shared cells (a theme, the
//! total) were waiting for each other anyway, and each holds the lock for milliseconds. A
//! deadlock elsewhere is still broken by the database and the write retried (see
//! [`crate::db::retrying`]).
//!
//! A grouping's first question builds its rollup (see [`ensure_built`]) without holding
//! writers back for the build's duration, or sums it from a finer grouping already built when
//! the dimensions that one adds have one value a practice (orientation, modality). A grouping
//! by year that can be summed so is not waited for: its questions read the finer grouping while
//! it is summed in the background (see [`readable`]).
//!
//! Bulk loads drop the rollups instead; the next question rebuilds them.

use domain::analytics::GapDimension;
use domain::entities::Id;
use domain::{Error, Result};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

use crate::analytics::gaps::rounded_units_sql;
use crate::analytics::split;
use crate::cells::{practice_joins, practice_key};
use crate::store::db_err;

mod build;
pub(crate) use build::{BackgroundBuilds, Room, ensure_built, readable};
pub use build::{Grouping, prepare};

/// The key of the transaction-scoped advisory lock every writer that maintains rollups holds
/// on PostgreSQL ("gaprollup" in ASCII): see the module's documentation.
const MAINTENANCE_LOCK: i64 = 0x6761_7072_6f6c_6c75;

/// In `gap_combo`, the row of a grouping being built is named with this before the grouping's
/// name. From the moment it appears, writers put their changes to the grouping in cells named
/// the same way, which the build adds to the grouping's own when it is done.
const BUILDING: &str = "~";

/// A build still marked in progress after this long died with its process: another takes over.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// How often a question waits for the build another question started.
const BUILD_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// In the confidential rollups, the donor of the rows that sum every donor's (a donor's id is
/// positive, and 0 stands for no donor).
pub(crate) const EVERY_DONOR: i64 = -1;

/// A grouping by year is named with this after the grouping's name.
const BY_YEAR: &str = "/YEAR";
/// The period bounds that stand for an open start and an open end in a grouping by year:
/// outside every plausible year, so that open periods take part in every range.
pub(crate) const OPEN_START: i32 = 0;
pub(crate) const OPEN_END: i32 = 9999;

/// The three tables of a family of groupings: cell totals, members (donors and schemes) and
/// confidential funding. The groupings by year have tables of their own, so that a whole-life
/// question reads none of their rows (see the migration `rollup_year_tables`). Members and
/// confidential funding have the same columns in both families, the whole-life rows' periods
/// being `[0, 0]`; the totals by year are kept by the years periods end and start instead (see
/// the migration `rollup_year_edges`).
pub(crate) struct Tables {
    pub(crate) totals: &'static str,
    /// The key of `totals`.
    pub(crate) totals_key: &'static str,
    pub(crate) members: &'static str,
    pub(crate) confidential: &'static str,
    /// By year: each member's periods in a cell merged into the spans of years it is active
    /// there, and those spans counted by their ends (see [`respan`]).
    pub(crate) spans: Option<&'static str>,
    pub(crate) span_edges: Option<&'static str>,
}

impl Tables {
    pub(crate) fn all(&self) -> Vec<&'static str> {
        [self.totals, self.members, self.confidential]
            .into_iter()
            .chain(self.spans)
            .chain(self.span_edges)
            .collect()
    }
}

const WHOLE_LIFE_TABLES: Tables = Tables {
    totals: "gap_rollup",
    totals_key: "combo, k1, k2, k3, lo, hi",
    members: "gap_rollup_member",
    confidential: "gap_rollup_confidential",
    spans: None,
    span_edges: None,
};

const BY_YEAR_TABLES: Tables = Tables {
    totals: "gap_rollup_year_edge",
    totals_key: "combo, side, a, b, k1, k2, k3",
    members: "gap_rollup_year_member",
    confidential: "gap_rollup_year_confidential",
    spans: Some(SPANS),
    span_edges: Some(SPAN_EDGES),
};

/// The spans of the members of the groupings by year (see [`respan`]).
pub(crate) const SPANS: &str = "gap_rollup_year_span";
/// The regular members' spans counted by cell and kind at their ends: the last span of each
/// member by its end (side E), the first by its start (side S), and each gap between two spans
/// by the start of the span after it and the end of the one before (side G). See [`respan`] and
/// the migration `rollup_year_edges`.
pub(crate) const SPAN_EDGES: &str = "gap_rollup_year_span_edge";
/// A side of the rows by year that a range reads from a year on: the periods ending in or after
/// it, the periods starting after it, the members' last spans by their ends and their first
/// spans by their starts. Each is kept twice, by year (`by_year`: `a` is the year) and by decade
/// (`by_decade`: `a` is the decade's first year, the sums of its ten years), so that a range
/// reads a cell's decades past its end and at most five of its years there, instead of every
/// year past it (see [`from_year_on`] and the migration `rollup_year_decades`).
#[derive(Clone, Copy)]
pub(crate) struct YearSide {
    pub(crate) by_year: char,
    pub(crate) by_decade: char,
}

/// The sums of the periods, by the year they end (see the migration `rollup_year_edges`).
pub(crate) const ENDS: YearSide = YearSide {
    by_year: 'H',
    by_decade: 'I',
};
/// The sums of the periods, by the year they start.
pub(crate) const STARTS: YearSide = YearSide {
    by_year: 'L',
    by_decade: 'M',
};
/// The members' last spans in a cell, counted by the year they end (see [`SPAN_EDGES`]).
pub(crate) const LAST_SPANS: YearSide = YearSide {
    by_year: 'E',
    by_decade: 'F',
};
/// The members' first spans in a cell, counted by the year they start.
pub(crate) const FIRST_SPANS: YearSide = YearSide {
    by_year: 'S',
    by_decade: 'T',
};

/// Rows of one side of a grouping by year to sum, with a sign: those of side `side` whose year
/// `a` is in `[from, below)` (`below` None: no upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct YearRows {
    pub(crate) sign: i64,
    pub(crate) side: char,
    pub(crate) from: i32,
    pub(crate) below: Option<i32>,
}

impl YearRows {
    /// The rows as a condition on `side` and `a`.
    pub(crate) fn condition(&self) -> String {
        let YearRows {
            side, from, below, ..
        } = self;
        match below {
            Some(below) => format!("side = '{side}' AND a >= {from} AND a < {below}"),
            None => format!("side = '{side}' AND a >= {from}"),
        }
    }
}

/// The rows of `side` that add up to everything from year `from` on (every year a period may
/// start or end in is nonnegative, see [`OPEN_START`]): the decades from `from`'s on, less the
/// years of its decade before it when it is in the first half of its decade; otherwise its
/// decade's years from it on and the decades after. At most five rows by year a cell.
pub(crate) fn from_year_on(side: YearSide, from: i32) -> Vec<YearRows> {
    let YearSide { by_year, by_decade } = side;
    let decade = from - from.rem_euclid(10);
    let rows = |sign, side, from, below| YearRows {
        sign,
        side,
        from,
        below,
    };
    match from - decade {
        0 => vec![rows(1, by_decade, from, None)],
        1..=5 => vec![
            rows(1, by_decade, decade, None),
            rows(-1, by_year, decade, Some(from)),
        ],
        _ => vec![
            rows(1, by_year, from, Some(decade + 10)),
            rows(1, by_decade, decade + 10, None),
        ],
    }
}

/// `year` as the first year of its decade, in SQL (years are nonnegative).
fn decade_of(year: &str) -> String {
    format!("({year} - ({year}) % 10)")
}

/// The `prev_hi` of a member's first span in a cell: before every year.
pub(crate) const NO_SPAN_BEFORE: i32 = OPEN_START - 1;

/// A grouping in the form it is stored under: its dimensions sorted, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Combo {
    dims: Vec<GapDimension>,
    /// Being built: the cells writers put their changes in meanwhile, named with [`BUILDING`].
    building: bool,
    /// By year: each row of a cell carries a period `[lo, hi]` and counts in a question over
    /// `[from, to]` when `lo <= to AND hi >= from` (see the migration `rollup_years`). A
    /// whole-life grouping's rows all have the period `[0, 0]`.
    yearly: bool,
}

impl Combo {
    pub(crate) fn of(by: &[GapDimension]) -> Self {
        let mut dims = by.to_vec();
        dims.sort();
        dims.dedup();
        Combo {
            dims,
            building: false,
            yearly: false,
        }
    }

    pub(crate) fn dims(&self) -> &[GapDimension] {
        &self.dims
    }

    /// The same grouping by year, which answers questions over a range of years.
    pub(crate) fn by_year(&self) -> Combo {
        Combo {
            yearly: true,
            ..self.clone()
        }
    }

    /// "ALL" for the whole base, else the dimensions joined by commas.
    pub(crate) fn name(&self) -> String {
        let name = if self.dims.is_empty() {
            "ALL".into()
        } else {
            self.dims
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let name = if self.yearly {
            format!("{name}{BY_YEAR}")
        } else {
            name
        };
        if self.building {
            format!("{BUILDING}{name}")
        } else {
            name
        }
    }

    /// The tables that hold this grouping's rows.
    pub(crate) fn tables(&self) -> &'static Tables {
        if self.yearly {
            &BY_YEAR_TABLES
        } else {
            &WHOLE_LIFE_TABLES
        }
    }

    fn building(&self) -> Combo {
        Combo {
            building: true,
            ..self.clone()
        }
    }

    /// The grouping a `gap_combo` row names, built or being built.
    fn parse(name: &str) -> Option<Self> {
        if let Some(built) = name.strip_prefix(BUILDING) {
            return Combo::parse(built).map(|c| c.building());
        }
        if let Some(whole) = name.strip_suffix(BY_YEAR) {
            return Combo::parse(whole).map(|c| c.by_year());
        }
        if name == "ALL" {
            return Some(Combo::of(&[]));
        }
        let dims = name
            .split(',')
            .map(|s| {
                [
                    GapDimension::Theme,
                    GapDimension::Orientation,
                    GapDimension::Bloc,
                    GapDimension::Country,
                    GapDimension::Modality,
                    GapDimension::ManagementFocus,
                ]
                .into_iter()
                .find(|d| d.as_str() == s)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Combo::of(&dims))
    }

    /// The stored key column (k1, k2, k3) that holds the value of `d`.
    pub(crate) fn column_of(&self, d: Option<GapDimension>) -> String {
        match d {
            // The whole base, summed from a finer grouping: every cell of that one is in it.
            None if !self.dims.is_empty() => "'ALL'".into(),
            None => "k1".into(),
            Some(d) => {
                let i = self.dims.iter().position(|x| *x == d).unwrap_or(0);
                format!("k{}", i + 1)
            }
        }
    }

    /// `(combo, pid, k1, k2, k3, ps, pe, yearly, req)` for every published practice whose id
    /// satisfies `restrict`, once per cell of this grouping it falls in: `ps` and `pe` its
    /// period in a grouping by year (0 in a whole-life one), `yearly` 1 in a grouping by year,
    /// `req` the amount it requires (read here rather than by joining the practice again).
    ///
    /// `folded`: a dimension the practice's row keeps as bits (see [`Combo::folds`]) is read as
    /// those bits, one row a practice rather than one a value, for [`Combo::unfold`] to place
    /// in its cells once the rows are grouped.
    fn projection(&self, restrict: Option<&str>, folded: bool) -> String {
        let name = self.name();
        let dims: Vec<Option<GapDimension>> = if self.dims.is_empty() {
            vec![None]
        } else {
            self.dims.iter().copied().map(Some).collect()
        };
        let bits = |d: Option<GapDimension>| {
            d.filter(|_| folded)
                .and_then(crate::signature::bits_of)
                .map(|(column, _)| column)
        };
        // A folded dimension joins nothing: `None` places no value.
        let joined: Vec<Option<GapDimension>> = dims
            .iter()
            .map(|d| d.filter(|_| bits(*d).is_none()))
            .collect();
        let joins = practice_joins(&joined, restrict);
        let keys: String = (0..3)
            .map(
                |i| match (dims.get(i), dims.get(i).and_then(|d| bits(*d))) {
                    (_, Some(column)) => format!(", p.{column} AS k{}", i + 1),
                    (Some(d), None) => format!(", {} AS k{}", practice_key(i, *d), i + 1),
                    (None, None) => format!(", '' AS k{}", i + 1),
                },
            )
            .collect();
        // A practice without a value of a folded dimension is in none of its cells, as the
        // join leaves it out.
        let with_values: String = dims
            .iter()
            .filter_map(|d| bits(*d))
            .map(|column| format!(" AND p.{column} <> 0"))
            .collect();
        let only = restrict
            .map(|r| format!(" AND p.id {r}"))
            .unwrap_or_default()
            + &with_values;
        let period = if self.yearly {
            format!(
                ", COALESCE(p.start_year, {OPEN_START}) AS ps, COALESCE(p.end_year, {OPEN_END}) AS pe, 1 AS yearly"
            )
        } else {
            ", 0 AS ps, 0 AS pe, 0 AS yearly".into()
        };
        format!(
            "SELECT '{name}' AS combo, p.id AS pid{keys}{period}, p.amount_required_usd_cents AS req \
             FROM practice p{joins} WHERE p.status = 'PUBLISHED'{only}"
        )
    }
}

impl Combo {
    /// Whether a build may read this grouping's dimensions of several values a practice that
    /// the practice's row keeps as bits (themes, management focuses) as those bits: rows are
    /// grouped a signature rather than a value, half as many for practices of two themes, and
    /// placed in their cells once grouped ([`Combo::unfold`]). SQLite groups by sorting, about
    /// a microsecond a row: theme x orientation by year on 200,000 practices summed 1.5
    /// million rows of practices' themes and years. PostgreSQL groups by hashing, for which
    /// the second grouping costs more than the rows it saves.
    fn folds(&self) -> bool {
        self.dims
            .iter()
            .any(|d| crate::signature::bits_of(*d).is_some())
    }

    /// The rows of `grouped` (a statement over a folded [`Combo::projection`] answering the cell
    /// keys `combo, k1, k2, k3`, the other keys `rest` and the sums `sums`) placed in this
    /// grouping's cells: a row whose folded key holds several bits in the cell of each, and the
    /// rows that fall in one cell summed.
    fn unfold(&self, grouped: &str, rest: &str, sums: &[&str]) -> String {
        let mut keys = Vec::new();
        let mut joins = String::new();
        for i in 0..3 {
            match self.dims.get(i).and_then(|d| crate::signature::bits_of(*d)) {
                Some((_, values)) => {
                    // Written order (SQLite keeps that of a CROSS JOIN): with the values
                    // first, SQLite pushed the condition into the grouped rows and grouped them
                    // anew for every value (theme x orientation by year on 200,000 practices
                    // built in 20 s instead of 7).
                    joins.push_str(&format!(
                        " CROSS JOIN {values} b{i} ON (u.k{} & b{i}.bit) <> 0",
                        i + 1
                    ));
                    keys.push(format!("b{i}.v"));
                }
                None => keys.push(format!("u.k{}", i + 1)),
            }
        }
        let rest = rest
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let summed = sums
            .iter()
            .map(|c| format!("SUM(u.{c}) AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let [k1, k2, k3] = [&keys[0], &keys[1], &keys[2]];
        format!(
            "SELECT u.combo, {k1} AS k1, {k2} AS k2, {k3} AS k3, {rest}, {summed} \
             FROM ({grouped}) u{joins} GROUP BY u.combo, {k1}, {k2}, {k3}, {rest}"
        )
    }
}

/// The period `(lo, hi)` of funding record `f` in the rows of projection `x` (see
/// [`Combo::projection`]): `[y, y]` for a record of year `y` inside its practice's period (its
/// year being in the range implies its practice is active then), else the two conditions folded
/// into `[max(start, y), min(end, y)]`; `[0, 0]` in a whole-life grouping.
fn funding_period() -> (&'static str, &'static str) {
    (
        "CASE WHEN x.yearly = 0 THEN 0 WHEN f.year > x.ps THEN f.year ELSE x.ps END",
        "CASE WHEN x.yearly = 0 THEN 0 WHEN f.year < x.pe THEN f.year ELSE x.pe END",
    )
}

/// The funding records `f` a projection row `x` counts: a grouping by year leaves out those of
/// no year, which no range holds.
const FUNDING_COUNTED: &str = "(x.yearly = 0 OR f.year IS NOT NULL)";

/// Adds `sign` times the contribution of the practices matching `restrict` (all when None) to
/// the rollups of `combos`: three statements for each family of tables concerned, whatever the
/// number of groupings.
async fn add_contribution(
    txn: &DatabaseTransaction,
    combos: &[Combo],
    restrict: Option<&Restrict>,
    sign: i64,
) -> Result<()> {
    let (yearly, whole): (Vec<Combo>, Vec<Combo>) = combos.iter().cloned().partition(|c| c.yearly);
    for family in [whole, yearly] {
        if let Some(first) = family.first() {
            add_to_tables(txn, first.tables(), &family, restrict, sign).await?;
        }
    }
    Ok(())
}

/// [`add_contribution`] for groupings of one family, whose `tables` they are.
async fn add_to_tables(
    txn: &DatabaseTransaction,
    tables: &Tables,
    combos: &[Combo],
    restrict: Option<&Restrict>,
    sign: i64,
) -> Result<()> {
    let fold = txn.get_database_backend() == DbBackend::Sqlite;
    let condition = restrict.map(|r| r.condition.as_str());
    for statement in contribution_statements(tables, combos, condition, sign, fold) {
        run(txn, statement, restrict).await?;
    }
    Ok(())
}

/// The statements of [`add_to_tables`], one a table: the cells' sums, their members, and their
/// confidential funding. Each reads the base and writes a table of its own, so that a build
/// may run them side by side (see `build::build_beside_writers`). `fold`: a build of one
/// grouping reads the dimensions it can as bits (see [`Combo::folds`]); changes, whose rows
/// are few, read every dimension's values.
fn contribution_statements(
    tables: &Tables,
    combos: &[Combo],
    restrict: Option<&str>,
    sign: i64,
    fold: bool,
) -> [String; 3] {
    let Tables {
        totals: t_table,
        members: m_table,
        confidential: c_table,
        ..
    } = tables;
    let folded = match combos {
        [combo] if fold && restrict.is_none() && combo.folds() => Some(combo),
        _ => None,
    };
    // The rows grouped by cell, placed in their cells when folded.
    let unfold = |grouped: String, rest: &str, sums: &[&str]| match folded {
        Some(combo) => combo.unfold(&grouped, rest, sums),
        None => grouped,
    };
    let union = |combos: &mut dyn Iterator<Item = &Combo>| {
        combos
            .map(|c| c.projection(restrict, folded.is_some()))
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    };
    let projections = union(&mut combos.iter());
    let yearly = union(&mut combos.iter().filter(|c| c.yearly));
    let funding_of = restrict
        .map(|r| format!("practice_id {r}"))
        .unwrap_or_else(|| "practice_id IS NOT NULL".into());
    let (lo, hi) = funding_period();
    // The outer `WHERE 1 = 1` keeps SQLite from reading ON CONFLICT as a join's ON. Each sum
    // of money is kept in two parts that cannot overflow (see `analytics::split`): `x_hi` whole
    // units of SPLIT cents, `x` the rest.
    let (r_hi, r_lo) = split("COALESCE(x.req, 0)");
    let (f_hi, f_lo) = split("f.amount_usd_cents");
    let indicators_of = restrict
        .map(|r| format!("practice_id {r}"))
        .unwrap_or_else(|| "1 = 1".into());
    let by_status = |status: &str, part: &str| {
        format!("CASE WHEN f.status = '{status}' THEN {part} ELSE 0 END")
    };
    // Funding summed by status, per practice (`pf`) for the whole-life groupings, where it
    // joins the practice's own row, and per practice and year (`pfy`) for the groupings by
    // year, where each year of a practice is a row of its own (its period, see
    // [`funding_period`]). Summing first keeps the rows to group few.
    let sums_by_status = format!(
        "SUM({p_lo}) AS pledged, SUM({c_lo}) AS committed, SUM({d_lo}) AS disbursed, \
         SUM({p_hi}) AS pledged_hi, SUM({c_hi}) AS committed_hi, SUM({d_hi}) AS disbursed_hi \
         FROM funding f WHERE {funding_of} AND f.amount_usd_cents IS NOT NULL",
        p_lo = by_status("PLEDGED", &f_lo),
        c_lo = by_status("COMMITTED", &f_lo),
        d_lo = by_status("DISBURSED", &f_lo),
        p_hi = by_status("PLEDGED", &f_hi),
        c_hi = by_status("COMMITTED", &f_hi),
        d_hi = by_status("DISBURSED", &f_hi),
    );
    let by_year = if yearly.is_empty() {
        String::new()
    } else {
        format!(
            " UNION ALL \
             SELECT x.combo, x.k1, x.k2, x.k3, {lo} AS lo, {hi} AS hi, 0, 0, 0, \
                    f.pledged, f.pledged_hi, f.committed, f.committed_hi, f.disbursed, f.disbursed_hi, 0, 0, 0, 0 \
               FROM ({yearly}) x JOIN (SELECT practice_id, year, {sums_by_status} AND f.year IS NOT NULL \
                                       GROUP BY practice_id, year) f ON f.practice_id = x.pid"
        )
    };
    // Indicator values are exact decimal text; NUMERIC compares them as numbers on both
    // databases. A grouping by year keeps no indicators: `resultsByTheme` reads the whole-life
    // THEME grouping.
    let (indicator_columns, indicator_join) = if yearly.is_empty() {
        (
            "CASE WHEN pi.indicators > 0 THEN 1 ELSE 0 END AS with_indicators, \
             COALESCE(pi.indicators, 0) AS indicators, COALESCE(pi.with_target, 0) AS with_target, \
             COALESCE(pi.met, 0) AS targets_met"
                .to_owned(),
            format!(
                " LEFT JOIN (SELECT practice_id, COUNT(*) AS indicators, \
                    SUM(CASE WHEN target IS NOT NULL AND actual IS NOT NULL THEN 1 ELSE 0 END) AS with_target, \
                    SUM(CASE WHEN target IS NOT NULL AND actual IS NOT NULL \
                             AND CAST(actual AS NUMERIC) >= CAST(target AS NUMERIC) THEN 1 ELSE 0 END) AS met \
                  FROM indicator WHERE {indicators_of} GROUP BY practice_id) pi \
                 ON pi.practice_id = x.pid"
            ),
        )
    } else {
        (
            "0 AS with_indicators, 0 AS indicators, 0 AS with_target, 0 AS targets_met".to_owned(),
            String::new(),
        )
    };
    // What each practice (and by year, each year of its funding) adds to its cells, one row
    // per cell and period. A family's groupings are all by year or all whole-life: the funding
    // of a practice's row is its whole-life sums, or none when its years bring it (SQLite
    // computed the whole-life sums of every practice even where the join could match none).
    let funded = ["pledged", "committed", "disbursed"]
        .iter()
        .flat_map(|c| [c.to_string(), format!("{c}_hi")])
        .map(|c| match yearly.is_empty() {
            true => format!("COALESCE(pf.{c}, 0) AS {c}"),
            false => format!("0 AS {c}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let whole_life_funding = match yearly.is_empty() {
        true => format!(
            " LEFT JOIN (SELECT practice_id, {sums_by_status} GROUP BY practice_id) pf \
               ON pf.practice_id = x.pid"
        ),
        false => String::new(),
    };
    let contributions = format!(
        "SELECT x.combo, x.k1, x.k2, x.k3, x.ps AS lo, x.pe AS hi, 1 AS practices, \
                {r_lo} AS required, {r_hi} AS required_hi, {funded}, {indicator_columns} \
           FROM ({projections}) x{whole_life_funding}{indicator_join}{by_year}"
    );
    // The sums of a cell; the whole-life rollup keeps its practices' indicators too.
    let mut sums: Vec<&str> = vec![
        "practices",
        "required",
        "pledged",
        "committed",
        "disbursed",
        "required_hi",
        "pledged_hi",
        "committed_hi",
        "disbursed_hi",
    ];
    if yearly.is_empty() {
        sums.extend([
            "with_indicators",
            "indicators",
            "with_target",
            "targets_met",
        ]);
    }
    let listed =
        |each: &dyn Fn(&str) -> String| sums.iter().map(|c| each(c)).collect::<Vec<_>>().join(", ");
    let columns = listed(&|c| c.to_owned());
    let signed = listed(&|c| format!("{sign} * SUM({c}) AS {c}"));
    let summed = listed(&|c| format!("SUM({c}) AS {c}"));
    let added = listed(&|c| format!("{c} = {t_table}.{c} + excluded.{c}"));
    // The contributions' `sums` (sum expressions) by cell and period.
    let by_period = |sums_of: &str| {
        unfold(
            format!(
                "SELECT combo, k1, k2, k3, lo, hi, {sums_of} FROM ({contributions}) c \
                 GROUP BY combo, k1, k2, k3, lo, hi"
            ),
            "lo, hi",
            &sums,
        )
    };
    let totals = if yearly.is_empty() {
        let grouped = by_period(&signed);
        format!(
            "INSERT INTO {t_table} (combo, k1, k2, k3, lo, hi, {columns}) \
             SELECT * FROM ({grouped}) u WHERE 1 = 1 \
             ON CONFLICT ({key}) DO UPDATE SET {added}",
            key = tables.totals_key,
        )
    } else {
        // By year, each regular period adds to its cell's sums at the year it ends (side H) and
        // the year it starts (side L); a period that ends before it starts, at its two ends
        // (side X). See the migration `rollup_year_edges`. The contributions are summed by
        // cell and period first, as the rows by period were, and those sums (a few thousand a
        // grouping) paired with both sides: pairing the contributions themselves doubled the
        // rows a build groups. SQLite keeps the written order of a CROSS JOIN. The regular
        // periods' sums go by year and by decade alike (see [`YearSide`]).
        let of_c = listed(&|c| format!("c.{c}"));
        let year = "CASE WHEN s.side = 'H' AND c.lo <= c.hi THEN c.hi ELSE c.lo END";
        let by_period = by_period(&summed);
        format!(
            "INSERT INTO {t_table} (combo, k1, k2, k3, side, a, b, {columns}) \
             SELECT * FROM (SELECT combo, k1, k2, k3, side, a, b, {signed} \
               FROM (SELECT c.combo, c.k1, c.k2, c.k3, \
                            CASE WHEN c.lo > c.hi THEN 'X' WHEN s.decade = 0 THEN s.side \
                                 WHEN s.side = 'H' THEN '{ends}' ELSE '{starts}' END AS side, \
                            CASE WHEN s.decade = 0 THEN {year} ELSE {decade} END AS a, \
                            CASE WHEN c.lo > c.hi THEN c.hi ELSE 0 END AS b, {of_c} \
                       FROM ({by_period}) c \
                       CROSS JOIN (SELECT 'H' AS side, 0 AS decade UNION ALL SELECT 'L', 0 \
                                   UNION ALL SELECT 'H', 1 UNION ALL SELECT 'L', 1) s \
                      WHERE c.lo <= c.hi OR (s.side = 'H' AND s.decade = 0)) e \
               GROUP BY combo, k1, k2, k3, side, a, b) u WHERE 1 = 1 \
             ON CONFLICT ({key}) DO UPDATE SET {added}",
            key = tables.totals_key,
            ends = ENDS.by_decade,
            starts = STARTS.by_decade,
            decade = decade_of(year),
        )
    };
    let members = unfold(
        format!(
            "SELECT x.combo, x.k1, x.k2, x.k3, 'D' AS kind, f.donor_id AS member_id, {lo} AS lo, {hi} AS hi, \
                  {sign} * COUNT(*) AS n \
             FROM ({projections}) x JOIN funding f ON f.practice_id = x.pid \
            WHERE f.donor_id IS NOT NULL AND {FUNDING_COUNTED} \
             GROUP BY x.combo, x.k1, x.k2, x.k3, f.donor_id, {lo}, {hi} \
           UNION ALL \
           SELECT x.combo, x.k1, x.k2, x.k3, 'S' AS kind, ps.scheme_id AS member_id, x.ps AS lo, x.pe AS hi, \
                  {sign} * COUNT(*) AS n \
             FROM ({projections}) x JOIN practice_scheme ps ON ps.practice_id = x.pid \
             GROUP BY x.combo, x.k1, x.k2, x.k3, ps.scheme_id, x.ps, x.pe"
        ),
        "kind, member_id, lo, hi",
        &["n"],
    );
    let members = format!(
        "INSERT INTO {m_table} (combo, k1, k2, k3, kind, member_id, lo, hi, n) \
         SELECT * FROM ({members}) u WHERE 1 = 1 \
         ON CONFLICT (combo, k1, k2, k3, kind, member_id, hi, lo) DO UPDATE SET n = {m_table}.n + excluded.n"
    );
    // Confidential funding per cell, donor (0 for none) and status, exactly and each record
    // rounded as callers who may not see it are shown it: questions read it from here instead
    // of placing every confidential record in its cells. The same summed over every donor is
    // kept under [`EVERY_DONOR`], which is what a question reads (less a donor's own rows when
    // a donor asks), rather than a row per donor.
    let (e_hi, e_lo) = split("f.amount_usd_cents");
    let rounded = rounded_units_sql("f.amount_usd_cents");
    let (rd_hi, rd_lo) = split(&rounded);
    let by_donor = unfold(
        format!(
            "SELECT x.combo, x.k1, x.k2, x.k3, COALESCE(f.donor_id, 0) AS donor_id, f.status, \
                    {lo} AS lo, {hi} AS hi, \
                    {sign} * COUNT(*) AS records, {sign} * SUM({e_lo}) AS exact, {sign} * SUM({e_hi}) AS exact_hi, \
                    {sign} * SUM({rd_lo}) AS rounded, {sign} * SUM({rd_hi}) AS rounded_hi \
               FROM ({projections}) x JOIN funding f ON f.practice_id = x.pid \
              WHERE f.confidential AND f.amount_usd_cents IS NOT NULL AND {FUNDING_COUNTED} \
              GROUP BY x.combo, x.k1, x.k2, x.k3, COALESCE(f.donor_id, 0), f.status, {lo}, {hi}"
        ),
        "donor_id, status, lo, hi",
        &["records", "exact", "exact_hi", "rounded", "rounded_hi"],
    );
    let confidential = format!(
        "WITH g AS ({by_donor}) \
         INSERT INTO {c_table} (combo, k1, k2, k3, donor_id, status, lo, hi, records, exact, exact_hi, rounded, rounded_hi) \
         SELECT * FROM (SELECT * FROM g UNION ALL \
           SELECT combo, k1, k2, k3, {EVERY_DONOR}, status, lo, hi, SUM(records), SUM(exact), SUM(exact_hi), \
                  SUM(rounded), SUM(rounded_hi) \
             FROM g GROUP BY combo, k1, k2, k3, status, lo, hi) u WHERE 1 = 1 \
         ON CONFLICT (combo, k1, k2, k3, donor_id, status, lo, hi) DO UPDATE SET \
           records = {c_table}.records + excluded.records, \
           exact = {c_table}.exact + excluded.exact, \
           exact_hi = {c_table}.exact_hi + excluded.exact_hi, \
           rounded = {c_table}.rounded + excluded.rounded, \
           rounded_hi = {c_table}.rounded_hi + excluded.rounded_hi"
    );
    [totals, members, confidential].map(|mut statement| {
        // Without `restrict` this is a build, into cells that start empty and no writer
        // touches meanwhile (see `build`): plain inserts then, which cost about half as much
        // per row as inserts that look for a row to add to.
        if restrict.is_none()
            && let Some(at) = statement.find(" ON CONFLICT ")
        {
            statement.truncate(at);
        }
        statement
    })
}

/// Recounts the donors and schemes of whole-life cells of `combos` from their member rows, and
/// merges anew the spans of the members of cells by year: of the cells the practices matching
/// `restrict` fall in now, or of every cell when None. A question reads the counts from the
/// cell (or counts the members of a range from their spans) instead of counting its member rows
/// (thousands a grouping). Counts and spans are not sums, so a change redoes those it touched:
/// its practices' cells before the change once their contribution is out, and after it once it
/// is back in (after it only, where the change keeps them: see [`Touched::PracticeOfFunding`]). Cells being built hold differences: they have neither.
async fn recount(
    txn: &DatabaseTransaction,
    combos: &[Combo],
    restrict: Option<&Restrict>,
) -> Result<()> {
    let bound = restrict;
    let restrict = restrict.map(|r| r.condition.as_str());
    let quoted = |combos: &[&Combo]| {
        combos
            .iter()
            .map(|c| format!("'{}'", c.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The touched cells' keys are compared with the rollups' keys, whose index they must be
    // looked up by: a write's statements read the touched members, not every member of a
    // grouping (1,379,442 rows for ORIENTATION x COUNTRY x MODALITY by year on 200,000
    // practices: 0.2-0.6 s a statement, 1.7 ms looked up). On PostgreSQL the rollups' keys are
    // text in "C" (see the migration `rollups_unlogged`): a key of another type (a country code
    // is CHAR(2)) or of the database's collation has the rollup's column cast or compared in a
    // collation its index does not have. SQLite looks rows up by the keys of a plain subquery
    // only, not of a compound one.
    let postgres = txn.get_database_backend() == DbBackend::Postgres;
    let key = |column: &str| match postgres {
        true => format!("CAST({column} AS TEXT) COLLATE \"C\""),
        false => column.to_owned(),
    };
    let kind = |kind: &str| match postgres {
        true => format!("CAST('{kind}' AS CHAR(1)) COLLATE \"C\""),
        false => format!("'{kind}'"),
    };
    let yearly: Vec<&Combo> = combos.iter().filter(|c| c.yearly && !c.building).collect();
    if !yearly.is_empty() {
        let touched = match restrict {
            // The members of the touched practices in their cells: their donors and schemes.
            Some(r) => {
                let x = yearly
                    .iter()
                    .map(|c| c.projection(Some(r), false))
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ");
                let keys = ["x.combo", "x.k1", "x.k2", "x.k3"].map(key).join(", ");
                format!(
                    " AND (combo, k1, k2, k3, kind, member_id) IN (SELECT * FROM ( \
                       SELECT {keys}, {donor}, f.donor_id FROM ({x}) x \
                         JOIN funding f ON f.practice_id = x.pid WHERE f.donor_id IS NOT NULL \
                       UNION SELECT {keys}, {scheme}, ps.scheme_id FROM ({x}) x \
                         JOIN practice_scheme ps ON ps.practice_id = x.pid) t)",
                    donor = kind("D"),
                    scheme = kind("S"),
                )
            }
            None => String::new(),
        };
        respan(txn, &quoted(&yearly), &touched, bound).await?;
    }
    let whole: Vec<&Combo> = combos.iter().filter(|c| !c.yearly && !c.building).collect();
    if whole.is_empty() {
        return Ok(());
    }
    let names = quoted(&whole);
    let touched = match restrict {
        Some(r) => format!(
            " AND (combo, k1, k2, k3) IN (SELECT {} FROM ({}) x)",
            ["combo", "k1", "k2", "k3"].map(key).join(", "),
            whole
                .iter()
                .map(|c| c.projection(Some(r), false))
                .collect::<Vec<_>>()
                .join(" UNION ALL ")
        ),
        None => String::new(),
    };
    recount_cells(txn, &names, &touched, bound).await
}

/// Sets the donor and scheme counts of the cells of groupings `names` (a quoted list) that
/// `touched` (`AND …`, or nothing for all, reading the practices of `restrict`) keeps.
async fn recount_cells(
    txn: &DatabaseTransaction,
    names: &str,
    touched: &str,
    restrict: Option<&Restrict>,
) -> Result<()> {
    let count = |kind: &str| {
        format!(
            "(SELECT COUNT(*) FROM gap_rollup_member m WHERE m.combo = gap_rollup.combo \
               AND m.k1 = gap_rollup.k1 AND m.k2 = gap_rollup.k2 AND m.k3 = gap_rollup.k3 \
               AND m.kind = '{kind}' AND m.n > 0)"
        )
    };
    run(
        txn,
        format!(
            "UPDATE gap_rollup SET donors = {donors}, schemes = {schemes} WHERE combo IN ({names}){touched}",
            donors = count("D"),
            schemes = count("S"),
        ),
        restrict,
    )
    .await
}

/// Merges anew the spans of the members of groupings by year `names` (a quoted list) that
/// `touched` (`AND …` over the member key, or nothing for all, reading the practices of
/// `restrict`) keeps.
///
/// A member of a cell by year has a row per period (a funding record's year, a practice's
/// period): about a dozen a member on a large base. Counting the distinct members of a range
/// from those rows read most of them; merged, each member's periods in a cell become the few
/// spans of consecutive years it is active there, and the member counts in a range when one of
/// its spans meets it, exactly as when one of its periods does.
pub(super) async fn respan(
    txn: &DatabaseTransaction,
    names: &str,
    touched: &str,
    restrict: Option<&Restrict>,
) -> Result<()> {
    let member = "combo, k1, k2, k3, kind, member_id";
    // The touched members' spans leave the counts before they are merged anew, and come back
    // after: the counts of other members stay as they are. Redone whole, a grouping's counts
    // start afresh.
    if touched.is_empty() {
        run(
            txn,
            format!("DELETE FROM {SPAN_EDGES} WHERE combo IN ({names})"),
            None,
        )
        .await?;
    } else {
        count_spans(txn, names, touched, -1, restrict).await?;
    }
    run(
        txn,
        format!("DELETE FROM {SPANS} WHERE combo IN ({names}){touched}"),
        restrict,
    )
    .await?;
    // Gaps and islands: a period starts a new span unless it begins at most a year after the
    // latest end of the member's periods before it (`before`, in one ordered pass). A span ends
    // where the next begins: its end is the `before` of the next span's first period, or for
    // the last span the latest end of all. Merging reads the rows once, sorted once, and the
    // second ordering only the spans' first periods (on the benchmark base, theme x
    // orientation by year, 252,646 members' rows into 40,127 spans: on SQLite 0.84 s in its
    // shell instead of 1.97 s for numbering the spans with a running sum and grouping by that
    // number; on PostgreSQL 1.02 s instead of 1.31-1.42 s; the grouping's first question
    // 5.0-5.5 s instead of 5.4-5.7 s on SQLite, 4.7-4.8 s instead of 5.1 s on PostgreSQL). A
    // funding record outside its practice's period has a period that ends before it starts
    // (see `funding_period`): it counts in the ranges that hold both ends, which no merging
    // keeps, so it stays a span of its own, and its member's spans of regular periods are
    // ordered apart from it.
    //
    // Merged, a member's spans are disjoint and more than a year apart: each keeps the end of
    // the one before it (`prev_hi`), so that the gaps between them can be counted (see
    // [`SPAN_EDGES`]) and questions count each member once without telling members apart. A
    // member with a period that ends before it starts has no such order: its spans keep none,
    // and questions count it distinct.
    //
    // The latest end of all: SQLite looks it up by the key for the last spans alone (a window
    // over every row cost it 0.3 s more); PostgreSQL computes it in the same pass, since the
    // lookups' estimated cost has its JIT compile the statement (0.4 s).
    let regular_hi = "MAX(CASE WHEN lo <= hi THEN hi END)";
    let ordered = format!("PARTITION BY {member} ORDER BY lo, hi");
    let (latest, last) = match txn.get_database_backend() {
        DbBackend::Sqlite => (
            String::new(),
            format!(
                "(SELECT MAX(i.hi) FROM {members} i WHERE i.combo = r.combo AND i.k1 = r.k1 \
                   AND i.k2 = r.k2 AND i.k3 = r.k3 AND i.kind = r.kind AND i.member_id = r.member_id \
                   AND i.n > 0 AND i.lo <= i.hi)",
                members = BY_YEAR_TABLES.members,
            ),
        ),
        _ => (
            format!(
                ", {regular_hi} OVER ({ordered} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS latest"
            ),
            "latest".to_owned(),
        ),
    };
    run(txn, format!(
        "INSERT INTO {SPANS} ({member}, lo, hi, prev_hi) \
         SELECT {member}, lo, \
                CASE WHEN lo > hi THEN hi \
                     ELSE COALESCE(LEAD(before) OVER (PARTITION BY {member}, lo > hi ORDER BY lo), {last}) END, \
                CASE WHEN MAX(CASE WHEN lo > hi THEN 1 ELSE 0 END) OVER (PARTITION BY {member}) = 1 THEN NULL \
                     ELSE COALESCE(before, {NO_SPAN_BEFORE}) END \
         FROM (SELECT {member}, lo, hi, \
                      {regular_hi} OVER ({ordered} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before{latest} \
                 FROM {members} WHERE combo IN ({names}) AND n > 0{touched}) r \
         WHERE lo > hi OR before IS NULL OR lo > before + 1",
        members = BY_YEAR_TABLES.members,
    ), restrict)
    .await?;
    count_spans(txn, names, touched, 1, restrict).await?;
    run(
        txn,
        format!("DELETE FROM {SPAN_EDGES} WHERE combo IN ({names}) AND n = 0"),
        None,
    )
    .await
}

/// Adds `sign` times the spans of regular members of groupings `names` that `touched` keeps
/// to their counts at their ends (see [`SPAN_EDGES`]). The touched members' spans are all
/// there, so the last of each is the one that ends last.
async fn count_spans(
    txn: &DatabaseTransaction,
    names: &str,
    touched: &str,
    sign: i64,
    restrict: Option<&Restrict>,
) -> Result<()> {
    let key = "combo, k1, k2, k3, kind, side, a, b";
    // The last and first spans are counted by decade as well (see [`YearSide`]); the gaps,
    // which a range tells apart by both their ends, by year only.
    let mut statement = format!(
        "INSERT INTO {SPAN_EDGES} ({key}, n) \
         SELECT {key}, {sign} * COUNT(*) FROM ( \
           SELECT combo, k1, k2, k3, kind, \
                  CASE WHEN d.decade = 0 THEN e0.side WHEN e0.side = 'E' THEN '{last}' ELSE '{first}' END AS side, \
                  CASE WHEN d.decade = 0 THEN e0.a ELSE {decade} END AS a, b \
           FROM ( \
             SELECT combo, k1, k2, k3, kind, 'E' AS side, MAX(hi) AS a, 0 AS b FROM {SPANS} \
              WHERE combo IN ({names}) AND prev_hi IS NOT NULL{touched} \
              GROUP BY combo, k1, k2, k3, kind, member_id \
             UNION ALL \
             SELECT combo, k1, k2, k3, kind, CASE WHEN prev_hi = {NO_SPAN_BEFORE} THEN 'S' ELSE 'G' END, lo, \
                    CASE WHEN prev_hi = {NO_SPAN_BEFORE} THEN 0 ELSE prev_hi END FROM {SPANS} \
              WHERE combo IN ({names}) AND prev_hi IS NOT NULL{touched}) e0 \
           CROSS JOIN (SELECT 0 AS decade UNION ALL SELECT 1) d \
           WHERE d.decade = 0 OR e0.side <> 'G') e \
         GROUP BY {key}",
        last = LAST_SPANS.by_decade,
        first = FIRST_SPANS.by_decade,
        decade = decade_of("e0.a"),
    );
    // Every span of a grouping is counted into no counts yet: plain inserts then.
    if !touched.is_empty() {
        statement.push_str(&format!(
            " ON CONFLICT (combo, side, a, b, k1, k2, k3, kind) DO UPDATE SET n = {SPAN_EDGES}.n + excluded.n"
        ));
    }
    run(txn, statement, restrict).await
}

/// The practices a change touches.
pub(crate) enum Touched {
    Practices(Vec<Id>),
    /// The practice of a funding record written. A record's practice and donor never change
    /// once recorded, so the practice stays in the same cells with the same members (only
    /// sums and periods move): its cells' counts and its members' spans are redone once, after
    /// the change, instead of also before it.
    PracticeOfFunding(Vec<Id>),
    /// Every practice a city takes part in (its country may have changed).
    PracticesOfCity(Id),
    /// A practice this transaction creates: nothing to take out; see [`Maintenance::created`].
    NewPractice,
}

impl Touched {
    fn restrict(&self, backend: DbBackend) -> Option<Restrict> {
        match self {
            Touched::Practices(ids) | Touched::PracticeOfFunding(ids) if ids.is_empty() => None,
            Touched::Practices(ids) | Touched::PracticeOfFunding(ids) => {
                Some(Restrict::practices(backend, ids))
            }
            Touched::PracticesOfCity(city) => Some(Restrict {
                condition: format!(
                    "IN (SELECT practice_id FROM practice_city WHERE city_id = {})",
                    Restrict::parameter(backend)
                ),
                value: (*city).into(),
            }),
            Touched::NewPractice => None,
        }
    }
}

/// The practices a write touches, as a condition on a practice id (`IN …`) that reads them
/// from one bound value. The statements that keep the rollups in step then have the same text
/// for every write of a kind, whichever practices it touches: each connection prepares them
/// once and keeps them. With the ids written into the text, every write's statements were new
/// ones to prepare, and, since prepared statements are kept, each SQLite connection kept a
/// few megabytes of them (100 writes to as many practices: the service's resident memory up
/// from 24 to 87 MiB).
pub(crate) struct Restrict {
    /// `IN …`, naming the value as [`Restrict::parameter`] (as often as needed).
    condition: String,
    value: sea_orm::Value,
}

impl Restrict {
    /// The one parameter of a maintenance statement: numbered, so that the condition may
    /// appear several times in a statement (once per grouping) and bind one value.
    fn parameter(backend: DbBackend) -> &'static str {
        match backend {
            DbBackend::Postgres => "$1",
            _ => "?1",
        }
    }

    /// The practices `ids`: a JSON array read by `json_each` on SQLite, an array of BIGINT
    /// on PostgreSQL (sent as text).
    fn practices(backend: DbBackend, ids: &[Id]) -> Restrict {
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        match backend {
            DbBackend::Postgres => Restrict {
                condition: "= ANY(CAST($1 AS BIGINT[]))".into(),
                value: format!("{{{list}}}").into(),
            },
            _ => Restrict {
                condition: "IN (SELECT value FROM json_each(?1))".into(),
                value: format!("[{list}]").into(),
            },
        }
    }
}

/// The rollups one write transaction keeps in step: begun before its first change, finished
/// after its last.
#[must_use = "finish it after the changes, or the rollups lose the touched practices"]
pub(crate) struct Maintenance {
    combos: Vec<Combo>,
    restrict: Option<Restrict>,
    /// Begun for a [`Touched::NewPractice`] (on this database): the practice is named once it
    /// exists.
    awaits_new_practice: Option<DbBackend>,
}

impl Maintenance {
    /// Locks against a grouping being built meanwhile (PostgreSQL; SQLite's write transaction
    /// already excludes every other writer), locks the touched practices, and takes their
    /// contribution out of every built grouping.
    pub(crate) async fn begin(txn: &DatabaseTransaction, touched: Touched) -> Result<Self> {
        let backend = txn.get_database_backend();
        let postgres = backend == DbBackend::Postgres;
        let restrict = touched.restrict(backend);
        let awaits_new_practice = matches!(touched, Touched::NewPractice).then_some(backend);
        if restrict.is_none() && awaits_new_practice.is_none() {
            return Ok(Maintenance {
                combos: vec![],
                restrict: None,
                awaits_new_practice,
            });
        }
        if postgres {
            txn.execute_unprepared("LOCK TABLE gap_combo IN SHARE MODE")
                .await
                .map_err(db_err)?;
        }
        let combos = built_combos(txn).await?;
        if postgres && !combos.is_empty() {
            lock_maintenance(txn).await?;
        }
        if let Some(restrict) = &restrict
            && !combos.is_empty()
        {
            if postgres {
                run(
                    txn,
                    format!(
                        "SELECT id FROM practice WHERE id {} ORDER BY id FOR UPDATE",
                        restrict.condition
                    ),
                    Some(restrict),
                )
                .await?;
            }
            add_contribution(txn, &combos, Some(restrict), -1).await?;
            if !matches!(touched, Touched::PracticeOfFunding(_)) {
                recount(txn, &combos, Some(restrict)).await?;
            }
        }
        Ok(Maintenance {
            combos,
            restrict,
            awaits_new_practice,
        })
    }

    /// Names the record the transaction created: the practice of a [`Touched::NewPractice`]
    /// maintenance; any other record's creation changes nothing here.
    pub(crate) fn created(mut self, id: Id) -> Self {
        if let Some(backend) = self.awaits_new_practice {
            self.restrict = Some(Restrict::practices(backend, &[id]));
        }
        self
    }

    /// Puts the touched practices' contribution back, as they now are.
    pub(crate) async fn finish(self, txn: &DatabaseTransaction) -> Result<()> {
        match &self.restrict {
            Some(restrict) => {
                add_contribution(txn, &self.combos, Some(restrict), 1).await?;
                recount(txn, &self.combos, Some(restrict)).await
            }
            None => Ok(()),
        }
    }
}

/// Runs a statement that keeps rollups in step as the service's queries run, so that it is
/// counted and timed with them (and kept while a recording is on, for the plan tests): it is
/// the larger part of what a write costs. `restrict` binds its value where the statement
/// names the touched practices. Statements that only lock or set stay unprepared.
async fn run(txn: &DatabaseTransaction, sql: String, restrict: Option<&Restrict>) -> Result<()> {
    let backend = txn.get_database_backend();
    let statement = match restrict {
        Some(r) if sql.contains(Restrict::parameter(backend)) => {
            Statement::from_sql_and_values(backend, sql, [r.value.clone()])
        }
        _ => Statement::from_string(backend, sql),
    };
    txn.execute_raw(statement).await.map_err(db_err)?;
    Ok(())
}

/// Waits for the writers maintaining rollups ahead, and holds the next ones back until commit.
///
/// The rest of the transaction runs its prepared statements with their generic plans: the
/// maintenance statements read the touched practices from one bound value (see [`Restrict`]),
/// and their best plan is the same whichever practices a write touches, but PostgreSQL's own
/// choice keeps planning each anew (the generic plan, costed for an array of unknown length,
/// looks dearer than a plan for the one practice at hand), and planning them was about half
/// of a write (`updateFunding` p50 on 200,000 practices with the ten prepared groupings: 85-91
/// ms planned each time, 47 ms with the generic plans). Their generic plans are what the
/// plans test explains.
async fn lock_maintenance(txn: &DatabaseTransaction) -> Result<()> {
    txn.execute_unprepared(&format!(
        "SELECT pg_advisory_xact_lock({MAINTENANCE_LOCK}); \
         SET LOCAL plan_cache_mode = force_generic_plan"
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The groupings writers maintain: those built and those being built.
async fn built_combos<C: ConnectionTrait>(db: &C) -> Result<Vec<Combo>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT combo FROM gap_combo ORDER BY combo",
        ))
        .await
        .map_err(db_err)?;
    let mut combos = Vec::new();
    for r in &rows {
        let name: String = r.try_get_by_index(0).map_err(db_err)?;
        let combo = Combo::parse(&name)
            .ok_or_else(|| Error::internal(format!("unknown gap grouping {name}")))?;
        if !combos.contains(&combo) {
            combos.push(combo);
        }
    }
    Ok(combos)
}

/// Drops every rollup, for loads that write around the maintained path; the next question
/// rebuilds what it needs. The times of the builds go too: they were those of another base,
/// perhaps of another size, and a question told to ask again after one would wait in vain.
pub async fn invalidate<C: ConnectionTrait>(db: &C) -> Result<()> {
    for table in BY_YEAR_TABLES
        .all()
        .into_iter()
        .chain(WHOLE_LIFE_TABLES.all())
        .chain(["gap_combo", "rollup_build"])
    {
        db.execute_unprepared(&format!("DELETE FROM {table}"))
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows kept by year and by decade for the given yearly amounts, as the rollups keep them.
    fn kept(side: YearSide, amounts: &[(i32, i64)]) -> Vec<(char, i32, i64)> {
        let mut rows: Vec<(char, i32, i64)> = Vec::new();
        for &(year, amount) in amounts {
            for key in [
                (side.by_year, year),
                (side.by_decade, year - year.rem_euclid(10)),
            ] {
                match rows.iter_mut().find(|(s, a, _)| (*s, *a) == key) {
                    Some(row) => row.2 += amount,
                    None => rows.push((key.0, key.1, amount)),
                }
            }
        }
        rows
    }

    #[test]
    fn from_year_on_adds_up_to_every_year_from_it_and_reads_few_years() {
        // The open start and end, a run of consecutive years, and years alone in their decade.
        let mut amounts: Vec<(i32, i64)> =
            (1985..=2031).map(|y| (y, i64::from(y % 7 + 1))).collect();
        amounts.extend([(OPEN_START, 11), (1950, 13), (2049, 17), (OPEN_END, 19)]);
        let rows = kept(ENDS, &amounts);
        for from in (0..=10_000).filter(|y| *y < 60 || (1940..=2060).contains(y) || *y > 9980) {
            let wanted: i64 = amounts
                .iter()
                .filter(|(y, _)| *y >= from)
                .map(|(_, n)| n)
                .sum();
            let parts = from_year_on(ENDS, from);
            let summed: i64 = parts
                .iter()
                .map(|p| {
                    let held: i64 = rows
                        .iter()
                        .filter(|(s, a, _)| {
                            *s == p.side && *a >= p.from && p.below.is_none_or(|b| *a < b)
                        })
                        .map(|(_, _, n)| n)
                        .sum();
                    p.sign * held
                })
                .sum();
            assert_eq!(summed, wanted, "from {from}: {parts:?}");
            let years: i32 = parts
                .iter()
                .filter(|p| p.side == ENDS.by_year)
                .map(|p| p.below.expect("years are bounded") - p.from)
                .sum();
            assert!(years <= 5, "from {from} reads {years} years: {parts:?}");
        }
    }

    #[test]
    fn the_sides_by_year_and_by_decade_are_distinct_letters() {
        let mut letters: Vec<char> = [ENDS, STARTS, LAST_SPANS, FIRST_SPANS]
            .iter()
            .flat_map(|s| [s.by_year, s.by_decade])
            .chain(['X', 'G'])
            .collect();
        letters.sort_unstable();
        letters.dedup();
        assert_eq!(letters.len(), 10, "{letters:?}");
    }
}
