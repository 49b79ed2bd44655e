//! Generation: one seeded stream per table, so that changing how one table is generated does
//! not reshuffle the others. Places and organisations here; practices, funding and needs in
//! [`super::practices`].

use domain::Result;
use domain::framework::*;
use persistence::bulk::NextIds;

use super::SyntheticOptions;
use super::random::{Lottery, Names, Rng};
use super::reference::Reference;
use super::specs::*;
use super::vocabulary::*;

pub(crate) const STREAM_CITIES: u64 = 1;
pub(crate) const STREAM_ASSOCIATIONS: u64 = 2;
pub(crate) const STREAM_DONORS: u64 = 3;
pub(crate) const STREAM_SCHEMES: u64 = 4;
pub(crate) const STREAM_PRACTICES: u64 = 5;
pub(crate) const STREAM_FUNDING: u64 = 6;
pub(crate) const STREAM_NEEDS: u64 = 7;

pub(crate) fn generate(
    reference: &Reference,
    options: &SyntheticOptions,
    first: &NextIds,
) -> Result<Dataset> {
    let volumes = Volumes::new(options.practices, reference.countries.len());
    let g = Generator {
        reference,
        first: *first,
        seed: options.seed,
    };
    let cities = g.cities(volumes.cities);
    let world = World::new(reference, &cities);
    let associations = g.associations(volumes.associations);
    let donors = g.donors(volumes.donors, &cities);
    let schemes = g.schemes(volumes.schemes, &associations, &donors)?;
    let practices = g.practices(volumes.practices, &world, &schemes)?;
    let funding = g.funding(&volumes, &world, &practices, &schemes, &donors)?;
    let needs = g.needs(volumes.needs, &world)?;
    Ok(Dataset {
        cities,
        associations,
        donors,
        schemes,
        practices,
        funding,
        needs,
    })
}

/// The generated cities, grouped by bloc for choosing partners.
pub(crate) struct World<'a> {
    pub(crate) reference: &'a Reference,
    pub(crate) cities: &'a [CitySpec],
    pub(crate) by_bloc: [Vec<usize>; 3],
}

impl<'a> World<'a> {
    pub(crate) fn new(reference: &'a Reference, cities: &'a [CitySpec]) -> Self {
        let mut by_bloc: [Vec<usize>; 3] = Default::default();
        for (i, c) in cities.iter().enumerate() {
            by_bloc[bloc_index(reference.countries[c.country].bloc)].push(i);
        }
        World {
            reference,
            cities,
            by_bloc,
        }
    }

    pub(crate) fn bloc(&self, city: usize) -> Bloc {
        self.reference.countries[self.cities[city].country].bloc
    }

    /// A city of `bloc`, or of any bloc where the reference data has none of it.
    pub(crate) fn city_in(&self, rng: &mut Rng, bloc: Bloc) -> usize {
        rng.pick(&self.by_bloc[bloc_index(bloc)])
            .copied()
            .unwrap_or_else(|| rng.below(self.cities.len()))
    }

    pub(crate) fn country_name(&self, city: usize) -> &str {
        &self.reference.countries[self.cities[city].country].name
    }
}

pub(crate) struct Generator<'a> {
    pub(crate) reference: &'a Reference,
    pub(crate) first: NextIds,
    pub(crate) seed: u64,
}

impl Generator<'_> {
    pub(crate) fn rng(&self, stream: u64) -> Rng {
        Rng::new(self.seed, stream)
    }

    pub(crate) fn cities(&self, count: usize) -> Vec<CitySpec> {
        let mut rng = self.rng(STREAM_CITIES);
        let countries = &self.reference.countries;
        // Every country gets a city; the rest go to countries by a size drawn once per country,
        // so a bloc's share follows its number of countries while some countries get many more
        // cities than others.
        let sizes = Lottery::new(countries.iter().map(|_| 1 + rng.below(9) as u64));
        (0..count)
            .map(|i| {
                let country = if i < countries.len() {
                    i
                } else {
                    sizes.draw(&mut rng).unwrap_or(0)
                };
                let exponent = rng.weighted(&[(4, 50), (5, 35), (6, 12), (7, 3)]);
                CitySpec {
                    id: self.first.city + i as i64,
                    name: city_name(&mut rng, countries[country].bloc),
                    kind: rng.weighted(CITY_KINDS),
                    country,
                    population: rng
                        .percent(90)
                        .then(|| (10 + rng.below(90) as i64) * 10_i64.pow(exponent - 1)),
                }
            })
            .collect()
    }

    pub(crate) fn associations(&self, count: usize) -> Vec<AssociationSpec> {
        let mut rng = self.rng(STREAM_ASSOCIATIONS);
        let countries = &self.reference.countries;
        let mut names = Names::default();
        (0..count)
            .map(|i| {
                let scope = rng.weighted(ASSOCIATION_SCOPES);
                let mut country = None;
                let name = match scope {
                    AssociationScope::National => {
                        let c = rng.below(countries.len());
                        country = Some(c);
                        rng.one(&[
                            "Association of Municipalities of %C",
                            "National Union of Local Authorities of %C",
                            "%C Association of Cities",
                            "Federation of %C Municipalities",
                        ])
                        .replace("%C", &countries[c].name)
                    }
                    AssociationScope::Regional => {
                        format!("{} Union of Local Authorities", rng.one(REGIONS))
                    }
                    AssociationScope::Global => format!(
                        "World {} of Local Governments",
                        rng.one(&["Organisation", "Forum", "Assembly", "Council"])
                    ),
                    AssociationScope::Professional => format!(
                        "International Association of Municipal {}",
                        rng.one(&[
                            "Managers",
                            "Engineers",
                            "Planners",
                            "Finance Officers",
                            "Water Utilities"
                        ])
                    ),
                    AssociationScope::Network => {
                        let theme = rng.weighted(THEMES);
                        format!("{} Cities Network", capitalised(rng.one(topics(theme))))
                    }
                };
                let name = names.unique(name);
                AssociationSpec {
                    id: self.first.association + i as i64,
                    acronym: acronym(&name),
                    description: format!(
                        "{name} brings local authorities together to exchange experience and \
                         to represent them towards national governments and donors."
                    ),
                    name,
                    scope,
                    country,
                }
            })
            .collect()
    }

    pub(crate) fn donors(&self, count: usize, cities: &[CitySpec]) -> Vec<DonorSpec> {
        let mut rng = self.rng(STREAM_DONORS);
        let countries = &self.reference.countries;
        let of_bloc = |wanted: &[Bloc]| -> Vec<usize> {
            let found: Vec<usize> = (0..countries.len())
                .filter(|&i| wanted.contains(&countries[i].bloc))
                .collect();
            if found.is_empty() {
                (0..countries.len()).collect()
            } else {
                found
            }
        };
        let north = of_bloc(&[Bloc::North]);
        let developing = of_bloc(&[Bloc::South, Bloc::East]);
        let mut names = Names::default();
        (0..count)
            .map(|i| {
                let kind = rng.weighted(DONOR_KINDS);
                let (name, country) = match kind {
                    DonorKind::Bilateral => {
                        let c = rng.one(&north);
                        let name = rng
                            .one(&[
                                "%C Agency for International Development",
                                "%C Development Cooperation Agency",
                                "%C Fund for Local Government Partnerships",
                            ])
                            .replace("%C", &countries[c].name);
                        (name, Some(c))
                    }
                    DonorKind::Multilateral => (
                        format!(
                            "{} {}",
                            rng.one(REGIONS),
                            rng.one(&[
                                "Development Bank",
                                "Urban Development Facility",
                                "Municipal Fund"
                            ])
                        ),
                        None,
                    ),
                    DonorKind::Foundation => (
                        format!(
                            "{} {}",
                            rng.one(SURNAMES),
                            rng.one(&["Foundation", "Trust for Cities", "Charitable Trust"])
                        ),
                        rng.percent(70).then(|| rng.one(&north)),
                    ),
                    DonorKind::PrivateSector => (
                        format!(
                            "{} {}",
                            capitalised(&city_name(&mut rng, Bloc::North)),
                            rng.one(&["Utilities Group", "Infrastructure Partners", "Bank"])
                        ),
                        Some(rng.one(&north)),
                    ),
                    DonorKind::NationalGovernment => {
                        let c = rng.below(countries.len());
                        (
                            format!("Ministry of Local Government of {}", countries[c].name),
                            Some(c),
                        )
                    }
                    DonorKind::LocalGovernment => {
                        let city = rng.below(cities.len());
                        (
                            format!("City of {}", cities[city].name),
                            Some(cities[city].country),
                        )
                    }
                    DonorKind::Other => ("Other donor".to_string(), None),
                };
                let name = names.unique(name);
                let themes = rng.several(THEMES, 1, 3);
                let orientations = rng.several(ORIENTATIONS, 1, 2);
                let wanted = rng.below(5);
                let mut agenda_countries = Vec::with_capacity(wanted);
                for _ in 0..wanted {
                    let c = rng.one(&developing);
                    if !agenda_countries.contains(&c) {
                        agenda_countries.push(c);
                    }
                }
                let size = 1 + rng.below(10) as u64;
                DonorSpec {
                    id: self.first.donor + i as i64,
                    acronym: acronym(&name),
                    description: format!(
                        "{name} funds cooperation between local authorities, chiefly on {}.",
                        listed(&themes.iter().map(|t| topics(*t)[0]).collect::<Vec<_>>())
                    ),
                    name,
                    kind,
                    country,
                    themes,
                    orientations,
                    agenda_countries,
                    weight: size * size,
                }
            })
            .collect()
    }

    pub(crate) fn schemes(
        &self,
        count: usize,
        associations: &[AssociationSpec],
        donors: &[DonorSpec],
    ) -> Result<Vec<SchemeSpec>> {
        let mut rng = self.rng(STREAM_SCHEMES);
        let mut names = Names::default();
        let mut next_operator = self.first.scheme_operator;
        let mut schemes = Vec::with_capacity(count);
        for i in 0..count {
            let association = if rng.percent(75) {
                rng.pick(associations)
            } else {
                None
            };
            let donor = if association.is_none() || rng.percent(40) {
                rng.pick(donors)
            } else {
                None
            };
            let mut operators = Vec::new();
            for (association_id, donor_id) in [
                (association.map(|a| a.id), None),
                (None, donor.map(|d| d.id)),
            ] {
                if association_id.is_some() || donor_id.is_some() {
                    operators.push(OperatorSpec {
                        id: next_operator,
                        association_id,
                        donor_id,
                    });
                    next_operator += 1;
                }
            }
            let label = association
                .map(|a| a.acronym.as_str())
                .or(donor.map(|d| d.acronym.as_str()))
                .unwrap_or("Municipal");
            let themes = rng.several(THEMES, 1, 3);
            let support_modalities = rng.several(SUPPORT_MODALITIES, 1, 3);
            let name = names.unique(format!(
                "{label} {} {}",
                capitalised(rng.one(topics(themes[0]))),
                rng.one(&[
                    "Programme",
                    "Partnership Facility",
                    "Twinning Scheme",
                    "Exchange Programme",
                    "Fund"
                ])
            ));
            let start_year = rng.year(1980, 2020);
            let end_year = (!rng.percent(50)).then(|| (start_year + rng.year(3, 12)).min(2030));
            let budget = if rng.percent(50) {
                let usd = rng.usd(6, 7);
                let currency = rng.weighted(&self.reference.mix.budgets);
                Some(self.reference.money(usd, currency)?)
            } else {
                None
            };
            schemes.push(SchemeSpec {
                id: self.first.scheme + i as i64,
                status: rng.weighted(SCHEME_STATUS),
                description: format!(
                    "Supports {} between local authorities, mainly on {}.",
                    listed(
                        &support_modalities
                            .iter()
                            .map(|m| m.as_str())
                            .collect::<Vec<_>>()
                    )
                    .to_lowercase()
                    .replace('_', " "),
                    listed(&themes.iter().map(|t| topics(*t)[0]).collect::<Vec<_>>())
                ),
                name,
                start_year,
                open_for_applications: end_year.is_none() && rng.percent(50),
                end_year,
                budget,
                themes,
                orientations: rng.several(ORIENTATIONS, 1, 2),
                support_modalities,
                facilitating_structures: rng.several(FACILITATING_STRUCTURES, 1, 2),
                funding_sources: rng.several(SCHEME_FUNDING_SOURCES, 1, 2),
                operators,
            });
        }
        Ok(schemes)
    }
}
