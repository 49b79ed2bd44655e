//! The C2C Forum API: GraphQL over HTTP on top of the domain and its storage.

pub mod app;
pub mod auth;
pub mod budget;
pub mod cache;
pub mod config;
pub mod error;
pub mod export;
pub mod graphiql;
pub mod graphql;
pub mod guard;
pub mod import;
pub mod media;
pub mod metrics;
pub mod observe;
pub mod order;
pub mod persisted;
pub mod proxy;
pub mod startup;
pub mod subscriptions;
pub mod telemetry;

pub use app::App;
pub use config::Settings;
/// A funding-gap grouping an operator prepares (`prepare-rollups --by`).
pub use persistence::Grouping;
pub use startup::Application;
