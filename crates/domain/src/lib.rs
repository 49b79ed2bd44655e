//! The C2C information base as plain Rust: the report's analytical framework (Table 2.2), the
//! records of the graph, validated values, the repository traits the storage implements, and the
//! services that read and change it; [`policy`] decides who may do what.
//!
//! Nothing here knows about SQL, GraphQL or HTTP.

pub mod account;
pub mod actor;
pub mod analytics;
pub mod audit;
pub mod changes;
pub mod editing;
pub mod entities;
pub mod error;
pub mod events;
pub mod exchange;
pub mod framework;
pub mod limits;
pub mod orientation;
pub mod page;
pub mod policy;
pub mod repository;
pub mod service;
pub mod values;

pub use actor::{Actor, Visibility};
pub use error::{Error, Result};
