//! The audit trail on the wire: every change to the base, sign-ins included, for the secretariat.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::audit as a;

use super::connection::{connection, page_complexity, page_request};
use super::ids::{id, parse_opt_id};
use super::resolve::{actor, editor};
use crate::error::ResultExt;

/// One change to the base: who made it, when, and which fields it set.
#[derive(SimpleObject)]
pub struct AuditEntry {
    id: ID,
    at: DateTime<Utc>,
    actor_user_id: Option<ID>,
    action: String,
    entity: String,
    entity_id: ID,
    changed_fields: Vec<String>,
}

impl From<a::AuditEntry> for AuditEntry {
    fn from(a: a::AuditEntry) -> Self {
        AuditEntry {
            id: id(a.id),
            at: a.at,
            actor_user_id: a.actor_user_id.map(id),
            action: a.action,
            entity: a.entity,
            entity_id: id(a.entity_id),
            changed_fields: a.changes,
        }
    }
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Practice, SupportScheme, Funding, Need, City, Association, Donor or User.
    pub entity: Option<String>,
    pub entity_id: Option<ID>,
    pub actor_user_id: Option<ID>,
    pub action: Option<String>,
}

impl AuditFilter {
    fn into_domain(self) -> async_graphql::Result<a::AuditFilter> {
        // PostgreSQL refuses NUL in text: a filter holding one is refused here, by name.
        for (field, text) in [("entity", &self.entity), ("action", &self.action)] {
            if let Some(text) = text {
                domain::values::without_nul(field, text).api()?;
            }
        }
        Ok(a::AuditFilter {
            entity: self.entity,
            entity_id: parse_opt_id("entityId", &self.entity_id)?,
            actor_user_id: parse_opt_id("actorUserId", &self.actor_user_id)?,
            action: self.action,
        })
    }
}

/// `totalCount` of the audit log, counted lazily like the other connections.
pub struct AuditCount(a::AuditFilter);

#[Object]
impl AuditCount {
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let filter = self.0.clone();
        editor(ctx).count_audit(actor(ctx), filter).await.api()
    }
}

pub type AuditConnection = async_graphql::connection::Connection<String, AuditEntry, AuditCount>;

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// ADMIN: the changes made to the base, newest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AuditConnection> {
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default().into_domain()?;
        let items = editor(ctx)
            .audit_log(actor(ctx), filter.clone(), page)
            .await
            .api()?;
        Ok(connection(
            items,
            |a| a.id,
            AuditEntry::from,
            AuditCount(filter),
        ))
    }
}
