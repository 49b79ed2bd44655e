//! Support schemes: the read repository, and the rows a scheme is saved as.

use async_trait::async_trait;
use domain::editing::SchemeRecord;
use domain::entities::*;
use domain::framework::*;
use domain::page::{Page, PageRequest};
use domain::repository::{SchemeFilter, SchemeRepository};
use domain::{Error, Result, Visibility};
use sea_orm::sea_query::Query;
use sea_orm::*;

use crate::entities::*;
use crate::mapping;
use crate::query::{self, SCHEME_TAGS, scheme_visible};
use crate::store::SeaStore;
use crate::versioned::{
    Txn, Versioned, insert_rows, owner_of, owner_parts, replace_rows, stored, tag_models, text,
    versioned_as,
};

fn scheme_condition(backend: DbBackend, filter: &SchemeFilter, vis: &Visibility) -> Condition {
    use crate::entities::support_scheme::Column as S;
    let mut cond = Condition::all().add(scheme_visible(vis));
    if let Some(status) = filter.status {
        cond = cond.add(crate::query::status_is(S::Status, status.as_str()));
    }
    if let Some(since) = filter.updated_since {
        cond = cond.add(S::UpdatedAt.gt(since));
    }
    if let Some(open) = filter.open_for_applications {
        cond = cond.add(S::OpenForApplications.eq(open));
    }
    cond = cond.add(SCHEME_TAGS.any_of(S::Id, Dimension::Theme, &filter.themes, Theme::as_str));
    if let Some(o) = filter.orientation {
        cond = cond.add(SCHEME_TAGS.any_of(
            S::Id,
            Dimension::Orientation,
            &[o],
            GeographicOrientation::as_str,
        ));
    }
    if let Some(m) = filter.support_modality {
        cond = cond.add(SCHEME_TAGS.any_of(
            S::Id,
            Dimension::SupportModality,
            &[m],
            SupportModality::as_str,
        ));
    }
    if let Some(a) = filter.association_id {
        let sub = Query::select()
            .column(scheme_operator::Column::SchemeId)
            .from(scheme_operator::Entity)
            .and_where(scheme_operator::Column::AssociationId.eq(a))
            .to_owned();
        cond = cond.add(S::Id.in_subquery(sub));
    }
    if let Some(d) = filter.donor_id {
        let funded = Query::select()
            .column(funding::Column::SchemeId)
            .from(funding::Entity)
            .and_where(funding::Column::DonorId.eq(d))
            .and_where(funding::Column::SchemeId.is_not_null())
            .to_owned();
        let operated = Query::select()
            .column(scheme_operator::Column::SchemeId)
            .from(scheme_operator::Entity)
            .and_where(scheme_operator::Column::DonorId.eq(d))
            .to_owned();
        cond = cond.add(
            Condition::any()
                .add(S::Id.in_subquery(funded))
                .add(S::Id.in_subquery(operated)),
        );
    }
    cond.add(query::search(
        backend,
        "support_scheme",
        S::Id,
        &filter.text,
    ))
}

#[async_trait]
impl SchemeRepository for SeaStore {
    async fn schemes_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<SupportScheme>> {
        let db = self.connection();
        let cond = scheme_condition(db.get_database_backend(), &SchemeFilter::default(), vis);
        query::by_ids::<support_scheme::Entity, _>(
            db,
            support_scheme::Column::Id,
            ids,
            cond,
            mapping::scheme,
        )
        .await
    }

    async fn list_schemes(
        &self,
        filter: &SchemeFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<SupportScheme>> {
        let db = self.connection();
        let cond = scheme_condition(db.get_database_backend(), filter, vis);
        query::page::<support_scheme::Entity, _>(
            self,
            cond,
            support_scheme::Column::Id,
            page,
            mapping::scheme,
        )
        .await
    }

    async fn count_schemes(&self, filter: &SchemeFilter, vis: &Visibility) -> Result<i64> {
        let db = self.connection();
        let cond = scheme_condition(db.get_database_backend(), filter, vis);
        query::count::<support_scheme::Entity>(db, cond).await
    }

    async fn scheme_tags(&self, scheme_ids: &[Id]) -> Result<Vec<(Id, Tags)>> {
        SCHEME_TAGS.of(self.connection(), scheme_ids).await
    }

    async fn scheme_operators(&self, scheme_ids: &[Id]) -> Result<Vec<(Id, Operator)>> {
        use crate::entities::scheme_operator::Column as O;
        let rows = query::children::<scheme_operator::Entity>(
            self.connection(),
            O::SchemeId,
            scheme_ids,
            &[O::Id],
        )
        .await?;
        rows.into_iter()
            .map(|r| match (r.association_id, r.donor_id) {
                (Some(a), _) => Ok((r.scheme_id, Operator::Association(a))),
                (None, Some(d)) => Ok((r.scheme_id, Operator::Donor(d))),
                (None, None) => Err(Error::internal(format!(
                    "scheme operator {} names no organisation",
                    r.id
                ))),
            })
            .collect()
    }
}

/// The scheme with everything a change may touch.
pub(crate) async fn record(store: &SeaStore, id: Id) -> Result<Option<SchemeRecord>> {
    let Some(model) = stored::<support_scheme::Entity>(store, id).await? else {
        return Ok(None);
    };
    let owner = owner_of(&model.owner_kind, model.owner_id)?;
    let budget_usd_cents = model.budget_usd_cents;
    let operators = store.scheme_operators(&[id]).await?;
    Ok(Some(SchemeRecord {
        scheme: mapping::scheme(model)?,
        tags: SCHEME_TAGS.one(store.connection(), id).await?,
        operators: operators.into_iter().map(|(_, o)| o).collect(),
        owner,
        budget_usd_cents,
    }))
}

#[async_trait]
impl Versioned for SchemeRecord {
    versioned_as!(support_scheme::Entity => SupportScheme, "SupportScheme", id: scheme.id);
    const PUBLICATION: Option<&'static str> = Some("status");

    fn row(&self) -> support_scheme::ActiveModel {
        let s = &self.scheme;
        support_scheme::ActiveModel {
            status: Set(s.status.as_str().into()),
            name: Set(s.name.clone()),
            description: Set(s.description.clone()),
            source: Set(s.source.clone()),
            start_year: Set(s.start_year),
            end_year: Set(s.end_year),
            budget_amount: Set(text(s.budget_amount)),
            budget_currency: Set(s.budget_currency.clone()),
            budget_usd_cents: Set(self.budget_usd_cents),
            open_for_applications: Set(s.open_for_applications),
            ..Default::default()
        }
    }

    fn creation(&self, row: &mut support_scheme::ActiveModel) {
        let (kind, id) = owner_parts(&self.owner);
        row.owner_kind = Set(kind);
        row.owner_id = Set(id);
    }

    /// Operators are named when the scheme is created and never changed by a save.
    async fn write_children(&self, txn: &Txn, id: Id, creating: bool) -> Result<()> {
        if creating {
            let operators = self
                .operators
                .iter()
                .map(|op| {
                    let (association_id, donor_id) = match op {
                        Operator::Association(a) => (Some(*a), None),
                        Operator::Donor(d) => (None, Some(*d)),
                    };
                    scheme_operator::ActiveModel {
                        scheme_id: Set(id),
                        association_id: Set(association_id),
                        donor_id: Set(donor_id),
                        ..Default::default()
                    }
                })
                .collect();
            insert_rows::<scheme_operator::Entity>(txn, operators).await?;
        }
        let tags = tag_models(id, &self.tags, scheme_tag::ActiveModel::tag);
        replace_rows::<scheme_tag::Entity>(txn, scheme_tag::Column::SchemeId, id, tags).await
    }

    fn saved(model: support_scheme::Model) -> Result<SupportScheme> {
        mapping::scheme(model)
    }
}
