//! The audit trail: every mutation writes one entry in the same transaction as its change.

use chrono::{DateTime, Utc};

use crate::entities::Id;
use crate::{Actor, Error, Result};

/// The kinds of record the audit trail names, as its entries spell them.
pub const AUDITED_ENTITIES: &[&str] = &[
    "Practice",
    "SupportScheme",
    "Funding",
    "Need",
    "City",
    "Association",
    "Donor",
    "User",
    "CurrencyRate",
];

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
        debug_assert!(
            AUDITED_ENTITIES.contains(&entity),
            "{entity} is not in AUDITED_ENTITIES"
        );
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

impl AuditFilter {
    /// The entity and action as the entries spell them, whatever case they came in: an entity
    /// the trail never names is refused, listing those it does, rather than matching nothing.
    pub fn check(&mut self) -> Result<()> {
        if let Some(entity) = &mut self.entity {
            let wanted = entity.trim();
            match AUDITED_ENTITIES
                .iter()
                .find(|known| known.eq_ignore_ascii_case(wanted))
            {
                Some(known) => *entity = known.to_string(),
                None => {
                    return Err(Error::validation(
                        "entity",
                        format!("is one of {}", AUDITED_ENTITIES.join(", ")),
                    ));
                }
            }
        }
        if let Some(action) = &mut self.action {
            *action = action.trim().to_ascii_uppercase();
        }
        Ok(())
    }
}
