//! Nested fields through the request's dataloaders: one statement per kind of relation for a
//! whole page, whatever its size. Records the actor may not see are left out of every list.

use async_graphql::{Context, ID};
use domain::entities::{self as d, Id};
use domain::repository::Link;
use domain::service::Tagged;

use super::ids::{Kind, parse_id};
use super::loaders::{CountryKey, Key, LinkKey, TagsKey};
use super::reference::Country;
use super::resolve::loaders;
use crate::error::{ApiError, ResultExt};

pub use super::cost::LIST_COST;

/// Declares an object type over a domain record: the newtype the resolvers read, and the `From`
/// that lets a service's answer become it.
macro_rules! record_type {
    ($(#[$doc:meta])* $name:ident($record:ty)) => {
        $(#[$doc])*
        ///
        /// Shared with the request's loaders, which hand the same record to every field that
        /// asks for it rather than a copy each (a scheme in many overlaps, a donor of many
        /// funding records).
        pub struct $name(pub std::sync::Arc<$record>);

        impl From<$record> for $name {
            fn from(record: $record) -> Self {
                $name(std::sync::Arc::new(record))
            }
        }

        impl From<std::sync::Arc<$record>> for $name {
            fn from(record: std::sync::Arc<$record>) -> Self {
                $name(record)
            }
        }
    };
}
pub(crate) use record_type;

/// Loads records by key and returns them in the keys' order, leaving out those not visible.
pub async fn ordered<K: Key, T>(
    ctx: &Context<'_>,
    keys: Vec<K>,
    wrap: fn(K::Value) -> T,
) -> async_graphql::Result<Vec<T>> {
    let mut found = K::load(loaders(ctx), keys.clone()).await.api()?;
    Ok(keys
        .iter()
        .filter_map(|k| found.remove(k))
        .map(wrap)
        .collect())
}

/// Records by id, in the order of the ids.
pub async fn by_ids<K: Key, T>(
    ctx: &Context<'_>,
    ids: impl IntoIterator<Item = Id>,
    key: fn(Id) -> K,
    wrap: fn(K::Value) -> T,
) -> async_graphql::Result<Vec<T>> {
    ordered(ctx, ids.into_iter().map(key).collect(), wrap).await
}

/// One record, or none when it does not exist or is not visible.
pub async fn one<K: Key, T>(
    ctx: &Context<'_>,
    key: K,
    wrap: fn(K::Value) -> T,
) -> async_graphql::Result<Option<T>> {
    let mut found = K::load(loaders(ctx), vec![key.clone()]).await.api()?;
    Ok(found.remove(&key).map(wrap))
}

/// The record an optional reference points to.
pub async fn maybe<K: Key, T>(
    ctx: &Context<'_>,
    key: Option<K>,
    wrap: fn(K::Value) -> T,
) -> async_graphql::Result<Option<T>> {
    match key {
        Some(key) => one(ctx, key, wrap).await,
        None => Ok(None),
    }
}

/// A root field's single record: the id as the client wrote it, checked, then loaded.
pub async fn by_id<K: Key, T>(
    ctx: &Context<'_>,
    kind: Kind,
    id: &ID,
    key: fn(Id) -> K,
    wrap: fn(K::Value) -> T,
) -> async_graphql::Result<Option<T>> {
    one(ctx, key(parse_id(kind, "id", id)?), wrap).await
}

/// What a loader holds for one owner (its tags, partners, funding …), empty when nothing.
pub async fn held<K: Key>(ctx: &Context<'_>, key: K) -> async_graphql::Result<K::Value>
where
    K::Value: Default,
{
    Ok(one(ctx, key, |v| v).await?.unwrap_or_default())
}

/// The visible records at the other end of a relation, in the relation's order.
pub async fn linked<K: Key, T>(
    ctx: &Context<'_>,
    link: Link,
    from: Id,
    key: fn(Id) -> K,
    wrap: fn(K::Value) -> T,
) -> async_graphql::Result<Vec<T>> {
    let ids = held(ctx, LinkKey(link, from)).await?;
    by_ids(ctx, ids, key, wrap).await
}

/// One vocabulary of a record's framework tags, as GraphQL enum values.
pub async fn tagged<A: Copy, B: From<A>>(
    ctx: &Context<'_>,
    of: Tagged,
    id: Id,
    pick: fn(&d::Tags) -> &[A],
) -> async_graphql::Result<Vec<B>> {
    let tags = held(ctx, TagsKey(of, id)).await?;
    Ok(super::enums::from_domain(pick(&tags)))
}

/// A country of the reference data; one missing is a broken installation, not a client error.
pub async fn country(ctx: &Context<'_>, code: &str) -> async_graphql::Result<Country> {
    one(ctx, CountryKey(code.to_string()), Country::from)
        .await?
        .ok_or_else(|| {
            ApiError(domain::Error::internal(format!(
                "country {code} missing from reference data"
            )))
            .into()
        })
}

pub async fn country_of(
    ctx: &Context<'_>,
    code: &Option<String>,
) -> async_graphql::Result<Option<Country>> {
    match code {
        Some(code) => country(ctx, code).await.map(Some),
        None => Ok(None),
    }
}
