//! The funding-gap table in one SQL statement (standard SQL with CTEs, the same on SQLite and
//! PostgreSQL). Every literal spliced into the text comes from a closed vocabulary or is an
//! integer; nothing a client types reaches it.

use async_trait::async_trait;
use domain::analytics::*;
use domain::entities::Id;
use domain::framework::{Bloc, FundingStatus, GeographicOrientation, Theme};
use domain::repository::{CityRepository, NeedRepository, ReferenceRepository};
use domain::{Error, Result, Visibility};
use sea_orm::{ConnectionTrait, Statement};

use crate::store::{SeaStore, db_err};

/// `(owner id, value)` rows of one dimension for practices, for those whose id satisfies
/// `restrict` (an `IN (…)` clause) when given.
pub(crate) fn practice_source(d: Option<GapDimension>, restrict: Option<&str>) -> String {
    let only = |column: &str, joiner: &str| {
        restrict
            .map(|r| format!(" {joiner} {column} {r}"))
            .unwrap_or_default()
    };
    match d {
        None => format!(
            "SELECT id AS oid, 'ALL' AS v FROM practice{}",
            only("id", "WHERE")
        ),
        Some(GapDimension::Theme) => format!(
            "SELECT practice_id AS oid, value AS v FROM practice_tag WHERE dimension = 'THEME'{}",
            only("practice_id", "AND")
        ),
        Some(GapDimension::ManagementFocus) => format!(
            "SELECT practice_id AS oid, value AS v FROM practice_tag WHERE dimension = 'MANAGEMENT_FOCUS'{}",
            only("practice_id", "AND")
        ),
        Some(GapDimension::Orientation) => format!(
            "SELECT id AS oid, orientation AS v FROM practice{}",
            only("id", "WHERE")
        ),
        Some(GapDimension::Modality) => format!(
            "SELECT id AS oid, modality AS v FROM practice{}",
            only("id", "WHERE")
        ),
        Some(GapDimension::Bloc) => format!(
            "SELECT DISTINCT pc.practice_id AS oid, co.bloc AS v FROM practice_city pc \
             JOIN city ci ON ci.id = pc.city_id JOIN country co ON co.code = ci.country_code{}",
            only("pc.practice_id", "WHERE")
        ),
        Some(GapDimension::Country) => format!(
            "SELECT DISTINCT pc.practice_id AS oid, ci.country_code AS v FROM practice_city pc \
             JOIN city ci ON ci.id = pc.city_id{}",
            only("pc.practice_id", "WHERE")
        ),
    }
}

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

/// The funding-gap statement. With `rollup`, the practice side (cells, their amounts, donors and
/// schemes) is read from that grouping's maintained rollup, which holds no year filter; without
/// it, from the base rows.
pub(crate) fn funding_gap_sql(
    by: &[GapDimension],
    filter: &GapFilter,
    rollup: Option<&crate::rollup::Combo>,
) -> String {
    let dims: Vec<Option<GapDimension>> = if by.is_empty() {
        vec![None]
    } else {
        by.iter().copied().map(Some).collect()
    };
    let keys: Vec<String> = (1..=dims.len()).map(|i| format!("k{i}")).collect();
    let key_list = keys.join(", ");
    let on = |a: &str, b: &str| {
        keys.iter()
            .map(|k| format!("{a}.{k} = {b}.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    };

    let mut agenda = Vec::new();
    if let Some(donor) = filter.agenda_of_donor {
        for (k, d) in keys.iter().zip(&dims) {
            if let Some(dim) = d.and_then(agenda_dimension) {
                agenda.push(format!(
                    "(NOT EXISTS (SELECT 1 FROM donor_agenda WHERE donor_id = {donor} AND dimension = '{dim}') \
                     OR {k} IN (SELECT value FROM donor_agenda WHERE donor_id = {donor} AND dimension = '{dim}'))"
                ));
            }
        }
    }
    let agenda_where = if agenda.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", agenda.join(" AND "))
    };

    // Practices active in the period: started by its end and not ended before its start.
    let mut active = vec!["p.status = 'PUBLISHED'".to_string()];
    if let Some(to) = filter.to_year {
        active.push(format!("(p.start_year IS NULL OR p.start_year <= {to})"));
    }
    if let Some(from) = filter.from_year {
        active.push(format!("(p.end_year IS NULL OR p.end_year >= {from})"));
    }
    let mut funding_period = Vec::new();
    if let Some(from) = filter.from_year {
        funding_period.push(format!("f.year >= {from}"));
    }
    if let Some(to) = filter.to_year {
        funding_period.push(format!("f.year <= {to}"));
    }
    let funding_where = funding_period
        .iter()
        .map(|c| format!(" AND {c}"))
        .collect::<String>();
    let funded = status_list(&filter.statuses);

    let practice_joins: String = dims
        .iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                " JOIN ({}) d{i} ON d{i}.oid = p.id",
                practice_source(*d, None)
            )
        })
        .collect();
    let practice_keys: String = (0..dims.len())
        .map(|i| format!(", d{i}.v AS k{}", i + 1))
        .collect();
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
                           SUM(CASE WHEN f.status IN ({funded}) THEN f.amount_usd_cents ELSE 0 END) AS funded, \
                           SUM(CASE WHEN f.status = 'PLEDGED' THEN f.amount_usd_cents ELSE 0 END) AS pledged \
                    FROM funding f WHERE f.practice_id IS NOT NULL AND f.amount_usd_cents IS NOT NULL{funding_where} GROUP BY f.practice_id), \
             pcell AS (SELECT {pk_keys}, COUNT(*) AS practices, SUM(COALESCE(p.amount_required_usd_cents, 0)) AS req, \
                              SUM(COALESCE(pf.funded, 0)) AS funded, SUM(COALESCE(pf.pledged, 0)) AS pledged \
                       FROM pk JOIN practice p ON p.id = pk.id LEFT JOIN pf ON pf.id = pk.id GROUP BY {pk_keys}), \
             dcell AS (SELECT {pk_keys}, COUNT(DISTINCT f.donor_id) AS donors FROM pk JOIN funding f ON f.practice_id = pk.id \
                       WHERE f.donor_id IS NOT NULL{funding_where} GROUP BY {pk_keys}), \
             scell AS (SELECT {pk_keys}, COUNT(DISTINCT ps.scheme_id) AS schemes FROM pk JOIN practice_scheme ps ON ps.practice_id = pk.id \
                       GROUP BY {pk_keys}), ",
            active = active.join(" AND "),
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
            let funded_sum = filter
                .statuses
                .iter()
                .map(|s| match s {
                    FundingStatus::Committed => "committed",
                    FundingStatus::Disbursed => "disbursed",
                    FundingStatus::Pledged => "0",
                })
                .collect::<Vec<_>>()
                .join(" + ");
            let member = |kind: &str, alias: &str| {
                format!(
                    "SELECT {key_list}, COUNT(*) AS {alias} FROM (SELECT {mapped} FROM gap_rollup_member \
                     WHERE combo = '{name}' AND kind = '{kind}' AND n > 0) m0 {agenda_where} GROUP BY {key_list}"
                )
            };
            format!(
                "pcell AS (SELECT * FROM (SELECT {mapped}, practices, required AS req, {funded_sum} AS funded, pledged \
                           FROM gap_rollup WHERE combo = '{name}' AND practices > 0) r0 {agenda_where}), \
                 dcell AS ({donors}), scell AS ({schemes}), ",
                donors = member("D", "donors"),
                schemes = member("S", "schemes"),
            )
        }
    };

    format!(
        "WITH {practice_side}\
         nk AS (SELECT * FROM (SELECT n.id AS id, n.amount_required_usd_cents AS req{need_keys} FROM need n{need_joins} \
                WHERE n.publication = 'PUBLISHED' AND n.status = 'OPEN') nk0 {agenda_where}), \
         ncell AS (SELECT {key_list}, COUNT(*) AS needs, SUM(COALESCE(req, 0)) AS req FROM nk GROUP BY {key_list}), \
         cells AS (SELECT {key_list} FROM pcell UNION SELECT {key_list} FROM ncell) \
         SELECT {c_keys}, COALESCE(ncell.needs, 0) AS open_needs, COALESCE(pcell.practices, 0) AS practices, \
                COALESCE(pcell.req, 0) + COALESCE(ncell.req, 0) AS required, COALESCE(pcell.funded, 0) AS funded, \
                COALESCE(pcell.pledged, 0) AS pledged, COALESCE(scell.schemes, 0) AS schemes, COALESCE(dcell.donors, 0) AS donors \
         FROM cells LEFT JOIN pcell ON {on_p} LEFT JOIN ncell ON {on_n} LEFT JOIN dcell ON {on_d} LEFT JOIN scell ON {on_s} \
         ORDER BY COALESCE(pcell.req, 0) + COALESCE(ncell.req, 0) - COALESCE(pcell.funded, 0) DESC, {c_keys}",
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
        let combo = crate::rollup::Combo::of(by);
        let sql = if filter.from_year.is_none() && filter.to_year.is_none() {
            crate::rollup::ensure_built(self.connection(), &combo).await?;
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
                    required_cents: int(n + 2)?,
                    funded_cents: int(n + 3)?,
                    pledged_cents: int(n + 4)?,
                    scheme_count: int(n + 5)?,
                    donor_count: int(n + 6)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The order of the statement, with the over-funded cells' gap counted as zero.
        cells.sort_by_key(|c| std::cmp::Reverse(c.gap_cents()));
        Ok(cells)
    }
}

/// The orientations a scheme or an agenda may carry and still reach a city of this bloc.
fn reaching(bloc: Bloc) -> &'static str {
    match bloc {
        Bloc::North => "'NORTH_NORTH', 'NORTH_SOUTH', 'WEST_EAST', 'GLOBAL'",
        Bloc::East => "'WEST_EAST', 'GLOBAL'",
        Bloc::South => "'NORTH_SOUTH', 'SOUTH_SOUTH', 'GLOBAL'",
    }
}

/// An integer column whatever its SQL type: PostgreSQL answers SUM with NUMERIC and small
/// expressions with INTEGER, SQLite everything with INTEGER.
fn integer(row: &sea_orm::QueryResult, i: usize) -> Result<i64> {
    if let Ok(v) = row.try_get_by_index::<i64>(i) {
        return Ok(v);
    }
    if let Ok(v) = row.try_get_by_index::<i32>(i) {
        return Ok(i64::from(v));
    }
    let d: rust_decimal::Decimal = row.try_get_by_index(i).map_err(db_err)?;
    i64::try_from(d).map_err(Error::internal)
}

/// Words too common in the base to say anything about a match.
const STOP_WORDS: &[&str] = &[
    "about", "after", "also", "among", "and", "been", "city", "cities", "could", "does", "each",
    "from", "have", "into", "local", "more", "most", "need", "needs", "other", "over", "that",
    "their", "them", "there", "these", "they", "this", "those", "through", "under", "used",
    "using", "what", "when", "where", "which", "while", "with", "within", "without", "would",
];

/// At most eight of the longest distinct words of a text that carry meaning: four letters or
/// more, not a stop word, lower-cased, letters and digits only.
pub(crate) fn significant_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 4 && !STOP_WORDS.contains(&w.as_str()))
        .collect();
    words.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
    words.dedup();
    words.truncate(8);
    words
}

#[async_trait]
impl MatchRepository for SeaStore {
    async fn scheme_overlaps(&self) -> Result<OverlapReport> {
        let db = self.connection();
        let backend = db.get_database_backend();
        // Every theme × orientation cell of the framework; only those no scheme targets have
        // their practices counted, so a well-supported base costs next to nothing here.
        let cells = Theme::ALL
            .iter()
            .flat_map(|t| {
                GeographicOrientation::ALL
                    .iter()
                    .map(move |o| format!("('{}', '{}')", t.as_str(), o.as_str()))
            })
            .collect::<Vec<_>>()
            .join(", ");
        // One statement answers both halves. Its rows are of three kinds, told apart by `kind`:
        // 'S' a scheme in an overlap, 'P' a practice shared by two or more schemes of that
        // overlap, 'U' a cell without any scheme (`v` is then its number of practices).
        // Shared practices are looked for among those linked to two or more overlapping
        // schemes at all (an integer grouping over the links) before their cells are compared,
        // and practices are counted only for the themes of untargeted cells. The small CTEs are
        // MATERIALIZED because SQLite 3.51 otherwise inlines them into plans that walk every
        // practice link or theme tag (seconds on 200,000 practices instead of a tenth).
        let sql = format!(
            "WITH st AS MATERIALIZED (SELECT s.id AS sid, t.value AS theme, o.value AS orientation, m.value AS modality \
                FROM support_scheme s \
                JOIN scheme_tag t ON t.scheme_id = s.id AND t.dimension = 'THEME' \
                JOIN scheme_tag o ON o.scheme_id = s.id AND o.dimension = 'ORIENTATION' \
                JOIN scheme_tag m ON m.scheme_id = s.id AND m.dimension = 'SUPPORT_MODALITY' \
                WHERE s.status = 'PUBLISHED'), \
             overlapping AS (SELECT theme, orientation, modality FROM st GROUP BY theme, orientation, modality HAVING COUNT(DISTINCT sid) > 1), \
             members AS MATERIALIZED (SELECT st.theme, st.orientation, st.modality, st.sid FROM st \
                JOIN overlapping c ON c.theme = st.theme AND c.orientation = st.orientation AND c.modality = st.modality), \
             candidates AS MATERIALIZED (SELECT ps.practice_id FROM practice_scheme ps \
                WHERE ps.scheme_id IN (SELECT sid FROM members) GROUP BY ps.practice_id HAVING COUNT(*) > 1), \
             shared AS (SELECT m.theme, m.orientation, m.modality, ps.practice_id FROM candidates c \
                JOIN practice p ON p.id = c.practice_id AND p.status = 'PUBLISHED' \
                JOIN practice_scheme ps ON ps.practice_id = c.practice_id \
                JOIN members m ON m.sid = ps.scheme_id \
                GROUP BY m.theme, m.orientation, m.modality, ps.practice_id HAVING COUNT(DISTINCT m.sid) > 1), \
             framework(theme, orientation) AS (VALUES {cells}), \
             untargeted AS MATERIALIZED (SELECT theme, orientation FROM framework f WHERE NOT EXISTS ( \
                SELECT 1 FROM support_scheme s \
                JOIN scheme_tag a ON a.scheme_id = s.id AND a.dimension = 'THEME' AND a.value = f.theme \
                JOIN scheme_tag b ON b.scheme_id = s.id AND b.dimension = 'ORIENTATION' AND b.value = f.orientation \
                WHERE s.status = 'PUBLISHED')), \
             unsupported AS (SELECT g.theme, g.orientation, g.n FROM ( \
                SELECT t.value AS theme, p.orientation AS orientation, COUNT(*) AS n FROM practice_tag t \
                JOIN practice p ON p.id = t.practice_id AND p.status = 'PUBLISHED' \
                WHERE t.dimension = 'THEME' AND t.value IN (SELECT theme FROM untargeted) \
                GROUP BY t.value, p.orientation) g \
                JOIN untargeted u ON u.theme = g.theme AND u.orientation = g.orientation) \
             SELECT kind, theme, orientation, modality, v FROM ( \
                SELECT 'S' AS kind, theme, orientation, modality, sid AS v, 0 AS ord FROM members \
                UNION ALL SELECT 'P', theme, orientation, modality, practice_id, 0 FROM shared \
                UNION ALL SELECT 'U', theme, orientation, '', n, -n FROM unsupported) x \
             ORDER BY ord, theme, orientation, modality, kind DESC, v"
        );
        let rows = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .map_err(db_err)?;
        let mut overlaps: Vec<SchemeOverlap> = Vec::new();
        let mut unsupported = Vec::new();
        for r in &rows {
            let kind: String = r.try_get_by_index(0).map_err(db_err)?;
            let (theme, orientation, modality): (String, String, String) = (
                r.try_get_by_index(1).map_err(db_err)?,
                r.try_get_by_index(2).map_err(db_err)?,
                r.try_get_by_index(3).map_err(db_err)?,
            );
            let v = integer(r, 4)?;
            if kind == "U" {
                unsupported.push(UnsupportedCell {
                    theme,
                    orientation,
                    practices: v,
                });
                continue;
            }
            // Rows come grouped by cell, its schemes ('S') before its practices ('P').
            let same_cell = overlaps.last().is_some_and(|o| {
                o.theme == theme && o.orientation == orientation && o.modality == modality
            });
            if !same_cell {
                overlaps.push(SchemeOverlap {
                    theme,
                    orientation,
                    modality,
                    scheme_ids: vec![],
                    shared_practice_ids: vec![],
                });
            }
            let Some(o) = overlaps.last_mut() else {
                continue;
            };
            if kind == "S" {
                o.scheme_ids.push(v);
            } else {
                o.shared_practice_ids.push(v);
            }
        }
        Ok(OverlapReport {
            overlaps,
            unsupported,
        })
    }

    async fn matches(
        &self,
        need_id: Id,
        first: u64,
        vis: &Visibility,
    ) -> Result<Option<NeedMatches>> {
        let Some(need) = self.needs_by_ids(&[need_id], vis).await?.pop() else {
            return Ok(None);
        };
        let city = self
            .cities_by_ids(&[need.city_id])
            .await?
            .pop()
            .ok_or_else(|| Error::internal("need without city"))?;
        let bloc = self
            .countries_by_codes(std::slice::from_ref(&city.country_code))
            .await?
            .pop()
            .map(|c| c.bloc)
            .unwrap_or(Bloc::South);
        let db = self.connection();
        let n = need_id;
        let modality = need
            .modality
            .map(|m| format!("'{}'", m.as_str()))
            .unwrap_or_else(|| "NULL".into());

        // Practices sharing a theme, ranked: shared themes weigh most, then management focus,
        // modality and the words of the need's text found in the practice's. Each factor is
        // one grouped pass over its tag or full-text index, joined by practice.
        let shared = |dim: &str| {
            format!(
                "SELECT t.practice_id AS id, COUNT(*) AS n FROM practice_tag t \
                 JOIN need_tag nt ON nt.dimension = t.dimension AND nt.value = t.value \
                 WHERE nt.need_id = {n} AND t.dimension = '{dim}' GROUP BY t.practice_id"
            )
        };
        let words = significant_words(&format!(
            "{} {}",
            need.title,
            need.description.as_deref().unwrap_or("")
        ));
        let text = if words.is_empty() {
            "SELECT id, 0 AS n FROM practice WHERE 1 = 0".to_string()
        } else {
            let postgres = db.get_database_backend() == sea_orm::DbBackend::Postgres;
            // Words are letters and digits only (see `significant_words`): safe to splice.
            let per_word = words
                .iter()
                .map(|w| {
                    if postgres {
                        format!("SELECT id FROM practice WHERE search @@ to_tsquery('simple', '{w}')")
                    } else {
                        format!("SELECT rowid AS id FROM practice_fts WHERE practice_fts MATCH '\"{w}\"'")
                    }
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            format!("SELECT id, COUNT(*) AS n FROM ({per_word}) w GROUP BY id")
        };
        // The four lists come from one statement, told apart by `kind`:
        // - 'P' the ranked practices;
        // - 'C' the cities that hold that experience (those of the ranked practices, the asking
        //   city aside, each scored by the sum of its practices' scores), one row per city and
        //   practice, best city first, carrying the practice's title for the reason. The CROSS
        //   JOIN keeps SQLite's loop on the few ranked practices; left free, it walks every
        //   practice_city row in city order to save a sort;
        // - 'S' open schemes targeting the need's themes, with no orientation or one that
        //   reaches the city's bloc;
        // - 'D' donors whose agenda covers the need's themes or the city's country (an
        //   orientation reaching the city adds to the score).
        let reach = reaching(bloc);
        // A country code is two validated letters: safe to splice.
        let country = &city.country_code;
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "WITH ranked AS MATERIALIZED (SELECT id, themes, focus, same_modality, words, \
                       3 * themes + 2 * focus + same_modality + words AS score FROM ( \
                       SELECT p.id, th.n AS themes, COALESCE(fo.n, 0) AS focus, \
                         CASE WHEN p.modality = {modality} THEN 1 ELSE 0 END AS same_modality, COALESCE(tx.n, 0) AS words \
                       FROM ({themes}) th JOIN practice p ON p.id = th.id \
                       LEFT JOIN ({focus}) fo ON fo.id = p.id LEFT JOIN ({text}) tx ON tx.id = p.id \
                       WHERE p.status = 'PUBLISHED') x \
                     ORDER BY score DESC, id LIMIT {first}), \
                   held AS (SELECT pc.city_id, SUM(r.score) AS score FROM ranked r \
                     CROSS JOIN practice_city pc WHERE pc.practice_id = r.id AND pc.city_id <> {city} \
                     GROUP BY pc.city_id ORDER BY score DESC, pc.city_id LIMIT {first}), \
                   schemes AS (SELECT id, themes, modalities, 2 * themes + modalities AS score FROM (SELECT s.id, \
                       (SELECT COUNT(*) FROM scheme_tag t JOIN need_tag nt ON nt.dimension = t.dimension AND nt.value = t.value \
                        WHERE t.scheme_id = s.id AND nt.need_id = {n} AND t.dimension = 'THEME') AS themes, \
                       (SELECT COUNT(*) FROM scheme_tag t JOIN need_tag nt ON nt.dimension = t.dimension AND nt.value = t.value \
                        WHERE t.scheme_id = s.id AND nt.need_id = {n} AND t.dimension = 'SUPPORT_MODALITY') AS modalities \
                     FROM support_scheme s WHERE s.status = 'PUBLISHED' AND s.open_for_applications = {open} \
                       AND (NOT EXISTS (SELECT 1 FROM scheme_tag o WHERE o.scheme_id = s.id AND o.dimension = 'ORIENTATION') \
                            OR EXISTS (SELECT 1 FROM scheme_tag o WHERE o.scheme_id = s.id AND o.dimension = 'ORIENTATION' AND o.value IN ({reach})))) x \
                     WHERE themes > 0 ORDER BY score DESC, id LIMIT {first}), \
                   donors AS (SELECT id, themes, country, orientation, 2 * themes + 3 * country + orientation AS score FROM (SELECT d.id, \
                       (SELECT COUNT(*) FROM donor_agenda a JOIN need_tag nt ON nt.dimension = a.dimension AND nt.value = a.value \
                        WHERE a.donor_id = d.id AND nt.need_id = {n} AND a.dimension = 'THEME') AS themes, \
                       (SELECT COUNT(*) FROM donor_agenda a WHERE a.donor_id = d.id AND a.dimension = 'COUNTRY' AND a.value = '{country}') AS country, \
                       (SELECT COUNT(*) FROM donor_agenda a WHERE a.donor_id = d.id AND a.dimension = 'ORIENTATION' AND a.value IN ({reach})) AS orientation \
                     FROM donor d) x \
                     WHERE themes > 0 OR country > 0 ORDER BY score DESC, id LIMIT {first}) \
                 SELECT 'P' AS kind, id, score, themes AS a, focus AS b, same_modality AS c, words AS d, \
                   0 AS practice_score, '' AS title FROM ranked \
                 UNION ALL SELECT 'C', h.city_id, h.score, r.id, 0, 0, 0, r.score, p.title FROM held h \
                   JOIN practice_city pc ON pc.city_id = h.city_id JOIN ranked r ON r.id = pc.practice_id \
                   JOIN practice p ON p.id = r.id \
                 UNION ALL SELECT 'S', id, score, themes, modalities, 0, 0, 0, '' FROM schemes \
                 UNION ALL SELECT 'D', id, score, themes, country, orientation, 0, 0, '' FROM donors \
                 ORDER BY kind, score DESC, id, practice_score DESC, a",
                    themes = shared("THEME"),
                    focus = shared("MANAGEMENT_FOCUS"),
                    city = need.city_id,
                    open = if db.get_database_backend() == sea_orm::DbBackend::Postgres { "TRUE" } else { "1" },
                ),
            ))
            .await
            .map_err(db_err)?;
        let mut practice_matches: Vec<Match> = Vec::new();
        let mut cities: Vec<Match> = Vec::new();
        let mut schemes: Vec<Match> = Vec::new();
        let mut donors: Vec<Match> = Vec::new();
        for r in &rows {
            let kind: String = r.try_get_by_index(0).map_err(db_err)?;
            let v = (1..8).map(|i| integer(r, i)).collect::<Result<Vec<_>>>()?;
            let (id, score) = (v[0], v[1]);
            let mut reasons = Vec::new();
            match kind.as_str() {
                "P" => {
                    if v[2] > 0 {
                        reasons.push(format!("shares {} theme(s) with the need", v[2]));
                    }
                    if v[3] > 0 {
                        reasons.push(format!("shares {} management focus(es)", v[3]));
                    }
                    if v[4] > 0 {
                        reasons.push("same linking modality".into());
                    }
                    if v[5] > 0 {
                        reasons.push(format!(
                            "its text has {} of the need's {} key word(s)",
                            v[5],
                            words.len()
                        ));
                    }
                    practice_matches.push(Match { id, score, reasons });
                }
                "C" => {
                    let title: String = r.try_get_by_index(8).map_err(db_err)?;
                    let reason = format!("took part in \"{title}\"");
                    match cities.last_mut() {
                        Some(c) if c.id == id => c.reasons.push(reason),
                        _ => cities.push(Match {
                            id,
                            score,
                            reasons: vec![reason],
                        }),
                    }
                }
                "S" => {
                    reasons.push(format!(
                        "open, targets {} of the need's themes and reaches {} cities",
                        v[2],
                        bloc.as_str()
                    ));
                    if v[3] > 0 {
                        reasons.push(format!("offers {} of the support modalities wanted", v[3]));
                    }
                    schemes.push(Match { id, score, reasons });
                }
                _ => {
                    if v[2] > 0 {
                        reasons.push(format!("agenda covers {} of the need's themes", v[2]));
                    }
                    if v[3] > 0 {
                        reasons.push(format!("agenda names {country}"));
                    }
                    if v[4] > 0 {
                        reasons.push(format!(
                            "agenda orientation reaches {} cities",
                            bloc.as_str()
                        ));
                    }
                    donors.push(Match { id, score, reasons });
                }
            }
        }
        Ok(Some(NeedMatches {
            practices: practice_matches,
            cities,
            schemes,
            donors,
        }))
    }
}

#[async_trait]
impl ResultsRepository for SeaStore {
    async fn results_by_theme(&self) -> Result<Vec<ThemeResults>> {
        let db = self.connection();
        let backend = db.get_database_backend();
        // Indicator values are exact decimal text; NUMERIC compares them as numbers on both databases.
        let sql = "SELECT t.value AS theme, COUNT(DISTINCT p.id) AS practices, COUNT(DISTINCT i.practice_id) AS with_indicators, \
                   COUNT(i.id) AS indicators, \
                   SUM(CASE WHEN i.target IS NOT NULL AND i.actual IS NOT NULL THEN 1 ELSE 0 END) AS with_target, \
                   SUM(CASE WHEN i.target IS NOT NULL AND i.actual IS NOT NULL \
                            AND CAST(i.actual AS NUMERIC) >= CAST(i.target AS NUMERIC) THEN 1 ELSE 0 END) AS met \
                   FROM practice p JOIN practice_tag t ON t.practice_id = p.id AND t.dimension = 'THEME' \
                   LEFT JOIN indicator i ON i.practice_id = p.id \
                   WHERE p.status = 'PUBLISHED' GROUP BY t.value ORDER BY t.value";
        let rows = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(ThemeResults {
                    theme: r.try_get_by_index(0).map_err(db_err)?,
                    practices: integer(r, 1)?,
                    practices_with_indicators: integer(r, 2)?,
                    indicators: integer(r, 3)?,
                    indicators_with_target: integer(r, 4)?,
                    targets_met: integer(r, 5)?,
                })
            })
            .collect()
    }
}
