//! The editor against an in-memory repository: what it saves and what it audits.

use std::future::Future;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::actor::{Affiliation, Role};

const CITY: Id = 10;

/// Runs a future of the fake repository, which never waits.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the fake repository never waits"),
    }
}

#[derive(Default)]
struct Fake {
    practice: Mutex<Option<PracticeRecord>>,
    scheme: Mutex<Option<SchemeRecord>>,
    need: Mutex<Option<NeedRecord>>,
    audit: Mutex<Vec<AuditEntry>>,
}

impl Fake {
    fn with_records() -> Self {
        let fake = Fake::default();
        let mut practice = PracticeRecord::draft(LinkingModality::OneOnOne);
        practice.practice.id = 1;
        practice.practice.title = "Composting".into();
        practice.tags = Tags {
            themes: vec![Theme::Environment],
            management_focus: vec![ManagementFocus::TechnicalExpertise],
            cooperating_parties: vec![CooperatingParty::Academia],
            ..Tags::default()
        };
        practice.cities = vec![(CITY, CityRole::Lead)];
        *fake.practice.lock().unwrap() = Some(practice);
        let mut scheme = SchemeRecord::draft(vec![Operator::Association(20)], None);
        scheme.scheme.id = 2;
        *fake.scheme.lock().unwrap() = Some(scheme);
        let mut need = NeedRecord::draft(CITY);
        need.need.id = 3;
        need.tags.themes = vec![Theme::Environment];
        *fake.need.lock().unwrap() = Some(need);
        fake
    }

    fn audited(&self, entry: AuditEntry) {
        self.audit.lock().unwrap().push(entry);
    }

    /// Action and fields of the audit entries written, in order.
    fn trail(&self) -> Vec<(String, Vec<String>)> {
        let audit = self.audit.lock().unwrap();
        audit
            .iter()
            .map(|e| (e.action.clone(), e.changes.clone()))
            .collect()
    }
}

#[async_trait]
impl EditRepository for Fake {
    async fn practice_record(&self, _: Id) -> Result<Option<PracticeRecord>> {
        Ok(self.practice.lock().unwrap().clone())
    }
    async fn save_practice(
        &self,
        record: &PracticeRecord,
        _: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Practice> {
        self.audited(audit);
        *self.practice.lock().unwrap() = Some(record.clone());
        Ok(record.practice.clone())
    }
    async fn scheme_record(&self, _: Id) -> Result<Option<SchemeRecord>> {
        Ok(self.scheme.lock().unwrap().clone())
    }
    async fn save_scheme(
        &self,
        record: &SchemeRecord,
        _: Option<i32>,
        audit: AuditEntry,
    ) -> Result<SupportScheme> {
        self.audited(audit);
        Ok(record.scheme.clone())
    }
    async fn link_scheme(&self, _: Id, _: Id, audit: AuditEntry) -> Result<()> {
        self.audited(audit);
        Ok(())
    }
    async fn funding_by_id(&self, _: Id) -> Result<Option<(Funding, Option<i64>)>> {
        Ok(None)
    }
    async fn save_funding(
        &self,
        funding: &Funding,
        _: Option<i64>,
        _: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Funding> {
        self.audited(audit);
        Ok(funding.clone())
    }
    async fn need_record(&self, _: Id) -> Result<Option<NeedRecord>> {
        Ok(self.need.lock().unwrap().clone())
    }
    async fn save_need(
        &self,
        record: &NeedRecord,
        _: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Need> {
        self.audited(audit);
        Ok(record.need.clone())
    }
    async fn city(&self, _: Id) -> Result<Option<City>> {
        Ok(None)
    }
    async fn association(&self, _: Id) -> Result<Option<Association>> {
        Ok(None)
    }
    async fn donor_with_agenda(&self, _: Id) -> Result<Option<(Donor, Agenda)>> {
        Ok(None)
    }
    async fn save_city(&self, city: &City, _: Option<i32>, audit: AuditEntry) -> Result<City> {
        self.audited(audit);
        Ok(city.clone())
    }
    async fn save_association(
        &self,
        association: &Association,
        _: i32,
        audit: AuditEntry,
    ) -> Result<Association> {
        self.audited(audit);
        Ok(association.clone())
    }
    async fn save_donor(
        &self,
        donor: &Donor,
        _: &Agenda,
        _: i32,
        audit: AuditEntry,
    ) -> Result<Donor> {
        self.audited(audit);
        Ok(donor.clone())
    }
    async fn usd_rate(&self, currency: &str) -> Result<Option<CurrencyRate>> {
        Ok(Some(CurrencyRate {
            currency: currency.into(),
            usd_per_unit: Decimal::new(125, 2),
            as_of: "2025-06-30".into(),
            source: "Test".into(),
        }))
    }
    async fn currency_rates(&self) -> Result<Vec<CurrencyRate>> {
        Ok(vec![])
    }
    async fn save_rate(&self, rate: &CurrencyRate, audit: AuditEntry) -> Result<CurrencyRate> {
        self.audited(audit);
        Ok(rate.clone())
    }
    async fn country_bloc(&self, _: &str) -> Result<Option<Bloc>> {
        Ok(Some(Bloc::North))
    }
    async fn city_blocs(&self, ids: &[Id]) -> Result<Vec<(Id, Bloc)>> {
        Ok(ids.iter().map(|id| (*id, Bloc::North)).collect())
    }
    async fn existing_ids(&self, _: ExistsIn, ids: &[Id]) -> Result<Vec<Id>> {
        Ok(ids.to_vec())
    }
    async fn audit_log(&self, _: &AuditFilter, _: PageRequest) -> Result<Page<AuditEntry>> {
        Ok(Page {
            items: vec![],
            has_next_page: false,
        })
    }
    async fn count_audit(&self, _: &AuditFilter) -> Result<i64> {
        Ok(0)
    }
}

fn editor() -> (Editor, Arc<Fake>) {
    let fake = Arc::new(Fake::with_records());
    (Editor::new(fake.clone()), fake)
}

fn admin() -> Actor {
    Actor::User {
        id: 1,
        role: Role::Admin,
        affiliation: None,
    }
}

fn practitioner_of(city: Id) -> Actor {
    Actor::User {
        id: 2,
        role: Role::Practitioner,
        affiliation: Some(Affiliation::City(city)),
    }
}

fn actions(fake: &Fake) -> Vec<String> {
    fake.trail().into_iter().map(|(action, _)| action).collect()
}

#[test]
fn a_status_change_is_audited_by_where_the_record_goes() {
    use PublicationStatus::*;
    let (editor, fake) = editor();
    let admin = admin();
    for status in [Published, Archived, Draft] {
        run(editor.set_practice_status(&admin, 1, 1, status)).unwrap();
        run(editor.set_scheme_status(&admin, 2, 1, status)).unwrap();
        run(editor.set_need_publication(&admin, 3, 1, status)).unwrap();
    }
    let expected = ["PUBLISH", "ARCHIVE", "UNPUBLISH"].map(|a| [a; 3]).concat();
    assert_eq!(actions(&fake), expected);
    let trail = fake.trail();
    assert_eq!(trail[2].1, ["publicationStatus"]);
    assert_eq!(trail[0].1, ["status"]);
}

#[test]
fn an_update_audits_the_fields_it_sets_in_order() {
    let (editor, fake) = editor();
    let input = PracticeInput {
        summary: Some("Compost for 2,000 households".into()),
        end_year: Some(2001),
        themes: Some(vec![Theme::Health, Theme::Environment, Theme::Health]),
        amount_required_currency: Some("EUR".into()),
        ..PracticeInput::default()
    };
    let saved = run(editor.update_practice(&practitioner_of(CITY), 1, 1, input)).unwrap();
    assert_eq!(saved.end_year, Some(2001));
    assert_eq!(
        saved.amount_required, None,
        "a currency without an amount is no money"
    );
    let record = fake.practice.lock().unwrap().clone().unwrap();
    assert_eq!(record.tags.themes, [Theme::Environment, Theme::Health]);
    let expected = ["summary", "endYear", "themes", "amountRequired"];
    assert_eq!(
        fake.trail(),
        [("UPDATE".to_string(), expected.map(String::from).to_vec())]
    );
}

#[test]
fn money_is_converted_at_the_current_rate() {
    let (editor, fake) = editor();
    let input = NeedInput {
        amount_required: Some(Decimal::new(1000, 0)),
        amount_required_currency: Some("eur".into()),
        ..NeedInput::default()
    };
    let need = run(editor.update_need(&practitioner_of(CITY), 3, 1, input)).unwrap();
    assert_eq!(need.amount_required_currency.as_deref(), Some("EUR"));
    assert_eq!(fake.trail()[0].1, ["amountRequired"]);
}

#[test]
fn validation_names_the_field() {
    let (editor, fake) = editor();
    let blank_title = PracticeInput {
        title: Some("  ".into()),
        ..PracticeInput::default()
    };
    let err = run(editor.update_practice(&admin(), 1, 1, blank_title)).unwrap_err();
    assert!(matches!(err, Error::Validation { ref field, .. } if field == "title"));
    let too_many = PracticeInput {
        city_ids: Some((1..=501).collect()),
        ..PracticeInput::default()
    };
    let err = run(editor.update_practice(&admin(), 1, 1, too_many)).unwrap_err();
    assert_eq!(err, Error::validation("cityIds", "at most 500 cities"));
    assert!(fake.trail().is_empty(), "nothing written");
}

#[test]
fn forbidden_changes_write_nothing() {
    let (editor, fake) = editor();
    let other = practitioner_of(CITY + 1);
    // Need 3 is another city's draft: not even its existence is told.
    let err = run(editor.set_need_publication(&other, 3, 1, PublicationStatus::Draft));
    assert_eq!(err, Err(Error::not_found("Need", 3)));
    // So is practice 1, a draft of another city.
    let err = run(editor.update_practice(&other, 1, 1, PracticeInput::default()));
    assert_eq!(err, Err(Error::not_found("Practice", 1)));
    let err = run(editor.link_scheme_to_practice(&other, 2, 1));
    assert_eq!(err, Err(Error::not_found("SupportScheme", 2)));
    let err = run(editor.audit_log(
        &other,
        AuditFilter::default(),
        PageRequest::new(None, None).unwrap(),
    ));
    assert!(matches!(err, Err(Error::Forbidden(_))));
    // A city may not move its practice out of its own reach.
    let away = PracticeInput {
        city_ids: Some(vec![CITY + 1, CITY + 2]),
        ..PracticeInput::default()
    };
    let err = run(editor.update_practice(&practitioner_of(CITY), 1, 1, away));
    assert!(matches!(err, Err(Error::Forbidden(_))));
    assert!(fake.trail().is_empty(), "nothing written");

    // Once published, the practice is seen by all, and changed by its cities only.
    run(editor.set_practice_status(&admin(), 1, 1, PublicationStatus::Published)).unwrap();
    let err = run(editor.update_practice(&other, 1, 2, PracticeInput::default()));
    assert!(matches!(err, Err(Error::Forbidden(_))));
    assert_eq!(fake.trail().len(), 1, "only the publication written");
}
