//! Generated records as the rows the bulk loader writes.

use domain::framework::*;
use persistence::bulk::{
    AssociationRow, CityRow, DonorRow, FundingRow, MoneyRow, NeedRow, OperatorRow, PracticeCityRow,
    PracticeRow, PracticeSchemeRow, SchemeRow, TagRow,
};

use super::reference::Reference;
use super::specs::*;

/// What turning a record into a row needs besides the record.
pub(crate) struct Rows<'a> {
    pub(crate) reference: &'a Reference,
    /// What every synthetic practice, scheme and need gives as its source, so that they can be
    /// told from real records.
    pub(crate) source: String,
}

pub(crate) fn source_of(seed: u64) -> String {
    format!("Synthetic benchmark data, seed {seed}")
}

impl Rows<'_> {
    fn money(&self, money: &Option<Money>) -> Option<MoneyRow> {
        money.as_ref().map(|m| MoneyRow {
            amount: m.amount.to_string(),
            currency: self.reference.rates[m.currency].currency.clone(),
            usd_cents: m.usd_cents,
        })
    }

    fn country(&self, country: usize) -> String {
        self.reference.countries[country].code.clone()
    }

    pub(crate) fn city(&self, c: &CitySpec) -> CityRow {
        CityRow {
            id: c.id,
            name: c.name.clone(),
            kind: c.kind,
            country_code: self.country(c.country),
            population: c.population,
        }
    }

    pub(crate) fn association(&self, a: &AssociationSpec) -> AssociationRow {
        AssociationRow {
            id: a.id,
            name: a.name.clone(),
            acronym: Some(a.acronym.clone()),
            scope: a.scope,
            country_code: a.country.map(|c| self.country(c)),
            description: Some(a.description.clone()),
        }
    }

    pub(crate) fn donor(&self, d: &DonorSpec) -> DonorRow {
        DonorRow {
            id: d.id,
            name: d.name.clone(),
            acronym: Some(d.acronym.clone()),
            kind: d.kind,
            country_code: d.country.map(|c| self.country(c)),
            description: Some(d.description.clone()),
        }
    }

    pub(crate) fn scheme(&self, s: &SchemeSpec) -> SchemeRow {
        SchemeRow {
            id: s.id,
            status: s.status,
            name: s.name.clone(),
            description: Some(s.description.clone()),
            source: Some(self.source.clone()),
            start_year: Some(s.start_year),
            end_year: s.end_year,
            budget: self.money(&s.budget),
            open_for_applications: s.open_for_applications,
        }
    }

    pub(crate) fn practice(&self, p: &PracticeSpec) -> PracticeRow {
        PracticeRow {
            id: p.id,
            status: p.status,
            title: p.title.clone(),
            summary: Some(p.summary.clone()),
            context: p.context.clone(),
            outcomes: p.outcomes.clone(),
            issues: p.issues.clone(),
            source: Some(self.source.clone()),
            start_year: Some(p.start_year),
            end_year: p.end_year,
            orientation: p.orientation,
            modality: p.modality,
            required: self.money(&p.required),
        }
    }

    pub(crate) fn funding(&self, f: &FundingSpec) -> FundingRow {
        let p = &f.payment;
        let rate = &self.reference.rates[p.currency];
        FundingRow {
            id: f.id,
            practice_id: f.practice_id,
            scheme_id: f.scheme_id,
            donor_id: f.donor_id,
            source_city_id: f.source_city_id,
            source_name: f.source_name.clone(),
            source_type: p.source_type,
            amount: p.amount.map(|(a, _)| a.to_string()),
            currency: rate.currency.clone(),
            rate: rate.text.clone(),
            amount_usd_cents: p.amount.map(|(_, cents)| cents),
            year: Some(p.year),
            status: p.status,
            confidential: p.confidential,
            rate_source: Some(rate.citation.clone()),
        }
    }

    pub(crate) fn need(&self, n: &NeedSpec) -> NeedRow {
        NeedRow {
            id: n.id,
            city_id: n.city_id,
            title: n.title.clone(),
            description: Some(n.description.clone()),
            source: Some(self.source.clone()),
            modality: n.modality,
            required: self.money(&n.required),
            status: n.status,
        }
    }
}

impl SchemeSpec {
    pub(crate) fn operator_rows(&self) -> impl Iterator<Item = OperatorRow> + '_ {
        self.operators.iter().map(|o| OperatorRow {
            id: o.id,
            scheme_id: self.id,
            association_id: o.association_id,
            donor_id: o.donor_id,
        })
    }
}

impl PracticeSpec {
    /// The lead city first, then the partners.
    pub(crate) fn city_rows(&self) -> impl Iterator<Item = PracticeCityRow> + '_ {
        self.cities.iter().enumerate().map(|(i, city_id)| {
            let role = if i == 0 {
                CityRole::Lead
            } else {
                CityRole::Partner
            };
            PracticeCityRow {
                practice_id: self.id,
                city_id: *city_id,
                role,
            }
        })
    }

    pub(crate) fn scheme_row(&self) -> Option<PracticeSchemeRow> {
        self.scheme.map(|scheme_id| PracticeSchemeRow {
            practice_id: self.id,
            scheme_id,
        })
    }
}

/// `(dimension, value)` pairs as rows of `owner`.
pub(crate) fn tag_rows<V: Into<String>>(
    owner_id: i64,
    tags: Vec<(Dimension, V)>,
) -> impl Iterator<Item = TagRow> {
    tags.into_iter().map(move |(dimension, value)| TagRow {
        owner_id,
        dimension,
        value: value.into(),
    })
}

/// `values`, each tagged with `dimension`.
fn tagged<T: Copy>(
    dimension: Dimension,
    values: &[T],
    text: fn(T) -> &'static str,
) -> impl Iterator<Item = (Dimension, &'static str)> + '_ {
    values.iter().map(move |&v| (dimension, text(v)))
}

impl DonorSpec {
    pub(crate) fn agenda_len(&self) -> usize {
        self.themes.len() + self.orientations.len() + self.agenda_countries.len()
    }

    pub(crate) fn agenda(&self, r: &Reference) -> Vec<(Dimension, String)> {
        let countries = self
            .agenda_countries
            .iter()
            .map(|&c| (Dimension::Country, r.countries[c].code.clone()));
        tagged(Dimension::Theme, &self.themes, Theme::as_str)
            .chain(tagged(
                Dimension::Orientation,
                &self.orientations,
                GeographicOrientation::as_str,
            ))
            .map(|(d, v)| (d, v.to_string()))
            .chain(countries)
            .collect()
    }
}

impl SchemeSpec {
    pub(crate) fn tags(&self) -> Vec<(Dimension, &'static str)> {
        use Dimension as D;
        tagged(D::Theme, &self.themes, Theme::as_str)
            .chain(tagged(
                D::Orientation,
                &self.orientations,
                GeographicOrientation::as_str,
            ))
            .chain(tagged(
                D::SupportModality,
                &self.support_modalities,
                SupportModality::as_str,
            ))
            .chain(tagged(
                D::FacilitatingStructure,
                &self.facilitating_structures,
                FacilitatingStructure::as_str,
            ))
            .chain(tagged(
                D::FundingSource,
                &self.funding_sources,
                FundingSource::as_str,
            ))
            .collect()
    }
}

impl PracticeSpec {
    pub(crate) fn tags(&self) -> Vec<(Dimension, &'static str)> {
        use Dimension as D;
        tagged(D::Theme, &self.themes, Theme::as_str)
            .chain(tagged(
                D::ManagementFocus,
                &self.management_focus,
                ManagementFocus::as_str,
            ))
            .chain(tagged(
                D::CooperatingParty,
                &self.cooperating_parties,
                CooperatingParty::as_str,
            ))
            .collect()
    }
}

impl NeedSpec {
    pub(crate) fn tags(&self) -> Vec<(Dimension, &'static str)> {
        use Dimension as D;
        tagged(D::Theme, &self.themes, Theme::as_str)
            .chain(tagged(
                D::ManagementFocus,
                &self.management_focus,
                ManagementFocus::as_str,
            ))
            .chain(tagged(
                D::SupportModality,
                &self.support_modalities,
                SupportModality::as_str,
            ))
            .collect()
    }
}
