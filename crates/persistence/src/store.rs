//! The domain repositories on sea-orm. Every batch method costs one statement whatever the number
//! of ids, which is what keeps the GraphQL dataloaders free of N+1 queries.

use async_trait::async_trait;
use domain::actor::Affiliation;
use domain::entities::*;
use domain::framework::*;
use domain::page::{Page, PageRequest};
use domain::repository::*;
use domain::{Error, Result, Visibility};
use sea_orm::sea_query::{Alias, Expr, Func, LikeExpr, Query, SelectStatement, UnionType};
use sea_orm::*;

use crate::entities::*;
use crate::mapping;

#[derive(Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
}

impl SeaStore {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaStore { db }
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// Unique-constraint violations are the caller's conflict; anything else is ours.
pub(crate) fn db_err(err: DbErr) -> Error {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            Error::Conflict("a record with these values already exists".into())
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            Error::validation("id", "refers to a record that does not exist")
        }
        _ => Error::internal(err),
    }
}

const PUBLISHED: &str = "PUBLISHED";

/// `(owner_kind, owner_id) = affiliation`: the record's own organisation.
fn owned_by<C: ColumnTrait>(kind: C, id: C, a: &Affiliation) -> Condition {
    Condition::all().add(kind.eq(a.kind())).add(id.eq(a.id()))
}

/// Practices the viewer may see: published ones, and for a member also the drafts of its
/// organisation and of the practices its city or association takes part in.
pub(crate) fn practice_visible(vis: &Visibility) -> Condition {
    use crate::entities::practice::Column as P;
    match vis {
        Visibility::Everything => Condition::all(),
        Visibility::Published => Condition::all().add(P::Status.eq(PUBLISHED)),
        Visibility::Member(a) => {
            let mut any = Condition::any().add(P::Status.eq(PUBLISHED)).add(owned_by(
                P::OwnerKind,
                P::OwnerId,
                a,
            ));
            match a {
                Affiliation::City(c) => {
                    let sub = Query::select()
                        .column(practice_city::Column::PracticeId)
                        .from(practice_city::Entity)
                        .and_where(practice_city::Column::CityId.eq(*c))
                        .to_owned();
                    any = any.add(P::Id.in_subquery(sub));
                }
                Affiliation::Association(x) => {
                    let sub = Query::select()
                        .column(practice_association::Column::PracticeId)
                        .from(practice_association::Entity)
                        .and_where(practice_association::Column::AssociationId.eq(*x))
                        .to_owned();
                    any = any.add(P::Id.in_subquery(sub));
                }
                Affiliation::Donor(_) => {}
            }
            any
        }
    }
}

/// Schemes the viewer may see: published ones, and for a member the drafts it owns or operates.
pub(crate) fn scheme_visible(vis: &Visibility) -> Condition {
    use crate::entities::support_scheme::Column as S;
    match vis {
        Visibility::Everything => Condition::all(),
        Visibility::Published => Condition::all().add(S::Status.eq(PUBLISHED)),
        Visibility::Member(a) => {
            let operator = match a {
                Affiliation::Association(x) => Some(scheme_operator::Column::AssociationId.eq(*x)),
                Affiliation::Donor(d) => Some(scheme_operator::Column::DonorId.eq(*d)),
                Affiliation::City(_) => None,
            };
            let mut any = Condition::any().add(S::Status.eq(PUBLISHED)).add(owned_by(
                S::OwnerKind,
                S::OwnerId,
                a,
            ));
            if let Some(op) = operator {
                let sub = Query::select()
                    .column(scheme_operator::Column::SchemeId)
                    .from(scheme_operator::Entity)
                    .and_where(op)
                    .to_owned();
                any = any.add(S::Id.in_subquery(sub));
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

fn visible_practice_ids(vis: &Visibility) -> SelectStatement {
    Query::select()
        .column(practice::Column::Id)
        .from(practice::Entity)
        .cond_where(practice_visible(vis))
        .to_owned()
}

fn visible_scheme_ids(vis: &Visibility) -> SelectStatement {
    Query::select()
        .column(support_scheme::Column::Id)
        .from(support_scheme::Entity)
        .cond_where(scheme_visible(vis))
        .to_owned()
}

/// `LIKE` pattern for a case-insensitive substring search, with the wildcards of the text escaped.
fn like_pattern(text: &str) -> LikeExpr {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

fn text_condition<C: ColumnTrait>(columns: &[C], text: &Option<String>) -> Condition {
    match text {
        None => Condition::all(),
        Some(t) => columns.iter().fold(Condition::any(), |cond, col| {
            cond.add(Expr::expr(Func::lower(Expr::col(*col))).like(like_pattern(t)))
        }),
    }
}

/// Full-text search (see the full-text migration): every word of the text must occur, in any
/// order; diacritics are folded on SQLite. Query syntax is never passed through: each word is
/// quoted for FTS5, and PostgreSQL's `plainto_tsquery` takes plain text.
fn search<C: ColumnTrait>(
    backend: DbBackend,
    table: &str,
    id: C,
    text: &Option<String>,
) -> Condition {
    let Some(text) = text else {
        return Condition::all();
    };
    let words: Vec<String> = text
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
            format!("\"{table}\".\"search\" @@ plainto_tsquery('simple', $1)"),
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

/// `owner IN (SELECT owner FROM tags WHERE dimension = d AND value IN values)`: any of the values.
fn tagged<C: ColumnTrait>(
    id: C,
    table: &'static str,
    owner: &'static str,
    dimension: Dimension,
    values: &[&'static str],
) -> Condition {
    if values.is_empty() {
        return Condition::all();
    }
    let sub = Query::select()
        .column(Alias::new(owner))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("dimension")).eq(dimension.as_str()))
        .and_where(Expr::col(Alias::new("value")).is_in(values.iter().copied()))
        .to_owned();
    Condition::all().add(id.in_subquery(sub))
}

fn strs<T: Copy>(values: &[T], f: fn(T) -> &'static str) -> Vec<&'static str> {
    values.iter().map(|v| f(*v)).collect()
}

/// One page in id order after the cursor; one more row is fetched to learn whether more follow.
async fn page_of<E, C>(
    db: &DatabaseConnection,
    select: Select<E>,
    id: C,
    page: PageRequest,
) -> Result<(Vec<E::Model>, bool)>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let mut select = select.order_by_asc(id).limit(page.first + 1);
    if let Some(after) = page.after {
        select = select.filter(id.gt(after));
    }
    let mut rows = select.all(db).await.map_err(db_err)?;
    let has_next = rows.len() as u64 > page.first;
    rows.truncate(page.first as usize);
    Ok((rows, has_next))
}

fn map_all<M, T>(rows: Vec<M>, f: fn(M) -> Result<T>) -> Result<Vec<T>> {
    rows.into_iter().map(f).collect()
}

async fn pairs(db: &DatabaseConnection, stmt: SelectStatement) -> Result<Vec<(Id, Id)>> {
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

async fn tag_rows_of(
    db: &DatabaseConnection,
    table: &'static str,
    owner: &'static str,
    ids: &[Id],
) -> Result<Vec<(Id, Tags)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let stmt = Query::select()
        .columns([
            Alias::new(owner),
            Alias::new("dimension"),
            Alias::new("value"),
        ])
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new(owner)).is_in(ids.iter().copied()))
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

fn practice_condition(backend: DbBackend, filter: &PracticeFilter, vis: &Visibility) -> Condition {
    use crate::entities::practice::Column as P;
    let mut cond = Condition::all().add(practice_visible(vis));
    if let Some(status) = filter.status {
        cond = cond.add(P::Status.eq(status.as_str()));
    }
    if let Some(o) = filter.orientation {
        cond = cond.add(P::Orientation.eq(o.as_str()));
    }
    if let Some(m) = filter.modality {
        cond = cond.add(P::Modality.eq(m.as_str()));
    }
    cond = cond
        .add(tagged(
            P::Id,
            "practice_tag",
            "practice_id",
            Dimension::Theme,
            &strs(&filter.themes, Theme::as_str),
        ))
        .add(tagged(
            P::Id,
            "practice_tag",
            "practice_id",
            Dimension::ManagementFocus,
            &strs(&filter.management_focus, ManagementFocus::as_str),
        ))
        .add(tagged(
            P::Id,
            "practice_tag",
            "practice_id",
            Dimension::CooperatingParty,
            &strs(&filter.cooperating_parties, CooperatingParty::as_str),
        ));
    if let Some(code) = &filter.country_code {
        let sub = Query::select()
            .column((practice_city::Entity, practice_city::Column::PracticeId))
            .from(practice_city::Entity)
            .inner_join(
                city::Entity,
                Expr::col((city::Entity, city::Column::Id))
                    .equals((practice_city::Entity, practice_city::Column::CityId)),
            )
            .and_where(Expr::col((city::Entity, city::Column::CountryCode)).eq(code.as_str()))
            .to_owned();
        cond = cond.add(P::Id.in_subquery(sub));
    }
    if let Some(city_id) = filter.city_id {
        let sub = Query::select()
            .column(practice_city::Column::PracticeId)
            .from(practice_city::Entity)
            .and_where(practice_city::Column::CityId.eq(city_id))
            .to_owned();
        cond = cond.add(P::Id.in_subquery(sub));
    }
    if let Some(scheme_id) = filter.scheme_id {
        let sub = Query::select()
            .column(practice_scheme::Column::PracticeId)
            .from(practice_scheme::Entity)
            .and_where(practice_scheme::Column::SchemeId.eq(scheme_id))
            .to_owned();
        cond = cond.add(P::Id.in_subquery(sub));
    }
    if let Some(year) = filter.active_in_year {
        cond = cond.add(P::StartYear.lte(year)).add(
            Condition::any()
                .add(P::EndYear.is_null())
                .add(P::EndYear.gte(year)),
        );
    }
    cond.add(search(backend, "practice", P::Id, &filter.text))
}

fn scheme_condition(backend: DbBackend, filter: &SchemeFilter, vis: &Visibility) -> Condition {
    use crate::entities::support_scheme::Column as S;
    let mut cond = Condition::all().add(scheme_visible(vis));
    if let Some(status) = filter.status {
        cond = cond.add(S::Status.eq(status.as_str()));
    }
    if let Some(open) = filter.open_for_applications {
        cond = cond.add(S::OpenForApplications.eq(open));
    }
    cond = cond.add(tagged(
        S::Id,
        "scheme_tag",
        "scheme_id",
        Dimension::Theme,
        &strs(&filter.themes, Theme::as_str),
    ));
    if let Some(o) = filter.orientation {
        cond = cond.add(tagged(
            S::Id,
            "scheme_tag",
            "scheme_id",
            Dimension::Orientation,
            &[o.as_str()],
        ));
    }
    if let Some(m) = filter.support_modality {
        cond = cond.add(tagged(
            S::Id,
            "scheme_tag",
            "scheme_id",
            Dimension::SupportModality,
            &[m.as_str()],
        ));
    }
    if let Some(a) = filter.association_id {
        let sub = Query::select()
            .column(scheme_operator::Column::SchemeId)
            .from(scheme_operator::Entity)
            .and_where(scheme_operator::Column::AssociationId.eq(a))
            .to_owned();
        cond = cond.add(S::Id.in_subquery(sub));
    }
    if let Some(d) = filter.donor_id {
        let funded = Query::select()
            .column(funding::Column::SchemeId)
            .from(funding::Entity)
            .and_where(funding::Column::DonorId.eq(d))
            .and_where(funding::Column::SchemeId.is_not_null())
            .to_owned();
        let operated = Query::select()
            .column(scheme_operator::Column::SchemeId)
            .from(scheme_operator::Entity)
            .and_where(scheme_operator::Column::DonorId.eq(d))
            .to_owned();
        cond = cond.add(
            Condition::any()
                .add(S::Id.in_subquery(funded))
                .add(S::Id.in_subquery(operated)),
        );
    }
    cond.add(search(backend, "support_scheme", S::Id, &filter.text))
}

fn need_condition(backend: DbBackend, filter: &NeedFilter, vis: &Visibility) -> Condition {
    use crate::entities::need::Column as N;
    let mut cond = Condition::all().add(need_visible(vis));
    if let Some(status) = filter.status {
        cond = cond.add(N::Status.eq(status.as_str()));
    }
    if let Some(city_id) = filter.city_id {
        cond = cond.add(N::CityId.eq(city_id));
    }
    if let Some(code) = &filter.country_code {
        let sub = Query::select()
            .column(city::Column::Id)
            .from(city::Entity)
            .and_where(city::Column::CountryCode.eq(code.as_str()))
            .to_owned();
        cond = cond.add(N::CityId.in_subquery(sub));
    }
    cond.add(tagged(
        N::Id,
        "need_tag",
        "need_id",
        Dimension::Theme,
        &strs(&filter.themes, Theme::as_str),
    ))
    .add(search(backend, "need", N::Id, &filter.text))
}

fn city_condition(filter: &CityFilter) -> Condition {
    use crate::entities::city::Column as C;
    let mut cond = Condition::all();
    if let Some(code) = &filter.country_code {
        cond = cond.add(C::CountryCode.eq(code.as_str()));
    }
    if let Some(bloc) = filter.bloc {
        let sub = Query::select()
            .column(country::Column::Code)
            .from(country::Entity)
            .and_where(country::Column::Bloc.eq(bloc.as_str()))
            .to_owned();
        cond = cond.add(C::CountryCode.in_subquery(sub));
    }
    cond.add(text_condition(&[C::Name], &filter.text))
}

fn association_condition(filter: &AssociationFilter) -> Condition {
    use crate::entities::association::Column as A;
    let mut cond = Condition::all();
    if let Some(scope) = filter.scope {
        cond = cond.add(A::Scope.eq(scope.as_str()));
    }
    cond.add(text_condition(
        &[A::Name, A::Acronym, A::Description],
        &filter.text,
    ))
}

fn donor_condition(filter: &DonorFilter) -> Condition {
    use crate::entities::donor::Column as D;
    let mut cond = Condition::all();
    if let Some(kind) = filter.kind {
        cond = cond.add(D::Kind.eq(kind.as_str()));
    }
    cond.add(text_condition(
        &[D::Name, D::Acronym, D::Description],
        &filter.text,
    ))
}

async fn count<E>(db: &DatabaseConnection, cond: Condition) -> Result<i64>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let n = E::find().filter(cond).count(db).await.map_err(db_err)?;
    i64::try_from(n).map_err(Error::internal)
}

#[async_trait]
impl ReferenceRepository for SeaStore {
    async fn countries_by_codes(&self, codes: &[String]) -> Result<Vec<Country>> {
        if codes.is_empty() {
            return Ok(vec![]);
        }
        let rows = country::Entity::find()
            .filter(country::Column::Code.is_in(codes.iter().cloned()))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::country)
    }

    async fn all_countries(&self) -> Result<Vec<Country>> {
        let rows = country::Entity::find()
            .order_by_asc(country::Column::Code)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::country)
    }
}

#[async_trait]
impl CityRepository for SeaStore {
    async fn cities_by_ids(&self, ids: &[Id]) -> Result<Vec<City>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = city::Entity::find()
            .filter(city::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::city)
    }

    async fn list_cities(&self, filter: &CityFilter, page: PageRequest) -> Result<Page<City>> {
        let (rows, has_next_page) = page_of(
            &self.db,
            city::Entity::find().filter(city_condition(filter)),
            city::Column::Id,
            page,
        )
        .await?;
        Ok(Page {
            items: map_all(rows, mapping::city)?,
            has_next_page,
        })
    }

    async fn count_cities(&self, filter: &CityFilter) -> Result<i64> {
        count::<city::Entity>(&self.db, city_condition(filter)).await
    }
}

#[async_trait]
impl AssociationRepository for SeaStore {
    async fn associations_by_ids(&self, ids: &[Id]) -> Result<Vec<Association>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = association::Entity::find()
            .filter(association::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::association)
    }

    async fn list_associations(
        &self,
        filter: &AssociationFilter,
        page: PageRequest,
    ) -> Result<Page<Association>> {
        let select = association::Entity::find().filter(association_condition(filter));
        let (rows, has_next_page) =
            page_of(&self.db, select, association::Column::Id, page).await?;
        Ok(Page {
            items: map_all(rows, mapping::association)?,
            has_next_page,
        })
    }

    async fn count_associations(&self, filter: &AssociationFilter) -> Result<i64> {
        count::<association::Entity>(&self.db, association_condition(filter)).await
    }
}

#[async_trait]
impl DonorRepository for SeaStore {
    async fn donors_by_ids(&self, ids: &[Id]) -> Result<Vec<Donor>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = donor::Entity::find()
            .filter(donor::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::donor)
    }

    async fn list_donors(&self, filter: &DonorFilter, page: PageRequest) -> Result<Page<Donor>> {
        let select = donor::Entity::find().filter(donor_condition(filter));
        let (rows, has_next_page) = page_of(&self.db, select, donor::Column::Id, page).await?;
        Ok(Page {
            items: map_all(rows, mapping::donor)?,
            has_next_page,
        })
    }

    async fn count_donors(&self, filter: &DonorFilter) -> Result<i64> {
        count::<donor::Entity>(&self.db, donor_condition(filter)).await
    }

    async fn agendas(&self, donor_ids: &[Id]) -> Result<Vec<(Id, Agenda)>> {
        if donor_ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = donor_agenda::Entity::find()
            .filter(donor_agenda::Column::DonorId.is_in(donor_ids.iter().copied()))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let mut countries: Vec<(Id, String)> = Vec::new();
        let mut others = Vec::new();
        for r in rows {
            if r.dimension == Dimension::Country.as_str() {
                countries.push((r.donor_id, r.value));
            } else {
                others.push((r.donor_id, r.dimension, r.value));
            }
        }
        let mut agendas: std::collections::BTreeMap<Id, Agenda> = donor_ids
            .iter()
            .map(|id| (*id, Agenda::default()))
            .collect();
        for (id, tags) in mapping::tags(others)? {
            let a = agendas.entry(id).or_default();
            a.themes = tags.themes;
            a.orientations = tags.orientations;
        }
        for (id, code) in countries {
            agendas.entry(id).or_default().country_codes.push(code);
        }
        for a in agendas.values_mut() {
            a.country_codes.sort();
        }
        Ok(agendas.into_iter().collect())
    }
}

#[async_trait]
impl SchemeRepository for SeaStore {
    async fn schemes_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<SupportScheme>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let cond = scheme_condition(
            self.db.get_database_backend(),
            &SchemeFilter::default(),
            vis,
        )
        .add(support_scheme::Column::Id.is_in(ids.iter().copied()));
        let rows = support_scheme::Entity::find()
            .filter(cond)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::scheme)
    }

    async fn list_schemes(
        &self,
        filter: &SchemeFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<SupportScheme>> {
        let select = support_scheme::Entity::find().filter(scheme_condition(
            self.db.get_database_backend(),
            filter,
            vis,
        ));
        let (rows, has_next_page) =
            page_of(&self.db, select, support_scheme::Column::Id, page).await?;
        Ok(Page {
            items: map_all(rows, mapping::scheme)?,
            has_next_page,
        })
    }

    async fn count_schemes(&self, filter: &SchemeFilter, vis: &Visibility) -> Result<i64> {
        count::<support_scheme::Entity>(
            &self.db,
            scheme_condition(self.db.get_database_backend(), filter, vis),
        )
        .await
    }

    async fn scheme_tags(&self, scheme_ids: &[Id]) -> Result<Vec<(Id, Tags)>> {
        tag_rows_of(&self.db, "scheme_tag", "scheme_id", scheme_ids).await
    }

    async fn scheme_operators(&self, scheme_ids: &[Id]) -> Result<Vec<(Id, Operator)>> {
        if scheme_ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = scheme_operator::Entity::find()
            .filter(scheme_operator::Column::SchemeId.is_in(scheme_ids.iter().copied()))
            .order_by_asc(scheme_operator::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter()
            .map(|r| match (r.association_id, r.donor_id) {
                (Some(a), _) => Ok((r.scheme_id, Operator::Association(a))),
                (None, Some(d)) => Ok((r.scheme_id, Operator::Donor(d))),
                (None, None) => Err(Error::internal(format!(
                    "scheme operator {} names no organisation",
                    r.id
                ))),
            })
            .collect()
    }
}

#[async_trait]
impl PracticeRepository for SeaStore {
    async fn practices_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<Practice>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let cond = practice_condition(
            self.db.get_database_backend(),
            &PracticeFilter::default(),
            vis,
        )
        .add(practice::Column::Id.is_in(ids.iter().copied()));
        let rows = practice::Entity::find()
            .filter(cond)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::practice)
    }

    async fn list_practices(
        &self,
        filter: &PracticeFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<Practice>> {
        let select = practice::Entity::find().filter(practice_condition(
            self.db.get_database_backend(),
            filter,
            vis,
        ));
        let (rows, has_next_page) = page_of(&self.db, select, practice::Column::Id, page).await?;
        Ok(Page {
            items: map_all(rows, mapping::practice)?,
            has_next_page,
        })
    }

    async fn count_practices(&self, filter: &PracticeFilter, vis: &Visibility) -> Result<i64> {
        count::<practice::Entity>(
            &self.db,
            practice_condition(self.db.get_database_backend(), filter, vis),
        )
        .await
    }

    async fn practice_tags(&self, practice_ids: &[Id]) -> Result<Vec<(Id, Tags)>> {
        tag_rows_of(&self.db, "practice_tag", "practice_id", practice_ids).await
    }

    async fn practice_cities(&self, practice_ids: &[Id]) -> Result<Vec<PracticeCity>> {
        if practice_ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = practice_city::Entity::find()
            .filter(practice_city::Column::PracticeId.is_in(practice_ids.iter().copied()))
            .order_by_asc(practice_city::Column::Role)
            .order_by_asc(practice_city::Column::CityId)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::practice_city)
    }

    async fn city_practices(&self, city_ids: &[Id], vis: &Visibility) -> Result<Vec<PracticeCity>> {
        if city_ids.is_empty() {
            return Ok(vec![]);
        }
        let mut select = practice_city::Entity::find()
            .filter(practice_city::Column::CityId.is_in(city_ids.iter().copied()));
        if *vis != Visibility::Everything {
            select = select
                .filter(practice_city::Column::PracticeId.in_subquery(visible_practice_ids(vis)));
        }
        let rows = select
            .order_by_asc(practice_city::Column::PracticeId)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::practice_city)
    }

    async fn partners(&self, practice_ids: &[Id]) -> Result<Vec<Partner>> {
        if practice_ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = practice_partner::Entity::find()
            .filter(practice_partner::Column::PracticeId.is_in(practice_ids.iter().copied()))
            .order_by_asc(practice_partner::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::partner)
    }

    async fn indicators(&self, practice_ids: &[Id]) -> Result<Vec<Indicator>> {
        if practice_ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = indicator::Entity::find()
            .filter(indicator::Column::PracticeId.is_in(practice_ids.iter().copied()))
            .order_by_asc(indicator::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::indicator)
    }
}

#[async_trait]
impl FundingRepository for SeaStore {
    async fn funding_of(
        &self,
        owner: FundingOwner,
        ids: &[Id],
        vis: &Visibility,
    ) -> Result<Vec<Funding>> {
        use crate::entities::funding::Column as F;
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let column = match owner {
            FundingOwner::Practice => F::PracticeId,
            FundingOwner::Scheme => F::SchemeId,
            FundingOwner::Donor => F::DonorId,
        };
        let mut cond = Condition::all().add(column.is_in(ids.iter().copied()));
        if *vis != Visibility::Everything {
            cond = cond
                .add(
                    Condition::any()
                        .add(F::PracticeId.is_null())
                        .add(F::PracticeId.in_subquery(visible_practice_ids(vis))),
                )
                .add(
                    Condition::any()
                        .add(F::SchemeId.is_null())
                        .add(F::SchemeId.in_subquery(visible_scheme_ids(vis))),
                );
        }
        let rows = funding::Entity::find()
            .filter(cond)
            .order_by_asc(F::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::funding)
    }
}

#[async_trait]
impl NeedRepository for SeaStore {
    async fn needs_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<Need>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let cond = need_condition(self.db.get_database_backend(), &NeedFilter::default(), vis)
            .add(need::Column::Id.is_in(ids.iter().copied()));
        let rows = need::Entity::find()
            .filter(cond)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        map_all(rows, mapping::need)
    }

    async fn list_needs(
        &self,
        filter: &NeedFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<Need>> {
        let select = need::Entity::find().filter(need_condition(
            self.db.get_database_backend(),
            filter,
            vis,
        ));
        let (rows, has_next_page) = page_of(&self.db, select, need::Column::Id, page).await?;
        Ok(Page {
            items: map_all(rows, mapping::need)?,
            has_next_page,
        })
    }

    async fn count_needs(&self, filter: &NeedFilter, vis: &Visibility) -> Result<i64> {
        count::<need::Entity>(
            &self.db,
            need_condition(self.db.get_database_backend(), filter, vis),
        )
        .await
    }

    async fn need_tags(&self, need_ids: &[Id]) -> Result<Vec<(Id, Tags)>> {
        tag_rows_of(&self.db, "need_tag", "need_id", need_ids).await
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
        .and_where(Expr::col(Alias::new(from)).is_in(ids.iter().copied()))
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
            Link::AssociationPractices => pair_select(
                "practice_association",
                "association_id",
                "practice_id",
                from,
            ),
            Link::PracticeSchemes => {
                pair_select("practice_scheme", "practice_id", "scheme_id", from)
            }
            Link::SchemePractices => {
                pair_select("practice_scheme", "scheme_id", "practice_id", from)
            }
            Link::AssociationMemberCities => {
                pair_select("association_city", "association_id", "city_id", from)
            }
            Link::CityMemberships => {
                pair_select("association_city", "city_id", "association_id", from)
            }
            Link::AssociationMemberAssociations => {
                pair_select("association_member", "association_id", "member_id", from)
            }
            Link::AssociationParents => {
                pair_select("association_member", "member_id", "association_id", from)
            }
            Link::AssociationSchemes => {
                pair_select("scheme_operator", "association_id", "scheme_id", from)
            }
            Link::CityNeeds => pair_select("need", "city_id", "id", from),
            Link::DonorSchemes => {
                // Schemes a donor funds or operates.
                let mut funded = Query::select()
                    .column(funding::Column::DonorId)
                    .column(funding::Column::SchemeId)
                    .from(funding::Entity)
                    .and_where(funding::Column::DonorId.is_in(from.iter().copied()))
                    .and_where(funding::Column::SchemeId.is_not_null())
                    .to_owned();
                let operated = Query::select()
                    .column(scheme_operator::Column::DonorId)
                    .column(scheme_operator::Column::SchemeId)
                    .from(scheme_operator::Entity)
                    .and_where(scheme_operator::Column::DonorId.is_in(from.iter().copied()))
                    .to_owned();
                funded.union(UnionType::Distinct, operated);
                funded
            }
        };
        let mut rows = pairs(&self.db, stmt).await?;
        rows.sort_unstable();
        rows.dedup();
        Ok(rows)
    }
}

#[async_trait]
impl InventoryRepository for SeaStore {
    async fn inventory(&self, vis: &Visibility) -> Result<Inventory> {
        let backend = self.db.get_database_backend();
        let practices = practice::Entity::find()
            .filter(practice_visible(vis))
            .count(&self.db)
            .await
            .map_err(db_err)?;
        let schemes = support_scheme::Entity::find()
            .filter(scheme_visible(vis))
            .count(&self.db)
            .await
            .map_err(db_err)?;
        // Cities, associations and donors have no drafts: one statement counts them all.
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                backend,
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
            practice_count: i64::try_from(practices).map_err(Error::internal)?,
            support_scheme_count: i64::try_from(schemes).map_err(Error::internal)?,
            city_count: get("cities")?,
            association_count: get("associations")?,
            donor_count: get("donors")?,
            practice_facets: self.facets(practice_facets).await?,
            scheme_facets: self.facets(scheme_facets).await?,
        })
    }
}

impl SeaStore {
    async fn facets(&self, stmt: SelectStatement) -> Result<Vec<FacetCount>> {
        let rows = self.db.query_all(&stmt).await.map_err(db_err)?;
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
}
