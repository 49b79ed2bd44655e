//! The information base of the report: reference data, the organisations, the practices and
//! support schemes with their framework classification, funding and needs.
//!
//! Money is kept as exact decimal text (the amount as given) plus whole USD cents (what SQL adds
//! up): SQLite has no exact decimal type, and cents sum exactly on both databases.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_information_base"
    }
}

/// Columns every mutable record carries: optimistic-locking version and timestamps.
fn record(table: &'static str) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(big_pk_auto("id"))
        .col(integer("version").default(1))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
        .to_owned()
}

fn fk(
    table: &'static str,
    column: &'static str,
    parent: &'static str,
    cascade: bool,
) -> ForeignKeyCreateStatement {
    let mut key = ForeignKey::create();
    key.name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(parent, if parent == "country" { "code" } else { "id" });
    if cascade {
        key.on_delete(ForeignKeyAction::Cascade);
    }
    key.to_owned()
}

fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{}", columns.join("_")))
        .table(table);
    for c in columns {
        idx.col(*c);
    }
    idx.to_owned()
}

/// `(owner, dimension, value)`: the multi-valued framework dimensions of a record.
fn tag_table(
    table: &'static str,
    owner: &'static str,
    parent: &'static str,
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(big_integer(owner))
        .col(string_len("dimension", 32))
        .col(string_len("value", 40))
        .primary_key(Index::create().col(owner).col("dimension").col("value"))
        .foreign_key(&mut fk(table, owner, parent, true))
        .to_owned()
}

/// A pure many-to-many link.
fn link_table(
    table: &'static str,
    left: (&'static str, &'static str),
    right: (&'static str, &'static str),
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(big_integer(left.0))
        .col(big_integer(right.0))
        .primary_key(Index::create().col(left.0).col(right.0))
        .foreign_key(&mut fk(table, left.0, left.1, true))
        .foreign_key(&mut fk(table, right.0, right.1, true))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: Vec<TableCreateStatement> = vec![
            Table::create()
                .table("country")
                .col(char_len("code", 2).primary_key())
                .col(char_len("alpha3", 3))
                .col(string_len("name", 100))
                .col(string_len("bloc", 8))
                .col(boolean("ldc"))
                .to_owned(),
            Table::create()
                .table("currency_rate")
                .col(char_len("currency", 3).primary_key())
                .col(string_len("usd_per_unit", 40))
                .col(string_len("as_of", 10))
                .col(string_len("source", 200))
                .to_owned(),
            record("city")
                .col(string_len("name", 200))
                .col(string_len("kind", 24))
                .col(char_len("country_code", 2))
                .col(big_integer_null("population"))
                .col(double_null("latitude"))
                .col(double_null("longitude"))
                .foreign_key(&mut fk("city", "country_code", "country", false))
                .to_owned(),
            record("association")
                .col(string_len("name", 200))
                .col(string_len_null("acronym", 40))
                .col(string_len("scope", 16))
                .col(char_len_null("country_code", 2))
                .col(text_null("description"))
                .foreign_key(&mut fk("association", "country_code", "country", false))
                .to_owned(),
            link_table(
                "association_city",
                ("association_id", "association"),
                ("city_id", "city"),
            ),
            link_table(
                "association_member",
                ("association_id", "association"),
                ("member_id", "association"),
            ),
            record("donor")
                .col(string_len("name", 200))
                .col(string_len_null("acronym", 40))
                .col(string_len("kind", 24))
                .col(char_len_null("country_code", 2))
                .col(text_null("description"))
                .foreign_key(&mut fk("donor", "country_code", "country", false))
                .to_owned(),
            tag_table("donor_agenda", "donor_id", "donor"),
            record("support_scheme")
                .col(string_len("status", 16))
                .col(string_len("name", 200))
                .col(text_null("description"))
                .col(string_len_null("source", 500))
                .col(integer_null("start_year"))
                .col(integer_null("end_year"))
                .col(string_len_null("budget_amount", 40))
                .col(char_len_null("budget_currency", 3))
                .col(big_integer_null("budget_usd_cents"))
                .col(boolean("open_for_applications"))
                .to_owned(),
            tag_table("scheme_tag", "scheme_id", "support_scheme"),
            Table::create()
                .table("scheme_operator")
                .col(big_pk_auto("id"))
                .col(big_integer("scheme_id"))
                .col(big_integer_null("association_id"))
                .col(big_integer_null("donor_id"))
                .foreign_key(&mut fk(
                    "scheme_operator",
                    "scheme_id",
                    "support_scheme",
                    true,
                ))
                .foreign_key(&mut fk(
                    "scheme_operator",
                    "association_id",
                    "association",
                    true,
                ))
                .foreign_key(&mut fk("scheme_operator", "donor_id", "donor", true))
                .to_owned(),
            record("practice")
                .col(string_len("status", 16))
                .col(string_len("title", 200))
                .col(string_len_null("summary", 1000))
                .col(text_null("context"))
                .col(text_null("outcomes"))
                .col(text_null("issues"))
                .col(string_len_null("source", 500))
                .col(integer_null("start_year"))
                .col(integer_null("end_year"))
                .col(string_len("orientation", 16))
                .col(string_len("modality", 16))
                .col(string_len_null("amount_required", 40))
                .col(char_len_null("amount_required_currency", 3))
                .col(big_integer_null("amount_required_usd_cents"))
                .to_owned(),
            tag_table("practice_tag", "practice_id", "practice"),
            Table::create()
                .table("practice_city")
                .col(big_integer("practice_id"))
                .col(big_integer("city_id"))
                .col(string_len("role", 16))
                .primary_key(Index::create().col("practice_id").col("city_id"))
                .foreign_key(&mut fk("practice_city", "practice_id", "practice", true))
                .foreign_key(&mut fk("practice_city", "city_id", "city", true))
                .to_owned(),
            link_table(
                "practice_association",
                ("practice_id", "practice"),
                ("association_id", "association"),
            ),
            link_table(
                "practice_scheme",
                ("practice_id", "practice"),
                ("scheme_id", "support_scheme"),
            ),
            Table::create()
                .table("practice_partner")
                .col(big_pk_auto("id"))
                .col(big_integer("practice_id"))
                .col(string_len("name", 200))
                .col(string_len("kind", 32))
                .foreign_key(&mut fk("practice_partner", "practice_id", "practice", true))
                .to_owned(),
            Table::create()
                .table("indicator")
                .col(big_pk_auto("id"))
                .col(big_integer("practice_id"))
                .col(string_len("name", 200))
                .col(string_len_null("unit", 40))
                .col(string_len_null("baseline", 40))
                .col(string_len_null("target", 40))
                .col(string_len_null("actual", 40))
                .col(integer_null("year"))
                .foreign_key(&mut fk("indicator", "practice_id", "practice", true))
                .to_owned(),
            record("funding")
                .col(big_integer_null("practice_id"))
                .col(big_integer_null("scheme_id"))
                .col(big_integer_null("donor_id"))
                .col(big_integer_null("source_city_id"))
                .col(string_len_null("source_name", 200))
                .col(string_len("source_type", 32))
                .col(string_len_null("amount", 40))
                .col(char_len("currency", 3))
                .col(string_len("rate", 40))
                .col(big_integer_null("amount_usd_cents"))
                .col(integer_null("year"))
                .col(string_len("status", 16))
                .col(boolean("confidential").default(false))
                .col(string_len_null("note", 1000))
                .foreign_key(&mut fk("funding", "practice_id", "practice", true))
                .foreign_key(&mut fk("funding", "scheme_id", "support_scheme", true))
                .foreign_key(&mut fk("funding", "donor_id", "donor", false))
                .foreign_key(&mut fk("funding", "source_city_id", "city", false))
                .to_owned(),
            record("need")
                .col(string_len("publication", 16))
                .col(big_integer("city_id"))
                .col(string_len("title", 200))
                .col(text_null("description"))
                .col(string_len_null("source", 500))
                .col(string_len_null("modality", 16))
                .col(string_len_null("amount_required", 40))
                .col(char_len_null("amount_required_currency", 3))
                .col(big_integer_null("amount_required_usd_cents"))
                .col(string_len("status", 16))
                .foreign_key(&mut fk("need", "city_id", "city", true))
                .to_owned(),
            tag_table("need_tag", "need_id", "need"),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }

        // Foreign keys (the second column of link-table keys) and every filtered column.
        let indexes = [
            index("city", &["country_code"]),
            index("city", &["name"]),
            index("association", &["scope"]),
            index("association", &["country_code"]),
            index("association_city", &["city_id"]),
            index("association_member", &["member_id"]),
            index("donor", &["kind"]),
            index("donor", &["country_code"]),
            index("donor_agenda", &["dimension", "value"]),
            index("support_scheme", &["status"]),
            index("support_scheme", &["open_for_applications"]),
            index("scheme_tag", &["dimension", "value"]),
            index("scheme_operator", &["scheme_id"]),
            index("scheme_operator", &["association_id"]),
            index("scheme_operator", &["donor_id"]),
            index("practice", &["status"]),
            index("practice", &["orientation"]),
            index("practice", &["modality"]),
            index("practice", &["start_year", "end_year"]),
            index("practice_tag", &["dimension", "value"]),
            index("practice_city", &["city_id"]),
            index("practice_association", &["association_id"]),
            index("practice_scheme", &["scheme_id"]),
            index("practice_partner", &["practice_id"]),
            index("indicator", &["practice_id"]),
            index("funding", &["practice_id"]),
            index("funding", &["scheme_id"]),
            index("funding", &["donor_id"]),
            index("funding", &["source_city_id"]),
            index("funding", &["status"]),
            index("need", &["city_id"]),
            index("need", &["status"]),
            index("need", &["publication"]),
            index("need_tag", &["dimension", "value"]),
        ];
        for idx in indexes {
            manager.create_index(idx).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "need_tag",
            "need",
            "funding",
            "indicator",
            "practice_partner",
            "practice_scheme",
            "practice_association",
            "practice_city",
            "practice_tag",
            "practice",
            "scheme_operator",
            "scheme_tag",
            "support_scheme",
            "donor_agenda",
            "donor",
            "association_member",
            "association_city",
            "association",
            "city",
            "currency_rate",
            "country",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
