//! Schemes that overlap, and framework cells no scheme targets.
//!
//! Both come from the published schemes' tags, a few thousand rows however large the base, and
//! are grouped here: one statement grouping them by cell three times over (the cells, the
//! overlapping ones, their schemes) and sorting the result took 8-13 ms of the database's time
//! on every question, for 2,258 tags of 354 schemes. Only the practices shared by overlapping
//! schemes, and the practices of cells without any scheme, are read from the base.

use std::collections::{BTreeSet, HashMap};

use domain::Result;
use domain::analytics::*;
use domain::entities::Id;
use domain::framework::{GeographicOrientation, SupportModality, Theme};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::integer;
use crate::mapping::stored;
use crate::store::{SeaStore, db_err};

/// A theme × orientation × modality cell as a number, numbered in the order of the
/// vocabulary's text (the same on both databases whatever PostgreSQL's collation), so that
/// the cells are counted in arrays and come out sorted. Hashing and comparing the three texts
/// was a tenth of the service's time on this question.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Cell(u16);

/// The cells' numbering: each vocabulary's values in the order of their text.
struct Cells {
    themes: Vec<Theme>,
    orientations: Vec<GeographicOrientation>,
    modalities: Vec<SupportModality>,
}

impl Cells {
    fn new() -> Cells {
        let mut themes = Theme::ALL.to_vec();
        themes.sort_by_key(|t| t.as_str());
        let mut orientations = GeographicOrientation::ALL.to_vec();
        orientations.sort_by_key(|o| o.as_str());
        let mut modalities = SupportModality::ALL.to_vec();
        modalities.sort_by_key(|m| m.as_str());
        Cells {
            themes,
            orientations,
            modalities,
        }
    }

    fn len(&self) -> usize {
        self.themes.len() * self.orientations.len() * self.modalities.len()
    }

    fn cell(&self, t: Theme, o: GeographicOrientation, m: SupportModality) -> Cell {
        let rank = |i: Option<usize>| i.unwrap_or_default();
        let t = rank(self.themes.iter().position(|x| *x == t));
        let o = rank(self.orientations.iter().position(|x| *x == o));
        let m = rank(self.modalities.iter().position(|x| *x == m));
        let n = (t * self.orientations.len() + o) * self.modalities.len() + m;
        Cell(u16::try_from(n).unwrap_or(u16::MAX))
    }

    fn values(&self, cell: Cell) -> (Theme, GeographicOrientation, SupportModality) {
        let n = usize::from(cell.0);
        let (no, nm) = (self.orientations.len(), self.modalities.len());
        (
            self.themes[n / (no * nm)],
            self.orientations[n / nm % no],
            self.modalities[n % nm],
        )
    }
}

/// What a published scheme targets, and the cells that makes.
#[derive(Default)]
struct Targets {
    themes: Vec<Theme>,
    orientations: Vec<GeographicOrientation>,
    modalities: Vec<SupportModality>,
    cells: Vec<Cell>,
}

impl Targets {
    fn number(&mut self, cells: &Cells) {
        self.cells.clear();
        for t in &self.themes {
            for o in &self.orientations {
                for m in &self.modalities {
                    self.cells.push(cells.cell(*t, *o, *m));
                }
            }
        }
        // A tag stored twice must not make a scheme count twice in its cells.
        self.cells.sort_unstable();
        self.cells.dedup();
    }
}

pub(crate) async fn scheme_overlaps(store: &SeaStore) -> Result<OverlapReport> {
    let (mut targets, links) = tokio::try_join!(published_targets(store), shared_links(store))?;
    let cells = Cells::new();
    for t in targets.values_mut() {
        t.number(&cells);
    }

    let mut schemes_of: Vec<Vec<Id>> = vec![Vec::new(); cells.len()];
    for (id, t) in &targets {
        for cell in &t.cells {
            schemes_of[usize::from(cell.0)].push(*id);
        }
    }
    let overlapping: Vec<bool> = schemes_of.iter().map(|ids| ids.len() > 1).collect();

    // A practice is shared in a cell when two or more of its schemes overlap there.
    let mut shared: Vec<Vec<Id>> = vec![Vec::new(); cells.len()];
    let mut in_cell: Vec<u32> = vec![0; cells.len()];
    let mut touched: Vec<Cell> = Vec::new();
    for (practice, schemes) in &links {
        for cell in schemes
            .iter()
            .filter_map(|s| targets.get(s))
            .flat_map(|t| t.cells.iter())
            .filter(|c| overlapping[usize::from(c.0)])
        {
            let n = &mut in_cell[usize::from(cell.0)];
            if *n == 0 {
                touched.push(*cell);
            }
            *n += 1;
        }
        for cell in touched.drain(..) {
            let n = std::mem::take(&mut in_cell[usize::from(cell.0)]);
            if n > 1 {
                shared[usize::from(cell.0)].push(*practice);
            }
        }
    }

    let mut overlaps = Vec::new();
    for (n, mut scheme_ids) in schemes_of.into_iter().enumerate() {
        if scheme_ids.len() < 2 {
            continue;
        }
        let cell = Cell(u16::try_from(n).unwrap_or(u16::MAX));
        let (theme, orientation, modality) = cells.values(cell);
        scheme_ids.sort_unstable();
        let mut shared_practice_ids = std::mem::take(&mut shared[n]);
        shared_practice_ids.sort_unstable();
        overlaps.push(SchemeOverlap {
            theme,
            orientation,
            modality,
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
    let untargeted: Vec<(Theme, GeographicOrientation)> = cells
        .themes
        .iter()
        .flat_map(|t| cells.orientations.iter().map(move |o| (*t, *o)))
        .filter(|cell| !targeted.contains(cell))
        .collect();

    Ok(OverlapReport {
        overlaps,
        unsupported: unsupported(store, &untargeted).await?,
    })
}

/// The themes, orientations and modalities of every published scheme, by scheme: one row a
/// scheme, its tags joined into one text. A row a tag cost sqlx about 1.3 µs each on SQLite
/// (1,975 rows took 3.6-4 ms through it, 1.3 ms in SQLite itself) and a decoding of two texts.
async fn published_targets(store: &SeaStore) -> Result<HashMap<Id, Targets>> {
    let db = store.connection();
    let backend = db.get_database_backend();
    let joined = match backend {
        DbBackend::Postgres => "STRING_AGG(t.dimension || ' ' || t.value, ',')",
        _ => "GROUP_CONCAT(t.dimension || ' ' || t.value, ',')",
    };
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT t.scheme_id, {joined} FROM scheme_tag t \
                 JOIN support_scheme s ON s.id = t.scheme_id AND s.status = 'PUBLISHED' \
                 WHERE t.dimension IN ('THEME', 'ORIENTATION', 'SUPPORT_MODALITY') \
                 GROUP BY t.scheme_id"
            ),
        ))
        .await
        .map_err(db_err)?;
    let mut targets: HashMap<Id, Targets> = HashMap::with_capacity(rows.len());
    for r in &rows {
        let tags: String = r.try_get_by_index(1).map_err(db_err)?;
        let t = targets.entry(integer(r, 0)?).or_default();
        // Stored dimensions and values are upper-case words and underscores: neither holds a
        // space or a comma.
        for tag in tags.split(',') {
            let (dimension, value) = tag
                .split_once(' ')
                .ok_or_else(|| domain::Error::internal(format!("scheme tag {tag:?}")))?;
            match dimension {
                "THEME" => t.themes.push(stored(Theme::parse(value, "theme"))?),
                "ORIENTATION" => t
                    .orientations
                    .push(stored(GeographicOrientation::parse(value, "orientation"))?),
                _ => t
                    .modalities
                    .push(stored(SupportModality::parse(value, "modality"))?),
            }
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
