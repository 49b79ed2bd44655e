//! Storage of the information base with sea-orm, on SQLite or PostgreSQL.
//!
//! One module per aggregate holds its read repository and the rows it is saved as (`practice`,
//! `scheme`, `funding`, `need`, `profiles` for cities, associations and donors, `reference`);
//! `versioned` is the one path every change is written by, `query` what the reads share.

mod accounts;
mod along;
mod analytics;
mod audit;
pub mod bulk;
mod cells;
mod changes;
pub mod db;
mod editing;
mod entities;
pub mod events;
mod export;
mod funding;
pub mod import;
mod mapping;
mod need;
mod practice;
mod profiles;
mod query;
mod reference;
mod rollup;
mod scheme;
pub mod seed;
mod signature;
mod stash;
mod store;
mod versioned;

pub use analytics::significant_words;
pub use rollup::Grouping;
pub use store::SeaStore;
