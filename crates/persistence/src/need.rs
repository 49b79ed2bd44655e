//! Needs: the read repository, and the rows a need is saved as.

use async_trait::async_trait;
use domain::editing::NeedRecord;
use domain::entities::*;
use domain::framework::*;
use domain::page::{Page, PageRequest};
use domain::repository::{NeedFilter, NeedRepository};
use domain::{Result, Visibility};
use sea_orm::*;

use crate::entities::*;
use crate::mapping;
use crate::query::{self, NEED_TAGS, in_select, need_visible};
use crate::store::SeaStore;
use crate::versioned::{
    Txn, Versioned, owner_of, owner_parts, replace_rows, stored, tag_models, text, versioned_as,
};

fn need_condition(backend: DbBackend, filter: &NeedFilter, vis: &Visibility) -> Condition {
    use crate::entities::need::Column as N;
    let mut cond = Condition::all().add(need_visible(vis));
    if let Some(status) = filter.status {
        cond = cond.add(crate::query::status_is(N::Status, status.as_str()));
    }
    if let Some(since) = filter.updated_since {
        cond = cond.add(N::UpdatedAt.gt(since));
    }
    if let Some(city_id) = filter.city_id {
        cond = cond.add(N::CityId.eq(city_id));
    }
    if let Some(code) = &filter.country_code {
        cond = cond.add(in_select(
            N::CityId,
            city::Entity,
            city::Column::Id,
            city::Column::CountryCode.eq(code.as_str()),
        ));
    }
    cond.add(NEED_TAGS.any_of(N::Id, Dimension::Theme, &filter.themes, Theme::as_str))
        .add(query::search(backend, "need", N::Id, &filter.text))
}

#[async_trait]
impl NeedRepository for SeaStore {
    async fn needs_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<Need>> {
        let db = self.connection();
        let cond = need_condition(db.get_database_backend(), &NeedFilter::default(), vis);
        query::by_ids::<need::Entity, _>(db, need::Column::Id, ids, cond, mapping::need).await
    }

    async fn list_needs(
        &self,
        filter: &NeedFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<Need>> {
        let db = self.connection();
        let cond = need_condition(db.get_database_backend(), filter, vis);
        query::page::<need::Entity, _>(self, cond, need::Column::Id, page, mapping::need).await
    }

    async fn count_needs(&self, filter: &NeedFilter, vis: &Visibility) -> Result<i64> {
        let db = self.connection();
        let cond = need_condition(db.get_database_backend(), filter, vis);
        query::count::<need::Entity>(db, cond).await
    }

    async fn need_tags(&self, need_ids: &[Id]) -> Result<Vec<(Id, Tags)>> {
        NEED_TAGS.of(self.connection(), need_ids).await
    }
}

/// The need with everything a change may touch.
pub(crate) async fn record(store: &SeaStore, id: Id) -> Result<Option<NeedRecord>> {
    let Some(model) = stored::<need::Entity>(store, id).await? else {
        return Ok(None);
    };
    Ok(Some(NeedRecord {
        owner: owner_of(&model.owner_kind, model.owner_id)?,
        amount_required_usd_cents: model.amount_required_usd_cents,
        tags: NEED_TAGS.one(store.connection(), id).await?,
        need: mapping::need(model)?,
    }))
}

#[async_trait]
impl Versioned for NeedRecord {
    versioned_as!(need::Entity => Need, "Need", id: need.id);
    const PUBLICATION: Option<&'static str> = Some("publication");

    fn row(&self) -> need::ActiveModel {
        let n = &self.need;
        need::ActiveModel {
            publication: Set(n.publication.as_str().into()),
            title: Set(n.title.clone()),
            description: Set(n.description.clone()),
            source: Set(n.source.clone()),
            modality: Set(n.modality.map(|m| m.as_str().into())),
            amount_required: Set(text(n.amount_required)),
            amount_required_currency: Set(n.amount_required_currency.clone()),
            amount_required_usd_cents: Set(self.amount_required_usd_cents),
            status: Set(n.status.as_str().into()),
            ..Default::default()
        }
    }

    /// The asking city and the owner are fixed once the need exists.
    fn creation(&self, row: &mut need::ActiveModel) {
        let (kind, id) = owner_parts(&self.owner);
        row.city_id = Set(self.need.city_id);
        row.owner_kind = Set(kind);
        row.owner_id = Set(id);
    }

    async fn write_children(&self, txn: &Txn, id: Id, _creating: bool) -> Result<()> {
        let tags = tag_models(id, &self.tags, need_tag::ActiveModel::tag);
        replace_rows::<need_tag::Entity>(txn, need_tag::Column::NeedId, id, tags).await
    }

    fn saved(model: need::Model) -> Result<Need> {
        mapping::need(model)
    }
}
