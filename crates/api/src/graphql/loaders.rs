//! Per-request dataloaders: every nested field of a page is fetched with one statement per kind
//! of relation, whatever the page size. Created per request because they carry the actor; they
//! read only through the `Catalog`, which applies the actor's visibility.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::futures_util::future::BoxFuture;
use domain::entities::*;
use domain::page::PageRequest;
use domain::repository::{Link, Nested};
use domain::service::{Catalog, Tagged};
use domain::{Actor, Error};
use tokio::sync::Semaphore;

pub struct AppLoader {
    catalog: Catalog,
    actor: Actor,
}

impl AppLoader {
    /// The loaders' batches without a `DataLoader`, for a caller that gathers its keys itself
    /// (see [`super::direct`]).
    pub fn new(catalog: Catalog, actor: Actor) -> AppLoader {
        AppLoader { catalog, actor }
    }
}

pub type Loaders = DataLoader<AppLoader>;

/// Batches (each one statement) that one request's loaders run at a time: a page with many
/// kinds of nested lists waits rather than taking the pool's connections from other requests.
pub const BATCHES_AT_ONCE: usize = 8;

/// Creates the loaders of one request. `window` is how long a loader gathers keys before it
/// queries (see [`crate::Settings::batch_window`]).
pub fn loaders(catalog: Catalog, actor: Actor, window: std::time::Duration) -> Loaders {
    DataLoader::new(
        AppLoader { catalog, actor },
        bounded_spawner(BATCHES_AT_ONCE),
    )
    .delay(window)
}

/// Spawns each batch as its own task, at most `limit` of them running at once.
fn bounded_spawner(
    limit: usize,
) -> impl Fn(BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()> + Send + Sync + 'static {
    let permits = Arc::new(Semaphore::new(limit));
    move |batch| {
        let permits = permits.clone();
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            batch.await
        })
    }
}

/// A key the request's loaders answer, with the value they hold for it.
pub trait Key: Send + Sync + Hash + Eq + Clone + 'static {
    type Value: Send + Sync + Clone + 'static;
    fn load(
        loaders: &Loaders,
        keys: Vec<Self>,
    ) -> impl Future<Output = Result<HashMap<Self, Self::Value>, Error>> + Send;
}

impl<K> Key for K
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    AppLoader: Loader<K, Error = Error>,
{
    type Value = <AppLoader as Loader<K>>::Value;

    async fn load(loaders: &Loaders, keys: Vec<K>) -> Result<HashMap<K, Self::Value>, Error> {
        loaders.load_many(keys).await
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CountryKey(pub String);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgendaKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperatorsKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PracticeCitiesKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartnersKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndicatorsKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagsKey(pub Tagged, pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkKey(pub Link, pub Id);

/// The ids a batch of keys carries, once each.
fn ids<K, F: Fn(&K) -> Id>(keys: &[K], f: F) -> Vec<Id> {
    let mut ids: Vec<Id> = keys.iter().map(f).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Groups `(owner, value)` pairs into a map holding every requested key, empty lists included.
fn grouped<K: Eq + Hash + Copy, V>(
    keys: &[K],
    key_of: impl Fn(Id) -> K,
    rows: impl IntoIterator<Item = (Id, V)>,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (owner, value) in rows {
        if let Some(list) = map.get_mut(&key_of(owner)) {
            list.push(value);
        }
    }
    map
}

/// Keys of several owners or kinds arrive in one batch: one statement per kind.
fn by_kind<T: Copy + Eq + Hash, K>(
    keys: &[K],
    split: impl Fn(&K) -> (T, Id),
) -> HashMap<T, Vec<Id>> {
    let mut kinds: HashMap<T, Vec<Id>> = HashMap::new();
    for k in keys {
        let (kind, id) = split(k);
        kinds.entry(kind).or_default().push(id);
    }
    kinds
}

/// Records by id, through [`Catalog::by_ids`]: what the actor may not see is absent.
macro_rules! record_loaders {
    ($($key:ident => $record:ty),+ $(,)?) => {$(
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Id);

        impl Loader<$key> for AppLoader {
            type Value = Arc<$record>;
            type Error = Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Arc<$record>>, Error> {
                let rows: Vec<$record> =
                    self.catalog.by_ids(&self.actor, &ids(keys, |k| k.0)).await?;
                Ok(rows.into_iter().map(|r| ($key(r.id), Arc::new(r))).collect())
            }
        }
    )+};
}

record_loaders!(
    CityKey => City,
    AssociationKey => Association,
    DonorKey => Donor,
    SchemeKey => SupportScheme,
    PracticeKey => Practice,
    NeedKey => Need,
);

/// Lists of rows per owner, every requested owner present.
macro_rules! list_loader {
    ($key:ident, $value:ty, |$this:ident, $ids:ident| $fetch:expr, |$row:ident| $owner:expr) => {
        impl Loader<$key> for AppLoader {
            type Value = Vec<$value>;
            type Error = Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<$value>>, Error> {
                let $this = self;
                let $ids = ids(keys, |k| k.0);
                let rows: Vec<$value> = $fetch.await?;
                Ok(grouped(
                    keys,
                    $key,
                    rows.into_iter().map(|$row| ($owner, $row)),
                ))
            }
        }
    };
}

list_loader!(
    PracticeCitiesKey,
    (PracticeCity, Arc<City>),
    |s, ids| async move {
        let rows = s.catalog.practice_participants(&ids).await?;
        Ok::<_, Error>(rows.into_iter().map(|(p, c)| (p, Arc::new(c))).collect())
    },
    |r| r.0.practice_id
);
list_loader!(
    PartnersKey,
    Partner,
    |s, ids| s.catalog.partners(&ids),
    |r| r.practice_id
);
list_loader!(
    IndicatorsKey,
    Indicator,
    |s, ids| s.catalog.indicators(&ids),
    |r| r.practice_id
);

impl Loader<OperatorsKey> for AppLoader {
    type Value = Vec<Operator>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[OperatorsKey],
    ) -> Result<HashMap<OperatorsKey, Vec<Operator>>, Error> {
        let rows = self.catalog.scheme_operators(&ids(keys, |k| k.0)).await?;
        Ok(grouped(keys, OperatorsKey, rows))
    }
}

impl Loader<AgendaKey> for AppLoader {
    type Value = Agenda;
    type Error = Error;

    async fn load(&self, keys: &[AgendaKey]) -> Result<HashMap<AgendaKey, Agenda>, Error> {
        let rows = self.catalog.agendas(&ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|(id, a)| (AgendaKey(id), a)).collect())
    }
}

impl Loader<TagsKey> for AppLoader {
    type Value = Tags;
    type Error = Error;

    async fn load(&self, keys: &[TagsKey]) -> Result<HashMap<TagsKey, Tags>, Error> {
        let mut map = HashMap::new();
        for (of, ids) in by_kind(keys, |k| (k.0, k.1)) {
            let rows = self.catalog.tags(of, &ids).await?;
            map.extend(rows.into_iter().map(|(id, t)| (TagsKey(of, id), t)));
        }
        Ok(map)
    }
}

impl Loader<CountryKey> for AppLoader {
    type Value = Arc<Country>;
    type Error = Error;

    async fn load(&self, keys: &[CountryKey]) -> Result<HashMap<CountryKey, Arc<Country>>, Error> {
        let codes: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = self.catalog.countries_by_codes(&codes).await?;
        Ok(rows
            .into_iter()
            .map(|c| (CountryKey(c.code.clone()), Arc::new(c)))
            .collect())
    }
}

impl Loader<LinkKey> for AppLoader {
    type Value = Vec<Id>;
    type Error = Error;

    async fn load(&self, keys: &[LinkKey]) -> Result<HashMap<LinkKey, Vec<Id>>, Error> {
        let mut map: HashMap<LinkKey, Vec<Id>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (link, ids) in by_kind(keys, |k| (k.0, k.1)) {
            for (from, to) in self.catalog.links(link, &ids).await? {
                if let Some(list) = map.get_mut(&LinkKey(link, from)) {
                    list.push(to);
                }
            }
        }
        Ok(map)
    }
}

/// A page of one parent's nested list: the ids of up to `first + 1` children after `after`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NestedPageKey {
    pub nested: Nested,
    pub parent: Id,
    pub first: u64,
    pub after: Option<Id>,
}

/// A page of one parent's funding records, read with the records themselves: up to `first + 1`
/// after `after`, confidential amounts redacted for the actor.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FundingPageKey(pub NestedPageKey);

/// A page of one parent's support schemes, read with the schemes themselves.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemePageKey(pub NestedPageKey);

/// How many children one parent's nested list holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NestedCountKey(pub Nested, pub Id);

/// A funding record by id, its amount redacted for the actor.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FundingRecordKey(pub Id);

/// A city's part in a practice: `(city, practice)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParticipationKey(pub Id, pub Id);

/// The pages of nested lists the keys ask for: the parents asking with the same arguments (those
/// of one page of parents) in one read, `read(nested, parents, page)`.
async fn pages<T, Fut>(
    keys: &[NestedPageKey],
    read: impl Fn(Nested, Vec<Id>, PageRequest) -> Fut,
) -> Result<HashMap<NestedPageKey, Vec<T>>, Error>
where
    Fut: Future<Output = Result<Vec<(Id, T)>, Error>>,
{
    let mut map: HashMap<NestedPageKey, Vec<T>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    let mut groups: HashMap<(Nested, u64, Option<Id>), Vec<Id>> = HashMap::new();
    for k in keys {
        groups
            .entry((k.nested, k.first, k.after))
            .or_default()
            .push(k.parent);
    }
    for ((nested, first, after), parents) in groups {
        for (parent, child) in read(nested, parents, PageRequest { first, after }).await? {
            let key = NestedPageKey {
                nested,
                parent,
                first,
                after,
            };
            if let Some(list) = map.get_mut(&key) {
                list.push(child);
            }
        }
    }
    Ok(map)
}

impl Loader<NestedPageKey> for AppLoader {
    type Value = Vec<Id>;
    type Error = Error;

    async fn load(&self, keys: &[NestedPageKey]) -> Result<HashMap<NestedPageKey, Vec<Id>>, Error> {
        pages(keys, |nested, parents, page| async move {
            let catalog = &self.catalog;
            catalog
                .nested_page(&self.actor, nested, &parents, page)
                .await
        })
        .await
    }
}

/// The pages of records the wrapped keys ask for, read by `read` as [`pages`] reads them.
async fn record_pages<K, T, Fut>(
    keys: &[K],
    key: fn(&K) -> NestedPageKey,
    wrap: fn(NestedPageKey) -> K,
    read: impl Fn(Nested, Vec<Id>, PageRequest) -> Fut,
) -> Result<HashMap<K, Vec<T>>, Error>
where
    K: Hash + Eq,
    Fut: Future<Output = Result<Vec<(Id, T)>, Error>>,
{
    let inner: Vec<NestedPageKey> = keys.iter().map(key).collect();
    let found = pages(&inner, read).await?;
    Ok(found.into_iter().map(|(k, v)| (wrap(k), v)).collect())
}

/// A funding record of a page and the records it names that the page read with it.
pub type ListedFunding = (Arc<Funding>, Named);

/// The records a page of funding read with a record (see `domain::repository::FundingRow`):
/// `None` where the record names none or the page did not read it.
#[derive(Clone, Default)]
pub struct Named {
    pub donor: Option<Arc<Donor>>,
    pub practice: Option<Arc<Practice>>,
}

/// A row of a page of funding as its parent's page lists it.
pub fn listed(row: domain::repository::FundingRow) -> (Id, ListedFunding) {
    let named = Named {
        donor: row.donor,
        practice: row.practice,
    };
    (row.parent, (Arc::new(row.record), named))
}

impl Loader<FundingPageKey> for AppLoader {
    type Value = Vec<ListedFunding>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[FundingPageKey],
    ) -> Result<HashMap<FundingPageKey, Vec<ListedFunding>>, Error> {
        record_pages(
            keys,
            |k| k.0,
            FundingPageKey,
            |nested, parents, page| async move {
                let catalog = &self.catalog;
                let rows = catalog
                    .funding_page(&self.actor, nested, &parents, page)
                    .await?;
                Ok(rows.into_iter().map(listed).collect())
            },
        )
        .await
    }
}

impl Loader<SchemePageKey> for AppLoader {
    type Value = Vec<Arc<SupportScheme>>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[SchemePageKey],
    ) -> Result<HashMap<SchemePageKey, Vec<Arc<SupportScheme>>>, Error> {
        record_pages(
            keys,
            |k| k.0,
            SchemePageKey,
            |nested, parents, page| async move {
                let catalog = &self.catalog;
                let rows = catalog
                    .scheme_page(&self.actor, nested, &parents, page)
                    .await?;
                Ok(rows.into_iter().map(|(p, s)| (p, Arc::new(s))).collect())
            },
        )
        .await
    }
}

impl Loader<NestedCountKey> for AppLoader {
    type Value = i64;
    type Error = Error;

    async fn load(&self, keys: &[NestedCountKey]) -> Result<HashMap<NestedCountKey, i64>, Error> {
        let mut map: HashMap<NestedCountKey, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for (nested, parents) in by_kind(keys, |k| (k.0, k.1)) {
            let counts = self
                .catalog
                .nested_count(&self.actor, nested, &parents)
                .await?;
            for (parent, n) in counts {
                map.insert(NestedCountKey(nested, parent), n);
            }
        }
        Ok(map)
    }
}

impl Loader<FundingRecordKey> for AppLoader {
    type Value = Arc<Funding>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[FundingRecordKey],
    ) -> Result<HashMap<FundingRecordKey, Arc<Funding>>, Error> {
        let rows = self
            .catalog
            .funding_by_ids(&self.actor, &ids(keys, |k| k.0))
            .await?;
        Ok(rows
            .into_iter()
            .map(|f| (FundingRecordKey(f.id), Arc::new(f)))
            .collect())
    }
}

impl Loader<ParticipationKey> for AppLoader {
    type Value = PracticeCity;
    type Error = Error;

    async fn load(
        &self,
        keys: &[ParticipationKey],
    ) -> Result<HashMap<ParticipationKey, PracticeCity>, Error> {
        let pairs: Vec<(Id, Id)> = keys.iter().map(|k| (k.0, k.1)).collect();
        let rows = self.catalog.participations(&pairs).await?;
        Ok(rows
            .into_iter()
            .map(|p| (ParticipationKey(p.city_id, p.practice_id), p))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    #[derive(Default)]
    struct Slow {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    impl Loader<u32> for Slow {
        type Value = u32;
        type Error = Error;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Error> {
            let n = self.now.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(n, SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            self.now.fetch_sub(1, SeqCst);
            Ok(keys.iter().map(|k| (*k, *k)).collect())
        }
    }

    #[tokio::test]
    async fn a_request_runs_a_bounded_number_of_batches_at_once() {
        // One key a batch: twenty batches, all wanted at the same time.
        let loader = Arc::new(
            DataLoader::new(Slow::default(), bounded_spawner(BATCHES_AT_ONCE)).max_batch_size(1),
        );
        let wanted = (0..20u32).map(|k| {
            let loader = loader.clone();
            async move { loader.load_one(k).await }
        });
        let found = async_graphql::futures_util::future::join_all(wanted).await;
        assert!(found.iter().all(|f| matches!(f, Ok(Some(_)))));
        let most = loader.loader().most.load(SeqCst);
        assert!(
            (2..=BATCHES_AT_ONCE).contains(&most),
            "{most} batches ran at once"
        );
    }
}
