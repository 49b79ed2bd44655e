//! What a bulk load writes. Records are the domain's own, turned into rows by the same
//! [`Versioned`] code the ordinary write path uses, so a loaded record is stored exactly as a saved
//! one would be; only their children (tags, cities, scheme links, operators) go in as plain rows of
//! their own, table by table. Version, creation and update time are the load's.

use chrono::{DateTime, Utc};
use domain::Result;
use domain::editing::{NeedRecord, PracticeRecord, SchemeRecord};
use domain::entities::{Agenda, Association, City, Donor, Funding};
use domain::framework::*;
use sea_orm::IntoActiveModel;

use crate::entities::{
    association, city, donor, funding, need, practice, practice_city, practice_scheme,
    scheme_operator, support_scheme,
};
use crate::funding::FundingRow;
use crate::profiles::DonorRow;
use crate::versioned::Versioned;

/// A funding record with its amount in USD cents, as it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedFunding {
    pub funding: Funding,
    pub amount_usd_cents: Option<i64>,
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

/// A `(owner, dimension, value)` row of one of the tag tables (see [`super::TagTable`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub owner_id: i64,
    pub dimension: Dimension,
    pub value: String,
}

pub(crate) mod sealed {
    use chrono::{DateTime, Utc};
    use domain::Result;
    use sea_orm::ActiveModelTrait;

    /// How a row becomes an insert into its table.
    pub trait Row: Send {
        type Active: ActiveModelTrait + Send;
        const TABLE: &'static str;
        fn active(self, at: DateTime<Utc>) -> Result<Self::Active>;
    }
}

/// A kind of row [`super::Loader::insert`] takes.
pub trait BulkRow: sealed::Row {}
impl<R: sealed::Row> BulkRow for R {}

/// A record stored as its [`Versioned`] form stores it, under the id it brings.
macro_rules! record {
    ($record:ty, $module:ident, |$r:ident| $versioned:expr) => {
        impl sealed::Row for $record {
            type Active = $module::ActiveModel;
            const TABLE: &'static str = stringify!($module);
            fn active(self, at: DateTime<Utc>) -> Result<Self::Active> {
                let $r = &self;
                $versioned.numbered_row(at)
            }
        }
    };
}

record!(City, city, |c| c);
record!(Association, association, |a| a);
record!(SchemeRecord, support_scheme, |s| s);
record!(PracticeRecord, practice, |p| p);
record!(NeedRecord, need, |n| n);
// A donor's agenda goes in as tag rows of its own.
record!(Donor, donor, |d| DonorRow {
    donor: d,
    agenda: &Agenda::default()
});
record!(PricedFunding, funding, |f| FundingRow {
    funding: &f.funding,
    usd_cents: f.amount_usd_cents
});

/// Rows of link tables, which carry no bookkeeping.
macro_rules! link {
    ($row:ty, $module:ident, |$r:ident| { $($field:ident: $value:expr),* $(,)? }) => {
        impl sealed::Row for $row {
            type Active = $module::ActiveModel;
            const TABLE: &'static str = stringify!($module);
            fn active(self, _: DateTime<Utc>) -> Result<Self::Active> {
                let $r = self;
                Ok($module::Model { $($field: $value),* }.into_active_model())
            }
        }
    };
}

link!(OperatorRow, scheme_operator, |r| {
    id: r.id,
    scheme_id: r.scheme_id,
    association_id: r.association_id,
    donor_id: r.donor_id,
});

link!(PracticeCityRow, practice_city, |r| {
    practice_id: r.practice_id,
    city_id: r.city_id,
    role: r.role.as_str().into(),
});

link!(PracticeSchemeRow, practice_scheme, |r| {
    practice_id: r.practice_id,
    scheme_id: r.scheme_id,
});
