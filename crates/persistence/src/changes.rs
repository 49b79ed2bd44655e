//! The change log behind the change feed: one row per save of a versioned record, written by
//! [`crate::versioned::save_in`] inside the save's transaction, so a change is in the feed if and
//! only if the save committed.
//!
//! Rows are numbered by `seq`, taken from the one-row `change_counter` table with
//! `UPDATE … SET n = n + 1 RETURNING n` just before the transaction commits. An autoincrement id
//! would not do on PostgreSQL: ids are handed out when the row is inserted, not when its
//! transaction commits, so a transaction holding id 5 may commit after one holding id 6, and a
//! follower that already read 6 would never see 5. The counter's row lock is held to the
//! commit, so whoever takes the next number waits until the previous taker has committed (or
//! rolled back, giving its number back): numbers become visible in order, with no gaps a
//! follower could step over. The price is that writing transactions serialise from the moment
//! they take a number to their commit, which is why the number is taken last. SQLite serialises
//! writers anyway (every write transaction begins IMMEDIATE).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::actor::Affiliation;
use domain::changes::{Change, ChangeKind, ChangeRepository};
use domain::entities::Id;
use domain::page::{Page, PageRequest};
use domain::{Error, Result, Visibility};
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::*;

use crate::entities::{funding, need};
use crate::funding::funding_visible;
use crate::query::{need_visible, practice_visible_at, scheme_visible_at};
use crate::store::{SeaStore, db_err};

pub(crate) mod change_log {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "change_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub record_type: String,
        pub record_id: i64,
        pub version: i32,
        pub kind: String,
        pub at: ChronoDateTimeUtc,
        /// The publication status the change left, for records that have one.
        pub status: Option<String>,
        pub owner_kind: Option<String>,
        pub owner_id: Option<i64>,
        /// The change took a published record out of the published base.
        pub withdrawn: bool,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

use change_log::Column as L;

/// One save as the log records it.
pub(crate) struct Logged<'a> {
    pub(crate) record_type: &'a str,
    pub(crate) record_id: Id,
    pub(crate) version: i32,
    pub(crate) kind: ChangeKind,
    pub(crate) at: DateTime<Utc>,
    pub(crate) status: Option<String>,
    pub(crate) owner: Option<Affiliation>,
    pub(crate) withdrawn: bool,
}

/// Takes the next number in commit order (see the module's comment) and logs the change under
/// it, inside the save's transaction `txn`.
pub(crate) async fn log_change(txn: &DatabaseTransaction, change: Logged<'_>) -> Result<()> {
    let backend = ConnectionTrait::get_database_backend(txn);
    let row = txn
        .query_one_raw(Statement::from_string(
            backend,
            "UPDATE change_counter SET n = n + 1 WHERE id = 1 RETURNING n",
        ))
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal("the change counter has no row"))?;
    let seq: i64 = row.try_get_by_index(0).map_err(db_err)?;
    let (owner_kind, owner_id) = crate::versioned::owner_parts(&change.owner);
    change_log::Entity::insert(change_log::ActiveModel {
        seq: Set(seq),
        record_type: Set(change.record_type.to_string()),
        record_id: Set(change.record_id),
        version: Set(change.version),
        kind: Set(change.kind.as_str().to_string()),
        at: Set(change.at),
        status: Set(change.status),
        owner_kind: Set(owner_kind),
        owner_id: Set(owner_id),
        withdrawn: Set(change.withdrawn),
    })
    .exec(txn)
    .await
    .map_err(db_err)?;
    if let Some(notify) = crate::events::notify_statement(backend) {
        txn.execute_raw(notify).await.map_err(db_err)?;
    }
    Ok(())
}

/// `EXISTS (SELECT 1 FROM <table> WHERE <table>.id = change_log.record_id AND <visible>)`.
fn record_visible<E: EntityTrait>(table: E, id: E::Column, visible: Condition) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(table)
            .cond_where(
                Condition::all()
                    .add(Expr::col((table, id)).equals((change_log::Entity, L::RecordId)))
                    .add(visible),
            )
            .to_owned(),
    )
}

/// The changes `vis` is shown ([`domain::policy::change_feed_visibility`]): those of the records
/// it may read now, by the lists' own conditions, and every withdrawal
/// ([`domain::policy::shows_withdrawal`]). Profiles (cities, associations, donors) are public.
fn change_visible(vis: &Visibility) -> Condition {
    if *vis == Visibility::Everything {
        return Condition::all();
    }
    let of = |record_type: &str, visible: SimpleExpr| {
        Condition::all()
            .add(L::RecordType.eq(record_type))
            .add(visible)
    };
    Condition::any()
        .add(L::Withdrawn.eq(true))
        .add(L::RecordType.is_in(["City", "Association", "Donor"]))
        .add(of(
            "Practice",
            practice_visible_at((change_log::Entity, L::RecordId), vis),
        ))
        .add(of(
            "SupportScheme",
            scheme_visible_at((change_log::Entity, L::RecordId), vis),
        ))
        .add(of(
            "Need",
            record_visible(need::Entity, need::Column::Id, need_visible(vis)),
        ))
        .add(of(
            "Funding",
            record_visible(funding::Entity, funding::Column::Id, funding_visible(vis)),
        ))
}

fn change(m: change_log::Model) -> Result<Change> {
    Ok(Change {
        seq: m.seq,
        kind: ChangeKind::from_name(&m.kind)
            .ok_or_else(|| Error::internal(format!("unknown change kind {:?}", m.kind)))?,
        record_type: m.record_type,
        record_id: m.record_id,
        version: m.version,
        at: m.at,
    })
}

#[async_trait]
impl ChangeRepository for SeaStore {
    async fn changes(&self, vis: &Visibility, page: PageRequest) -> Result<Page<Change>> {
        let mut select = change_log::Entity::find()
            .filter(change_visible(vis))
            .order_by_asc(L::Seq)
            .limit(page.first + 1);
        if let Some(after) = page.after {
            select = select.filter(L::Seq.gt(after));
        }
        let mut rows = select.all(self.connection()).await.map_err(db_err)?;
        let has_next_page = rows.len() as u64 > page.first;
        rows.truncate(page.first as usize);
        Ok(Page {
            items: rows.into_iter().map(change).collect::<Result<_>>()?,
            has_next_page,
        })
    }
}
