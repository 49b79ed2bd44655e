//! What the read repositories share: who may see what, text search, tag filters, and the
//! find-by-ids / page / count / children-of statements every repository runs.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use domain::actor::Affiliation;
use domain::entities::{Donor, Funding, Id, Practice, PracticeCity, SupportScheme, Tags};
use domain::framework::Dimension;
use domain::page::{Page, PageRequest};
use domain::repository::{
    Along, Alongside, FundingRow, Nested, NestedRepository, NestedRows, PracticeFilter,
};
use domain::{Error, Result, Visibility};
use migration::SEARCH_CONFIGURATION;
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, Expr, Func, IntoColumnRef, IntoIden, IntoTableRef,
    LikeExpr, Query, SelectStatement, SimpleExpr, UnionType, WindowStatement, WithClause,
};
use sea_orm::*;

use crate::entities::*;
use crate::funding::{funding_visible, funding_visible_hashed, scheme_part_visible};
use crate::mapping;
use crate::store::{SeaStore, db_err};

const PUBLISHED: &str = "PUBLISHED";

/// `column = 'VALUE'` with a status of the framework written into the statement's text instead
/// of bound. PostgreSQL plans a prepared statement anew at every execution while the plan it
/// would keep for any value looks dearer than the one for the value given: for a bound status it
/// assumes a third of the rows match where nine in ten of the practices are published, so a
/// page of practices was planned at each request (0.11 ms, as long as running it). Written in,
/// the status is part of the plan kept, and partial indexes on it can be used. Only the
/// framework's own words, upper-case letters and `_`, are written in; anything else is bound.
pub(crate) fn status_is<C: ColumnTrait>(column: C, status: &'static str) -> SimpleExpr {
    if !status.is_empty() && status.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        column.into_expr().eq(Expr::cust(format!("'{status}'")))
    } else {
        column.eq(status)
    }
}

/// A PostgreSQL statement with each `LIMIT $n` whose bound value is a whole number written in,
/// and its other placeholders renumbered. sea-query binds every limit; for a bound limit
/// PostgreSQL's plan kept for any value expects a tenth of the rows (see [`status_is`]), which
/// under a LATERAL read of a donor's funding made planning each execution look cheaper: the
/// donor page's funding statement was planned at every request (0.84 ms against 3.38 ms of
/// running it). Limits are page sizes, bounded, so the texts are few. Quoted text is left alone;
/// anything unexpected leaves the statement as it was.
pub(crate) fn limits_written(statement: Statement) -> Statement {
    use std::fmt::Write;
    let Some(values) = &statement.values else {
        return statement;
    };
    let (sql, bound) = (statement.sql.as_str(), &values.0);
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut kept = Vec::with_capacity(bound.len());
    let mut renumbered: Vec<Option<usize>> = vec![None; bound.len()];
    let (mut copied, mut at, mut quote) = (0, 0, None);
    while at < bytes.len() {
        let b = bytes[at];
        if let Some(q) = quote {
            // A doubled quote closes and opens again: the same as staying inside.
            if b == q {
                quote = None;
            }
            at += 1;
            continue;
        }
        if b == b'\'' || b == b'"' {
            quote = Some(b);
            at += 1;
            continue;
        }
        let digits = bytes[at + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if b != b'$' || digits == 0 {
            at += 1;
            continue;
        }
        let end = at + 1 + digits;
        let Some(index) = sql[at + 1..end]
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|&i| i < bound.len())
        else {
            return statement;
        };
        out.push_str(&sql[copied..at]);
        let limit = match &bound[index] {
            Value::BigUnsigned(Some(n)) => Some(*n),
            Value::BigInt(Some(n)) => u64::try_from(*n).ok(),
            _ => None,
        }
        .filter(|_| out.trim_end().ends_with("LIMIT"));
        match limit {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => {
                let number = *renumbered[index].get_or_insert_with(|| {
                    kept.push(bound[index].clone());
                    kept.len()
                });
                let _ = write!(out, "${number}");
            }
        }
        copied = end;
        at = end;
    }
    if quote.is_some() {
        return statement;
    }
    out.push_str(&sql[copied..]);
    Statement {
        sql: out,
        values: Some(Values(kept)),
        db_backend: statement.db_backend,
    }
}

/// `(owner_kind, owner_id) = affiliation`: the record's own organisation.
fn owned_by<C: ColumnTrait>(kind: C, id: C, a: &Affiliation) -> Condition {
    Condition::all().add(kind.eq(a.kind())).add(id.eq(a.id()))
}

/// `column IN (SELECT select FROM table WHERE condition)`.
pub(crate) fn in_select<E: EntityTrait>(
    column: impl ColumnTrait,
    table: E,
    select: E::Column,
    condition: SimpleExpr,
) -> SimpleExpr {
    column.in_subquery(
        Query::select()
            .column(select)
            .from(table)
            .and_where(condition)
            .to_owned(),
    )
}

/// Practices the viewer may see: published ones, and for a member also the drafts of its
/// organisation and of the practices its city or association takes part in.
pub(crate) fn practice_visible(vis: &Visibility) -> Condition {
    use crate::entities::practice::Column as P;
    match vis {
        Visibility::Everything => Condition::all(),
        Visibility::Published => Condition::all().add(status_is(P::Status, PUBLISHED)),
        Visibility::Member(a) => Condition::any()
            .add(status_is(P::Status, PUBLISHED))
            .add(practice_of_member(a)),
    }
}

/// The practices a member sees whatever their status: its organisation's, and those its city or
/// association takes part in.
pub(crate) fn practice_of_member(a: &Affiliation) -> Condition {
    use crate::entities::practice::Column as P;
    let any = Condition::any().add(owned_by(P::OwnerKind, P::OwnerId, a));
    match a {
        Affiliation::City(c) => any.add(in_select(
            P::Id,
            practice_city::Entity,
            practice_city::Column::PracticeId,
            practice_city::Column::CityId.eq(*c),
        )),
        Affiliation::Association(x) => any.add(in_select(
            P::Id,
            practice_association::Entity,
            practice_association::Column::PracticeId,
            practice_association::Column::AssociationId.eq(*x),
        )),
        Affiliation::Donor(_) => any,
    }
}

/// The ids of the practices a member sees whatever their status, as a statement of one column
/// `id`, each once (see [`practice_of_member`]).
pub(crate) fn practices_of_member(a: &Affiliation) -> SelectStatement {
    use crate::entities::practice::Column as P;
    let mut owned = Query::select()
        .expr_as(Expr::col((practice::Entity, P::Id)), Alias::new("id"))
        .from(practice::Entity)
        .and_where(P::OwnerKind.eq(a.kind()))
        .and_where(P::OwnerId.eq(a.id()))
        .to_owned();
    let taking_part = match a {
        Affiliation::City(c) => Query::select()
            .expr_as(
                Expr::col(practice_city::Column::PracticeId),
                Alias::new("id"),
            )
            .from(practice_city::Entity)
            .and_where(practice_city::Column::CityId.eq(*c))
            .to_owned(),
        Affiliation::Association(x) => Query::select()
            .expr_as(
                Expr::col(practice_association::Column::PracticeId),
                Alias::new("id"),
            )
            .from(practice_association::Entity)
            .and_where(practice_association::Column::AssociationId.eq(*x))
            .to_owned(),
        Affiliation::Donor(_) => return owned,
    };
    owned.union(UnionType::Distinct, taking_part).to_owned()
}

/// Practices not published: with [`practice_of_member`], what a member sees besides the
/// published ones.
pub(crate) fn practice_unpublished() -> SimpleExpr {
    use crate::entities::practice::Column as P;
    P::Status
        .into_expr()
        .ne(Expr::cust(format!("'{PUBLISHED}'")))
}

/// Schemes the viewer may see: published ones, and for a member the drafts it owns or operates.
pub(crate) fn scheme_visible(vis: &Visibility) -> Condition {
    use crate::entities::support_scheme::Column as S;
    match vis {
        Visibility::Everything => Condition::all(),
        Visibility::Published => Condition::all().add(status_is(S::Status, PUBLISHED)),
        Visibility::Member(a) => {
            let operator = match a {
                Affiliation::Association(x) => Some(scheme_operator::Column::AssociationId.eq(*x)),
                Affiliation::Donor(d) => Some(scheme_operator::Column::DonorId.eq(*d)),
                Affiliation::City(_) => None,
            };
            let mut any = Condition::any()
                .add(status_is(S::Status, PUBLISHED))
                .add(owned_by(S::OwnerKind, S::OwnerId, a));
            if let Some(op) = operator {
                any = any.add(in_select(
                    S::Id,
                    scheme_operator::Entity,
                    scheme_operator::Column::SchemeId,
                    op,
                ));
            }
            any
        }
    }
}

/// Needs the viewer may see: published ones, and a city's own drafts to its practitioners.
pub(crate) fn need_visible(vis: &Visibility) -> Condition {
    use crate::entities::need::Column as N;
    match vis {
        Visibility::Everything => Condition::all(),
        Visibility::Published => Condition::all().add(N::Publication.eq(PUBLISHED)),
        Visibility::Member(a) => {
            let mut any = Condition::any()
                .add(N::Publication.eq(PUBLISHED))
                .add(owned_by(N::OwnerKind, N::OwnerId, a));
            if let Affiliation::City(c) = a {
                any = any.add(N::CityId.eq(*c));
            }
            any
        }
    }
}

/// `EXISTS (SELECT 1 FROM table WHERE condition)`.
fn exists_where(table: impl IntoTableRef, condition: Condition) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(table)
            .cond_where(condition)
            .to_owned(),
    )
}

/// The practice `practice_id` (a column of the row being read) is one the viewer may see, as a
/// correlated `EXISTS`: one probe of the practice's key per row read. The same test written
/// `practice_id IN (SELECT id FROM practice WHERE …)` makes PostgreSQL hash every visible
/// practice on each statement whenever it sits under an `OR` (as in the funding's visibility),
/// a cost that grows with the base instead of with the answer.
pub(crate) fn practice_visible_at(practice_id: impl IntoColumnRef, vis: &Visibility) -> SimpleExpr {
    exists_where(
        practice::Entity,
        Condition::all()
            .add(Expr::col((practice::Entity, practice::Column::Id)).equals(practice_id))
            .add(practice_visible(vis)),
    )
}

/// The scheme `scheme_id` is one the viewer may see; correlated, as [`practice_visible_at`].
pub(crate) fn scheme_visible_at(scheme_id: impl IntoColumnRef, vis: &Visibility) -> SimpleExpr {
    exists_where(
        support_scheme::Entity,
        Condition::all()
            .add(Expr::col((support_scheme::Entity, support_scheme::Column::Id)).equals(scheme_id))
            .add(scheme_visible(vis)),
    )
}

pub(crate) fn visible_practice_ids(vis: &Visibility) -> SelectStatement {
    Query::select()
        .column(practice::Column::Id)
        .from(practice::Entity)
        .cond_where(practice_visible(vis))
        .to_owned()
}

pub(crate) fn visible_scheme_ids(vis: &Visibility) -> SelectStatement {
    Query::select()
        .column(support_scheme::Column::Id)
        .from(support_scheme::Entity)
        .cond_where(scheme_visible(vis))
        .to_owned()
}

/// `LIKE` pattern for a substring search, with the wildcards of the text escaped.
fn like_pattern(text: &str) -> LikeExpr {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

/// The record's searched text (its `search_text`, see the migration `folded_names`) contains
/// the text, ignoring case and accents (names of cities, associations, donors). A line break,
/// which joins the record's fields there, is searched as a space, so no match spans two fields.
pub(crate) fn text_condition<C: ColumnTrait>(searched: C, text: &Option<String>) -> Condition {
    match text {
        None => Condition::all(),
        Some(t) => {
            let folded = domain::values::searched_text(&[Some(t)]);
            Condition::all().add(Expr::col(searched).like(like_pattern(&folded)))
        }
    }
}

/// Full-text search (see the full-text migration): every word of the text must occur, in any
/// order, accents ignored and letters such as ø spelt out (see the migrations `folded_search`
/// and `spelled_out_search`; FTS5's index holds the text spelt out, so the words are too).
/// Query syntax is never passed through: each word is quoted for FTS5, and PostgreSQL's
/// `plainto_tsquery` takes plain text.
pub(crate) fn search<C: ColumnTrait>(
    backend: DbBackend,
    table: &str,
    id: C,
    text: &Option<String>,
) -> Condition {
    let Some(text) = text else {
        return Condition::all();
    };
    let words: Vec<String> = domain::values::spelled_out(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    if words.is_empty() {
        // Nothing searchable, so nothing found (rather than everything).
        return Condition::all().add(Expr::cust("1 = 0"));
    }
    match backend {
        DbBackend::Postgres => Condition::all().add(Expr::cust_with_values(
            format!("\"{table}\".\"search\" @@ plainto_tsquery('{SEARCH_CONFIGURATION}', $1)"),
            [text.clone()],
        )),
        _ => Condition::all().add(
            id.in_subquery(
                Query::select()
                    .expr(Expr::cust("rowid"))
                    .from(Alias::new(format!("{table}_fts")))
                    .and_where(Expr::cust_with_values(
                        format!("{table}_fts MATCH ?"),
                        [words.join(" ")],
                    ))
                    .to_owned(),
            ),
        ),
    }
}

/// A tag table: which table holds an owner's framework tags, and its owner column.
#[derive(Clone, Copy)]
pub(crate) struct TagTable {
    pub(crate) table: &'static str,
    pub(crate) owner: &'static str,
}

pub(crate) const PRACTICE_TAGS: TagTable = TagTable {
    table: "practice_tag",
    owner: "practice_id",
};
pub(crate) const SCHEME_TAGS: TagTable = TagTable {
    table: "scheme_tag",
    owner: "scheme_id",
};
pub(crate) const NEED_TAGS: TagTable = TagTable {
    table: "need_tag",
    owner: "need_id",
};

impl TagTable {
    /// `id IN (SELECT owner FROM tags WHERE dimension = d AND value IN values)`: any of the
    /// values; no condition without values.
    pub(crate) fn any_of<C: ColumnTrait, T: Copy>(
        self,
        id: C,
        dimension: Dimension,
        values: &[T],
        name: fn(T) -> &'static str,
    ) -> Condition {
        if values.is_empty() {
            return Condition::all();
        }
        let sub = Query::select()
            .column(Alias::new(self.owner))
            .from(Alias::new(self.table))
            .and_where(Expr::col(Alias::new("dimension")).eq(dimension.as_str()))
            .and_where(Expr::col(Alias::new("value")).is_in(values.iter().map(|v| name(*v))))
            .to_owned();
        Condition::all().add(id.in_subquery(sub))
    }

    /// The tags of one owner.
    pub(crate) async fn one(self, db: &DatabaseConnection, id: Id) -> Result<Tags> {
        Ok(self
            .of(db, &[id])
            .await?
            .pop()
            .map(|(_, t)| t)
            .unwrap_or_default())
    }

    /// The tags of each owner among `ids`, in owner order.
    pub(crate) async fn of(self, db: &DatabaseConnection, ids: &[Id]) -> Result<Vec<(Id, Tags)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let stmt = Query::select()
            .columns([
                Alias::new(self.owner),
                Alias::new("dimension"),
                Alias::new("value"),
            ])
            .from(Alias::new(self.table))
            .and_where(Expr::col(Alias::new(self.owner)).is_in(in_list(ids)))
            .to_owned();
        let rows = db.query_all(&stmt).await.map_err(db_err)?;
        let triples = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get_by_index::<i64>(0).map_err(db_err)?,
                    r.try_get_by_index::<String>(1).map_err(db_err)?,
                    r.try_get_by_index::<String>(2).map_err(db_err)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        mapping::tags(triples)
    }
}

/// The values of an `IN` list, padded by repeating the last to the next of a few fixed lengths
/// (powers of two to 1,024, then multiples of 1,024). Each length of a list is another statement,
/// which the driver prepares and keeps (100 a connection): with lists of every length, an export
/// of 200,000 practices filled that cache with statements of hundreds of parameters, about 100 MB
/// held for nothing. Repeated values select nothing more.
pub(crate) fn in_list<T: Clone>(values: &[T]) -> Vec<T> {
    let n = values.len();
    let padded = if n <= 1024 {
        n.next_power_of_two()
    } else {
        n.div_ceil(1024) * 1024
    };
    let mut out = Vec::with_capacity(padded);
    out.extend_from_slice(values);
    if let Some(last) = values.last() {
        out.resize(padded, last.clone());
    }
    out
}

/// The rows of `E` whose `id` is among `ids` and that satisfy `cond`, mapped; one statement.
pub(crate) async fn by_ids<E, T>(
    db: &DatabaseConnection,
    id: E::Column,
    ids: &[Id],
    cond: Condition,
    map: fn(E::Model) -> Result<T>,
) -> Result<Vec<T>>
where
    E: EntityTrait,
    E::Model: Positional,
{
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows = all_at(db, E::find().filter(cond.add(id.is_in(in_list(ids))))).await?;
    rows.into_iter().map(map).collect()
}

/// The models `select` reads, each read by position: `E::find()` selects the entity's columns
/// in `Column` order, which is the order [`Positional`] reads.
pub(crate) async fn all_at<E>(db: &DatabaseConnection, select: Select<E>) -> Result<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: Positional,
{
    let rows = db.query_all(&select.into_query()).await.map_err(db_err)?;
    rows.iter()
        .map(|r| E::Model::read_at(r, 0).map_err(db_err))
        .collect()
}

/// The rows of `E` whose `owner` column is among `ids`, in `order`: the children of a batch.
pub(crate) async fn children<E>(
    db: &DatabaseConnection,
    owner: E::Column,
    ids: &[Id],
    order: &[E::Column],
) -> Result<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: Positional,
{
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut select = E::find().filter(owner.is_in(in_list(ids)));
    for column in order {
        select = select.order_by_asc(*column);
    }
    all_at(db, select).await
}

/// One page in id order after the cursor; one more row is fetched to learn whether more follow.
pub(crate) async fn page<E, T>(
    store: &SeaStore,
    cond: Condition,
    id: E::Column,
    page: PageRequest,
    map: fn(E::Model) -> Result<T>,
) -> Result<Page<T>>
where
    E: EntityTrait,
    E::Model: Positional,
{
    let db = store.connection();
    let mut select = E::find().filter(cond).order_by_asc(id);
    if let Some(after) = page.after {
        select = select.filter(id.gt(after));
    }
    // The limit is written in, not bound: for a bound limit PostgreSQL's plan kept for any value
    // expects a tenth of the table and never wins against planning each execution (see
    // [`status_is`]). Page sizes are bounded, so the texts are few.
    let mut statement = select.build(db.get_database_backend());
    statement
        .sql
        .push_str(&format!(" LIMIT {}", page.first + 1));
    let mut rows = Vec::with_capacity(page.first as usize + 1);
    each_row(store, statement, |r| {
        rows.push(E::Model::read_at(r, 0).map_err(db_err)?);
        Ok(())
    })
    .await?;
    let has_next_page = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok(Page {
        items: rows.into_iter().map(map).collect::<Result<_>>()?,
        has_next_page,
    })
}

/// The ids of the records of one page as [`page`] reads it, without the extra one, as a
/// statement of one column `id`: the parents of nested statements read beside the page's own
/// (see [`Parents::Selected`]).
pub(crate) fn page_ids<E>(cond: Condition, id: E::Column, page: PageRequest) -> SelectStatement
where
    E: EntityTrait,
{
    let mut select = Query::select();
    select
        .expr_as(Expr::col((E::default(), id)), Alias::new("id"))
        .from(E::default())
        .cond_where(cond)
        .order_by((E::default(), id), Order::Asc)
        .limit(page.first);
    if let Some(after) = page.after {
        select.and_where(Expr::col((E::default(), id)).gt(after));
    }
    select
}

/// Hands each row of `statement` to `each`. On PostgreSQL as they arrive, while the database
/// still works on the rest: the rows of a nested page come in as each parent's are found, so
/// decoding them overlaps the statement instead of following it (collected first, a page of 50
/// practices' funding waited for its last row before the first was decoded). SQLite's rows are
/// read at once, as before.
pub(crate) async fn each_row(
    store: &SeaStore,
    statement: Statement,
    mut each: impl FnMut(&QueryResult) -> Result<()>,
) -> Result<()> {
    let db = store.connection();
    if db.get_database_backend() == DbBackend::Postgres {
        return each_row_kept(store, statement, each).await;
    }
    for row in db.query_all_raw(statement).await.map_err(db_err)? {
        each(&row)?;
    }
    Ok(())
}

/// [`each_row`] on PostgreSQL, on a connection kept back from the pool (see
/// [`crate::stash`]), which is kept again when the statement ran to its end and every row was
/// taken; one dropped on the way (an error, a cancelled request) goes back to the pool, checked.
/// Counted and recorded as sea-orm's statements are (see `db::open`).
async fn each_row_kept(
    store: &SeaStore,
    statement: Statement,
    mut each: impl FnMut(&QueryResult) -> Result<()>,
) -> Result<()> {
    use futures_util::TryStreamExt;
    let stash = store.stash();
    let mut connection = match stash.take() {
        Some(connection) => {
            (store.metrics().unchecked).fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            connection
        }
        None => {
            let pool = store.connection().get_postgres_connection_pool();
            pool.acquire()
                .await
                .map_err(|e| db_err(DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into()))))?
        }
    };
    let started = std::time::Instant::now();
    let ran = async {
        let values = statement
            .values
            .clone()
            .unwrap_or(sea_orm::sea_query::Values(Vec::new()));
        let query = sea_orm::sqlx::query_with(
            sea_orm::sqlx::AssertSqlSafe(statement.sql.as_str()),
            sea_query_sqlx::SqlxValues(values),
        );
        let mut rows = query.fetch(&mut *connection);
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| db_err(DbErr::Query(sea_orm::RuntimeErr::SqlxError(e.into()))))?
        {
            each(&QueryResult::from(row))?;
        }
        Ok(())
    }
    .await;
    store
        .metrics()
        .counted(&statement, started.elapsed(), ran.is_err());
    if ran.is_ok() {
        stash.keep(connection);
    }
    ran
}

pub(crate) async fn count<E>(db: &DatabaseConnection, cond: Condition) -> Result<i64>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let n = E::find().filter(cond).count(db).await.map_err(db_err)?;
    i64::try_from(n).map_err(Error::internal)
}

/// The count a statement of one `COUNT(*)` answers.
pub(crate) async fn scalar_count(db: &DatabaseConnection, stmt: SelectStatement) -> Result<i64> {
    let row = db.query_one(&stmt).await.map_err(db_err)?;
    match row {
        Some(row) => row.try_get_by_index::<i64>(0).map_err(db_err),
        None => Ok(0),
    }
}

/// `(a, b)` integer pairs a statement answers.
pub(crate) async fn pairs(db: &DatabaseConnection, stmt: SelectStatement) -> Result<Vec<(Id, Id)>> {
    let rows = db.query_all(&stmt).await.map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get_by_index::<i64>(0).map_err(db_err)?,
                r.try_get_by_index::<i64>(1).map_err(db_err)?,
            ))
        })
        .collect()
}

/// Where a nested list's `(parent, child)` pairs come from: a table, or for lists derived from
/// another relation (a practice's donors, a donor's schemes) a statement already narrowed to the
/// batch's parents.
enum Source {
    Table(&'static str),
    Derived(Box<SelectStatement>),
}

/// Where a nested list is stored: its source, the parent and child columns, and which children
/// the viewer may see.
struct NestedTable {
    source: Source,
    /// Tables the visibility test reads joined (see [`Reading::Joined`]).
    joins: Vec<Joined>,
    parent: &'static str,
    child: &'static str,
    visible: Condition,
}

struct Joined {
    kind: JoinType,
    table: &'static str,
    on: SimpleExpr,
}

impl NestedTable {
    fn from(&self, select: &mut SelectStatement) {
        match &self.source {
            Source::Table(table) => select.from(Alias::new(*table)),
            Source::Derived(derived) => {
                select.from_subquery((**derived).clone(), Alias::new("source"))
            }
        };
        for j in &self.joins {
            select.join(j.kind, Alias::new(j.table), j.on.clone());
        }
    }
}

/// `SELECT DISTINCT parent, child` of a derived source, named as the window query expects.
fn distinct_pairs(
    table: impl IntoIden,
    parent: &'static str,
    child: &'static str,
    parents: &[Id],
    cond: Condition,
) -> SelectStatement {
    Query::select()
        .distinct()
        .expr_as(Expr::col(Alias::new(parent)), Alias::new("parent"))
        .expr_as(Expr::col(Alias::new(child)), Alias::new("child"))
        .from(table)
        .and_where(Expr::col(Alias::new(parent)).is_in(in_list(parents)))
        .and_where(Expr::col(Alias::new(child)).is_not_null())
        .cond_where(cond)
        .to_owned()
}

/// How a nested statement reads each parent's children: all of them (a count, a numbering), or
/// only the first few in order (a page read per parent).
///
/// Over all of a donor's funding records, one hash of the practices the viewer may see costs
/// less than a probe per record: `All`. Reading the first few, a probe per row read is what
/// keeps the statement's cost to the page. SQLite probes a correlated `EXISTS` per row
/// (`Probed`); PostgreSQL plans an `EXISTS` under an `OR` on its estimate of every row the
/// parent has and hashes every visible practice anyway (a nested page of 20 donors' funding:
/// 98 ms with EXISTS, 3 ms joined, on 200,000 practices), so there the visibility is a join
/// (`Joined`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    All,
    Probed,
    Joined,
}

fn nested_table(nested: Nested, parents: &[Id], vis: &Visibility, reading: Reading) -> NestedTable {
    let everything = *vis == Visibility::Everything;
    let joined = reading == Reading::Joined && !everything;
    let join = |kind, table: &'static str, on: SimpleExpr| Joined { kind, table, on };
    let practice_of = |table: &'static str| {
        Expr::col((practice::Entity, practice::Column::Id))
            .equals((Alias::new(table), Alias::new("practice_id")))
    };
    // A funding record is visible when the practice and the scheme it names (if any) are.
    let funding_of_parent = || {
        match reading {
            _ if everything => return (Condition::all(), vec![]),
            Reading::All => return (funding_visible_hashed(vis), vec![]),
            Reading::Probed => return (funding_visible(vis), vec![]),
            Reading::Joined => {}
        }
        use crate::entities::funding::Column as F;
        let visible = Condition::all()
            .add(
                Condition::any()
                    .add(F::PracticeId.is_null())
                    .add(practice_visible(vis)),
            )
            .add(
                Condition::any()
                    .add(F::SchemeId.is_null())
                    .add(scheme_visible(vis)),
            );
        let joins = vec![
            join(JoinType::LeftJoin, "practice", practice_of("funding")),
            join(
                JoinType::LeftJoin,
                "support_scheme",
                Expr::col((support_scheme::Entity, support_scheme::Column::Id))
                    .equals((funding::Entity, F::SchemeId)),
            ),
        ];
        (visible, joins)
    };
    let visible_ids = |column: &'static str, ids: SelectStatement| {
        if everything {
            Condition::all()
        } else if reading == Reading::Probed {
            // SQLite (the only probed reading) would otherwise walk the visible ids, hundreds of
            // published schemes, probing the parent's index for each; a parent holds a few.
            // The unary plus leaves it the index on the parent alone, the ids a check: a page of
            // 50 practices' schemes took 4 ms in SQLite, 2 ms so.
            Condition::all().add(Expr::cust(format!("+\"{column}\"")).in_subquery(ids))
        } else {
            Condition::all().add(Expr::col(Alias::new(column)).in_subquery(ids))
        }
    };
    let practices = |table: &'static str| -> (Condition, Vec<Joined>) {
        if everything {
            (Condition::all(), vec![])
        } else if joined {
            (
                practice_visible(vis),
                vec![join(JoinType::InnerJoin, "practice", practice_of(table))],
            )
        } else {
            let at = (Alias::new(table), Alias::new("practice_id"));
            (Condition::all().add(practice_visible_at(at, vis)), vec![])
        }
    };
    let schemes = || visible_ids("scheme_id", visible_scheme_ids(vis));
    let joined_table =
        |table, parent, child, (visible, joins): (Condition, Vec<Joined>)| NestedTable {
            source: Source::Table(table),
            joins,
            parent,
            child,
            visible,
        };
    let table =
        |table, parent, child, visible| joined_table(table, parent, child, (visible, vec![]));
    let derived = |select| NestedTable {
        source: Source::Derived(Box::new(select)),
        joins: vec![],
        parent: "parent",
        child: "child",
        visible: Condition::all(),
    };
    match nested {
        Nested::DonorFunding => joined_table("funding", "donor_id", "id", funding_of_parent()),
        Nested::SchemeFunding => joined_table("funding", "scheme_id", "id", funding_of_parent()),
        // The practices are ones the viewer sees (read with its visibility), so their funding is
        // visible but for the scheme it may name.
        Nested::PracticeFunding => table("funding", "practice_id", "id", scheme_part_visible(vis)),
        Nested::CityPractices => joined_table(
            "practice_city",
            "city_id",
            "practice_id",
            practices("practice_city"),
        ),
        Nested::CityNeeds => table("need", "city_id", "id", need_visible(vis)),
        Nested::AssociationPractices => joined_table(
            "practice_association",
            "association_id",
            "practice_id",
            practices("practice_association"),
        ),
        Nested::SchemePractices => joined_table(
            "practice_scheme",
            "scheme_id",
            "practice_id",
            practices("practice_scheme"),
        ),
        Nested::PracticeSchemes => table("practice_scheme", "practice_id", "scheme_id", schemes()),
        Nested::AssociationSchemes => {
            table("scheme_operator", "association_id", "scheme_id", schemes())
        }
        Nested::AssociationMemberCities => table(
            "association_city",
            "association_id",
            "city_id",
            Condition::all(),
        ),
        Nested::CityMemberships => table(
            "association_city",
            "city_id",
            "association_id",
            Condition::all(),
        ),
        Nested::AssociationMembers => table(
            "association_member",
            "association_id",
            "member_id",
            Condition::all(),
        ),
        Nested::AssociationParents => table(
            "association_member",
            "member_id",
            "association_id",
            Condition::all(),
        ),
        // A donor is listed when the viewer may see one of its funding records there.
        Nested::PracticeDonors => derived(distinct_pairs(
            funding::Entity,
            "practice_id",
            "donor_id",
            parents,
            scheme_part_visible(vis),
        )),
        Nested::SchemeDonors => derived(distinct_pairs(
            funding::Entity,
            "scheme_id",
            "donor_id",
            parents,
            funding_visible(vis),
        )),
        // Schemes the donor funds (through a record the viewer may see) or operates.
        Nested::DonorSchemes => {
            let mut funded = distinct_pairs(
                funding::Entity,
                "donor_id",
                "scheme_id",
                parents,
                funding_visible(vis),
            );
            funded.union(
                UnionType::Distinct,
                distinct_pairs(
                    scheme_operator::Entity,
                    "donor_id",
                    "scheme_id",
                    parents,
                    Condition::all(),
                ),
            );
            NestedTable {
                visible: visible_ids("child", visible_scheme_ids(vis)),
                ..derived(funded)
            }
        }
    }
}

/// Each parent's page of children in one statement: the children are numbered per parent by a
/// window function and only the first `first + 1` of each kept. This numbers every child of
/// each parent (all of a donor's funding records for its first ten): the form for the lists
/// derived from another relation (a practice's donors), which are short, and have no index to
/// read them in order by. Tables are read per parent instead: [`nested_page_lateral`] on
/// PostgreSQL, [`nested_page_cut`] on SQLite.
fn nested_page_select(
    nested: Nested,
    parents: &[Id],
    vis: &Visibility,
    page: PageRequest,
) -> SelectStatement {
    let t = nested_table(nested, parents, vis, Reading::All);
    let (parent, child) = (Alias::new(t.parent), Alias::new(t.child));
    let mut numbered = Query::select();
    numbered
        .expr_as(Expr::col(parent.clone()), Alias::new("parent"))
        .expr_as(Expr::col(child.clone()), Alias::new("child"))
        .expr_window_as(
            Expr::cust("ROW_NUMBER()"),
            WindowStatement::partition_by(parent.clone())
                .order_by(child.clone(), Order::Asc)
                .to_owned(),
            Alias::new("position"),
        );
    t.from(&mut numbered);
    numbered
        .and_where(Expr::col(parent).is_in(in_list(parents)))
        .cond_where(t.visible.clone());
    if let Some(after) = page.after {
        numbered.and_where(Expr::col(child).gt(after));
    }
    Query::select()
        .columns([Alias::new("parent"), Alias::new("child")])
        .from_subquery(numbered, Alias::new("numbered"))
        .and_where(Expr::col(Alias::new("position")).lte(page.first as i64 + 1))
        .order_by(Alias::new("parent"), Order::Asc)
        .order_by(Alias::new("child"), Order::Asc)
        .to_owned()
}

/// What a page read per parent answers besides each row's parent: the children's ids (which the
/// caller then loads by id, each kind of record with its own loader), or the children's rows of
/// the named table (the list's own table when it holds the records, as a funding list does, or
/// the table its child column names, joined by id): one statement where reading the ids and
/// then the records by id would take two.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Ids,
    /// The table's rows, these columns in this order (see [`Positional`]).
    Rows(&'static str, &'static [&'static str]),
}

impl Read {
    /// The table of the records read, joined to `list` by its child column unless it is `list`.
    fn join_records(self, select: &mut SelectStatement, list: &'static str, child: &Alias) {
        if let Read::Rows(records, _) = self
            && records != list
        {
            select.join(
                JoinType::InnerJoin,
                Alias::new(records),
                Expr::col((Alias::new(records), Alias::new("id")))
                    .equals((Alias::new(list), child.clone())),
            );
        }
    }
}

/// `SELECT DISTINCT id` of the parents, as a derived table to read each one's page from. The list
/// is padded with repeats like every id list (see [`in_list`]), which a VALUES list would turn
/// into repeated pages: hence DISTINCT.
fn parent_ids(parents: &[Id]) -> SelectStatement {
    let listed = Alias::new("listed");
    Query::select()
        .distinct()
        .expr_as(
            Expr::col((listed.clone(), Alias::new("column1"))),
            Alias::new("id"),
        )
        .from_values(in_list(parents), listed)
        .to_owned()
}

/// Whose children a nested statement reads.
#[derive(Clone, Copy)]
pub(crate) enum Parents<'a> {
    /// These records.
    Ids(&'a [Id]),
    /// The ids (a column `id`) this statement selects, on PostgreSQL: the parents of a page read
    /// in the same statement as their children. Each selected parent is in the statement's
    /// rows, one without children in a row of its own (its child's columns NULL), so that the
    /// rows tell which parents the statement selected.
    Selected(&'a SelectStatement),
}

impl Parents<'_> {
    /// The ids given; none for selected parents: the lists derived from another relation, the
    /// only ones that need the ids themselves, are not read for selected parents.
    fn given(&self) -> &[Id] {
        match self {
            Parents::Ids(ids) => ids,
            Parents::Selected(_) => &[],
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Parents::Ids(ids) if ids.is_empty())
    }

    pub(crate) fn selected(&self) -> bool {
        matches!(self, Parents::Selected(_))
    }

    /// The parents as a derived table of one column, `id`.
    fn table(&self) -> SelectStatement {
        match self {
            Parents::Ids(ids) => parent_ids(ids),
            Parents::Selected(select) => (*select).clone(),
        }
    }
}

/// Each parent's page of children on PostgreSQL: for each parent, a LATERAL subquery reads its
/// children in order through the index on `(parent, child)` and stops at `first + 1` visible
/// ones, so a page costs what it shows, whatever the parent holds. `None` for the lists derived
/// from another relation, which are numbered (see [`nested_page_select`]).
fn nested_page_lateral(
    nested: Nested,
    parents: Parents<'_>,
    vis: &Visibility,
    page: PageRequest,
    read: Read,
) -> Option<SelectStatement> {
    let t = nested_table(nested, parents.given(), vis, Reading::Joined);
    let Source::Table(table) = t.source else {
        return None;
    };
    let (p, c) = (Alias::new("p"), Alias::new("c"));
    let (parent, child) = (Alias::new(t.parent), Alias::new(t.child));
    let mut children = Query::select();
    match read {
        Read::Ids => children.expr_as(
            Expr::col((Alias::new(table), child.clone())),
            Alias::new("child"),
        ),
        Read::Rows(records, columns) => children.columns(
            columns
                .iter()
                .map(|c| (Alias::new(records), Alias::new(*c))),
        ),
    };
    t.from(&mut children);
    read.join_records(&mut children, table, &child);
    children
        .and_where(
            Expr::col((Alias::new(table), parent.clone())).equals((p.clone(), Alias::new("id"))),
        )
        .cond_where(t.visible.clone())
        // The parent is fixed here, but ordered by it the planner sees that only the index by
        // parent and child gives the order; by the child alone it may walk the primary key in
        // order instead, passing over every other parent's children.
        .order_by((Alias::new(table), parent.clone()), Order::Asc)
        .order_by((Alias::new(table), child.clone()), Order::Asc)
        .limit(page.first + 1);
    if let Some(after) = page.after {
        children.and_where(Expr::col((Alias::new(table), child.clone())).gt(after));
    }
    let mut select = Query::select();
    select.expr_as(
        Expr::col((p.clone(), Alias::new("id"))),
        Alias::new("parent"),
    );
    // Selected parents without children keep a row (see `Parents::Selected`).
    let join = match parents {
        Parents::Ids(_) => JoinType::InnerJoin,
        Parents::Selected(_) => JoinType::LeftJoin,
    };
    let order = match read {
        Read::Ids => {
            select.expr_as(
                Expr::col((c.clone(), Alias::new("child"))),
                Alias::new("child"),
            );
            Alias::new("child")
        }
        Read::Rows(_, columns) => {
            select.columns(columns.iter().map(|col| (c.clone(), Alias::new(*col))));
            Alias::new("id")
        }
    };
    Some(
        select
            .from_subquery(parents.table(), p.clone())
            .join_lateral(join, children, c.clone(), Expr::val(true))
            .order_by(Alias::new("parent"), Order::Asc)
            .order_by((c, order), Order::Asc)
            .to_owned(),
    )
}

/// Each parent's page of children on SQLite, which has no LATERAL: per parent, a scalar
/// subquery finds the last child of the page (the `first + 1`-th visible one in order, read
/// through the index on `(parent, child)`), and the children up to it are read through the same
/// index. Either reads about a page's rows, whatever the parent holds. `None` for the lists
/// derived from another relation.
fn nested_page_cut(
    nested: Nested,
    parents: &[Id],
    vis: &Visibility,
    page: PageRequest,
    read: Read,
) -> Option<SelectStatement> {
    let t = nested_table(nested, parents, vis, Reading::Probed);
    let Source::Table(table) = t.source else {
        return None;
    };
    debug_assert!(t.joins.is_empty(), "a probed reading joins nothing");
    let (parent, child) = (Alias::new(t.parent), Alias::new(t.child));
    let column = |c: &Alias| Expr::col((Alias::new(table), c.clone()));
    let p = Alias::new("p");
    let after = |select: &mut SelectStatement| {
        if let Some(after) = page.after {
            select.and_where(column(&child).gt(after));
        }
    };
    let mut last = Query::select();
    last.expr(column(&child))
        .from(Alias::new(table))
        .and_where(column(&parent).equals((p.clone(), Alias::new("id"))))
        .cond_where(t.visible.clone());
    after(&mut last);
    last.order_by((Alias::new(table), child.clone()), Order::Asc)
        .limit(1)
        .offset(page.first);
    let cut = Query::select()
        .expr_as(
            Expr::col((p.clone(), Alias::new("id"))),
            Alias::new("parent"),
        )
        .expr_as(SimpleExpr::from(last), Alias::new("last"))
        .from_subquery(parent_ids(parents), p.clone())
        .to_owned();
    let mut select = Query::select();
    select.expr_as(
        Expr::col((p.clone(), Alias::new("parent"))),
        Alias::new("parent"),
    );
    match read {
        Read::Ids => select.expr_as(column(&child), Alias::new("child")),
        Read::Rows(records, columns) => select.columns(
            columns
                .iter()
                .map(|c| (Alias::new(records), Alias::new(*c))),
        ),
    };
    select
        .from_subquery(cut, p.clone())
        .join(
            JoinType::InnerJoin,
            Alias::new(table),
            Condition::all()
                .add(column(&parent).equals((p.clone(), Alias::new("parent"))))
                // No last child: the parent has no more than a page.
                .add(column(&child).lte(Func::coalesce([
                    Expr::col((p.clone(), Alias::new("last"))),
                    Expr::val(i64::MAX),
                ]))),
        )
        .cond_where(t.visible.clone());
    read.join_records(&mut select, table, &child);
    after(&mut select);
    Some(
        select
            .order_by(Alias::new("parent"), Order::Asc)
            .order_by((Alias::new(table), child), Order::Asc)
            .to_owned(),
    )
}

/// A record each row of a page names, read in the same statement: the row of `table` whose id is
/// the record's `key` column (none when that is null). Its columns are named with `prefix`, since
/// both tables have columns of the same names (`id`, `version`, …).
struct Beside {
    table: &'static str,
    key: &'static str,
    prefix: &'static str,
    columns: &'static [&'static str],
    /// On PostgreSQL, read once in a row of its own however many rows name it (see
    /// [`named_once`]), for records many rows of a page name: a practice's funding names a few
    /// donors over and over. Otherwise looked up for each row.
    once: bool,
}

impl Beside {
    /// Joins the record named by the rows of `records` on SQLite, which looks it up by its
    /// primary key for each row (see [`named_once`] for PostgreSQL).
    fn join(&self, select: &mut SelectStatement, records: &str) {
        let table = Alias::new(self.table);
        let named_by = Expr::col((table.clone(), Alias::new("id")))
            .equals((Alias::new(records), Alias::new(self.key)));
        select.join(JoinType::LeftJoin, table.clone(), named_by);
        for column in self.columns {
            select.expr_as(
                Expr::col((table.clone(), Alias::new(*column))),
                Alias::new(format!("{}{column}", self.prefix)),
            );
        }
    }
}

/// A row of [`rows_page`].
enum PageRow<'r> {
    /// A child of the page: its parent, and its row with its columns from `at`. The records it
    /// names that are not in rows of their own follow in the same row, each `beside`'s from
    /// `named[i]` where given.
    Child {
        parent: Id,
        row: &'r QueryResult,
        at: usize,
        named: &'r [Option<usize>],
    },
    /// On PostgreSQL, a record the children name, in a row of its own (read once however many
    /// children name it): which of `beside` it is, and its row with its columns from `at`.
    Named {
        beside: usize,
        row: &'r QueryResult,
        at: usize,
    },
}

/// Each parent's page of a nested list read with the children's rows of `E` (see
/// [`Read::Rows`]), and with the records each one names that `beside` lists, in one statement:
/// `each` is given every row (see [`PageRow`]), children in no particular order. On SQLite a
/// child's row holds the parent (column 0), the child's columns from [`RECORD`] and the named
/// records' after them in `beside`'s order, each record's in [`Positional`] order. On PostgreSQL
/// the named records are read once each (see [`named_once`]).
///
/// For selected parents (PostgreSQL only) the answer is the ids of the parents the statement
/// selected, sorted (see [`Parents::Selected`]); the rows of those without children are not
/// given to `each`. A record's first column (its id) is never NULL.
async fn rows_page<E>(
    store: &SeaStore,
    nested: Nested,
    parents: Parents<'_>,
    vis: &Visibility,
    page: PageRequest,
    beside: &[Beside],
    mut each: impl FnMut(PageRow<'_>) -> Result<()>,
) -> Result<Option<Vec<Id>>>
where
    E: EntityTrait,
    E::Model: Positional,
{
    if parents.is_empty() {
        return Ok(None);
    }
    let db = store.connection();
    let records = E::default().table_name();
    let read = Read::Rows(records, E::Model::COLUMNS);
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let select = match parents {
        _ if postgres => nested_page_lateral(nested, parents, vis, page, read),
        Parents::Ids(ids) => nested_page_cut(nested, ids, vis, page, read),
        Parents::Selected(_) => None,
    };
    let mut select =
        select.ok_or_else(|| Error::internal(format!("{nested:?} is not read from a table")))?;
    let selected = parents.selected();
    let mut seen = Vec::new();
    // Notes a selected parent; false for the row of one without children.
    let mut note = |row: &QueryResult, parent: Id, record_at: usize| -> Result<bool> {
        if !selected {
            return Ok(true);
        }
        seen.push(parent);
        let id = row
            .try_get_by_index::<Option<i64>>(record_at)
            .map_err(db_err)?;
        Ok(id.is_some())
    };
    if postgres && !beside.is_empty() {
        let select = named_once(select, E::Model::COLUMNS.len(), beside);
        let starts = named_starts(1 + RECORD + E::Model::COLUMNS.len(), beside);
        // In a child's row, the columns of the records not read once.
        let in_row: Vec<Option<usize>> = (beside.iter().zip(&starts))
            .map(|(b, &at)| (!b.once).then_some(at))
            .collect();
        let statement = limits_written(db.get_database_backend().build(&select));
        each_row(store, statement, |row| {
            match row.try_get_by_index::<i32>(0).map_err(db_err)? {
                0 => {
                    let parent = row.try_get_by_index::<i64>(1).map_err(db_err)?;
                    if !note(row, parent, 1 + RECORD)? {
                        return Ok(());
                    }
                    each(PageRow::Child {
                        parent,
                        row,
                        at: 1 + RECORD,
                        named: &in_row,
                    })
                }
                k => {
                    let beside = usize::try_from(k - 1).map_err(Error::internal)?;
                    let at = *starts.get(beside).ok_or_else(|| {
                        Error::internal(format!("a named record of kind {k} in a page"))
                    })?;
                    each(PageRow::Named { beside, row, at })
                }
            }
        })
        .await?;
        return Ok(parents_seen(selected, seen));
    }
    for b in beside {
        b.join(&mut select, records);
    }
    let starts: Vec<Option<usize>> = named_starts(RECORD + E::Model::COLUMNS.len(), beside)
        .into_iter()
        .map(Some)
        .collect();
    let statement = match selected {
        true => limits_written(db.get_database_backend().build(&select)),
        false => db.get_database_backend().build(&select),
    };
    each_row(store, statement, |row| {
        let parent = row.try_get_by_index::<i64>(0).map_err(db_err)?;
        if !note(row, parent, RECORD)? {
            return Ok(());
        }
        each(PageRow::Child {
            parent,
            row,
            at: RECORD,
            named: &starts,
        })
    })
    .await?;
    Ok(parents_seen(selected, seen))
}

/// The parents a statement selected, sorted, from its rows' (see [`Parents::Selected`]).
fn parents_seen(selected: bool, mut seen: Vec<Id>) -> Option<Vec<Id>> {
    selected.then(|| {
        seen.sort_unstable();
        seen.dedup();
        seen
    })
}

/// Where each of `beside`'s columns start in a row, the first's at `first`.
fn named_starts(first: usize, beside: &[Beside]) -> Vec<usize> {
    let mut at = first;
    beside
        .iter()
        .map(|b| {
            let start = at;
            at += b.columns.len();
            start
        })
        .collect()
}

/// A page read by `select` (PostgreSQL's lateral form: the parent, then the child's
/// `child_columns` columns) with the records its children name: the page is a materialized
/// CTE, its rows come first (kind 0: kind, parent, the child's columns, then each of `beside`'s
/// columns: NULL for one read `once`, the record looked up by id in a LATERAL subquery
/// otherwise), then for each of `beside` read `once` the rows of its table the page names (kind
/// i + 1: NULL for the child's columns and the other named records', its own columns in their
/// place). Unordered: the caller orders.
///
/// A LATERAL subquery with a LIMIT looks a record up by key (joined plainly, the planner hashed
/// the whole named table for each parent: 100 donors read 50 times over for 216 funding records
/// of 50 practices, 1.3 ms against 0.9). Read for each row, a page of 50 practices' funding read
/// a donor's row for each of its 216 records, 68 distinct: 1.01 ms a page on 200,000 practices,
/// 0.79 ms with each donor read once (PostgreSQL's own time, pg_stat_statements), and the service
/// decodes 68 donors instead of 216. The practices of a donor's page of funding are nearly all
/// distinct (193 of 200): read once each, the page cost 3.10 ms against 2.98, so they are looked
/// up for each row.
fn named_once(
    mut page: SelectStatement,
    child_columns: usize,
    beside: &[Beside],
) -> SelectStatement {
    let name = Alias::new("page");
    let null = || Expr::cust("NULL");
    page.clear_order_by();
    let mut rows = Query::select();
    rows.expr_as(Expr::cust("0"), Alias::new("kind"))
        .column((name.clone(), Asterisk))
        .from(name.clone());
    for b in beside {
        let table = Alias::new(b.table);
        rows.columns(b.columns.iter().map(|c| (table.clone(), Alias::new(*c))));
        if b.once {
            // NULLs of the columns' types (joined on FALSE, which reads nothing): a bare NULL
            // is of no type, and two of them in a column make it text, which a later branch's
            // integer would not match.
            rows.join(JoinType::LeftJoin, table, Expr::cust("FALSE"));
        } else {
            let mut one = Query::select();
            one.columns(b.columns.iter().map(|c| (table.clone(), Alias::new(*c))))
                .from(table.clone())
                .and_where(
                    Expr::col((table.clone(), Alias::new("id")))
                        .equals((name.clone(), Alias::new(b.key))),
                )
                .limit(1);
            rows.join_lateral(JoinType::LeftJoin, one, table, Expr::val(true));
        }
    }
    for (i, named) in beside.iter().enumerate().filter(|(_, b)| b.once) {
        let table = Alias::new(named.table);
        let mut of = Query::select();
        of.expr(Expr::cust((i + 1).to_string()))
            .exprs((0..1 + child_columns).map(|_| null()));
        for (j, b) in beside.iter().enumerate() {
            if i == j {
                of.columns(b.columns.iter().map(|c| (table.clone(), Alias::new(*c))));
            } else {
                of.exprs(b.columns.iter().map(|_| null()));
            }
        }
        of.from(table.clone()).and_where(
            Expr::col((table.clone(), Alias::new("id"))).in_subquery(
                Query::select()
                    .column((name.clone(), Alias::new(named.key)))
                    .from(name.clone())
                    .to_owned(),
            ),
        );
        rows.union(UnionType::All, of);
    }
    let mut cte = CommonTableExpression::new();
    cte.query(page).table_name(name).materialized(true);
    rows.with_cte(WithClause::new().cte(cte).to_owned());
    rows
}

/// Where a row of [`rows_page`] holds the child's columns on SQLite (on PostgreSQL one further,
/// after the row's kind).
const RECORD: usize = 1;

/// The prefixes of the donor's and the practice's columns in [`NestedRepository::funding_page`].
const DONOR: &str = "donor_record_";
const PRACTICE: &str = "practice_record_";

/// [`NestedRepository::funding_page`] for `parents`, and for selected parents those the
/// statement selected (see [`rows_page`]).
pub(crate) async fn funding_rows(
    store: &SeaStore,
    nested: Nested,
    parents: Parents<'_>,
    vis: &Visibility,
    page: PageRequest,
) -> Result<(Vec<FundingRow>, Option<Vec<Id>>)> {
    if !nested.lists_funding() {
        return Err(Error::internal(format!(
            "{nested:?} is not a list of funding"
        )));
    }
    let donors = Beside {
        table: donor::Entity.table_name(),
        key: funding::Column::DonorId.as_str(),
        prefix: DONOR,
        columns: donor::Model::COLUMNS,
        once: true,
    };
    // A list of a practice's funding names that practice in every record: the caller has it.
    let practices = (nested != Nested::PracticeFunding).then(|| Beside {
        table: practice::Entity.table_name(),
        key: funding::Column::PracticeId.as_str(),
        prefix: PRACTICE,
        columns: practice::Model::COLUMNS,
        once: false,
    });
    let beside: Vec<Beside> = std::iter::once(donors).chain(practices).collect();
    let with_practices = beside.len() > 1;
    // A donor or practice many records name is one shared record, decoded once.
    let mut named_donors: HashMap<Id, Arc<Donor>> = HashMap::new();
    let mut named_practices: HashMap<Id, Arc<Practice>> = HashMap::new();
    let mut children = Vec::new();
    let seen = rows_page::<funding::Entity>(store, nested, parents, vis, page, &beside, |row| {
        match row {
            PageRow::Child {
                parent,
                row,
                at,
                named,
            } => {
                let record = mapping::funding(funding::Model::read_at(row, at).map_err(db_err)?)?;
                if let (Some(id), Some(&Some(donor_at))) = (record.donor_id, named.first())
                    && !named_donors.contains_key(&id)
                {
                    let donor = donor::Model::read_at(row, donor_at).map_err(db_err)?;
                    named_donors.insert(id, Arc::new(mapping::donor(donor)?));
                }
                if let (Some(id), Some(&Some(practice_at))) = (record.practice_id, named.get(1))
                    && !named_practices.contains_key(&id)
                {
                    let practice = practice::Model::read_at(row, practice_at).map_err(db_err)?;
                    named_practices.insert(id, Arc::new(mapping::practice(practice)?));
                }
                children.push((parent, record));
            }
            PageRow::Named { beside: 0, row, at } => {
                let donor = mapping::donor(donor::Model::read_at(row, at).map_err(db_err)?)?;
                named_donors.insert(donor.id, Arc::new(donor));
            }
            PageRow::Named { row, at, .. } => {
                let practice =
                    mapping::practice(practice::Model::read_at(row, at).map_err(db_err)?)?;
                named_practices.insert(practice.id, Arc::new(practice));
            }
        }
        Ok(())
    })
    .await?;
    // Keys sorted, records not moved: a record is a few hundred bytes, and sorted in place
    // each of a page's hundreds moved about as many times as the sort compares.
    let mut order: Vec<(Id, Id, usize)> = (children.iter().enumerate())
        .map(|(at, (parent, record))| (*parent, record.id, at))
        .collect();
    order.sort_unstable();
    let mut slots: Vec<Option<(Id, Funding)>> = children.into_iter().map(Some).collect();
    fn named<T>(map: &HashMap<Id, Arc<T>>, id: Option<Id>, what: &str) -> Result<Option<Arc<T>>> {
        match id {
            Some(id) => map.get(&id).cloned().map(Some).ok_or_else(|| {
                Error::internal(format!(
                    "a page of funding names {what} {id}, not read with it"
                ))
            }),
            None => Ok(None),
        }
    }
    let rows = order
        .into_iter()
        .filter_map(|(.., at)| slots.get_mut(at).and_then(Option::take))
        .map(|(parent, record)| {
            // Donors are public: the donor a visible record names is shown with it. The
            // practice of a record the viewer may see is one it may see (see
            // `funding_visible`).
            let donor = named(&named_donors, record.donor_id, "donor")?;
            let practice = match with_practices {
                true => named(&named_practices, record.practice_id, "practice")?,
                false => None,
            };
            Ok(FundingRow {
                parent,
                record,
                donor,
                practice,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((rows, seen))
}

/// [`NestedRepository::scheme_page`] for `parents`, and for selected parents those the
/// statement selected (see [`rows_page`]).
pub(crate) async fn scheme_rows(
    store: &SeaStore,
    nested: Nested,
    parents: Parents<'_>,
    vis: &Visibility,
    page: PageRequest,
) -> Result<(Vec<(Id, SupportScheme)>, Option<Vec<Id>>)> {
    if !nested.lists_schemes() {
        return Err(Error::internal(format!(
            "{nested:?} is not a list of schemes"
        )));
    }
    // Without records named beside, the statement orders the page.
    let mut schemes = Vec::new();
    let seen = rows_page::<support_scheme::Entity>(store, nested, parents, vis, page, &[], |row| {
        if let PageRow::Child {
            parent, row, at, ..
        } = row
        {
            let scheme = support_scheme::Model::read_at(row, at).map_err(db_err)?;
            schemes.push((parent, mapping::scheme(scheme)?));
        }
        Ok(())
    })
    .await?;
    Ok((schemes, seen))
}

#[async_trait]
impl NestedRepository for SeaStore {
    async fn practice_page_along(
        &self,
        filter: &PracticeFilter,
        vis: &Visibility,
        page: PageRequest,
        along: &Along,
    ) -> Result<(Page<Practice>, Alongside)> {
        crate::along::practice_page_along(self, filter, vis, page, along).await
    }

    async fn nested_page(
        &self,
        nested: Nested,
        parents: &[Id],
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<NestedRows> {
        if parents.is_empty() {
            return Ok(vec![]);
        }
        let db = self.connection();
        if db.get_database_backend() == DbBackend::Postgres {
            let select = nested_page_lateral(nested, Parents::Ids(parents), vis, page, Read::Ids)
                .unwrap_or_else(|| nested_page_select(nested, parents, vis, page));
            return pairs(db, select).await;
        }
        let select = nested_page_cut(nested, parents, vis, page, Read::Ids)
            .unwrap_or_else(|| nested_page_select(nested, parents, vis, page));
        pairs(db, select).await
    }

    async fn funding_page(
        &self,
        nested: Nested,
        parents: &[Id],
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Vec<FundingRow>> {
        let read = funding_rows(self, nested, Parents::Ids(parents), vis, page).await?;
        Ok(read.0)
    }

    async fn scheme_page(
        &self,
        nested: Nested,
        parents: &[Id],
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Vec<(Id, SupportScheme)>> {
        let read = scheme_rows(self, nested, Parents::Ids(parents), vis, page).await?;
        Ok(read.0)
    }

    async fn nested_count(
        &self,
        nested: Nested,
        parents: &[Id],
        vis: &Visibility,
    ) -> Result<Vec<(Id, i64)>> {
        if parents.is_empty() {
            return Ok(vec![]);
        }
        let t = nested_table(nested, parents, vis, Reading::All);
        let parent = Alias::new(t.parent);
        let mut stmt = Query::select();
        stmt.column(parent.clone())
            .expr(Expr::col(Alias::new(t.child)).count());
        t.from(&mut stmt);
        stmt.and_where(Expr::col(parent.clone()).is_in(in_list(parents)))
            .cond_where(t.visible.clone())
            .group_by_col(parent);
        pairs(self.connection(), stmt).await
    }

    async fn participations(&self, pairs: &[(Id, Id)]) -> Result<Vec<PracticeCity>> {
        use crate::entities::practice_city::Column as C;
        if pairs.is_empty() {
            return Ok(vec![]);
        }
        // Both id sets in one statement; the few rows that pair a city with another city's
        // practice are dropped here.
        let cities: Vec<Id> = pairs.iter().map(|p| p.0).collect();
        let practices: Vec<Id> = pairs.iter().map(|p| p.1).collect();
        let rows = practice_city::Entity::find()
            .filter(C::CityId.is_in(in_list(&cities)))
            .filter(C::PracticeId.is_in(in_list(&practices)))
            .all(self.connection())
            .await
            .map_err(db_err)?;
        rows.into_iter()
            .filter(|r| pairs.contains(&(r.city_id, r.practice_id)))
            .map(mapping::practice_city)
            .collect()
    }

    async fn funding_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<Funding>> {
        by_ids::<funding::Entity, _>(
            self.connection(),
            funding::Column::Id,
            ids,
            funding_visible(vis),
            mapping::funding,
        )
        .await
    }
}

#[cfg(test)]
mod in_list_tests {
    use super::in_list;

    #[test]
    fn lists_are_padded_with_their_last_value_to_a_few_lengths() {
        assert_eq!(in_list::<i64>(&[]), Vec::<i64>::new());
        assert_eq!(in_list(&[7]), vec![7]);
        assert_eq!(in_list(&[1, 2, 3]), vec![1, 2, 3, 3]);
        let lengths: std::collections::BTreeSet<usize> = (1..=5000)
            .map(|n| in_list(&(0..n).collect::<Vec<i64>>()).len())
            .collect();
        // 1, 2, 4, …, 1024, then 2048, 3072, 4096, 5120.
        assert_eq!(lengths.len(), 15, "{lengths:?}");
        let long: Vec<i64> = (0..1500).collect();
        let padded = in_list(&long);
        assert_eq!(padded.len(), 2048);
        assert_eq!(&padded[..1500], &long[..]);
        assert!(padded[1500..].iter().all(|v| *v == 1499));
    }
}

#[cfg(test)]
mod status_tests {
    use super::status_is;
    use crate::entities::practice;
    use sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryTrait};

    fn built(status: &'static str) -> sea_orm::Statement {
        practice::Entity::find()
            .filter(status_is(practice::Column::Status, status))
            .build(DbBackend::Postgres)
    }

    #[test]
    fn framework_statuses_are_written_in_and_anything_else_is_bound() {
        let written = built("PUBLISHED");
        assert!(
            written
                .sql
                .ends_with(r#"WHERE "practice"."status" = ('PUBLISHED')"#),
            "{}",
            written.sql
        );
        assert!(written.values.is_none_or(|v| v.0.is_empty()));
        for other in ["it's", "", "published", "A' OR 'A'='A"] {
            let bound = built(other);
            assert!(
                bound.sql.ends_with(r#""practice"."status" = $1"#),
                "{}",
                bound.sql
            );
            assert_eq!(bound.values.map(|v| v.0.len()), Some(1));
        }
    }
}

#[cfg(test)]
mod limit_tests {
    use super::limits_written;
    use sea_orm::{DbBackend, Statement, Value, Values};

    fn statement(sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    }

    #[test]
    fn bound_limits_are_written_in_and_the_rest_renumbered() {
        let written = limits_written(statement(
            r#"SELECT "a" FROM (VALUES ($1), ($2)) AS "p" JOIN LATERAL (SELECT 1 FROM "t" WHERE "t"."x" = $3 LIMIT $4) AS "c" ON TRUE WHERE "s" = '$5 LIMIT $4' AND "y" = $5 LIMIT  $6"#,
            vec![
                Value::BigInt(Some(7)),
                Value::BigInt(Some(8)),
                Value::String(Some("x".into())),
                Value::BigUnsigned(Some(21)),
                Value::BigInt(Some(9)),
                Value::BigInt(Some(51)),
            ],
        ));
        assert_eq!(
            written.sql,
            r#"SELECT "a" FROM (VALUES ($1), ($2)) AS "p" JOIN LATERAL (SELECT 1 FROM "t" WHERE "t"."x" = $3 LIMIT 21) AS "c" ON TRUE WHERE "s" = '$5 LIMIT $4' AND "y" = $4 LIMIT  51"#
        );
        assert_eq!(
            written.values,
            Some(Values(vec![
                Value::BigInt(Some(7)),
                Value::BigInt(Some(8)),
                Value::String(Some("x".into())),
                Value::BigInt(Some(9)),
            ]))
        );
    }

    #[test]
    fn anything_unexpected_leaves_the_statement_as_it_was() {
        for (sql, values) in [
            // A placeholder without its value.
            ("SELECT 1 LIMIT $2", vec![Value::BigUnsigned(Some(1))]),
            // A limit that is not a whole number stays bound.
            ("SELECT 1 LIMIT $1", vec![Value::BigInt(Some(-1))]),
            // An unclosed quote.
            ("SELECT 'a LIMIT $1", vec![Value::BigUnsigned(Some(1))]),
        ] {
            let original = statement(sql, values);
            let written = limits_written(original.clone());
            assert_eq!(written.sql, original.sql);
            assert_eq!(written.values, original.values);
        }
    }
}
