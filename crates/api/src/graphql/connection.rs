//! Relay connections with a lazily counted `totalCount`.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, OutputType};
use domain::Actor;
use domain::entities::Id;
use domain::page::{Page, PageRequest};
use domain::repository::*;
use domain::service::Catalog;

use super::ids::{cursor, parse_cursor};
use crate::error::ResultExt;

/// What `totalCount` counts: the same filter as the page, without the cursor.
pub enum CountQuery {
    Practices(PracticeFilter),
    Cities(CityFilter),
    Associations(AssociationFilter),
    Donors(DonorFilter),
    Schemes(SchemeFilter),
    Needs(NeedFilter),
}

pub struct Counted(CountQuery);

#[Object]
impl Counted {
    /// The number of records matching the filter, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let catalog = ctx.data_unchecked::<Catalog>();
        let actor = ctx.data_unchecked::<Actor>();
        match &self.0 {
            CountQuery::Practices(f) => catalog.count_practices(actor, f.clone()).await,
            CountQuery::Cities(f) => catalog.count_cities(f.clone()).await,
            CountQuery::Associations(f) => catalog.count_associations(f.clone()).await,
            CountQuery::Donors(f) => catalog.count_donors(f.clone()).await,
            CountQuery::Schemes(f) => catalog.count_schemes(actor, f.clone()).await,
            CountQuery::Needs(f) => catalog.count_needs(actor, f.clone()).await,
        }
        .api()
    }
}

pub type ListConnection<N> = Connection<String, N, Counted, EmptyFields>;

pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<PageRequest> {
    PageRequest::new(first, parse_cursor(after.as_deref())?).api()
}

pub fn connection<T, N: OutputType>(
    page: Page<T>,
    id_of: fn(&T) -> Id,
    wrap: fn(T) -> N,
    total: CountQuery,
) -> ListConnection<N> {
    let mut conn = Connection::with_additional_fields(false, page.has_next_page, Counted(total));
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(cursor(id_of(&item)), wrap(item))),
    );
    conn
}

/// Complexity of a list field: its page size times what each node costs.
pub fn page_complexity(first: Option<i32>, child: usize) -> usize {
    let n = first
        .unwrap_or(domain::page::DEFAULT_PAGE_SIZE as i32)
        .clamp(0, domain::page::MAX_PAGE_SIZE as i32) as usize;
    1 + n * child.max(1)
}
