//! The audit trail on the wire: every change to the base, sign-ins included, for the secretariat.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use domain::audit as a;

use super::connection::{connection, page_complexity, page_request};
use super::ids::{IdCursor, Kind, id, id_of_named, parse_any_id, parse_opt_id};
use super::resolve::{actor, editor};
use crate::error::ResultExt;

pub struct AuditEntry(pub a::AuditEntry);

impl From<a::AuditEntry> for AuditEntry {
    fn from(a: a::AuditEntry) -> Self {
        AuditEntry(a)
    }
}

/// One change to the base: who made it, when, and which fields it set.
#[Object]
impl AuditEntry {
    pub(crate) async fn id(&self) -> ID {
        id(Kind::AuditEntry, self.0.id)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn actor_user_id(&self) -> Option<ID> {
        self.0.actor_user_id.map(|u| id(Kind::User, u))
    }
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn entity(&self) -> &str {
        &self.0.entity
    }
    /// The global id of the record changed (a `node` of type `entity`).
    async fn entity_id(&self) -> ID {
        id_of_named(&self.0.entity, self.0.entity_id)
    }
    async fn changed_fields(&self) -> &[String] {
        &self.0.changes
    }
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Practice, SupportScheme, Funding, Need, City, Association, Donor, User or CurrencyRate
    /// (in any case).
    pub entity: Option<String>,
    /// A record's global id (of any type) or number.
    pub entity_id: Option<ID>,
    pub actor_user_id: Option<ID>,
    /// What the mutation did, as the entries' `action` spells it (CREATE, UPDATE, …; in any
    /// case).
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
            entity_id: self
                .entity_id
                .as_ref()
                .map(|i| parse_any_id("entityId", i))
                .transpose()?,
            actor_user_id: parse_opt_id(Kind::User, "actorUserId", &self.actor_user_id)?,
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

pub type AuditConnection = async_graphql::connection::Connection<IdCursor, AuditEntry, AuditCount>;

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
