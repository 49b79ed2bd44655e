//! Schemes that overlap, and framework cells no scheme targets, in one statement.

use domain::Result;
use domain::analytics::*;
use domain::framework::{GeographicOrientation, SupportModality, Theme};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::integer;
use crate::mapping::stored;
use crate::store::{SeaStore, db_err};

pub(crate) async fn scheme_overlaps(store: &SeaStore) -> Result<OverlapReport> {
    let db = store.connection();
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
    // The first statement finds both halves. Its rows are of three kinds, told apart by
    // `kind`: 'S' a scheme in an overlap, 'P' a practice shared by two or more schemes of that
    // overlap, 'U' a cell without any scheme. Shared practices are looked for among the
    // published practices linked to two or more schemes (indexed apart, see
    // `practice::count_scheme_links`) before their cells are compared. The small CTEs are
    // MATERIALIZED because SQLite 3.51 otherwise inlines them into plans that walk every
    // practice link or theme tag (seconds on 200,000 practices instead of a tenth).
    // SQLite, without statistics, would rather read every published practice by status.
    let several = match backend {
        DbBackend::Sqlite => " INDEXED BY ix_practice_several_schemes",
        _ => "",
    };
    let sql = format!(
        "WITH st AS MATERIALIZED (SELECT s.id AS sid, th.value AS theme, o.value AS orientation, m.value AS modality \
            FROM support_scheme s \
            JOIN scheme_tag th ON th.scheme_id = s.id AND th.dimension = 'THEME' \
            JOIN scheme_tag o ON o.scheme_id = s.id AND o.dimension = 'ORIENTATION' \
            JOIN scheme_tag m ON m.scheme_id = s.id AND m.dimension = 'SUPPORT_MODALITY' \
            WHERE s.status = 'PUBLISHED'), \
         overlapping AS (SELECT theme, orientation, modality FROM st GROUP BY theme, orientation, modality HAVING COUNT(DISTINCT sid) > 1), \
         members AS MATERIALIZED (SELECT st.theme, st.orientation, st.modality, st.sid FROM st \
            JOIN overlapping c ON c.theme = st.theme AND c.orientation = st.orientation AND c.modality = st.modality), \
         candidates AS MATERIALIZED (SELECT p.id AS practice_id FROM practice p{several} \
            WHERE p.scheme_links > 1 AND p.status = 'PUBLISHED'), \
         shared AS (SELECT m.theme, m.orientation, m.modality, ps.practice_id FROM candidates c \
            JOIN practice_scheme ps ON ps.practice_id = c.practice_id \
            JOIN members m ON m.sid = ps.scheme_id \
            GROUP BY m.theme, m.orientation, m.modality, ps.practice_id HAVING COUNT(DISTINCT m.sid) > 1), \
         framework(theme, orientation) AS (VALUES {cells}), \
         untargeted AS (SELECT theme, orientation FROM framework f WHERE NOT EXISTS ( \
            SELECT 1 FROM support_scheme s \
            JOIN scheme_tag a ON a.scheme_id = s.id AND a.dimension = 'THEME' AND a.value = f.theme \
            JOIN scheme_tag b ON b.scheme_id = s.id AND b.dimension = 'ORIENTATION' AND b.value = f.orientation \
            WHERE s.status = 'PUBLISHED')) \
         SELECT kind, theme, orientation, modality, v FROM ( \
            SELECT 'S' AS kind, theme, orientation, modality, sid AS v, 0 AS ord FROM members \
            UNION ALL SELECT 'P', theme, orientation, modality, practice_id, 0 FROM shared \
            UNION ALL SELECT 'U', theme, orientation, '', 0, 1 FROM untargeted) x \
         ORDER BY ord, theme, orientation, modality, kind DESC, v"
    );
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .map_err(db_err)?;
    let mut overlaps: Vec<SchemeOverlap> = Vec::new();
    let mut untargeted = Vec::new();
    for r in &rows {
        let kind: String = r.try_get_by_index(0).map_err(db_err)?;
        let text = |i: usize| -> Result<String> { r.try_get_by_index(i).map_err(db_err) };
        let theme = stored(Theme::parse(&text(1)?, "theme"))?;
        let orientation = stored(GeographicOrientation::parse(&text(2)?, "orientation"))?;
        let v = integer(r, 4)?;
        if kind == "U" {
            untargeted.push((theme, orientation));
            continue;
        }
        let modality = stored(SupportModality::parse(&text(3)?, "modality"))?;
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
        unsupported: unsupported(store, &untargeted).await?,
    })
}

/// The published practices of each cell no scheme targets, largest first, a cell with none
/// left out. A count of its own, apart from the first statement, so that it reads the
/// practices it counts (those of the cells' themes, through the index of tags) and no others;
/// a well-supported base costs nothing here.
async fn unsupported(
    store: &SeaStore,
    cells: &[(Theme, GeographicOrientation)],
) -> Result<Vec<UnsupportedCell>> {
    if cells.is_empty() {
        return Ok(Vec::new());
    }
    let db = store.connection();
    let backend = db.get_database_backend();
    let mut themes: Vec<&str> = cells.iter().map(|(t, _)| t.as_str()).collect();
    themes.sort_unstable();
    themes.dedup();
    let themes = themes
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let pairs = cells
        .iter()
        .map(|(t, o)| format!("('{}', '{}')", t.as_str(), o.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT t.value, p.orientation, COUNT(*) AS n FROM practice_tag t \
         JOIN practice p ON p.id = t.practice_id AND p.status = 'PUBLISHED' \
         WHERE t.dimension = 'THEME' AND t.value IN ({themes}) \
         AND (t.value, p.orientation) IN (VALUES {pairs}) \
         GROUP BY t.value, p.orientation ORDER BY n DESC, t.value, p.orientation"
    );
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let text = |i: usize| -> Result<String> { r.try_get_by_index(i).map_err(db_err) };
            Ok(UnsupportedCell {
                theme: stored(Theme::parse(&text(0)?, "theme"))?,
                orientation: stored(GeographicOrientation::parse(&text(1)?, "orientation"))?,
                practices: integer(r, 2)?,
            })
        })
        .collect()
}
