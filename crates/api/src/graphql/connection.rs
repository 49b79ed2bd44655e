//! Relay connections of the root lists, with a lazily counted `totalCount`, and the one way a
//! root list is answered.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, ObjectType, OutputType};
use domain::Actor;
use domain::entities::Id;
use domain::page::{Page, PageRequest};
use domain::service::{Catalog, Listing};

use domain::repository::Nested;

use super::ids::{IdCursor, parse_cursor};
use super::loaders::{Key, NestedCountKey, NestedPageKey};
use super::relations::held;
use super::resolve::{actor, catalog, loaders};
use crate::error::ResultExt;

/// A root list's filter as the client writes it.
pub trait FilterInput: Default {
    type Domain: Listing;
    /// Checks the ids and converts the enums; the service checks the rest.
    fn into_domain(self) -> async_graphql::Result<Self::Domain>;
    /// The full-text search the filter asks for, which weighs on the request's cost.
    fn text(&self) -> Option<&str>;
}

type Counting<'a> = Pin<Box<dyn Future<Output = domain::Result<i64>> + Send + 'a>>;

/// A filter kept for `totalCount`, whatever list it belongs to.
pub trait Total: Send + Sync {
    fn total<'a>(&'a self, catalog: &'a Catalog, actor: &'a Actor) -> Counting<'a>;
}

impl<F: Listing> Total for F {
    fn total<'a>(&'a self, catalog: &'a Catalog, actor: &'a Actor) -> Counting<'a> {
        Box::pin(catalog.count(actor, self.clone()))
    }
}

/// The fields a connection adds, counted only when asked for: for a root list the same filter
/// as the page without the cursor, for a nested list its parent's children.
pub enum Counted {
    Root(Box<dyn Total>),
    Nested(Nested, Id),
    /// A list already computed in full (the members of an analytic cell).
    Known(usize),
}

#[Object]
impl Counted {
    /// The number of records in the list, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        match self {
            Counted::Root(filter) => filter.total(catalog(ctx), actor(ctx)).await.api(),
            Counted::Nested(nested, parent) => held(ctx, NestedCountKey(*nested, *parent)).await,
            Counted::Known(n) => Ok(*n as i64),
        }
    }
}

pub type ListConnection<N> = Connection<IdCursor, N, Counted, EmptyFields>;

pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<PageRequest> {
    PageRequest::new(first, parse_cursor(after.as_deref())?).api()
}

/// A page as a connection: one edge per item, its cursor made of the item's id.
pub fn connection<T, N: OutputType, C: ObjectType>(
    page: Page<T>,
    id_of: fn(&T) -> Id,
    wrap: impl Fn(T) -> N,
    fields: C,
) -> Connection<IdCursor, N, C, EmptyFields> {
    let mut conn = Connection::with_additional_fields(false, page.has_next_page, fields);
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(IdCursor(id_of(&item)), wrap(item))),
    );
    conn
}

/// A root list: the page is read first, the filter's ids next, then the service is asked.
pub async fn list<F: FilterInput, N: OutputType>(
    ctx: &Context<'_>,
    filter: Option<F>,
    first: Option<i32>,
    after: Option<String>,
    wrap: fn(<F::Domain as Listing>::Item) -> N,
) -> async_graphql::Result<ListConnection<N>> {
    let page = page_request(first, after)?;
    let filter = filter.unwrap_or_default().into_domain()?;
    let items = catalog(ctx)
        .list(actor(ctx), filter.clone(), page)
        .await
        .api()?;
    Ok(connection(
        items,
        F::Domain::id,
        wrap,
        Counted::Root(Box::new(filter)),
    ))
}

/// A nested list: one page of `parent`'s children, read for the whole page of parents at once,
/// each child then loaded by `key` (which applies the actor's visibility once more).
pub async fn nested<K: Key, N: OutputType>(
    ctx: &Context<'_>,
    nested: Nested,
    parent: Id,
    first: Option<i32>,
    after: Option<String>,
    key: impl Fn(Id) -> K,
    wrap: fn(K::Value) -> N,
) -> async_graphql::Result<ListConnection<N>> {
    let page = page_request(first, after)?;
    let mut children = held(
        ctx,
        NestedPageKey {
            nested,
            parent,
            first: page.first,
            after: page.after,
        },
    )
    .await?;
    let counted = Counted::Nested(nested, parent);
    loaded_page(ctx, &mut children, page.first, key, wrap, counted).await
}

/// A nested list whose page is read with the children themselves (`key` wraps the page's key,
/// `edge` gives a child's id and node): one statement for the whole page of parents, no loading
/// by id after it.
pub async fn nested_records<K, T, N>(
    ctx: &Context<'_>,
    nested: Nested,
    parent: Id,
    first: Option<i32>,
    after: Option<String>,
    key: fn(NestedPageKey) -> K,
    edge: fn(&T) -> (Id, N),
) -> async_graphql::Result<ListConnection<N>>
where
    K: Key<Value = Vec<T>>,
    N: OutputType,
{
    let page = page_request(first, after)?;
    let children = held(
        ctx,
        key(NestedPageKey {
            nested,
            parent,
            first: page.first,
            after: page.after,
        }),
    )
    .await?;
    let has_next_page = children.len() as u64 > page.first;
    let counted = Counted::Nested(nested, parent);
    let mut conn = Connection::with_additional_fields(false, has_next_page, counted);
    conn.edges
        .extend(children.iter().take(page.first as usize).map(|child| {
            let (id, node) = edge(child);
            Edge::new(IdCursor(id), node)
        }));
    Ok(conn)
}

/// The connection of a page of child ids read with one more than `first` (which tells whether
/// more follow), each child loaded by `key`; those the actor may not see are left out.
async fn loaded_page<K: Key, N: OutputType>(
    ctx: &Context<'_>,
    children: &mut Vec<Id>,
    first: u64,
    key: impl Fn(Id) -> K,
    wrap: fn(K::Value) -> N,
    counted: Counted,
) -> async_graphql::Result<ListConnection<N>> {
    let has_next_page = children.len() as u64 > first;
    children.truncate(first as usize);
    let keys: Vec<K> = children.iter().map(|&c| key(c)).collect();
    let mut found = K::load(loaders(ctx), keys.clone()).await.api()?;
    let mut conn = Connection::with_additional_fields(false, has_next_page, counted);
    conn.edges.extend(
        children
            .drain(..)
            .zip(keys)
            .filter_map(|(id, k)| found.remove(&k).map(|v| Edge::new(IdCursor(id), wrap(v)))),
    );
    Ok(conn)
}

/// A page of a list of ids already held in full, each item then loaded by `key`.
pub async fn held_page<K: Key, N: OutputType>(
    ctx: &Context<'_>,
    ids: &[Id],
    first: Option<i32>,
    after: Option<String>,
    key: impl Fn(Id) -> K,
    wrap: fn(K::Value) -> N,
) -> async_graphql::Result<ListConnection<N>> {
    let page = page_request(first, after)?;
    let (mut children, total) = held_children(ids, &page);
    loaded_page(
        ctx,
        &mut children,
        page.first,
        key,
        wrap,
        Counted::Known(total),
    )
    .await
}

/// A page of a list of ids already held in full, whose items were loaded by `key` beforehand
/// (`found`, for many such lists at once): the page waits on nothing. A list that waits on the
/// loaders stays suspended, its state held, until their batch is read; the two hundred lists
/// of `schemeOverlaps` each did, for the same few hundred schemes.
pub fn preloaded_page<K: Key, N: OutputType>(
    ids: &[Id],
    first: Option<i32>,
    after: Option<String>,
    found: &HashMap<K, K::Value>,
    key: impl Fn(Id) -> K,
    wrap: fn(K::Value) -> N,
) -> async_graphql::Result<ListConnection<N>> {
    let page = page_request(first, after)?;
    let (mut children, total) = held_children(ids, &page);
    let has_next_page = children.len() as u64 > page.first;
    children.truncate(page.first as usize);
    let mut conn = Connection::with_additional_fields(false, has_next_page, Counted::Known(total));
    conn.edges.extend(children.into_iter().filter_map(|id| {
        found
            .get(&key(id))
            .map(|v| Edge::new(IdCursor(id), wrap(v.clone())))
    }));
    Ok(conn)
}

/// The ids of a page of a held list (one more than asked for, which tells whether more
/// follow), and the list's length.
pub(crate) fn held_children(ids: &[Id], page: &PageRequest) -> (Vec<Id>, usize) {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let total = sorted.len();
    let children = sorted
        .into_iter()
        .filter(|&id| page.after.is_none_or(|after| id > after))
        .take(page.first as usize + 1)
        .collect();
    (children, total)
}

/// Complexity of a list field: its page size times what each node costs.
pub fn page_complexity(first: Option<i32>, child: usize) -> usize {
    super::cost::page(first, child)
}

/// An aggregate's root fields: the paginated list `$list(filter, first, after)` and the single
/// record `$one(id)`, read through the request's loaders.
macro_rules! root_fields {
    (
        $query:ident { $(#[$doc:meta])* $list:ident($filter:ty), $one:ident($key:ident) -> $node:ident }
    ) => {
        #[derive(Default)]
        pub struct $query;

        #[async_graphql::Object]
        impl $query {
            $(#[$doc])*
            #[graphql(complexity = "crate::graphql::cost::root_list(first, filter.as_ref().and_then(crate::graphql::connection::FilterInput::text).is_some(), child_complexity)")]
            async fn $list(
                &self,
                ctx: &async_graphql::Context<'_>,
                filter: Option<$filter>,
                #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
                after: Option<String>,
            ) -> async_graphql::Result<$crate::graphql::connection::ListConnection<$node>> {
                $crate::graphql::connection::list(ctx, filter, first, after, <$node>::from).await
            }

            async fn $one(
                &self,
                ctx: &async_graphql::Context<'_>,
                id: async_graphql::ID,
            ) -> async_graphql::Result<Option<$node>> {
                $crate::graphql::relations::by_id(ctx, $crate::graphql::ids::Kind::$node, &id, $key, $node).await
            }
        }
    };
}
pub(crate) use root_fields;
