//! Direct answers for the nested pages of practices that frontends show: a query whose every
//! field is one listed here is answered by reading its records through the request's loaders,
//! one batch a relation (a page of practices with its cities, schemes and funding at once, see
//! `Catalog::practice_page_along`), and writing its JSON straight from them. The schema's executor resolves
//! each of such a page's thousands of values as a future of its own and builds a tree of values
//! before writing it; on two cores that cost more than PostgreSQL's own work for the page.
//! The report of `schemeOverlaps` is written the same way: its two hundred overlaps' pages of
//! schemes and shared practices are read in one batch each, and writing its answer (some two
//! thousand objects) through the executor cost more than three times its statements and its
//! computation together. A need's `matches` too: its ranked records are read in one batch a
//! kind.
//!
//! Anything this module does not know (another root field or field, an alias asked twice, a
//! directive other than `@skip` and `@include`, a fragment on an interface) makes [`Page::plan`]
//! answer `None`, and anything it cannot write makes [`Page::write`] answer
//! [`Unwritten::Refused`]: the schema then answers the request as it always does, errors
//! included. A read the database fails is answered with its error at the root field
//! ([`Unwritten::Failed`]): the schema would wait on the same database again. The records are those the
//! schema's resolvers read, through the same loaders and with the same visibility;
//! `tests/api/direct.rs` compares both answers byte for byte.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, Field, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{InputType, Name, PathSegment, Pos, Positioned, ServerError, Value, Variables};
use domain::analytics::{self as a, Matchmaking};
use domain::entities as d;
use domain::entities::Id;
use domain::page::PageRequest;
use domain::repository::{Along, Alongside, Nested};
use domain::service::{Catalog, Listing, Tagged};
use domain::{Actor, Error};
use rust_decimal::Decimal;

use super::connection::{FilterInput, held_children, page_request};
use super::donor::DonorFilter;
use super::enums::*;
use super::ids::{Kind, cursor, id, parse_id};
use super::loaders::{
    AppLoader, CityKey, CountryKey, DonorKey, FundingPageKey, ListedFunding, NestedCountKey,
    NestedPageKey, PracticeCitiesKey, PracticeKey, SchemeKey, SchemePageKey, TagsKey,
    listed as listed_funding,
};
use super::practice::PracticeFilter;
use crate::error::ApiError;

/// The object types a direct answer may hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ty {
    PracticeList,
    PracticeEdge,
    Practice,
    /// A practice a funding record names: its own fields, none of its relations (only the root
    /// list's records have theirs read).
    NamedPractice,
    /// A donor a funding record names: its own fields and country, not its funding.
    NamedDonor,
    DonorList,
    DonorEdge,
    Participation,
    City,
    Country,
    SchemeList,
    SchemeEdge,
    Scheme,
    FundingList,
    FundingEdge,
    Funding,
    Donor,
    PageInfo,
    OverlapReport,
    Overlap,
    Unsupported,
    /// The practices an overlap's schemes share: their own fields, none of their relations.
    SharedList,
    SharedEdge,
    Matches,
    PracticeMatch,
    CityMatch,
    SchemeMatch,
    DonorMatch,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::PracticeList | Ty::SharedList => "PracticeConnection",
            Ty::PracticeEdge | Ty::SharedEdge => "PracticeEdge",
            Ty::Practice | Ty::NamedPractice => "Practice",
            Ty::DonorList => "DonorConnection",
            Ty::DonorEdge => "DonorEdge",
            Ty::Participation => "Participation",
            Ty::City => "City",
            Ty::Country => "Country",
            Ty::SchemeList => "SupportSchemeConnection",
            Ty::SchemeEdge => "SupportSchemeEdge",
            Ty::Scheme => "SupportScheme",
            Ty::FundingList => "FundingConnection",
            Ty::FundingEdge => "FundingEdge",
            Ty::Funding => "Funding",
            Ty::Donor | Ty::NamedDonor => "Donor",
            Ty::PageInfo => "PageInfo",
            Ty::OverlapReport => "SchemeOverlapReport",
            Ty::Overlap => "SchemeOverlap",
            Ty::Unsupported => "UnsupportedCell",
            Ty::Matches => "NeedMatches",
            Ty::PracticeMatch => "PracticeMatch",
            Ty::CityMatch => "CityMatch",
            Ty::SchemeMatch => "SchemeMatch",
            Ty::DonorMatch => "DonorMatch",
        }
    }

    /// What field `name` of this type is: `Some(None)` a value, `Some(Some(ty))` an object or a
    /// list of objects of type `ty`, `None` a field this module does not answer.
    fn field(self, name: &str) -> Option<Option<Ty>> {
        let object = |ty| Some(Some(ty));
        let value = Some(None);
        let list = matches!(
            self,
            Ty::PracticeList | Ty::SchemeList | Ty::FundingList | Ty::DonorList | Ty::SharedList
        );
        let edge = matches!(
            self,
            Ty::PracticeEdge | Ty::SchemeEdge | Ty::FundingEdge | Ty::DonorEdge | Ty::SharedEdge
        );
        let practice = matches!(self, Ty::Practice | Ty::NamedPractice);
        match (self, name) {
            (_, "__typename") => value,
            (Ty::PracticeList, "nodes") => object(Ty::Practice),
            (Ty::PracticeList, "edges") => object(Ty::PracticeEdge),
            (Ty::PracticeEdge, "node") => object(Ty::Practice),
            (Ty::SchemeList, "nodes") => object(Ty::Scheme),
            (Ty::SchemeList, "edges") => object(Ty::SchemeEdge),
            (Ty::SchemeEdge, "node") => object(Ty::Scheme),
            (Ty::FundingList, "nodes") => object(Ty::Funding),
            (Ty::FundingList, "edges") => object(Ty::FundingEdge),
            (Ty::FundingEdge, "node") => object(Ty::Funding),
            (Ty::DonorList, "nodes") => object(Ty::Donor),
            (Ty::DonorList, "edges") => object(Ty::DonorEdge),
            (Ty::DonorEdge, "node") => object(Ty::Donor),
            (Ty::SharedList, "nodes") => object(Ty::NamedPractice),
            (Ty::SharedList, "edges") => object(Ty::SharedEdge),
            (Ty::SharedEdge, "node") => object(Ty::NamedPractice),
            (Ty::OverlapReport, "overlaps") => object(Ty::Overlap),
            (Ty::OverlapReport, "unsupported") => object(Ty::Unsupported),
            (Ty::Overlap, "theme" | "orientation" | "supportModality") => value,
            (Ty::Overlap, "schemes") => object(Ty::SchemeList),
            (Ty::Overlap, "sharedPractices") => object(Ty::SharedList),
            (Ty::Unsupported, "theme" | "orientation" | "practices") => value,
            (Ty::Matches, "practices") => object(Ty::PracticeMatch),
            (Ty::Matches, "cities") => object(Ty::CityMatch),
            (Ty::Matches, "schemes") => object(Ty::SchemeMatch),
            (Ty::Matches, "donors") => object(Ty::DonorMatch),
            (
                Ty::PracticeMatch | Ty::CityMatch | Ty::SchemeMatch | Ty::DonorMatch,
                "score" | "reasons",
            ) => value,
            (Ty::PracticeMatch, "practice") => object(Ty::NamedPractice),
            (Ty::CityMatch, "city") => object(Ty::City),
            (Ty::SchemeMatch, "scheme") => object(Ty::Scheme),
            (Ty::DonorMatch, "donor") => object(Ty::NamedDonor),
            (_, "pageInfo") if list => object(Ty::PageInfo),
            (_, "totalCount") if list => value,
            (_, "cursor") if edge => value,
            (Ty::PageInfo, "hasNextPage" | "hasPreviousPage" | "startCursor" | "endCursor") => {
                value
            }
            (Ty::Practice, "cities") => object(Ty::City),
            (Ty::Practice, "participants") => object(Ty::Participation),
            (Ty::Practice, "schemes") => object(Ty::SchemeList),
            (Ty::Practice, "funding") => object(Ty::FundingList),
            (Ty::Practice, "themes" | "managementFocus" | "cooperatingParties") => value,
            (
                _,
                "id"
                | "version"
                | "status"
                | "title"
                | "summary"
                | "context"
                | "outcomes"
                | "issues"
                | "source"
                | "startYear"
                | "endYear"
                | "orientation"
                | "modality"
                | "amountRequired"
                | "amountRequiredCurrency",
            ) if practice => value,
            (Ty::Participation, "role") => value,
            (Ty::Participation, "city") => object(Ty::City),
            (Ty::City, "country") => object(Ty::Country),
            (
                Ty::City,
                "id" | "version" | "name" | "kind" | "population" | "latitude" | "longitude",
            ) => value,
            (Ty::Country, "code" | "alpha3" | "name" | "bloc" | "ldc") => value,
            (
                Ty::Scheme,
                "id"
                | "version"
                | "status"
                | "name"
                | "description"
                | "source"
                | "startYear"
                | "endYear"
                | "budget"
                | "budgetCurrency"
                | "openForApplications",
            ) => value,
            (Ty::Funding, "donor") => object(Ty::NamedDonor),
            (Ty::Funding, "practice") => object(Ty::NamedPractice),
            (
                Ty::Funding,
                "id" | "version" | "amount" | "currency" | "rate" | "rateSource" | "amountUsd"
                | "year" | "status" | "sourceType" | "confidential" | "sourceName" | "note",
            ) => value,
            (
                Ty::Donor | Ty::NamedDonor,
                "id" | "version" | "name" | "acronym" | "kind" | "description",
            ) => value,
            (Ty::Donor | Ty::NamedDonor, "country") => object(Ty::Country),
            (Ty::Donor, "funding") => object(Ty::FundingList),
            _ => None,
        }
    }

    /// The arguments field `name` of this type takes.
    fn arguments(self, name: &str) -> &'static [&'static str] {
        match (self, name) {
            (Ty::Practice, "schemes" | "funding")
            | (Ty::Donor, "funding")
            | (Ty::Overlap, "schemes" | "sharedPractices") => &["first", "after"],
            _ => &[],
        }
    }
}

/// One field of a selection, its own selection planned.
#[derive(Debug)]
struct Node {
    key: Name,
    name: Name,
    /// The page a nested list asks for.
    page: Option<PageRequest>,
    children: Vec<Node>,
}

/// A query answered directly: a root field, its arguments and what it selects.
pub struct Page {
    key: Name,
    /// Where the root field is in the document, for an error reported at it.
    pos: Pos,
    root: Root,
    children: Vec<Node>,
}

/// The root fields answered directly: the lists with their filters and page, the report of
/// overlaps among schemes, and the matches of a need (its id and how many of each kind).
enum Root {
    Practices(PracticeFilter, PageRequest),
    Donors(DonorFilter, PageRequest),
    Overlaps,
    Matches(Id, Option<i32>),
}

/// Reads a document's selections with the request's variables.
struct Reader<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
}

impl<'a> Reader<'a> {
    /// Whether `@skip` and `@include` keep a selection; `None` for another directive.
    fn included(&self, directives: &[Positioned<Directive>]) -> Option<bool> {
        let mut kept = true;
        for directive in directives {
            let condition = (directive.node.get_argument("if")?.node.clone())
                .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                .ok()?;
            let Value::Boolean(condition) = condition else {
                return None;
            };
            match directive.node.name.node.as_str() {
                "skip" => kept &= !condition,
                "include" => kept &= condition,
                _ => return None,
            }
        }
        Some(kept)
    }

    /// A field's argument with the variables put in: `Some(None)` when not given, `None` when a
    /// variable it names is not given.
    fn argument(&self, field: &Field, name: &str) -> Option<Option<Value>> {
        match field.get_argument(name) {
            Some(value) => (value.node.clone())
                .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                .ok()
                .map(Some),
            None => Some(None),
        }
    }

    /// The fields `set` selects on an object of type `ty`, fragments spread in their place.
    fn fields(&self, set: &'a SelectionSet, ty: Ty, into: &mut Vec<&'a Field>) -> Option<()> {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    if !self.included(&field.node.directives)? {
                        continue;
                    }
                    let key = field.node.response_key();
                    // Asked twice, a key's selections would have to be merged: left to the schema.
                    if into.iter().any(|f| f.response_key().node == key.node) {
                        return None;
                    }
                    into.push(&field.node);
                }
                Selection::FragmentSpread(spread) => {
                    if !self.included(&spread.node.directives)? {
                        continue;
                    }
                    let fragment = self
                        .document
                        .fragments
                        .get(&spread.node.fragment_name.node)?;
                    if fragment.node.type_condition.node.on.node != ty.name()
                        || !self.included(&fragment.node.directives)?
                    {
                        return None;
                    }
                    self.fields(&fragment.node.selection_set.node, ty, into)?;
                }
                Selection::InlineFragment(inline) => {
                    if !self.included(&inline.node.directives)? {
                        continue;
                    }
                    if let Some(condition) = &inline.node.type_condition
                        && condition.node.on.node != ty.name()
                    {
                        return None;
                    }
                    self.fields(&inline.node.selection_set.node, ty, into)?;
                }
            }
        }
        Some(())
    }

    /// The plan of the selection `set` on an object of type `ty`.
    fn plan(&self, set: &'a SelectionSet, ty: Ty, depth: usize) -> Option<Vec<Node>> {
        // The types nest eight deep at most (a root list's edge, its record, a funding page, its
        // edge, a record, its donor, the donor's country); a fragment spread in itself is
        // refused by validation before it gets here.
        if depth > 8 {
            return None;
        }
        let mut fields = Vec::new();
        self.fields(set, ty, &mut fields)?;
        let mut nodes = Vec::with_capacity(fields.len());
        for field in fields {
            let name = &field.name.node;
            let child = ty.field(name)?;
            let allowed = ty.arguments(name);
            if field
                .arguments
                .iter()
                .any(|(arg, _)| !allowed.contains(&arg.node.as_str()))
            {
                return None;
            }
            let page = if allowed.is_empty() {
                None
            } else {
                Some(self.page(field)?)
            };
            let children = match child {
                Some(child) => self.plan(&field.selection_set.node, child, depth + 1)?,
                None if field.selection_set.node.items.is_empty() => Vec::new(),
                None => return None,
            };
            nodes.push(Node {
                key: field.response_key().node.clone(),
                name: name.clone(),
                page,
                children,
            });
        }
        Some(nodes)
    }

    /// The page `first` and `after` ask for; `None` when the schema would refuse them.
    fn page(&self, field: &Field) -> Option<PageRequest> {
        let first = Option::<i32>::parse(self.argument(field, "first")?).ok()?;
        let after = Option::<String>::parse(self.argument(field, "after")?).ok()?;
        page_request(first, after).ok()
    }
}

impl Page {
    /// The direct answer's plan of the operation the request runs, or `None` when the schema
    /// is to answer it.
    pub fn plan(
        document: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Option<Page> {
        let operation = match (&document.operations, operation_name) {
            (DocumentOperations::Single(op), _) => op,
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
            (DocumentOperations::Multiple(_), None) => return None,
        };
        if operation.node.ty != OperationType::Query || !operation.node.directives.is_empty() {
            return None;
        }
        // Variables the request leaves out take the operation's defaults, else null (validation
        // refused the request if the variable may not be null).
        let mut given = variables.clone();
        for definition in &operation.node.variable_definitions {
            let name = &definition.node.name.node;
            if !given.contains_key(name) {
                let default = definition.node.default_value.as_ref();
                let value = default.map_or(Value::Null, |d| d.node.clone());
                given.insert(name.clone(), value);
            }
        }
        let reader = Reader {
            document,
            variables: &given,
        };
        let mut roots = Vec::new();
        for item in &operation.node.selection_set.node.items {
            let Selection::Field(field) = &item.node else {
                return None;
            };
            if reader.included(&field.node.directives)? {
                roots.push(&field.node);
            }
        }
        let [root] = roots.as_slice() else {
            return None;
        };
        let name = root.name.node.as_str();
        let known: &[&str] = match name {
            "practices" | "donors" => &["filter", "first", "after"],
            "matches" => &["needId", "first"],
            _ => &[],
        };
        if (root.arguments.iter()).any(|(name, _)| !known.contains(&name.node.as_str())) {
            return None;
        }
        let (root_field, ty) = match name {
            "practices" | "donors" => {
                let filter = reader.argument(root, "filter")?;
                let first = Option::<i32>::parse(reader.argument(root, "first")?).ok()?;
                let after = Option::<String>::parse(reader.argument(root, "after")?).ok()?;
                let page = page_request(first, after).ok()?;
                if name == "practices" {
                    let filter = Option::parse(filter).ok()?.unwrap_or_default();
                    (Root::Practices(filter, page), Ty::PracticeList)
                } else {
                    let filter = Option::parse(filter).ok()?.unwrap_or_default();
                    (Root::Donors(filter, page), Ty::DonorList)
                }
            }
            "schemeOverlaps" => (Root::Overlaps, Ty::OverlapReport),
            "matches" => {
                let need = async_graphql::ID::parse(reader.argument(root, "needId")?).ok()?;
                let need = parse_id(Kind::Need, "needId", &need).ok()?;
                let first = Option::<i32>::parse(reader.argument(root, "first")?).ok()?;
                (Root::Matches(need, first), Ty::Matches)
            }
            _ => return None,
        };
        Some(Page {
            key: root.response_key().node.clone(),
            pos: root.name.pos,
            root: root_field,
            children: reader.plan(&root.selection_set.node, ty, 1)?,
        })
    }

    /// Reads the page's records as `actor` and writes the whole JSON response.
    pub async fn write(
        self,
        catalog: &Catalog,
        matchmaking: &Matchmaking,
        actor: &Actor,
    ) -> Result<Vec<u8>, Unwritten> {
        let (key, pos) = (self.key.clone(), self.pos);
        (self.written(catalog, matchmaking, actor).await).map_err(|e| match e {
            // The schema would wait on the same database: the error is reported at the root
            // field rather than met a second time.
            Unwritten::Failed(Read(e @ (Error::Unavailable(_) | Error::Internal(_)))) => {
                let mut error = async_graphql::Error::from(ApiError(e)).into_server_error(pos);
                error.path = vec![PathSegment::Field(key.to_string())];
                Unwritten::Failed(error)
            }
            _ => Unwritten::Refused,
        })
    }

    async fn written(
        self,
        catalog: &Catalog,
        matchmaking: &Matchmaking,
        actor: &Actor,
    ) -> Result<Vec<u8>, Unwritten<Read>> {
        let loader = AppLoader::new(catalog.clone(), actor.clone());
        let total = self.children.iter().any(|n| n.name == "totalCount");
        let mut out = Vec::with_capacity(16 * 1024);
        out.extend_from_slice(b"{\"data\":{\"");
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(b"\":");
        match self.root {
            Root::Practices(filter, page) => {
                let filter = filter.into_domain().map_err(|_| Unwritten::Refused)?;
                let mut needs = Needs::of_all(Ty::PracticeList, &self.children);
                // The page's own relations are read with the page (see
                // `Catalog::practice_page_along`), the rest after it.
                let along = needs.along();
                let count = async {
                    match total {
                        true => catalog.count(actor, filter.clone()).await.map(Some),
                        false => Ok(None),
                    }
                };
                let read = catalog.practice_page_along(actor, filter.clone(), page, &along);
                let (read, total) = tokio::join!(read, count);
                let ((page, alongside), total) = (read?, total?);
                let roots = Roots {
                    practices: &page.items,
                    donors: &[],
                };
                let found = Found::along(&page.items, &along, alongside);
                let found = needs.read(&loader, &roots, found).await?;
                let writer = Writer { found: &found };
                let list = List::of(&page, |p| p.id, total);
                let practices = &page.items;
                let ty = Ty::PracticeList;
                (writer.list(&mut out, &self.children, ty, &list, |out, nodes, i| {
                    writer.practice(out, nodes, &practices[i])
                }))?;
            }
            Root::Donors(filter, page) => {
                let filter = filter.into_domain().map_err(|_| Unwritten::Refused)?;
                let (page, total) = listed(catalog, actor, filter, page, total).await?;
                let roots = Roots {
                    practices: &[],
                    donors: &page.items,
                };
                let found = Needs::of_all(Ty::DonorList, &self.children)
                    .read(&loader, &roots, Found::default())
                    .await?;
                let writer = Writer { found: &found };
                let list = List::of(&page, |d| d.id, total);
                let donors = &page.items;
                (writer.list(
                    &mut out,
                    &self.children,
                    Ty::DonorList,
                    &list,
                    |out, nodes, i| writer.donor(out, nodes, &donors[i]),
                ))?;
            }
            Root::Overlaps => {
                let report = matchmaking.scheme_overlaps().await?;
                let found = Found::of_overlaps(&loader, &self.children, &report).await?;
                let writer = Writer { found: &found };
                writer.overlap_report(&mut out, &self.children, &report)?;
            }
            Root::Matches(need, first) => {
                let matches = matchmaking.matches(actor, need, first).await?;
                let found = Found::of_matches(&loader, &self.children, &matches).await?;
                let writer = Writer { found: &found };
                writer.need_matches(&mut out, &self.children, &matches)?;
            }
        }
        out.extend_from_slice(b"}}");
        Ok(out)
    }
}

/// Why a page was not written: `Refused`, the schema is to answer the request; `Failed`, the
/// answer is this error.
pub enum Unwritten<E = ServerError> {
    Refused,
    Failed(E),
}

/// A read that failed.
struct Read(Error);

impl From<Error> for Unwritten<Read> {
    fn from(e: Error) -> Self {
        Unwritten::Failed(Read(e))
    }
}

impl<E> From<Refused> for Unwritten<E> {
    fn from(_: Refused) -> Self {
        Unwritten::Refused
    }
}

/// A page of a root list, and its count when asked.
async fn listed<F: Listing>(
    catalog: &Catalog,
    actor: &Actor,
    filter: F,
    page: PageRequest,
    total: bool,
) -> Result<(domain::page::Page<F::Item>, Option<i64>), Error> {
    let count = async {
        if total {
            catalog.count(actor, filter.clone()).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (listed, count) = tokio::join!(catalog.list(actor, filter.clone(), page), count);
    Ok((listed?, count?))
}

/// The records of the root list: the parents of the first level's relations.
struct Roots<'a> {
    practices: &'a [d::Practice],
    donors: &'a [d::Donor],
}

/// A page of a parent's nested list: what it lists and the page asked.
type PageOf = (Nested, u64, Option<Id>);

/// What the selections need read beyond the root list.
#[derive(Default)]
struct Needs {
    tags: bool,
    cities: bool,
    countries: bool,
    donors: bool,
    practices: bool,
    scheme_pages: HashSet<PageOf>,
    funding_pages: HashSet<PageOf>,
    counts: HashSet<Nested>,
}

/// What was read for the root list.
#[derive(Default)]
struct Found {
    tags: HashMap<TagsKey, d::Tags>,
    cities: HashMap<PracticeCitiesKey, Vec<(d::PracticeCity, Arc<d::City>)>>,
    countries: HashMap<CountryKey, Arc<d::Country>>,
    schemes: HashMap<SchemePageKey, Vec<Arc<d::SupportScheme>>>,
    funding: HashMap<FundingPageKey, Vec<ListedFunding>>,
    counts: HashMap<NestedCountKey, i64>,
    donors: HashMap<DonorKey, Arc<d::Donor>>,
    practices: HashMap<PracticeKey, Arc<d::Practice>>,
    /// Schemes by id: those the overlaps of `schemeOverlaps` show, or a need's matches.
    schemes_by_id: HashMap<SchemeKey, Arc<d::SupportScheme>>,
    /// Cities by id: those of a need's matches.
    cities_by_id: HashMap<CityKey, Arc<d::City>>,
}

/// The nested list a field of a parent of type `ty` is, if it is one.
fn nested_of(ty: Ty, name: &str) -> Option<Nested> {
    match (ty, name) {
        (Ty::Practice, "schemes") => Some(Nested::PracticeSchemes),
        (Ty::Practice, "funding") => Some(Nested::PracticeFunding),
        (Ty::Donor, "funding") => Some(Nested::DonorFunding),
        _ => None,
    }
}

fn page_key(nested: Nested, parent: Id, page: PageRequest) -> NestedPageKey {
    NestedPageKey {
        nested,
        parent,
        first: page.first,
        after: page.after,
    }
}

impl Needs {
    fn of_all(ty: Ty, nodes: &[Node]) -> Needs {
        let mut needs = Needs::default();
        for node in nodes {
            needs.of(ty, node);
        }
        needs
    }

    fn of(&mut self, ty: Ty, node: &Node) {
        if ty == Ty::Practice
            && matches!(
                node.name.as_str(),
                "themes" | "managementFocus" | "cooperatingParties"
            )
        {
            self.tags = true;
        }
        let Some(Some(child)) = ty.field(&node.name) else {
            return;
        };
        match (ty, child) {
            (Ty::Practice, Ty::City | Ty::Participation) => self.cities = true,
            (_, Ty::Country) => self.countries = true,
            (Ty::Funding, Ty::NamedDonor) => self.donors = true,
            (Ty::Funding, Ty::NamedPractice) => self.practices = true,
            _ => {}
        }
        if let Some(nested) = nested_of(ty, &node.name) {
            if node.children.iter().any(|n| n.name == "totalCount") {
                self.counts.insert(nested);
            }
            // A page's records are read when anything but its count is asked.
            if let Some(page) = node.page
                && node.children.iter().any(|n| n.name != "totalCount")
            {
                let pages = if child == Ty::SchemeList {
                    &mut self.scheme_pages
                } else {
                    &mut self.funding_pages
                };
                pages.insert((nested, page.first, page.after));
            }
        }
        for grandchild in &node.children {
            self.of(child, grandchild);
        }
    }

    /// What can be read with a page of practices itself, taken out of what is left to read:
    /// the practices' cities, and one page of their schemes and of their funding.
    fn along(&mut self) -> Along {
        Along {
            participants: std::mem::take(&mut self.cities),
            schemes: one_page(&mut self.scheme_pages, Nested::PracticeSchemes),
            funding: one_page(&mut self.funding_pages, Nested::PracticeFunding),
        }
    }

    /// Reads what the page needs beyond what was `found` already, each relation in one batch:
    /// those of the root records at once, then the records their rows name.
    async fn read(
        &self,
        loader: &AppLoader,
        roots: &Roots<'_>,
        mut found: Found,
    ) -> Result<Found, Error> {
        let practices: Vec<Id> = roots.practices.iter().map(|p| p.id).collect();
        let donors: Vec<Id> = roots.donors.iter().map(|d| d.id).collect();
        let parents = |nested: Nested| match nested {
            Nested::DonorFunding => &donors,
            _ => &practices,
        };
        let pages = |set: &HashSet<PageOf>| {
            let mut keys = Vec::new();
            for &(nested, first, after) in set {
                let page = PageRequest { first, after };
                keys.extend(parents(nested).iter().map(|&p| page_key(nested, p, page)));
            }
            keys
        };
        let tags = async {
            let keys: Vec<TagsKey> = (practices.iter())
                .map(|&i| TagsKey(Tagged::Practice, i))
                .collect();
            load(loader, self.tags, &keys).await
        };
        let cities = async {
            let keys: Vec<PracticeCitiesKey> =
                practices.iter().map(|&i| PracticeCitiesKey(i)).collect();
            load(loader, self.cities, &keys).await
        };
        let schemes = async {
            let keys: Vec<SchemePageKey> = pages(&self.scheme_pages)
                .into_iter()
                .map(SchemePageKey)
                .collect();
            load(loader, true, &keys).await
        };
        let funding = async {
            let keys: Vec<FundingPageKey> = pages(&self.funding_pages)
                .into_iter()
                .map(FundingPageKey)
                .collect();
            load(loader, true, &keys).await
        };
        let counts = async {
            let mut keys = Vec::new();
            for &nested in &self.counts {
                keys.extend(parents(nested).iter().map(|&i| NestedCountKey(nested, i)));
            }
            load(loader, true, &keys).await
        };
        // Each batch runs until its statement is sent and its first read would wait, in this
        // order: the page's longest statement (its funding, with every parent's records and
        // their donors) goes to the database first instead of waiting for the others to be
        // built and sent, and the shorter ones' rows are decoded while it runs.
        let (funding, cities, schemes, tags, counts) =
            tokio::try_join!(funding, cities, schemes, tags, counts)?;
        found.tags = tags;
        found.counts = counts;
        found.cities.extend(cities);
        found.schemes.extend(schemes);
        found.funding.extend(funding);
        // The records a page of funding names but did not read with it (see `Funding::donor`
        // and `Funding::practice`).
        let listed = || found.funding.values().flatten();
        let donors = async {
            let ids: HashSet<Id> = listed()
                .filter(|(_, named)| named.donor.is_none())
                .filter_map(|(record, _)| record.donor_id)
                .collect();
            let keys: Vec<DonorKey> = ids.into_iter().map(DonorKey).collect();
            load(loader, self.donors, &keys).await
        };
        let named = async {
            let ids: HashSet<Id> = listed()
                .filter(|(_, named)| named.practice.is_none())
                .filter_map(|(record, _)| record.practice_id)
                .collect();
            let keys: Vec<PracticeKey> = ids.into_iter().map(PracticeKey).collect();
            load(loader, self.practices, &keys).await
        };
        let (donors, named) = tokio::try_join!(donors, named)?;
        found.donors = donors;
        found.practices = named;
        // Countries are reference data the catalog keeps: no statement.
        let mut codes: HashSet<&str> = HashSet::new();
        codes.extend((found.cities.values().flatten()).map(|(_, c)| c.country_code.as_str()));
        let donors_named = listed().filter_map(|(_, named)| named.donor.as_deref());
        for donor in (roots.donors.iter())
            .chain(donors_named)
            .chain(found.donors.values().map(|d| &**d))
        {
            codes.extend(donor.country_code.as_deref());
        }
        let keys: Vec<CountryKey> = codes.into_iter().map(|c| CountryKey(c.into())).collect();
        found.countries = load(loader, self.countries, &keys).await?;
        Ok(found)
    }
}

/// The one page `pages` asks of `nested`, taken out of it; `None` when it asks another list or
/// several pages.
fn one_page(pages: &mut HashSet<PageOf>, nested: Nested) -> Option<PageRequest> {
    let mut asked = pages.iter();
    let (Some(&(of, first, after)), None) = (asked.next(), asked.next()) else {
        return None;
    };
    (of == nested).then(|| {
        pages.clear();
        PageRequest { first, after }
    })
}

impl Found {
    /// What was read with a page of `practices`, by the keys the loaders answer, each practice
    /// present as in a loader's batch.
    fn along(practices: &[d::Practice], along: &Along, read: Alongside) -> Found {
        let ids = || practices.iter().map(|p| p.id);
        let mut found = Found::default();
        if along.participants {
            let rows = (read.participants.into_iter())
                .map(|(link, city)| (link.practice_id, (link, Arc::new(city))));
            found.cities = keyed(ids(), PracticeCitiesKey, rows);
        }
        if let Some(page) = along.schemes {
            let key = |p| SchemePageKey(page_key(Nested::PracticeSchemes, p, page));
            let rows = (read.schemes.into_iter()).map(|(p, s)| (p, Arc::new(s)));
            found.schemes = keyed(ids(), key, rows);
        }
        if let Some(page) = along.funding {
            let key = |p| FundingPageKey(page_key(Nested::PracticeFunding, p, page));
            found.funding = keyed(ids(), key, read.funding.into_iter().map(listed_funding));
        }
        found
    }
}

/// The ids an overlap's list named `name` holds.
fn overlap_list<'r>(overlap: &'r a::SchemeOverlap, name: &str) -> Option<&'r [Id]> {
    match name {
        "schemes" => Some(&overlap.scheme_ids),
        "sharedPractices" => Some(&overlap.shared_practice_ids),
        _ => None,
    }
}

/// The ids of the page `page` of a list held in full, as the schema shows it (see
/// `held_page`), and whether more follow and how many there are in all.
fn held_list(ids: &[Id], page: PageRequest) -> (Vec<Id>, bool, usize) {
    let (mut shown, total) = held_children(ids, &page);
    let has_next_page = shown.len() as u64 > page.first;
    shown.truncate(page.first as usize);
    (shown, has_next_page, total)
}

impl Found {
    /// The schemes and practices the pages of the overlaps' lists show, each kind in one batch
    /// for every overlap (a list whose count alone is asked reads none).
    async fn of_overlaps(
        loader: &AppLoader,
        nodes: &[Node],
        report: &a::OverlapReport,
    ) -> Result<Found, Error> {
        let mut schemes = HashSet::new();
        let mut practices = HashSet::new();
        for node in nodes.iter().filter(|n| n.name == "overlaps") {
            for list in &node.children {
                let Some(page) = list.page else { continue };
                if list.children.iter().all(|n| n.name == "totalCount") {
                    continue;
                }
                let into = match list.name.as_str() {
                    "schemes" => &mut schemes,
                    _ => &mut practices,
                };
                for overlap in &report.overlaps {
                    let ids = overlap_list(overlap, &list.name).unwrap_or_default();
                    into.extend(held_list(ids, page).0);
                }
            }
        }
        let schemes: Vec<SchemeKey> = schemes.into_iter().map(SchemeKey).collect();
        let practices: Vec<PracticeKey> = practices.into_iter().map(PracticeKey).collect();
        let (schemes_by_id, practices) = tokio::try_join!(
            load_batches(loader, &schemes),
            load_batches(loader, &practices)
        )?;
        Ok(Found {
            schemes_by_id,
            practices,
            ..Found::default()
        })
    }
}

/// Whether `nodes` select field `field` of the items of their list `list`.
fn selects(nodes: &[Node], list: &str, field: &str) -> bool {
    (nodes.iter())
        .filter(|n| n.name == list)
        .any(|n| n.children.iter().any(|c| c.name == field))
}

impl Found {
    /// The records a need's matches name, each kind in one batch, when selected, and the
    /// countries of those cities and donors.
    async fn of_matches(
        loader: &AppLoader,
        nodes: &[Node],
        m: &a::NeedMatches,
    ) -> Result<Found, Error> {
        fn keys<K>(list: &[a::Match], key: fn(Id) -> K) -> Vec<K> {
            list.iter().map(|m| key(m.id)).collect()
        }
        let practices = keys(&m.practices, PracticeKey);
        let cities = keys(&m.cities, CityKey);
        let schemes = keys(&m.schemes, SchemeKey);
        let donors = keys(&m.donors, DonorKey);
        let (practices, cities_by_id, schemes_by_id, donors) = tokio::try_join!(
            load(loader, selects(nodes, "practices", "practice"), &practices),
            load(loader, selects(nodes, "cities", "city"), &cities),
            load(loader, selects(nodes, "schemes", "scheme"), &schemes),
            load(loader, selects(nodes, "donors", "donor"), &donors),
        )?;
        // Countries are reference data the catalog keeps: no statement.
        let mut codes: HashSet<&str> = HashSet::new();
        codes.extend(cities_by_id.values().map(|c| c.country_code.as_str()));
        codes.extend(donors.values().filter_map(|d| d.country_code.as_deref()));
        let codes: Vec<CountryKey> = codes.into_iter().map(|c| CountryKey(c.into())).collect();
        let countries = load(loader, true, &codes).await?;
        Ok(Found {
            practices,
            cities_by_id,
            schemes_by_id,
            donors,
            countries,
            ..Found::default()
        })
    }
}

/// Rows by their parent's key, in the order read, every parent present.
fn keyed<K: std::hash::Hash + Eq, V>(
    parents: impl Iterator<Item = Id>,
    key: impl Fn(Id) -> K,
    rows: impl IntoIterator<Item = (Id, V)>,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = parents.map(|p| (key(p), Vec::new())).collect();
    for (parent, row) in rows {
        if let Some(list) = map.get_mut(&key(parent)) {
            list.push(row);
        }
    }
    map
}

/// One batch of a loader, straight (a direct answer gathers its keys itself); nothing when
/// `wanted` is false.
async fn load<K, V>(loader: &AppLoader, wanted: bool, keys: &[K]) -> Result<HashMap<K, V>, Error>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    AppLoader: Loader<K, Value = V, Error = Error>,
{
    if !wanted || keys.is_empty() {
        return Ok(HashMap::new());
    }
    loader.load(keys).await
}

/// Records by key in batches of the size the request's loaders read at most, so that one
/// statement never names more ids than the schema's answer would.
async fn load_batches<K, V>(loader: &AppLoader, keys: &[K]) -> Result<HashMap<K, V>, Error>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    AppLoader: Loader<K, Value = V, Error = Error>,
{
    let batches = keys.chunks(LOADER_BATCH).map(|k| load(loader, true, k));
    let read = futures_util::future::try_join_all(batches).await?;
    Ok(read.into_iter().flatten().collect())
}

/// async-graphql's `DataLoader` default largest batch.
const LOADER_BATCH: usize = 1000;

/// A page of a list as its connection shows it.
struct List {
    ids: Vec<Id>,
    has_next_page: bool,
    total: Option<i64>,
}

impl List {
    fn of<T>(page: &domain::page::Page<T>, id: fn(&T) -> Id, total: Option<i64>) -> List {
        List {
            ids: page.items.iter().map(id).collect(),
            has_next_page: page.has_next_page,
            total,
        }
    }
}

/// Something the answer cannot hold as the schema would write it: left to the schema.
struct Refused;

type Written = Result<(), Refused>;

struct Writer<'a> {
    found: &'a Found,
}

/// An object of type `ty` with the fields `nodes` select, `field` writing each one's value
/// (`__typename` written here).
fn object(
    out: &mut Vec<u8>,
    nodes: &[Node],
    ty: &str,
    mut field: impl FnMut(&mut Vec<u8>, &Node) -> Written,
) -> Written {
    out.push(b'{');
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Response keys are GraphQL names: nothing to escape.
        out.push(b'"');
        out.extend_from_slice(node.key.as_bytes());
        out.extend_from_slice(b"\":");
        if node.name == "__typename" {
            string(out, ty);
        } else {
            field(out, node)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// A list of `len` items, `item` writing the `i`th.
fn array(
    out: &mut Vec<u8>,
    len: usize,
    mut item: impl FnMut(&mut Vec<u8>, usize) -> Written,
) -> Written {
    out.push(b'[');
    for i in 0..len {
        if i > 0 {
            out.push(b',');
        }
        item(out, i)?;
    }
    out.push(b']');
    Ok(())
}

fn string(out: &mut Vec<u8>, s: &str) {
    // Writing to a vector cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn number(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    let _ = write!(out, "{n}");
}

fn opt_number(out: &mut Vec<u8>, n: Option<impl std::fmt::Display>) {
    match n {
        Some(n) => number(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// A decimal as the schema's `Decimal` scalar writes it: a string.
fn decimal(out: &mut Vec<u8>, d: Option<Decimal>) {
    match d {
        Some(d) => string(out, &d.to_string()),
        None => out.extend_from_slice(b"null"),
    }
}

/// A float as the schema writes it: a JSON number, `null` when not finite.
fn float(out: &mut Vec<u8>, f: Option<f64>) {
    match f.and_then(serde_json::Number::from_f64) {
        Some(n) => {
            let _ = serde_json::to_writer(&mut *out, &n);
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// An enum value by its name in the schema.
fn name_of<E: InputType>(out: &mut Vec<u8>, value: E) -> Written {
    match value.to_value() {
        Value::Enum(name) => {
            string(out, name.as_str());
            Ok(())
        }
        _ => Err(Refused),
    }
}

fn names_of<A: Copy, B: From<A> + InputType>(out: &mut Vec<u8>, values: &[A]) -> Written {
    array(out, values.len(), |out, i| name_of(out, B::from(values[i])))
}

fn global(out: &mut Vec<u8>, kind: Kind, value: Id) {
    string(out, id(kind, value).as_str());
}

impl Writer<'_> {
    /// A connection: `item(out, nodes, i)` writes the `i`th node.
    fn list(
        &self,
        out: &mut Vec<u8>,
        nodes: &[Node],
        ty: Ty,
        list: &List,
        item: impl Fn(&mut Vec<u8>, &[Node], usize) -> Written,
    ) -> Written {
        let edge = match ty {
            Ty::PracticeList => Ty::PracticeEdge,
            Ty::SchemeList => Ty::SchemeEdge,
            Ty::DonorList => Ty::DonorEdge,
            Ty::SharedList => Ty::SharedEdge,
            _ => Ty::FundingEdge,
        };
        let cursor_at = |at: Option<&Id>| at.map(|&i| cursor(i));
        object(out, nodes, ty.name(), |out, node| {
            match node.name.as_str() {
                "nodes" => array(out, list.ids.len(), |out, i| item(out, &node.children, i))?,
                "edges" => array(out, list.ids.len(), |out, i| {
                    object(out, &node.children, edge.name(), |out, field| {
                        match field.name.as_str() {
                            "cursor" => string(out, &cursor(list.ids[i])),
                            "node" => item(out, &field.children, i)?,
                            _ => return Err(Refused),
                        }
                        Ok(())
                    })
                })?,
                "pageInfo" => object(out, &node.children, Ty::PageInfo.name(), |out, field| {
                    match field.name.as_str() {
                        "hasNextPage" => boolean(out, list.has_next_page),
                        "hasPreviousPage" => boolean(out, false),
                        "startCursor" => opt_string(out, cursor_at(list.ids.first()).as_deref()),
                        "endCursor" => opt_string(out, cursor_at(list.ids.last()).as_deref()),
                        _ => return Err(Refused),
                    }
                    Ok(())
                })?,
                "totalCount" => number(out, list.total.ok_or(Refused)?),
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    fn practice(&self, out: &mut Vec<u8>, nodes: &[Node], p: &d::Practice) -> Written {
        let found = self.found;
        object(out, nodes, Ty::Practice.name(), |out, node| {
            match node.name.as_str() {
                "id" => global(out, Kind::Practice, p.id),
                "version" => number(out, p.version),
                "status" => name_of(out, PublicationStatus::from(p.status))?,
                "title" => string(out, &p.title),
                "summary" => opt_string(out, p.summary.as_deref()),
                "context" => opt_string(out, p.context.as_deref()),
                "outcomes" => opt_string(out, p.outcomes.as_deref()),
                "issues" => opt_string(out, p.issues.as_deref()),
                "source" => opt_string(out, p.source.as_deref()),
                "startYear" => opt_number(out, p.start_year),
                "endYear" => opt_number(out, p.end_year),
                "orientation" => name_of(out, GeographicOrientation::from(p.orientation))?,
                "modality" => name_of(out, LinkingModality::from(p.modality))?,
                "amountRequired" => decimal(out, p.amount_required),
                "amountRequiredCurrency" => opt_string(out, p.amount_required_currency.as_deref()),
                "themes" | "managementFocus" | "cooperatingParties" => {
                    let empty = d::Tags::default();
                    let tags = (found.tags.get(&TagsKey(Tagged::Practice, p.id))).unwrap_or(&empty);
                    match node.name.as_str() {
                        "themes" => names_of::<_, Theme>(out, &tags.themes)?,
                        "managementFocus" => {
                            names_of::<_, ManagementFocus>(out, &tags.management_focus)?
                        }
                        _ => names_of::<_, CooperatingParty>(out, &tags.cooperating_parties)?,
                    }
                }
                "cities" | "participants" => {
                    let links = found.cities.get(&PracticeCitiesKey(p.id)).ok_or(Refused)?;
                    array(out, links.len(), |out, i| {
                        let (link, city) = &links[i];
                        if node.name == "cities" {
                            self.city(out, &node.children, city)
                        } else {
                            self.participation(out, &node.children, link, city)
                        }
                    })?;
                }
                "schemes" => self.schemes(out, node, p.id)?,
                "funding" => self.funding_list(out, node, Nested::PracticeFunding, p.id)?,
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    /// A practice's page of schemes.
    fn schemes(&self, out: &mut Vec<u8>, node: &Node, parent: Id) -> Written {
        let nested = Nested::PracticeSchemes;
        let page = node.page.ok_or(Refused)?;
        let key = SchemePageKey(page_key(nested, parent, page));
        // Every page asked is read, empty or not: one missing was not asked for.
        let schemes = self.found.schemes.get(&key).ok_or(Refused)?;
        let shown = &schemes[..schemes.len().min(page.first as usize)];
        let list = List {
            ids: shown.iter().map(|s| s.id).collect(),
            has_next_page: schemes.len() as u64 > page.first,
            total: self
                .found
                .counts
                .get(&NestedCountKey(nested, parent))
                .copied(),
        };
        self.list(
            out,
            &node.children,
            Ty::SchemeList,
            &list,
            |out, nodes, i| self.scheme(out, nodes, &shown[i]),
        )
    }

    /// A parent's page of funding records.
    fn funding_list(&self, out: &mut Vec<u8>, node: &Node, nested: Nested, parent: Id) -> Written {
        let page = node.page.ok_or(Refused)?;
        let key = FundingPageKey(page_key(nested, parent, page));
        let records = self.found.funding.get(&key).ok_or(Refused)?;
        let shown = &records[..records.len().min(page.first as usize)];
        let list = List {
            ids: shown.iter().map(|(f, _)| f.id).collect(),
            has_next_page: records.len() as u64 > page.first,
            total: self
                .found
                .counts
                .get(&NestedCountKey(nested, parent))
                .copied(),
        };
        self.list(
            out,
            &node.children,
            Ty::FundingList,
            &list,
            |out, nodes, i| self.funding(out, nodes, &shown[i]),
        )
    }

    fn participation(
        &self,
        out: &mut Vec<u8>,
        nodes: &[Node],
        link: &d::PracticeCity,
        city: &d::City,
    ) -> Written {
        object(out, nodes, Ty::Participation.name(), |out, node| {
            match node.name.as_str() {
                "role" => name_of(out, CityRole::from(link.role))?,
                "city" => self.city(out, &node.children, city)?,
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    fn city(&self, out: &mut Vec<u8>, nodes: &[Node], city: &d::City) -> Written {
        object(out, nodes, Ty::City.name(), |out, node| {
            match node.name.as_str() {
                "id" => global(out, Kind::City, city.id),
                "version" => number(out, city.version),
                "name" => string(out, &city.name),
                "kind" => name_of(out, CityKind::from(city.kind))?,
                "population" => opt_number(out, city.population),
                "latitude" => float(out, city.latitude),
                "longitude" => float(out, city.longitude),
                "country" => {
                    // Missing reference data is the schema's error to report.
                    let key = CountryKey(city.country_code.clone());
                    let country = self.found.countries.get(&key).ok_or(Refused)?;
                    self.country(out, &node.children, country)?;
                }
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    fn country(&self, out: &mut Vec<u8>, nodes: &[Node], country: &d::Country) -> Written {
        object(out, nodes, Ty::Country.name(), |out, node| {
            match node.name.as_str() {
                "code" => string(out, &country.code),
                "alpha3" => string(out, &country.alpha3),
                "name" => string(out, &country.name),
                "bloc" => name_of(out, Bloc::from(country.bloc))?,
                "ldc" => boolean(out, country.ldc),
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    fn scheme(&self, out: &mut Vec<u8>, nodes: &[Node], s: &d::SupportScheme) -> Written {
        object(out, nodes, Ty::Scheme.name(), |out, node| {
            match node.name.as_str() {
                "id" => global(out, Kind::SupportScheme, s.id),
                "version" => number(out, s.version),
                "status" => name_of(out, PublicationStatus::from(s.status))?,
                "name" => string(out, &s.name),
                "description" => opt_string(out, s.description.as_deref()),
                "source" => opt_string(out, s.source.as_deref()),
                "startYear" => opt_number(out, s.start_year),
                "endYear" => opt_number(out, s.end_year),
                "budget" => decimal(out, s.budget_amount),
                "budgetCurrency" => opt_string(out, s.budget_currency.as_deref()),
                "openForApplications" => boolean(out, s.open_for_applications),
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    fn funding(&self, out: &mut Vec<u8>, nodes: &[Node], (f, named): &ListedFunding) -> Written {
        object(out, nodes, Ty::Funding.name(), |out, node| {
            match node.name.as_str() {
                "id" => global(out, Kind::Funding, f.id),
                "version" => number(out, f.version),
                "amount" => decimal(out, f.amount),
                "currency" => string(out, &f.currency),
                "rate" => decimal(out, Some(f.rate)),
                "rateSource" => opt_string(out, f.rate_source.as_deref()),
                "amountUsd" => decimal(out, f.amount_usd),
                "year" => opt_number(out, f.year),
                "status" => name_of(out, FundingStatus::from(f.status))?,
                "sourceType" => name_of(out, FundingSource::from(f.source_type))?,
                "confidential" => boolean(out, f.confidential),
                "sourceName" => opt_string(out, f.source_name.as_deref()),
                "note" => opt_string(out, f.note.as_deref()),
                "donor" => {
                    let donor = match (&named.donor, f.donor_id) {
                        (Some(donor), _) => Some(donor),
                        (None, Some(id)) => self.found.donors.get(&DonorKey(id)),
                        (None, None) => None,
                    };
                    match donor {
                        Some(donor) => self.donor(out, &node.children, donor)?,
                        None => out.extend_from_slice(b"null"),
                    }
                }
                "practice" => {
                    let practice = match (&named.practice, f.practice_id) {
                        (Some(practice), _) => Some(practice),
                        (None, Some(id)) => self.found.practices.get(&PracticeKey(id)),
                        (None, None) => None,
                    };
                    // Only the practice's own fields are planned under a funding record.
                    match practice {
                        Some(practice) => self.practice(out, &node.children, practice)?,
                        None => out.extend_from_slice(b"null"),
                    }
                }
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    fn donor(&self, out: &mut Vec<u8>, nodes: &[Node], donor: &d::Donor) -> Written {
        object(out, nodes, Ty::Donor.name(), |out, node| {
            match node.name.as_str() {
                "id" => global(out, Kind::Donor, donor.id),
                "version" => number(out, donor.version),
                "name" => string(out, &donor.name),
                "acronym" => opt_string(out, donor.acronym.as_deref()),
                "kind" => name_of(out, DonorKind::from(donor.kind))?,
                "description" => opt_string(out, donor.description.as_deref()),
                "country" => match &donor.country_code {
                    Some(code) => {
                        // Missing reference data is the schema's error to report.
                        let key = CountryKey(code.clone());
                        let country = self.found.countries.get(&key).ok_or(Refused)?;
                        self.country(out, &node.children, country)?;
                    }
                    None => out.extend_from_slice(b"null"),
                },
                "funding" => self.funding_list(out, node, Nested::DonorFunding, donor.id)?,
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    fn overlap_report(&self, out: &mut Vec<u8>, nodes: &[Node], r: &a::OverlapReport) -> Written {
        object(out, nodes, Ty::OverlapReport.name(), |out, node| {
            match node.name.as_str() {
                "overlaps" => array(out, r.overlaps.len(), |out, i| {
                    self.overlap(out, &node.children, &r.overlaps[i])
                })?,
                "unsupported" => array(out, r.unsupported.len(), |out, i| {
                    unsupported(out, &node.children, &r.unsupported[i])
                })?,
                _ => return Err(Refused),
            }
            Ok(())
        })
    }

    fn overlap(&self, out: &mut Vec<u8>, nodes: &[Node], o: &a::SchemeOverlap) -> Written {
        object(out, nodes, Ty::Overlap.name(), |out, node| {
            match node.name.as_str() {
                "theme" => name_of(out, Theme::from(o.theme))?,
                "orientation" => name_of(out, GeographicOrientation::from(o.orientation))?,
                "supportModality" => name_of(out, SupportModality::from(o.modality))?,
                name => {
                    let ids = overlap_list(o, name).ok_or(Refused)?;
                    let found = self.found;
                    if name == "schemes" {
                        let get = |i| found.schemes_by_id.get(&SchemeKey(i)).map(|s| &**s);
                        let item = |out: &mut _, nodes: &_, s: &_| self.scheme(out, nodes, s);
                        self.held(out, node, Ty::SchemeList, ids, get, item)?;
                    } else {
                        let get = |i| found.practices.get(&PracticeKey(i)).map(|p| &**p);
                        let item = |out: &mut _, nodes: &_, p: &_| self.practice(out, nodes, p);
                        self.held(out, node, Ty::SharedList, ids, get, item)?;
                    }
                }
            }
            Ok(())
        })
    }
}

impl Writer<'_> {
    /// The page `node` asks of a list held in full, each record found by `get`: those the
    /// caller may not see are left out, as the schema leaves them.
    fn held<'r, T: 'r>(
        &self,
        out: &mut Vec<u8>,
        node: &Node,
        ty: Ty,
        ids: &[Id],
        get: impl Fn(Id) -> Option<&'r T>,
        item: impl Fn(&mut Vec<u8>, &[Node], &T) -> Written,
    ) -> Written {
        let (mut shown, has_next_page, total) = held_list(ids, node.page.ok_or(Refused)?);
        shown.retain(|&i| get(i).is_some());
        let list = List {
            ids: shown,
            has_next_page,
            total: Some(total as i64),
        };
        self.list(out, &node.children, ty, &list, |out, nodes, i| {
            item(out, nodes, get(list.ids[i]).ok_or(Refused)?)
        })
    }

    fn need_matches(&self, out: &mut Vec<u8>, nodes: &[Node], m: &a::NeedMatches) -> Written {
        object(out, nodes, Ty::Matches.name(), |out, node| {
            let (list, ty) = match node.name.as_str() {
                "practices" => (&m.practices, Ty::PracticeMatch),
                "cities" => (&m.cities, Ty::CityMatch),
                "schemes" => (&m.schemes, Ty::SchemeMatch),
                "donors" => (&m.donors, Ty::DonorMatch),
                _ => return Err(Refused),
            };
            array(out, list.len(), |out, i| {
                self.ranked(out, &node.children, ty, &list[i])
            })
        })
    }

    /// One match: its record (`null` when the caller may not see it, as the schema writes it),
    /// score and reasons.
    fn ranked(&self, out: &mut Vec<u8>, nodes: &[Node], ty: Ty, m: &a::Match) -> Written {
        let found = self.found;
        object(out, nodes, ty.name(), |out, node| {
            let null = |out: &mut Vec<u8>| out.extend_from_slice(b"null");
            match node.name.as_str() {
                "score" => number(out, m.score),
                "reasons" => array(out, m.reasons.len(), |out, i| {
                    string(out, &m.reasons[i]);
                    Ok(())
                })?,
                "practice" => match found.practices.get(&PracticeKey(m.id)) {
                    Some(p) => self.practice(out, &node.children, p)?,
                    None => null(out),
                },
                "city" => match found.cities_by_id.get(&CityKey(m.id)) {
                    Some(c) => self.city(out, &node.children, c)?,
                    None => null(out),
                },
                "scheme" => match found.schemes_by_id.get(&SchemeKey(m.id)) {
                    Some(s) => self.scheme(out, &node.children, s)?,
                    None => null(out),
                },
                "donor" => match found.donors.get(&DonorKey(m.id)) {
                    Some(d) => self.donor(out, &node.children, d)?,
                    None => null(out),
                },
                _ => return Err(Refused),
            }
            Ok(())
        })
    }
}

fn unsupported(out: &mut Vec<u8>, nodes: &[Node], cell: &a::UnsupportedCell) -> Written {
    object(out, nodes, Ty::Unsupported.name(), |out, node| {
        match node.name.as_str() {
            "theme" => name_of(out, Theme::from(cell.theme))?,
            "orientation" => name_of(out, GeographicOrientation::from(cell.orientation))?,
            "practices" => number(out, cell.practices),
            _ => return Err(Refused),
        }
        Ok(())
    })
}
