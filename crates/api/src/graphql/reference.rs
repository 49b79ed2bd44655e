//! Reference data and what the base holds: countries, the USD rates funding is converted at, and
//! the inventory of the framework (the report's Table 2.2 filled in).

use async_graphql::{Context, Object, SimpleObject};
use domain::entities as d;
use rust_decimal::Decimal;

use super::enums::*;
use super::relations::record_type;
use super::resolve::{actor, catalog, edit, editor};
use crate::error::ResultExt;

record_type!(Country(d::Country));

#[Object]
impl Country {
    /// ISO 3166-1 alpha-2 code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// ISO 3166-1 alpha-3 code.
    async fn alpha3(&self) -> &str {
        &self.0.alpha3
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// UN developed (NORTH), transition (EAST) or developing (SOUTH) economy, today.
    async fn bloc(&self) -> Bloc {
        self.0.bloc.into()
    }
    /// On the UN list of Least Developed Countries.
    async fn ldc(&self) -> bool {
        self.0.ldc
    }
}

/// The USD value of one unit of a currency, at which new funding records are converted.
#[derive(SimpleObject)]
pub struct CurrencyRate {
    /// ISO 4217 code.
    currency: String,
    usd_per_unit: Decimal,
    /// The date the rate is for (YYYY-MM-DD).
    as_of: String,
    source: String,
}

impl From<d::CurrencyRate> for CurrencyRate {
    fn from(r: d::CurrencyRate) -> Self {
        CurrencyRate {
            currency: r.currency,
            usd_per_unit: r.usd_per_unit,
            as_of: r.as_of,
            source: r.source,
        }
    }
}

/// How many records carry one value of one dimension.
#[derive(SimpleObject)]
pub struct FacetCount {
    dimension: Dimension,
    value: String,
    count: i64,
}

impl From<d::FacetCount> for FacetCount {
    fn from(f: d::FacetCount) -> Self {
        FacetCount {
            dimension: f.dimension.into(),
            value: f.value,
            count: f.count,
        }
    }
}

/// Table 2.2 of the report filled in: what the base holds, per framework value.
#[derive(SimpleObject)]
pub struct Inventory {
    practice_count: i64,
    support_scheme_count: i64,
    city_count: i64,
    association_count: i64,
    donor_count: i64,
    /// Practices per orientation, modality, cooperating party, management focus and theme. A
    /// practice with several values of a dimension counts once under each.
    practice_facets: Vec<FacetCount>,
    /// Schemes per facilitating structure, funding source, support modality, theme and
    /// orientation targeted.
    scheme_facets: Vec<FacetCount>,
}

impl From<d::Inventory> for Inventory {
    fn from(i: d::Inventory) -> Self {
        Inventory {
            practice_count: i.practice_count,
            support_scheme_count: i.support_scheme_count,
            city_count: i.city_count,
            association_count: i.association_count,
            donor_count: i.donor_count,
            practice_facets: i.practice_facets.into_iter().map(Into::into).collect(),
            scheme_facets: i.scheme_facets.into_iter().map(Into::into).collect(),
        }
    }
}

fn all<T, O: From<T>>(list: Vec<T>) -> Vec<O> {
    list.into_iter().map(Into::into).collect()
}

#[derive(Default)]
pub struct CountryQuery;

#[Object]
impl CountryQuery {
    /// Every country of ISO 3166-1 with its bloc and LDC flag.
    #[graphql(complexity = "super::cost::COUNTRIES.saturating_mul(child_complexity)")]
    async fn countries(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Country>> {
        Ok(all(catalog(ctx).countries().await.api()?))
    }
}

#[derive(Default)]
pub struct InventoryQuery;

#[Object]
impl InventoryQuery {
    /// Counts of what the base holds, per framework value (the report's Table 2.2 filled in).
    #[graphql(complexity = "super::cost::weighed(super::cost::INVENTORY, child_complexity)")]
    async fn inventory(&self, ctx: &Context<'_>) -> async_graphql::Result<Inventory> {
        Ok(catalog(ctx).inventory(actor(ctx)).await.api()?.into())
    }
}

#[derive(Default)]
pub struct RateQuery;

#[Object]
impl RateQuery {
    /// The rate table new funding records are converted to USD at.
    #[graphql(complexity = "super::cost::CURRENCIES.saturating_mul(child_complexity)")]
    async fn currency_rates(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CurrencyRate>> {
        Ok(all(editor(ctx).currency_rates().await.api()?))
    }
}

#[derive(Default)]
pub struct RateMutation;

#[Object]
impl RateMutation {
    /// ADMIN: sets a currency's USD rate. Funding recorded earlier keeps the rate it was converted at.
    async fn set_currency_rate(
        &self,
        ctx: &Context<'_>,
        currency: String,
        usd_per_unit: Decimal,
        #[graphql(desc = "YYYY-MM-DD")] as_of: String,
        source: String,
    ) -> async_graphql::Result<CurrencyRate> {
        edit(ctx, |e, a| {
            e.set_currency_rate(a, &currency, usd_per_unit, &as_of, &source)
        })
        .await
    }
}
