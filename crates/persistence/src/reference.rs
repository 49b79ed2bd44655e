//! Reference data (countries, USD rates), the links between records, the inventory, and the
//! existence checks changes make.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::RwLock;

use async_trait::async_trait;
use domain::audit::AuditEntry;
use domain::editing::ExistsIn;
use domain::entities::*;
use domain::framework::*;
use domain::repository::*;
use domain::{Error, Result, Visibility};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement, UnionType};
use sea_orm::*;

use crate::entities::*;
use crate::mapping;
use crate::query::{
    self, in_list, practice_visible, scheme_visible, visible_practice_ids, visible_scheme_ids,
};
use crate::store::{SeaStore, db_err};

/// The countries read so far, by code. The table holds the ISO 3166-1 reference data, loaded into
/// a new database once and never changed by the service: a country once read is kept for the
/// process's life, and the pages that show cities' countries run no statement for them. A code
/// not kept yet (a base loaded after the process started) is read from the database.
#[derive(Default)]
pub(crate) struct KnownCountries(RwLock<HashMap<String, Country>>);

impl KnownCountries {
    /// The kept countries among `codes`, and the codes not kept.
    fn find(&self, codes: &[String]) -> (Vec<Country>, Vec<String>) {
        let known = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut found = Vec::with_capacity(codes.len());
        let mut missing = Vec::new();
        for code in codes {
            match known.get(code) {
                Some(c) => found.push(c.clone()),
                None => missing.push(code.clone()),
            }
        }
        (found, missing)
    }

    fn keep(&self, countries: &[Country]) {
        let mut known = self.0.write().unwrap_or_else(|e| e.into_inner());
        for c in countries {
            known.insert(c.code.clone(), c.clone());
        }
    }
}

#[async_trait]
impl ReferenceRepository for SeaStore {
    async fn countries_by_codes(&self, codes: &[String]) -> Result<Vec<Country>> {
        let known = self.known_countries();
        let (mut found, missing) = known.find(codes);
        if missing.is_empty() {
            return Ok(found);
        }
        // Every country at once (249 rows), not the few asked for: the next pages find theirs.
        let rows = country::Entity::find()
            .all(self.connection())
            .await
            .map_err(db_err)?;
        let all = rows
            .into_iter()
            .map(mapping::country)
            .collect::<Result<Vec<_>>>()?;
        known.keep(&all);
        found.extend(all.into_iter().filter(|c| missing.contains(&c.code)));
        Ok(found)
    }

    async fn all_countries(&self) -> Result<Vec<Country>> {
        let rows = country::Entity::find()
            .order_by_asc(country::Column::Code)
            .all(self.connection())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mapping::country).collect()
    }
}

/// `SELECT from, to FROM table WHERE from IN (ids)`.
fn pair_select(
    table: &'static str,
    from: &'static str,
    to: &'static str,
    ids: &[Id],
) -> SelectStatement {
    Query::select()
        .column(Alias::new(from))
        .column(Alias::new(to))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new(from)).is_in(in_list(ids)))
        .and_where(Expr::col(Alias::new(to)).is_not_null())
        .order_by(Alias::new(from), Order::Asc)
        .order_by(Alias::new(to), Order::Asc)
        .to_owned()
}

#[async_trait]
impl LinkRepository for SeaStore {
    async fn links(&self, link: Link, from: &[Id]) -> Result<Vec<(Id, Id)>> {
        if from.is_empty() {
            return Ok(vec![]);
        }
        let stmt = match link {
            Link::PracticeAssociations => pair_select(
                "practice_association",
                "practice_id",
                "association_id",
                from,
            ),
        };
        let mut rows = query::pairs(self.connection(), stmt).await?;
        rows.sort_unstable();
        rows.dedup();
        Ok(rows)
    }
}

#[async_trait]
impl InventoryRepository for SeaStore {
    async fn inventory(&self, vis: &Visibility) -> Result<Inventory> {
        let db = self.connection();
        let practices = query::count::<practice::Entity>(db, practice_visible(vis)).await?;
        let schemes = query::count::<support_scheme::Entity>(db, scheme_visible(vis)).await?;
        // Cities, associations and donors have no drafts: one statement counts them all.
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT (SELECT COUNT(*) FROM city) AS cities, (SELECT COUNT(*) FROM association) AS associations, \
                 (SELECT COUNT(*) FROM donor) AS donors",
            ))
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("inventory counts returned no row"))?;
        let get = |name: &str| row.try_get::<i64>("", name).map_err(db_err);

        let mut practice_facets = Query::select()
            .column(practice_tag::Column::Dimension)
            .column(practice_tag::Column::Value)
            .expr(Expr::col(practice_tag::Column::PracticeId).count())
            .from(practice_tag::Entity)
            .and_where(practice_tag::Column::PracticeId.in_subquery(visible_practice_ids(vis)))
            .group_by_col(practice_tag::Column::Dimension)
            .group_by_col(practice_tag::Column::Value)
            .to_owned();
        for (name, column) in [
            ("ORIENTATION", practice::Column::Orientation),
            ("MODALITY", practice::Column::Modality),
        ] {
            let single = Query::select()
                .expr(Expr::cust(format!("'{name}'")))
                .column(column)
                .expr(Expr::col(practice::Column::Id).count())
                .from(practice::Entity)
                .cond_where(practice_visible(vis))
                .group_by_col(column)
                .to_owned();
            practice_facets.union(UnionType::All, single);
        }
        let scheme_facets = Query::select()
            .column(scheme_tag::Column::Dimension)
            .column(scheme_tag::Column::Value)
            .expr(Expr::col(scheme_tag::Column::SchemeId).count())
            .from(scheme_tag::Entity)
            .and_where(scheme_tag::Column::SchemeId.in_subquery(visible_scheme_ids(vis)))
            .group_by_col(scheme_tag::Column::Dimension)
            .group_by_col(scheme_tag::Column::Value)
            .to_owned();
        Ok(Inventory {
            practice_count: practices,
            support_scheme_count: schemes,
            city_count: get("cities")?,
            association_count: get("associations")?,
            donor_count: get("donors")?,
            practice_facets: facets(db, practice_facets).await?,
            scheme_facets: facets(db, scheme_facets).await?,
        })
    }
}

async fn facets(db: &DatabaseConnection, stmt: SelectStatement) -> Result<Vec<FacetCount>> {
    let rows = db.query_all(&stmt).await.map_err(db_err)?;
    let mut facets = rows
        .iter()
        .map(|r| {
            let dimension: String = r.try_get_by_index(0).map_err(db_err)?;
            Ok(FacetCount {
                dimension: mapping::stored(Dimension::parse(&dimension, "dimension"))?,
                value: r.try_get_by_index(1).map_err(db_err)?,
                count: r.try_get_by_index(2).map_err(db_err)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    facets.sort_by(|a, b| (a.dimension, &a.value).cmp(&(b.dimension, &b.value)));
    Ok(facets)
}

pub(crate) fn rate(m: currency_rate::Model) -> Result<CurrencyRate> {
    Ok(CurrencyRate {
        usd_per_unit: Decimal::from_str(&m.usd_per_unit).map_err(Error::internal)?,
        currency: m.currency,
        as_of: m.as_of,
        source: m.source,
    })
}

pub(crate) async fn usd_rate(store: &SeaStore, currency: &str) -> Result<Option<CurrencyRate>> {
    currency_rate::Entity::find_by_id(currency.to_string())
        .one(store.connection())
        .await
        .map_err(db_err)?
        .map(rate)
        .transpose()
}

pub(crate) async fn currency_rates(store: &SeaStore) -> Result<Vec<CurrencyRate>> {
    currency_rate::Entity::find()
        .order_by_asc(currency_rate::Column::Currency)
        .all(store.connection())
        .await
        .map_err(db_err)?
        .into_iter()
        .map(rate)
        .collect()
}

/// The row a USD rate is stored as.
pub(crate) fn rate_row(r: &CurrencyRate) -> currency_rate::ActiveModel {
    currency_rate::ActiveModel {
        currency: Set(r.currency.clone()),
        usd_per_unit: Set(r.usd_per_unit.normalize().to_string()),
        as_of: Set(r.as_of.clone()),
        source: Set(r.source.clone()),
    }
}

/// Rates carry no version: the newest setting replaces the row. Records converted earlier
/// keep the rate they were converted at.
pub(crate) async fn save_rate(
    store: &SeaStore,
    r: &CurrencyRate,
    audit: AuditEntry,
) -> Result<CurrencyRate> {
    let txn = crate::db::write_transaction(store.connection()).await?;
    currency_rate::Entity::delete_by_id(r.currency.clone())
        .exec(&txn)
        .await
        .map_err(db_err)?;
    currency_rate::Entity::insert(rate_row(r))
        .exec(&txn)
        .await
        .map_err(db_err)?;
    crate::audit::write_audit_entry(&txn, audit).await?;
    txn.commit().await.map_err(db_err)?;
    Ok(r.clone())
}

pub(crate) async fn country_bloc(store: &SeaStore, code: &str) -> Result<Option<Bloc>> {
    match country::Entity::find_by_id(code.to_string())
        .one(store.connection())
        .await
        .map_err(db_err)?
    {
        Some(c) => mapping::stored(Bloc::parse(&c.bloc, "bloc")).map(Some),
        None => Ok(None),
    }
}

/// Cities joined to their countries' blocs, in one statement.
pub(crate) async fn city_blocs(store: &SeaStore, city_ids: &[Id]) -> Result<Vec<(Id, Bloc)>> {
    if city_ids.is_empty() {
        return Ok(vec![]);
    }
    let stmt = Query::select()
        .column((city::Entity, city::Column::Id))
        .column((country::Entity, country::Column::Bloc))
        .from(city::Entity)
        .inner_join(
            country::Entity,
            Expr::col((country::Entity, country::Column::Code))
                .equals((city::Entity, city::Column::CountryCode)),
        )
        .and_where(Expr::col((city::Entity, city::Column::Id)).is_in(in_list(city_ids)))
        .to_owned();
    let rows = store.connection().query_all(&stmt).await.map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get_by_index(0).map_err(db_err)?;
            let bloc: String = r.try_get_by_index(1).map_err(db_err)?;
            Ok((id, mapping::stored(Bloc::parse(&bloc, "bloc"))?))
        })
        .collect()
}

/// Which of `ids` exist in `table`.
pub(crate) async fn existing_ids(store: &SeaStore, table: ExistsIn, ids: &[Id]) -> Result<Vec<Id>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let name = match table {
        ExistsIn::Cities => "city",
        ExistsIn::Associations => "association",
        ExistsIn::Donors => "donor",
        ExistsIn::Practices => "practice",
        ExistsIn::Schemes => "support_scheme",
    };
    let stmt = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new(name))
        .and_where(Expr::col(Alias::new("id")).is_in(in_list(ids)))
        .to_owned();
    let rows = store.connection().query_all(&stmt).await.map_err(db_err)?;
    rows.iter()
        .map(|r| r.try_get_by_index::<i64>(0).map_err(db_err))
        .collect()
}
