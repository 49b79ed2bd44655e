//! The GraphQL schema: one module per aggregate (its object type, filter, input, root fields and
//! mutations), merged here into `Query` and `Mutation`. Shared pieces: `connection` (root lists),
//! `relations` (nested fields through `loaders`), `resolve` (request data, the shape of a
//! mutation), `ids` (global ids) and `enums`; `node` serves Relay's object identification.

pub mod account;
pub mod analytics;
pub mod association;
pub mod audit;
pub mod changes;
pub mod city;
pub mod connection;
pub mod cost;
pub mod direct;
pub mod donor;
pub mod enums;
pub mod exchange;
pub mod funding;
pub mod ids;
pub mod live;
pub mod loaders;
pub mod need;
pub mod node;
pub mod practice;
pub mod reference;
pub mod relations;
pub mod resolve;
pub mod root;
pub mod scheme;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

// The root fields, in the order the schema lists them (merged objects keep their order).
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    practice::PracticeQuery,
    city::CityQuery,
    reference::CountryQuery,
    association::AssociationQuery,
    donor::DonorQuery,
    scheme::SchemeQuery,
    need::NeedQuery,
    reference::InventoryQuery,
    account::AccountQuery,
    reference::RateQuery,
    audit::AuditQuery,
    changes::ChangeQuery,
    analytics::AnalyticsQuery,
    analytics::MatchQuery,
);

// Every change to the base, each resolved by one call to `Accounts` or `Editor`.
#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    reference::RateMutation,
    practice::PracticeMutation,
    scheme::SchemeMutation,
    funding::FundingMutation,
    need::NeedMutation,
    city::CityMutation,
    association::AssociationMutation,
    donor::DonorMutation,
    exchange::ExchangeMutation,
);

/// Live updates, served over WebSocket (see [`crate::subscriptions`]).
pub type Subscription = live::LiveSubscription;

pub type AppSchema = Schema<root::Limited<Query>, Mutation, Subscription>;

/// Upper bound of the cost of one request (see [`cost`]), enforced with `COST_EXCEEDED` by
/// [`crate::budget`].
pub const MAX_COMPLEXITY: usize = cost::MAX_REQUEST_COST;

/// The schema without request data: what prints the SDL, and what [`crate::app`] serves once it
/// has added the budgets.
pub fn builder() -> SchemaBuilder<root::Limited<Query>, Mutation, Subscription> {
    // The document guard first: it must refuse a fragment bomb before anything walks it.
    // Depth is the guard's to bound too: it leaves introspection out (see `MAX_DEPTH`).
    bare().extension(crate::guard::DocumentGuard::default())
}

/// The schema without any extension, so that fields resolve directly: what runs a request only
/// once a schema with the extensions has admitted its document (see [`crate::app`]).
pub fn bare() -> SchemaBuilder<root::Limited<Query>, Mutation, Subscription> {
    Schema::build(
        root::Limited(Query::default()),
        Mutation::default(),
        Subscription::default(),
    )
}

pub fn schema() -> AppSchema {
    builder().finish()
}

/// The SDL clients build against: with `@specifiedBy` on the scalars that have it, as the
/// introspection answer has it.
pub fn sdl() -> String {
    schema().sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}
