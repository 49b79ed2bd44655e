//! The GraphQL schema: types built from domain records, queries merged per aggregate.

pub mod account;
pub mod analytics;
pub mod connection;
pub mod enums;
pub mod ids;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod types;

use async_graphql::{EmptySubscription, Schema};

pub type AppSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

/// Deepest nesting a query may use; enough for practice → city → country and back.
pub const MAX_DEPTH: usize = 10;
/// Upper bound of the complexity score of one query: a page of 100 practices with their cities,
/// schemes, donors and funding scores about 20,000.
pub const MAX_COMPLEXITY: usize = 50_000;

/// The schema without request data: used to serve and to print the SDL.
pub fn schema() -> AppSchema {
    Schema::build(
        query::Query::default(),
        mutation::Mutation::default(),
        EmptySubscription,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .finish()
}

pub fn sdl() -> String {
    schema().sdl()
}
