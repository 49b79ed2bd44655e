//! The audit trail: every mutation writes one entry in the same transaction as its change.

use chrono::{DateTime, Utc};

use crate::Actor;
use crate::entities::Id;

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: Id,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Id>,
    pub action: String,
    pub entity: String,
    pub entity_id: Id,
    /// Names of the fields the mutation set.
    pub changes: Vec<String>,
}

impl AuditEntry {
    /// An entry to be written; `entity_id` 0 stands for "the record being created".
    pub fn new(
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: Id,
        changes: Vec<String>,
    ) -> Self {
        AuditEntry {
            id: 0,
            at: Utc::now(),
            actor_user_id: actor.user_id(),
            action: action.into(),
            entity: entity.into(),
            entity_id,
            changes,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<Id>,
    pub actor_user_id: Option<Id>,
    pub action: Option<String>,
}
