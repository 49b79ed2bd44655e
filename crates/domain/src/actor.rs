//! Who is asking. Services take an explicit actor; [`crate::policy`] decides from it what may be
//! seen or done.

use crate::entities::Id;
use crate::framework::vocabulary;
use crate::{Error, Result, policy};

vocabulary!(
    /// What a signed-in user does in the forum; [`crate::policy`] says what each may change.
    Role {
        Practitioner = "PRACTITIONER",
        SupportProvider = "SUPPORT_PROVIDER",
        Donor = "DONOR",
        Admin = "ADMIN",
    }
    parse(text) else Error::validation("role", format!("unknown role {text:?}"))
);

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
    /// What part of the base this actor's reads return; decided by [`policy::visibility`].
    pub fn visibility(&self) -> Visibility {
        policy::visibility(self)
    }

    /// Whether confidential funding amounts may be shown for a record of `donor_id`; decided by
    /// [`policy::sees_confidential_amount`].
    pub fn sees_confidential_amounts_of(&self, donor_id: Option<Id>) -> bool {
        policy::sees_confidential_amount(self, donor_id)
    }

    /// The approved user behind a change: UNAUTHENTICATED for anonymous callers, FORBIDDEN for
    /// accounts awaiting approval.
    pub fn approved(&self) -> Result<(Id, &Role, Option<&Affiliation>)> {
        policy::approved(self)
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
