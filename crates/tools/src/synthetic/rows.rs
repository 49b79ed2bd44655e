//! Generated records as the rows the bulk loader writes.

use domain::editing::{NeedRecord, PracticeRecord, SchemeRecord};
use domain::entities::{Association, City, Donor, Funding, Need, Practice, SupportScheme, Tags};
use domain::framework::*;
use persistence::bulk::{OperatorRow, PracticeCityRow, PracticeSchemeRow, PricedFunding, TagRow};
use rust_decimal::Decimal;

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
    /// Amount, currency and USD cents, as a record holds them.
    fn money(&self, money: &Option<Money>) -> (Option<Decimal>, Option<String>, Option<i64>) {
        match money {
            Some(m) => (
                Some(m.amount),
                Some(self.reference.rates[m.currency].currency.clone()),
                Some(m.usd_cents),
            ),
            None => (None, None, None),
        }
    }

    fn country(&self, country: usize) -> String {
        self.reference.countries[country].code.clone()
    }

    pub(crate) fn city(&self, c: &CitySpec) -> City {
        City {
            id: c.id,
            version: 1,
            name: c.name.clone(),
            kind: c.kind,
            country_code: self.country(c.country),
            population: c.population,
            latitude: None,
            longitude: None,
        }
    }

    pub(crate) fn association(&self, a: &AssociationSpec) -> Association {
        Association {
            id: a.id,
            version: 1,
            name: a.name.clone(),
            acronym: Some(a.acronym.clone()),
            scope: a.scope,
            country_code: a.country.map(|c| self.country(c)),
            description: Some(a.description.clone()),
        }
    }

    pub(crate) fn donor(&self, d: &DonorSpec) -> Donor {
        Donor {
            id: d.id,
            version: 1,
            name: d.name.clone(),
            acronym: Some(d.acronym.clone()),
            kind: d.kind,
            country_code: d.country.map(|c| self.country(c)),
            description: Some(d.description.clone()),
        }
    }

    /// Tags and operators go in as rows of their own ([`SchemeSpec::operator_rows`]).
    pub(crate) fn scheme(&self, s: &SchemeSpec) -> SchemeRecord {
        let (budget_amount, budget_currency, budget_usd_cents) = self.money(&s.budget);
        SchemeRecord {
            scheme: SupportScheme {
                id: s.id,
                version: 1,
                status: s.status,
                name: s.name.clone(),
                description: Some(s.description.clone()),
                source: Some(self.source.clone()),
                start_year: Some(s.start_year),
                end_year: s.end_year,
                budget_amount,
                budget_currency,
                open_for_applications: s.open_for_applications,
            },
            tags: Tags::default(),
            operators: vec![],
            owner: None,
            budget_usd_cents,
        }
    }

    /// Tags, cities and scheme links go in as rows of their own.
    pub(crate) fn practice(&self, p: &PracticeSpec) -> PracticeRecord {
        let (amount_required, amount_required_currency, amount_required_usd_cents) =
            self.money(&p.required);
        PracticeRecord {
            practice: Practice {
                id: p.id,
                version: 1,
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
                amount_required,
                amount_required_currency,
            },
            tags: Tags::default(),
            cities: vec![],
            association_ids: vec![],
            indicators: vec![],
            owner: None,
            amount_required_usd_cents,
        }
    }

    pub(crate) fn funding(&self, f: &FundingSpec) -> PricedFunding {
        let p = &f.payment;
        let rate = &self.reference.rates[p.currency];
        PricedFunding {
            funding: Funding {
                id: f.id,
                version: 1,
                practice_id: f.practice_id,
                scheme_id: f.scheme_id,
                donor_id: f.donor_id,
                source_city_id: f.source_city_id,
                source_name: f.source_name.clone(),
                source_type: p.source_type,
                amount: p.amount.map(|(a, _)| a),
                currency: rate.currency.clone(),
                rate: rate.usd_per_unit,
                rate_source: Some(rate.citation.clone()),
                amount_usd: None,
                year: Some(p.year),
                status: p.status,
                confidential: p.confidential,
                note: None,
            },
            amount_usd_cents: p.amount.map(|(_, cents)| cents),
        }
    }

    /// Tags go in as rows of their own.
    pub(crate) fn need(&self, n: &NeedSpec) -> NeedRecord {
        let (amount_required, amount_required_currency, amount_required_usd_cents) =
            self.money(&n.required);
        NeedRecord {
            need: Need {
                id: n.id,
                version: 1,
                publication: PublicationStatus::Published,
                city_id: n.city_id,
                title: n.title.clone(),
                description: Some(n.description.clone()),
                source: Some(self.source.clone()),
                modality: n.modality,
                amount_required,
                amount_required_currency,
                status: n.status,
            },
            tags: Tags::default(),
            owner: None,
            amount_required_usd_cents,
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
