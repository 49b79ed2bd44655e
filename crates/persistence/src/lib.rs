//! Storage of the information base with sea-orm, on SQLite or PostgreSQL.

pub mod db;
pub mod entities;
mod mapping;
pub mod seed;
pub mod store;

pub use store::SeaStore;
