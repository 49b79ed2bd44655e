//! Letters that are no base letter and a mark (ø, ł, ß, and those of Hausa and Akan names such
//! as ɓ and ɛ) were spelt out by PostgreSQL's `unaccent` in the full-text search of practices,
//! needs and schemes, but kept by SQLite's FTS5, whose `remove_diacritics` only drops marks:
//! "hillerod" and "lodz" found practices about Hillerød and Łódź on PostgreSQL only, and a need
//! naming Łódź matched them on PostgreSQL only.
//!
//! On SQLite each full-text index now reads its table through a view, `{table}_fts_text`, that
//! spells those letters out as `domain::values::SPELLED_OUT` says (one `replace` a letter, in
//! a chain of views, see [`LETTERS_A_VIEW`]), and its triggers read the same view; a search
//! spells its words alike. The indexes are built anew from the views: on a base of 200,000
//! practices (a debug build) this took 14 s. The names' searched text (`search_text`), which
//! spells out the same list, is written again where the list now spells a letter it did not.
//!
//! A change of `SPELLED_OUT` wants a migration like this one, or searches and the kept index
//! would spell a letter differently: a test here keeps the list's digest and fails on a change.

use sea_orm_migration::prelude::*;

use crate::m20261122_000003_full_text_search::{SEARCHED, sqlite_statements};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261220_000000_spelled_out_search"
    }
}

/// How many letters one view spells out. Each is a `replace` around the last, and SQLite
/// before 3.46 (Debian 12's `sqlite3`, for one) cannot parse an expression nested about 30
/// deep: the database would be "malformed" to it. So the letters are spelt out by a chain of
/// views, each a few `replace`s deep.
const LETTERS_A_VIEW: usize = 8;

/// `expr` with each of `letters` replaced by its spelling, in SQLite.
fn spelled(expr: &str, letters: &[(char, &str)]) -> String {
    letters
        .iter()
        .fold(expr.to_owned(), |inner, (letter, spelling)| {
            format!("replace({inner}, '{letter}', '{spelling}')")
        })
}

/// The chain of views spelling out the columns of `table`, the first reading the table, the
/// last named `{table}_fts_text`: each name with its statement.
fn views(table: &str, columns: &[&str]) -> Vec<(String, String)> {
    let layers: Vec<&[(char, &str)]> = domain::values::SPELLED_OUT.chunks(LETTERS_A_VIEW).collect();
    let mut read = table.to_owned();
    let mut views = Vec::with_capacity(layers.len());
    for (at, letters) in layers.iter().enumerate() {
        let name = if at + 1 == layers.len() {
            format!("{table}_fts_text")
        } else {
            format!("{table}_fts_spelt_{}", at + 1)
        };
        let sql = format!(
            "CREATE VIEW {name} AS SELECT id, {} FROM {read}",
            columns
                .iter()
                .map(|c| format!("{} AS {c}", spelled(c, letters)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        read = name.clone();
        views.push((name, sql));
    }
    views
}

/// The statements dropping the index of `table`, its triggers and its views, on SQLite.
fn drop_statements(table: &str, views: &[(String, String)]) -> Vec<String> {
    ["insert", "delete", "update", "update_before"]
        .iter()
        .map(|event| format!("DROP TRIGGER IF EXISTS {table}_fts_{event}"))
        .chain([format!("DROP TABLE IF EXISTS {table}_fts")])
        .chain(
            views
                .iter()
                .rev()
                .map(|(name, _)| format!("DROP VIEW IF EXISTS {name}")),
        )
        .collect()
}

/// The index of `table` made anew reading the table through its views, and the triggers
/// keeping it reading the same views, so that what a row's removal takes out of the index is
/// what its indexing put in (the text before a change or a deletion is read before it): the
/// statements on SQLite.
fn spelt_index_statements(table: &str, columns: &[&str]) -> Vec<String> {
    let cols = columns.join(", ");
    let views = views(table, columns);
    let content = format!("{table}_fts_text");
    let mut statements = drop_statements(table, &views);
    statements.extend(views.into_iter().map(|(_, sql)| sql));
    statements.extend([
        format!(
            "CREATE VIRTUAL TABLE {table}_fts USING fts5({cols}, content='{content}', \
             content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        ),
        format!("INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild')"),
        // One segment, as a bulk load leaves it (see its `merge_text_indexes`).
        format!("INSERT INTO {table}_fts({table}_fts) VALUES ('optimize')"),
    ]);
    let put = format!("INSERT INTO {table}_fts(rowid, {cols}) SELECT id, {cols} FROM {content}");
    let take = format!(
        "INSERT INTO {table}_fts({table}_fts, rowid, {cols}) SELECT 'delete', id, {cols} FROM {content}"
    );
    let triggers = [
        ("insert", "AFTER INSERT", &put, "new"),
        ("delete", "BEFORE DELETE", &take, "old"),
        ("update_before", "BEFORE UPDATE", &take, "old"),
        ("update", "AFTER UPDATE", &put, "new"),
    ];
    statements.extend(triggers.iter().map(|(name, when, body, row)| {
        format!(
            "CREATE TRIGGER {table}_fts_{name} {when} ON {table} BEGIN {body} WHERE id = {row}.id; END"
        )
    }));
    statements
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns) in SEARCHED {
            crate::on_sqlite(manager, &spelt_index_statements(table, columns)).await?;
        }
        crate::m20261218_000000_folded_names::fold_names(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns) in SEARCHED {
            // The index and triggers as the migration `full_text_search` made them.
            let statements: Vec<String> = drop_statements(table, &views(table, columns))
                .into_iter()
                .chain(sqlite_statements(table, columns))
                .collect();
            crate::on_sqlite(manager, &statements).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{LETTERS_A_VIEW, views};

    /// FNV-1a of the list as `letter=spelling;…`: stable from one Rust release to the next.
    fn digest(list: &[(char, &str)]) -> u64 {
        list.iter()
            .flat_map(|(letter, spelling)| format!("{letter}={spelling};").into_bytes())
            .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            })
    }

    /// The bases this migration ran on spell out the list as it was then: a search spelling
    /// out a letter their views do not would miss it. A change of the list wants a migration
    /// making the views anew, and this digest replaced by the new list's.
    #[test]
    fn the_list_is_the_one_the_views_were_made_with() {
        assert_eq!(
            digest(domain::values::SPELLED_OUT),
            9_984_409_350_488_690_995,
            "SPELLED_OUT changed: add a migration making SQLite's views anew"
        );
    }

    #[test]
    fn every_letter_is_spelt_out_by_one_view_of_a_few() {
        let views = views("need", &["title", "description"]);
        assert_eq!(views.last().unwrap().0, "need_fts_text");
        assert!(views[0].1.ends_with("FROM need"));
        for (letter, spelling) in domain::values::SPELLED_OUT {
            let replace = format!("'{letter}', '{spelling}')");
            let spelt_by: Vec<_> = views
                .iter()
                .filter(|(_, sql)| sql.contains(&replace))
                .collect();
            assert_eq!(spelt_by.len(), 1, "{letter}");
        }
        for (_, sql) in &views {
            assert!(
                sql.matches("replace(").count() <= 2 * LETTERS_A_VIEW,
                "{sql}"
            );
        }
    }
}
