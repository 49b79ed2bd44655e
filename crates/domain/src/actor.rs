//! Who is asking. Services take an explicit actor and decide from it what may be seen or done.

use crate::entities::Id;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Practitioner,
    SupportProvider,
    Donor,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Practitioner => "PRACTITIONER",
            Role::SupportProvider => "SUPPORT_PROVIDER",
            Role::Donor => "DONOR",
            Role::Admin => "ADMIN",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "PRACTITIONER" => Ok(Role::Practitioner),
            "SUPPORT_PROVIDER" => Ok(Role::SupportProvider),
            "DONOR" => Ok(Role::Donor),
            "ADMIN" => Ok(Role::Admin),
            other => Err(Error::validation("role", format!("unknown role {other:?}"))),
        }
    }
}

/// The one organisation a signed-in user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Affiliation {
    City(Id),
    Association(Id),
    Donor(Id),
}

impl Affiliation {
    pub fn kind(&self) -> &'static str {
        match self {
            Affiliation::City(_) => "CITY",
            Affiliation::Association(_) => "ASSOCIATION",
            Affiliation::Donor(_) => "DONOR",
        }
    }

    pub fn id(&self) -> Id {
        match self {
            Affiliation::City(id) | Affiliation::Association(id) | Affiliation::Donor(id) => *id,
        }
    }

    pub fn from_parts(kind: &str, id: Id) -> Result<Self> {
        match kind {
            "CITY" => Ok(Affiliation::City(id)),
            "ASSOCIATION" => Ok(Affiliation::Association(id)),
            "DONOR" => Ok(Affiliation::Donor(id)),
            other => Err(Error::internal(format!(
                "unknown affiliation kind {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    /// Signed in, but not yet approved: reads like anyone, may change nothing.
    Pending {
        id: Id,
    },
    User {
        id: Id,
        role: Role,
        affiliation: Option<Affiliation>,
    },
}

/// What part of the base a read may return. Repositories apply it in SQL, so that pages, counts
/// and nested fields agree with what the viewer may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Published records only: anyone.
    Published,
    /// Published records and the drafts of this organisation: its own, and for a city those of
    /// the practices it takes part in and its needs, for an association those of the practices
    /// it is involved in and the schemes it operates.
    Member(Affiliation),
    /// Drafts and archived records too: the secretariat.
    Everything,
}

impl Actor {
    pub fn visibility(&self) -> Visibility {
        match self {
            Actor::User {
                role: Role::Admin, ..
            } => Visibility::Everything,
            Actor::User {
                affiliation: Some(a),
                ..
            } => Visibility::Member(a.clone()),
            _ => Visibility::Published,
        }
    }

    /// Whether confidential funding amounts may be shown for a record of `donor_id`.
    pub fn sees_confidential_amounts_of(&self, donor_id: Option<Id>) -> bool {
        match self {
            Actor::User {
                role: Role::Admin, ..
            } => true,
            Actor::User {
                role: Role::Donor,
                affiliation: Some(Affiliation::Donor(own)),
                ..
            } => donor_id == Some(*own),
            _ => false,
        }
    }

    /// The approved user behind a change: UNAUTHENTICATED for anonymous callers, FORBIDDEN for
    /// accounts awaiting approval.
    pub fn approved(&self) -> Result<(Id, &Role, Option<&Affiliation>)> {
        match self {
            Actor::User {
                id,
                role,
                affiliation,
            } => Ok((*id, role, affiliation.as_ref())),
            Actor::Pending { .. } => Err(Error::Forbidden("the account awaits approval".into())),
            Actor::Anonymous => Err(Error::Unauthenticated),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Actor::User {
                role: Role::Admin,
                ..
            }
        )
    }

    pub fn user_id(&self) -> Option<Id> {
        match self {
            Actor::User { id, .. } | Actor::Pending { id } => Some(*id),
            Actor::Anonymous => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_and_confidential_amounts_follow_the_affiliation() {
        assert_eq!(Actor::Anonymous.visibility(), Visibility::Published);
        assert_eq!(Actor::Pending { id: 3 }.visibility(), Visibility::Published);
        let admin = Actor::User {
            id: 1,
            role: Role::Admin,
            affiliation: None,
        };
        assert_eq!(admin.visibility(), Visibility::Everything);
        let donor = Actor::User {
            id: 2,
            role: Role::Donor,
            affiliation: Some(Affiliation::Donor(7)),
        };
        assert_eq!(
            donor.visibility(),
            Visibility::Member(Affiliation::Donor(7))
        );
        assert!(donor.sees_confidential_amounts_of(Some(7)));
        assert!(!donor.sees_confidential_amounts_of(Some(8)));
        assert!(!Actor::Anonymous.sees_confidential_amounts_of(Some(7)));
        assert!(admin.sees_confidential_amounts_of(None));
    }

    #[test]
    fn only_approved_users_act() {
        assert_eq!(
            Actor::Anonymous.approved().unwrap_err(),
            Error::Unauthenticated
        );
        assert!(matches!(
            Actor::Pending { id: 1 }.approved().unwrap_err(),
            Error::Forbidden(_)
        ));
    }
}
