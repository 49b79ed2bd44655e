//! The profiles of the organisations: cities, associations, and donors with their agendas.

use super::patch::within;
use super::{Editor, Patch, found};
use crate::audit::AuditEntry;
use crate::entities::*;
use crate::framework::*;
use crate::values::bounded_text;
use crate::{Actor, Error, Result, limits, policy};

#[derive(Debug, Clone, Default)]
pub struct CityInput {
    pub name: Option<String>,
    pub kind: Option<CityKind>,
    pub country_code: Option<String>,
    pub population: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct AssociationInput {
    pub name: Option<String>,
    pub acronym: Option<String>,
    pub scope: Option<AssociationScope>,
    pub country_code: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DonorInput {
    pub name: Option<String>,
    pub acronym: Option<String>,
    pub kind: Option<DonorKind>,
    pub country_code: Option<String>,
    pub description: Option<String>,
    pub agenda_themes: Option<Vec<Theme>>,
    pub agenda_orientations: Option<Vec<GeographicOrientation>>,
    pub agenda_country_codes: Option<Vec<String>>,
}

impl Editor {
    pub async fn create_city(&self, actor: &Actor, i: CityInput) -> Result<City> {
        policy::may_create_city(actor)?;
        let name = i
            .name
            .as_deref()
            .ok_or_else(|| Error::validation("name", "required"))?;
        let name = bounded_text("name", name, limits::NAME)?;
        let country_code = i
            .country_code
            .as_deref()
            .ok_or_else(|| Error::validation("countryCode", "required"))?;
        let mut city = City {
            id: 0,
            version: 1,
            name,
            kind: i.kind.unwrap_or(CityKind::Municipality),
            country_code: self.country("countryCode", country_code).await?,
            population: None,
            latitude: None,
            longitude: None,
        };
        let mut patch = Patch::setting(&["name", "kind", "countryCode"]);
        patch_place(&mut patch, &mut city, &i)?;
        let audit = AuditEntry::new(actor, "CREATE", "City", 0, patch.fields());
        self.repo.save_city(&city, None, audit).await
    }

    pub async fn update_city(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: CityInput,
    ) -> Result<City> {
        policy::may_change_city(actor, id)?;
        let mut city = found("City", id, self.repo.city(id).await?)?;
        let mut patch = Patch::default();
        patch.text("name", i.name.clone(), limits::NAME, &mut city.name)?;
        patch.value("kind", i.kind, &mut city.kind);
        if let Some(code) = patch.given("countryCode", i.country_code.as_deref()) {
            city.country_code = self.country("countryCode", code).await?;
        }
        patch_place(&mut patch, &mut city, &i)?;
        let audit = AuditEntry::new(actor, "UPDATE", "City", id, patch.fields());
        self.repo.save_city(&city, Some(version), audit).await
    }

    pub async fn update_association(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: AssociationInput,
    ) -> Result<Association> {
        policy::may_change_association(actor, id)?;
        let mut a = found("Association", id, self.repo.association(id).await?)?;
        let mut patch = Patch::default();
        patch.text("name", i.name, limits::NAME, &mut a.name)?;
        patch.optional_text("acronym", i.acronym, limits::ACRONYM, &mut a.acronym)?;
        patch.value("scope", i.scope, &mut a.scope);
        if let Some(code) = patch.given("countryCode", i.country_code) {
            a.country_code = self.optional_country(&code).await?;
        }
        let description = &mut a.description;
        patch.optional_text("description", i.description, limits::LONG_TEXT, description)?;
        let audit = AuditEntry::new(actor, "UPDATE", "Association", id, patch.fields());
        self.repo.save_association(&a, version, audit).await
    }

    pub async fn update_donor(
        &self,
        actor: &Actor,
        id: Id,
        version: i32,
        i: DonorInput,
    ) -> Result<Donor> {
        policy::may_change_donor(actor, id)?;
        let (mut d, mut agenda) = found("Donor", id, self.repo.donor_with_agenda(id).await?)?;
        let mut patch = Patch::default();
        patch.text("name", i.name, limits::NAME, &mut d.name)?;
        patch.optional_text("acronym", i.acronym, limits::ACRONYM, &mut d.acronym)?;
        patch.value("kind", i.kind, &mut d.kind);
        if let Some(code) = patch.given("countryCode", i.country_code) {
            d.country_code = self.optional_country(&code).await?;
        }
        let description = &mut d.description;
        patch.optional_text("description", i.description, limits::LONG_TEXT, description)?;
        patch.tags("agenda.themes", i.agenda_themes, &mut agenda.themes);
        let orientations = &mut agenda.orientations;
        patch.tags("agenda.orientations", i.agenda_orientations, orientations);
        if let Some(codes) = patch.given("agenda.countryCodes", i.agenda_country_codes) {
            agenda.country_codes = self.agenda_countries(&codes).await?;
        }
        let audit = AuditEntry::new(actor, "UPDATE", "Donor", id, patch.fields());
        self.repo.save_donor(&d, &agenda, version, audit).await
    }

    /// The countries of a donor's agenda: known ones, each once, in order.
    async fn agenda_countries(&self, codes: &[String]) -> Result<Vec<String>> {
        if codes.len() > limits::MAX_AGENDA_COUNTRIES {
            return Err(Error::validation(
                "agenda.countryCodes",
                format!("at most {} countries", limits::MAX_AGENDA_COUNTRIES),
            ));
        }
        let mut list = Vec::new();
        for c in codes {
            list.push(self.country("agenda.countryCodes", c).await?);
        }
        list.sort();
        list.dedup();
        Ok(list)
    }
}

/// Where a city is and how many live there: the parts of its profile that need no lookup.
fn patch_place(patch: &mut Patch, city: &mut City, i: &CityInput) -> Result<()> {
    let population = within(
        "population",
        0..=limits::MAX_POPULATION,
        "must be between 0 and 100,000,000",
    );
    patch.checked("population", i.population, population, &mut city.population)?;
    let latitude = within("latitude", -90.0..=90.0, "must be between -90 and 90");
    patch.checked("latitude", i.latitude, latitude, &mut city.latitude)?;
    let longitude = within("longitude", -180.0..=180.0, "must be between -180 and 180");
    patch.checked("longitude", i.longitude, longitude, &mut city.longitude)?;
    Ok(())
}
