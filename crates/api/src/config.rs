//! Settings of a running service.

use std::time::Duration;

pub use persistence::db::{DEFAULT_ASKED_GROUPINGS, DbOptions};

use crate::auth::{HashingLimits, JwtKeys};
pub use crate::budget::BudgetSettings;
pub use crate::cache::CacheSettings;
pub use crate::subscriptions::SubscriptionSettings;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://c2c-forum.db?mode=rwc";
/// Each level of a nested page waits this long before its statement. None: a request's fields
/// run on one worker thread, and a loader's batch starts only once the request's task yields,
/// by when every field of the level woken with it has added its keys. One page of 50 practices
/// at a time on PostgreSQL took 10.2-10.4 ms at p50 with 1 ms and 8.3-8.8 ms with none, with
/// 4.01 statements a page either way and as many under load.
pub const DEFAULT_BATCH_WINDOW: Duration = Duration::ZERO;
/// Largest request body accepted on `POST /graphql`.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The largest multipart request (a file uploaded to `importIati`) by default; larger files are
/// imported with the command line, which streams them.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;
/// The IATI identifier exports report under until the operator sets the publisher's own
/// (registered with IATI: an agency prefix and a number, such as `XM-DAC-41120`).
pub const DEFAULT_IATI_REPORTING_ORG: &str = "XX-C2C-FORUM";

#[derive(Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port (see [`crate::Application::port`]).
    pub bind: String,
    pub database_url: String,
    /// Load the report's information base when the database holds none.
    pub seed_if_empty: bool,
    /// How long a dataloader gathers keys before it queries, beyond the request's task yielding.
    /// A window lets the keys of fields that wake apart (on a loaded machine, or fields waiting
    /// on different statements) land in one statement, at this cost in latency per level.
    pub batch_window: Duration,
    /// The key access tokens are signed with.
    pub jwt: JwtKeys,
    /// Clients' budgets over time, the query deadline, concurrent expensive requests.
    pub budget: BudgetSettings,
    /// Web origins (`https://forum.example`) whose pages may call the API from a browser; none
    /// by default, and then no CORS headers are sent.
    pub cors_origins: Vec<String>,
    /// Serve `/metrics` on this address only, not on `bind`.
    pub metrics_bind: Option<String>,
    /// Serve `/metrics` only to requests bearing this token.
    pub metrics_token: Option<String>,
    /// Threads hashing passwords and requests that may wait for them.
    pub hashing: HashingLimits,
    /// How long to wait on the database: pool acquire and statement timeouts.
    pub database: DbOptions,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see [`crate::proxy`]).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The cache of anonymous answers (see [`crate::cache`]).
    pub response_cache: CacheSettings,
    /// Run only the documents of this manifest (see [`crate::persisted`]).
    pub trusted_documents: Option<std::path::PathBuf>,
    /// The reporting organisation's IATI identifier: `reporting-org/@ref` of the IATI export and
    /// the prefix of every `iati-identifier`.
    pub iati_reporting_org: String,
    /// GraphQL operations taking this long or longer are logged at WARN.
    pub slow_operation: Duration,
    /// The largest multipart request body taken (see [`DEFAULT_MAX_UPLOAD_BYTES`]).
    pub max_upload_bytes: usize,
    /// The bounds of live updates over WebSocket (see [`crate::subscriptions`]).
    pub subscriptions: SubscriptionSettings,
    /// Answer the nested pages of practices straight from their records (see
    /// [`crate::graphql::direct`]); off, the schema's executor answers every query.
    pub direct_answers: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: DEFAULT_BIND.into(),
            database_url: DEFAULT_DATABASE_URL.into(),
            seed_if_empty: true,
            batch_window: DEFAULT_BATCH_WINDOW,
            jwt: JwtKeys::generated(),
            budget: BudgetSettings::default(),
            cors_origins: Vec::new(),
            metrics_bind: None,
            metrics_token: None,
            hashing: HashingLimits::default(),
            database: Default::default(),
            trusted_proxies: Vec::new(),
            response_cache: CacheSettings::default(),
            trusted_documents: None,
            iati_reporting_org: DEFAULT_IATI_REPORTING_ORG.into(),
            slow_operation: crate::observe::DEFAULT_SLOW_OPERATION,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            subscriptions: SubscriptionSettings::default(),
            direct_answers: true,
        }
    }
}

/// The signing key from `C2C_JWT_SECRET`. Without one a debug build (or `--dev`) generates a
/// key for this process and says so; a release build refuses to start.
pub fn jwt_keys(secret: Option<&str>, dev: bool) -> Result<JwtKeys, String> {
    match secret {
        Some(s) if !s.is_empty() => JwtKeys::from_secret(s.as_bytes()),
        _ if dev || cfg!(debug_assertions) => {
            tracing::warn!("C2C_JWT_SECRET is not set: signing tokens with a key generated for this process only");
            Ok(JwtKeys::generated())
        }
        _ => Err("C2C_JWT_SECRET is not set; set it (32 bytes or more) or pass --dev to use a throw-away key".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_too_short_for_hs256_is_refused() {
        assert!(jwt_keys(Some("short"), false).is_err());
        assert!(jwt_keys(Some(&"k".repeat(32)), false).is_ok());
    }

    #[test]
    fn without_a_secret_only_development_starts() {
        assert!(jwt_keys(None, true).is_ok());
        assert_eq!(jwt_keys(None, false).is_ok(), cfg!(debug_assertions));
    }
}
