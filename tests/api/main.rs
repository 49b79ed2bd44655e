//! End-to-end tests: the real HTTP server on port 0 against a fresh database (SQLite, or
//! PostgreSQL when `TEST_DATABASE_URL` is set). One binary, so linking happens once.

mod accounts;
mod accounts_admin;
mod authorization;
mod change_feed;
mod direct;
mod editing;
mod errors;
mod exchange;
mod exchange_import;
mod gaps;
mod graphiql;
mod helpers;
mod hostile;
mod matching;
mod nested_pages;
mod observability;
mod operations;
mod over_http;
mod persisted;
mod plans;
mod read_graph;
mod relay;
mod response_cache;
mod schema;
mod statements;
mod subscriptions;
