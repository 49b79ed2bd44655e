//! What a query document must be before async-graphql walks it, and the code every error of a
//! malformed document carries.
//!
//! async-graphql's own checks (recursion depth, validation, depth and complexity limits) walk
//! fragment spreads by expanding them, so a document of a few hundred bytes whose fragments spread
//! each other twice costs 2^n steps before any limit answers. [`DocumentGuard`] parses the document
//! itself, measures its size after fragment expansion with one computation per fragment, refuses
//! cycles, and only then hands the parsed document on.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest, NextValidation,
};
use async_graphql::parser::types::{
    Directive, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::parser::{self, Positioned};
use async_graphql::{
    ErrorExtensionValues, Name, Request, Response, ServerError, ServerResult, ValidationResult,
    Value,
};

/// Largest size of a document after fragment expansion: every field, argument value (each item
/// of a list or object counts), directive, inline fragment and fragment spread counts one, a
/// spread counting the fragment it names again each time. The operations are counted expanded,
/// and each fragment definition once more, expanded, as validation walks those too. The
/// introspection query of GraphQL tools measures about 430; a page of practices with their
/// cities, schemes and funding under 100.
pub const MAX_DOCUMENT_SIZE: u64 = 2_000;

/// Deepest nesting of fields a data query may use, fragments expanded. The subtree of an
/// introspection field (`__schema`, `__type`) does not count: it is bounded by the schema, and
/// the introspection query every GraphQL tool sends nests type references 9 deep and more. What
/// deep data queries could cost is bounded by the cost model; this limit keeps them readable.
pub const MAX_DEPTH: u64 = 12;

/// Deepest nesting of selections and fragment spreads measured at all, introspection included:
/// bounds the measuring itself.
const MAX_NESTING: usize = 64;

/// Longest error message about a document: messages must not echo what the client sent.
const MAX_MESSAGE_CHARS: usize = 200;

/// The document is not GraphQL.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// The document is GraphQL but not a valid request for this schema or these variables.
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
/// The document is too large after fragment expansion, nested too deep, or too complex.
pub const TOO_LARGE: &str = "QUERY_TOO_LARGE";

/// How many parsed documents the guard keeps (see [`Parsed`]).
const PARSED_KEPT: usize = 32;
/// The longest text whose parsed document is kept. The introspection query of GraphQL tools is
/// about 2.5 KiB, a page of practices with its relations under 1 KiB.
const PARSED_TEXT_BYTES: usize = 4096;
/// The largest document kept, measured as [`MAX_DOCUMENT_SIZE`] is: the introspection query of
/// GraphQL tools measures about 430. A document's parsed form takes at most a few hundred bytes
/// a unit of size, so the kept ones take a few MiB at most whatever clients send.
const PARSED_SIZE: u64 = 500;

/// Registered on the schema: see the module documentation.
#[derive(Clone, Default)]
pub struct DocumentGuard {
    parsed: Arc<Parsed>,
}

impl ExtensionFactory for DocumentGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

/// The documents of the texts admitted last, parsed and measured: frontends send the same few
/// texts again and again, and parsing one (a PEG parser walking every character) was about 3 %
/// of the service's CPU under the nested page; a kept document is copied instead. Only documents
/// the guard admitted are kept, up to [`PARSED_TEXT_BYTES`] of text and [`PARSED_SIZE`] each and
/// [`PARSED_KEPT`] in all, the least recently used going first. Validation still runs on every
/// request: it depends on the variables.
struct Parsed(Mutex<lru::LruCache<Box<str>, Arc<ExecutableDocument>>>);

impl Default for Parsed {
    fn default() -> Self {
        Parsed(Mutex::new(lru::LruCache::new(
            NonZeroUsize::new(PARSED_KEPT).expect("non-zero"),
        )))
    }
}

impl Parsed {
    fn document(&self, query: &str) -> ServerResult<ExecutableDocument> {
        let keep = query.len() <= PARSED_TEXT_BYTES;
        if keep && let Some(kept) = self.kept().get(query).cloned() {
            return Ok(ExecutableDocument::clone(&kept));
        }
        let document = parse(query)?;
        let size = check_size(&document)?;
        if keep && size <= PARSED_SIZE {
            self.kept().put(query.into(), Arc::new(document.clone()));
        }
        Ok(document)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, lru::LruCache<Box<str>, Arc<ExecutableDocument>>> {
        // A panic while holding the lock leaves a cache that is still a cache.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Extension for DocumentGuard {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        code_errors(&mut response);
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let document = self.parsed.document(&request.query)?;
        request.set_parsed_query(document);
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|mut error| {
                    if code_of(&error).is_none() {
                        // async-graphql's wording of its depth and complexity limits.
                        let limit = error.message.contains("nested too deep")
                            || error.message.contains("too complex")
                            || error.message.contains("recursion depth");
                        set_code(
                            &mut error,
                            if limit { TOO_LARGE } else { VALIDATION_FAILED },
                        );
                        error.message = bounded(&error.message);
                    }
                    error
                })
                .collect()
        })
    }
}

/// Gives a code to each error of the response that has none (see [`code_uncoded`]): what the
/// guard does to every answer of its schema, and the server to the answers of the schema without
/// extensions.
pub fn code_errors(response: &mut Response) {
    for error in &mut response.errors {
        if code_of(error).is_none() {
            code_uncoded(error);
        }
    }
}

/// Gives a code to an error that has none. Before execution (no path) that is async-graphql
/// refusing the request: an operation name that names nothing, say. During execution it is an
/// argument a scalar or input object refused, or else a resolver that did not go through
/// `api::error`: a fault of the service, whose detail goes to the log only.
fn code_uncoded(error: &mut ServerError) {
    let input = error.path.is_empty()
        || [
            "Failed to parse",
            "Expected input type",
            "Invalid value",
            "Variable ",
        ]
        .iter()
        .any(|start| error.message.starts_with(start));
    if input {
        set_code(error, VALIDATION_FAILED);
        error.message = bounded(&error.message);
    } else {
        tracing::error!(detail = %error.message, path = ?error.path, "an error without a code");
        set_code(error, "INTERNAL");
        error.message = "internal error".into();
    }
}

fn code_of(error: &ServerError) -> Option<&Value> {
    error.extensions.as_ref().and_then(|e| e.get("code"))
}

fn set_code(error: &mut ServerError, code: &str) {
    error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default)
        .set("code", code);
}

fn coded(message: impl AsRef<str>, code: &str) -> ServerError {
    let mut error = ServerError::new(bounded(message.as_ref()), None);
    set_code(&mut error, code);
    error
}

/// `message` cut to [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn bounded(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &message[..end]),
        None => message.to_string(),
    }
}

/// The document, or a parse error that names the place and what was expected but does not quote
/// the document (the parser's own message reprints the offending line, which may be the whole
/// document).
fn parse(query: &str) -> ServerResult<ExecutableDocument> {
    parser::parse_query(query).map_err(|error| {
        let message = match &error {
            parser::Error::Syntax { message, start, .. } => {
                let expected = message
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("= "))
                    .next_back()
                    .unwrap_or("unexpected input");
                format!(
                    "syntax error at line {}, column {}: {expected}",
                    start.line, start.column
                )
            }
            parser::Error::RecursionLimitExceeded => {
                return coded("the document is nested too deep", TOO_LARGE);
            }
            other => other.to_string(),
        };
        let mut coded = coded(message, PARSE_FAILED);
        coded.locations = error.positions().take(1).collect();
        coded
    })
}

/// Refuses a document larger than [`MAX_DOCUMENT_SIZE`] once expanded, nested deeper than
/// [`MAX_DEPTH`], or whose fragments spread each other in a cycle; the size otherwise.
fn check_size(document: &ExecutableDocument) -> ServerResult<u64> {
    let mut measure = Measure {
        fragments: &document.fragments,
        sizes: HashMap::new(),
    };
    let mut total: u64 = 0;
    let mut deepest: u64 = 0;
    for (_, operation) in document.operations.iter() {
        let own = directives_size(&operation.node.directives);
        let set = measure.selection_set(&operation.node.selection_set, 0)?;
        total = total.saturating_add(own).saturating_add(set.size);
        deepest = deepest.max(set.depth);
    }
    for name in document.fragments.keys() {
        total = total.saturating_add(measure.fragment(name, 0)?.size);
    }
    if deepest > MAX_DEPTH {
        return Err(coded(
            format!(
                "the query is nested too deep: {deepest} levels of fields, at most {MAX_DEPTH}"
            ),
            TOO_LARGE,
        ));
    }
    if total > MAX_DOCUMENT_SIZE {
        return Err(coded(
            format!(
                "the document is too large: {} after fragment expansion, at most {MAX_DOCUMENT_SIZE}",
                if total == u64::MAX {
                    "beyond any bound".to_string()
                } else {
                    total.to_string()
                }
            ),
            TOO_LARGE,
        ));
    }
    Ok(total)
}

/// What is measured of a selection set or a fragment, fragments expanded.
#[derive(Clone, Copy, Default)]
struct Extent {
    size: u64,
    /// Levels of fields, introspection subtrees not counted.
    depth: u64,
}

enum Sized {
    /// Being measured: meeting it again is a cycle.
    Open,
    Done(Extent),
}

/// Fields whose subtree is introspection: bounded by the schema, not by the client.
fn is_introspection(name: &str) -> bool {
    matches!(name, "__schema" | "__type")
}

struct Measure<'d> {
    fragments: &'d HashMap<Name, Positioned<FragmentDefinition>>,
    sizes: HashMap<&'d str, Sized>,
}

impl<'d> Measure<'d> {
    fn fragment(&mut self, name: &'d Name, nesting: usize) -> ServerResult<Extent> {
        match self.sizes.get(name.as_str()) {
            Some(Sized::Done(extent)) => return Ok(*extent),
            Some(Sized::Open) => {
                return Err(coded(
                    format!("fragment {name} spreads itself"),
                    VALIDATION_FAILED,
                ));
            }
            None => {}
        }
        // A spread of a fragment that does not exist is validation's to report.
        let Some(fragment) = self.fragments.get(name) else {
            return Ok(Extent::default());
        };
        self.sizes.insert(name.as_str(), Sized::Open);
        let set = self.selection_set(&fragment.node.selection_set, nesting)?;
        let extent = Extent {
            size: directives_size(&fragment.node.directives).saturating_add(set.size),
            depth: set.depth,
        };
        self.sizes.insert(name.as_str(), Sized::Done(extent));
        Ok(extent)
    }

    fn selection_set(
        &mut self,
        set: &'d Positioned<SelectionSet>,
        nesting: usize,
    ) -> ServerResult<Extent> {
        if nesting > MAX_NESTING {
            return Err(coded("the document is nested too deep", TOO_LARGE));
        }
        let mut total = Extent::default();
        for selection in &set.node.items {
            let (own, inner, depth) = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let arguments = field
                        .arguments
                        .iter()
                        .fold(0u64, |n, (_, v)| n.saturating_add(value_size(&v.node)));
                    let inner = self.selection_set(&field.selection_set, nesting + 1)?;
                    let below = if is_introspection(field.name.node.as_str()) {
                        0
                    } else {
                        inner.depth
                    };
                    let own = arguments.saturating_add(directives_size(&field.directives));
                    (own, inner.size, 1 + below)
                }
                Selection::InlineFragment(inline) => {
                    let inner = self.selection_set(&inline.node.selection_set, nesting + 1)?;
                    (
                        directives_size(&inline.node.directives),
                        inner.size,
                        inner.depth,
                    )
                }
                Selection::FragmentSpread(spread) => {
                    let inner = self.fragment(&spread.node.fragment_name.node, nesting + 1)?;
                    (
                        directives_size(&spread.node.directives),
                        inner.size,
                        inner.depth,
                    )
                }
            };
            total.size = total
                .size
                .saturating_add(1)
                .saturating_add(own)
                .saturating_add(inner);
            total.depth = total.depth.max(depth);
        }
        Ok(total)
    }
}

fn directives_size(directives: &[Positioned<Directive>]) -> u64 {
    directives.iter().fold(0u64, |n, d| {
        let arguments = d
            .node
            .arguments
            .iter()
            .fold(0u64, |a, (_, v)| a.saturating_add(value_size(&v.node)));
        n.saturating_add(1).saturating_add(arguments)
    })
}

/// An argument's value: one, plus its items. The parser bounds the nesting of values.
fn value_size(value: &async_graphql_value::Value) -> u64 {
    match value {
        async_graphql_value::Value::List(items) => items
            .iter()
            .fold(1u64, |n, v| n.saturating_add(value_size(v))),
        async_graphql_value::Value::Object(fields) => fields
            .values()
            .fold(1u64, |n, v| n.saturating_add(value_size(v))),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(doc: &str) -> ServerResult<()> {
        check_size(&parse(doc).expect("parses")).map(|_| ())
    }

    fn code(error: &ServerError) -> String {
        code_of(error).map(|v| v.to_string()).unwrap_or_default()
    }

    #[test]
    fn a_bomb_of_any_depth_is_measured_without_expanding_it() {
        for n in [12, 24, 64, 200] {
            let mut doc = format!("query{{...F{n}}} fragment F0 on Query{{__typename}}");
            for i in 1..=n {
                doc.push_str(&format!(
                    " fragment F{i} on Query{{...F{p} ...F{p}}}",
                    p = i - 1
                ));
            }
            let err = size(&doc).expect_err("too large");
            assert_eq!(
                code(&err),
                format!("\"{TOO_LARGE}\""),
                "{n}: {}",
                err.message
            );
        }
    }

    fn nested(levels: usize, field: &str) -> String {
        format!(
            "{}{}",
            format!("{field} {{ ").repeat(levels),
            "}".repeat(levels)
        )
    }

    #[test]
    fn data_queries_are_bounded_in_depth_and_introspection_is_not() {
        let data = |levels| format!("{{ {} }}", nested(levels, "a").replace("{ }", "{ b }"));
        assert!(size(&data(MAX_DEPTH as usize - 1)).is_ok());
        let err = size(&data(MAX_DEPTH as usize + 1)).expect_err("too deep");
        assert_eq!(code(&err), format!("\"{TOO_LARGE}\""), "{}", err.message);
        // Through fragments the depth adds up as well.
        let levels = MAX_DEPTH as usize / 2 + 1;
        let outer = nested(levels, "a").replace("{ }", "{ ...F }");
        let inner = nested(levels, "a").replace("{ }", "{ b }");
        let via = format!("{{ {outer} }} fragment F on A {{ {inner} }}");
        let err = size(&via).expect_err("too deep through a fragment");
        assert_eq!(code(&err), format!("\"{TOO_LARGE}\""), "{}", err.message);
        // Type references nested far deeper than any tool's introspection query.
        let types = nested(30, "ofType").replace("{ }", "{ name }");
        assert!(size(&format!("{{ __schema {{ types {{ {types} }} }} }}")).is_ok());
        assert!(size(&format!("{{ __type(name: \"Practice\") {{ {types} }} }}")).is_ok());
    }

    #[test]
    fn cycles_are_refused() {
        let err = size("{...A} fragment A on Query{...B} fragment B on Query{...A}").unwrap_err();
        assert_eq!(code(&err), format!("\"{VALIDATION_FAILED}\""));
        let err = size("{...A} fragment A on Query{a{...A}}").unwrap_err();
        assert_eq!(code(&err), format!("\"{VALIDATION_FAILED}\""));
    }

    #[test]
    fn aliases_arguments_and_inline_fragments_count() {
        let aliases = format!(
            "{{{}}}",
            (0..1_100)
                .map(|i| format!(" a{i}: x(y: 1)"))
                .collect::<String>()
        );
        assert!(
            size(&aliases).is_err(),
            "1,100 aliased fields with an argument each"
        );
        let list = format!("{{ x(y: [{}]) }}", "1,".repeat(2_100));
        assert!(size(&list).is_err(), "a list of 2,100 items");
        let inline = format!("{{{}}}", " ... on Query { a }".repeat(1_100));
        assert!(size(&inline).is_err());
        assert!(size("{ a(b: {c: [1, 2]}) ... on Query { d } }").is_ok());
    }

    /// What GraphiQL and other tools send when they open.
    const INTROSPECTION: &str = "
    query IntrospectionQuery {
      __schema {
        queryType { name } mutationType { name } subscriptionType { name }
        types { ...FullType }
        directives { name description locations args { ...InputValue } }
      }
    }
    fragment FullType on __Type {
      kind name description
      fields(includeDeprecated: true) {
        name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
      }
      inputFields { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
    fragment TypeRef on __Type {
      kind name
      ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
    }";

    #[test]
    fn the_introspection_query_of_tools_fits() {
        assert!(size(INTROSPECTION).is_ok());
    }

    #[test]
    fn errors_without_a_code_get_one_and_faults_keep_their_detail_in_the_log() {
        let mut refused = ServerError::new("Unknown operation named \"B\"", None);
        code_uncoded(&mut refused);
        assert_eq!(code(&refused), format!("\"{VALIDATION_FAILED}\""));

        let mut input = ServerError::new("Failed to parse \"Decimal\": unknown character", None);
        input.path = vec![async_graphql::PathSegment::Field("createNeed".into())];
        code_uncoded(&mut input);
        assert_eq!(code(&input), format!("\"{VALIDATION_FAILED}\""));

        let mut fault = ServerError::new("Data `Catalog` does not exist.", None);
        fault.path = vec![async_graphql::PathSegment::Field("practices".into())];
        code_uncoded(&mut fault);
        assert_eq!(code(&fault), "\"INTERNAL\"");
        assert_eq!(fault.message, "internal error");
    }

    #[test]
    fn admitted_short_documents_are_kept_and_given_again() {
        let parsed = Parsed::default();
        let page = "{ practices(first: 2) { nodes { id title } } }";
        let first = parsed.document(page).expect("parses");
        assert_eq!(parsed.kept().len(), 1);
        let again = parsed.document(page).expect("kept");
        assert_eq!(format!("{again:?}"), format!("{first:?}"));
        assert_eq!(parsed.kept().len(), 1);

        // Refused documents are not kept, nor texts longer than the bound.
        assert!(parsed.document("{ a ").is_err());
        assert!(
            parsed
                .document(&nested(MAX_DEPTH as usize + 1, "a"))
                .is_err()
        );
        let long = format!(
            "{{ practices(first: 2) {{ nodes {{ id }} }} }}{}",
            " ".repeat(PARSED_TEXT_BYTES)
        );
        assert!(parsed.document(&long).is_ok());
        assert_eq!(parsed.kept().len(), 1);

        // At most PARSED_KEPT, the least recently used going first.
        for n in 0..PARSED_KEPT {
            parsed
                .document(&format!("{{ practices(first: {n}) {{ nodes {{ id }} }} }}"))
                .expect("parses");
        }
        assert_eq!(parsed.kept().len(), PARSED_KEPT);
        assert!(!parsed.kept().contains(page));
    }

    #[test]
    fn parse_errors_are_short_and_coded() {
        let err = parse(&format!("{{ a {} ", "b ".repeat(20_000))).unwrap_err();
        assert_eq!(code(&err), format!("\"{PARSE_FAILED}\""));
        assert!(
            err.message.chars().count() <= MAX_MESSAGE_CHARS + 1,
            "{}",
            err.message
        );
        assert!(!err.locations.is_empty());
    }
}
