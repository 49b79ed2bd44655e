//! Cities, associations and donors: their read repositories and the rows their profiles are
//! saved as. They have no drafts, so every viewer sees all of them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use domain::Result;
use domain::entities::*;
use domain::framework::*;
use domain::page::{Page, PageRequest};
use domain::repository::*;
use domain::values::searched_text;
use sea_orm::*;

use crate::entities::*;
use crate::mapping;
use crate::query::{self, in_select, text_condition};
use crate::rollup::Touched;
use crate::store::SeaStore;
use crate::versioned::{Txn, Versioned, replace_rows, versioned_as};

fn city_condition(filter: &CityFilter) -> Condition {
    use crate::entities::city::Column as C;
    let mut cond = Condition::all();
    if let Some(code) = &filter.country_code {
        cond = cond.add(C::CountryCode.eq(code.as_str()));
    }
    if let Some(bloc) = filter.bloc {
        cond = cond.add(in_select(
            C::CountryCode,
            country::Entity,
            country::Column::Code,
            country::Column::Bloc.eq(bloc.as_str()),
        ));
    }
    cond.add(text_condition(C::SearchText, &filter.text))
}

fn association_condition(filter: &AssociationFilter) -> Condition {
    use crate::entities::association::Column as A;
    let mut cond = Condition::all();
    if let Some(scope) = filter.scope {
        cond = cond.add(A::Scope.eq(scope.as_str()));
    }
    cond.add(text_condition(A::SearchText, &filter.text))
}

fn donor_condition(filter: &DonorFilter) -> Condition {
    use crate::entities::donor::Column as D;
    let mut cond = Condition::all();
    if let Some(kind) = filter.kind {
        cond = cond.add(D::Kind.eq(kind.as_str()));
    }
    cond.add(text_condition(D::SearchText, &filter.text))
}

#[async_trait]
impl CityRepository for SeaStore {
    async fn cities_by_ids(&self, ids: &[Id]) -> Result<Vec<City>> {
        let all = Condition::all();
        query::by_ids::<city::Entity, _>(
            self.connection(),
            city::Column::Id,
            ids,
            all,
            mapping::city,
        )
        .await
    }

    async fn list_cities(&self, filter: &CityFilter, page: PageRequest) -> Result<Page<City>> {
        let cond = city_condition(filter);
        query::page::<city::Entity, _>(self, cond, city::Column::Id, page, mapping::city).await
    }

    async fn count_cities(&self, filter: &CityFilter) -> Result<i64> {
        query::count::<city::Entity>(self.connection(), city_condition(filter)).await
    }
}

#[async_trait]
impl AssociationRepository for SeaStore {
    async fn associations_by_ids(&self, ids: &[Id]) -> Result<Vec<Association>> {
        let (id, all) = (association::Column::Id, Condition::all());
        query::by_ids::<association::Entity, _>(
            self.connection(),
            id,
            ids,
            all,
            mapping::association,
        )
        .await
    }

    async fn list_associations(
        &self,
        filter: &AssociationFilter,
        page: PageRequest,
    ) -> Result<Page<Association>> {
        let (id, cond) = (association::Column::Id, association_condition(filter));
        query::page::<association::Entity, _>(self, cond, id, page, mapping::association).await
    }

    async fn count_associations(&self, filter: &AssociationFilter) -> Result<i64> {
        query::count::<association::Entity>(self.connection(), association_condition(filter)).await
    }
}

#[async_trait]
impl DonorRepository for SeaStore {
    async fn donors_by_ids(&self, ids: &[Id]) -> Result<Vec<Donor>> {
        let all = Condition::all();
        query::by_ids::<donor::Entity, _>(
            self.connection(),
            donor::Column::Id,
            ids,
            all,
            mapping::donor,
        )
        .await
    }

    async fn list_donors(&self, filter: &DonorFilter, page: PageRequest) -> Result<Page<Donor>> {
        let cond = donor_condition(filter);
        query::page::<donor::Entity, _>(self, cond, donor::Column::Id, page, mapping::donor).await
    }

    async fn count_donors(&self, filter: &DonorFilter) -> Result<i64> {
        query::count::<donor::Entity>(self.connection(), donor_condition(filter)).await
    }

    async fn agendas(&self, donor_ids: &[Id]) -> Result<Vec<(Id, Agenda)>> {
        let rows = query::children::<donor_agenda::Entity>(
            self.connection(),
            donor_agenda::Column::DonorId,
            donor_ids,
            &[],
        )
        .await?;
        let mut countries: Vec<(Id, String)> = Vec::new();
        let mut others = Vec::new();
        for r in rows {
            if r.dimension == Dimension::Country.as_str() {
                countries.push((r.donor_id, r.value));
            } else {
                others.push((r.donor_id, r.dimension, r.value));
            }
        }
        let mut agendas: BTreeMap<Id, Agenda> = donor_ids
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

/// The donor and its agenda, as a change of its profile needs them.
pub(crate) async fn donor_with_agenda(store: &SeaStore, id: Id) -> Result<Option<(Donor, Agenda)>> {
    let Some(donor) = store.donors_by_ids(&[id]).await?.pop() else {
        return Ok(None);
    };
    let agenda = store
        .agendas(&[id])
        .await?
        .pop()
        .map(|(_, a)| a)
        .unwrap_or_default();
    Ok(Some((donor, agenda)))
}

impl Versioned for City {
    versioned_as!(city::Entity => City, "City", id: id);

    fn row(&self) -> city::ActiveModel {
        city::ActiveModel {
            name: Set(self.name.clone()),
            kind: Set(self.kind.as_str().into()),
            country_code: Set(self.country_code.clone()),
            population: Set(self.population),
            latitude: Set(self.latitude),
            longitude: Set(self.longitude),
            search_text: Set(searched_text(&[Some(&self.name)])),
            ..Default::default()
        }
    }

    /// Its practices' COUNTRY and BLOC cells follow the city's country; a new city has none.
    fn touched(&self, creating: bool) -> Option<Touched> {
        (!creating).then_some(Touched::PracticesOfCity(self.id))
    }

    fn saved(model: city::Model) -> Result<City> {
        mapping::city(model)
    }
}

impl Versioned for Association {
    versioned_as!(association::Entity => Association, "Association", id: id);

    fn row(&self) -> association::ActiveModel {
        association::ActiveModel {
            name: Set(self.name.clone()),
            acronym: Set(self.acronym.clone()),
            scope: Set(self.scope.as_str().into()),
            country_code: Set(self.country_code.clone()),
            description: Set(self.description.clone()),
            search_text: Set(searched_text(&[
                Some(&self.name),
                self.acronym.as_deref(),
                self.description.as_deref(),
            ])),
            ..Default::default()
        }
    }

    fn saved(model: association::Model) -> Result<Association> {
        mapping::association(model)
    }
}

/// A donor as saved: its profile and its agenda.
pub(crate) struct DonorRow<'a> {
    pub(crate) donor: &'a Donor,
    pub(crate) agenda: &'a Agenda,
}

#[async_trait]
impl Versioned for DonorRow<'_> {
    versioned_as!(donor::Entity => Donor, "Donor", id: donor.id);

    fn row(&self) -> donor::ActiveModel {
        let d = self.donor;
        donor::ActiveModel {
            name: Set(d.name.clone()),
            acronym: Set(d.acronym.clone()),
            kind: Set(d.kind.as_str().into()),
            country_code: Set(d.country_code.clone()),
            description: Set(d.description.clone()),
            search_text: Set(searched_text(&[
                Some(&d.name),
                d.acronym.as_deref(),
                d.description.as_deref(),
            ])),
            ..Default::default()
        }
    }

    async fn write_children(&self, txn: &Txn, id: Id, _creating: bool) -> Result<()> {
        let a = self.agenda;
        let mut rows: Vec<(&str, &str)> = Vec::new();
        rows.extend(
            a.themes
                .iter()
                .map(|t| (Dimension::Theme.as_str(), t.as_str())),
        );
        rows.extend(
            a.orientations
                .iter()
                .map(|o| (Dimension::Orientation.as_str(), o.as_str())),
        );
        rows.extend(
            a.country_codes
                .iter()
                .map(|c| (Dimension::Country.as_str(), c.as_str())),
        );
        rows.sort();
        rows.dedup();
        let rows = rows
            .into_iter()
            .map(|(dimension, value)| donor_agenda::ActiveModel::tag(id, dimension, value))
            .collect();
        replace_rows::<donor_agenda::Entity>(txn, donor_agenda::Column::DonorId, id, rows).await
    }

    fn saved(model: donor::Model) -> Result<Donor> {
        mapping::donor(model)
    }
}
