//! Per-request dataloaders: every nested field of a page is fetched with one statement per kind
//! of relation, whatever the page size. Created per request because they carry the actor.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use domain::entities::*;
use domain::repository::{FundingOwner, Link};
use domain::service::Catalog;
use domain::{Actor, Error};

pub struct AppLoader {
    catalog: Catalog,
    actor: Actor,
}

pub type Loaders = DataLoader<AppLoader>;

/// Creates the loaders of one request. `window` is how long a loader gathers keys before it
/// queries (see [`crate::Settings::batch_window`]).
pub fn loaders(catalog: Catalog, actor: Actor, window: std::time::Duration) -> Loaders {
    DataLoader::new(AppLoader { catalog, actor }, tokio::spawn).delay(window)
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CountryKey(pub String);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CityKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssociationKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DonorKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgendaKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemeKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemeTagsKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperatorsKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PracticeKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PracticeTagsKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PracticeCitiesKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CityPracticesKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartnersKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndicatorsKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeedKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeedTagsKey(pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FundingKey(pub FundingOwner, pub Id);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkKey(pub Link, pub Id);

/// Keys a batch by the id they carry.
fn ids<K, F: Fn(&K) -> Id>(keys: &[K], f: F) -> Vec<Id> {
    let mut ids: Vec<Id> = keys.iter().map(f).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Groups `(owner, value)` pairs into a map holding every requested key, empty lists included.
fn grouped<K: Eq + std::hash::Hash + Copy, V>(
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

macro_rules! by_id_loader {
    ($key:ident, $value:ty, |$this:ident, $ids:ident| $fetch:expr) => {
        impl Loader<$key> for AppLoader {
            type Value = $value;
            type Error = Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Error> {
                let $this = self;
                let $ids = ids(keys, |k| k.0);
                let rows: Vec<$value> = $fetch.await?;
                Ok(rows.into_iter().map(|r| ($key(r.id), r)).collect())
            }
        }
    };
}

by_id_loader!(CityKey, City, |s, ids| s
    .catalog
    .store()
    .cities_by_ids(&ids));
by_id_loader!(AssociationKey, Association, |s, ids| s
    .catalog
    .store()
    .associations_by_ids(&ids));
by_id_loader!(DonorKey, Donor, |s, ids| s
    .catalog
    .store()
    .donors_by_ids(&ids));
by_id_loader!(SchemeKey, SupportScheme, |s, ids| s
    .catalog
    .schemes_by_ids(&s.actor, &ids));
by_id_loader!(PracticeKey, Practice, |s, ids| s
    .catalog
    .practices_by_ids(&s.actor, &ids));
by_id_loader!(NeedKey, Need, |s, ids| s
    .catalog
    .needs_by_ids(&s.actor, &ids));

macro_rules! tags_loader {
    ($key:ident, $value:ty, |$this:ident, $ids:ident| $fetch:expr) => {
        impl Loader<$key> for AppLoader {
            type Value = $value;
            type Error = Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Error> {
                let $this = self;
                let $ids = ids(keys, |k| k.0);
                let rows: Vec<(Id, $value)> = $fetch.await?;
                Ok(rows.into_iter().map(|(id, v)| ($key(id), v)).collect())
            }
        }
    };
}

tags_loader!(PracticeTagsKey, Tags, |s, ids| s
    .catalog
    .store()
    .practice_tags(&ids));
tags_loader!(SchemeTagsKey, Tags, |s, ids| s
    .catalog
    .store()
    .scheme_tags(&ids));
tags_loader!(NeedTagsKey, Tags, |s, ids| s
    .catalog
    .store()
    .need_tags(&ids));
tags_loader!(AgendaKey, Agenda, |s, ids| s.catalog.store().agendas(&ids));

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
    PracticeCity,
    |s, ids| s.catalog.store().practice_cities(&ids),
    |r| r.practice_id
);
list_loader!(
    CityPracticesKey,
    PracticeCity,
    |s, ids| s.catalog.city_practices(&s.actor, &ids),
    |r| r.city_id
);
list_loader!(
    PartnersKey,
    Partner,
    |s, ids| s.catalog.store().partners(&ids),
    |r| r.practice_id
);
list_loader!(
    IndicatorsKey,
    Indicator,
    |s, ids| s.catalog.store().indicators(&ids),
    |r| r.practice_id
);

impl Loader<OperatorsKey> for AppLoader {
    type Value = Vec<Operator>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[OperatorsKey],
    ) -> Result<HashMap<OperatorsKey, Vec<Operator>>, Error> {
        let rows = self
            .catalog
            .store()
            .scheme_operators(&ids(keys, |k| k.0))
            .await?;
        Ok(grouped(keys, OperatorsKey, rows))
    }
}

impl Loader<CountryKey> for AppLoader {
    type Value = Country;
    type Error = Error;

    async fn load(&self, keys: &[CountryKey]) -> Result<HashMap<CountryKey, Country>, Error> {
        let codes: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = self.catalog.store().countries_by_codes(&codes).await?;
        Ok(rows
            .into_iter()
            .map(|c| (CountryKey(c.code.clone()), c))
            .collect())
    }
}

/// Keys of several owners or link kinds arrive in one batch: one statement per kind.
fn by_kind<T: Copy + Eq + std::hash::Hash, K>(
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

impl Loader<FundingKey> for AppLoader {
    type Value = Vec<Funding>;
    type Error = Error;

    async fn load(&self, keys: &[FundingKey]) -> Result<HashMap<FundingKey, Vec<Funding>>, Error> {
        let mut map: HashMap<FundingKey, Vec<Funding>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (owner, ids) in by_kind(keys, |k| (k.0, k.1)) {
            for f in self.catalog.funding_of(&self.actor, owner, &ids).await? {
                let id = match owner {
                    FundingOwner::Practice => f.practice_id,
                    FundingOwner::Scheme => f.scheme_id,
                    FundingOwner::Donor => f.donor_id,
                };
                if let Some(list) = id.and_then(|id| map.get_mut(&FundingKey(owner, id))) {
                    list.push(f);
                }
            }
        }
        Ok(map)
    }
}

impl Loader<LinkKey> for AppLoader {
    type Value = Vec<Id>;
    type Error = Error;

    async fn load(&self, keys: &[LinkKey]) -> Result<HashMap<LinkKey, Vec<Id>>, Error> {
        let mut map: HashMap<LinkKey, Vec<Id>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (link, ids) in by_kind(keys, |k| (k.0, k.1)) {
            for (from, to) in self.catalog.store().links(link, &ids).await? {
                if let Some(list) = map.get_mut(&LinkKey(link, from)) {
                    list.push(to);
                }
            }
        }
        Ok(map)
    }
}
