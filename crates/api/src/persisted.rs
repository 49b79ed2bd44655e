//! Persisted queries: a request may name its document by the SHA-256 of its text instead of
//! sending it, so that a query fits in a short `GET` URL a CDN can cache.
//!
//! Two modes:
//! - **automatic** (the default; Apollo's protocol): `extensions.persistedQuery = { version: 1,
//!   sha256Hash }`. A hash the server does not know is answered `PERSISTED_QUERY_NOT_FOUND`, and
//!   the client sends the document with its hash once, which registers it. The documents
//!   registered are kept in a bounded store, least recently used dropped first.
//! - **trusted documents**: only the documents of a manifest given at start (a JSON object of
//!   SHA-256 hex → document, as GraphQL Code Generator and Apollo's tooling write it) run, named
//!   by their hash or sent whole; everything else is refused with `DOCUMENT_NOT_TRUSTED`, and
//!   nothing registers.
//!
//! Either way the request leaves here as an ordinary one with its document's text, so every
//! bound on documents (see [`crate::guard`]) applies to it as to any other.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_graphql::{ErrorExtensionValues, Request, ServerError, Value};
use sha2::{Digest, Sha256};

pub const NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
pub const NOT_TRUSTED: &str = "DOCUMENT_NOT_TRUSTED";
const BAD_REQUEST: &str = "BAD_REQUEST";
/// Bytes of automatically persisted documents kept at most.
pub const AUTOMATIC_BYTES: usize = 4 * 1024 * 1024;

/// See the module's documentation. Cloning shares the store.
#[derive(Clone)]
pub struct PersistedQueries {
    mode: Arc<Mode>,
}

enum Mode {
    Automatic(Mutex<Store>),
    Trusted(HashMap<String, Arc<str>>),
}

struct Store {
    documents: lru::LruCache<String, Arc<str>>,
    bytes: usize,
}

fn error(code: &'static str, message: impl Into<String>) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    e.extensions = Some(extensions);
    e
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl PersistedQueries {
    pub fn automatic() -> PersistedQueries {
        PersistedQueries {
            mode: Arc::new(Mode::Automatic(Mutex::new(Store {
                // The byte budget is what bounds it; the count only bounds the map.
                documents: lru::LruCache::new(NonZeroUsize::new(100_000).expect("non-zero")),
                bytes: 0,
            }))),
        }
    }

    /// Trusted-documents mode from a manifest: a JSON object whose keys are the SHA-256 (hex)
    /// of their documents. A key that is not its document's hash is refused, naming it.
    pub fn trusted(manifest: &str) -> Result<PersistedQueries, String> {
        let documents: HashMap<String, String> = serde_json::from_str(manifest).map_err(|e| {
            format!("the trusted documents are not a JSON object of hash → document: {e}")
        })?;
        let mut trusted = HashMap::with_capacity(documents.len());
        for (hash, document) in documents {
            let hash = hash
                .strip_prefix("sha256:")
                .unwrap_or(&hash)
                .to_ascii_lowercase();
            let actual = sha256_hex(&document);
            if hash != actual {
                return Err(format!(
                    "trusted document {hash} does not hash to its key (its SHA-256 is {actual})"
                ));
            }
            trusted.insert(hash, Arc::from(document));
        }
        Ok(PersistedQueries {
            mode: Arc::new(Mode::Trusted(trusted)),
        })
    }

    /// The mode a setting asks for: trusted documents from the manifest at `path`, else
    /// automatic.
    pub fn from_setting(path: Option<&Path>) -> Result<PersistedQueries, String> {
        match path {
            None => Ok(PersistedQueries::automatic()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                PersistedQueries::trusted(&text)
            }
        }
    }

    /// How many trusted documents there are; `None` in automatic mode.
    pub fn trusted_count(&self) -> Option<usize> {
        match &*self.mode {
            Mode::Trusted(documents) => Some(documents.len()),
            Mode::Automatic(_) => None,
        }
    }

    /// The request with its document's text, or why it may not run.
    pub fn resolve(&self, mut request: Request) -> Result<Request, ServerError> {
        let persisted = match request.extensions.remove("persistedQuery") {
            None => None,
            Some(value) => Some(persisted_hash(value)?),
        };
        match (&*self.mode, persisted) {
            (Mode::Automatic(_), None) => Ok(request),
            (Mode::Automatic(store), Some(hash)) => {
                if request.query.is_empty() {
                    let found = lock(store).documents.get(&hash).cloned();
                    let document =
                        found.ok_or_else(|| error(NOT_FOUND, "PersistedQueryNotFound"))?;
                    request.query = document.to_string();
                } else {
                    check_hash(&request.query, &hash)?;
                    remember(store, hash, &request.query);
                }
                Ok(request)
            }
            (Mode::Trusted(documents), persisted) => {
                let hash = match persisted {
                    Some(hash) if !request.query.is_empty() => {
                        check_hash(&request.query, &hash)?;
                        hash
                    }
                    Some(hash) => hash,
                    None => sha256_hex(&request.query),
                };
                let document = documents.get(&hash).ok_or_else(|| {
                    error(
                        NOT_TRUSTED,
                        "only the documents registered with this server run here",
                    )
                })?;
                request.query = document.to_string();
                Ok(request)
            }
        }
    }
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    // A poisoned lock only means a request panicked while holding it; the store is whole.
    store.lock().unwrap_or_else(|e| e.into_inner())
}

fn remember(store: &Mutex<Store>, hash: String, document: &str) {
    let mut store = lock(store);
    if let Some((_, old)) = store.documents.push(hash, Arc::from(document)) {
        store.bytes -= old.len();
    }
    store.bytes += document.len();
    while store.bytes > AUTOMATIC_BYTES {
        match store.documents.pop_lru() {
            Some((_, old)) => store.bytes -= old.len(),
            None => break,
        }
    }
}

fn check_hash(query: &str, hash: &str) -> Result<(), ServerError> {
    if sha256_hex(query) == hash {
        Ok(())
    } else {
        Err(error(
            BAD_REQUEST,
            "persistedQuery.sha256Hash is not the SHA-256 of the query",
        ))
    }
}

/// The hash of `extensions.persistedQuery`: version 1, 64 hexadecimal digits.
fn persisted_hash(value: Value) -> Result<String, ServerError> {
    let invalid = || {
        error(
            BAD_REQUEST,
            "extensions.persistedQuery must be { version: 1, sha256Hash: <64 hex digits> }",
        )
    };
    let Value::Object(fields) = value else {
        return Err(invalid());
    };
    let version = fields.get("version").and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    });
    let hash = fields.get("sha256Hash").and_then(|v| match v {
        Value::String(s) => Some(s.to_ascii_lowercase()),
        _ => None,
    });
    match (version, hash) {
        (Some(1), Some(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash)
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(query: &str, hash: &str) -> Request {
        let mut r = Request::new(query);
        let mut pq = async_graphql::indexmap::IndexMap::new();
        pq.insert(async_graphql::Name::new("version"), Value::from(1));
        pq.insert(async_graphql::Name::new("sha256Hash"), Value::from(hash));
        r.extensions
            .insert("persistedQuery".into(), Value::Object(pq));
        r
    }

    fn code(e: &ServerError) -> String {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    const Q: &str = "{ inventory { practices } }";

    #[test]
    fn an_unknown_hash_is_not_found_until_its_document_is_sent_with_it() {
        let apq = PersistedQueries::automatic();
        let hash = sha256_hex(Q);
        let e = apq.resolve(with_hash("", &hash)).unwrap_err();
        assert_eq!(code(&e), format!("\"{NOT_FOUND}\""));
        assert_eq!(
            e.message, "PersistedQueryNotFound",
            "what Apollo's clients look for"
        );

        let e = apq.resolve(with_hash("{ other }", &hash)).unwrap_err();
        assert_eq!(code(&e), "\"BAD_REQUEST\"", "a hash of another document");

        let registered = apq.resolve(with_hash(Q, &hash)).unwrap();
        assert_eq!(registered.query, Q);
        assert!(registered.extensions.is_empty());
        assert_eq!(apq.resolve(with_hash("", &hash)).unwrap().query, Q);
        assert_eq!(
            apq.resolve(Request::new("{ plain }")).unwrap().query,
            "{ plain }"
        );
        for bad in ["abc", &"g".repeat(64)] {
            let e = apq.resolve(with_hash("", bad)).unwrap_err();
            assert_eq!(code(&e), "\"BAD_REQUEST\"", "{bad}");
        }
    }

    #[test]
    fn the_automatic_store_is_bounded_in_bytes() {
        let apq = PersistedQueries::automatic();
        let documents: Vec<String> = (0..5)
            .map(|i| format!("{{ f{i} }} # {}", "x".repeat(AUTOMATIC_BYTES / 4)))
            .collect();
        for d in &documents {
            apq.resolve(with_hash(d, &sha256_hex(d))).unwrap();
        }
        let Mode::Automatic(store) = &*apq.mode else {
            unreachable!()
        };
        assert!(lock(store).bytes <= AUTOMATIC_BYTES);
        assert!(
            apq.resolve(with_hash("", &sha256_hex(&documents[0])))
                .is_err()
        );
        assert!(
            apq.resolve(with_hash("", &sha256_hex(&documents[4])))
                .is_ok()
        );
    }

    #[test]
    fn trusted_mode_runs_only_the_manifest() {
        let manifest = serde_json::json!({ sha256_hex(Q): Q }).to_string();
        let trusted = PersistedQueries::trusted(&manifest).unwrap();
        assert_eq!(trusted.trusted_count(), Some(1));
        assert_eq!(
            trusted
                .resolve(with_hash("", &sha256_hex(Q)))
                .unwrap()
                .query,
            Q
        );
        assert_eq!(
            trusted.resolve(Request::new(Q)).unwrap().query,
            Q,
            "sent whole"
        );
        for refused in [
            Request::new("{ other }"),
            with_hash("{ other }", &sha256_hex("{ other }")),
        ] {
            let e = trusted.resolve(refused).unwrap_err();
            assert_eq!(code(&e), format!("\"{NOT_TRUSTED}\""));
        }
        let e = trusted
            .resolve(with_hash("", &sha256_hex("{ other }")))
            .unwrap_err();
        assert_eq!(code(&e), format!("\"{NOT_TRUSTED}\""), "nothing registers");

        let wrong = serde_json::json!({ sha256_hex("{ x }"): Q }).to_string();
        assert!(
            PersistedQueries::trusted(&wrong)
                .err()
                .is_some_and(|e| e.contains("does not hash"))
        );
        assert!(PersistedQueries::trusted("[]").is_err());
        let prefixed = serde_json::json!({ format!("sha256:{}", sha256_hex(Q)): Q }).to_string();
        assert!(PersistedQueries::trusted(&prefixed).is_ok());
    }
}
