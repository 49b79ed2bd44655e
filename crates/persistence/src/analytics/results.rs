//! Indicators per theme and how many reached their targets, from the THEME grouping's rollup.

use async_trait::async_trait;
use domain::Result;
use domain::analytics::*;
use domain::framework::Theme;
use sea_orm::{ConnectionTrait, Statement};

use super::integer;
use crate::mapping::stored;
use crate::rollup::{self, Combo};
use crate::store::{SeaStore, db_err};

#[async_trait]
impl ResultsRepository for SeaStore {
    async fn results_by_theme(&self) -> Result<Vec<ThemeResults>> {
        // Every figure is a sum over the theme's published practices: the THEME grouping's
        // rollup keeps them (see `crate::rollup`), so the answer reads one row a theme.
        let combo = Combo::of(&[GapDimension::Theme]);
        self.count_given_up(
            rollup::ensure_built(
                self.connection(),
                &combo,
                self.build_wait(),
                Some(self.room()),
            )
            .await,
        )?;
        let db = self.connection();
        let sql = format!(
            "SELECT k1 AS theme, practices, with_indicators, indicators, with_target, targets_met \
             FROM gap_rollup WHERE combo = '{}' AND practices > 0 ORDER BY k1",
            combo.name()
        );
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
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
