//! Practices with their cities and schemes, the funding of practices and schemes, and needs.

use domain::Result;
use domain::framework::*;
use domain::orientation;

use super::LAST_YEAR;
use super::generator::{Generator, STREAM_FUNDING, STREAM_NEEDS, STREAM_PRACTICES, World};
use super::random::{Lottery, Rng, spread};
use super::specs::*;
use super::vocabulary::*;

impl Generator<'_> {
    /// Cities for a practice, chosen by bloc so that the orientation derived from them follows
    /// the report's mix; the lead first, no city twice.
    pub(crate) fn practice_cities(
        &self,
        rng: &mut Rng,
        world: &World,
        pairing: Pairing,
        count: usize,
    ) -> Vec<usize> {
        use Bloc::{East, North, South};
        let either = |rng: &mut Rng, a: Bloc, b: Bloc| if rng.percent(50) { a } else { b };
        let mut blocs: Vec<Bloc> = match pairing {
            Pairing::NorthSouth if rng.percent(55) => vec![North, South],
            Pairing::NorthSouth => vec![South, North],
            Pairing::SouthSouth => vec![South, South],
            Pairing::NorthNorth => vec![North, North],
            Pairing::WithEast => match rng.below(10) {
                0..=6 => vec![either(rng, North, East), East, North],
                7 | 8 => vec![East, East],
                _ => vec![East, South],
            },
            Pairing::Mixed if count >= 3 => vec![North, South, East],
            Pairing::Mixed => vec![South, East],
        };
        // The third and later cities repeat the blocs already present, so they never change the
        // orientation the first ones set.
        let present = blocs.clone();
        blocs.truncate(count.max(2));
        while blocs.len() < count {
            blocs.push(rng.one(&present));
        }
        let mut chosen: Vec<usize> = Vec::with_capacity(count);
        for bloc in blocs {
            for _ in 0..8 {
                let city = world.city_in(rng, bloc);
                if !chosen.contains(&city) {
                    chosen.push(city);
                    break;
                }
            }
        }
        chosen
    }

    pub(crate) fn practices(
        &self,
        count: usize,
        world: &World,
        schemes: &[SchemeSpec],
    ) -> Result<Vec<PracticeSpec>> {
        let mut rng = self.rng(STREAM_PRACTICES);
        let mut practices = Vec::with_capacity(count);
        for i in 0..count {
            let pairing = rng.weighted(PAIRINGS);
            let modality = rng.weighted(LINKING_MODALITIES);
            let city_count = match modality {
                LinkingModality::OneOnOne => 2,
                _ => rng.between(3, 4),
            };
            let cities = self.practice_cities(&mut rng, world, pairing, city_count);
            let blocs: Vec<Bloc> = cities.iter().map(|&c| world.bloc(c)).collect();
            let orientation = orientation::derive(&blocs).unwrap_or(GeographicOrientation::Global);
            let themes = rng.several(THEMES, 1, 3);
            let management_focus = rng.several(MANAGEMENT_FOCUS, 1, 2);
            // Later starts are more common, as the practice spread through the 1990s.
            let start_year = rng.year(1985, LAST_YEAR).max(rng.year(1985, LAST_YEAR));
            let end_year = (!rng.percent(45)).then(|| start_year + rng.year(1, 6));
            let required = if rng.percent(60) {
                let usd = rng.usd(4, 6);
                let currency = rng.weighted(&self.reference.mix.required);
                Some(self.reference.money(usd, currency)?)
            } else {
                None
            };
            let topic = rng.one(topics(themes[0]));
            let names: Vec<&str> = cities
                .iter()
                .map(|&c| world.cities[c].name.as_str())
                .collect();
            let lead = names.first().copied().unwrap_or("A city");
            let title = match (modality, names.as_slice()) {
                (LinkingModality::OneOnOne, [a, b]) => format!(
                    "{a}–{b} {topic} {}",
                    rng.one(&["partnership", "twinning", "exchange", "cooperation"])
                ),
                (LinkingModality::Network, _) => {
                    format!("{} network led by {lead}", capitalised(topic))
                }
                _ => format!(
                    "{} cooperation of {lead} and {} partner cities",
                    capitalised(topic),
                    names.len().saturating_sub(1)
                ),
            };
            let summary = format!(
                "{lead} ({}) works with {} on {topic}, with a focus on {}.",
                cities
                    .first()
                    .map(|&c| world.country_name(c))
                    .unwrap_or("?"),
                listed(names.get(1..).unwrap_or_default()),
                focus_phrase(management_focus[0])
            );
            practices.push(PracticeSpec {
                id: self.first.practice + i as i64,
                status: rng.weighted(PRACTICE_STATUS),
                title,
                summary,
                context: rng.percent(30).then(|| rng.one(CONTEXTS).to_string()),
                outcomes: rng.percent(25).then(|| rng.one(OUTCOMES).to_string()),
                issues: rng.percent(15).then(|| rng.one(ISSUES).to_string()),
                start_year,
                end_year,
                orientation,
                modality,
                required,
                themes,
                management_focus,
                cooperating_parties: rng.several(COOPERATING_PARTIES, 1, 2),
                cities: cities.iter().map(|&c| world.cities[c].id).collect(),
                scheme: if rng.percent(35) {
                    rng.pick(schemes).map(|s| s.id)
                } else {
                    None
                },
            });
        }
        Ok(practices)
    }

    pub(crate) fn funding(
        &self,
        volumes: &Volumes,
        world: &World,
        practices: &[PracticeSpec],
        schemes: &[SchemeSpec],
        donors: &[DonorSpec],
    ) -> Result<Vec<FundingSpec>> {
        let mut rng = self.rng(STREAM_FUNDING);
        let all_donors = Lottery::new(donors.iter().map(|d| d.weight));
        let foundations = Lottery::new(donors.iter().map(|d| {
            if d.kind == DonorKind::Foundation {
                d.weight
            } else {
                0
            }
        }));
        let donor_for = |rng: &mut Rng, source: FundingSource| {
            let foundation = match source {
                FundingSource::FoundationTrust => foundations.draw(rng),
                _ => None,
            };
            foundation
                .or_else(|| all_donors.draw(rng))
                .map(|i| donors[i].id)
        };
        let mut rows =
            Vec::with_capacity(volumes.funding_on_practices + volumes.funding_on_schemes);
        let mut next_id = self.first.funding;

        // Every practice has a funding record; the rest are spread at random, so the totals are
        // exact while the counts per practice vary.
        let per_practice = spread(&mut rng, practices.len(), volumes.funding_on_practices, 1);
        for (p, &n) in practices.iter().zip(&per_practice) {
            let last_year = p.end_year.unwrap_or(p.start_year + 5).min(LAST_YEAR);
            for _ in 0..n {
                let source_type = rng.weighted(PRACTICE_FUNDING_SOURCES);
                let (donor_id, source_city_id, source_name, exponents) = match source_type {
                    FundingSource::OwnBudget => {
                        let city = if rng.percent(70) {
                            p.cities.first().copied()
                        } else {
                            rng.pick(&p.cities).copied()
                        };
                        (None, city, None, (3, 5))
                    }
                    FundingSource::LocalPartners => {
                        let city = rng
                            .pick(&p.cities)
                            .map(|&id| world.cities[(id - self.first.city) as usize].name.as_str());
                        let name = rng
                            .one(&[
                                "%C Chamber of Commerce",
                                "%C Water Utility",
                                "Community organisations of %C",
                                "University of %C",
                            ])
                            .replace("%C", city.unwrap_or("the city"));
                        (None, None, Some(name), (3, 4))
                    }
                    FundingSource::FoundationTrust => {
                        (donor_for(&mut rng, source_type), None, None, (4, 5))
                    }
                    FundingSource::DevelopmentProgramme => {
                        (donor_for(&mut rng, source_type), None, None, (5, 6))
                    }
                    _ => (donor_for(&mut rng, source_type), None, None, (4, 6)),
                };
                let year = rng.year(p.start_year, last_year.max(p.start_year));
                rows.push(FundingSpec {
                    id: next_id,
                    practice_id: Some(p.id),
                    scheme_id: None,
                    donor_id,
                    source_city_id,
                    source_name,
                    payment: self.payment(&mut rng, source_type, year, exponents)?,
                });
                next_id += 1;
            }
        }

        let per_scheme = spread(&mut rng, schemes.len(), volumes.funding_on_schemes, 0);
        for (s, &n) in schemes.iter().zip(&per_scheme) {
            let operating_donor = s.operators.iter().find_map(|o| o.donor_id);
            let last_year = s.end_year.unwrap_or(s.start_year + 10).min(LAST_YEAR);
            for _ in 0..n {
                let source_type = rng.weighted(SCHEME_FUNDING);
                let donor_id = match operating_donor {
                    Some(d) if rng.percent(60) => Some(d),
                    _ => donor_for(&mut rng, source_type),
                };
                let year = rng.year(s.start_year, last_year.max(s.start_year));
                rows.push(FundingSpec {
                    id: next_id,
                    practice_id: None,
                    scheme_id: Some(s.id),
                    donor_id,
                    source_city_id: None,
                    source_name: None,
                    payment: self.payment(&mut rng, source_type, year, (5, 7))?,
                });
                next_id += 1;
            }
        }
        Ok(rows)
    }

    /// The money part of a funding record: currency of its era, amount, status, confidentiality.
    pub(crate) fn payment(
        &self,
        rng: &mut Rng,
        source_type: FundingSource,
        year: i32,
        (low, high): (u32, u32),
    ) -> Result<Payment> {
        let currency = rng.weighted(self.reference.mix.for_year(year));
        // A few records name the funder but not the sum, as sources often do.
        let amount = if rng.percent(98) {
            let usd = rng.usd(low, high);
            Some(self.reference.convert(usd, currency)?)
        } else {
            None
        };
        Ok(Payment {
            source_type,
            currency,
            amount,
            year,
            status: rng.weighted(FUNDING_STATUS),
            confidential: rng.percent(5),
        })
    }

    pub(crate) fn needs(&self, count: usize, world: &World) -> Result<Vec<NeedSpec>> {
        let mut rng = self.rng(STREAM_NEEDS);
        let mut needs = Vec::with_capacity(count);
        for i in 0..count {
            // Needs are mostly voiced by cities of the South and East.
            let bloc = rng.weighted(&[(Bloc::South, 75), (Bloc::East, 15), (Bloc::North, 10)]);
            let city = world.city_in(&mut rng, bloc);
            let name = &world.cities[city].name;
            let themes = rng.several(THEMES, 1, 2);
            let topic = rng.one(topics(themes[0]));
            let required = if rng.percent(85) {
                let usd = rng.usd(4, 5);
                let currency = rng.weighted(&self.reference.mix.required);
                Some(self.reference.money(usd, currency)?)
            } else {
                None
            };
            needs.push(NeedSpec {
                id: self.first.need + i as i64,
                city_id: world.cities[city].id,
                title: format!("{name}: {topic}"),
                description: format!(
                    "{name} ({}) seeks a partner local authority with experience in {topic}.",
                    world.country_name(city)
                ),
                modality: rng.percent(70).then(|| rng.weighted(LINKING_MODALITIES)),
                required,
                status: rng.weighted(NEED_STATUS),
                themes,
                management_focus: rng.several(MANAGEMENT_FOCUS, 1, 1),
                support_modalities: rng.several(SUPPORT_MODALITIES, 1, 2),
            });
        }
        Ok(needs)
    }
}
