//! sea-orm entities, one module per table. Relations are expressed in the queries (sub-selects on
//! the link tables), so the entities declare none.

/// A model read by position: from a row's columns `at..at + COLUMNS.len()`, in the order of the
/// model's fields, which is the order of its `Column`s. sea-orm reads a model by name, which
/// looks each name up in the row (and formats it first when the columns carry a prefix, as a
/// joined record's do) for every value of every row: under the nested page that was about a
/// fifth of the service's CPU.
pub trait Positional: Sized {
    /// The columns read, in order: the statement selects them so.
    const COLUMNS: &'static [&'static str];

    fn read_at(row: &sea_orm::QueryResult, at: usize) -> Result<Self, sea_orm::DbErr>;
}

/// A value of a model read from a PostgreSQL row by position.
///
/// sqlx checks, for every value it decodes, that the column's type is one the Rust type accepts
/// (comparing type descriptions it clones for the purpose): under the nested page about 5 % of
/// the service's CPU, for columns whose types the migrations fix. Integers and text are decoded
/// without that check: their decoding still refuses a NULL for a value that must be present, a
/// width that does not fit and text that is not UTF-8, and the end-to-end tests on PostgreSQL
/// read every model. Other types keep the check, since their decoding trusts the value's width.
pub trait PgColumn: Sized {
    fn read_pg(row: &sea_orm::sqlx::postgres::PgRow, at: usize) -> Result<Self, sea_orm::DbErr>;
}

/// `PgColumn` for each type, read with the given getter of sqlx's `Row`.
macro_rules! pg_column {
    ($get:ident: $($ty:ty),+) => {$(
        impl PgColumn for $ty {
            fn read_pg(row: &sea_orm::sqlx::postgres::PgRow, at: usize) -> Result<Self, sea_orm::DbErr> {
                sea_orm::sqlx::Row::$get(row, at).map_err(column_error)
            }
        }
    )+};
}

pg_column!(try_get_unchecked: i32, i64, String, Option<i32>, Option<i64>, Option<String>);
pg_column!(
    try_get: bool,
    f64,
    Option<f64>,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>
);

fn column_error(e: sea_orm::sqlx::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Type(e.to_string())
}

macro_rules! positional {
    ($($field:ident),+ $(,)?) => {
        impl crate::entities::Positional for Model {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn read_at(row: &sea_orm::QueryResult, at: usize) -> Result<Self, sea_orm::DbErr> {
                let mut next = at;
                let mut column = || {
                    next += 1;
                    next - 1
                };
                // A struct expression evaluates its fields in the order written.
                if let Some(row) = row.try_as_pg_row() {
                    use crate::entities::PgColumn;
                    return Ok(Model { $($field: PgColumn::read_pg(row, column())?),+ });
                }
                Ok(Model { $($field: row.try_get_by_index(column())?),+ })
            }
        }
    };
}

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

/// A `(owner, dimension, value)` table of framework tags.
macro_rules! tag_entity {
    ($module:ident, $table:literal, $owner:ident) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;
            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = false)]
                pub $owner: i64,
                #[sea_orm(primary_key, auto_increment = false)]
                pub dimension: String,
                #[sea_orm(primary_key, auto_increment = false)]
                pub value: String,
            }
            no_relations!();
            positional!($owner, dimension, value);

            impl ActiveModel {
                /// One tag of `owner`.
                pub fn tag(owner: i64, dimension: &str, value: &str) -> Self {
                    ActiveModel {
                        $owner: sea_orm::ActiveValue::Set(owner),
                        dimension: sea_orm::ActiveValue::Set(dimension.into()),
                        value: sea_orm::ActiveValue::Set(value.into()),
                    }
                }
            }
        }
    };
}

/// A pure many-to-many link table.
macro_rules! link_entity {
    ($module:ident, $table:literal, $left:ident, $right:ident) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;
            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = false)]
                pub $left: i64,
                #[sea_orm(primary_key, auto_increment = false)]
                pub $right: i64,
            }
            no_relations!();
            positional!($left, $right);
        }
    };
}

/// A table whose rows have an integer id. A versioned one's rows also carry the version a
/// change must name (see `versioned`) and when they were created and last updated.
macro_rules! entity {
    (versioned $module:ident, $table:literal { $($field:ident: $ty:ty),* $(,)? }) => {
        entity!(@table $module, $table {
            version: i32,
            created_at: ChronoDateTimeUtc,
            updated_at: ChronoDateTimeUtc,
            $($field: $ty),*
        });
    };
    (keyed $module:ident, $table:literal { $($field:ident: $ty:ty),* $(,)? }) => {
        entity!(@table $module, $table { $($field: $ty),* });
    };
    (@table $module:ident, $table:literal { $($field:ident: $ty:ty),* }) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;
            #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                #[sea_orm(primary_key)]
                pub id: i64,
                $(pub $field: $ty,)*
            }
            no_relations!();
            positional!(id $(, $field)*);
        }
    };
}

pub mod iati_activity {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "iati_activity")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub identifier: String,
        pub practice_id: i64,
        pub digest: String,
    }
    no_relations!();
    positional!(identifier, practice_id, digest);
}

/// The IATI organisation identifiers of donors an import made or matched.
pub mod iati_organisation {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "iati_organisation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub reference: String,
        pub donor_id: i64,
    }
    no_relations!();
    positional!(reference, donor_id);
}

pub mod country {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "country")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub alpha3: String,
        pub name: String,
        pub bloc: String,
        pub ldc: bool,
    }
    no_relations!();
    positional!(code, alpha3, name, bloc, ldc);
}

pub mod currency_rate {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "currency_rate")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub currency: String,
        pub usd_per_unit: String,
        pub as_of: String,
        pub source: String,
    }
    no_relations!();
    positional!(currency, usd_per_unit, as_of, source);
}

entity! { versioned city, "city" {
    name: String, kind: String, country_code: String,
    population: Option<i64>, latitude: Option<f64>, longitude: Option<f64>,
    search_text: String,
}}

entity! { versioned association, "association" {
    name: String, acronym: Option<String>, scope: String,
    country_code: Option<String>, description: Option<String>,
    search_text: String,
}}

link_entity!(
    association_city,
    "association_city",
    association_id,
    city_id
);
link_entity!(
    association_member,
    "association_member",
    association_id,
    member_id
);

entity! { versioned donor, "donor" {
    name: String, acronym: Option<String>, kind: String,
    country_code: Option<String>, description: Option<String>,
    search_text: String,
}}

tag_entity!(donor_agenda, "donor_agenda", donor_id);

entity! { versioned support_scheme, "support_scheme" {
    status: String, name: String, description: Option<String>, source: Option<String>,
    start_year: Option<i32>, end_year: Option<i32>,
    budget_amount: Option<String>, budget_currency: Option<String>, budget_usd_cents: Option<i64>,
    open_for_applications: bool,
    owner_kind: Option<String>, owner_id: Option<i64>,
}}

tag_entity!(scheme_tag, "scheme_tag", scheme_id);

entity! { keyed scheme_operator, "scheme_operator" {
    scheme_id: i64, association_id: Option<i64>, donor_id: Option<i64>,
}}

entity! { versioned practice, "practice" {
    status: String, title: String,
    summary: Option<String>, context: Option<String>, outcomes: Option<String>,
    issues: Option<String>, source: Option<String>,
    start_year: Option<i32>, end_year: Option<i32>,
    orientation: String, modality: String,
    amount_required: Option<String>, amount_required_currency: Option<String>,
    amount_required_usd_cents: Option<i64>,
    owner_kind: Option<String>, owner_id: Option<i64>,
}}

tag_entity!(practice_tag, "practice_tag", practice_id);

pub mod practice_city {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "practice_city")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub practice_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub city_id: i64,
        pub role: String,
    }
    no_relations!();
    positional!(practice_id, city_id, role);
}

link_entity!(
    practice_association,
    "practice_association",
    practice_id,
    association_id
);
link_entity!(practice_scheme, "practice_scheme", practice_id, scheme_id);

entity! { keyed practice_partner, "practice_partner" {
    practice_id: i64, name: String, kind: String,
}}

entity! { keyed indicator, "indicator" {
    practice_id: i64, name: String, unit: Option<String>,
    baseline: Option<String>, target: Option<String>, actual: Option<String>, year: Option<i32>,
}}

entity! { versioned funding, "funding" {
    practice_id: Option<i64>, scheme_id: Option<i64>, donor_id: Option<i64>,
    source_city_id: Option<i64>, source_name: Option<String>, source_type: String,
    amount: Option<String>, currency: String, rate: String, amount_usd_cents: Option<i64>,
    year: Option<i32>, status: String, confidential: bool, note: Option<String>,
    rate_source: Option<String>,
}}

entity! { versioned need, "need" {
    publication: String, city_id: i64, title: String,
    description: Option<String>, source: Option<String>, modality: Option<String>,
    amount_required: Option<String>, amount_required_currency: Option<String>,
    amount_required_usd_cents: Option<i64>,
    status: String, owner_kind: Option<String>, owner_id: Option<i64>,
}}

tag_entity!(need_tag, "need_tag", need_id);

entity! { versioned app_user, "app_user" {
    email: String, password_hash: String, name: String, status: String,
    role: Option<String>, affiliation_kind: Option<String>, affiliation_id: Option<i64>,
    requested_role: String,
    requested_affiliation_kind: Option<String>, requested_affiliation_id: Option<i64>,
}}

entity! { keyed refresh_token, "refresh_token" {
    user_id: i64, token_hash: String, family: String,
    created_at: ChronoDateTimeUtc, expires_at: ChronoDateTimeUtc,
    used_at: Option<ChronoDateTimeUtc>, revoked_at: Option<ChronoDateTimeUtc>,
}}

entity! { keyed password_reset, "password_reset" {
    user_id: i64, token_hash: String,
    created_at: ChronoDateTimeUtc, expires_at: ChronoDateTimeUtc,
    used_at: Option<ChronoDateTimeUtc>,
}}

entity! { keyed audit_entry, "audit_entry" {
    at: ChronoDateTimeUtc, actor_user_id: Option<i64>, action: String, entity: String,
    entity_id: i64, changes: String,
}}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{EntityTrait, IdenStatic, Iterable};

    fn column_order<E: EntityTrait>() -> Vec<&'static str> {
        E::Column::iter().map(|c| c.as_str()).collect()
    }

    /// A model is read by position from columns selected in `Column` order (by `E::find()`, or
    /// named from `COLUMNS`): the two orders must be one.
    macro_rules! same_order {
        ($($module:ident),+ $(,)?) => {
            $(assert_eq!(
                <$module::Model as Positional>::COLUMNS,
                column_order::<$module::Entity>().as_slice(),
                stringify!($module)
            );)+
        };
    }

    #[test]
    fn models_are_read_in_the_order_their_columns_are_selected() {
        same_order!(
            iati_activity,
            iati_organisation,
            country,
            currency_rate,
            city,
            association,
            association_city,
            association_member,
            donor,
            donor_agenda,
            support_scheme,
            scheme_tag,
            scheme_operator,
            practice,
            practice_tag,
            practice_city,
            practice_association,
            practice_scheme,
            practice_partner,
            indicator,
            funding,
            need,
            need_tag,
            app_user,
            refresh_token,
            password_reset,
            audit_entry,
        );
    }
}
