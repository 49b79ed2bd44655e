//! Storage of the information base with sea-orm, on SQLite or PostgreSQL.

pub mod accounts;
pub mod analytics;
pub mod bulk;
pub mod db;
pub mod editing;
pub mod entities;
mod mapping;
pub mod rollup;
pub mod seed;
pub mod store;

pub use store::SeaStore;
