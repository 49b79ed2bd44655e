//! Importing IATI 2.03 activity files: each `iati-activity` becomes or updates the practice its
//! `iati-identifier` was imported as, with its cities, donors, funding and indicators.
//!
//! A file is one write transaction: every record goes through [`save_in`], the path every
//! change takes (rollups, audit entry), and nothing is committed unless the whole file was
//! read. The activity's digest is kept beside its key, so that a file imported again leaves
//! the practices it already made as they are.

use std::collections::HashMap;
use std::io::BufRead;

use domain::actor::Affiliation;
use domain::audit::AuditEntry;
use domain::editing::PracticeRecord;
use domain::entities::*;
use domain::exchange::codes;
use domain::exchange::import::{Activity, ActivityReader, ImportError, Org, Read};
use domain::framework::*;
use domain::values::{self, CurrencyCode};
use domain::{Actor, Error, Result, limits, policy};
use sea_orm::*;
use sha2::{Digest, Sha256};

use crate::entities::{city, donor, funding, iati_activity, iati_organisation};
use crate::funding::FundingRow;
use crate::profiles::DonorRow;
use crate::store::{SeaStore, db_err};
use crate::versioned::{Txn, save_in};
use crate::{mapping, practice};

/// An activity left out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedActivity {
    pub line: u64,
    pub identifier: Option<String>,
    pub reason: String,
}

/// What an import did, by `iati-identifier`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportReport {
    pub version: String,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub skipped: Vec<SkippedActivity>,
    /// Cities made for places the base did not have: `name (country)`.
    pub cities_created: Vec<String>,
    pub donors_created: Vec<String>,
    /// What was read but has no place in the Forum: sectors without a theme, transactions that
    /// are not a stage of funding, places without a country.
    pub unmapped: Vec<String>,
}

impl ImportReport {
    /// The report as the command line prints it.
    pub fn render(&self) -> String {
        let mut out = format!(
            "IATI version {}: {} created, {} updated, {} unchanged, {} skipped\n",
            self.version,
            self.created.len(),
            self.updated.len(),
            self.unchanged.len(),
            self.skipped.len()
        );
        for s in &self.skipped {
            out.push_str(&format!(
                "skipped line {} {}: {}\n",
                s.line,
                s.identifier.as_deref().unwrap_or("(no identifier)"),
                s.reason
            ));
        }
        for c in &self.cities_created {
            out.push_str(&format!("city created: {c}\n"));
        }
        for d in &self.donors_created {
            out.push_str(&format!("donor created: {d}\n"));
        }
        for u in &self.unmapped {
            out.push_str(&format!("unmapped: {u}\n"));
        }
        out
    }
}

/// The file-level error a client gets: VALIDATION on `file`, nothing written.
pub fn file_error(e: ImportError) -> Error {
    Error::validation("file", e.to_string())
}

/// Lookups made once per file.
#[derive(Default)]
struct Known {
    cities: HashMap<(String, String), Id>,
    donors: HashMap<String, Id>,
    seen: HashMap<String, u64>,
}

/// Imports every activity `reader` yields, as `actor` (ADMIN), in one transaction;
/// `progress` is told how many activities have been read.
pub async fn import_iati<R: BufRead + Send>(
    store: &SeaStore,
    actor: &Actor,
    mut reader: ActivityReader<R>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport> {
    policy::may_import(actor)?;
    let mut report = ImportReport {
        version: reader.version.clone().unwrap_or_default(),
        ..ImportReport::default()
    };
    let owner = match actor {
        Actor::User { affiliation, .. } => affiliation.clone(),
        _ => None,
    };
    let txn = crate::db::write_transaction(store.connection()).await?;
    let mut known = Known::default();
    let mut read = 0;
    while let Some(next) = reader.next_activity().map_err(file_error)? {
        read += 1;
        progress(read);
        match next {
            Read::Skipped {
                line,
                identifier,
                reason,
            } => report.skipped.push(SkippedActivity {
                line,
                identifier,
                reason,
            }),
            Read::Activity(a) => {
                if let Some(first) = known.seen.insert(a.identifier.clone(), a.line) {
                    report.skipped.push(SkippedActivity {
                        line: a.line,
                        identifier: Some(a.identifier.clone()),
                        reason: format!("<iati-identifier> already read at line {first}"),
                    });
                    continue;
                }
                let mut one = Importing {
                    store,
                    txn: &txn,
                    actor,
                    owner: &owner,
                    known: &mut known,
                    report: &mut report,
                };
                one.activity(&a).await?;
            }
        }
    }
    txn.commit().await.map_err(db_err)?;
    crate::events::committed();
    Ok(report)
}

struct Importing<'a> {
    store: &'a SeaStore,
    txn: &'a Txn,
    actor: &'a Actor,
    owner: &'a Option<Affiliation>,
    known: &'a mut Known,
    report: &'a mut ImportReport,
}

fn digest(a: &Activity) -> String {
    let mut copy = a.clone();
    // Where the activity sits in its file is not what it says.
    copy.line = 0;
    let hash = Sha256::digest(format!("{copy:?}").as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The donor kind an OrganisationType stands for (the export's mapping read back).
fn donor_kind(org_type: Option<&str>) -> DonorKind {
    match org_type {
        Some("10") => DonorKind::Bilateral,
        Some(codes::ORG_LOCAL_GOVERNMENT) => DonorKind::LocalGovernment,
        Some("40") => DonorKind::Multilateral,
        Some("60") => DonorKind::Foundation,
        Some("70") => DonorKind::PrivateSector,
        _ => DonorKind::Other,
    }
}

/// The theme a sector stands for: the Forum's own vocabulary by name, DAC codes by the
/// export's mapping.
fn theme_of(vocabulary: &str, code: &str) -> Option<Theme> {
    match vocabulary {
        codes::SECTOR_REPORTING_ORG => Theme::parse(code, "sector").ok(),
        codes::SECTOR_DAC => codes::theme_of_dac_sector(code),
        _ => None,
    }
}

impl Importing<'_> {
    fn skip(&mut self, a: &Activity, reason: String) {
        self.report.skipped.push(SkippedActivity {
            line: a.line,
            identifier: Some(a.identifier.clone()),
            reason,
        });
    }

    async fn activity(&mut self, a: &Activity) -> Result<()> {
        let digest = digest(a);
        let key = iati_activity::Entity::find_by_id(a.identifier.clone())
            .one(self.txn)
            .await
            .map_err(db_err)?;
        if key.as_ref().is_some_and(|k| k.digest == digest) {
            self.report.unchanged.push(a.identifier.clone());
            return Ok(());
        }
        let existing = match &key {
            Some(k) => practice::record(self.store, k.practice_id).await?,
            None => None,
        };
        let mut record = match existing.clone() {
            Some(r) => r,
            None => {
                let mut r = empty_record();
                r.owner = self.owner.clone();
                r
            }
        };
        if let Err(e) = self.fill(&mut record, a).await {
            self.skip(a, e.to_string());
            return Ok(());
        }
        let fields = vec!["iatiIdentifier".to_string(), a.identifier.clone()];
        let saved = match &existing {
            Some(old) => {
                let audit =
                    AuditEntry::new(self.actor, "UPDATE", "Practice", old.practice.id, fields);
                save_in(self.txn, &record, Some(old.practice.version), audit).await?
            }
            None => {
                let audit = AuditEntry::new(self.actor, "CREATE", "Practice", 0, fields);
                save_in(self.txn, &record, None, audit).await?
            }
        };
        let row = iati_activity::ActiveModel {
            identifier: Set(a.identifier.clone()),
            practice_id: Set(saved.id),
            digest: Set(digest),
        };
        if existing.is_some() {
            row.update(self.txn).await.map_err(db_err)?;
            self.report.updated.push(a.identifier.clone());
        } else {
            row.insert(self.txn).await.map_err(db_err)?;
            self.report.created.push(a.identifier.clone());
        }
        self.funding(a, saved.id).await
    }

    /// Writes what the activity says into the practice; an error skips the activity.
    async fn fill(&mut self, r: &mut PracticeRecord, a: &Activity) -> Result<()> {
        let p = &mut r.practice;
        p.title = values::bounded_text("title", &a.title, limits::TITLE)?;
        // The export writes the title as the general description of a practice without one.
        let summary = a.description("1").filter(|s| *s != a.title);
        p.summary = values::optional_text("summary", summary, limits::SUMMARY)?;
        p.outcomes = values::optional_text("outcomes", a.description("2"), limits::LONG_TEXT)?;
        let mut others = a
            .descriptions
            .iter()
            .filter(|(k, _)| k == "4")
            .map(|(_, t)| t.as_str());
        p.context = values::optional_text("context", others.next(), limits::LONG_TEXT)?;
        p.issues = values::optional_text("issues", others.next(), limits::LONG_TEXT)?;
        let (start, end) = a.years();
        p.start_year = start.map(|y| values::year("start_year", y)).transpose()?;
        p.end_year = end.map(|y| values::year("end_year", y)).transpose()?;
        let mut themes = vec![];
        for (vocabulary, code) in &a.sectors {
            match theme_of(vocabulary, code) {
                Some(t) if !themes.contains(&t) => themes.push(t),
                Some(_) => {}
                None => self.report.unmapped.push(format!(
                    "{}: sector {code} (vocabulary {vocabulary}) has no theme",
                    a.identifier
                )),
            }
        }
        r.tags.themes = themes;
        let mut cities: Vec<(Id, CityRole)> = vec![];
        for place in &a.locations {
            if let Some(id) = self.city(a, place).await?
                && !cities.iter().any(|(c, _)| *c == id)
            {
                let role = if cities.is_empty() {
                    CityRole::Lead
                } else {
                    CityRole::Partner
                };
                cities.push((id, role));
            }
        }
        if cities.len() > limits::MAX_CITIES {
            return Err(Error::validation("cities", "too many"));
        }
        r.cities = cities;
        r.indicators = a
            .results
            .iter()
            .take(limits::MAX_INDICATORS)
            .map(|i| {
                Ok(Indicator {
                    id: 0,
                    practice_id: r.practice.id,
                    name: values::bounded_text("indicators.name", &i.title, limits::NAME)?,
                    unit: values::optional_text(
                        "indicators.unit",
                        i.unit.as_deref(),
                        limits::INDICATOR_UNIT,
                    )?,
                    baseline: i.baseline.map(|v| v.normalize()),
                    target: i.target.map(|v| v.normalize()),
                    actual: i.actual.map(|v| v.normalize()),
                    year: i
                        .year
                        .map(|y| values::year("indicators.year", y))
                        .transpose()?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// The city a `location` names: matched by name within the activity's recipient
    /// countries, created when the activity names exactly one country.
    async fn city(
        &mut self,
        a: &Activity,
        place: &domain::exchange::import::Location,
    ) -> Result<Option<Id>> {
        let countries: Vec<String> = match &place.country {
            Some(c) => vec![c.clone()],
            None => a
                .countries
                .iter()
                .map(|(c, _)| c.trim().to_uppercase())
                .collect(),
        };
        for c in &countries {
            if let Some(id) = self.known.cities.get(&(place.name.clone(), c.clone())) {
                return Ok(Some(*id));
            }
        }
        let mut query = city::Entity::find().filter(city::Column::Name.eq(place.name.clone()));
        if !countries.is_empty() {
            query = query.filter(city::Column::CountryCode.is_in(countries.clone()));
        }
        let found = query
            .order_by_asc(city::Column::Id)
            .all(self.txn)
            .await
            .map_err(db_err)?;
        if found.len() == 1 || (!found.is_empty() && !countries.is_empty()) {
            let c = &found[0];
            self.known
                .cities
                .insert((place.name.clone(), c.country_code.clone()), c.id);
            return Ok(Some(c.id));
        }
        let [country] = countries.as_slice() else {
            self.report.unmapped.push(format!(
                "{}: location {:?} matches no city, and the activity names {} recipient countries",
                a.identifier,
                place.name,
                countries.len()
            ));
            return Ok(None);
        };
        if self
            .store
            .country_bloc_in(self.txn, country)
            .await?
            .is_none()
        {
            self.report.unmapped.push(format!(
                "{}: location {:?} is in {country}, which is not a known country",
                a.identifier, place.name
            ));
            return Ok(None);
        }
        let new = City {
            id: 0,
            version: 1,
            name: values::bounded_text("city.name", &place.name, limits::NAME)?,
            kind: CityKind::Municipality,
            country_code: country.clone(),
            population: None,
            latitude: place.point.map(|p| p.0),
            longitude: place.point.map(|p| p.1),
        };
        let audit = AuditEntry::new(self.actor, "CREATE", "City", 0, vec!["iati".into()]);
        let saved = save_in(self.txn, &new, None, audit).await?;
        self.known
            .cities
            .insert((place.name.clone(), country.clone()), saved.id);
        self.report
            .cities_created
            .push(format!("{} ({country})", place.name));
        Ok(Some(saved.id))
    }

    /// The donor an organisation names: by its `ref` (as imported before), else by name,
    /// created when absent.
    async fn donor(&mut self, org: &Org) -> Result<Option<Id>> {
        let key = org
            .reference
            .clone()
            .or_else(|| org.name.clone().map(|n| format!("name:{n}")));
        let Some(key) = key else { return Ok(None) };
        if let Some(id) = self.known.donors.get(&key) {
            return Ok(Some(*id));
        }
        let mut id = None;
        if let Some(reference) = &org.reference {
            id = iati_organisation::Entity::find_by_id(reference.clone())
                .one(self.txn)
                .await
                .map_err(db_err)?
                .map(|m| m.donor_id);
        }
        if id.is_none()
            && let Some(name) = &org.name
        {
            id = donor::Entity::find()
                .filter(donor::Column::Name.eq(name.clone()))
                .order_by_asc(donor::Column::Id)
                .one(self.txn)
                .await
                .map_err(db_err)?
                .map(|m| m.id);
        }
        if id.is_none() {
            let name = org
                .name
                .clone()
                .or_else(|| org.reference.clone())
                .unwrap_or_default();
            let new = Donor {
                id: 0,
                version: 1,
                name: values::bounded_text("donor.name", &name, limits::NAME)?,
                acronym: None,
                kind: donor_kind(org.org_type.as_deref()),
                country_code: None,
                description: None,
            };
            let agenda = Agenda::default();
            let audit = AuditEntry::new(self.actor, "CREATE", "Donor", 0, vec!["iati".into()]);
            let row = DonorRow {
                donor: &new,
                agenda: &agenda,
            };
            let saved = save_in(self.txn, &row, None, audit).await?;
            self.report.donors_created.push(name);
            id = Some(saved.id);
        }
        if let (Some(reference), Some(id)) = (&org.reference, id) {
            let known = iati_organisation::Entity::find_by_id(reference.clone())
                .one(self.txn)
                .await
                .map_err(db_err)?;
            if known.is_none() {
                iati_organisation::ActiveModel {
                    reference: Set(reference.clone()),
                    donor_id: Set(id),
                }
                .insert(self.txn)
                .await
                .map_err(db_err)?;
            }
        }
        if let Some(id) = id {
            self.known.donors.insert(key, id);
        }
        Ok(id)
    }

    /// A funding record per transaction that is a stage of funding, keyed by its note
    /// (`IATI transaction <ref or position>`): made when new, changed when the file says
    /// otherwise.
    async fn funding(&mut self, a: &Activity, practice_id: Id) -> Result<()> {
        let stored = funding::Entity::find()
            .filter(funding::Column::PracticeId.eq(practice_id))
            .all(self.txn)
            .await
            .map_err(db_err)?;
        let sole_funder = match a.funders.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        };
        let mut donors_funding: Vec<Id> = stored.iter().filter_map(|f| f.donor_id).collect();
        for (n, t) in a.transactions.iter().enumerate() {
            let Some(status) = codes::funding_status(&t.type_code) else {
                self.report.unmapped.push(format!(
                    "{}: transaction type {} is not a stage of funding",
                    a.identifier, t.type_code
                ));
                continue;
            };
            let Some(currency) = t.currency.clone().or_else(|| a.default_currency.clone()) else {
                self.report.unmapped.push(format!(
                    "{}: transaction {} has no currency",
                    a.identifier,
                    n + 1
                ));
                continue;
            };
            let currency = match CurrencyCode::parse(&currency) {
                Ok(c) => c.to_string(),
                Err(_) => {
                    self.report.unmapped.push(format!(
                        "{}: transaction {} currency {currency:?} is not ISO 4217",
                        a.identifier,
                        n + 1
                    ));
                    continue;
                }
            };
            let Some(rate) = self.store.usd_rate_in(self.txn, &currency).await? else {
                self.report.unmapped.push(format!(
                    "{}: transaction {}: no USD rate for {currency}",
                    a.identifier,
                    n + 1
                ));
                continue;
            };
            let amount = t.value.abs().normalize();
            let Ok(cents) = values::to_usd_cents(amount, rate.usd_per_unit) else {
                self.report.unmapped.push(format!(
                    "{}: transaction {} is too large",
                    a.identifier,
                    n + 1
                ));
                continue;
            };
            let provider = t.provider.clone().or_else(|| sole_funder.clone());
            let donor_id = match &provider {
                Some(org) => self.donor(org).await?,
                None => None,
            };
            donors_funding.extend(donor_id);
            let note = format!(
                "IATI transaction {}",
                t.reference.clone().unwrap_or_else(|| (n + 1).to_string())
            );
            let mut record = Funding {
                id: 0,
                version: 1,
                practice_id: Some(practice_id),
                scheme_id: None,
                donor_id,
                source_city_id: None,
                source_name: if donor_id.is_none() {
                    Some("Not named in the IATI activity".into())
                } else {
                    None
                },
                source_type: FundingSource::DevelopmentProgramme,
                amount: Some(amount),
                currency,
                rate: rate.usd_per_unit,
                rate_source: Some(rate.citation()),
                amount_usd: Some(values::cents_to_decimal(cents)),
                year: values::year("year", t.year).ok(),
                status,
                confidential: false,
                note: Some(note.clone()),
            };
            let old = stored.iter().find(|f| f.note.as_deref() == Some(&note));
            match old {
                Some(old) => {
                    let was = mapping::funding(old.clone())?;
                    let same = was.amount == record.amount
                        && was.currency == record.currency
                        && was.year == record.year
                        && was.status == record.status;
                    if !same {
                        record.id = was.id;
                        record.donor_id = was.donor_id;
                        let audit = AuditEntry::new(
                            self.actor,
                            "UPDATE",
                            "Funding",
                            was.id,
                            vec!["iati".into()],
                        );
                        let row = FundingRow {
                            funding: &record,
                            usd_cents: Some(cents),
                        };
                        save_in(self.txn, &row, Some(was.version), audit).await?;
                    }
                }
                None => {
                    let audit =
                        AuditEntry::new(self.actor, "CREATE", "Funding", 0, vec!["iati".into()]);
                    let row = FundingRow {
                        funding: &record,
                        usd_cents: Some(cents),
                    };
                    save_in(self.txn, &row, None, audit).await?;
                }
            }
        }
        // A funder named without a transaction is what the export writes for a record whose
        // sum the source did not give: a funding record without an amount.
        for org in &a.funders {
            let Some(donor_id) = self.donor(org).await? else {
                continue;
            };
            if donors_funding.contains(&donor_id) {
                continue;
            }
            donors_funding.push(donor_id);
            let record = Funding {
                id: 0,
                version: 1,
                practice_id: Some(practice_id),
                scheme_id: None,
                donor_id: Some(donor_id),
                source_city_id: None,
                source_name: None,
                source_type: FundingSource::DevelopmentProgramme,
                amount: None,
                currency: String::new(),
                rate: rust_decimal::Decimal::ZERO,
                rate_source: None,
                amount_usd: None,
                year: None,
                status: FundingStatus::Committed,
                confidential: false,
                note: Some("IATI participating-org, role 1 (funding)".into()),
            };
            let audit = AuditEntry::new(self.actor, "CREATE", "Funding", 0, vec!["iati".into()]);
            let row = FundingRow {
                funding: &record,
                usd_cents: None,
            };
            save_in(self.txn, &row, None, audit).await?;
        }
        Ok(())
    }
}

/// A new imported practice: a draft; IATI has no linking modality, so one-on-one.
fn empty_record() -> PracticeRecord {
    PracticeRecord {
        practice: Practice {
            id: 0,
            version: 1,
            status: PublicationStatus::Draft,
            title: String::new(),
            summary: None,
            context: None,
            outcomes: None,
            issues: None,
            source: Some("IATI activity file".into()),
            start_year: None,
            end_year: None,
            orientation: GeographicOrientation::Global,
            modality: LinkingModality::OneOnOne,
            amount_required: None,
            amount_required_currency: None,
        },
        tags: Tags::default(),
        cities: vec![],
        association_ids: vec![],
        indicators: vec![],
        owner: None,
        amount_required_usd_cents: None,
    }
}

impl SeaStore {
    async fn usd_rate_in(&self, txn: &Txn, currency: &str) -> Result<Option<CurrencyRate>> {
        crate::entities::currency_rate::Entity::find_by_id(currency.to_string())
            .one(txn)
            .await
            .map_err(db_err)?
            .map(crate::reference::rate)
            .transpose()
    }

    async fn country_bloc_in(&self, txn: &Txn, code: &str) -> Result<Option<String>> {
        Ok(
            crate::entities::country::Entity::find_by_id(code.to_string())
                .one(txn)
                .await
                .map_err(db_err)?
                .map(|c| c.bloc),
        )
    }
}
