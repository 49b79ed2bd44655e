//! What an export reads beyond the repositories: when each practice entered the base and when
//! it last changed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::Result;
use domain::entities::Id;
use domain::exchange::RecordDates;
use sea_orm::*;

use crate::entities::practice;
use crate::store::{SeaStore, db_err};

#[async_trait]
impl RecordDates for SeaStore {
    async fn practice_dates(&self, ids: &[Id]) -> Result<Vec<(Id, DateTime<Utc>, DateTime<Utc>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        practice::Entity::find()
            .select_only()
            .column(practice::Column::Id)
            .column(practice::Column::CreatedAt)
            .column(practice::Column::UpdatedAt)
            .filter(practice::Column::Id.is_in(crate::query::in_list(ids)))
            .into_tuple::<(Id, DateTime<Utc>, DateTime<Utc>)>()
            .all(self.connection())
            .await
            .map_err(db_err)
    }
}
