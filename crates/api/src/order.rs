//! The order of a response's fields.
//!
//! async-graphql 7.2 resolves an object's fields at once and writes each into the response as
//! it completes, so a field that waits for a dataloader (a practice's cities, a match's
//! practice) lands after the fields that did not wait, and the same query answers in a
//! different order from one run to the next. The GraphQL specification (7.2.2, "Serialized Map
//! Ordering") asks for the order of the selection set, which people reading a response and
//! tools comparing responses rely on: put back here from the document, once execution is done.

use std::cell::OnceCell;
use std::sync::Arc;

use async_graphql::futures_util::stream::{BoxStream, StreamExt};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Data, Executor, Name, Request, Response, Value};

/// Orders every object of `data` as the operation's selection sets ask. The operation is the
/// one named, else the document's only one; `data` is left as it is when there is none.
pub fn in_selection_order(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    data: &mut Value,
) {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return,
        },
        (DocumentOperations::Multiple(ops), None) => match ops.values().next() {
            Some(op) if ops.len() == 1 => op,
            _ => return,
        },
    };
    let plan = Plan::of(&[&operation.node.selection_set.node], document);
    plan.apply(document, data);
}

/// A schema whose answers keep the query's order, for the subscriptions' WebSocket protocol,
/// which runs the schema itself. A document that does not parse answers as the schema makes it.
#[derive(Clone)]
pub struct Ordered<E>(pub E);

impl<E: Executor> Executor for Ordered<E> {
    async fn execute(&self, request: Request) -> Response {
        let document = async_graphql::parser::parse_query(&request.query).ok();
        let operation = request.operation_name.clone();
        let mut response = self.0.execute(request).await;
        if let Some(document) = &document {
            in_selection_order(document, operation.as_deref(), &mut response.data);
        }
        response
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let document = async_graphql::parser::parse_query(&request.query).ok();
        let operation = request.operation_name.clone();
        self.0
            .execute_stream(request, session_data)
            .map(move |mut response| {
                if let Some(document) = &document {
                    in_selection_order(document, operation.as_deref(), &mut response.data);
                }
                response
            })
            .boxed()
    }
}

/// The response keys an object may hold, in the order of the selection sets that ask for it.
struct Plan<'a> {
    keys: Vec<Key<'a>>,
    /// The response keys, in order. Found by a scan from where the previous key was found:
    /// an object already in order (most are) finds each key at the first place looked, without
    /// hashing it.
    names: Vec<&'a Name>,
}

/// One response key: the selection sets of the fields it answers (more than one when the
/// document asks for it twice, through fragments), and their plan, made when first needed.
struct Key<'a> {
    sets: Vec<&'a SelectionSet>,
    plan: OnceCell<Plan<'a>>,
}

impl<'a> Plan<'a> {
    fn of(sets: &[&'a SelectionSet], document: &'a ExecutableDocument) -> Self {
        let mut plan = Plan {
            keys: Vec::new(),
            names: Vec::new(),
        };
        for set in sets {
            plan.collect(set, document, &mut Vec::new());
        }
        plan
    }

    /// Fragments are walked where they are spread, each at most once on a path: execution
    /// refuses a document whose fragments spread each other in a cycle, but a document is
    /// read here whether or not it ran.
    fn collect(
        &mut self,
        set: &'a SelectionSet,
        document: &'a ExecutableDocument,
        spreading: &mut Vec<&'a Name>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = &field.node.response_key().node;
                    let i = self.rank(name, 0).unwrap_or_else(|| {
                        self.names.push(name);
                        self.keys.push(Key {
                            sets: Vec::new(),
                            plan: OnceCell::new(),
                        });
                        self.keys.len() - 1
                    });
                    let sub = &field.node.selection_set.node;
                    if !sub.items.is_empty() {
                        self.keys[i].sets.push(sub);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if spreading.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = document.fragments.get(name) {
                        spreading.push(name);
                        self.collect(&fragment.node.selection_set.node, document, spreading);
                        spreading.pop();
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.collect(&inline.node.selection_set.node, document, spreading);
                }
            }
        }
    }

    /// Where `name` is among the keys, looked for from `from` on and then before it.
    fn rank(&self, name: &Name, from: usize) -> Option<usize> {
        let n = self.names.len();
        (from..n).chain(0..from).find(|&i| self.names[i] == name)
    }

    fn apply(&self, document: &'a ExecutableDocument, value: &mut Value) {
        match value {
            Value::List(items) => {
                for item in items {
                    self.apply(document, item);
                }
            }
            Value::Object(map) => {
                let mut at = 0;
                let ranks = map.keys().map(|name| {
                    let rank = self.rank(name, at);
                    at = rank.map_or(at, |r| r + 1);
                    rank.unwrap_or(usize::MAX)
                });
                if !ranks.is_sorted() {
                    let rank = |name: &Name| self.rank(name, 0).unwrap_or(usize::MAX);
                    map.sort_by(|a, _, b, _| rank(a).cmp(&rank(b)));
                }
                let mut at = 0;
                for (name, child) in map.iter_mut() {
                    let Some(i) = self.rank(name, at) else {
                        continue;
                    };
                    at = i + 1;
                    let key = &self.keys[i];
                    if key.sets.is_empty() {
                        continue;
                    }
                    key.plan
                        .get_or_init(|| Plan::of(&key.sets, document))
                        .apply(document, child);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    /// `data` as JSON text, so that its keys keep the order written.
    fn ordered(query: &str, operation: Option<&str>, data: &str) -> String {
        let document = parse_query(query).expect("a valid query");
        let mut value: Value = serde_json::from_str(data).expect("JSON is a value");
        in_selection_order(&document, operation, &mut value);
        serde_json::to_string(&value).expect("serialises")
    }

    #[test]
    fn objects_in_lists_and_nested_objects_take_the_order_of_the_query() {
        let got = ordered(
            "{ practices { nodes { title cities { name id } id } } }",
            None,
            r#"{"practices": {"nodes": [
                {"id": "1", "cities": [{"id": "c", "name": "Accra"}], "title": "A"},
                {"cities": [], "id": "2", "title": "B"}
            ]}}"#,
        );
        assert_eq!(
            got,
            r#"{"practices":{"nodes":[{"title":"A","cities":[{"name":"Accra","id":"c"}],"id":"1"},{"title":"B","cities":[],"id":"2"}]}}"#
        );
    }

    #[test]
    fn aliases_fragments_and_the_named_operation_decide_the_order() {
        let query = "query A { x: need { id } }
            query B { matches { ...M score: total practices { ... on Practice { title } id } } }
            fragment M on Matches { first: donors }";
        let got = ordered(
            query,
            Some("B"),
            r#"{"matches": {
                "practices": {"id": "p", "title": "T"},
                "score": 3,
                "first": 1
            }}"#,
        );
        assert_eq!(
            got,
            r#"{"matches":{"first":1,"score":3,"practices":{"title":"T","id":"p"}}}"#
        );
    }

    #[test]
    fn fragments_spreading_each_other_in_a_cycle_are_walked_once() {
        let got = ordered(
            "{ a ...F } fragment F on Query { b ...G } fragment G on Query { c ...F }",
            None,
            r#"{"c": 3, "b": 2, "a": 1}"#,
        );
        assert_eq!(got, r#"{"a":1,"b":2,"c":3}"#);
    }

    #[test]
    fn keys_the_document_does_not_name_keep_their_place_after_the_others() {
        let got = ordered("{ a b }", None, r#"{"z": 0, "b": 2, "a": 1}"#);
        assert_eq!(got, r#"{"a":1,"b":2,"z":0}"#);
    }
}
