//! `GET /export/{practices,funding,needs,funding-gaps}.csv`: the lists and the funding-gap table
//! as CSV (UTF-8, a header row, and with `?hxl=1` a second row of HXL hashtags), with the
//! GraphQL lists' filters as query parameters and the same read rules. Lists are read a page at
//! a time and sent as they are written.

use std::collections::BTreeMap;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::analytics::{FundingGapCell, GapDimension, GapFilter};
use domain::entities::{Id, Need};
use domain::exchange::{ActivityRecord, EXPORT_PAGE, Exchange};
use domain::framework::*;
use domain::page::PageRequest;
use domain::repository::{NeedFilter, PracticeFilter};
use domain::service::{Catalog, Tagged};
use domain::{Actor, Error, Result};
use futures_util::stream::{self, Stream};

use super::{ExportState, actor_of, error_answer, streamed};
use crate::graphql::ids::{Kind, number};

/// Which list a request asks for, with its filter.
#[derive(Clone)]
enum Source {
    Practices(PracticeFilter),
    Funding(PracticeFilter),
    Needs(NeedFilter),
    FundingGaps(Vec<GapDimension>, GapFilter),
}

/// The query string as name → values: a parameter may be repeated or list values separated
/// by commas.
pub(super) struct Params(BTreeMap<String, Vec<String>>);

impl Params {
    pub(super) fn parse(query: &str) -> Result<Params> {
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query)?;
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in pairs {
            let values = map.entry(key).or_default();
            values.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(String::from),
            );
        }
        Ok(Params(map))
    }

    fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    fn one(&self, name: &str) -> Result<Option<&str>> {
        match self.all(name) {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            _ => Err(Error::validation(name, "give one value")),
        }
    }

    /// Free text keeps its commas.
    fn text(&self) -> Option<String> {
        self.0.get("text").map(|v| v.join(","))
    }

    fn parsed<T>(&self, name: &str, parse: impl Fn(&str, &str) -> Result<T>) -> Result<Option<T>> {
        self.one(name)?.map(|v| parse(v, name)).transpose()
    }

    fn list<T>(&self, name: &str, parse: impl Fn(&str, &str) -> Result<T>) -> Result<Vec<T>> {
        self.all(name).iter().map(|v| parse(v, name)).collect()
    }

    /// A global id of `kind`, or its number (see `graphql::ids`).
    fn id(&self, name: &str, kind: Kind) -> Result<Option<Id>> {
        self.parsed(name, |v, field| number(kind, field, v))
    }

    fn year(&self, name: &str) -> Result<Option<i32>> {
        self.parsed(name, |v, field| {
            v.parse::<i32>()
                .map_err(|_| Error::validation(field, "is not a year"))
        })
    }

    /// An RFC 3339 time, as GraphQL's `DateTime` takes it.
    fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        self.parsed(name, |v, field| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Error::validation(field, "is not an RFC 3339 time (2026-12-01T00:00:00Z)")
                })
        })
    }

    /// Whether HXL hashtags are asked for; the parameter is then no filter's.
    fn take_hxl(&mut self) -> Result<bool> {
        let hxl = match self.one("hxl")? {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(_) => return Err(Error::validation("hxl", "is 1 or 0")),
        };
        self.0.remove("hxl");
        Ok(hxl)
    }

    /// Refuses parameters the list does not take, so that a misspelt filter is not silently
    /// ignored (and the whole list sent).
    fn only(&self, known: &[&str]) -> Result<()> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(Error::validation(
                unknown,
                format!(
                    "is not a filter of this list (it takes {})",
                    known.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    pub(super) fn practice_filter(&self) -> Result<PracticeFilter> {
        self.only(&[
            "text",
            "themes",
            "orientation",
            "modality",
            "managementFocus",
            "cooperatingParties",
            "countryCode",
            "cityId",
            "schemeId",
            "status",
            "activeInYear",
            "updatedSince",
        ])?;
        Ok(PracticeFilter {
            text: self.text(),
            themes: self.list("themes", Theme::parse)?,
            orientation: self.parsed("orientation", GeographicOrientation::parse)?,
            modality: self.parsed("modality", LinkingModality::parse)?,
            management_focus: self.list("managementFocus", ManagementFocus::parse)?,
            cooperating_parties: self.list("cooperatingParties", CooperatingParty::parse)?,
            country_code: self.one("countryCode")?.map(String::from),
            city_id: self.id("cityId", Kind::City)?,
            scheme_id: self.id("schemeId", Kind::SupportScheme)?,
            status: self.parsed("status", PublicationStatus::parse)?,
            active_in_year: self.year("activeInYear")?,
            updated_since: self.time("updatedSince")?,
        })
    }

    fn need_filter(&self) -> Result<NeedFilter> {
        self.only(&[
            "text",
            "themes",
            "status",
            "cityId",
            "countryCode",
            "updatedSince",
        ])?;
        Ok(NeedFilter {
            text: self.text(),
            themes: self.list("themes", Theme::parse)?,
            status: self.parsed("status", NeedStatus::parse)?,
            city_id: self.id("cityId", Kind::City)?,
            country_code: self.one("countryCode")?.map(String::from),
            updated_since: self.time("updatedSince")?,
        })
    }

    fn gaps(&self) -> Result<(Vec<GapDimension>, GapFilter)> {
        self.only(&["by", "fromYear", "toYear", "statuses", "agendaOfDonor"])?;
        Ok((
            self.list("by", GapDimension::parse)?,
            GapFilter {
                from_year: self.year("fromYear")?,
                to_year: self.year("toYear")?,
                statuses: self.list("statuses", FundingStatus::parse)?,
                agenda_of_donor: self.id("agendaOfDonor", Kind::Donor)?,
            },
        ))
    }
}

/// `a=1&b=x%2Cy` as pairs, percent-decoded.
fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|_| Error::validation("query", "is not a well-formed query string"))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/export/practices.csv", web::get().to(practices))
        .route("/export/funding.csv", web::get().to(funding))
        .route("/export/needs.csv", web::get().to(needs))
        .route("/export/funding-gaps.csv", web::get().to(funding_gaps));
}

async fn practices(state: web::Data<ExportState>, http: HttpRequest) -> HttpResponse {
    answer(&state, &http, |p| {
        p.practice_filter().map(Source::Practices)
    })
    .await
}

async fn funding(state: web::Data<ExportState>, http: HttpRequest) -> HttpResponse {
    answer(&state, &http, |p| p.practice_filter().map(Source::Funding)).await
}

async fn needs(state: web::Data<ExportState>, http: HttpRequest) -> HttpResponse {
    answer(&state, &http, |p| p.need_filter().map(Source::Needs)).await
}

async fn funding_gaps(state: web::Data<ExportState>, http: HttpRequest) -> HttpResponse {
    answer(&state, &http, |p| {
        p.gaps().map(|(by, filter)| Source::FundingGaps(by, filter))
    })
    .await
}

async fn answer(
    state: &ExportState,
    http: &HttpRequest,
    source: impl Fn(&Params) -> Result<Source>,
) -> HttpResponse {
    let actor = match actor_of(&state.app, http).await {
        Ok(actor) => actor,
        Err(answer) => return answer,
    };
    let parsed = Params::parse(http.query_string()).and_then(|mut p| {
        let hxl = p.take_hxl()?;
        Ok((source(&p)?, hxl))
    });
    let (source, hxl) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return error_answer(e),
    };
    let Some(permit) = state.permit() else {
        return error_answer(Error::RateLimited);
    };
    let services = state.app.services();
    let reader = Reader {
        catalog: services.catalog().clone(),
        exchange: services.exchange().clone(),
        analytics: services.analytics().clone(),
        actor,
        source,
    };
    // The first page is read before the answer starts, so that a refused filter is an error
    // answer rather than a cut-off file.
    let first = match reader.page(None).await {
        Ok(first) => first,
        Err(e) => return error_answer(e),
    };
    let mut head = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut head);
        let columns = reader.columns();
        let _ = w.write_record(columns.iter().map(|c| c.0));
        if hxl {
            let _ = w.write_record(columns.iter().map(|c| c.1));
        }
        let _ = w.flush();
    }
    let signed_in = !matches!(reader.actor, Actor::Anonymous);
    let chunks =
        stream::once(async move { Ok::<_, Error>(Bytes::from(head)) }).chain_pages(reader, first);
    streamed(
        "text/csv; charset=utf-8; header=present",
        signed_in,
        chunks,
        permit,
    )
}

/// A page of rows and the cursor after it; `None` when it was the last.
type RowPage = (Vec<Vec<String>>, Option<Id>);

trait ChainPages: Stream<Item = Result<Bytes>> + Sized {
    /// This stream, then the page already read, then the pages after it.
    fn chain_pages(self, reader: Reader, first: RowPage) -> impl Stream<Item = Result<Bytes>> {
        let rest = stream::unfold(Some(first), move |next| {
            let reader = reader.clone();
            async move {
                let (rows, after) = next?;
                let chunk = encode(&rows);
                let following = match after {
                    None => None,
                    Some(after) => match reader.page(Some(after)).await {
                        Ok(page) => Some(page),
                        Err(e) => return Some((Err(e), None)),
                    },
                };
                Some((chunk, following))
            }
        });
        futures_util::StreamExt::chain(self, rest)
    }
}

impl<S: Stream<Item = Result<Bytes>>> ChainPages for S {}

fn encode(rows: &[Vec<String>]) -> Result<Bytes> {
    let mut out = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        for row in rows {
            w.write_record(row)
                .map_err(|e| Error::internal(format!("writing CSV: {e}")))?;
        }
        w.flush()
            .map_err(|e| Error::internal(format!("writing CSV: {e}")))?;
    }
    Ok(Bytes::from(out))
}

#[derive(Clone)]
struct Reader {
    catalog: Catalog,
    exchange: Exchange,
    analytics: domain::analytics::Analytics,
    actor: Actor,
    source: Source,
}

/// Free text as a cell: a spreadsheet opening the file takes a cell that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return for a formula and runs it, so such text, which any
/// record's author can write, gets a leading `'` (OWASP's advice against CSV injection).
/// Numbers and codes are never passed here: a negative gap stays a number.
fn text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

fn opt<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(T::to_string).unwrap_or_default()
}

fn joined<T: ToString>(values: impl IntoIterator<Item = T>) -> String {
    values
        .into_iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(";")
}

const PRACTICE_COLUMNS: &[(&str, &str)] = &[
    ("id", "#activity+id"),
    ("status", "#status"),
    ("title", "#activity+name"),
    ("summary", "#description"),
    ("orientation", "#meta+orientation"),
    ("modality", "#modality+linking"),
    ("themes", "#sector+theme"),
    ("management_focus", "#subsector+focus"),
    ("cooperating_parties", "#org+type"),
    ("start_year", "#date+start"),
    ("end_year", "#date+end"),
    ("cities", "#loc+name"),
    ("country_codes", "#country+code"),
    ("amount_required", "#value+required"),
    ("amount_required_currency", "#currency"),
];

const FUNDING_COLUMNS: &[(&str, &str)] = &[
    ("id", "#meta+id"),
    ("practice_id", "#activity+id"),
    ("donor_id", "#org+donor+id"),
    ("donor", "#org+donor+name"),
    ("source_type", "#meta+source"),
    ("status", "#status"),
    ("amount", "#value"),
    ("currency", "#currency"),
    ("amount_usd", "#value+usd"),
    ("year", "#date+year"),
    ("confidential", "#meta+confidential"),
];

const NEED_COLUMNS: &[(&str, &str)] = &[
    ("id", "#meta+id"),
    ("status", "#status"),
    ("publication", "#status+publication"),
    ("title", "#need+name"),
    ("city_id", "#loc+id"),
    ("city", "#loc+name"),
    ("country_code", "#country+code"),
    ("themes", "#sector+theme"),
    ("modality", "#modality+linking"),
    ("amount_required", "#value+required"),
    ("amount_required_currency", "#currency"),
];

const GAP_COLUMNS: &[(&str, &str)] = &[
    ("open_needs", "#need+open+num"),
    ("active_practices", "#activity+active+num"),
    ("required_usd", "#value+required+usd"),
    ("funded_usd", "#value+funded+usd"),
    ("pledged_usd", "#value+pledged+usd"),
    ("gap_usd", "#value+gap+usd"),
    ("coverage", "#indicator+coverage"),
    ("scheme_count", "#org+scheme+num"),
    ("donor_count", "#org+donor+num"),
    ("disclosure", "#meta+disclosure"),
];

fn dimension_column(d: GapDimension) -> (&'static str, &'static str) {
    match d {
        GapDimension::Theme => ("theme", "#sector+theme"),
        GapDimension::Orientation => ("orientation", "#meta+orientation"),
        GapDimension::Bloc => ("bloc", "#region+bloc"),
        GapDimension::Country => ("country", "#country+code"),
        GapDimension::Modality => ("modality", "#modality+linking"),
        GapDimension::ManagementFocus => ("management_focus", "#subsector+focus"),
    }
}

impl Reader {
    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        match &self.source {
            Source::Practices(_) => PRACTICE_COLUMNS.to_vec(),
            Source::Funding(_) => FUNDING_COLUMNS.to_vec(),
            Source::Needs(_) => NEED_COLUMNS.to_vec(),
            Source::FundingGaps(by, _) => by
                .iter()
                .map(|d| dimension_column(*d))
                .chain(GAP_COLUMNS.iter().copied())
                .collect(),
        }
    }

    async fn page(&self, after: Option<Id>) -> Result<RowPage> {
        match &self.source {
            Source::Practices(filter) => {
                let records = self.activities(filter, after).await?;
                let next = records.last().map(|r| r.practice.id);
                Ok((records.iter().map(practice_row).collect(), next))
            }
            Source::Funding(filter) => {
                let records = self.activities(filter, after).await?;
                let next = records.last().map(|r| r.practice.id);
                let rows = records
                    .iter()
                    .flat_map(|r| r.funding.iter())
                    .map(|flow| {
                        let f = &flow.funding;
                        vec![
                            f.id.to_string(),
                            opt(&f.practice_id),
                            opt(&f.donor_id),
                            flow.donor
                                .as_ref()
                                .map(|d| text(&d.name))
                                .unwrap_or_default(),
                            f.source_type.to_string(),
                            f.status.to_string(),
                            opt(&f.amount),
                            f.currency.clone(),
                            opt(&f.amount_usd),
                            opt(&f.year),
                            f.confidential.to_string(),
                        ]
                    })
                    .collect();
                Ok((rows, next))
            }
            Source::Needs(filter) => self.needs(filter, after).await,
            Source::FundingGaps(by, filter) => {
                let cells = self
                    .analytics
                    .funding_gaps(&self.actor, by, filter.clone())
                    .await?;
                Ok((cells.iter().map(gap_row).collect(), None))
            }
        }
    }

    async fn activities(
        &self,
        filter: &PracticeFilter,
        after: Option<Id>,
    ) -> Result<Vec<ActivityRecord>> {
        self.exchange
            .activities(&self.actor, filter.clone(), after, EXPORT_PAGE)
            .await
    }

    async fn needs(&self, filter: &NeedFilter, after: Option<Id>) -> Result<RowPage> {
        let page = self
            .catalog
            .needs(
                &self.actor,
                filter.clone(),
                PageRequest {
                    first: EXPORT_PAGE,
                    after,
                },
            )
            .await?;
        let needs: Vec<Need> = page.items;
        let ids: Vec<Id> = needs.iter().map(|n| n.id).collect();
        let tags: BTreeMap<Id, _> = self
            .catalog
            .tags(Tagged::Need, &ids)
            .await?
            .into_iter()
            .collect();
        let city_ids: Vec<Id> = needs.iter().map(|n| n.city_id).collect();
        let cities: BTreeMap<Id, domain::entities::City> = self
            .catalog
            .by_ids::<domain::entities::City>(&self.actor, &city_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let rows = needs
            .iter()
            .map(|n| {
                let city = cities.get(&n.city_id);
                let mut themes = tags
                    .get(&n.id)
                    .map(|t: &domain::entities::Tags| t.themes.clone())
                    .unwrap_or_default();
                themes.sort();
                vec![
                    n.id.to_string(),
                    n.status.to_string(),
                    n.publication.to_string(),
                    text(&n.title),
                    n.city_id.to_string(),
                    city.map(|c| text(&c.name)).unwrap_or_default(),
                    city.map(|c| c.country_code.clone()).unwrap_or_default(),
                    joined(themes),
                    opt(&n.modality),
                    opt(&n.amount_required),
                    opt(&n.amount_required_currency),
                ]
            })
            .collect();
        let next = if page.has_next_page {
            ids.last().copied()
        } else {
            None
        };
        Ok((rows, next))
    }
}

fn practice_row(r: &ActivityRecord) -> Vec<String> {
    let p = &r.practice;
    let mut themes = r.tags.themes.clone();
    themes.sort();
    let mut focus = r.tags.management_focus.clone();
    focus.sort();
    let mut parties = r.tags.cooperating_parties.clone();
    parties.sort();
    let mut countries: Vec<&str> = r
        .participants
        .iter()
        .map(|x| x.city.country_code.as_str())
        .collect();
    countries.sort();
    countries.dedup();
    vec![
        p.id.to_string(),
        p.status.to_string(),
        text(&p.title),
        p.summary.as_deref().map(text).unwrap_or_default(),
        p.orientation.to_string(),
        p.modality.to_string(),
        joined(themes),
        joined(focus),
        joined(parties),
        opt(&p.start_year),
        opt(&p.end_year),
        text(&joined(r.participants.iter().map(|x| x.city.name.clone()))),
        joined(countries),
        opt(&p.amount_required),
        opt(&p.amount_required_currency),
    ]
}

fn gap_row(cell: &FundingGapCell) -> Vec<String> {
    cell.key
        .iter()
        .map(|k| k.value.clone())
        .chain([
            cell.open_needs.to_string(),
            cell.active_practices.to_string(),
            cell.required().to_string(),
            cell.funded().to_string(),
            cell.pledged().to_string(),
            cell.gap().to_string(),
            cell.coverage().map(|c| c.to_string()).unwrap_or_default(),
            cell.scheme_count.to_string(),
            cell.donor_count.to_string(),
            match cell.disclosure {
                domain::analytics::Disclosure::Exact => "EXACT".to_string(),
                domain::analytics::Disclosure::Rounded => "ROUNDED".to_string(),
            },
        ])
        .collect()
}
