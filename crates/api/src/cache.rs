//! A bounded cache of the answers to anonymous queries, so that the pages most visitors ask for
//! again and again cost a lookup rather than a run of the schema and its statements.
//!
//! What it keeps: the serialized body of an anonymous query that answered without errors, keyed
//! by the SHA-256 of its document, operation name and variables. Signed-in callers are never
//! answered from it (what they may read depends on who they are), and neither are mutations.
//!
//! When an answer stops being served:
//! - every mutation this process runs empties the cache once it has run, and an answer whose
//!   query started before that mutation finished is never stored (see [`ResponseCache::put`]);
//! - every answer expires after its time to live, which bounds how long a write made through
//!   another process (another API server on the same database, an import from the command line)
//!   takes to show;
//! - the cache holds at most its size in bytes, dropping the least recently used answers.
//!
//! A hit is charged to the client's budget like the run it replaces (see
//! [`crate::budget`]): whether an answer is cached changes its speed, never its price.
//!
//! When an answer is missing or has just expired, the first request runs the query and the
//! others asking the same meanwhile wait for its answer ([`ResponseCache::flight`]) rather than
//! all running it at once: a popular page expiring under load costs one run, not one per
//! waiting reader.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

pub const DEFAULT_MAX_BYTES: usize = 8 * 1024 * 1024;
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);
/// An answer larger than this share of the cache is not kept: one answer must not evict all
/// the others.
const LARGEST_SHARE: usize = 8;

/// What an operator may tune (see README, "Response cache").
#[derive(Clone, Copy, Debug)]
pub struct CacheSettings {
    /// Bytes of answers kept at most; 0 turns the cache off.
    pub max_bytes: usize,
    /// How long an answer is served at most; zero turns the cache off.
    pub ttl: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            max_bytes: DEFAULT_MAX_BYTES,
            ttl: DEFAULT_TTL,
        }
    }
}

/// What the schema learnt of a request while running it, read back once it has run: filled in
/// by the budget extension.
#[derive(Debug, Default)]
pub struct RequestFacts {
    pub cost: AtomicUsize,
    pub mutation: AtomicBool,
}

impl RequestFacts {
    pub fn cost(&self) -> usize {
        self.cost.load(Ordering::Relaxed)
    }

    pub fn mutation(&self) -> bool {
        self.mutation.load(Ordering::Relaxed)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

/// A cached answer: its body and what running it cost.
#[derive(Clone, Debug)]
pub struct Hit {
    pub body: Bytes,
    pub cost: usize,
}

struct Entry {
    hit: Hit,
    stored: Instant,
}

struct Entries {
    lru: lru::LruCache<Key, Entry>,
    bytes: usize,
}

/// See the module's documentation. Cloning shares the cache.
#[derive(Clone)]
pub struct ResponseCache {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    entries: Mutex<Entries>,
    /// The runs under way for keys the cache lacks; a run's end closes its channel.
    flights: Mutex<HashMap<Key, watch::Receiver<()>>>,
    /// Bumped by every mutation; an answer is stored only under the generation its query
    /// started in.
    generation: AtomicU64,
    max_bytes: usize,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ResponseCache {
    pub fn new(settings: CacheSettings) -> ResponseCache {
        let on = settings.max_bytes > 0 && !settings.ttl.is_zero();
        ResponseCache {
            inner: on.then(|| {
                Arc::new(Inner {
                    entries: Mutex::new(Entries {
                        // The byte budget is what bounds it; the count only bounds the map.
                        lru: lru::LruCache::new(NonZeroUsize::new(100_000).expect("non-zero")),
                        bytes: 0,
                    }),
                    flights: Mutex::new(HashMap::new()),
                    generation: AtomicU64::new(0),
                    max_bytes: settings.max_bytes,
                    ttl: settings.ttl,
                    hits: AtomicU64::new(0),
                    misses: AtomicU64::new(0),
                })
            }),
        }
    }

    /// The key of a request the cache may answer, if it may: not when the cache is off, nor for
    /// a request carrying extensions (persisted-query hashes and the like change what it is).
    pub fn key(&self, request: &async_graphql::Request) -> Option<Key> {
        self.inner.as_ref()?;
        if !request.extensions.is_empty() {
            return None;
        }
        let variables = serde_json::to_vec(&request.variables).ok()?;
        let mut hash = Sha256::new();
        // Each part with its length, so that no two requests hash the same concatenation.
        for part in [
            request.query.as_bytes(),
            request.operation_name.as_deref().unwrap_or("").as_bytes(),
            &variables,
        ] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        Some(Key(hash.finalize().into()))
    }

    /// The generation a query starts in; pass it to [`ResponseCache::put`] with its answer.
    pub fn generation(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.generation.load(Ordering::Acquire))
    }

    pub fn get(&self, key: &Key) -> Option<Hit> {
        let inner = self.inner.as_ref()?;
        let mut entries = inner.lock();
        let fresh = entries.lru.get(key).map(|e| e.stored.elapsed() < inner.ttl);
        match fresh {
            Some(true) => {
                inner.hits.fetch_add(1, Ordering::Relaxed);
                entries.lru.get(key).map(|e| e.hit.clone())
            }
            Some(false) => {
                if let Some(old) = entries.lru.pop(key) {
                    entries.bytes -= old.hit.body.len();
                }
                inner.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => {
                inner.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Keeps an answer, unless a mutation has run since its query started (`generation`): its
    /// data may predate that mutation.
    pub fn put(&self, key: Key, generation: u64, hit: Hit) {
        let Some(inner) = &self.inner else { return };
        let size = hit.body.len();
        if size > inner.max_bytes / LARGEST_SHARE {
            return;
        }
        let mut entries = inner.lock();
        // Compared under the lock that `invalidate` takes too: no answer of an older generation
        // can slip in after the cache was emptied.
        if inner.generation.load(Ordering::Acquire) != generation {
            return;
        }
        let entry = Entry {
            hit,
            stored: Instant::now(),
        };
        if let Some((_, old)) = entries.lru.push(key, entry) {
            entries.bytes -= old.hit.body.len();
        }
        entries.bytes += size;
        while entries.bytes > inner.max_bytes {
            match entries.lru.pop_lru() {
                Some((_, old)) => entries.bytes -= old.hit.body.len(),
                None => break,
            }
        }
    }

    /// Whether this request runs the query for `key` (holding the returned guard until its
    /// answer is stored) or waits for the run already under way: once the receiver's
    /// `changed()` returns, the answer is in the cache if it could be kept.
    pub fn flight(&self, key: Key) -> Option<Flight> {
        let inner = self.inner.as_ref()?;
        let mut flights = inner.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = flights.get(&key) {
            return Some(Flight::Follow(running.clone()));
        }
        let (done, running) = watch::channel(());
        flights.insert(key, running);
        Some(Flight::Lead(FlightGuard {
            inner: inner.clone(),
            key,
            _done: done,
        }))
    }

    /// Forgets every answer: called once a mutation has run.
    pub fn invalidate(&self) {
        let Some(inner) = &self.inner else { return };
        let mut entries = inner.lock();
        inner.generation.fetch_add(1, Ordering::AcqRel);
        entries.lru.clear();
        entries.bytes = 0;
    }

    /// Answers served from the cache, and lookups that found none, since the start.
    pub fn counts(&self) -> (u64, u64) {
        self.inner.as_ref().map_or((0, 0), |i| {
            (
                i.hits.load(Ordering::Relaxed),
                i.misses.load(Ordering::Relaxed),
            )
        })
    }

    /// How long an answer is served at most; zero when the cache is off.
    pub fn ttl(&self) -> Duration {
        self.inner.as_ref().map_or(Duration::ZERO, |i| i.ttl)
    }

    /// Bytes of answers held now.
    pub fn bytes(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.lock().bytes)
    }
}

/// See [`ResponseCache::flight`].
pub enum Flight {
    Lead(FlightGuard),
    Follow(watch::Receiver<()>),
}

/// Held by the request running a query others wait for; dropping it releases them.
pub struct FlightGuard {
    inner: Arc<Inner>,
    key: Key,
    // Dropped after `drop` has run: closing the channel wakes the waiting requests.
    _done: watch::Sender<()>,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        let mut flights = self.inner.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights.remove(&self.key);
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A poisoned lock only means a request panicked while holding it; the entries are whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(max_bytes: usize, ttl: Duration) -> ResponseCache {
        ResponseCache::new(CacheSettings { max_bytes, ttl })
    }

    fn request(query: &str, variables: serde_json::Value) -> async_graphql::Request {
        async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables))
    }

    fn hit(body: &str) -> Hit {
        Hit {
            body: Bytes::from(body.to_string()),
            cost: 7,
        }
    }

    #[test]
    fn the_key_tells_documents_operations_and_variables_apart() {
        let c = cache(1 << 20, DEFAULT_TTL);
        let a = c.key(&request("{ a }", serde_json::json!({}))).unwrap();
        assert_eq!(
            Some(a),
            c.key(&request("{ a }", serde_json::json!({}))),
            "the same request has the same key"
        );
        assert_ne!(Some(a), c.key(&request("{ a } ", serde_json::json!({}))));
        assert_ne!(
            Some(a),
            c.key(&request("{ a }", serde_json::json!({"x": 1})))
        );
        assert_ne!(
            Some(a),
            c.key(&request("{ a }", serde_json::json!({})).operation_name("A"))
        );
        let mut with_extension = request("{ a }", serde_json::json!({}));
        with_extension.extensions.insert(
            "persistedQuery".into(),
            async_graphql::Value::String("x".into()),
        );
        assert_eq!(c.key(&with_extension), None);
        assert_eq!(
            cache(0, DEFAULT_TTL).key(&request("{ a }", serde_json::json!({}))),
            None,
            "off"
        );
    }

    #[test]
    fn an_answer_is_served_until_a_mutation_and_one_older_than_it_is_never_stored() {
        let c = cache(1 << 20, Duration::from_secs(60));
        let key = c.key(&request("{ a }", serde_json::json!({}))).unwrap();
        let started = c.generation();
        c.put(key, started, hit("one"));
        assert_eq!(c.get(&key).unwrap().body, "one");
        assert_eq!(c.get(&key).unwrap().cost, 7);

        c.invalidate();
        assert!(c.get(&key).is_none(), "a mutation empties the cache");
        c.put(key, started, hit("stale"));
        assert!(
            c.get(&key).is_none(),
            "an answer whose query started before the mutation is not kept"
        );
        c.put(key, c.generation(), hit("two"));
        assert_eq!(c.get(&key).unwrap().body, "two");
        assert_eq!(c.counts(), (3, 2));
    }

    #[tokio::test]
    async fn one_request_runs_a_missing_answer_while_the_others_wait_for_it() {
        let c = cache(1 << 20, Duration::from_secs(60));
        let key = c.key(&request("{ a }", serde_json::json!({}))).unwrap();
        let Some(Flight::Lead(guard)) = c.flight(key) else {
            panic!("the first request leads")
        };
        let waiters: Vec<_> = (0..3)
            .map(|_| match c.flight(key) {
                Some(Flight::Follow(mut done)) => {
                    let c = c.clone();
                    tokio::spawn(async move {
                        let _ = done.changed().await;
                        c.get(&key).map(|h| h.body)
                    })
                }
                _ => panic!("the others follow"),
            })
            .collect();
        tokio::task::yield_now().await;
        c.put(key, c.generation(), hit("run once"));
        drop(guard);
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap().unwrap(), "run once");
        }
        assert!(
            matches!(c.flight(key), Some(Flight::Lead(_))),
            "the run is over: the next miss leads again"
        );
    }

    #[test]
    fn answers_expire_after_their_time_to_live() {
        let c = cache(1 << 20, Duration::from_millis(30));
        let key = c.key(&request("{ a }", serde_json::json!({}))).unwrap();
        c.put(key, c.generation(), hit("one"));
        assert!(c.get(&key).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get(&key).is_none());
        assert_eq!(c.bytes(), 0, "the expired answer is dropped");
    }

    #[test]
    fn the_cache_holds_at_most_its_size_dropping_the_least_recently_used() {
        let c = cache(8 * 100, Duration::from_secs(60));
        let keys: Vec<Key> = (0..10)
            .map(|i| {
                c.key(&request(&format!("{{ a{i} }}"), serde_json::json!({})))
                    .unwrap()
            })
            .collect();
        for key in &keys[..8] {
            c.put(*key, c.generation(), hit(&"x".repeat(100)));
        }
        assert_eq!(c.bytes(), 800);
        // Used again, the first stays; the second is now the least recently used.
        assert!(c.get(&keys[0]).is_some());
        c.put(keys[8], c.generation(), hit(&"y".repeat(100)));
        assert_eq!(c.bytes(), 800);
        assert!(c.get(&keys[0]).is_some());
        assert!(c.get(&keys[1]).is_none());
        c.put(keys[9], c.generation(), hit(&"z".repeat(101)));
        assert!(
            c.get(&keys[9]).is_none(),
            "an answer over an eighth of the cache is not kept"
        );
    }
}
