//! Who is asking. Services take an explicit actor and decide from it what may be seen or done.

use crate::entities::Id;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Practitioner,
    SupportProvider,
    Donor,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affiliation {
    City(Id),
    Association(Id),
    Donor(Id),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    User {
        id: Id,
        role: Role,
        affiliation: Option<Affiliation>,
    },
}

/// What part of the base a read may return. Repositories apply it in SQL, so that counts and
/// pages agree with what the viewer may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Published records only: anyone.
    Published,
    /// Drafts and archived records too: the secretariat.
    Everything,
}

impl Actor {
    pub fn visibility(&self) -> Visibility {
        match self {
            Actor::User {
                role: Role::Admin, ..
            } => Visibility::Everything,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_sees_drafts_and_only_the_donor_its_confidential_amounts() {
        assert_eq!(Actor::Anonymous.visibility(), Visibility::Published);
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
        assert!(donor.sees_confidential_amounts_of(Some(7)));
        assert!(!donor.sees_confidential_amounts_of(Some(8)));
        assert!(!Actor::Anonymous.sees_confidential_amounts_of(Some(7)));
        assert!(admin.sees_confidential_amounts_of(None));
    }
}
