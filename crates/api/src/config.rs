//! Settings of a running service.

use std::time::Duration;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://c2c-forum.db?mode=rwc";
pub const DEFAULT_BATCH_WINDOW: Duration = Duration::from_millis(2);
/// Largest request body accepted on `POST /graphql`.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port (see [`crate::Application::port`]).
    pub bind: String,
    pub database_url: String,
    /// Load the report's information base when the database holds none.
    pub seed_if_empty: bool,
    /// How long a dataloader gathers keys before it queries. The fields of one level of a page
    /// wake one after another; the window lets their keys land in one statement rather than be
    /// split by scheduling, at this cost in latency per level of a query.
    pub batch_window: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: DEFAULT_BIND.into(),
            database_url: DEFAULT_DATABASE_URL.into(),
            seed_if_empty: true,
            batch_window: DEFAULT_BATCH_WINDOW,
        }
    }
}
