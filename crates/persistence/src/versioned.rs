//! The one path every versioned record is written by.
//!
//! A save is one write transaction: the funding-gap rollups give up the touched practices'
//! contribution, the record's row is inserted (a new record) or overwritten if its stored version
//! is still the one the change was based on, its children are replaced, the rollups take the
//! practices back as they now are, the audit entry is written, and the record is read back, all
//! before the commit. Each aggregate says only which row and children it has ([`Versioned`]).

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::actor::Affiliation;
use domain::audit::AuditEntry;
use domain::changes::ChangeKind;
use domain::entities::Id;
use domain::framework::PublicationStatus;
use domain::policy;
use domain::{Error, Result};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::*;

use crate::audit::write_audit_entry;
use crate::changes::Logged;
use crate::rollup::{Maintenance, Touched};
use crate::store::{SeaStore, db_err};

type Row<A> = <<A as Versioned>::Entity as EntityTrait>::ActiveModel;
type Model<A> = <<A as Versioned>::Entity as EntityTrait>::Model;

/// A record written through [`save_versioned`]: its table row, the rows hanging off it, and
/// which practices' funding-gap contribution a change to it alters.
/// The entity, the domain record, the name and the id of a [`Versioned`] aggregate, in one line.
/// The transaction a save writes in.
pub(crate) type Txn = DatabaseTransaction;

macro_rules! versioned_as {
    ($entity:ty => $saved:ty, $name:literal, id: $($field:ident).+) => {
        type Entity = $entity;
        type Saved = $saved;
        const NAME: &'static str = $name;

        fn id(&self) -> Id {
            self.$($field).+
        }
    };
}
pub(crate) use versioned_as;

#[async_trait]
pub(crate) trait Versioned: Sync {
    type Entity: EntityTrait;
    type Saved;
    /// The name NOT_FOUND and CONFLICT answers give the record.
    const NAME: &'static str;
    /// The column holding the record's publication status, for records that have one: what
    /// names a change in the change feed (see [`crate::changes`]).
    const PUBLICATION: Option<&'static str> = None;

    /// The stored id; 0 for a record not yet created.
    fn id(&self) -> Id;

    /// The columns every save writes (all but the id, version and timestamps, and what
    /// [`Versioned::creation`] adds).
    fn row(&self) -> Row<Self>;

    /// Columns fixed when the record is created: its owner, the records it belongs to.
    fn creation(&self, _row: &mut Row<Self>) {}

    /// The practices whose funding-gap contribution this save may change, if any.
    fn touched(&self, _creating: bool) -> Option<Touched> {
        None
    }

    /// Writes the rows that hang off the record `id` (its tags, links, agenda...).
    async fn write_children(&self, _txn: &Txn, _id: Id, _creating: bool) -> Result<()> {
        Ok(())
    }

    /// The stored row as the domain sees it.
    fn saved(model: Model<Self>) -> Result<Self::Saved>;

    /// The full row of the record as created at `now`.
    fn new_row(&self, now: DateTime<Utc>) -> Result<Row<Self>> {
        let mut row = self.row();
        self.creation(&mut row);
        set::<Self::Entity>(&mut row, "version", 1.into())?;
        set::<Self::Entity>(&mut row, "created_at", now.into())?;
        set::<Self::Entity>(&mut row, "updated_at", now.into())?;
        Ok(row)
    }

    /// The full row of a record that brings its own id, as bulk loads number theirs.
    fn numbered_row(&self, now: DateTime<Utc>) -> Result<Row<Self>> {
        let mut row = self.new_row(now)?;
        set::<Self::Entity>(&mut row, "id", self.id().into())?;
        Ok(row)
    }
}

fn column<E: EntityTrait>(name: &str, entity: &str) -> Result<E::Column> {
    E::Column::from_str(name).map_err(|_| Error::internal(format!("{entity} has no {name} column")))
}

fn set<E: EntityTrait>(row: &mut E::ActiveModel, name: &str, value: Value) -> Result<()> {
    let c = column::<E>(name, E::default().table_name())?;
    row.set(c, value);
    Ok(())
}

/// The stored row of record `id`, for a change to start from.
pub(crate) async fn stored<E>(store: &SeaStore, id: Id) -> Result<Option<E::Model>>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    E::find_by_id(id)
        .one(store.connection())
        .await
        .map_err(db_err)
}

/// Inserts a new record with its children inside `txn`: what [`save_versioned`] does for id 0,
/// without the rollups and the audit entry, for loads that maintain neither row by row.
pub(crate) async fn insert<A>(
    txn: &DatabaseTransaction,
    record: &A,
    now: DateTime<Utc>,
) -> Result<Id>
where
    A: Versioned,
    <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: Into<i64>,
{
    let id = A::Entity::insert(record.new_row(now)?)
        .exec(txn)
        .await
        .map_err(db_err)?
        .last_insert_id
        .into();
    record.write_children(txn, id, true).await?;
    Ok(id)
}

/// Saves `record`: creates it when `expected_version` is None, else overwrites it if its stored
/// version is still `expected_version` (CONFLICT when it has changed, NOT_FOUND when it is gone).
/// A transaction the database rolls back to break a deadlock is run again (see
/// [`crate::db::retrying`]).
pub(crate) async fn save_versioned<A>(
    store: &SeaStore,
    record: &A,
    expected_version: Option<i32>,
    audit: AuditEntry,
) -> Result<A::Saved>
where
    A: Versioned,
    Model<A>: Sync,
    <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64> + Into<i64>,
{
    crate::db::retrying(|| save_once(store, record, expected_version, audit.clone())).await
}

async fn save_once<A>(
    store: &SeaStore,
    record: &A,
    expected_version: Option<i32>,
    audit: AuditEntry,
) -> Result<A::Saved>
where
    A: Versioned,
    Model<A>: Sync,
    <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64> + Into<i64>,
{
    let txn = crate::db::write_transaction(store.connection()).await?;
    let saved = save_in(&txn, record, expected_version, audit).await?;
    txn.commit().await.map_err(db_err)?;
    crate::events::committed();
    Ok(saved)
}

/// What [`save_versioned`] does, inside a transaction the caller commits: for writes of many
/// records that stand or fall together (an import).
pub(crate) async fn save_in<A>(
    txn: &Txn,
    record: &A,
    expected_version: Option<i32>,
    mut audit: AuditEntry,
) -> Result<A::Saved>
where
    A: Versioned,
    Model<A>: Sync,
    <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64> + Into<i64>,
{
    let now = Utc::now();
    let creating = expected_version.is_none();
    let before = match expected_version {
        None => None,
        Some(_) => Some(stored_publication::<A>(txn, record.id()).await?),
    };
    let rollups = match record.touched(creating) {
        Some(touched) => Some(Maintenance::begin(txn, touched).await?),
        None => None,
    };
    let (id, rollups) = match expected_version {
        None => {
            let id = insert(txn, record, now).await?;
            (id, rollups.map(|r| r.created(id)))
        }
        Some(version) => {
            let mut row = record.row();
            set::<A::Entity>(&mut row, "updated_at", now.into())?;
            update_versioned::<A::Entity>(txn, row, record.id(), version, A::NAME).await?;
            record.write_children(txn, record.id(), false).await?;
            (record.id(), rollups)
        }
    };
    if let Some(rollups) = rollups {
        rollups.finish(txn).await?;
    }
    if audit.entity_id == 0 {
        audit.entity_id = id;
    }
    write_audit_entry(txn, audit).await?;
    let saved = A::Entity::find_by_id(id)
        .one(txn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal(format!("saved {} {id} vanished", A::NAME)))?;
    log_save::<A>(txn, &saved, id, now, before).await?;
    A::saved(saved)
}

/// The publication status of the stored record `id`, before a save changes it.
async fn stored_publication<A>(txn: &Txn, id: Id) -> Result<Option<PublicationStatus>>
where
    A: Versioned,
    Model<A>: Sync,
    <<A::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    if A::PUBLICATION.is_none() {
        return Ok(None);
    }
    match A::Entity::find_by_id(id).one(txn).await.map_err(db_err)? {
        Some(model) => publication::<A>(&model),
        None => Ok(None),
    }
}

fn publication<A: Versioned>(model: &Model<A>) -> Result<Option<PublicationStatus>> {
    let Some(name) = A::PUBLICATION else {
        return Ok(None);
    };
    match model.get(column::<A::Entity>(name, A::NAME)?) {
        Value::String(Some(s)) => PublicationStatus::parse(&s, name).map(Some),
        _ => Ok(None),
    }
}

/// Logs the save of `saved` in the change feed; `before` is None for a new record, else the
/// publication status it had.
async fn log_save<A: Versioned>(
    txn: &Txn,
    saved: &Model<A>,
    id: Id,
    at: DateTime<Utc>,
    before: Option<Option<PublicationStatus>>,
) -> Result<()> {
    let after = publication::<A>(saved)?;
    let version = match saved.get(column::<A::Entity>("version", A::NAME)?) {
        Value::Int(Some(v)) => v,
        other => return Err(Error::internal(format!("{} version is {other:?}", A::NAME))),
    };
    let owner_kind =
        match <A::Entity as EntityTrait>::Column::from_str("owner_kind").map(|c| saved.get(c)) {
            Ok(Value::String(Some(k))) => Some(k),
            _ => None,
        };
    let owner_id =
        match <A::Entity as EntityTrait>::Column::from_str("owner_id").map(|c| saved.get(c)) {
            Ok(Value::BigInt(Some(i))) => Some(i),
            _ => None,
        };
    crate::changes::log_change(
        txn,
        Logged {
            record_type: A::NAME,
            record_id: id,
            version,
            kind: ChangeKind::of(before, after),
            at,
            status: after.map(|s| s.as_str().to_string()),
            owner: owner_of(&owner_kind, owner_id)?,
            withdrawn: policy::shows_withdrawal(before.flatten(), after),
        },
    )
    .await
}

/// After an update touched no row: the record is gone, or someone else changed it first.
async fn stale_or_missing<E: EntityTrait>(
    txn: &DatabaseTransaction,
    id: Id,
    entity: &'static str,
) -> Error
where
    E::Model: Sync,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    match E::find_by_id(id).one(txn).await {
        Ok(Some(_)) => Error::Conflict(format!(
            "{entity} {id} was changed by someone else; reload it and retry"
        )),
        Ok(None) => Error::not_found(entity, id),
        Err(e) => db_err(e),
    }
}

/// Writes `model` over the record if its stored version is still `version`, and bumps the version.
async fn update_versioned<E>(
    txn: &DatabaseTransaction,
    model: E::ActiveModel,
    id: Id,
    version: i32,
    entity: &'static str,
) -> Result<()>
where
    E: EntityTrait,
    E::Model: Sync,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    let (id_column, version_column) = (column::<E>("id", entity)?, column::<E>("version", entity)?);
    let done = E::update_many()
        .set(model)
        .col_expr(version_column, Expr::col(version_column).add(1))
        .filter(id_column.eq(id))
        .filter(version_column.eq(version))
        .exec(txn)
        .await
        .map_err(db_err)?;
    if done.rows_affected == 0 {
        return Err(stale_or_missing::<E>(txn, id, entity).await);
    }
    Ok(())
}

/// Inserts `rows` in one statement (none when there are none).
pub(crate) async fn insert_rows<E: EntityTrait>(
    db: &impl ConnectionTrait,
    rows: Vec<E::ActiveModel>,
) -> Result<()> {
    if !rows.is_empty() {
        E::insert_many(rows).exec(db).await.map_err(db_err)?;
    }
    Ok(())
}

/// Replaces the rows of `E` whose `owner` column is `id` by `rows`.
pub(crate) async fn replace_rows<E: EntityTrait>(
    txn: &DatabaseTransaction,
    owner: E::Column,
    id: Id,
    rows: Vec<E::ActiveModel>,
) -> Result<()> {
    E::delete_many()
        .filter(owner.eq(id))
        .exec(txn)
        .await
        .map_err(db_err)?;
    insert_rows::<E>(txn, rows).await
}

/// The owner columns of a record: the organisation it belongs to.
pub(crate) fn owner_parts(owner: &Option<Affiliation>) -> (Option<String>, Option<i64>) {
    match owner {
        Some(a) => (Some(a.kind().to_string()), Some(a.id())),
        None => (None, None),
    }
}

pub(crate) fn owner_of(kind: &Option<String>, id: Option<i64>) -> Result<Option<Affiliation>> {
    match (kind, id) {
        (Some(k), Some(i)) => Affiliation::from_parts(k, i).map(Some),
        _ => Ok(None),
    }
}

/// A decimal as stored: exact text without trailing zeros.
pub(crate) fn text(d: Option<Decimal>) -> Option<String> {
    d.map(|v| v.normalize().to_string())
}

/// The tag-table rows of `tags` for the owner `id`, built by the table's `tag` constructor.
pub(crate) fn tag_models<M>(
    id: Id,
    tags: &domain::entities::Tags,
    tag: fn(i64, &str, &str) -> M,
) -> Vec<M> {
    crate::mapping::tag_rows(tags)
        .into_iter()
        .map(|(d, v)| tag(id, d.as_str(), v))
        .collect()
}
