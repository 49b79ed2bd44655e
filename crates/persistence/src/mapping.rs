//! Rows to domain records. A stored value that does not parse is corruption, hence INTERNAL.

use std::collections::BTreeMap;
use std::str::FromStr;

use domain::entities::*;
use domain::framework::*;
use domain::values::cents_to_decimal;
use domain::{Error, Result};
use rust_decimal::Decimal;

use crate::entities::*;

pub(crate) fn stored<T>(value: Result<T>) -> Result<T> {
    value.map_err(|e| Error::internal(format!("stored value does not parse: {e}")))
}

pub(crate) fn decimal(text: &Option<String>) -> Result<Option<Decimal>> {
    text.as_deref()
        .map(|t| {
            Decimal::from_str(t).map_err(|e| Error::internal(format!("stored decimal {t:?}: {e}")))
        })
        .transpose()
}

pub(crate) fn country(m: country::Model) -> Result<Country> {
    Ok(Country {
        bloc: stored(Bloc::parse(&m.bloc, "bloc"))?,
        code: m.code,
        alpha3: m.alpha3,
        name: m.name,
        ldc: m.ldc,
    })
}

pub(crate) fn city(m: city::Model) -> Result<City> {
    Ok(City {
        id: m.id,
        version: m.version,
        kind: stored(CityKind::parse(&m.kind, "kind"))?,
        name: m.name,
        country_code: m.country_code,
        population: m.population,
        latitude: m.latitude,
        longitude: m.longitude,
    })
}

pub(crate) fn association(m: association::Model) -> Result<Association> {
    Ok(Association {
        id: m.id,
        version: m.version,
        scope: stored(AssociationScope::parse(&m.scope, "scope"))?,
        name: m.name,
        acronym: m.acronym,
        country_code: m.country_code,
        description: m.description,
    })
}

pub(crate) fn donor(m: donor::Model) -> Result<Donor> {
    Ok(Donor {
        id: m.id,
        version: m.version,
        kind: stored(DonorKind::parse(&m.kind, "kind"))?,
        name: m.name,
        acronym: m.acronym,
        country_code: m.country_code,
        description: m.description,
    })
}

pub(crate) fn scheme(m: support_scheme::Model) -> Result<SupportScheme> {
    Ok(SupportScheme {
        id: m.id,
        version: m.version,
        status: stored(PublicationStatus::parse(&m.status, "status"))?,
        budget_amount: decimal(&m.budget_amount)?,
        name: m.name,
        description: m.description,
        source: m.source,
        start_year: m.start_year,
        end_year: m.end_year,
        budget_currency: m.budget_currency,
        open_for_applications: m.open_for_applications,
    })
}

pub(crate) fn practice(m: practice::Model) -> Result<Practice> {
    Ok(Practice {
        id: m.id,
        version: m.version,
        status: stored(PublicationStatus::parse(&m.status, "status"))?,
        orientation: stored(GeographicOrientation::parse(&m.orientation, "orientation"))?,
        modality: stored(LinkingModality::parse(&m.modality, "modality"))?,
        amount_required: decimal(&m.amount_required)?,
        title: m.title,
        summary: m.summary,
        context: m.context,
        outcomes: m.outcomes,
        issues: m.issues,
        source: m.source,
        start_year: m.start_year,
        end_year: m.end_year,
        amount_required_currency: m.amount_required_currency,
    })
}

pub(crate) fn practice_city(m: practice_city::Model) -> Result<PracticeCity> {
    Ok(PracticeCity {
        practice_id: m.practice_id,
        city_id: m.city_id,
        role: stored(CityRole::parse(&m.role, "role"))?,
    })
}

pub(crate) fn partner(m: practice_partner::Model) -> Result<Partner> {
    Ok(Partner {
        id: m.id,
        practice_id: m.practice_id,
        kind: stored(CooperatingParty::parse(&m.kind, "kind"))?,
        name: m.name,
    })
}

pub(crate) fn indicator(m: indicator::Model) -> Result<Indicator> {
    Ok(Indicator {
        id: m.id,
        practice_id: m.practice_id,
        baseline: decimal(&m.baseline)?,
        target: decimal(&m.target)?,
        actual: decimal(&m.actual)?,
        name: m.name,
        unit: m.unit,
        year: m.year,
    })
}

pub(crate) fn funding(m: funding::Model) -> Result<Funding> {
    Ok(Funding {
        id: m.id,
        version: m.version,
        practice_id: m.practice_id,
        scheme_id: m.scheme_id,
        donor_id: m.donor_id,
        source_city_id: m.source_city_id,
        source_type: stored(FundingSource::parse(&m.source_type, "sourceType"))?,
        amount: decimal(&m.amount)?,
        rate: decimal(&Some(m.rate))?.unwrap_or_default(),
        amount_usd: m.amount_usd_cents.map(cents_to_decimal),
        status: stored(FundingStatus::parse(&m.status, "status"))?,
        source_name: m.source_name,
        currency: m.currency,
        year: m.year,
        confidential: m.confidential,
        note: m.note,
        rate_source: m.rate_source,
    })
}

pub(crate) fn need(m: need::Model) -> Result<Need> {
    Ok(Need {
        id: m.id,
        version: m.version,
        publication: stored(PublicationStatus::parse(&m.publication, "publication"))?,
        modality: m
            .modality
            .as_deref()
            .map(|v| stored(LinkingModality::parse(v, "modality")))
            .transpose()?,
        amount_required: decimal(&m.amount_required)?,
        status: stored(NeedStatus::parse(&m.status, "status"))?,
        city_id: m.city_id,
        title: m.title,
        description: m.description,
        source: m.source,
        amount_required_currency: m.amount_required_currency,
    })
}

/// Folds `(owner, dimension, value)` rows into one [`Tags`] per owner, in owner order.
pub(crate) fn tags(
    rows: impl IntoIterator<Item = (i64, String, String)>,
) -> Result<Vec<(Id, Tags)>> {
    let mut by_owner: BTreeMap<Id, Tags> = BTreeMap::new();
    for (owner, dimension, value) in rows {
        let t = by_owner.entry(owner).or_default();
        let v = value.as_str();
        match stored(Dimension::parse(&dimension, "dimension"))? {
            Dimension::Theme => t.themes.push(stored(Theme::parse(v, "theme"))?),
            Dimension::ManagementFocus => t
                .management_focus
                .push(stored(ManagementFocus::parse(v, "managementFocus"))?),
            Dimension::CooperatingParty => t
                .cooperating_parties
                .push(stored(CooperatingParty::parse(v, "cooperatingParty"))?),
            Dimension::Orientation => t
                .orientations
                .push(stored(GeographicOrientation::parse(v, "orientation"))?),
            Dimension::FacilitatingStructure => {
                t.facilitating_structures
                    .push(stored(FacilitatingStructure::parse(
                        v,
                        "facilitatingStructure",
                    ))?)
            }
            Dimension::FundingSource => t
                .funding_sources
                .push(stored(FundingSource::parse(v, "fundingSource"))?),
            Dimension::SupportModality => t
                .support_modalities
                .push(stored(SupportModality::parse(v, "supportModality"))?),
            Dimension::Modality => t
                .modalities
                .push(stored(LinkingModality::parse(v, "modality"))?),
            // Countries appear only in donors' agendas, which are folded by `agendas`.
            Dimension::Country => {}
        }
    }
    for t in by_owner.values_mut() {
        t.themes.sort();
        t.management_focus.sort();
        t.cooperating_parties.sort();
        t.orientations.sort();
        t.facilitating_structures.sort();
        t.funding_sources.sort();
        t.support_modalities.sort();
        t.modalities.sort();
    }
    Ok(by_owner.into_iter().collect())
}

/// The rows of a tag table for one owner, the inverse of [`tags`].
pub(crate) fn tag_rows(tags: &Tags) -> Vec<(Dimension, &'static str)> {
    let mut rows = Vec::new();
    rows.extend(tags.themes.iter().map(|v| (Dimension::Theme, v.as_str())));
    rows.extend(
        tags.management_focus
            .iter()
            .map(|v| (Dimension::ManagementFocus, v.as_str())),
    );
    rows.extend(
        tags.cooperating_parties
            .iter()
            .map(|v| (Dimension::CooperatingParty, v.as_str())),
    );
    rows.extend(
        tags.orientations
            .iter()
            .map(|v| (Dimension::Orientation, v.as_str())),
    );
    rows.extend(
        tags.facilitating_structures
            .iter()
            .map(|v| (Dimension::FacilitatingStructure, v.as_str())),
    );
    rows.extend(
        tags.funding_sources
            .iter()
            .map(|v| (Dimension::FundingSource, v.as_str())),
    );
    rows.extend(
        tags.support_modalities
            .iter()
            .map(|v| (Dimension::SupportModality, v.as_str())),
    );
    rows.extend(
        tags.modalities
            .iter()
            .map(|v| (Dimension::Modality, v.as_str())),
    );
    rows.sort();
    rows.dedup();
    rows
}
