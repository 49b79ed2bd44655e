//! README's role table as a test table: every caller × every decision, with the outcome.

use super::*;
use crate::framework::FundingSource::{GrantsLoans, LocalPartners, OwnBudget};

/// The record's city, association and donor; the callers' other organisations differ.
const CITY: Id = 10;
const ASSOCIATION: Id = 20;
const DONOR: Id = 30;

const fn user(role: Role, affiliation: Option<Affiliation>) -> Actor {
    Actor::User {
        id: 1,
        role,
        affiliation,
    }
}

/// The callers, in the order of the expectation strings below.
const CALLERS: [(&str, Actor); 11] = [
    ("anonymous", Actor::Anonymous),
    ("pending user", Actor::Pending { id: 2 }),
    (
        "practitioner of the record's city",
        user(Role::Practitioner, Some(Affiliation::City(CITY))),
    ),
    (
        "practitioner of another city",
        user(Role::Practitioner, Some(Affiliation::City(CITY + 1))),
    ),
    (
        "practitioner of the record's association",
        user(
            Role::Practitioner,
            Some(Affiliation::Association(ASSOCIATION)),
        ),
    ),
    (
        "practitioner of another association",
        user(
            Role::Practitioner,
            Some(Affiliation::Association(ASSOCIATION + 1)),
        ),
    ),
    (
        "support provider of the record's association",
        user(
            Role::SupportProvider,
            Some(Affiliation::Association(ASSOCIATION)),
        ),
    ),
    (
        "support provider of another association",
        user(
            Role::SupportProvider,
            Some(Affiliation::Association(ASSOCIATION + 1)),
        ),
    ),
    (
        "donor who is the record's",
        user(Role::Donor, Some(Affiliation::Donor(DONOR))),
    ),
    (
        "another donor",
        user(Role::Donor, Some(Affiliation::Donor(DONOR + 1))),
    ),
    ("admin", user(Role::Admin, None)),
];

/// O = allowed, U = UNAUTHENTICATED, F = FORBIDDEN, V = VALIDATION (the input lacks something).
fn outcome<T>(result: Result<T>) -> char {
    match result {
        Ok(_) => 'O',
        Err(Error::Unauthenticated) => 'U',
        Err(Error::Forbidden(_)) => 'F',
        Err(Error::Validation { .. }) => 'V',
        Err(_) => '?',
    }
}

type Row = (&'static str, &'static str, fn(&Actor) -> char);

/// One row per decision and kind of record; one letter per caller in `CALLERS` order.
const TABLE: &[Row] = &[
    ("act at all", "UFOOOOOOOOO", |a| outcome(approved(a))),
    // PRACTITIONER: practices the city (association) takes part in.
    ("change a practice", "UFOFOFFFFFO", |a| {
        outcome(may_change_practice(a, &[CITY, 99], &[ASSOCIATION]))
    }),
    ("change a practice of no association", "UFOFFFFFFFO", |a| {
        outcome(may_change_practice(a, &[CITY], &[]))
    }),
    // SUPPORT_PROVIDER: schemes the association operates and their links to practices.
    ("create a scheme", "UFFFFFOOFFO", |a| {
        outcome(operators_of_new_scheme(a))
    }),
    ("change a scheme", "UFFFFFOFFFO", |a| {
        outcome(may_change_scheme(
            a,
            &[Operator::Association(ASSOCIATION), Operator::Donor(DONOR)],
        ))
    }),
    // DONOR: funding whose source is the donor; PRACTITIONER: own-budget and local-partner
    // funding of the city's practices.
    ("record funding naming no donor", "UFOOOOOOOOO", |a| {
        outcome(donor_of_new_funding(a, None))
    }),
    ("record funding naming the donor", "UFFFFFFFOFO", |a| {
        outcome(donor_of_new_funding(a, Some(DONOR)))
    }),
    ("change a donor's grant", "UFFFFFFFOFO", |a| {
        outcome(may_change_funding(a, Some(DONOR), GrantsLoans, &[CITY]))
    }),
    ("change a grant of no donor", "UFFFFFFFFFO", |a| {
        outcome(may_change_funding(a, None, GrantsLoans, &[CITY]))
    }),
    ("change own-budget funding", "UFOFFFFFFFO", |a| {
        outcome(may_change_funding(a, None, OwnBudget, &[CITY]))
    }),
    ("change local-partner funding", "UFOFFFFFFFO", |a| {
        outcome(may_change_funding(a, None, LocalPartners, &[CITY]))
    }),
    (
        "change own-budget funding naming a donor",
        "UFFFFFFFFFO",
        |a| outcome(may_change_funding(a, Some(DONOR), OwnBudget, &[CITY])),
    ),
    ("change funding of a scheme", "UFFFFFFFOFO", |a| {
        outcome(may_change_funding(a, Some(DONOR), GrantsLoans, &[]))
    }),
    // PRACTITIONER: the city's needs; SUPPORT_PROVIDER: needs' match status.
    ("create a need for one's own city", "UFOOVVVVVVV", |a| {
        outcome(city_of_new_need(a, None))
    }),
    ("create a need for a named city", "UFOFFFFFFFO", |a| {
        outcome(city_of_new_need(a, Some(CITY)).and_then(|c| may_change_need(a, c)))
    }),
    ("change or publish a need", "UFOFFFFFFFO", |a| {
        outcome(may_change_need(a, CITY))
    }),
    ("set a need's match status", "UFOFFFOOFFO", |a| {
        outcome(may_set_need_status(a, CITY))
    }),
    // Profiles: each organisation its own.
    ("add a city", "UFOOOOOOFFO", |a| outcome(may_create_city(a))),
    ("change a city's profile", "UFOFFFFFFFO", |a| {
        outcome(may_change_city(a, CITY))
    }),
    ("change an association's profile", "UFFFFFOFFFO", |a| {
        outcome(may_change_association(a, ASSOCIATION))
    }),
    ("change a donor's profile and agenda", "UFFFFFFFOFO", |a| {
        outcome(may_change_donor(a, DONOR))
    }),
    // ADMIN: everything, users and approvals included.
    ("approve users", "UFFFFFFFFFO", |a| {
        outcome(may_approve_users(a))
    }),
    ("set a currency rate", "UFFFFFFFFFO", |a| {
        outcome(may_set_currency_rate(a))
    }),
    ("read the audit trail", "UFFFFFFFFFO", |a| {
        outcome(may_read_audit_log(a))
    }),
    // Reads: Y = sees it, N = does not.
    ("see the donor's confidential amount", "NNNNNNNNYNY", |a| {
        yes(sees_confidential_amount(a, Some(DONOR)))
    }),
    (
        "see a confidential amount of no donor",
        "NNNNNNNNNNY",
        |a| yes(sees_confidential_amount(a, None)),
    ),
    (
        "read the amount of the donor's confidential funding",
        "NNNNNNNNYNY",
        |a| {
            yes(funding_as_read_by(a, funding(Some(DONOR), true))
                .amount
                .is_some())
        },
    ),
    (
        "read the amount of confidential own-budget funding",
        "NNNNNNNNNNY",
        |a| {
            yes(funding_as_read_by(a, funding(None, true))
                .amount_usd
                .is_some())
        },
    ),
    (
        "read the amount of funding that is not confidential",
        "YYYYYYYYYYY",
        |a| yes(funding_as_read_by(a, funding(None, false)).amount.is_some()),
    ),
    ("see the city's drafts", "NNYNNNNNNNY", |a| {
        yes(sees_drafts_of(a, &Affiliation::City(CITY)))
    }),
    ("see the association's drafts", "NNNNYNYNNNY", |a| {
        yes(sees_drafts_of(a, &Affiliation::Association(ASSOCIATION)))
    }),
];

/// A funding record with an amount, of `donor` (own-budget funding without one).
fn funding(donor: Option<Id>, confidential: bool) -> Funding {
    Funding {
        id: 1,
        version: 1,
        practice_id: Some(1),
        scheme_id: None,
        donor_id: donor,
        source_city_id: donor.is_none().then_some(CITY),
        source_name: None,
        source_type: if donor.is_some() {
            GrantsLoans
        } else {
            OwnBudget
        },
        amount: Some(rust_decimal::Decimal::ONE_HUNDRED),
        currency: "USD".into(),
        rate: rust_decimal::Decimal::ONE,
        rate_source: None,
        amount_usd: Some(rust_decimal::Decimal::ONE_HUNDRED),
        year: None,
        status: crate::framework::FundingStatus::Committed,
        confidential,
        note: None,
    }
}

fn yes(b: bool) -> char {
    if b { 'Y' } else { 'N' }
}

/// Whether the visibility lets the actor see a draft owned by `owner`.
fn sees_drafts_of(actor: &Actor, owner: &Affiliation) -> bool {
    match visibility(actor) {
        Visibility::Everything => true,
        Visibility::Member(a) => &a == owner,
        Visibility::Published => false,
    }
}

#[test]
fn the_role_table() {
    let mut wrong = Vec::new();
    for (decision, expected, decide) in TABLE {
        assert_eq!(
            expected.len(),
            CALLERS.len(),
            "{decision}: one letter a caller"
        );
        for ((caller, actor), want) in CALLERS.iter().zip(expected.chars()) {
            let got = decide(actor);
            if got != want {
                wrong.push(format!("{decision}, {caller}: expected {want}, got {got}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn whose_records_are_made() {
    let donor = &CALLERS[8].1;
    let admin = &CALLERS[10].1;
    let practitioner = &CALLERS[2].1;
    assert_eq!(donor_of_new_funding(donor, None), Ok(Some(DONOR)));
    assert_eq!(
        donor_of_new_funding(admin, Some(DONOR + 1)),
        Ok(Some(DONOR + 1))
    );
    assert_eq!(donor_of_new_funding(admin, None), Ok(None));
    assert_eq!(donor_of_new_funding(practitioner, None), Ok(None));
    assert_eq!(
        operators_of_new_scheme(&CALLERS[6].1),
        Ok(vec![Operator::Association(ASSOCIATION)])
    );
    assert_eq!(operators_of_new_scheme(admin), Ok(vec![]));
    assert_eq!(city_of_new_need(practitioner, None), Ok(CITY));
    assert_eq!(city_of_new_need(practitioner, Some(7)), Ok(7));
}

#[test]
fn what_each_caller_reads() {
    assert_eq!(visibility(&CALLERS[0].1), Visibility::Published);
    assert_eq!(visibility(&CALLERS[1].1), Visibility::Published);
    assert_eq!(
        visibility(&CALLERS[8].1),
        Visibility::Member(Affiliation::Donor(DONOR))
    );
    assert_eq!(visibility(&CALLERS[10].1), Visibility::Everything);
    let no_affiliation = user(Role::Practitioner, None);
    assert_eq!(visibility(&no_affiliation), Visibility::Published);
}

#[test]
fn pending_accounts_are_told_why() {
    assert_eq!(
        approved(&CALLERS[1].1),
        Err(Error::Forbidden("the account awaits approval".into()))
    );
    assert_eq!(
        require_admin(&CALLERS[1].1),
        Err(Error::Forbidden("only the secretariat may do this".into()))
    );
}

#[test]
fn a_draft_need_is_read_by_its_city_its_owner_and_the_secretariat_only() {
    use PublicationStatus::{Draft, Published};
    let owner = Affiliation::City(CITY);
    let expected = [
        ("anonymous", false),
        ("pending user", false),
        ("practitioner of the record's city", true),
        ("practitioner of another city", false),
    ];
    for ((who, actor), (name, reads)) in CALLERS.iter().zip(expected) {
        assert_eq!(*who, name);
        assert_eq!(
            may_read_need(actor, Draft, Some(&owner), CITY),
            reads,
            "{who}"
        );
        assert!(may_read_need(actor, Published, Some(&owner), CITY), "{who}");
    }
    let admin = user(Role::Admin, None);
    assert!(may_read_need(&admin, Draft, Some(&owner), CITY));
    let provider = user(
        Role::SupportProvider,
        Some(Affiliation::Association(ASSOCIATION)),
    );
    assert!(!may_read_need(&provider, Draft, Some(&owner), CITY));
    let owning_association = Affiliation::Association(ASSOCIATION);
    assert!(may_read_need(
        &provider,
        Draft,
        Some(&owning_association),
        CITY + 1
    ));
}

#[test]
fn a_draft_practice_or_scheme_is_read_by_those_taking_part() {
    use PublicationStatus::{Draft, Published};
    let city = user(Role::Practitioner, Some(Affiliation::City(CITY)));
    let other_city = user(Role::Practitioner, Some(Affiliation::City(CITY + 1)));
    let association = user(
        Role::SupportProvider,
        Some(Affiliation::Association(ASSOCIATION)),
    );
    let donor = user(Role::Donor, Some(Affiliation::Donor(DONOR)));
    let practice =
        |actor: &Actor, status| may_read_practice(actor, status, None, &[CITY], &[ASSOCIATION]);
    assert!(practice(&city, Draft) && practice(&association, Draft));
    assert!(!practice(&other_city, Draft) && !practice(&donor, Draft));
    assert!(!practice(&Actor::Anonymous, Draft) && practice(&Actor::Anonymous, Published));

    let operators = [Operator::Donor(DONOR)];
    let owner = Affiliation::Association(ASSOCIATION);
    assert!(may_read_scheme(&donor, Draft, None, &operators));
    assert!(may_read_scheme(
        &association,
        Draft,
        Some(&owner),
        &operators
    ));
    assert!(!may_read_scheme(&city, Draft, Some(&owner), &operators));
    assert!(may_read_scheme(&city, Published, Some(&owner), &operators));
}

#[test]
fn only_the_secretariat_sets_an_accounts_status_and_not_its_own() {
    let admin = user(Role::Admin, None);
    assert!(may_set_user_status(&admin, 7).is_ok());
    assert!(matches!(
        may_set_user_status(&admin, 1),
        Err(Error::Forbidden(_))
    ));
    for (name, caller) in CALLERS.iter().filter(|(_, a)| {
        !matches!(
            a,
            Actor::User {
                role: Role::Admin,
                ..
            }
        )
    }) {
        assert!(may_set_user_status(caller, 7).is_err(), "{name}");
    }
}

#[test]
fn everyone_signed_in_changes_only_their_own_password() {
    assert!(matches!(
        may_change_own_password(&Actor::Anonymous),
        Err(Error::Unauthenticated)
    ));
    assert_eq!(
        may_change_own_password(&Actor::Pending { id: 2 }).ok(),
        Some(2)
    );
    assert_eq!(
        may_change_own_password(&user(Role::Donor, None)).ok(),
        Some(1)
    );
}

#[test]
fn the_change_feed_shows_what_the_lists_show_and_every_withdrawal() {
    use crate::framework::PublicationStatus::{Archived, Draft, Published};
    for (_, caller) in &CALLERS {
        assert_eq!(change_feed_visibility(caller), visibility(caller));
    }
    assert!(shows_withdrawal(Some(Published), Some(Archived)));
    assert!(shows_withdrawal(Some(Published), Some(Draft)));
    assert!(!shows_withdrawal(Some(Draft), Some(Archived)));
    assert!(!shows_withdrawal(Some(Published), Some(Published)));
    assert!(!shows_withdrawal(None, None));
}

#[test]
fn an_account_is_read_by_its_owner_and_the_secretariat_only() {
    assert!(may_read_user(&user(Role::Admin, None), 7));
    for (name, caller) in CALLERS.iter() {
        assert_eq!(
            may_read_user(caller, 7),
            caller.is_admin(),
            "{name} reads another's account"
        );
        if let Some(own) = caller.user_id() {
            assert!(may_read_user(caller, own), "{name} reads its own account");
        }
    }
}
