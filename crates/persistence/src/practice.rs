//! Practices: the read repository, and the rows a practice is saved as.

use async_trait::async_trait;
use domain::audit::AuditEntry;
use domain::editing::PracticeRecord;
use domain::entities::*;
use domain::framework::*;
use domain::page::{Page, PageRequest};
use domain::repository::{Link, LinkRepository, PracticeFilter, PracticeRepository};
use domain::{Result, Visibility};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use sea_orm::*;

use crate::entities::*;
use crate::mapping;
use crate::query::{
    self, PRACTICE_TAGS, Parents, in_select, practice_visible, practice_visible_at,
};
use crate::rollup::{Maintenance, Touched};
use crate::signature::{focus_bit, theme_bit};
use crate::store::{SeaStore, db_err};
use crate::versioned::{
    Txn, Versioned, owner_of, owner_parts, replace_rows, stored, tag_models, text, versioned_as,
};

/// The prefix of the city's columns in [`PracticeRepository::practice_participants`].
const CITY: &str = "city_";

pub(crate) fn practice_condition(
    backend: DbBackend,
    filter: &PracticeFilter,
    vis: &Visibility,
) -> Condition {
    Condition::all()
        .add(practice_visible(vis))
        .add(filtered(backend, filter))
}

/// The practices of one page of a list as [`query::page`] reads it (the condition it takes).
///
/// A member sees the published practices and its own whatever their status: one condition
/// with an OR of the two, which no index answers in id order, had SQLite gather every published
/// practice and sort them for each page (27 ms a page of 50 on 200,000 practices). On SQLite
/// each side reads its first ids in order (see [`MemberSides`]) and the page is cut from the
/// two. PostgreSQL keeps the OR: it walks the ids and tests each practice, where for the
/// member's own side alone, a few practices or none, it walked every id to find a page.
pub(crate) fn practice_page_condition(
    backend: DbBackend,
    filter: &PracticeFilter,
    vis: &Visibility,
    page: PageRequest,
) -> Condition {
    use crate::entities::practice::Column as P;
    let sides = match backend {
        DbBackend::Postgres => None,
        _ => MemberSides::of(backend, filter, vis),
    };
    let Some(MemberSides { published, mut own }) = sides else {
        return practice_condition(backend, filter, vis);
    };
    // The page and the extra row that tells whether there is a next one.
    let enough = PageRequest {
        first: page.first + 1,
        after: page.after,
    };
    own.order_by((practice::Entity, P::Id), Order::Asc)
        .limit(enough.first);
    if let Some(after) = page.after {
        own.and_where(Expr::col((practice::Entity, P::Id)).gt(after));
    }
    Condition::any()
        .add(P::Id.in_subquery(query::page_ids::<practice::Entity>(
            published,
            P::Id,
            enough,
        )))
        .add(P::Id.in_subquery(own))
}

/// For a member, the practices it sees in two disjoint parts: a page on SQLite reads its first
/// ids from each (see [`practice_page_condition`]), a count on both databases adds up the two
/// counts. Counted as one OR, PostgreSQL read every practice of the base (150 ms on 200,000,
/// against 12 ms for the two).
struct MemberSides {
    /// The published practices: read in id order through the index of statuses.
    published: Condition,
    /// The member's own practices that are not published, as a statement of their ids: a few
    /// a member, each looked up by id. Written as a condition on the practice, SQLite read them
    /// through the index of a filter's orientation instead (every practice of the orientation,
    /// 140 ms on 200,000 practices); it keeps the order of a CROSS JOIN.
    own: SelectStatement,
}

impl MemberSides {
    fn of(backend: DbBackend, filter: &PracticeFilter, vis: &Visibility) -> Option<Self> {
        use crate::entities::practice::Column as P;
        let Visibility::Member(member) = vis else {
            return None;
        };
        let mine = Alias::new("mine");
        let own = Query::select()
            .expr_as(Expr::col((practice::Entity, P::Id)), Alias::new("id"))
            .from_subquery(query::practices_of_member(member), mine.clone())
            // sea-query writes no ON for a CROSS JOIN: the pairing is in the WHERE.
            .join(JoinType::CrossJoin, practice::Entity, Condition::all())
            .cond_where(
                Condition::all()
                    .add(Expr::col((practice::Entity, P::Id)).equals((mine, Alias::new("id"))))
                    .add(query::practice_unpublished())
                    .add(filtered(backend, filter)),
            )
            .to_owned();
        Some(Self {
            published: practice_condition(backend, filter, &Visibility::Published),
            own,
        })
    }
}

/// The practices `filter` selects, whoever sees them.
fn filtered(backend: DbBackend, filter: &PracticeFilter) -> Condition {
    use crate::entities::practice::Column as P;
    let mut cond = Condition::all();
    if let Some(status) = filter.status {
        cond = cond.add(crate::query::status_is(P::Status, status.as_str()));
    }
    if let Some(o) = filter.orientation {
        cond = cond.add(P::Orientation.eq(o.as_str()));
    }
    if let Some(m) = filter.modality {
        cond = cond.add(P::Modality.eq(m.as_str()));
    }
    cond = cond
        .add(any_bit_of(
            "theme_bits",
            filter.themes.iter().map(|t| theme_bit(t.as_str())),
        ))
        .add(any_bit_of(
            "focus_bits",
            filter
                .management_focus
                .iter()
                .map(|f| focus_bit(f.as_str())),
        ))
        .add(PRACTICE_TAGS.any_of(
            P::Id,
            Dimension::CooperatingParty,
            &filter.cooperating_parties,
            CooperatingParty::as_str,
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
        cond = cond.add(in_select(
            P::Id,
            practice_city::Entity,
            practice_city::Column::PracticeId,
            practice_city::Column::CityId.eq(city_id),
        ));
    }
    if let Some(scheme_id) = filter.scheme_id {
        cond = cond.add(in_select(
            P::Id,
            practice_scheme::Entity,
            practice_scheme::Column::PracticeId,
            practice_scheme::Column::SchemeId.eq(scheme_id),
        ));
    }
    if let Some(since) = filter.updated_since {
        cond = cond.add(P::UpdatedAt.gt(since));
    }
    if let Some(year) = filter.active_in_year {
        cond = cond.add(P::StartYear.lte(year)).add(
            Condition::any()
                .add(P::EndYear.is_null())
                .add(P::EndYear.gte(year)),
        );
    }
    cond.add(query::search(backend, "practice", P::Id, &filter.text))
}

/// A practice holding any of the values whose `bits` are given, read from the bits its row keeps
/// of them (see `signature`) rather than from its tags: a list filtered by theme then reads the
/// practices it walks or counts and no others, where the tags' subquery read every practice of
/// the theme first (75,479 of 200,000 for ENVIRONMENT, 22 ms of SQLite's 23 for a page of 50).
/// The bits are written into the statement, as a status is (see `query::status_is`), a term a
/// value joined by OR rather than one mask: each term is the condition of the value's partial
/// index on PostgreSQL (see the migration `practice_theme_listing`), which a count then reads
/// alone.
fn any_bit_of(column: &str, bits: impl Iterator<Item = i64>) -> Condition {
    let bits = distinct_bits(bits);
    if bits.is_empty() {
        return Condition::all();
    }
    bits.into_iter().fold(Condition::any(), |any, bit| {
        any.add(Expr::cust(format!(
            "(\"practice\".\"{column}\" & {bit}) <> 0"
        )))
    })
}

/// The published practices `filter` selects, counted (`published` is their condition).
///
/// On PostgreSQL a filter of several themes (or, failing that, several management focuses) is
/// counted a value at a time, each through its own partial index (see the migration
/// `practice_theme_listing`) and less the practices of the values before it, so that each
/// practice is counted once without a set of ids to tell: the values' OR read the index of every
/// published practice instead (HEALTH or HOUSING on 200,000 practices: 190,233 entries read to
/// count 69,521, against 35,535 + 39,276 split; with `psql` 25-29 ms against 15-19, and
/// without parallel workers, as under load, 16-18 ms against 8). A filter
/// that also reads other tables (a country, city or scheme, words, cooperating parties) is
/// counted whole, as each value's count would read them again; so is every filter on SQLite,
/// which chooses no partial index.
async fn count_published(
    db: &DatabaseConnection,
    filter: &PracticeFilter,
    published: Condition,
) -> Result<i64> {
    let on_practice_alone = filter.country_code.is_none()
        && filter.city_id.is_none()
        && filter.scheme_id.is_none()
        && filter.text.is_none()
        && filter.cooperating_parties.is_empty();
    let split = if db.get_database_backend() != DbBackend::Postgres || !on_practice_alone {
        None
    } else if filter.themes.len() > 1 {
        let bits = filter.themes.iter().map(|t| theme_bit(t.as_str()));
        let rest = PracticeFilter {
            themes: vec![],
            ..filter.clone()
        };
        Some(("theme_bits", distinct_bits(bits), rest))
    } else if filter.management_focus.len() > 1 {
        let bits = filter
            .management_focus
            .iter()
            .map(|f| focus_bit(f.as_str()));
        let rest = PracticeFilter {
            management_focus: vec![],
            ..filter.clone()
        };
        Some(("focus_bits", distinct_bits(bits), rest))
    } else {
        None
    };
    let Some((column, bits, rest)) = split.filter(|(_, bits, _)| bits.len() > 1) else {
        return query::count::<practice::Entity>(db, published).await;
    };
    let rest = practice_condition(DbBackend::Postgres, &rest, &Visibility::Published);
    // The values' counts added up, each a subquery of its own: 15-19 ms in the example above,
    // about what a sum over a UNION ALL of them takes (13-16). One count over the values' rows
    // together passes every row through the union: 22-26 ms.
    let mut before = 0;
    let mut total: Option<SimpleExpr> = None;
    for bit in bits {
        let mut value = rest.clone().add(any_bit_of(column, std::iter::once(bit)));
        if before != 0 {
            value = value.add(Expr::cust(format!(
                "(\"practice\".\"{column}\" & {before}) = 0"
            )));
        }
        before |= bit;
        let count = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from(practice::Entity)
            .cond_where(value)
            .to_owned();
        let count = SimpleExpr::SubQuery(None, Box::new(count.into()));
        total = Some(match total {
            None => count,
            Some(total) => total.add(count),
        });
    }
    let Some(total) = total else {
        return query::count::<practice::Entity>(db, published).await;
    };
    query::scalar_count(db, Query::select().expr(total).to_owned()).await
}

fn distinct_bits(bits: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut bits: Vec<i64> = bits.collect();
    bits.sort_unstable();
    bits.dedup();
    bits
}

#[async_trait]
impl PracticeRepository for SeaStore {
    async fn practices_by_ids(&self, ids: &[Id], vis: &Visibility) -> Result<Vec<Practice>> {
        let db = self.connection();
        let cond = practice_condition(db.get_database_backend(), &PracticeFilter::default(), vis);
        query::by_ids::<practice::Entity, _>(db, practice::Column::Id, ids, cond, mapping::practice)
            .await
    }

    async fn list_practices(
        &self,
        filter: &PracticeFilter,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Page<Practice>> {
        let db = self.connection();
        let cond = practice_page_condition(db.get_database_backend(), filter, vis, page);
        query::page::<practice::Entity, _>(
            self,
            cond,
            practice::Column::Id,
            page,
            mapping::practice,
        )
        .await
    }

    async fn count_practices(&self, filter: &PracticeFilter, vis: &Visibility) -> Result<i64> {
        let db = self.connection();
        let backend = db.get_database_backend();
        // A member's count adds the two sides up, each through its own index (see
        // `MemberSides`).
        match MemberSides::of(backend, filter, vis) {
            Some(MemberSides { published, own }) => {
                let own = Query::select()
                    .expr(Expr::cust("COUNT(*)"))
                    .from_subquery(own, Alias::new("own"))
                    .to_owned();
                let (published, own) = tokio::try_join!(
                    count_published(db, filter, published),
                    query::scalar_count(db, own)
                )?;
                Ok(published + own)
            }
            None if *vis == Visibility::Published => {
                count_published(db, filter, practice_condition(backend, filter, vis)).await
            }
            None => {
                query::count::<practice::Entity>(db, practice_condition(backend, filter, vis)).await
            }
        }
    }

    async fn practice_tags(&self, practice_ids: &[Id]) -> Result<Vec<(Id, Tags)>> {
        PRACTICE_TAGS.of(self.connection(), practice_ids).await
    }

    async fn practice_cities(&self, practice_ids: &[Id]) -> Result<Vec<PracticeCity>> {
        use crate::entities::practice_city::Column as C;
        query::children::<practice_city::Entity>(
            self.connection(),
            C::PracticeId,
            practice_ids,
            &[C::Role, C::CityId],
        )
        .await?
        .into_iter()
        .map(mapping::practice_city)
        .collect()
    }

    async fn practice_participants(
        &self,
        practice_ids: &[Id],
    ) -> Result<Vec<(PracticeCity, City)>> {
        let read = participants(self, Parents::Ids(practice_ids)).await?;
        Ok(read.0)
    }

    async fn city_practices(&self, city_ids: &[Id], vis: &Visibility) -> Result<Vec<PracticeCity>> {
        if city_ids.is_empty() {
            return Ok(vec![]);
        }
        let mut select = practice_city::Entity::find()
            .filter(practice_city::Column::CityId.is_in(crate::query::in_list(city_ids)));
        if *vis != Visibility::Everything {
            select = select.filter(practice_visible_at(
                (practice_city::Entity, practice_city::Column::PracticeId),
                vis,
            ));
        }
        let rows = select
            .order_by_asc(practice_city::Column::PracticeId)
            .all(self.connection())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mapping::practice_city).collect()
    }

    async fn partners(&self, practice_ids: &[Id]) -> Result<Vec<Partner>> {
        use crate::entities::practice_partner::Column as P;
        query::children::<practice_partner::Entity>(
            self.connection(),
            P::PracticeId,
            practice_ids,
            &[P::Id],
        )
        .await?
        .into_iter()
        .map(mapping::partner)
        .collect()
    }

    async fn indicators(&self, practice_ids: &[Id]) -> Result<Vec<Indicator>> {
        use crate::entities::indicator::Column as I;
        query::children::<indicator::Entity>(
            self.connection(),
            I::PracticeId,
            practice_ids,
            &[I::Id],
        )
        .await?
        .into_iter()
        .map(mapping::indicator)
        .collect()
    }
}

/// [`PracticeRepository::practice_participants`] of `parents`, and for selected parents the ids
/// of those the statement selected, sorted (see [`Parents::Selected`]).
pub(crate) async fn participants(
    store: &SeaStore,
    parents: Parents<'_>,
) -> Result<(Vec<(PracticeCity, City)>, Option<Vec<Id>>)> {
    use crate::entities::practice_city::Column as C;
    if let Parents::Ids([]) = parents {
        return Ok((vec![], None));
    }
    let links = (practice_city::Entity, C::PracticeId);
    // The city's columns are named with a prefix: both tables have columns of their own
    // that the other's would shadow.
    let mut select = Query::select();
    // Both records are read by position (see `Positional`): the link's columns, then the
    // city's.
    select.columns(
        practice_city::Model::COLUMNS
            .iter()
            .map(|c| (practice_city::Entity, Alias::new(*c))),
    );
    let parent = Alias::new("p");
    // Selected parents each come in a row of their own when they have no cities, so that the
    // rows tell which were selected.
    let join = match parents {
        Parents::Ids(ids) => {
            select
                .from(practice_city::Entity)
                .and_where(Expr::col(links).is_in(query::in_list(ids)));
            JoinType::InnerJoin
        }
        Parents::Selected(ids) => {
            select.from_subquery(ids.clone(), parent.clone()).join(
                JoinType::LeftJoin,
                practice_city::Entity,
                Expr::col(links).equals((parent.clone(), Alias::new("id"))),
            );
            JoinType::LeftJoin
        }
    };
    let backend = store.connection().get_database_backend();
    let place = if backend == DbBackend::Postgres {
        // Each link's city read through the primary key, one row per link: joined plainly,
        // PostgreSQL hashes the whole table of cities (10,000 rows read for the 128 cities
        // of a page of 50 practices, 2.3 ms against 0.7), which it prices lower than an
        // index lookup per link. A LATERAL subquery with a LIMIT cannot be hashed. SQLite
        // looks each city up by its key already, and has no LATERAL.
        let place = Alias::new("place");
        let mut one = Query::select();
        one.columns(
            city::Model::COLUMNS
                .iter()
                .map(|c| (city::Entity, Alias::new(*c))),
        )
        .from(city::Entity)
        .and_where(
            Expr::col((city::Entity, city::Column::Id)).equals((practice_city::Entity, C::CityId)),
        )
        .limit(1);
        select.join_lateral(join, one, place.clone(), Expr::val(true));
        place
    } else {
        select.join(
            join,
            city::Entity,
            Expr::col((city::Entity, city::Column::Id)).equals((practice_city::Entity, C::CityId)),
        );
        Alias::new(city::Entity.table_name())
    };
    for column in city::Model::COLUMNS {
        select.expr_as(
            Expr::col((place.clone(), Alias::new(*column))),
            Alias::new(format!("{CITY}{column}")),
        );
    }
    let selected = parents.selected();
    let order = if selected {
        select.expr_as(
            Expr::col((parent.clone(), Alias::new("id"))),
            Alias::new("parent"),
        );
        Expr::col((parent, Alias::new("id")))
    } else {
        Expr::col(links)
    };
    select
        .order_by_expr(order, Order::Asc)
        .order_by((practice_city::Entity, C::Role), Order::Asc)
        .order_by((practice_city::Entity, C::CityId), Order::Asc);
    let statement = match selected {
        true => query::limits_written(backend.build(&select)),
        false => backend.build(&select),
    };
    let mut read = Vec::new();
    let mut seen = Vec::new();
    let parent_at = practice_city::Model::COLUMNS.len() + city::Model::COLUMNS.len();
    query::each_row(store, statement, |r| {
        if selected {
            seen.push(r.try_get_by_index::<i64>(parent_at).map_err(db_err)?);
            // A practice without cities.
            if r.try_get_by_index::<Option<i64>>(0)
                .map_err(db_err)?
                .is_none()
            {
                return Ok(());
            }
        }
        let link = practice_city::Model::read_at(r, 0).map_err(db_err)?;
        let place = city::Model::read_at(r, practice_city::Model::COLUMNS.len()).map_err(db_err)?;
        read.push((mapping::practice_city(link)?, mapping::city(place)?));
        Ok(())
    })
    .await?;
    seen.dedup();
    Ok((read, selected.then_some(seen)))
}

/// The practice with everything a change may touch.
pub(crate) async fn record(store: &SeaStore, id: Id) -> Result<Option<PracticeRecord>> {
    let Some(model) = stored::<practice::Entity>(store, id).await? else {
        return Ok(None);
    };
    let owner = owner_of(&model.owner_kind, model.owner_id)?;
    let amount_required_usd_cents = model.amount_required_usd_cents;
    let cities = store.practice_cities(&[id]).await?;
    let associations = store.links(Link::PracticeAssociations, &[id]).await?;
    Ok(Some(PracticeRecord {
        practice: mapping::practice(model)?,
        tags: PRACTICE_TAGS.one(store.connection(), id).await?,
        cities: cities.into_iter().map(|c| (c.city_id, c.role)).collect(),
        association_ids: associations.into_iter().map(|(_, a)| a).collect(),
        indicators: store.indicators(&[id]).await?,
        owner,
        amount_required_usd_cents,
    }))
}

#[async_trait]
impl Versioned for PracticeRecord {
    versioned_as!(practice::Entity => Practice, "Practice", id: practice.id);
    const PUBLICATION: Option<&'static str> = Some("status");

    fn row(&self) -> practice::ActiveModel {
        let p = &self.practice;
        practice::ActiveModel {
            status: Set(p.status.as_str().into()),
            title: Set(p.title.clone()),
            summary: Set(p.summary.clone()),
            context: Set(p.context.clone()),
            outcomes: Set(p.outcomes.clone()),
            issues: Set(p.issues.clone()),
            source: Set(p.source.clone()),
            start_year: Set(p.start_year),
            end_year: Set(p.end_year),
            orientation: Set(p.orientation.as_str().into()),
            modality: Set(p.modality.as_str().into()),
            amount_required: Set(text(p.amount_required)),
            amount_required_currency: Set(p.amount_required_currency.clone()),
            amount_required_usd_cents: Set(self.amount_required_usd_cents),
            ..Default::default()
        }
    }

    fn creation(&self, row: &mut practice::ActiveModel) {
        let (kind, id) = owner_parts(&self.owner);
        row.owner_kind = Set(kind);
        row.owner_id = Set(id);
    }

    fn touched(&self, creating: bool) -> Option<Touched> {
        Some(if creating {
            Touched::NewPractice
        } else {
            Touched::Practices(vec![self.practice.id])
        })
    }

    async fn write_children(&self, txn: &Txn, id: Id, _creating: bool) -> Result<()> {
        let tags = tag_models(id, &self.tags, practice_tag::ActiveModel::tag);
        replace_rows::<practice_tag::Entity>(txn, practice_tag::Column::PracticeId, id, tags)
            .await?;
        // After the row itself: the modality may have changed as well as the tags.
        crate::signature::refresh(txn, Some(id)).await?;
        let cities = self
            .cities
            .iter()
            .map(|(city, role)| practice_city::ActiveModel {
                practice_id: Set(id),
                city_id: Set(*city),
                role: Set(role.as_str().into()),
            })
            .collect();
        replace_rows::<practice_city::Entity>(txn, practice_city::Column::PracticeId, id, cities)
            .await?;
        let associations = self
            .association_ids
            .iter()
            .map(|a| practice_association::ActiveModel {
                practice_id: Set(id),
                association_id: Set(*a),
            })
            .collect();
        replace_rows::<practice_association::Entity>(
            txn,
            practice_association::Column::PracticeId,
            id,
            associations,
        )
        .await?;
        let indicators = self
            .indicators
            .iter()
            .map(|x| indicator::ActiveModel {
                practice_id: Set(id),
                name: Set(x.name.clone()),
                unit: Set(x.unit.clone()),
                baseline: Set(text(x.baseline)),
                target: Set(text(x.target)),
                actual: Set(text(x.actual)),
                year: Set(x.year),
                ..Default::default()
            })
            .collect();
        replace_rows::<indicator::Entity>(txn, indicator::Column::PracticeId, id, indicators).await
    }

    fn saved(model: practice::Model) -> Result<Practice> {
        mapping::practice(model)
    }
}

/// Links a scheme to a practice (once), keeping the practice's rollup contribution in step.
pub(crate) async fn link_scheme(
    store: &SeaStore,
    scheme_id: Id,
    practice_id: Id,
    mut audit: AuditEntry,
) -> Result<()> {
    let txn = crate::db::write_transaction(store.connection()).await?;
    let rollups = Maintenance::begin(&txn, Touched::Practices(vec![practice_id])).await?;
    let exists = practice_scheme::Entity::find_by_id((practice_id, scheme_id))
        .one(&txn)
        .await
        .map_err(db_err)?
        .is_some();
    if !exists {
        practice_scheme::Entity::insert(practice_scheme::ActiveModel {
            practice_id: Set(practice_id),
            scheme_id: Set(scheme_id),
        })
        .exec(&txn)
        .await
        .map_err(db_err)?;
        count_scheme_links(&txn, Some(practice_id)).await?;
    }
    rollups.finish(&txn).await?;
    if audit.entity_id == 0 {
        audit.entity_id = scheme_id;
    }
    crate::audit::write_audit_entry(&txn, audit).await?;
    txn.commit().await.map_err(db_err)
}

/// Recounts the schemes a practice is linked to, or every practice's after a bulk load:
/// `schemeOverlaps` finds shared practices among those linked to two or more (see the
/// migration `m20261203_000000_practice_scheme_links`).
pub(crate) async fn count_scheme_links<C: ConnectionTrait>(
    db: &C,
    practice: Option<Id>,
) -> Result<()> {
    let scope = practice.map_or_else(|| "TRUE".to_string(), |id| format!("id = {id}"));
    db.execute_unprepared(&format!(
        "UPDATE practice SET scheme_links = (SELECT COUNT(*) FROM practice_scheme ps \
         WHERE ps.practice_id = practice.id) WHERE {scope}"
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}
