//! What may answer a city's need: practices, the cities that hold their experience, open
//! schemes and donors, each with its reasons and score, in one statement.

use async_trait::async_trait;
use domain::analytics::*;
use domain::entities::Id;
use domain::framework::Bloc;
use domain::repository::{CityRepository, NeedRepository, ReferenceRepository};
use domain::{Error, Result, Visibility};
use sea_orm::{ConnectionTrait, Statement};

use super::integer;
use crate::store::{SeaStore, db_err};

/// The orientations a scheme or an agenda may carry and still reach a city of this bloc.
fn reaching(bloc: Bloc) -> &'static str {
    match bloc {
        Bloc::North => "'NORTH_NORTH', 'NORTH_SOUTH', 'WEST_EAST', 'GLOBAL'",
        Bloc::East => "'WEST_EAST', 'GLOBAL'",
        Bloc::South => "'NORTH_SOUTH', 'SOUTH_SOUTH', 'GLOBAL'",
    }
}

/// Words too common in the base to say anything about a match.
const STOP_WORDS: &[&str] = &[
    "about", "after", "also", "among", "and", "been", "city", "cities", "could", "does", "each",
    "from", "have", "into", "local", "more", "most", "need", "needs", "other", "over", "that",
    "their", "them", "there", "these", "they", "this", "those", "through", "under", "used",
    "using", "what", "when", "where", "which", "while", "with", "within", "without", "would",
];

/// At most eight of the longest distinct words of a text that carry meaning: four letters or
/// more, not a stop word, lower-cased, without accents and spelt out (as both full-text
/// indexes hold them, so that "Estelí" and "esteli" are one word, "Hillerød" and "hillerod"
/// another), letters and digits only.
pub fn significant_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = domain::values::spelled_out(&domain::values::folded(text))
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_owned)
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
        super::overlaps::scheme_overlaps(self).await
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
        // The need's tags meanwhile, on another connection: both statements below splice them.
        let (city, tags) = tokio::try_join!(
            async {
                self.cities_by_ids(&[need.city_id])
                    .await?
                    .pop()
                    .ok_or_else(|| Error::internal("need without city"))
            },
            async {
                Ok(self
                    .need_tags(&[need_id])
                    .await?
                    .pop()
                    .map(|(_, tags)| tags)
                    .unwrap_or_default())
            }
        )?;
        let bloc = self
            .countries_by_codes(std::slice::from_ref(&city.country_code))
            .await?
            .pop()
            .map(|c| c.bloc)
            .unwrap_or(Bloc::South);
        let db = self.connection();
        let words = significant_words(&format!(
            "{} {}",
            need.title,
            need.description.as_deref().unwrap_or("")
        ));
        // The other three lists come from two statements, told apart by `kind`:
        // - 'C' the cities that hold that experience (those of the ranked practices, the asking
        //   city aside, each scored by the sum of its practices' scores), one row per city and
        //   practice, best city first, carrying the practice's title for the reason. The CROSS
        //   JOIN keeps SQLite's loop on the few ranked practices; left free, it walks every
        //   practice_city row in city order to save a sort;
        // - 'S' open schemes targeting the need's themes, with no orientation or one that
        //   reaches the city's bloc;
        // - 'D' donors whose agenda covers the need's themes or the city's country (an
        //   orientation reaching the city adds to the score).
        // Both are scored from the tags and agenda entries that match, grouped by scheme or
        // donor: scoring each scheme and donor with a subquery per part of its score ran
        // about five hundred subqueries a question. The need's tags are listed rather than
        // joined, so that PostgreSQL finds the matching tags through their index instead of
        // hashing every scheme tag.
        let reach = reaching(bloc);
        let listed = |values: Vec<&str>| {
            if values.is_empty() {
                // Matches no stored value, and keeps `IN ()` out of the SQL.
                "''".to_string()
            } else {
                values
                    .iter()
                    .map(|v| format!("'{v}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        // Stored vocabulary values, as the framework spells them: safe to splice.
        let themes = listed(tags.themes.iter().map(|t| t.as_str()).collect());
        let modalities = listed(tags.support_modalities.iter().map(|m| m.as_str()).collect());
        // A country code is two validated letters: safe to splice.
        let country = &city.country_code;
        let backend = db.get_database_backend();
        let others = format!(
            "WITH st AS (SELECT t.scheme_id AS id, \
                 SUM(CASE WHEN t.dimension = 'THEME' THEN 1 ELSE 0 END) AS themes, \
                 SUM(CASE WHEN t.dimension = 'SUPPORT_MODALITY' THEN 1 ELSE 0 END) AS modalities \
               FROM scheme_tag t WHERE (t.dimension = 'THEME' AND t.value IN ({themes})) \
                 OR (t.dimension = 'SUPPORT_MODALITY' AND t.value IN ({modalities})) GROUP BY t.scheme_id), \
             schemes AS (SELECT st.id, st.themes, st.modalities, 2 * st.themes + st.modalities AS score \
               FROM st JOIN support_scheme s ON s.id = st.id \
               WHERE st.themes > 0 AND s.status = 'PUBLISHED' AND s.open_for_applications = {open} \
                 AND (NOT EXISTS (SELECT 1 FROM scheme_tag o WHERE o.scheme_id = s.id AND o.dimension = 'ORIENTATION') \
                      OR EXISTS (SELECT 1 FROM scheme_tag o WHERE o.scheme_id = s.id AND o.dimension = 'ORIENTATION' AND o.value IN ({reach}))) \
               ORDER BY score DESC, st.id LIMIT {first}), \
             dt AS (SELECT a.donor_id AS id, \
                 SUM(CASE WHEN a.dimension = 'THEME' THEN 1 ELSE 0 END) AS themes, \
                 SUM(CASE WHEN a.dimension = 'COUNTRY' THEN 1 ELSE 0 END) AS country, \
                 SUM(CASE WHEN a.dimension = 'ORIENTATION' THEN 1 ELSE 0 END) AS orientation \
               FROM donor_agenda a \
               WHERE (a.dimension = 'THEME' AND a.value IN ({themes})) \
                 OR (a.dimension = 'COUNTRY' AND a.value = '{country}') \
                 OR (a.dimension = 'ORIENTATION' AND a.value IN ({reach})) \
               GROUP BY a.donor_id), \
             donors AS (SELECT id, themes, country, orientation, 2 * themes + 3 * country + orientation AS score \
               FROM dt WHERE themes > 0 OR country > 0 ORDER BY score DESC, id LIMIT {first}) \
             SELECT 'S' AS kind, id, score, themes AS a, modalities AS b, 0 AS c, 0 AS d, 0 AS practice_score, '' AS title FROM schemes \
             UNION ALL SELECT 'D', id, score, themes, country, orientation, 0, 0, '' FROM donors \
             ORDER BY kind, score DESC, id",
            open = if backend == sea_orm::DbBackend::Postgres {
                "TRUE"
            } else {
                "1"
            },
        );
        // The schemes and donors do not depend on the practices: asked meanwhile, on another
        // connection.
        let (best, others) = tokio::try_join!(
            super::ranking::best_practices(
                db,
                self.kept_words(),
                self.known_signatures(),
                &tags,
                need.modality.map(|m| m.as_str()),
                &words,
                first,
            ),
            async {
                db.query_all_raw(Statement::from_string(backend, others))
                    .await
                    .map_err(db_err)
            }
        )?;
        // The best practices go into the statement as rows of their own. An empty VALUES is
        // not SQL, hence the row matching nothing.
        let ranked = if best.is_empty() {
            "SELECT 0, 0 WHERE 1 = 0".to_string()
        } else {
            format!(
                "VALUES {}",
                best.iter()
                    .map(|r| format!("({}, {})", r.id, r.score()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut rows = db
            .query_all_raw(Statement::from_string(
                backend,
                format!(
                    "WITH ranked(id, score) AS ({ranked}), \
                     held AS (SELECT pc.city_id, SUM(r.score) AS score FROM ranked r \
                       CROSS JOIN practice_city pc WHERE pc.practice_id = r.id AND pc.city_id <> {city} \
                       GROUP BY pc.city_id ORDER BY score DESC, pc.city_id LIMIT {first}) \
                     SELECT 'C' AS kind, h.city_id AS id, h.score, r.id AS a, 0 AS b, 0 AS c, 0 AS d, \
                       r.score AS practice_score, p.title FROM held h \
                     JOIN practice_city pc ON pc.city_id = h.city_id JOIN ranked r ON r.id = pc.practice_id \
                       JOIN practice p ON p.id = r.id \
                     ORDER BY h.score DESC, h.city_id, r.score DESC, r.id",
                    city = need.city_id,
                ),
            ))
            .await
            .map_err(db_err)?;
        rows.extend(others);
        let practice_matches: Vec<Match> = best
            .iter()
            .map(|r| {
                let mut reasons = Vec::new();
                if r.themes > 0 {
                    reasons.push(format!("shares {} theme(s) with the need", r.themes));
                }
                if r.focus > 0 {
                    reasons.push(format!("shares {} management focus(es)", r.focus));
                }
                if r.same_modality > 0 {
                    reasons.push("same linking modality".into());
                }
                if r.words > 0 {
                    reasons.push(format!(
                        "its text has {} of the need's {} key word(s)",
                        r.words,
                        words.len()
                    ));
                }
                Match {
                    id: r.id,
                    score: r.score(),
                    reasons,
                }
            })
            .collect();
        let mut cities: Vec<Match> = Vec::new();
        let mut schemes: Vec<Match> = Vec::new();
        let mut donors: Vec<Match> = Vec::new();
        for r in &rows {
            let kind: String = r.try_get_by_index(0).map_err(db_err)?;
            let v = (1..8).map(|i| integer(r, i)).collect::<Result<Vec<_>>>()?;
            let (id, score) = (v[0], v[1]);
            let mut reasons = Vec::new();
            match kind.as_str() {
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

#[cfg(test)]
mod tests {
    use super::significant_words;

    #[test]
    fn words_are_one_however_they_are_accented() {
        assert_eq!(
            significant_words("Estelí and ESTELI, Esteli\u{301}: Poznań"),
            ["esteli", "poznan"]
        );
        assert_eq!(
            significant_words("Hillerød HILLEROD Łódź"),
            ["hillerod", "lodz"]
        );
    }
}
