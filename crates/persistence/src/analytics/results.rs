//! Indicators per theme and how many reached their targets.

use async_trait::async_trait;
use domain::Result;
use domain::analytics::*;
use domain::framework::Theme;
use sea_orm::{ConnectionTrait, Statement};

use super::integer;
use crate::mapping::stored;
use crate::store::{SeaStore, db_err};

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
                    theme: stored(Theme::parse(
                        &r.try_get_by_index::<String>(0).map_err(db_err)?,
                        "theme",
                    ))?,
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
