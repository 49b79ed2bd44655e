//! Reading IATI 2.03 activity files, one `iati-activity` at a time.
//!
//! [`ActivityReader`] pulls events from any buffered reader and hands back each activity as soon
//! as its end tag is read, so a file of any size is held one activity at a time. What the
//! Forum cannot use is passed over; an activity lacking what a practice needs (an identifier, a
//! title) or carrying an element the standard forbids in that form (two titles, a transaction
//! without a value) comes back as [`Read::Skipped`] with the element named and its line. A
//! document that is not XML, not IATI activities, or of another major version is an
//! [`ImportError`] before any activity is read, or when the break is met.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use rust_decimal::Decimal;

/// Why a whole file is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: not well-formed XML: {message}")]
    NotXml { line: u64, message: String },
    #[error("not an IATI activity file: the root element is <{0}>, not <iati-activities>")]
    NotIati(String),
    #[error("IATI version {0} is not read; this import reads version 2 files (2.01 to 2.03)")]
    Version(String),
}

/// An organisation as an activity names it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Org {
    pub reference: Option<String>,
    pub name: Option<String>,
    pub org_type: Option<String>,
}

/// A `transaction`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub type_code: String,
    pub value: Decimal,
    pub currency: Option<String>,
    pub year: i32,
    pub reference: Option<String>,
    pub provider: Option<Org>,
}

/// A `result` reduced to its first indicator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultIndicator {
    pub title: String,
    pub percentage: bool,
    pub unit: Option<String>,
    pub year: Option<i32>,
    pub baseline: Option<Decimal>,
    pub target: Option<Decimal>,
    pub actual: Option<Decimal>,
}

/// A place: a `location` name, with the country when one is given beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub name: String,
    pub point: Option<(f64, f64)>,
    /// The country of an `administrative` area of vocabulary A4 (ISO 3166-1), as the
    /// Forum's export writes it.
    pub country: Option<String>,
}

/// An `iati-activity` with what the Forum keeps of it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Activity {
    /// The line of its start tag.
    pub line: u64,
    pub identifier: String,
    pub title: String,
    /// `(type, text)` of each `description` (type 1 when absent).
    pub descriptions: Vec<(String, String)>,
    /// `(type, ISO date)` of each `activity-date`.
    pub dates: Vec<(String, String)>,
    /// `(ISO 3166 code, name)` of each `recipient-country`.
    pub countries: Vec<(String, Option<String>)>,
    pub locations: Vec<Location>,
    /// `participating-org` of role 1 (funding).
    pub funders: Vec<Org>,
    pub default_currency: Option<String>,
    pub transactions: Vec<Transaction>,
    /// `(vocabulary, code)` of each `sector` (vocabulary 1 when absent).
    pub sectors: Vec<(String, String)>,
    pub results: Vec<ResultIndicator>,
}

impl Activity {
    /// Start and end years from the activity dates, actual before planned.
    pub fn years(&self) -> (Option<i32>, Option<i32>) {
        let year_of = |types: [&str; 2]| {
            types.iter().find_map(|t| {
                self.dates
                    .iter()
                    .find(|(k, _)| k == t)
                    .and_then(|(_, d)| year_of(d))
            })
        };
        (year_of(["2", "1"]), year_of(["4", "3"]))
    }

    pub fn description(&self, kind: &str) -> Option<&str> {
        self.descriptions
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, t)| t.as_str())
    }
}

/// What the reader hands back for each `iati-activity`.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Activity(Box<Activity>),
    Skipped {
        line: u64,
        identifier: Option<String>,
        reason: String,
    },
}

/// The year of an ISO date (`2020-01-01`).
fn year_of(date: &str) -> Option<i32> {
    let year = date.trim().get(..4)?.parse::<i32>().ok()?;
    (date.trim().len() >= 10 && date.trim().as_bytes()[4] == b'-').then_some(year)
}

/// The most one piece of XML (a text, a tag with its attributes, a comment) may take. The reader
/// holds a piece whole until its end: without a bound a file with no `<` in it (a binary file,
/// `/dev/zero`) is read into memory until there is none left. No narrative of IATI comes near.
pub const MAX_XML_PIECE_BYTES: usize = 8 << 20;

/// Counts the lines of what the XML reader has consumed, which quick-xml does not, and bounds
/// the bytes of the piece it is reading (see [`MAX_XML_PIECE_BYTES`]).
struct Lines<R> {
    inner: R,
    newlines: u64,
    /// Bytes consumed since the reader began its current piece.
    piece: usize,
}

impl<R: std::io::Read> std::io::Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.piece > MAX_XML_PIECE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a text, tag or comment of over {} MiB",
                    MAX_XML_PIECE_BYTES >> 20
                ),
            ));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = amt.min(buf.len());
            self.newlines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
        self.piece = self.piece.saturating_add(amt);
        self.inner.consume(amt)
    }
}

/// The activities of one file, read as they come.
pub struct ActivityReader<R: BufRead> {
    xml: Reader<Lines<R>>,
    buf: Vec<u8>,
    /// The `version` of `iati-activities`, once read.
    pub version: Option<String>,
    done: bool,
}

/// Where inside an activity the reader is: the path of element names below `iati-activity`.
#[derive(Default)]
struct Walk {
    path: Vec<String>,
    text: String,
    activity: Activity,
    problem: Option<String>,
    identifiers: u32,
    titles: u32,
    transaction: Option<PendingTransaction>,
    result: Option<PendingResult>,
    org: Option<(String, Org)>,
    location_name: Option<String>,
    location_point: Option<(f64, f64)>,
    location_country: Option<String>,
    description_type: String,
    narrative_taken: bool,
}

#[derive(Default)]
struct PendingTransaction {
    line: u64,
    type_code: Option<String>,
    values: u32,
    value: Option<String>,
    currency: Option<String>,
    value_date: Option<String>,
    reference: Option<String>,
    provider: Option<Org>,
}

#[derive(Default)]
struct PendingResult {
    line: u64,
    title: Option<String>,
    indicator: Option<ResultIndicator>,
    indicator_title: Option<String>,
    measure: Option<String>,
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.as_ref() == name).then(|| {
            #[allow(deprecated)]
            let v = a
                .unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| a.value.to_string());
            v.trim().to_string()
        })
    })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn decimal(s: &str) -> Option<Decimal> {
    let t = s.trim();
    Decimal::from_str_exact(t)
        .ok()
        .or_else(|| t.parse::<f64>().ok().and_then(Decimal::from_f64_retain))
}

impl<R: BufRead> ActivityReader<R> {
    /// Reads up to the first activity: the root element and its version.
    pub fn new(input: R) -> Result<Self, ImportError> {
        let mut reader = ActivityReader {
            xml: Reader::from_reader(Lines {
                inner: input,
                newlines: 0,
                piece: 0,
            }),
            buf: Vec::new(),
            version: None,
            done: false,
        };
        loop {
            reader.buf.clear();
            reader.xml.get_mut().piece = 0;
            let event = reader.xml.read_event_into(&mut reader.buf);
            let line = reader.xml.get_ref().newlines + 1;
            match event {
                Err(e) => {
                    return Err(ImportError::NotXml {
                        line,
                        message: e.to_string(),
                    });
                }
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                    let name = e.local_name().as_ref().to_string();
                    if name != "iati-activities" {
                        return Err(ImportError::NotIati(name));
                    }
                    let Some(version) = attr(&e, "version") else {
                        return Err(ImportError::Version(
                            "(none: <iati-activities> has no version attribute)".into(),
                        ));
                    };
                    // The standard's own fixtures write `version="xx"`: only a version that
                    // names another major version is refused.
                    let major = version.split('.').next().unwrap_or("");
                    if major.parse::<u32>().is_ok_and(|m| m != 2) {
                        return Err(ImportError::Version(version));
                    }
                    reader.version = Some(version);
                    return Ok(reader);
                }
                Ok(Event::Eof) => {
                    return Err(ImportError::NotXml {
                        line,
                        message: "no root element".into(),
                    });
                }
                Ok(Event::Text(t)) if !t.xml10_content().trim().is_empty() => {
                    return Err(ImportError::NotXml {
                        line,
                        message: "text before the root element".into(),
                    });
                }
                Ok(_) => {}
            }
        }
    }

    /// The line the reader has reached.
    pub fn line(&self) -> u64 {
        self.xml.get_ref().newlines + 1
    }

    /// The next activity, or None at the end of the document.
    pub fn next_activity(&mut self) -> Result<Option<Read>, ImportError> {
        if self.done {
            return Ok(None);
        }
        let mut walk: Option<Walk> = None;
        loop {
            self.buf.clear();
            self.xml.get_mut().piece = 0;
            let event = self.xml.read_event_into(&mut self.buf);
            let line = self.xml.get_ref().newlines + 1;
            let event = event.map_err(|e| ImportError::NotXml {
                line,
                message: e.to_string(),
            })?;
            match event {
                Event::Start(e) => {
                    let name = e.local_name().as_ref().to_string();
                    match walk.as_mut() {
                        None if name == "iati-activity" => {
                            walk = Some(Walk {
                                activity: Activity {
                                    line,
                                    default_currency: non_empty(attr(&e, "default-currency")),
                                    ..Activity::default()
                                },
                                ..Walk::default()
                            });
                        }
                        None => {}
                        Some(w) => {
                            w.start(&name, &e, line);
                            w.path.push(name);
                            w.text.clear();
                        }
                    }
                }
                Event::Empty(e) => {
                    let name = e.local_name().as_ref().to_string();
                    if let Some(w) = walk.as_mut() {
                        w.start(&name, &e, line);
                        w.text.clear();
                        w.path.push(name);
                        w.end();
                    } else if name == "iati-activity" {
                        return Ok(Some(Read::Skipped {
                            line,
                            identifier: None,
                            reason: "empty <iati-activity>: no <iati-identifier>".into(),
                        }));
                    }
                }
                Event::Text(t) => {
                    if let Some(w) = walk.as_mut() {
                        w.text.push_str(&t.xml10_content());
                    }
                }
                Event::CData(t) => {
                    if let Some(w) = walk.as_mut() {
                        w.text.push_str(&t);
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(w) = walk.as_mut() {
                        let name = r.to_string();
                        // Entities a DOCTYPE declares are never expanded (nor fetched): that is
                        // how a file would make the reader swell or read this machine's files.
                        // Dropping one silently would import a text that lost a part, so the
                        // activity is skipped saying which.
                        match r.resolve_char_ref() {
                            Ok(Some(c)) => w.text.push(c),
                            Ok(None) => match resolve_predefined_entity(&name) {
                                Some(s) => w.text.push_str(s),
                                None => w.refuse(
                                    line,
                                    format!(
                                        "the entity &{name}; is not read: only XML's five \
                                         predefined entities and character references are"
                                    ),
                                ),
                            },
                            Err(_) => w.refuse(
                                line,
                                format!("&{name}; is not a character reference of XML"),
                            ),
                        }
                    }
                }
                Event::End(_) => match walk.as_mut() {
                    Some(w) if w.path.is_empty() => {
                        let w = walk.take().unwrap_or_default();
                        return Ok(Some(w.finish()));
                    }
                    Some(w) => w.end(),
                    None => {}
                },
                Event::Eof => {
                    self.done = true;
                    return Ok(None);
                }
                _ => {}
            }
        }
    }
}

impl Walk {
    fn parent(&self) -> Option<&str> {
        self.path.last().map(|s| s.as_str())
    }

    fn refuse(&mut self, line: u64, reason: String) {
        if self.problem.is_none() {
            self.problem = Some(format!("line {line}: {reason}"));
        }
    }

    fn start(&mut self, name: &str, e: &BytesStart, line: u64) {
        let depth = self.path.len();
        let parent = self.parent().unwrap_or("").to_string();
        match (depth, name) {
            (0, "iati-identifier") => self.identifiers += 1,
            (0, "title") => {
                self.titles += 1;
                self.narrative_taken = false;
            }
            (0, "description") => {
                self.description_type = attr(e, "type").unwrap_or_else(|| "1".into());
                self.narrative_taken = false;
            }
            (0, "activity-date") => match attr(e, "iso-date") {
                Some(d) if year_of(&d).is_some() => self
                    .activity
                    .dates
                    .push((attr(e, "type").unwrap_or_default(), d)),
                _ => self.refuse(line, "<activity-date> without an iso-date".into()),
            },
            (0, "recipient-country") => match non_empty(attr(e, "code")) {
                Some(code) => self.activity.countries.push((code, None)),
                None => self.refuse(line, "<recipient-country> without a code".into()),
            },
            (0, "location") => {
                self.location_name = None;
                self.location_point = None;
                self.location_country = None;
            }
            (1, "administrative")
                if parent == "location" && attr(e, "vocabulary").as_deref() == Some("A4") =>
            {
                self.location_country = non_empty(attr(e, "code")).map(|c| c.to_uppercase());
            }
            (0, "participating-org") if attr(e, "role").as_deref() == Some("1") => {
                self.org = Some((
                    "participating-org".into(),
                    Org {
                        reference: non_empty(attr(e, "ref")),
                        name: None,
                        org_type: non_empty(attr(e, "type")),
                    },
                ));
            }
            (0, "sector") => match non_empty(attr(e, "code")) {
                Some(code) => self
                    .activity
                    .sectors
                    .push((attr(e, "vocabulary").unwrap_or_else(|| "1".into()), code)),
                None => self.refuse(line, "<sector> without a code".into()),
            },
            (0, "transaction") => {
                self.transaction = Some(PendingTransaction {
                    line,
                    reference: non_empty(attr(e, "ref")),
                    ..PendingTransaction::default()
                })
            }
            (0, "result") => {
                self.result = Some(PendingResult {
                    line,
                    ..PendingResult::default()
                })
            }
            (1, "pos") if parent == "point" => {}
            (2, "pos") => {}
            (1, "transaction-type") => {
                if let Some(t) = self.transaction.as_mut() {
                    if t.type_code.is_some() {
                        self.refuse(line, "two <transaction-type> in a <transaction>".into());
                    } else {
                        match non_empty(attr(e, "code")) {
                            Some(c) => t.type_code = Some(c),
                            None => self.refuse(line, "<transaction-type> without a code".into()),
                        }
                    }
                }
            }
            (1, "value") if parent == "transaction" => {
                if let Some(t) = self.transaction.as_mut() {
                    t.values += 1;
                    t.currency = non_empty(attr(e, "currency"));
                    t.value_date = attr(e, "value-date");
                }
            }
            (1, "provider-org") => {
                self.org = Some((
                    "provider-org".into(),
                    Org {
                        reference: non_empty(attr(e, "ref")),
                        name: None,
                        org_type: non_empty(attr(e, "type")),
                    },
                ));
            }
            (1, "indicator") if parent == "result" => {
                if let Some(r) = self.result.as_mut()
                    && r.indicator.is_none()
                {
                    r.measure = attr(e, "measure");
                    r.indicator = Some(ResultIndicator::default());
                }
            }
            (2, "baseline") if self.path.get(1).is_some_and(|p| p == "indicator") => {
                if let Some(i) = self.result.as_mut().and_then(|r| r.indicator.as_mut())
                    && i.baseline.is_none()
                {
                    i.baseline = attr(e, "value").as_deref().and_then(decimal);
                    i.year = attr(e, "year").and_then(|y| y.parse().ok()).or(i.year);
                }
            }
            (3, "period-start") => {
                if let Some(i) = self.result.as_mut().and_then(|r| r.indicator.as_mut())
                    && i.year.is_none()
                {
                    i.year = attr(e, "iso-date").as_deref().and_then(year_of);
                }
            }
            (3, "target") | (3, "actual") => {
                if let Some(i) = self.result.as_mut().and_then(|r| r.indicator.as_mut()) {
                    let v = attr(e, "value").as_deref().and_then(decimal);
                    let slot = if name == "target" {
                        &mut i.target
                    } else {
                        &mut i.actual
                    };
                    if slot.is_none() {
                        *slot = v;
                    }
                }
            }
            _ => {}
        }
        if name == "point" && depth == 1 {
            // `<pos>` follows; nothing to take from the point itself.
        }
    }

    /// The element on top of the path has ended: take its text.
    fn end(&mut self) {
        let Some(name) = self.path.pop() else { return };
        let text = std::mem::take(&mut self.text).trim().to_string();
        let depth = self.path.len();
        let parent = self.path.last().cloned().unwrap_or_default();
        match (depth, name.as_str()) {
            (0, "iati-identifier") => self.activity.identifier = text,
            (1, "narrative") if parent == "title" && !self.narrative_taken && !text.is_empty() => {
                self.activity.title = text;
                self.narrative_taken = true;
            }
            (1, "narrative")
                if parent == "description" && !self.narrative_taken && !text.is_empty() =>
            {
                self.activity
                    .descriptions
                    .push((self.description_type.clone(), text));
                self.narrative_taken = true;
            }
            // The export's date of entry of an undated practice says nothing of its years.
            (1, "narrative") if parent == "activity-date" && text == super::iati::UNDATED => {
                self.activity.dates.pop();
            }
            (1, "narrative") if parent == "recipient-country" => {
                if let Some(last) = self.activity.countries.last_mut()
                    && last.1.is_none()
                    && !text.is_empty()
                {
                    last.1 = Some(text);
                }
            }
            (2, "narrative")
                if parent == "name"
                    && self.path[0] == "location"
                    && self.location_name.is_none()
                    && !text.is_empty() =>
            {
                self.location_name = Some(text);
            }
            (2, "pos") if parent == "point" => {
                let mut parts = text.split_whitespace().map(|p| p.parse::<f64>());
                if let (Some(Ok(lat)), Some(Ok(lon))) = (parts.next(), parts.next()) {
                    self.location_point = Some((lat, lon));
                }
            }
            (0, "location") => {
                if let Some(name) = self.location_name.take() {
                    self.activity.locations.push(Location {
                        name,
                        point: self.location_point.take(),
                        country: self.location_country.take(),
                    });
                }
            }
            (_, "narrative") if parent == "participating-org" || parent == "provider-org" => {
                if let Some((_, org)) = self.org.as_mut()
                    && org.name.is_none()
                    && !text.is_empty()
                {
                    org.name = Some(text);
                }
            }
            (0, "participating-org") => {
                if let Some((_, org)) = self.org.take()
                    && (org.reference.is_some() || org.name.is_some())
                {
                    self.activity.funders.push(org);
                }
            }
            (1, "provider-org") => {
                if let Some((_, org)) = self.org.take()
                    && let Some(t) = self.transaction.as_mut()
                    && (org.reference.is_some() || org.name.is_some())
                {
                    t.provider = Some(org);
                }
            }
            (1, "value") if parent == "transaction" => {
                if let Some(t) = self.transaction.as_mut() {
                    t.value = Some(text);
                }
            }
            (0, "transaction") => {
                if let Some(t) = self.transaction.take() {
                    self.transaction_done(t);
                }
            }
            (2, "narrative") if parent == "title" && self.path[0] == "result" => {
                if let Some(r) = self.result.as_mut()
                    && r.title.is_none()
                    && !text.is_empty()
                {
                    r.title = Some(text);
                }
            }
            (3, "narrative") if parent == "title" && self.path[1] == "indicator" => {
                if let Some(r) = self.result.as_mut()
                    && r.indicator_title.is_none()
                    && !text.is_empty()
                {
                    r.indicator_title = Some(text);
                }
            }
            (3, "narrative") if parent == "description" && self.path[1] == "indicator" => {
                if let Some(i) = self.result.as_mut().and_then(|r| r.indicator.as_mut())
                    && i.unit.is_none()
                    && !text.is_empty()
                {
                    // The export describes an indicator by its unit, "Unit: cities".
                    let unit = text.strip_prefix("Unit: ").unwrap_or(&text);
                    i.unit = Some(unit.to_string());
                }
            }
            (0, "result") => {
                if let Some(r) = self.result.take() {
                    self.result_done(r);
                }
            }
            _ => {}
        }
    }

    fn transaction_done(&mut self, t: PendingTransaction) {
        let line = t.line;
        let Some(type_code) = t.type_code else {
            return self.refuse(line, "<transaction> without a <transaction-type>".into());
        };
        if t.values != 1 {
            return self.refuse(
                line,
                format!("<transaction> with {} <value> elements, not one", t.values),
            );
        }
        let Some(value) = t.value.as_deref().and_then(decimal) else {
            return self.refuse(line, "<transaction> <value> is not a number".into());
        };
        let Some(date) = t.value_date else {
            return self.refuse(line, "<transaction> <value> without a value-date".into());
        };
        let Some(year) = year_of(&date) else {
            return self.refuse(
                line,
                format!("<transaction> value-date {date:?} is not a date"),
            );
        };
        self.activity.transactions.push(Transaction {
            type_code,
            value,
            currency: t.currency,
            year,
            reference: t.reference,
            provider: t.provider,
        });
    }

    fn result_done(&mut self, r: PendingResult) {
        let line = r.line;
        let Some(title) = r.title.or(r.indicator_title) else {
            return self.refuse(line, "<result> without a <title> narrative".into());
        };
        let Some(mut indicator) = r.indicator else {
            return self.refuse(line, "<result> without an <indicator>".into());
        };
        indicator.title = title;
        indicator.percentage = r.measure.as_deref() == Some(super::codes::MEASURE_PERCENTAGE);
        if indicator.percentage && indicator.unit.is_none() {
            indicator.unit = Some("%".into());
        }
        self.activity.results.push(indicator);
    }

    fn finish(self) -> Read {
        let line = self.activity.line;
        let identifier = non_empty(Some(self.activity.identifier.clone()));
        let skipped = |reason: String| Read::Skipped {
            line,
            identifier: identifier.clone(),
            reason,
        };
        if let Some(problem) = self.problem {
            return skipped(problem);
        }
        if identifier.is_none() {
            return skipped("no <iati-identifier>".into());
        }
        if self.identifiers > 1 {
            return skipped("two <iati-identifier> elements".into());
        }
        if self.titles > 1 {
            return skipped("two <title> elements".into());
        }
        if self.activity.title.is_empty() {
            return skipped("no <title> with a <narrative>".into());
        }
        Read::Activity(Box::new(self.activity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(xml: &str) -> Result<Vec<Read>, ImportError> {
        let mut r = ActivityReader::new(xml.as_bytes())?;
        let mut out = vec![];
        while let Some(a) = r.next_activity()? {
            out.push(a);
        }
        Ok(out)
    }

    const ONE: &str = r#"<?xml version="1.0"?>
<iati-activities version="2.03">
  <iati-activity default-currency="EUR">
    <iati-identifier>XM-1</iati-identifier>
    <title><narrative>Water &amp; sanitation</narrative></title>
    <description type="2"><narrative>Clean water</narrative></description>
    <participating-org role="1" ref="XM-DAC-7"><narrative>Netherlands</narrative></participating-org>
    <activity-date type="2" iso-date="2019-03-01"/>
    <activity-date type="3" iso-date="2022-12-31"/>
    <recipient-country code="NI"><narrative>Nicaragua</narrative></recipient-country>
    <location><name><narrative>León</narrative></name><administrative vocabulary="A4" code="ni"/><point srsName="x"><pos>12.43 -86.88</pos></point></location>
    <sector vocabulary="1" code="41010"/>
    <sector vocabulary="1" code="99999"/>
    <transaction>
      <transaction-type code="11"/>
      <transaction-date iso-date="2020-01-01"/>
      <value currency="NLG" value-date="1998-01-01">1500.50</value>
      <provider-org ref="XM-DAC-7"><narrative>Netherlands</narrative></provider-org>
    </transaction>
    <result type="2"><title><narrative>Wells</narrative></title>
      <indicator measure="1"><title><narrative>Wells dug</narrative></title>
        <baseline year="2019" value="3"/>
        <period><period-start iso-date="2020-01-01"/><period-end iso-date="2020-12-31"/>
          <target value="10"/><actual value="8"/></period>
      </indicator>
    </result>
  </iati-activity>
</iati-activities>"#;

    #[test]
    fn an_activity_is_read_with_what_the_forum_keeps() {
        let read = read_all(ONE).unwrap();
        let Read::Activity(a) = &read[0] else {
            panic!("{read:?}")
        };
        assert_eq!(a.line, 3);
        assert_eq!(a.identifier, "XM-1");
        assert_eq!(a.title, "Water & sanitation");
        assert_eq!(a.description("2"), Some("Clean water"));
        assert_eq!(a.years(), (Some(2019), Some(2022)));
        assert_eq!(a.countries, vec![("NI".into(), Some("Nicaragua".into()))]);
        assert_eq!(a.locations[0].name, "León");
        assert_eq!(a.locations[0].point, Some((12.43, -86.88)));
        assert_eq!(a.locations[0].country.as_deref(), Some("NI"));
        assert_eq!(a.funders[0].reference.as_deref(), Some("XM-DAC-7"));
        assert_eq!(a.sectors.len(), 2);
        let t = &a.transactions[0];
        assert_eq!(
            (t.type_code.as_str(), t.currency.as_deref(), t.year),
            ("11", Some("NLG"), 1998)
        );
        assert_eq!(t.value, Decimal::new(150050, 2));
        assert_eq!(
            t.provider.as_ref().unwrap().name.as_deref(),
            Some("Netherlands")
        );
        let r = &a.results[0];
        assert_eq!(r.title, "Wells");
        assert_eq!(
            (r.baseline, r.target, r.actual, r.year),
            (Some(3.into()), Some(10.into()), Some(8.into()), Some(2019))
        );
    }

    #[test]
    fn what_a_practice_cannot_do_without_skips_the_activity_with_element_and_line() {
        let two_values = ONE.replace(
            "<value currency=\"NLG\" value-date=\"1998-01-01\">1500.50</value>",
            "<value value-date=\"1998-01-01\">1</value><value value-date=\"1998-01-01\">2</value>",
        );
        match &read_all(&two_values).unwrap()[0] {
            Read::Skipped { reason, line, .. } => {
                assert_eq!(*line, 3);
                assert!(
                    reason.contains("<value>") && reason.contains("line 14"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        let untitled = ONE.replace("<narrative>Water &amp; sanitation</narrative>", "");
        assert!(matches!(&read_all(&untitled).unwrap()[0],
            Read::Skipped { reason, .. } if reason.contains("<title>")));
    }

    #[test]
    fn an_entity_a_doctype_declares_skips_its_activity_instead_of_losing_text() {
        let declared = ONE
            .replace(
                "<?xml version=\"1.0\"?>",
                "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY lol \"lol\"><!ENTITY xxe SYSTEM \"file:///etc/hostname\">]>",
            )
            .replace("Clean water", "Clean &lol;&xxe; water");
        match &read_all(&declared).unwrap()[0] {
            Read::Skipped {
                reason, identifier, ..
            } => {
                assert!(
                    reason.contains("&lol;") && reason.contains("line 7"),
                    "{reason}"
                );
                assert_eq!(identifier.as_deref(), Some("XM-1"));
            }
            other => panic!("{other:?}"),
        }
        let bad_char = ONE.replace("Clean water", "Clean &#xFFFFFFFF; water");
        assert!(matches!(&read_all(&bad_char).unwrap()[0],
            Read::Skipped { reason, .. } if reason.contains("&#xFFFFFFFF;")));
        // What XML itself defines still reads.
        let own = ONE.replace("Clean water", "Clean &lt;&#233;&#x41;&apos; water");
        let Read::Activity(a) = &read_all(&own).unwrap()[0] else {
            panic!("refused XML's own entities")
        };
        assert_eq!(a.description("2"), Some("Clean <éA' water"));
    }

    #[test]
    fn a_piece_of_xml_larger_than_the_bound_is_refused_before_memory_runs_out() {
        // A text just over the bound; a binary file or `/dev/zero` is one without end.
        let over = format!(
            "<iati-activities version=\"2.03\"><iati-activity><iati-identifier>{}</iati-identifier></iati-activity></iati-activities>",
            "x".repeat(MAX_XML_PIECE_BYTES + (1 << 20))
        );
        // Read as a file is, a buffer at a time (a slice would hand the reader all at once).
        let mut reader = ActivityReader::new(std::io::BufReader::new(over.as_bytes())).unwrap();
        match reader.next_activity() {
            Err(ImportError::NotXml { message, .. }) => {
                assert!(message.contains("MiB"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        // A long text under the bound still reads.
        let long = "y".repeat(MAX_XML_PIECE_BYTES / 2);
        let xml = ONE.replace("Clean water", &long);
        let Read::Activity(a) = &read_all(&xml).unwrap()[0] else {
            panic!("refused a text under the bound")
        };
        assert_eq!(a.description("2").map(str::len), Some(long.len()));
    }

    fn fixtures(kind: &str) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("fixture folder") {
                let path = entry.expect("fixture entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "xml") {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/iati/fixtures")
            .join(kind);
        let mut out = vec![];
        walk(&root, &mut out);
        out.sort();
        out
    }

    fn read_file(path: &std::path::Path) -> Result<Vec<Read>, ImportError> {
        read_all(&std::fs::read_to_string(path).expect("fixture"))
    }

    #[test]
    fn the_standards_valid_documents_are_read_without_error() {
        let files = fixtures("should-pass");
        assert!(files.len() >= 40, "{}", files.len());
        for file in files {
            let read = read_file(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(!read.is_empty(), "{}", file.display());
        }
    }

    #[test]
    fn the_standards_invalid_documents_that_break_the_import_are_refused_naming_the_element() {
        let files = fixtures("should-fail");
        assert!(files.len() >= 10);
        for file in files {
            match read_file(&file) {
                Err(ImportError::Version(_)) => {}
                Ok(read) => assert!(
                    read.iter()
                        .any(|r| matches!(r, Read::Skipped { reason, .. } if reason.contains('<'))),
                    "{}: {read:?}",
                    file.display()
                ),
                Err(e) => panic!("{}: {e}", file.display()),
            }
        }
    }

    #[test]
    fn documents_that_are_not_iati_2_are_refused() {
        assert!(matches!(
            read_all("this is not xml <"),
            Err(ImportError::NotXml { .. })
        ));
        assert_eq!(
            read_all("<html><body/></html>").unwrap_err(),
            ImportError::NotIati("html".into())
        );
        assert_eq!(
            read_all(r#"<iati-activities version="1.05"/>"#).unwrap_err(),
            ImportError::Version("1.05".into())
        );
        assert!(matches!(
            read_all("<iati-activities version=\"2.03\"><iati-activity>"),
            Err(ImportError::NotXml { .. }) | Ok(_)
        ));
    }
}
