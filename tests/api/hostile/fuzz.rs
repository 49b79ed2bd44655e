//! Random documents against the whole GraphQL surface, as a hostile client would send them:
//! every root field, query and mutation, with argument values drawn from the edges of their
//! types (empty, huge, negative, NUL bytes, unknown ids and enum values, wrong types) and random
//! selections below, as an anonymous caller or a signed-in one. Whatever comes back must be an
//! answer: JSON, every error with a code, never INTERNAL, never a 5xx, never slow.
//!
//! The documents come from the served schema (introspection), so new fields are covered without
//! touching this file. Each case is a tape of choices that proptest draws and shrinks; a failure
//! prints the shortest document found. `C2C_FUZZ_CASES` sets the number of cases (a few hundred by
//! default; see README for the longer run).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use domain::actor::Role;

use crate::helpers::{TestApp, TestUser};

const DEFAULT_CASES: u32 = 300;
/// Far above what any answer on the seeded base takes, far below the stalls this guards against.
const SLOWEST_ANSWER: Duration = Duration::from_secs(5);
/// Nesting of selections: enough for a connection's nodes and one relation below them.
const MAX_SELECTION_DEPTH: usize = 5;
/// Nesting of input objects: filters inside inputs inside lists.
const MAX_INPUT_DEPTH: usize = 3;

const INTROSPECTION: &str = "{ __schema { queryType { name } mutationType { name } types { kind name
    fields(includeDeprecated: true) { name args { name type { ...T } } type { ...T } }
    inputFields { name type { ...T } } enumValues(includeDeprecated: true) { name } } } }
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

#[derive(Debug, Clone)]
struct TypeRef {
    kind: String,
    name: Option<String>,
    of: Option<Box<TypeRef>>,
}

impl TypeRef {
    fn parse(v: &Value) -> TypeRef {
        TypeRef {
            kind: v["kind"].as_str().unwrap_or_default().to_string(),
            name: v["name"].as_str().map(str::to_string),
            of: v
                .get("ofType")
                .filter(|o| !o.is_null())
                .map(|o| Box::new(TypeRef::parse(o))),
        }
    }

    fn required(&self) -> bool {
        self.kind == "NON_NULL"
    }

    /// The named type under any NON_NULL and LIST wrappers.
    fn named(&self) -> &str {
        match &self.of {
            Some(of) => of.named(),
            None => self.name.as_deref().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone)]
struct Input {
    name: String,
    ty: TypeRef,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    args: Vec<Input>,
    ty: TypeRef,
}

#[derive(Debug, Clone, Default)]
struct Type {
    kind: String,
    fields: Vec<Field>,
    inputs: Vec<Input>,
    enum_values: Vec<String>,
}

struct Schema {
    query: String,
    mutation: Option<String>,
    types: HashMap<String, Type>,
}

fn inputs(v: &Value) -> Vec<Input> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|i| Input {
            name: i["name"].as_str().unwrap_or_default().to_string(),
            ty: TypeRef::parse(&i["type"]),
        })
        .collect()
}

impl Schema {
    async fn introspect(app: &TestApp) -> Schema {
        let data = app.data(INTROSPECTION, json!({})).await;
        let s = &data["__schema"];
        let types = s["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| {
                let fields = t["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| Field {
                        name: f["name"].as_str().unwrap_or_default().to_string(),
                        args: inputs(&f["args"]),
                        ty: TypeRef::parse(&f["type"]),
                    })
                    .collect();
                let enum_values = t["enumValues"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["name"].as_str().map(str::to_string))
                    .collect();
                let ty = Type {
                    kind: t["kind"].as_str().unwrap_or_default().to_string(),
                    fields,
                    inputs: inputs(&t["inputFields"]),
                    enum_values,
                };
                (t["name"].as_str().unwrap_or_default().to_string(), ty)
            })
            .collect();
        Schema {
            query: s["queryType"]["name"].as_str().expect("query").to_string(),
            mutation: s["mutationType"]["name"].as_str().map(str::to_string),
            types,
        }
    }

    fn get(&self, name: &str) -> Type {
        self.types.get(name).cloned().unwrap_or_default()
    }
}

/// The choices of one case; past its end every choice is the first option, so shorter tapes
/// (what proptest shrinks towards) give simpler documents.
struct Tape {
    choices: Vec<u32>,
    at: usize,
}

impl Tape {
    fn pick(&mut self, n: usize) -> usize {
        let c = self.choices.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        if n == 0 { 0 } else { c as usize % n }
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.pick(n) == 1
    }

    fn of<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.pick(items.len())]
    }
}

const STRINGS: &[&str] = &[
    "a",
    "",
    "Gulu",
    "a\u{0}b",
    "\u{0}",
    "   ",
    "' OR 1=1 --",
    "%_\\",
    "héllo wörld 🌍",
    "\u{202e}rtl",
    "USD",
    "nl",
    "x@y.org",
    "a@x..org",
];
const IDS: &[&str] = &[
    "1",
    "2",
    "0",
    "-1",
    "999999999",
    "abc",
    "",
    "1e3",
    "9223372036854775808",
    // Global ids (Practice:1, City:1, Indicator:1/1, User:1, Practice:0): of the right type
    // for some arguments, of another for the rest, and `node` reads them all.
    "UHJhY3RpY2U6MQ",
    "Q2l0eTox",
    "SW5kaWNhdG9yOjEvMQ",
    "VXNlcjox",
    "UHJhY3RpY2U6MA",
];
const INTS: &[&str] = &[
    "1",
    "0",
    "-1",
    "20",
    "100",
    "101",
    "2147483647",
    "-2147483648",
    "1999",
];
const FLOATS: &[&str] = &["1.5", "0", "-1e308", "1e308", "3"];
const DECIMALS: &[&str] = &[
    "\"1.5\"",
    "\"0\"",
    "\"-1\"",
    "\"1000000000000000\"",
    "\"1000000000000000.01\"",
    "\"800000000000000000000000000\"",
    "\"0.0000000001\"",
    "\"abc\"",
    "\"1e400\"",
];
const DATE_TIMES: &[&str] = &[
    "\"2026-01-01T00:00:00Z\"",
    "\"yesterday\"",
    "\"0000-00-00\"",
];

/// A GraphQL literal of type `ty`, now and then of the wrong type.
fn value(schema: &Schema, tape: &mut Tape, ty: &TypeRef, depth: usize) -> String {
    if tape.pick(40) == 1 {
        return tape
            .of(&["null", "\"x\"", "1", "[]", "{}", "WRONG"])
            .to_string();
    }
    match ty.kind.as_str() {
        "NON_NULL" => value(schema, tape, ty.of.as_deref().expect("wrapped"), depth),
        "LIST" => {
            let inner = ty.of.as_deref().expect("wrapped");
            let n = tape.pick(4);
            let items: Vec<String> = (0..n).map(|_| value(schema, tape, inner, depth)).collect();
            format!("[{}]", items.join(", "))
        }
        _ => {
            let name = ty.named();
            match name {
                "String" => {
                    let s = if tape.one_in(12) {
                        "x".repeat(tape.of(&[201, 5_000, 60_000]).to_owned())
                    } else {
                        tape.of(STRINGS).to_string()
                    };
                    serde_json::to_string(&s).expect("a string")
                }
                "ID" => serde_json::to_string(tape.of(IDS)).expect("an id"),
                "Int" => tape.of(INTS).to_string(),
                "Float" => tape.of(FLOATS).to_string(),
                "Boolean" => tape.of(&["true", "false"]).to_string(),
                "Decimal" => tape.of(DECIMALS).to_string(),
                "DateTime" => tape.of(DATE_TIMES).to_string(),
                _ => {
                    let t = schema.get(name);
                    match t.kind.as_str() {
                        "ENUM" if !t.enum_values.is_empty() => {
                            if tape.one_in(30) {
                                "NOT_A_VALUE".into()
                            } else {
                                tape.of(&t.enum_values).clone()
                            }
                        }
                        "INPUT_OBJECT" if depth < MAX_INPUT_DEPTH => {
                            format!("{{{}}}", arguments(schema, tape, &t.inputs, depth + 1))
                        }
                        _ => "null".into(),
                    }
                }
            }
        }
    }
}

/// `name: value` pairs: every required input, and about half of the optional ones.
fn arguments(schema: &Schema, tape: &mut Tape, inputs: &[Input], depth: usize) -> String {
    let mut pairs = Vec::new();
    for i in inputs {
        if i.ty.required() || tape.one_in(2) {
            pairs.push(format!("{}: {}", i.name, value(schema, tape, &i.ty, depth)));
        }
    }
    pairs.join(", ")
}

/// A selection set on the object type `name`: one to three of its fields, deeper ones below.
fn selection(schema: &Schema, tape: &mut Tape, name: &str, depth: usize) -> String {
    let t = schema.get(name);
    if !matches!(t.kind.as_str(), "OBJECT" | "INTERFACE") || t.fields.is_empty() {
        return "{ __typename }".into();
    }
    // At the deepest level only leaves, so that every selection is complete.
    let candidates: Vec<&Field> = t
        .fields
        .iter()
        .filter(|f| depth < MAX_SELECTION_DEPTH || is_leaf(schema, &f.ty))
        .collect();
    if candidates.is_empty() {
        return "{ __typename }".into();
    }
    let n = 1 + tape.pick(3);
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        let field = *tape.of(&candidates);
        parts.push(format!(
            "f{i}: {}",
            field_text(schema, tape, field, depth + 1)
        ));
    }
    format!("{{ {} }}", parts.join(" "))
}

fn cut(text: &str) -> String {
    const MOST: usize = 1_500;
    match text.char_indices().nth(MOST) {
        Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], text.len()),
        None => text.to_string(),
    }
}

fn is_leaf(schema: &Schema, ty: &TypeRef) -> bool {
    matches!(schema.get(ty.named()).kind.as_str(), "SCALAR" | "ENUM")
}

/// A field with its arguments and, for objects, its selection.
fn field_text(schema: &Schema, tape: &mut Tape, field: &Field, depth: usize) -> String {
    let args = arguments(schema, tape, &field.args, 0);
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("({args})")
    };
    let below = if is_leaf(schema, &field.ty) {
        String::new()
    } else {
        format!(" {}", selection(schema, tape, field.ty.named(), depth))
    };
    format!("{}{args}{below}", field.name)
}

/// A whole document: a query (mostly) or a mutation, on one to two root fields.
fn document(schema: &Schema, tape: &mut Tape) -> String {
    let (keyword, root) = match &schema.mutation {
        Some(m) if tape.one_in(3) => ("mutation", m.as_str()),
        _ => ("query", schema.query.as_str()),
    };
    let t = schema.get(root);
    let n = 1 + tape.pick(2);
    let fields: Vec<String> = (0..n)
        .map(|i| {
            let field = tape.of(&t.fields).clone();
            format!("r{i}: {}", field_text(schema, tape, &field, 1))
        })
        .collect();
    format!("{keyword} {{ {} }}", fields.join(" "))
}

/// Sends `query` as `user` and checks the answer is one a well-behaved service gives; returns
/// the codes of its errors.
///
/// A failure message holds the document, cut short: a case can carry a string of 60,000
/// characters.
async fn check(app: &TestApp, user: Option<&TestUser>, query: &str) -> Result<Vec<String>, String> {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": query }));
    if let Some(u) = user {
        request = request.bearer_auth(&u.access_token);
    }
    let started = Instant::now();
    let response = request
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("answer cut off: {e}"))?;
    let elapsed = started.elapsed();
    if status.is_server_error() {
        return Err(format!("HTTP {status}: {body}"));
    }
    if elapsed > SLOWEST_ANSWER {
        return Err(format!("answered in {elapsed:?}"));
    }
    let body: Value = serde_json::from_str(&body).map_err(|e| format!("not JSON ({e}): {body}"))?;
    let mut codes = Vec::new();
    for error in body["errors"].as_array().into_iter().flatten() {
        match error["extensions"]["code"].as_str() {
            None => return Err(format!("an error without a code: {error}")),
            Some("INTERNAL") => return Err(format!("INTERNAL: {error}")),
            Some(code) => codes.push(code.to_string()),
        }
    }
    Ok(codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_documents_always_get_a_proper_answer() {
    let roles = [Role::Admin, Role::Donor, Role::Practitioner];
    let mut builder = TestApp::new().seeded();
    for role in roles {
        builder = builder.with_user(role);
    }
    let app = builder.spawn().await;
    let schema = Schema::introspect(&app).await;
    let users: Vec<Option<TestUser>> = std::iter::once(None)
        .chain(roles.iter().map(|r| Some(app.user_of(*r).clone())))
        .collect();
    let cases = std::env::var("C2C_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let tally = std::sync::Mutex::new(std::collections::BTreeMap::<String, u32>::new());
    let result = tokio::task::block_in_place(|| {
        runner.run(&vec(any::<u32>(), 0..160), |choices| {
            let mut tape = Tape { choices, at: 0 };
            let user = tape.of(&users).clone();
            let query = document(&schema, &mut tape);
            let codes = handle
                .block_on(check(&app, user.as_ref(), &query))
                .map_err(|e| {
                    TestCaseError::fail(format!("{}\n  document: {}", cut(&e), cut(&query)))
                })?;
            let mut tally = tally.lock().expect("tally");
            let outcome = codes.first().cloned().unwrap_or_else(|| "OK".into());
            *tally.entry(outcome).or_insert(0) += 1;
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Documents refused before they run exercise little: most must get through to resolvers.
    let tally = tally.into_inner().expect("tally");
    eprintln!("first error code of each answer (OK: none): {tally:?}");
    let answered = tally.get("OK").copied().unwrap_or(0);
    assert!(
        answered * 10 >= cases,
        "only {answered} of {cases} documents ran without an error: {tally:?}"
    );
}
