//! Schemes that overlap, and framework cells no scheme targets.
//!
//! Both come from the published schemes' tags, a few thousand rows however large the base, and
//! are grouped here: one statement grouping them by cell three times over (the cells, the
//! overlapping ones, their schemes) and sorting the result took 8-13 ms of the database's time
//! on every question, for 2,258 tags of 354 schemes. Only the practices shared by overlapping
//! schemes, and the practices of cells without any scheme, are read from the base.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::Result;
use domain::analytics::*;
use domain::entities::Id;
use domain::framework::{GeographicOrientation, SupportModality, Theme};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::integer;
use crate::mapping::stored;
use crate::store::{SeaStore, db_err};

/// A cell of the framework as schemes target it. Ordered by the vocabulary's text, the same on
/// both databases whatever PostgreSQL's collation.
type Cell = (&'static str, &'static str, &'static str);

/// What a published scheme targets.
#[derive(Default)]
struct Targets {
    themes: Vec<Theme>,
    orientations: Vec<GeographicOrientation>,
    modalities: Vec<SupportModality>,
}

impl Targets {
    fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        self.themes.iter().flat_map(move |t| {
            self.orientations.iter().flat_map(move |o| {
                self.modalities
                    .iter()
                    .map(move |m| (t.as_str(), o.as_str(), m.as_str()))
            })
        })
    }
}

pub(crate) async fn scheme_overlaps(store: &SeaStore) -> Result<OverlapReport> {
    let (targets, links) = tokio::try_join!(published_targets(store), shared_links(store))?;

    let mut schemes_of: BTreeMap<Cell, Vec<Id>> = BTreeMap::new();
    for (id, t) in &targets {
        for cell in t.cells() {
            schemes_of.entry(cell).or_default().push(*id);
        }
    }
    schemes_of.retain(|_, ids| ids.len() > 1);

    // A practice is shared in a cell when two or more of its schemes overlap there.
    let mut shared: HashMap<Cell, BTreeSet<Id>> = HashMap::new();
    for (practice, schemes) in &links {
        let mut in_cell: HashMap<Cell, usize> = HashMap::new();
        for cell in schemes
            .iter()
            .filter_map(|s| targets.get(s))
            .flat_map(Targets::cells)
            .filter(|c| schemes_of.contains_key(c))
        {
            *in_cell.entry(cell).or_default() += 1;
        }
        for (cell, n) in in_cell {
            if n > 1 {
                shared.entry(cell).or_default().insert(*practice);
            }
        }
    }

    let mut overlaps = Vec::with_capacity(schemes_of.len());
    for ((theme, orientation, modality), mut scheme_ids) in schemes_of {
        scheme_ids.sort_unstable();
        let shared_practice_ids = shared
            .remove(&(theme, orientation, modality))
            .map(|ids| ids.into_iter().collect())
            .unwrap_or_default();
        overlaps.push(SchemeOverlap {
            theme: stored(Theme::parse(theme, "theme"))?,
            orientation: stored(GeographicOrientation::parse(orientation, "orientation"))?,
            modality: stored(SupportModality::parse(modality, "modality"))?,
            scheme_ids,
            shared_practice_ids,
        });
    }

    // The theme × orientation cells no published scheme targets, whatever its modality.
    let targeted: BTreeSet<(Theme, GeographicOrientation)> = targets
        .values()
        .flat_map(|t| {
            t.themes
                .iter()
                .flat_map(|th| t.orientations.iter().map(move |o| (*th, *o)))
        })
        .collect();
    let mut untargeted: Vec<(Theme, GeographicOrientation)> = Theme::ALL
        .iter()
        .flat_map(|t| GeographicOrientation::ALL.iter().map(move |o| (*t, *o)))
        .filter(|cell| !targeted.contains(cell))
        .collect();
    untargeted.sort_by_key(|(t, o)| (t.as_str(), o.as_str()));

    Ok(OverlapReport {
        overlaps,
        unsupported: unsupported(store, &untargeted).await?,
    })
}

/// The themes, orientations and modalities of every published scheme, by scheme.
async fn published_targets(store: &SeaStore) -> Result<HashMap<Id, Targets>> {
    let db = store.connection();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT t.scheme_id, t.dimension, t.value FROM scheme_tag t \
             JOIN support_scheme s ON s.id = t.scheme_id AND s.status = 'PUBLISHED' \
             WHERE t.dimension IN ('THEME', 'ORIENTATION', 'SUPPORT_MODALITY')",
        ))
        .await
        .map_err(db_err)?;
    let mut targets: HashMap<Id, Targets> = HashMap::new();
    for r in &rows {
        let dimension: String = r.try_get_by_index(1).map_err(db_err)?;
        let value: String = r.try_get_by_index(2).map_err(db_err)?;
        let t = targets.entry(integer(r, 0)?).or_default();
        match dimension.as_str() {
            "THEME" => t.themes.push(stored(Theme::parse(&value, "theme"))?),
            "ORIENTATION" => t
                .orientations
                .push(stored(GeographicOrientation::parse(&value, "orientation"))?),
            _ => t
                .modalities
                .push(stored(SupportModality::parse(&value, "modality"))?),
        }
    }
    Ok(targets)
}

/// The schemes of each published practice linked to two or more, the only ones two schemes can
/// share (indexed apart, see `practice::count_scheme_links`).
async fn shared_links(store: &SeaStore) -> Result<HashMap<Id, Vec<Id>>> {
    let db = store.connection();
    let backend = db.get_database_backend();
    // SQLite, without statistics, would rather read every published practice by status.
    let several = match backend {
        DbBackend::Sqlite => " INDEXED BY ix_practice_several_schemes",
        _ => "",
    };
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT ps.practice_id, ps.scheme_id FROM practice p{several} \
                 JOIN practice_scheme ps ON ps.practice_id = p.id \
                 WHERE p.scheme_links > 1 AND p.status = 'PUBLISHED'"
            ),
        ))
        .await
        .map_err(db_err)?;
    let mut links: HashMap<Id, Vec<Id>> = HashMap::new();
    for r in &rows {
        links
            .entry(integer(r, 0)?)
            .or_default()
            .push(integer(r, 1)?);
    }
    Ok(links)
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
