//! Activity records as an IATI 2.03 `iati-activities` document (schema in `data/iati/`): the
//! document's opening, one [`activity`] per practice, its closing. Written a page at a time.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;

use super::codes::{self, *};
use super::xml::XmlWriter;
use super::{ActivityRecord, FundingFlow};
use crate::framework::Theme;

/// The version of the Activity Standard written.
pub const VERSION: &str = "2.03";
/// The organisation type the reporting organisation is given: the Forum is none of the
/// codelist's more specific kinds.
const REPORTING_ORG_TYPE: &str = "90";
pub const REPORTING_ORG_NAME: &str = "Forum on City-to-City Cooperation";
/// The spatial reference system of a location's point (WGS 84), as IATI asks for it.
const WGS84: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";

/// What an export is written with besides the records.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// The reporting organisation's IATI identifier; every `iati-identifier` starts with it.
    pub reporting_org: String,
    /// When the document is generated: `generated-datetime`, and the day statuses and
    /// actual/planned dates are judged by.
    pub generated: DateTime<Utc>,
}

impl ExportOptions {
    fn today(&self) -> NaiveDate {
        self.generated.date_naive()
    }
}

/// The `iati-identifier` of a practice.
pub fn identifier(reporting_org: &str, practice_id: i64) -> String {
    format!("{reporting_org}-{practice_id}")
}

/// The XML declaration and the opening of `iati-activities`.
pub fn document_start(options: &ExportOptions) -> String {
    let mut w = XmlWriter::at_depth(0);
    let generated = options.generated.to_rfc3339_opts(SecondsFormat::Secs, true);
    w.open(
        "iati-activities",
        &[("version", VERSION), ("generated-datetime", &generated)],
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        w.into_string()
    )
}

pub fn document_end() -> &'static str {
    "</iati-activities>\n"
}

fn narrative(w: &mut XmlWriter, text: &str) {
    w.text("narrative", &[], text);
}

/// `<name><narrative>text</narrative></name>`.
fn narrated(w: &mut XmlWriter, name: &str, attrs: &[(&str, &str)], text: &str) {
    w.open(name, attrs);
    narrative(w, text);
    w.close(name);
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn first_of(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, 1, 1)
}

fn last_of(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, 12, 31)
}

/// Shares of 100 for `n` items, two decimals, that add up to exactly 100: IATI asks that the
/// percentages of one vocabulary's sectors (and of recipient countries) do.
fn shares(n: usize) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let hundred = Decimal::from(100);
    let each = (hundred / Decimal::from(n as i64))
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
    let first = hundred - each * Decimal::from((n - 1) as i64);
    std::iter::once(first)
        .chain(std::iter::repeat_n(each, n - 1))
        .map(|d| d.normalize().to_string())
        .collect()
}

/// One `iati-activity`, indented one level inside `iati-activities`.
pub fn activity(record: &ActivityRecord, options: &ExportOptions) -> String {
    let p = &record.practice;
    let today = options.today();
    let mut w = XmlWriter::at_depth(1);
    let updated = record.updated.to_rfc3339_opts(SecondsFormat::Secs, true);
    w.open(
        "iati-activity",
        &[("last-updated-datetime", &updated), ("xml:lang", "en")],
    );
    w.text(
        "iati-identifier",
        &[],
        &identifier(&options.reporting_org, p.id),
    );
    narrated(
        &mut w,
        "reporting-org",
        &[
            ("ref", &options.reporting_org),
            ("type", REPORTING_ORG_TYPE),
        ],
        REPORTING_ORG_NAME,
    );
    narrated(&mut w, "title", &[], &p.title);

    // DescriptionType 1 general, 2 objectives, 4 other; one is required.
    let general = non_empty(&p.summary).unwrap_or(p.title.as_str());
    narrated(&mut w, "description", &[("type", "1")], general);
    if let Some(outcomes) = non_empty(&p.outcomes) {
        narrated(&mut w, "description", &[("type", "2")], outcomes);
    }
    for other in [non_empty(&p.context), non_empty(&p.issues)]
        .into_iter()
        .flatten()
    {
        narrated(&mut w, "description", &[("type", "4")], other);
    }

    participating_orgs(&mut w, record, options);

    let status = codes::activity_status(p.start_year, p.end_year, today.year());
    w.empty("activity-status", &[("code", status)]);
    activity_dates(&mut w, record, today);

    let mut countries: Vec<(&str, &str)> = record
        .participants
        .iter()
        .map(|x| {
            let name = x.country.as_ref().map(|c| c.name.as_str()).unwrap_or("");
            (x.city.country_code.as_str(), name)
        })
        .collect();
    countries.sort();
    countries.dedup_by_key(|c| c.0);
    for ((code, name), share) in countries.iter().zip(shares(countries.len())) {
        let mut attrs = vec![("code", *code)];
        if countries.len() > 1 {
            attrs.push(("percentage", &share));
        }
        if name.is_empty() {
            w.empty("recipient-country", &attrs);
        } else {
            narrated(&mut w, "recipient-country", &attrs, name);
        }
    }

    for x in &record.participants {
        let reference = format!("city-{}", x.city.id);
        w.open("location", &[("ref", &reference)]);
        // LocationReach 1: the activity happens here.
        w.empty("location-reach", &[("code", "1")]);
        narrated(&mut w, "name", &[], &x.city.name);
        // AdministrativeAreaVocabulary A4 (ISO 3166-1 alpha-2), level 0: the city's country,
        // so that a reader can tell which of several recipient countries the place is in.
        w.empty(
            "administrative",
            &[
                ("vocabulary", "A4"),
                ("level", "0"),
                ("code", &x.city.country_code),
            ],
        );
        if let (Some(lat), Some(lon)) = (x.city.latitude, x.city.longitude) {
            w.open("point", &[("srsName", WGS84)]);
            w.text("pos", &[], &format!("{lat} {lon}"));
            w.close("point");
            // GeographicExactness 2: a city's coordinates are its centre, not the work's site.
            w.empty("exactness", &[("code", "2")]);
        }
        // GeographicLocationClass 2: a populated place.
        w.empty("location-class", &[("code", "2")]);
        w.close("location");
    }

    sectors(&mut w, &record.tags.themes);

    for flow in &record.funding {
        transaction(&mut w, flow);
    }
    for indicator in &record.indicators {
        result(&mut w, indicator, record);
    }
    w.close("iati-activity");
    w.into_string()
}

fn participating_orgs(w: &mut XmlWriter, record: &ActivityRecord, options: &ExportOptions) {
    let mut any = false;
    for x in &record.participants {
        narrated(
            w,
            "participating-org",
            &[("type", ORG_LOCAL_GOVERNMENT), ("role", ROLE_IMPLEMENTING)],
            &x.city.name,
        );
        any = true;
    }
    for a in &record.associations {
        narrated(
            w,
            "participating-org",
            &[
                ("type", codes::association_type(a.scope)),
                ("role", ROLE_EXTENDING),
            ],
            &a.name,
        );
        any = true;
    }
    for partner in &record.partners {
        narrated(
            w,
            "participating-org",
            &[
                ("type", codes::partner_type(partner.kind)),
                ("role", ROLE_IMPLEMENTING),
            ],
            &partner.name,
        );
        any = true;
    }
    for donor in record.donors() {
        narrated(
            w,
            "participating-org",
            &[
                ("type", codes::donor_type(donor.kind)),
                ("role", ROLE_FUNDING),
            ],
            &donor.name,
        );
        any = true;
    }
    if !any {
        // The standard asks for at least one; with no organisation recorded, the Forum that
        // reports the practice answers for it.
        narrated(
            w,
            "participating-org",
            &[
                ("ref", &options.reporting_org),
                ("type", REPORTING_ORG_TYPE),
                ("role", ROLE_ACCOUNTABLE),
            ],
            REPORTING_ORG_NAME,
        );
    }
}

/// Start and end from the years (a year's first and last day): actual when past, planned when
/// ahead. The standard asks for at least one date; a practice recorded without years gets the
/// day it entered the base, said so in its narrative.
fn activity_dates(w: &mut XmlWriter, record: &ActivityRecord, today: NaiveDate) {
    let p = &record.practice;
    let mut any = false;
    if let Some(start) = p.start_year.and_then(first_of) {
        let kind = if start <= today {
            DATE_ACTUAL_START
        } else {
            DATE_PLANNED_START
        };
        w.empty(
            "activity-date",
            &[("type", kind), ("iso-date", &iso(start))],
        );
        any = true;
    }
    if let Some(end) = p.end_year.and_then(last_of) {
        let kind = if end < today {
            DATE_ACTUAL_END
        } else {
            DATE_PLANNED_END
        };
        w.empty("activity-date", &[("type", kind), ("iso-date", &iso(end))]);
        any = true;
    }
    if !any {
        narrated(
            w,
            "activity-date",
            &[
                ("type", DATE_ACTUAL_START),
                ("iso-date", &iso(record.created.date_naive())),
            ],
            UNDATED,
        );
    }
}

/// The narrative of the date given to a practice recorded without years.
pub const UNDATED: &str =
    "The start year is not recorded; this is the date the practice entered the Forum's base.";

/// Each theme in the Forum's own vocabulary, then the DAC purpose codes of those that have one,
/// each vocabulary's percentages adding up to 100.
fn sectors(w: &mut XmlWriter, themes: &[Theme]) {
    let mut themes = themes.to_vec();
    themes.sort();
    themes.dedup();
    for (theme, share) in themes.iter().zip(shares(themes.len())) {
        let label = format!("C2C Forum theme: {}", codes::theme_label(*theme));
        narrated(
            w,
            "sector",
            &[
                ("vocabulary", SECTOR_REPORTING_ORG),
                ("code", theme.as_str()),
                ("percentage", &share),
            ],
            &label,
        );
    }
    let dac: Vec<(&str, Theme)> = themes
        .iter()
        .filter_map(|t| codes::dac_sector(*t).map(|c| (c, *t)))
        .collect();
    for ((code, _), share) in dac.iter().zip(shares(dac.len())) {
        w.empty(
            "sector",
            &[
                ("vocabulary", SECTOR_DAC),
                ("code", code),
                ("percentage", &share),
            ],
        );
    }
}

/// A funding record whose amount and year the reader may know; one without (the source named
/// the funder but not the sum, or the amount is confidential) has no transaction, and its donor
/// still appears among the participating organisations.
fn transaction(w: &mut XmlWriter, flow: &FundingFlow) {
    let f = &flow.funding;
    let (Some(amount), Some(date)) = (f.amount, f.year.and_then(first_of)) else {
        return;
    };
    let reference = format!("funding-{}", f.id);
    w.open("transaction", &[("ref", &reference)]);
    w.empty(
        "transaction-type",
        &[("code", codes::transaction_type(f.status))],
    );
    let date = iso(date);
    w.empty("transaction-date", &[("iso-date", &date)]);
    w.text(
        "value",
        &[("currency", &f.currency), ("value-date", &date)],
        &amount.normalize().to_string(),
    );
    if let Some(note) = non_empty(&f.note) {
        narrated(w, "description", &[], note);
    }
    match (&flow.donor, &flow.source_city, non_empty(&f.source_name)) {
        (Some(donor), _, _) => narrated(
            w,
            "provider-org",
            &[("type", codes::donor_type(donor.kind))],
            &donor.name,
        ),
        (None, Some(city), _) => narrated(
            w,
            "provider-org",
            &[("type", ORG_LOCAL_GOVERNMENT)],
            &city.name,
        ),
        (None, None, Some(name)) => narrated(w, "provider-org", &[], name),
        (None, None, None) => {}
    }
    w.close("transaction");
}

/// An indicator as a result of its own: baseline in its year, target and actual in the
/// period of the indicator's year (else the practice's years).
fn result(w: &mut XmlWriter, indicator: &crate::entities::Indicator, record: &ActivityRecord) {
    let p = &record.practice;
    w.open("result", &[("type", RESULT_OUTCOME)]);
    narrated(w, "title", &[], &indicator.name);
    let measure = if indicator.unit.as_deref().map(str::trim) == Some("%") {
        MEASURE_PERCENTAGE
    } else {
        MEASURE_UNIT
    };
    w.open("indicator", &[("measure", measure)]);
    narrated(w, "title", &[], &indicator.name);
    if let Some(unit) = non_empty(&indicator.unit) {
        narrated(w, "description", &[], &format!("Unit: {unit}"));
    }
    let start = indicator.year.or(p.start_year).or(p.end_year);
    let end = indicator.year.or(p.end_year).or(p.start_year);
    if let (Some(baseline), Some(year)) = (indicator.baseline, start.filter(|y| *y > 0)) {
        let year = year.to_string();
        let value = baseline.normalize().to_string();
        w.empty("baseline", &[("year", &year), ("value", &value)]);
    }
    let period = start
        .and_then(first_of)
        .zip(end.and_then(last_of))
        .filter(|(s, e)| s <= e);
    if let Some((from, to)) = period
        && (indicator.target.is_some() || indicator.actual.is_some())
    {
        w.open("period", &[]);
        w.empty("period-start", &[("iso-date", &iso(from))]);
        w.empty("period-end", &[("iso-date", &iso(to))]);
        if let Some(target) = indicator.target {
            w.empty("target", &[("value", &target.normalize().to_string())]);
        }
        if let Some(actual) = indicator.actual {
            w.empty("actual", &[("value", &actual.normalize().to_string())]);
        }
        w.close("period");
    }
    w.close("indicator");
    w.close("result");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_a_hundred() {
        assert_eq!(shares(1), ["100"]);
        assert_eq!(shares(3), ["33.34", "33.33", "33.33"]);
        for n in 1..20 {
            let sum: Decimal = shares(n)
                .iter()
                .map(|s| s.parse::<Decimal>().unwrap())
                .sum();
            assert_eq!(sum, Decimal::from(100), "{n}");
        }
    }

    use crate::entities::{Funding, Practice};
    use crate::framework::*;

    fn record() -> ActivityRecord {
        let at = DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z")
            .unwrap()
            .with_timezone(&Utc);
        ActivityRecord {
            practice: Practice {
                id: 7,
                version: 1,
                status: PublicationStatus::Published,
                title: "Water & <sanitation>".into(),
                summary: None,
                context: None,
                outcomes: None,
                issues: None,
                source: None,
                start_year: None,
                end_year: None,
                orientation: GeographicOrientation::NorthSouth,
                modality: LinkingModality::OneOnOne,
                amount_required: None,
                amount_required_currency: None,
            },
            created: at,
            updated: at,
            tags: Default::default(),
            participants: Vec::new(),
            associations: Vec::new(),
            partners: Vec::new(),
            funding: Vec::new(),
            indicators: Vec::new(),
        }
    }

    fn funding(id: i64, amount: Option<&str>, year: Option<i32>) -> FundingFlow {
        FundingFlow {
            funding: Funding {
                id,
                version: 1,
                practice_id: Some(7),
                scheme_id: None,
                donor_id: None,
                source_city_id: None,
                source_name: Some("Local partners".into()),
                source_type: FundingSource::LocalPartners,
                amount: amount.map(|a| a.parse().unwrap()),
                currency: "NLG".into(),
                rate: Decimal::ONE,
                rate_source: None,
                amount_usd: None,
                year,
                status: FundingStatus::Disbursed,
                confidential: false,
                note: None,
            },
            donor: None,
            source_city: None,
        }
    }

    fn options() -> ExportOptions {
        ExportOptions {
            reporting_org: "XM-EXAMPLE".into(),
            generated: DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn what_iati_requires_and_the_forum_lacks_is_said_not_invented() {
        let xml = activity(&record(), &options());
        assert!(xml.contains("<iati-identifier>XM-EXAMPLE-7</iati-identifier>"));
        // The title stands in for a missing summary, escaped.
        assert!(xml.contains(
            "<description type=\"1\">\n      <narrative>Water &amp; &lt;sanitation&gt;</narrative>"
        ));
        // No organisation: the Forum answers for the practice.
        assert!(xml.contains("<participating-org ref=\"XM-EXAMPLE\" type=\"90\" role=\"2\">"));
        // No years: the day the practice entered the base, said so.
        assert!(xml.contains("<activity-date type=\"2\" iso-date=\"2026-03-04\">"));
        assert!(xml.contains(UNDATED));
    }

    #[test]
    fn only_funding_with_an_amount_and_a_year_is_a_transaction() {
        let mut r = record();
        r.funding = vec![
            funding(1, Some("1500.50"), Some(1998)),
            funding(2, None, Some(1998)),
            funding(3, Some("99"), None),
        ];
        let xml = activity(&r, &options());
        assert_eq!(xml.matches("<transaction ").count(), 1);
        assert!(xml.contains("<transaction ref=\"funding-1\">"));
        assert!(xml.contains("<transaction-type code=\"1\"/>"));
        assert!(xml.contains("<value currency=\"NLG\" value-date=\"1998-01-01\">1500.5</value>"));
        assert!(xml.contains("<provider-org>\n        <narrative>Local partners</narrative>"));
    }

    #[test]
    fn years_give_actual_or_planned_dates_by_the_export_day() {
        let mut r = record();
        r.practice.start_year = Some(2020);
        r.practice.end_year = Some(2030);
        let xml = activity(&r, &options());
        assert!(xml.contains("<activity-date type=\"2\" iso-date=\"2020-01-01\"/>"));
        assert!(xml.contains("<activity-date type=\"3\" iso-date=\"2030-12-31\"/>"));
        assert!(xml.contains("<activity-status code=\"2\"/>"));
        assert!(!xml.contains(UNDATED));
    }

    #[test]
    fn identifiers_join_the_reporting_org_and_the_practice() {
        assert_eq!(identifier("XM-EXAMPLE", 42), "XM-EXAMPLE-42");
    }
}
