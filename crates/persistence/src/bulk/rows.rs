//! The rows a bulk load writes, in plain types: what a generator produces without knowing the
//! entities. Each kind of row knows its table; version, creation and update time are the load's.

use chrono::{DateTime, Utc};
use domain::framework::*;
use sea_orm::IntoActiveModel;

use crate::entities::{
    association, city, donor, funding, need, practice, practice_city, practice_scheme,
    scheme_operator, support_scheme,
};

/// An amount as stored: the decimal text, its currency and its value in USD cents.
#[derive(Debug, Clone, PartialEq)]
pub struct MoneyRow {
    pub amount: String,
    pub currency: String,
    pub usd_cents: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CityRow {
    pub id: i64,
    pub name: String,
    pub kind: CityKind,
    pub country_code: String,
    pub population: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssociationRow {
    pub id: i64,
    pub name: String,
    pub acronym: Option<String>,
    pub scope: AssociationScope,
    pub country_code: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DonorRow {
    pub id: i64,
    pub name: String,
    pub acronym: Option<String>,
    pub kind: DonorKind,
    pub country_code: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchemeRow {
    pub id: i64,
    pub status: PublicationStatus,
    pub name: String,
    pub description: Option<String>,
    pub source: Option<String>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub budget: Option<MoneyRow>,
    pub open_for_applications: bool,
}

/// One operator of a scheme: an association or a donor.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorRow {
    pub id: i64,
    pub scheme_id: i64,
    pub association_id: Option<i64>,
    pub donor_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PracticeRow {
    pub id: i64,
    pub status: PublicationStatus,
    pub title: String,
    pub summary: Option<String>,
    pub context: Option<String>,
    pub outcomes: Option<String>,
    pub issues: Option<String>,
    pub source: Option<String>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub orientation: GeographicOrientation,
    pub modality: LinkingModality,
    pub required: Option<MoneyRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PracticeCityRow {
    pub practice_id: i64,
    pub city_id: i64,
    pub role: CityRole,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PracticeSchemeRow {
    pub practice_id: i64,
    pub scheme_id: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FundingRow {
    pub id: i64,
    pub practice_id: Option<i64>,
    pub scheme_id: Option<i64>,
    pub donor_id: Option<i64>,
    pub source_city_id: Option<i64>,
    pub source_name: Option<String>,
    pub source_type: FundingSource,
    /// `None` where the source names the funder but not the sum.
    pub amount: Option<String>,
    pub currency: String,
    /// The USD rate as the rate table has it, frozen on the record.
    pub rate: String,
    pub amount_usd_cents: Option<i64>,
    pub year: Option<i32>,
    pub status: FundingStatus,
    pub confidential: bool,
    pub rate_source: Option<String>,
}

/// A published need.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedRow {
    pub id: i64,
    pub city_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub source: Option<String>,
    pub modality: Option<LinkingModality>,
    pub required: Option<MoneyRow>,
    pub status: NeedStatus,
}

/// A `(owner, dimension, value)` row of one of the tag tables (see [`super::TagTable`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub owner_id: i64,
    pub dimension: Dimension,
    pub value: String,
}

pub(crate) mod sealed {
    use chrono::{DateTime, Utc};
    use sea_orm::ActiveModelTrait;

    /// How a row becomes an insert into its table.
    pub trait Row: Send {
        type Active: ActiveModelTrait + Send;
        const TABLE: &'static str;
        fn active(self, at: DateTime<Utc>) -> Self::Active;
    }
}

/// A kind of row [`super::Loader::insert`] takes.
pub trait BulkRow: sealed::Row {}
impl<R: sealed::Row> BulkRow for R {}

/// The bookkeeping columns every loaded record shares, then the record's own.
macro_rules! record {
    ($row:ty, $module:ident, $table:literal, |$r:ident| { $($field:ident: $value:expr),* $(,)? }) => {
        impl sealed::Row for $row {
            type Active = $module::ActiveModel;
            const TABLE: &'static str = $table;
            fn active(self, at: DateTime<Utc>) -> Self::Active {
                let $r = self;
                $module::Model { version: 1, created_at: at, updated_at: at, $($field: $value),* }
                    .into_active_model()
            }
        }
    };
}

/// Rows of link tables, which carry no bookkeeping.
macro_rules! link {
    ($row:ty, $module:ident, $table:literal, |$r:ident| { $($field:ident: $value:expr),* $(,)? }) => {
        impl sealed::Row for $row {
            type Active = $module::ActiveModel;
            const TABLE: &'static str = $table;
            fn active(self, _: DateTime<Utc>) -> Self::Active {
                let $r = self;
                $module::Model { $($field: $value),* }.into_active_model()
            }
        }
    };
}

record!(CityRow, city, "city", |r| {
    id: r.id,
    name: r.name,
    kind: r.kind.as_str().into(),
    country_code: r.country_code,
    population: r.population,
    latitude: None,
    longitude: None,
});

record!(AssociationRow, association, "association", |r| {
    id: r.id,
    name: r.name,
    acronym: r.acronym,
    scope: r.scope.as_str().into(),
    country_code: r.country_code,
    description: r.description,
});

record!(DonorRow, donor, "donor", |r| {
    id: r.id,
    name: r.name,
    acronym: r.acronym,
    kind: r.kind.as_str().into(),
    country_code: r.country_code,
    description: r.description,
});

record!(SchemeRow, support_scheme, "support_scheme", |r| {
    id: r.id,
    status: r.status.as_str().into(),
    name: r.name,
    description: r.description,
    source: r.source,
    start_year: r.start_year,
    end_year: r.end_year,
    budget_amount: r.budget.as_ref().map(|m| m.amount.clone()),
    budget_currency: r.budget.as_ref().map(|m| m.currency.clone()),
    budget_usd_cents: r.budget.as_ref().map(|m| m.usd_cents),
    open_for_applications: r.open_for_applications,
    owner_kind: None,
    owner_id: None,
});

record!(PracticeRow, practice, "practice", |r| {
    id: r.id,
    status: r.status.as_str().into(),
    title: r.title,
    summary: r.summary,
    context: r.context,
    outcomes: r.outcomes,
    issues: r.issues,
    source: r.source,
    start_year: r.start_year,
    end_year: r.end_year,
    orientation: r.orientation.as_str().into(),
    modality: r.modality.as_str().into(),
    amount_required: r.required.as_ref().map(|m| m.amount.clone()),
    amount_required_currency: r.required.as_ref().map(|m| m.currency.clone()),
    amount_required_usd_cents: r.required.as_ref().map(|m| m.usd_cents),
    owner_kind: None,
    owner_id: None,
});

record!(NeedRow, need, "need", |r| {
    id: r.id,
    publication: PublicationStatus::Published.as_str().into(),
    city_id: r.city_id,
    title: r.title,
    description: r.description,
    source: r.source,
    modality: r.modality.map(|m| m.as_str().into()),
    amount_required: r.required.as_ref().map(|m| m.amount.clone()),
    amount_required_currency: r.required.as_ref().map(|m| m.currency.clone()),
    amount_required_usd_cents: r.required.as_ref().map(|m| m.usd_cents),
    status: r.status.as_str().into(),
    owner_kind: None,
    owner_id: None,
});

record!(FundingRow, funding, "funding", |r| {
    id: r.id,
    practice_id: r.practice_id,
    scheme_id: r.scheme_id,
    donor_id: r.donor_id,
    source_city_id: r.source_city_id,
    source_name: r.source_name,
    source_type: r.source_type.as_str().into(),
    amount: r.amount,
    currency: r.currency,
    rate: r.rate,
    amount_usd_cents: r.amount_usd_cents,
    year: r.year,
    status: r.status.as_str().into(),
    confidential: r.confidential,
    note: None,
    rate_source: r.rate_source,
});

link!(OperatorRow, scheme_operator, "scheme_operator", |r| {
    id: r.id,
    scheme_id: r.scheme_id,
    association_id: r.association_id,
    donor_id: r.donor_id,
});

link!(PracticeCityRow, practice_city, "practice_city", |r| {
    practice_id: r.practice_id,
    city_id: r.city_id,
    role: r.role.as_str().into(),
});

link!(PracticeSchemeRow, practice_scheme, "practice_scheme", |r| {
    practice_id: r.practice_id,
    scheme_id: r.scheme_id,
});
