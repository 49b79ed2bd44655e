//! sea-orm entities, one module per table. Relations are expressed in the queries (sub-selects on
//! the link tables), so the entities declare none.

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
        }
    };
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
}

pub mod city {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "city")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version: i32,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
        pub name: String,
        pub kind: String,
        pub country_code: String,
        pub population: Option<i64>,
        pub latitude: Option<f64>,
        pub longitude: Option<f64>,
    }
    no_relations!();
}

pub mod association {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "association")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version: i32,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
        pub name: String,
        pub acronym: Option<String>,
        pub scope: String,
        pub country_code: Option<String>,
        pub description: Option<String>,
    }
    no_relations!();
}

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

pub mod donor {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "donor")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version: i32,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
        pub name: String,
        pub acronym: Option<String>,
        pub kind: String,
        pub country_code: Option<String>,
        pub description: Option<String>,
    }
    no_relations!();
}

tag_entity!(donor_agenda, "donor_agenda", donor_id);

pub mod support_scheme {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "support_scheme")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version: i32,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
        pub status: String,
        pub name: String,
        pub description: Option<String>,
        pub source: Option<String>,
        pub start_year: Option<i32>,
        pub end_year: Option<i32>,
        pub budget_amount: Option<String>,
        pub budget_currency: Option<String>,
        pub budget_usd_cents: Option<i64>,
        pub open_for_applications: bool,
        pub owner_kind: Option<String>,
        pub owner_id: Option<i64>,
    }
    no_relations!();
}

tag_entity!(scheme_tag, "scheme_tag", scheme_id);

pub mod scheme_operator {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "scheme_operator")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub scheme_id: i64,
        pub association_id: Option<i64>,
        pub donor_id: Option<i64>,
    }
    no_relations!();
}

pub mod practice {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "practice")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version: i32,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
        pub status: String,
        pub title: String,
        pub summary: Option<String>,
        pub context: Option<String>,
        pub outcomes: Option<String>,
        pub issues: Option<String>,
        pub source: Option<String>,
        pub start_year: Option<i32>,
        pub end_year: Option<i32>,
        pub orientation: String,
        pub modality: String,
        pub amount_required: Option<String>,
        pub amount_required_currency: Option<String>,
        pub amount_required_usd_cents: Option<i64>,
        pub owner_kind: Option<String>,
        pub owner_id: Option<i64>,
    }
    no_relations!();
}

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
}

link_entity!(
    practice_association,
    "practice_association",
    practice_id,
    association_id
);
link_entity!(practice_scheme, "practice_scheme", practice_id, scheme_id);

pub mod practice_partner {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "practice_partner")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub practice_id: i64,
        pub name: String,
        pub kind: String,
    }
    no_relations!();
}

pub mod indicator {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "indicator")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub practice_id: i64,
        pub name: String,
        pub unit: Option<String>,
        pub baseline: Option<String>,
        pub target: Option<String>,
        pub actual: Option<String>,
        pub year: Option<i32>,
    }
    no_relations!();
}

pub mod funding {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "funding")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version: i32,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
        pub practice_id: Option<i64>,
        pub scheme_id: Option<i64>,
        pub donor_id: Option<i64>,
        pub source_city_id: Option<i64>,
        pub source_name: Option<String>,
        pub source_type: String,
        pub amount: Option<String>,
        pub currency: String,
        pub rate: String,
        pub amount_usd_cents: Option<i64>,
        pub year: Option<i32>,
        pub status: String,
        pub confidential: bool,
        pub note: Option<String>,
        pub rate_source: Option<String>,
    }
    no_relations!();
}

pub mod need {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "need")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version: i32,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
        pub publication: String,
        pub city_id: i64,
        pub title: String,
        pub description: Option<String>,
        pub source: Option<String>,
        pub modality: Option<String>,
        pub amount_required: Option<String>,
        pub amount_required_currency: Option<String>,
        pub amount_required_usd_cents: Option<i64>,
        pub status: String,
        pub owner_kind: Option<String>,
        pub owner_id: Option<i64>,
    }
    no_relations!();
}

tag_entity!(need_tag, "need_tag", need_id);

pub mod app_user {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "app_user")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version: i32,
        pub created_at: ChronoDateTimeUtc,
        pub updated_at: ChronoDateTimeUtc,
        pub email: String,
        pub password_hash: String,
        pub name: String,
        pub status: String,
        pub role: Option<String>,
        pub affiliation_kind: Option<String>,
        pub affiliation_id: Option<i64>,
        pub requested_role: String,
        pub requested_affiliation_kind: Option<String>,
        pub requested_affiliation_id: Option<i64>,
    }
    no_relations!();
}

pub mod refresh_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_token")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        pub token_hash: String,
        pub family: String,
        pub created_at: ChronoDateTimeUtc,
        pub expires_at: ChronoDateTimeUtc,
        pub used_at: Option<ChronoDateTimeUtc>,
        pub revoked_at: Option<ChronoDateTimeUtc>,
    }
    no_relations!();
}

pub mod login_failure {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_failure")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub email: String,
        pub client: String,
        pub at: ChronoDateTimeUtc,
    }
    no_relations!();
}

pub mod audit_entry {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_entry")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: ChronoDateTimeUtc,
        pub actor_user_id: Option<i64>,
        pub action: String,
        pub entity: String,
        pub entity_id: i64,
        pub changes: String,
    }
    no_relations!();
}
