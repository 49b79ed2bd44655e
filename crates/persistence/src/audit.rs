//! The audit trail: written inside every change's transaction, read by the secretariat.

use domain::Error;
use domain::Result;
use domain::audit::{AuditEntry, AuditFilter};
use domain::page::{Page, PageRequest};
use sea_orm::*;

use crate::entities::audit_entry;
use crate::store::{SeaStore, db_err};

pub(crate) async fn write_audit_entry(txn: &DatabaseTransaction, audit: AuditEntry) -> Result<()> {
    let changes = serde_json::to_string(&audit.changes).map_err(Error::internal)?;
    audit_entry::Entity::insert(audit_entry::ActiveModel {
        at: Set(audit.at),
        actor_user_id: Set(audit.actor_user_id),
        action: Set(audit.action),
        entity: Set(audit.entity),
        entity_id: Set(audit.entity_id),
        changes: Set(changes),
        ..Default::default()
    })
    .exec(txn)
    .await
    .map_err(db_err)?;
    Ok(())
}

fn entry(m: audit_entry::Model) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: m.id,
        at: m.at,
        actor_user_id: m.actor_user_id,
        action: m.action,
        entity: m.entity,
        entity_id: m.entity_id,
        changes: serde_json::from_str(&m.changes).map_err(Error::internal)?,
    })
}

/// Newest first, after the cursor.
pub(crate) async fn audit_log(
    store: &SeaStore,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>> {
    let mut select = audit_entry::Entity::find()
        .filter(audit_condition(filter))
        .order_by_desc(audit_entry::Column::Id)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        select = select.filter(audit_entry::Column::Id.lt(after));
    }
    let mut rows = select.all(store.connection()).await.map_err(db_err)?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok(Page {
        items: rows.into_iter().map(entry).collect::<Result<_>>()?,
        has_next_page,
    })
}

pub(crate) async fn count_audit(store: &SeaStore, filter: &AuditFilter) -> Result<i64> {
    crate::query::count::<audit_entry::Entity>(store.connection(), audit_condition(filter)).await
}

fn audit_condition(f: &AuditFilter) -> Condition {
    use crate::entities::audit_entry::Column as A;
    let mut c = Condition::all();
    if let Some(e) = &f.entity {
        c = c.add(A::Entity.eq(e.as_str()));
    }
    if let Some(id) = f.entity_id {
        c = c.add(A::EntityId.eq(id));
    }
    if let Some(a) = f.actor_user_id {
        c = c.add(A::ActorUserId.eq(a));
    }
    if let Some(a) = &f.action {
        c = c.add(A::Action.eq(a.as_str()));
    }
    c
}
