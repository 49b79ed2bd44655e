//! Who may read, change or see what: every authorization decision of the forum, as pure
//! functions of the actor and the facts of the record. README's "Accounts and roles" table is the
//! specification; the tests below are that table.
//!
//! Every change needs an approved account: anonymous callers are UNAUTHENTICATED, accounts
//! awaiting approval FORBIDDEN, before anything about the record is asked. The secretariat
//! (ADMIN) may do everything.

use crate::actor::{Affiliation, Role};
use crate::entities::{Funding, Id, Operator};
use crate::framework::{FundingSource, PublicationStatus};
use crate::{Actor, Error, Result, Visibility};

fn forbidden(why: &str) -> Error {
    Error::Forbidden(why.into())
}

/// The approved user behind a change.
pub fn approved(actor: &Actor) -> Result<(Id, &Role, Option<&Affiliation>)> {
    match actor {
        Actor::User {
            id,
            role,
            affiliation,
        } => Ok((*id, role, affiliation.as_ref())),
        Actor::Pending { .. } => Err(forbidden("the account awaits approval")),
        Actor::Anonymous => Err(Error::Unauthenticated),
    }
}

/// The approved user's role and affiliation.
fn standing(actor: &Actor) -> Result<(Role, Option<&Affiliation>)> {
    approved(actor).map(|(_, role, affiliation)| (*role, affiliation))
}

/// The secretariat's own work: account approval, the USD rate table, the audit trail.
/// Importing a file creates and changes records of every kind at once (practices, cities,
/// donors, funding): the secretariat's.
pub fn may_import(actor: &Actor) -> Result<()> {
    require_admin(actor)
}

pub fn require_admin(actor: &Actor) -> Result<()> {
    match actor {
        Actor::User {
            role: Role::Admin, ..
        } => Ok(()),
        Actor::User { .. } | Actor::Pending { .. } => {
            Err(forbidden("only the secretariat may do this"))
        }
        Actor::Anonymous => Err(Error::Unauthenticated),
    }
}

// ---- reads ----

/// Drafts are seen by their organisation and the secretariat; everyone else reads the published
/// base. Accounts awaiting approval read like anyone.
pub fn visibility(actor: &Actor) -> Visibility {
    match actor {
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

/// A confidential funding amount is shown to its donor and the secretariat; others learn that
/// the funding exists.
pub fn sees_confidential_amount(actor: &Actor, donor_id: Option<Id>) -> bool {
    match actor {
        Actor::User {
            role: Role::Admin, ..
        } => true,
        _ => donor_id.is_some() && donor_id == own_donor(actor),
    }
}

/// The donor a donor's staff speak for, whose confidential amounts they see.
pub fn own_donor(actor: &Actor) -> Option<Id> {
    match actor {
        Actor::User {
            role: Role::Donor,
            affiliation: Some(Affiliation::Donor(own)),
            ..
        } => Some(*own),
        _ => None,
    }
}

/// The secretariat sees every confidential amount, so aggregates need no disclosure control
/// for it.
pub fn sees_every_confidential_amount(actor: &Actor) -> bool {
    matches!(
        actor,
        Actor::User {
            role: Role::Admin,
            ..
        }
    )
}

/// A funding record as `actor` may read it, whatever path produced it (a list, a mutation's
/// answer): a confidential amount is left out for whoever [`sees_confidential_amount`] denies.
pub fn funding_as_read_by(actor: &Actor, mut funding: Funding) -> Funding {
    if funding.confidential && !sees_confidential_amount(actor, funding.donor_id) {
        funding.amount = None;
        funding.amount_usd = None;
    }
    funding
}

/// A follower of the change feed is shown the changes of the records it may read now, by the
/// same rules as the lists: a draft's changes stay hidden from readers outside its organisation
/// until it is published, and then all of them appear.
pub fn change_feed_visibility(actor: &Actor) -> Visibility {
    visibility(actor)
}

/// A save that takes a published record out of the published base (archive, back to draft) is
/// shown to every follower, although most may no longer read the record: a mirror must learn
/// to drop it, and the record was public until then, so nothing is disclosed.
pub fn shows_withdrawal(
    before: Option<PublicationStatus>,
    after: Option<PublicationStatus>,
) -> bool {
    before == Some(PublicationStatus::Published) && after != Some(PublicationStatus::Published)
}

/// Published records are read by everyone; a draft by the secretariat, its owner, and the
/// organisations `takes_part` names (the rule the lists apply). A change to a record the caller
/// cannot read answers NOT_FOUND, so that drafts cannot be found by trying ids.
fn reads(
    actor: &Actor,
    status: PublicationStatus,
    owner: Option<&Affiliation>,
    takes_part: impl Fn(&Affiliation) -> bool,
) -> bool {
    match visibility(actor) {
        Visibility::Everything => true,
        Visibility::Published => status == PublicationStatus::Published,
        Visibility::Member(a) => {
            status == PublicationStatus::Published || owner == Some(&a) || takes_part(&a)
        }
    }
}

/// A draft practice is read by members of the cities and associations taking part.
pub fn may_read_practice(
    actor: &Actor,
    status: PublicationStatus,
    owner: Option<&Affiliation>,
    cities: &[Id],
    associations: &[Id],
) -> bool {
    reads(actor, status, owner, |a| match a {
        Affiliation::City(c) => cities.contains(c),
        Affiliation::Association(x) => associations.contains(x),
        Affiliation::Donor(_) => false,
    })
}

/// A draft scheme is read by members of the associations and donors operating it.
pub fn may_read_scheme(
    actor: &Actor,
    status: PublicationStatus,
    owner: Option<&Affiliation>,
    operators: &[Operator],
) -> bool {
    reads(actor, status, owner, |a| match a {
        Affiliation::Association(x) => operators.contains(&Operator::Association(*x)),
        Affiliation::Donor(d) => operators.contains(&Operator::Donor(*d)),
        Affiliation::City(_) => false,
    })
}

/// A draft need is read by practitioners of its city.
pub fn may_read_need(
    actor: &Actor,
    publication: PublicationStatus,
    owner: Option<&Affiliation>,
    city_id: Id,
) -> bool {
    reads(actor, publication, owner, |a| {
        *a == Affiliation::City(city_id)
    })
}

// ---- practices ----

/// A practice (new or existing) is changed by practitioners of a city taking part in it or of
/// an association involved in it.
pub fn may_change_practice(actor: &Actor, cities: &[Id], associations: &[Id]) -> Result<()> {
    match standing(actor)? {
        (Role::Admin, _) => Ok(()),
        (Role::Practitioner, Some(Affiliation::City(c))) if cities.contains(c) => Ok(()),
        (Role::Practitioner, Some(Affiliation::Association(a))) if associations.contains(a) => {
            Ok(())
        }
        _ => Err(forbidden(
            "only practitioners of the practice's cities or associations may change it",
        )),
    }
}

// ---- support schemes ----

/// Support providers create schemes, operated by their association; the secretariat creates
/// schemes without an operator. Answers the operators of the new scheme.
pub fn operators_of_new_scheme(actor: &Actor) -> Result<Vec<Operator>> {
    match standing(actor)? {
        (Role::Admin, _) => Ok(vec![]),
        (Role::SupportProvider, Some(Affiliation::Association(a))) => {
            Ok(vec![Operator::Association(*a)])
        }
        _ => Err(forbidden(
            "only support providers and the secretariat create support schemes",
        )),
    }
}

/// A scheme, and its links to practices, is changed by support providers of an association
/// operating it.
pub fn may_change_scheme(actor: &Actor, operators: &[Operator]) -> Result<()> {
    match standing(actor)? {
        (Role::Admin, _) => Ok(()),
        (Role::SupportProvider, Some(Affiliation::Association(a)))
            if operators.contains(&Operator::Association(*a)) =>
        {
            Ok(())
        }
        _ => Err(forbidden(
            "only support providers of an operating association may change this scheme",
        )),
    }
}

// ---- funding ----

/// Whose funding a new record is: a donor's records are its own (naming another donor is
/// forbidden), the secretariat names any donor or none, and nobody else names a donor.
pub fn donor_of_new_funding(actor: &Actor, named: Option<Id>) -> Result<Option<Id>> {
    match standing(actor)? {
        (Role::Donor, Some(Affiliation::Donor(d))) => {
            if named.is_some_and(|given| given != *d) {
                return Err(forbidden("a donor records its own funding only"));
            }
            Ok(Some(*d))
        }
        (Role::Admin, _) => Ok(named),
        _ if named.is_some() => Err(forbidden(
            "only the donor itself or the secretariat names a donor",
        )),
        _ => Ok(None),
    }
}

/// Who may record or change a funding record: own-budget and local-partner funding belongs to
/// the practice's cities (without a donor), everything else to the donor who is its source.
pub fn may_change_funding(
    actor: &Actor,
    donor_id: Option<Id>,
    source_type: FundingSource,
    practice_cities: &[Id],
) -> Result<()> {
    let local = matches!(
        source_type,
        FundingSource::OwnBudget | FundingSource::LocalPartners
    );
    match standing(actor)? {
        (Role::Admin, _) => Ok(()),
        (Role::Donor, Some(Affiliation::Donor(d))) if donor_id == Some(*d) && !local => Ok(()),
        (Role::Practitioner, Some(Affiliation::City(c)))
            if local && donor_id.is_none() && practice_cities.contains(c) =>
        {
            Ok(())
        }
        _ => Err(forbidden(
            "only the donor who is the source, or for own-budget and local-partner funding a practitioner of the practice's city, may record this funding",
        )),
    }
}

// ---- needs ----

/// The city a new need is for: the one named, or a practitioner's own city. Whether the actor
/// may speak for it is [`may_change_need`]'s to say.
pub fn city_of_new_need(actor: &Actor, named: Option<Id>) -> Result<Id> {
    match (standing(actor)?, named) {
        ((Role::Practitioner, Some(Affiliation::City(c))), None) => Ok(*c),
        (_, Some(c)) => Ok(c),
        _ => Err(Error::validation("cityId", "required")),
    }
}

/// A need (its content and its publication) is changed by practitioners of its city.
pub fn may_change_need(actor: &Actor, city_id: Id) -> Result<()> {
    match standing(actor)? {
        (Role::Admin, _) => Ok(()),
        (Role::Practitioner, Some(Affiliation::City(c))) if *c == city_id => Ok(()),
        _ => Err(forbidden(
            "only practitioners of the city may change its needs",
        )),
    }
}

/// A need's match status is set by any support provider, and by the city.
pub fn may_set_need_status(actor: &Actor, city_id: Id) -> Result<()> {
    match standing(actor)? {
        (Role::SupportProvider, _) => Ok(()),
        _ => may_change_need(actor, city_id),
    }
}

// ---- profiles ----

/// Practitioners, support providers and the secretariat add cities; donors do not.
pub fn may_create_city(actor: &Actor) -> Result<()> {
    match standing(actor)? {
        (Role::Admin | Role::Practitioner | Role::SupportProvider, _) => Ok(()),
        (Role::Donor, _) => Err(forbidden("donors do not add cities")),
    }
}

/// A city's profile is changed by its practitioners.
pub fn may_change_city(actor: &Actor, city_id: Id) -> Result<()> {
    match standing(actor)? {
        (Role::Admin, _) => Ok(()),
        (Role::Practitioner, Some(Affiliation::City(c))) if *c == city_id => Ok(()),
        _ => Err(forbidden(
            "only practitioners of the city may change its profile",
        )),
    }
}

/// An association's profile is changed by its support providers.
pub fn may_change_association(actor: &Actor, association_id: Id) -> Result<()> {
    match standing(actor)? {
        (Role::Admin, _) => Ok(()),
        (Role::SupportProvider, Some(Affiliation::Association(a))) if *a == association_id => {
            Ok(())
        }
        _ => Err(forbidden(
            "only support providers of the association may change its profile",
        )),
    }
}

/// A donor's profile and agenda are changed by the donor itself.
pub fn may_change_donor(actor: &Actor, donor_id: Id) -> Result<()> {
    match standing(actor)? {
        (Role::Admin, _) => Ok(()),
        (Role::Donor, Some(Affiliation::Donor(d))) if *d == donor_id => Ok(()),
        _ => Err(forbidden(
            "only the donor itself may change its profile and agenda",
        )),
    }
}

// ---- the secretariat's ----

/// The USD rate table is the secretariat's.
pub fn may_set_currency_rate(actor: &Actor) -> Result<()> {
    require_admin(actor)
}

/// The audit trail is read by the secretariat only.
pub fn may_read_audit_log(actor: &Actor) -> Result<()> {
    require_admin(actor)
}

/// Accounts are approved by the secretariat.
pub fn may_approve_users(actor: &Actor) -> Result<()> {
    require_admin(actor)
}

/// An account is read, by its id, by its owner and by the secretariat; to anyone else it is as if
/// it did not exist.
pub fn may_read_user(actor: &Actor, user_id: Id) -> bool {
    actor.is_admin() || actor.user_id() == Some(user_id)
}

/// The secretariat disables and enables accounts, but not its own: an administrator locking
/// themself out could leave the Forum without one.
/// Only the secretariat sees the list of accounts: emails are personal data.
pub fn may_list_users(actor: &Actor) -> Result<()> {
    require_admin(actor)
}

pub fn may_set_user_status(actor: &Actor, user_id: Id) -> Result<()> {
    require_admin(actor)?;
    if actor.user_id() == Some(user_id) {
        return Err(forbidden(
            "an administrator cannot disable or enable their own account",
        ));
    }
    Ok(())
}

/// Anyone signed in changes their own password, and only their own: the user it applies to.
pub fn may_change_own_password(actor: &Actor) -> Result<Id> {
    actor.user_id().ok_or(Error::Unauthenticated)
}

#[cfg(test)]
mod tests;
