//! A page of practices read with what a nested page shows of each practice (see
//! [`domain::repository::NestedRepository::practice_page_along`]).
//!
//! Read one after the other, the page's statement and then its nested lists' statements cost
//! two round trips to PostgreSQL before the answer can be written, the second waiting for the
//! page's ids. On PostgreSQL the nested statements select the page's practices themselves, with
//! the page's own condition, and all of them run at once, each on a connection of its own, each
//! with its own snapshot of the database. A nested list is kept when its statement selected
//! exactly the practices the page's statement listed (its rows tell which, see
//! [`Parents::Selected`]): it is then what reading it for the page's ids would have found, read
//! as those reads are, one statement later or earlier. Otherwise (a practice published,
//! withdrawn or added between the statements) it is read again for the page's ids.

use std::sync::atomic::Ordering;

use domain::entities::{City, Id, Practice, PracticeCity, SupportScheme};
use domain::page::{Page, PageRequest};
use domain::repository::{Along, Alongside, FundingRow, Nested, PracticeFilter};
use domain::{Result, Visibility};
use sea_orm::DbBackend;

use crate::entities::practice;
use crate::mapping;
use crate::practice::{participants, practice_page_condition};
use crate::query::{self, Parents, funding_rows, scheme_rows};
use crate::store::SeaStore;

/// A nested list read beside the page, and the parents its statement selected.
type Read<T> = (Vec<T>, Option<Vec<Id>>);

pub(crate) async fn practice_page_along(
    store: &SeaStore,
    filter: &PracticeFilter,
    vis: &Visibility,
    page: PageRequest,
    along: &Along,
) -> Result<(Page<Practice>, Alongside)> {
    let db = store.connection();
    let backend = db.get_database_backend();
    let cond = || practice_page_condition(backend, filter, vis, page);
    let list = || {
        let (cond, id) = (cond(), practice::Column::Id);
        query::page::<practice::Entity, _>(store, cond, id, page, mapping::practice)
    };
    if backend != DbBackend::Postgres || along.is_empty() {
        let listed = list().await?;
        let ids: Vec<Id> = listed.items.iter().map(|p| p.id).collect();
        let alongside = by_ids(store, &ids, vis, along).await?;
        return Ok((listed, alongside));
    }
    let selected = query::page_ids::<practice::Entity>(cond(), practice::Column::Id, page);
    let parents = Parents::Selected(&selected);
    let (listed, (cities, schemes, funding)) =
        tokio::try_join!(list(), lists(store, parents, vis, along))?;
    let ids: Vec<Id> = listed.items.iter().map(|p| p.id).collect();
    let again = read_again(along, &ids, [&cities.1, &schemes.1, &funding.1]);
    let mut read = by_ids(store, &ids, vis, &again).await?;
    let lists = |a: &Along| {
        let asked = [a.participants, a.schemes.is_some(), a.funding.is_some()];
        asked.into_iter().filter(|&asked| asked).count() as u64
    };
    let metrics = store.metrics();
    metrics
        .lists_again
        .fetch_add(lists(&again), Ordering::Relaxed);
    let kept = lists(along) - lists(&again);
    metrics.lists_along.fetch_add(kept, Ordering::Relaxed);
    if along.participants && !again.participants {
        read.participants = cities.0;
    }
    if along.schemes.is_some() && again.schemes.is_none() {
        read.schemes = schemes.0;
    }
    if along.funding.is_some() && again.funding.is_none() {
        read.funding = funding.0;
    }
    Ok((listed, read))
}

/// What of `along` is to be read again for the page's practices `ids` (in id order): the lists
/// whose statements selected other practices (`selected`: participants, schemes, funding).
fn read_again(along: &Along, ids: &[Id], selected: [&Option<Vec<Id>>; 3]) -> Along {
    let agrees = |read: &Option<Vec<Id>>| read.as_deref() == Some(ids);
    let [cities, schemes, funding] = selected;
    Along {
        participants: along.participants && !agrees(cities),
        schemes: along.schemes.filter(|_| !agrees(schemes)),
        funding: along.funding.filter(|_| !agrees(funding)),
    }
}

/// What `along` asks, read for the practices `ids`.
async fn by_ids(
    store: &SeaStore,
    ids: &[Id],
    vis: &Visibility,
    along: &Along,
) -> Result<Alongside> {
    let (participants, schemes, funding) = lists(store, Parents::Ids(ids), vis, along).await?;
    Ok(Alongside {
        participants: participants.0,
        schemes: schemes.0,
        funding: funding.0,
    })
}

/// The lists `along` asks, of `parents`, at once.
async fn lists(
    store: &SeaStore,
    parents: Parents<'_>,
    vis: &Visibility,
    along: &Along,
) -> Result<(
    Read<(PracticeCity, City)>,
    Read<(Id, SupportScheme)>,
    Read<FundingRow>,
)> {
    tokio::try_join!(
        when(along.participants, participants(store, parents)),
        when_page(along.schemes, |p| {
            scheme_rows(store, Nested::PracticeSchemes, parents, vis, p)
        }),
        when_page(along.funding, |p| {
            funding_rows(store, Nested::PracticeFunding, parents, vis, p)
        }),
    )
}

/// `read` when `asked`, else nothing.
async fn when<T>(asked: bool, read: impl Future<Output = Result<Read<T>>>) -> Result<Read<T>> {
    match asked {
        true => read.await,
        false => Ok((Vec::new(), None)),
    }
}

/// The page `asked` read by `read`, else nothing.
async fn when_page<T, F>(
    asked: Option<PageRequest>,
    read: impl FnOnce(PageRequest) -> F,
) -> Result<Read<T>>
where
    F: Future<Output = Result<Read<T>>>,
{
    match asked {
        Some(page) => read(page).await,
        None => Ok((Vec::new(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_that_selected_other_practices_are_read_again() {
        let page = PageRequest {
            first: 20,
            after: None,
        };
        let along = Along {
            participants: true,
            schemes: Some(page),
            funding: Some(page),
        };
        let ids = [3, 5, 8];
        let same = Some(vec![3, 5, 8]);
        assert_eq!(
            read_again(&along, &ids, [&same, &same, &same]),
            Along::default()
        );
        // A practice published between the statements, one withdrawn, a list not read.
        let more = Some(vec![3, 4, 5, 8]);
        let fewer = Some(vec![3, 8]);
        assert_eq!(
            read_again(&along, &ids, [&more, &same, &fewer]),
            Along {
                participants: true,
                schemes: None,
                funding: Some(page),
            }
        );
        assert_eq!(
            read_again(&along, &ids, [&same, &None, &same]),
            Along {
                schemes: Some(page),
                ..Along::default()
            }
        );
        // Nothing asked, nothing read again; an empty page agrees with statements that
        // selected nothing.
        let none = Some(vec![]);
        assert_eq!(
            read_again(&Along::default(), &ids, [&more, &more, &more]),
            Along::default()
        );
        assert_eq!(
            read_again(&along, &[], [&none, &none, &none]),
            Along::default()
        );
        assert_eq!(
            read_again(&along, &[], [&none, &fewer, &none]).schemes,
            Some(page)
        );
    }
}
