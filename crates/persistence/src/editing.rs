//! The write side: every change checks the version it was based on and writes its audit entry
//! in the same transaction.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::Utc;
use domain::actor::Affiliation;
use domain::audit::{AuditEntry, AuditFilter};
use domain::editing::*;
use domain::entities::*;
use domain::framework::*;
use domain::page::{Page, PageRequest};
use domain::repository::{
    AssociationRepository, CityRepository, DonorRepository, Link, LinkRepository,
    PracticeRepository, SchemeRepository,
};
use domain::{Error, Result};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::*;

use crate::entities::*;
use crate::mapping::{self, tag_rows};
use crate::rollup::{Maintenance, Touched};
use crate::store::{SeaStore, db_err};

fn owner_parts(owner: &Option<Affiliation>) -> (Option<String>, Option<i64>) {
    match owner {
        Some(a) => (Some(a.kind().to_string()), Some(a.id())),
        None => (None, None),
    }
}

fn owner_of(kind: &Option<String>, id: Option<i64>) -> Result<Option<Affiliation>> {
    match (kind, id) {
        (Some(k), Some(i)) => Affiliation::from_parts(k, i).map(Some),
        _ => Ok(None),
    }
}

async fn write_audit(
    txn: &DatabaseTransaction,
    mut audit: AuditEntry,
    entity_id: Id,
) -> Result<()> {
    if audit.entity_id == 0 {
        audit.entity_id = entity_id;
    }
    write_audit_entry(txn, audit).await
}

pub(crate) async fn write_audit_entry(txn: &DatabaseTransaction, audit: AuditEntry) -> Result<()> {
    let changes = serde_json::to_string(&audit.changes).map_err(Error::internal)?;
    audit_entry::Entity::insert(audit_entry::ActiveModel {
        at: Set(audit.at),
        actor_user_id: Set(audit.actor_user_id),
        action: Set(audit.action),
        entity: Set(audit.entity),
        entity_id: Set(audit.entity_id),
        changes: Set(changes),
        ..Default::default()
    })
    .exec(txn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// After an update touched no row: the record is gone, or someone else changed it first.
async fn stale_or_missing<E: EntityTrait>(
    txn: &DatabaseTransaction,
    id: Id,
    entity: &'static str,
) -> Error
where
    E::Model: Sync,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    match E::find_by_id(id).one(txn).await {
        Ok(Some(_)) => Error::Conflict(format!(
            "{entity} {id} was changed by someone else; reload it and retry"
        )),
        Ok(None) => Error::not_found(entity, id),
        Err(e) => db_err(e),
    }
}

/// Writes `model` over the record if its stored version is still `version`, and bumps the version;
/// a record changed meanwhile answers CONFLICT, a missing one NOT_FOUND.
async fn update_versioned<E>(
    txn: &DatabaseTransaction,
    model: E::ActiveModel,
    id: Id,
    version: i32,
    entity: &'static str,
) -> Result<()>
where
    E: EntityTrait,
    E::Model: Sync,
    E::Column: std::str::FromStr,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i64>,
{
    let column = |name: &str| {
        E::Column::from_str(name)
            .map_err(|_| Error::internal(format!("{entity} has no {name} column")))
    };
    let (id_column, version_column) = (column("id")?, column("version")?);
    let done = E::update_many()
        .set(model)
        .col_expr(version_column, Expr::col(version_column).add(1))
        .filter(id_column.eq(id))
        .filter(version_column.eq(version))
        .exec(txn)
        .await
        .map_err(db_err)?;
    if done.rows_affected == 0 {
        return Err(stale_or_missing::<E>(txn, id, entity).await);
    }
    Ok(())
}

async fn replace_tags(txn: &DatabaseTransaction, kind: TagKind, id: Id, tags: &Tags) -> Result<()> {
    let rows = tag_rows(tags);
    macro_rules! replace {
        ($entity:ident, $owner:ident, $owner_col:ident) => {{
            $entity::Entity::delete_many()
                .filter($entity::Column::$owner_col.eq(id))
                .exec(txn)
                .await
                .map_err(db_err)?;
            if !rows.is_empty() {
                $entity::Entity::insert_many(rows.iter().map(|(d, v)| $entity::ActiveModel {
                    $owner: Set(id),
                    dimension: Set(d.as_str().into()),
                    value: Set((*v).into()),
                }))
                .exec(txn)
                .await
                .map_err(db_err)?;
            }
        }};
    }
    match kind {
        TagKind::Practice => replace!(practice_tag, practice_id, PracticeId),
        TagKind::Scheme => replace!(scheme_tag, scheme_id, SchemeId),
        TagKind::Need => replace!(need_tag, need_id, NeedId),
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum TagKind {
    Practice,
    Scheme,
    Need,
}

fn rate(m: currency_rate::Model) -> Result<CurrencyRate> {
    Ok(CurrencyRate {
        usd_per_unit: Decimal::from_str(&m.usd_per_unit).map_err(Error::internal)?,
        currency: m.currency,
        as_of: m.as_of,
        source: m.source,
    })
}

fn text(d: Option<Decimal>) -> Option<String> {
    d.map(|v| v.normalize().to_string())
}

#[async_trait]
impl EditRepository for SeaStore {
    async fn practice_record(&self, id: Id) -> Result<Option<PracticeRecord>> {
        let Some(model) = practice::Entity::find_by_id(id)
            .one(self.connection())
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let owner = owner_of(&model.owner_kind, model.owner_id)?;
        let usd = model.amount_required_usd_cents;
        let practice = mapping::practice(model)?;
        let tags = self
            .practice_tags(&[id])
            .await?
            .pop()
            .map(|(_, t)| t)
            .unwrap_or_default();
        let cities = self
            .practice_cities(&[id])
            .await?
            .into_iter()
            .map(|c| (c.city_id, c.role))
            .collect();
        let association_ids = self
            .links(Link::PracticeAssociations, &[id])
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let indicators = self.indicators(&[id]).await?;
        Ok(Some(PracticeRecord {
            practice,
            tags,
            cities,
            association_ids,
            indicators,
            owner,
            amount_required_usd_cents: usd,
        }))
    }

    async fn save_practice(
        &self,
        r: &PracticeRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Practice> {
        let p = &r.practice;
        let now = Utc::now();
        let (owner_kind, owner_id) = owner_parts(&r.owner);
        let mut model = practice::ActiveModel {
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
            amount_required_usd_cents: Set(r.amount_required_usd_cents),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = crate::db::write_transaction(self.connection()).await?;
        let (id, rollups) = match expected_version {
            None => {
                let rollups = Maintenance::begin(&txn, Touched::NewPractice).await?;
                model.version = Set(1);
                model.created_at = Set(now);
                model.owner_kind = Set(owner_kind);
                model.owner_id = Set(owner_id);
                let id = practice::Entity::insert(model)
                    .exec(&txn)
                    .await
                    .map_err(db_err)?
                    .last_insert_id;
                (id, rollups.created(id))
            }
            Some(version) => {
                let rollups = Maintenance::begin(&txn, Touched::Practices(vec![p.id])).await?;
                update_versioned::<practice::Entity>(&txn, model, p.id, version, "Practice")
                    .await?;
                (p.id, rollups)
            }
        };
        replace_tags(&txn, TagKind::Practice, id, &r.tags).await?;
        practice_city::Entity::delete_many()
            .filter(practice_city::Column::PracticeId.eq(id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if !r.cities.is_empty() {
            practice_city::Entity::insert_many(r.cities.iter().map(|(city, role)| {
                practice_city::ActiveModel {
                    practice_id: Set(id),
                    city_id: Set(*city),
                    role: Set(role.as_str().into()),
                }
            }))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        }
        practice_association::Entity::delete_many()
            .filter(practice_association::Column::PracticeId.eq(id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if !r.association_ids.is_empty() {
            practice_association::Entity::insert_many(r.association_ids.iter().map(|a| {
                practice_association::ActiveModel {
                    practice_id: Set(id),
                    association_id: Set(*a),
                }
            }))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        }
        indicator::Entity::delete_many()
            .filter(indicator::Column::PracticeId.eq(id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        if !r.indicators.is_empty() {
            indicator::Entity::insert_many(r.indicators.iter().map(|x| indicator::ActiveModel {
                practice_id: Set(id),
                name: Set(x.name.clone()),
                unit: Set(x.unit.clone()),
                baseline: Set(text(x.baseline)),
                target: Set(text(x.target)),
                actual: Set(text(x.actual)),
                year: Set(x.year),
                ..Default::default()
            }))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        }
        rollups.finish(&txn).await?;
        write_audit(&txn, audit, id).await?;
        let saved = practice::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("saved practice vanished"))?;
        txn.commit().await.map_err(db_err)?;
        mapping::practice(saved)
    }

    async fn scheme_record(&self, id: Id) -> Result<Option<SchemeRecord>> {
        let Some(model) = support_scheme::Entity::find_by_id(id)
            .one(self.connection())
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let owner = owner_of(&model.owner_kind, model.owner_id)?;
        let usd = model.budget_usd_cents;
        let scheme = mapping::scheme(model)?;
        let tags = self
            .scheme_tags(&[id])
            .await?
            .pop()
            .map(|(_, t)| t)
            .unwrap_or_default();
        let operators = self
            .scheme_operators(&[id])
            .await?
            .into_iter()
            .map(|(_, o)| o)
            .collect();
        Ok(Some(SchemeRecord {
            scheme,
            tags,
            operators,
            owner,
            budget_usd_cents: usd,
        }))
    }

    async fn save_scheme(
        &self,
        r: &SchemeRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<SupportScheme> {
        let s = &r.scheme;
        let now = Utc::now();
        let (owner_kind, owner_id) = owner_parts(&r.owner);
        let mut model = support_scheme::ActiveModel {
            status: Set(s.status.as_str().into()),
            name: Set(s.name.clone()),
            description: Set(s.description.clone()),
            source: Set(s.source.clone()),
            start_year: Set(s.start_year),
            end_year: Set(s.end_year),
            budget_amount: Set(text(s.budget_amount)),
            budget_currency: Set(s.budget_currency.clone()),
            budget_usd_cents: Set(r.budget_usd_cents),
            open_for_applications: Set(s.open_for_applications),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = crate::db::write_transaction(self.connection()).await?;
        let id = match expected_version {
            None => {
                model.version = Set(1);
                model.created_at = Set(now);
                model.owner_kind = Set(owner_kind);
                model.owner_id = Set(owner_id);
                let id = support_scheme::Entity::insert(model)
                    .exec(&txn)
                    .await
                    .map_err(db_err)?
                    .last_insert_id;
                for op in &r.operators {
                    let (association_id, donor_id) = match op {
                        Operator::Association(a) => (Some(*a), None),
                        Operator::Donor(d) => (None, Some(*d)),
                    };
                    scheme_operator::Entity::insert(scheme_operator::ActiveModel {
                        scheme_id: Set(id),
                        association_id: Set(association_id),
                        donor_id: Set(donor_id),
                        ..Default::default()
                    })
                    .exec(&txn)
                    .await
                    .map_err(db_err)?;
                }
                id
            }
            Some(version) => {
                update_versioned::<support_scheme::Entity>(
                    &txn,
                    model,
                    s.id,
                    version,
                    "SupportScheme",
                )
                .await?;
                s.id
            }
        };
        replace_tags(&txn, TagKind::Scheme, id, &r.tags).await?;
        write_audit(&txn, audit, id).await?;
        let saved = support_scheme::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("saved scheme vanished"))?;
        txn.commit().await.map_err(db_err)?;
        mapping::scheme(saved)
    }

    async fn link_scheme(&self, scheme_id: Id, practice_id: Id, audit: AuditEntry) -> Result<()> {
        let txn = crate::db::write_transaction(self.connection()).await?;
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
        }
        rollups.finish(&txn).await?;
        write_audit(&txn, audit, scheme_id).await?;
        txn.commit().await.map_err(db_err)
    }

    async fn funding_by_id(&self, id: Id) -> Result<Option<(Funding, Option<i64>)>> {
        match funding::Entity::find_by_id(id)
            .one(self.connection())
            .await
            .map_err(db_err)?
        {
            Some(m) => {
                let cents = m.amount_usd_cents;
                Ok(Some((mapping::funding(m)?, cents)))
            }
            None => Ok(None),
        }
    }

    async fn save_funding(
        &self,
        f: &Funding,
        cents: Option<i64>,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Funding> {
        let now = Utc::now();
        let mut model = funding::ActiveModel {
            source_name: Set(f.source_name.clone()),
            source_type: Set(f.source_type.as_str().into()),
            amount: Set(text(f.amount)),
            currency: Set(f.currency.clone()),
            rate: Set(f.rate.normalize().to_string()),
            rate_source: Set(f.rate_source.clone()),
            amount_usd_cents: Set(cents),
            year: Set(f.year),
            status: Set(f.status.as_str().into()),
            confidential: Set(f.confidential),
            note: Set(f.note.clone()),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = crate::db::write_transaction(self.connection()).await?;
        let touched = Touched::Practices(f.practice_id.into_iter().collect());
        let rollups = Maintenance::begin(&txn, touched).await?;
        let id = match expected_version {
            None => {
                model.version = Set(1);
                model.created_at = Set(now);
                model.practice_id = Set(f.practice_id);
                model.scheme_id = Set(f.scheme_id);
                model.donor_id = Set(f.donor_id);
                model.source_city_id = Set(f.source_city_id);
                funding::Entity::insert(model)
                    .exec(&txn)
                    .await
                    .map_err(db_err)?
                    .last_insert_id
            }
            Some(version) => {
                update_versioned::<funding::Entity>(&txn, model, f.id, version, "Funding").await?;
                f.id
            }
        };
        rollups.finish(&txn).await?;
        write_audit(&txn, audit, id).await?;
        let saved = funding::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("saved funding vanished"))?;
        txn.commit().await.map_err(db_err)?;
        mapping::funding(saved)
    }

    async fn need_record(&self, id: Id) -> Result<Option<NeedRecord>> {
        let Some(model) = need::Entity::find_by_id(id)
            .one(self.connection())
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let owner = owner_of(&model.owner_kind, model.owner_id)?;
        let usd = model.amount_required_usd_cents;
        let need = mapping::need(model)?;
        let tags = domain::repository::NeedRepository::need_tags(self, &[id])
            .await?
            .pop()
            .map(|(_, t)| t)
            .unwrap_or_default();
        Ok(Some(NeedRecord {
            need,
            tags,
            owner,
            amount_required_usd_cents: usd,
        }))
    }

    async fn save_need(
        &self,
        r: &NeedRecord,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<Need> {
        let n = &r.need;
        let now = Utc::now();
        let (owner_kind, owner_id) = owner_parts(&r.owner);
        let mut model = need::ActiveModel {
            publication: Set(n.publication.as_str().into()),
            title: Set(n.title.clone()),
            description: Set(n.description.clone()),
            source: Set(n.source.clone()),
            modality: Set(n.modality.map(|m| m.as_str().into())),
            amount_required: Set(text(n.amount_required)),
            amount_required_currency: Set(n.amount_required_currency.clone()),
            amount_required_usd_cents: Set(r.amount_required_usd_cents),
            status: Set(n.status.as_str().into()),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = crate::db::write_transaction(self.connection()).await?;
        let id = match expected_version {
            None => {
                model.version = Set(1);
                model.created_at = Set(now);
                model.city_id = Set(n.city_id);
                model.owner_kind = Set(owner_kind);
                model.owner_id = Set(owner_id);
                need::Entity::insert(model)
                    .exec(&txn)
                    .await
                    .map_err(db_err)?
                    .last_insert_id
            }
            Some(version) => {
                update_versioned::<need::Entity>(&txn, model, n.id, version, "Need").await?;
                n.id
            }
        };
        replace_tags(&txn, TagKind::Need, id, &r.tags).await?;
        write_audit(&txn, audit, id).await?;
        let saved = need::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("saved need vanished"))?;
        txn.commit().await.map_err(db_err)?;
        mapping::need(saved)
    }

    async fn city(&self, id: Id) -> Result<Option<City>> {
        Ok(self.cities_by_ids(&[id]).await?.pop())
    }

    async fn association(&self, id: Id) -> Result<Option<Association>> {
        Ok(self.associations_by_ids(&[id]).await?.pop())
    }

    async fn donor_with_agenda(&self, id: Id) -> Result<Option<(Donor, Agenda)>> {
        let Some(donor) = self.donors_by_ids(&[id]).await?.pop() else {
            return Ok(None);
        };
        let agenda = self
            .agendas(&[id])
            .await?
            .pop()
            .map(|(_, a)| a)
            .unwrap_or_default();
        Ok(Some((donor, agenda)))
    }

    async fn save_city(
        &self,
        c: &City,
        expected_version: Option<i32>,
        audit: AuditEntry,
    ) -> Result<City> {
        let now = Utc::now();
        let mut model = city::ActiveModel {
            name: Set(c.name.clone()),
            kind: Set(c.kind.as_str().into()),
            country_code: Set(c.country_code.clone()),
            population: Set(c.population),
            latitude: Set(c.latitude),
            longitude: Set(c.longitude),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = crate::db::write_transaction(self.connection()).await?;
        let id = match expected_version {
            None => {
                model.version = Set(1);
                model.created_at = Set(now);
                city::Entity::insert(model)
                    .exec(&txn)
                    .await
                    .map_err(db_err)?
                    .last_insert_id
            }
            Some(version) => {
                // Its practices' COUNTRY and BLOC cells follow the city's country.
                let rollups = Maintenance::begin(&txn, Touched::PracticesOfCity(c.id)).await?;
                update_versioned::<city::Entity>(&txn, model, c.id, version, "City").await?;
                rollups.finish(&txn).await?;
                c.id
            }
        };
        write_audit(&txn, audit, id).await?;
        let saved = city::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("saved city vanished"))?;
        txn.commit().await.map_err(db_err)?;
        mapping::city(saved)
    }

    async fn save_association(
        &self,
        a: &Association,
        expected_version: i32,
        audit: AuditEntry,
    ) -> Result<Association> {
        let model = association::ActiveModel {
            name: Set(a.name.clone()),
            acronym: Set(a.acronym.clone()),
            scope: Set(a.scope.as_str().into()),
            country_code: Set(a.country_code.clone()),
            description: Set(a.description.clone()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        let txn = crate::db::write_transaction(self.connection()).await?;
        update_versioned::<association::Entity>(&txn, model, a.id, expected_version, "Association")
            .await?;
        write_audit(&txn, audit, a.id).await?;
        let saved = association::Entity::find_by_id(a.id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("saved association vanished"))?;
        txn.commit().await.map_err(db_err)?;
        mapping::association(saved)
    }

    async fn save_donor(
        &self,
        d: &Donor,
        agenda: &Agenda,
        expected_version: i32,
        audit: AuditEntry,
    ) -> Result<Donor> {
        let model = donor::ActiveModel {
            name: Set(d.name.clone()),
            acronym: Set(d.acronym.clone()),
            kind: Set(d.kind.as_str().into()),
            country_code: Set(d.country_code.clone()),
            description: Set(d.description.clone()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        let txn = crate::db::write_transaction(self.connection()).await?;
        update_versioned::<donor::Entity>(&txn, model, d.id, expected_version, "Donor").await?;
        donor_agenda::Entity::delete_many()
            .filter(donor_agenda::Column::DonorId.eq(d.id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        let mut rows: Vec<(&str, String)> = Vec::new();
        rows.extend(
            agenda
                .themes
                .iter()
                .map(|t| (Dimension::Theme.as_str(), t.as_str().to_string())),
        );
        rows.extend(
            agenda
                .orientations
                .iter()
                .map(|o| (Dimension::Orientation.as_str(), o.as_str().to_string())),
        );
        rows.extend(
            agenda
                .country_codes
                .iter()
                .map(|c| (Dimension::Country.as_str(), c.clone())),
        );
        if !rows.is_empty() {
            donor_agenda::Entity::insert_many(rows.into_iter().map(|(dim, value)| {
                donor_agenda::ActiveModel {
                    donor_id: Set(d.id),
                    dimension: Set(dim.into()),
                    value: Set(value),
                }
            }))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        }
        write_audit(&txn, audit, d.id).await?;
        let saved = donor::Entity::find_by_id(d.id)
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::internal("saved donor vanished"))?;
        txn.commit().await.map_err(db_err)?;
        mapping::donor(saved)
    }

    async fn usd_rate(&self, currency: &str) -> Result<Option<CurrencyRate>> {
        currency_rate::Entity::find_by_id(currency.to_string())
            .one(self.connection())
            .await
            .map_err(db_err)?
            .map(rate)
            .transpose()
    }

    async fn currency_rates(&self) -> Result<Vec<CurrencyRate>> {
        currency_rate::Entity::find()
            .order_by_asc(currency_rate::Column::Currency)
            .all(self.connection())
            .await
            .map_err(db_err)?
            .into_iter()
            .map(rate)
            .collect()
    }

    async fn save_rate(&self, r: &CurrencyRate, audit: AuditEntry) -> Result<CurrencyRate> {
        let txn = crate::db::write_transaction(self.connection()).await?;
        currency_rate::Entity::delete_by_id(r.currency.clone())
            .exec(&txn)
            .await
            .map_err(db_err)?;
        currency_rate::Entity::insert(currency_rate::ActiveModel {
            currency: Set(r.currency.clone()),
            usd_per_unit: Set(r.usd_per_unit.normalize().to_string()),
            as_of: Set(r.as_of.clone()),
            source: Set(r.source.clone()),
        })
        .exec(&txn)
        .await
        .map_err(db_err)?;
        write_audit_entry(&txn, audit).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(r.clone())
    }

    async fn country_bloc(&self, code: &str) -> Result<Option<Bloc>> {
        match country::Entity::find_by_id(code.to_string())
            .one(self.connection())
            .await
            .map_err(db_err)?
        {
            Some(c) => mapping::stored(Bloc::parse(&c.bloc, "bloc")).map(Some),
            None => Ok(None),
        }
    }

    async fn city_blocs(&self, city_ids: &[Id]) -> Result<Vec<(Id, Bloc)>> {
        if city_ids.is_empty() {
            return Ok(vec![]);
        }
        // Cities joined to their countries' blocs, in one statement.
        let stmt = Query::select()
            .column((city::Entity, city::Column::Id))
            .column((country::Entity, country::Column::Bloc))
            .from(city::Entity)
            .inner_join(
                country::Entity,
                Expr::col((country::Entity, country::Column::Code))
                    .equals((city::Entity, city::Column::CountryCode)),
            )
            .and_where(Expr::col((city::Entity, city::Column::Id)).is_in(city_ids.iter().copied()))
            .to_owned();
        let rows = self.connection().query_all(&stmt).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get_by_index(0).map_err(db_err)?;
                let bloc: String = r.try_get_by_index(1).map_err(db_err)?;
                Ok((id, mapping::stored(Bloc::parse(&bloc, "bloc"))?))
            })
            .collect()
    }

    async fn existing_ids(&self, table: ExistsIn, ids: &[Id]) -> Result<Vec<Id>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let db = self.connection();
        let ids = ids.iter().copied();
        let found: Vec<i64> = match table {
            ExistsIn::Cities => {
                city::Entity::find()
                    .select_only()
                    .column(city::Column::Id)
                    .filter(city::Column::Id.is_in(ids))
                    .into_tuple()
                    .all(db)
                    .await
            }
            ExistsIn::Associations => {
                association::Entity::find()
                    .select_only()
                    .column(association::Column::Id)
                    .filter(association::Column::Id.is_in(ids))
                    .into_tuple()
                    .all(db)
                    .await
            }
            ExistsIn::Donors => {
                donor::Entity::find()
                    .select_only()
                    .column(donor::Column::Id)
                    .filter(donor::Column::Id.is_in(ids))
                    .into_tuple()
                    .all(db)
                    .await
            }
            ExistsIn::Practices => {
                practice::Entity::find()
                    .select_only()
                    .column(practice::Column::Id)
                    .filter(practice::Column::Id.is_in(ids))
                    .into_tuple()
                    .all(db)
                    .await
            }
            ExistsIn::Schemes => {
                support_scheme::Entity::find()
                    .select_only()
                    .column(support_scheme::Column::Id)
                    .filter(support_scheme::Column::Id.is_in(ids))
                    .into_tuple()
                    .all(db)
                    .await
            }
        }
        .map_err(db_err)?;
        Ok(found)
    }

    async fn audit_log(&self, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEntry>> {
        let mut select = audit_entry::Entity::find()
            .filter(audit_condition(filter))
            .order_by_desc(audit_entry::Column::Id)
            .limit(page.first + 1);
        if let Some(after) = page.after {
            select = select.filter(audit_entry::Column::Id.lt(after));
        }
        let mut rows = select.all(self.connection()).await.map_err(db_err)?;
        let has_next_page = rows.len() as u64 > page.first;
        rows.truncate(page.first as usize);
        let items = rows
            .into_iter()
            .map(|m| {
                Ok(AuditEntry {
                    id: m.id,
                    at: m.at,
                    actor_user_id: m.actor_user_id,
                    action: m.action,
                    entity: m.entity,
                    entity_id: m.entity_id,
                    changes: serde_json::from_str(&m.changes).map_err(Error::internal)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            has_next_page,
        })
    }

    async fn count_audit(&self, filter: &AuditFilter) -> Result<i64> {
        let n = audit_entry::Entity::find()
            .filter(audit_condition(filter))
            .count(self.connection())
            .await
            .map_err(db_err)?;
        i64::try_from(n).map_err(Error::internal)
    }
}

fn audit_condition(f: &AuditFilter) -> Condition {
    use crate::entities::audit_entry::Column as A;
    let mut c = Condition::all();
    if let Some(e) = &f.entity {
        c = c.add(A::Entity.eq(e.as_str()));
    }
    if let Some(id) = f.entity_id {
        c = c.add(A::EntityId.eq(id));
    }
    if let Some(a) = f.actor_user_id {
        c = c.add(A::ActorUserId.eq(a));
    }
    if let Some(a) = &f.action {
        c = c.add(A::Action.eq(a.as_str()));
    }
    c
}
