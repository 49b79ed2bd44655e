//! Generation checked without a database: determinism, volumes, ids, and the shape of the data.

use std::collections::{BTreeMap, HashMap, HashSet};

use domain::framework::*;
use domain::{orientation, values};
use persistence::bulk::NextIds;
use persistence::seed::{COUNTRIES_CSV, USD_RATES_CSV};

use super::generator::generate;
use super::random::{Lottery, Rng, spread};
use super::reference::{Country, Rate, Reference};
use super::rows::{Rows, source_of};
use super::specs::*;
use super::vocabulary::{THEMES, acronym, listed};
use super::{LAST_YEAR, SyntheticOptions, created_at};

fn reference() -> Reference {
    let countries = csv::Reader::from_reader(COUNTRIES_CSV.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            Country {
                code: r[0].to_string(),
                name: r[2].to_string(),
                bloc: Bloc::parse(&r[3], "bloc").unwrap(),
            }
        })
        .collect();
    let rates = csv::Reader::from_reader(USD_RATES_CSV.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            let rate = values::rate("usd_per_unit", &r[1]).unwrap();
            Rate {
                currency: r[0].to_string(),
                usd_per_unit: rate,
                citation: format!("{}, {}", &r[3], &r[2]),
            }
        })
        .collect();
    Reference::new(countries, rates).unwrap()
}

const FRESH: NextIds = NextIds {
    city: 1,
    association: 1,
    donor: 1,
    scheme: 1,
    scheme_operator: 1,
    practice: 1,
    funding: 1,
    need: 1,
};

fn dataset(practices: usize, seed: u64) -> Dataset {
    generate(&reference(), &SyntheticOptions { practices, seed }, &FRESH).unwrap()
}

fn share<T>(items: &[T], wanted: impl Fn(&T) -> bool) -> f64 {
    items.iter().filter(|i| wanted(i)).count() as f64 / items.len() as f64
}

fn near(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 0.03,
        "{what}: {actual:.3}, expected about {expected}"
    );
}

#[test]
fn volumes_for_two_hundred_thousand_practices() {
    let v = Volumes::new(200_000, 249);
    assert_eq!(v.cities, 10_000);
    assert_eq!(v.associations, 50);
    assert_eq!(v.donors, 100);
    assert_eq!(v.schemes, 400);
    assert_eq!(v.needs, 20_000);
    assert_eq!(v.funding_on_practices + v.funding_on_schemes, 1_000_000);
    assert_eq!(v.funding_on_schemes, 30_000);
    // Small runs still give every country a city.
    assert_eq!(Volumes::new(100, 249).cities, 249);
    assert_eq!(Volumes::new(100, 249).donors, 30);
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = dataset(400, 7);
    assert_eq!(a, dataset(400, 7));
    let b = dataset(400, 8);
    assert_ne!(a.practices[..10], b.practices[..10]);
    assert_ne!(a.funding[..10], b.funding[..10]);
    // The streams are independent: more practices leave the cities as they were.
    assert_eq!(dataset(800, 7).cities, a.cities);
}

#[test]
fn ids_follow_the_largest_existing_ones() {
    let first = NextIds {
        city: 501,
        association: 12,
        donor: 40,
        scheme: 33,
        scheme_operator: 70,
        practice: 1001,
        funding: 9000,
        need: 5,
    };
    let d = generate(
        &reference(),
        &SyntheticOptions {
            practices: 300,
            seed: 1,
        },
        &first,
    )
    .unwrap();
    let consecutive = |ids: Vec<i64>, start: i64| {
        assert_eq!(ids, (start..start + ids.len() as i64).collect::<Vec<_>>());
    };
    consecutive(d.cities.iter().map(|c| c.id).collect(), 501);
    consecutive(d.associations.iter().map(|a| a.id).collect(), 12);
    consecutive(d.donors.iter().map(|x| x.id).collect(), 40);
    consecutive(d.schemes.iter().map(|s| s.id).collect(), 33);
    consecutive(
        d.schemes
            .iter()
            .flat_map(|s| s.operators.iter().map(|o| o.id))
            .collect(),
        70,
    );
    consecutive(d.practices.iter().map(|p| p.id).collect(), 1001);
    consecutive(d.funding.iter().map(|f| f.id).collect(), 9000);
    consecutive(d.needs.iter().map(|n| n.id).collect(), 5);
    let city_ids = 501..501 + d.cities.len() as i64;
    assert!(
        d.practices
            .iter()
            .all(|p| p.cities.iter().all(|c| city_ids.contains(c)))
    );
    assert!(d.needs.iter().all(|n| city_ids.contains(&n.city_id)));
}

#[test]
fn cities_cover_every_country() {
    let r = reference();
    let d = dataset(20_000, 3);
    assert_eq!(d.cities.len(), 1_000);
    let mut per_country = vec![0; r.countries.len()];
    for c in &d.cities {
        per_country[c.country] += 1;
    }
    assert!(per_country.iter().all(|&n| n >= 1));
    assert!(per_country.iter().any(|&n| n >= 5));
}

#[test]
fn practices_are_shaped_like_the_report() {
    let r = reference();
    let d = dataset(6_000, 42);
    let p = &d.practices;
    assert_eq!(p.len(), 6_000);

    use GeographicOrientation::*;
    near(
        share(p, |x| x.orientation == NorthSouth),
        0.50,
        "NORTH_SOUTH",
    );
    near(
        share(p, |x| x.orientation == SouthSouth),
        0.20,
        "SOUTH_SOUTH",
    );
    near(
        share(p, |x| x.orientation == NorthNorth),
        0.15,
        "NORTH_NORTH",
    );
    near(share(p, |x| x.orientation == WestEast), 0.09, "WEST_EAST");
    near(share(p, |x| x.orientation == Global), 0.06, "GLOBAL");

    use LinkingModality::*;
    near(share(p, |x| x.modality == OneOnOne), 0.65, "ONE_ON_ONE");
    near(share(p, |x| x.modality == Group), 0.20, "GROUP");
    near(share(p, |x| x.modality == Network), 0.15, "NETWORK");
    near(
        share(p, |x| x.status == PublicationStatus::Published),
        0.95,
        "PUBLISHED",
    );
    near(share(p, |x| x.required.is_some()), 0.60, "amount required");

    let bloc_of = |id: i64| {
        let c = &d.cities[(id - FRESH.city) as usize];
        r.countries[c.country].bloc
    };
    for x in p {
        assert!((2..=4).contains(&x.cities.len()), "{x:?}");
        let distinct: HashSet<_> = x.cities.iter().collect();
        assert_eq!(distinct.len(), x.cities.len());
        let blocs: Vec<Bloc> = x.cities.iter().map(|&c| bloc_of(c)).collect();
        assert_eq!(Some(x.orientation), orientation::derive(&blocs));
        assert!((1..=3).contains(&x.themes.len()));
        assert!((1..=2).contains(&x.management_focus.len()));
        assert!((1..=2).contains(&x.cooperating_parties.len()));
        assert!((1985..=LAST_YEAR).contains(&x.start_year));
        assert!(
            x.end_year
                .is_none_or(|e| e > x.start_year && e <= x.start_year + 6)
        );
        assert!(values::bounded_text("title", &x.title, values::limits::TITLE).is_ok());
        assert!(x.summary.chars().count() <= values::limits::SUMMARY);
        if let Some(m) = &x.required {
            let code = r.rates[m.currency].currency.as_str();
            assert!(code == "USD" || code == "EUR");
        }
    }

    let mut themes: BTreeMap<Theme, usize> = BTreeMap::new();
    for t in p.iter().flat_map(|x| &x.themes) {
        *themes.entry(*t).or_default() += 1;
    }
    let mut ranked: Vec<(Theme, usize)> = themes.into_iter().collect();
    ranked.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    let top: HashSet<Theme> = ranked[..2].iter().map(|(t, _)| *t).collect();
    assert_eq!(
        top,
        HashSet::from([Theme::Environment, Theme::InfrastructureServices])
    );
    assert_eq!(ranked[ranked.len() - 1].0, Theme::Other);
}

#[test]
fn funding_is_exact_and_converted_like_any_other_record() {
    let r = reference();
    let d = dataset(4_000, 9);
    let f = &d.funding;
    assert_eq!(f.len(), 20_000);
    let on_schemes = f.iter().filter(|x| x.scheme_id.is_some()).count();
    assert_eq!(on_schemes, 600);
    assert!(
        f.iter()
            .all(|x| x.practice_id.is_some() != x.scheme_id.is_some())
    );
    let practices: HashMap<i64, &PracticeSpec> = d.practices.iter().map(|p| (p.id, p)).collect();
    let funded: HashSet<i64> = f.iter().filter_map(|x| x.practice_id).collect();
    assert_eq!(funded.len(), d.practices.len(), "every practice is funded");

    use FundingStatus::*;
    near(share(f, |x| x.payment.status == Pledged), 0.20, "PLEDGED");
    near(
        share(f, |x| x.payment.status == Committed),
        0.30,
        "COMMITTED",
    );
    near(
        share(f, |x| x.payment.status == Disbursed),
        0.50,
        "DISBURSED",
    );
    near(share(f, |x| x.payment.confidential), 0.05, "confidential");
    near(share(f, |x| x.donor_id.is_some()), 0.80, "with a donor");

    for x in f {
        let p = &x.payment;
        let rate = &r.rates[p.currency];
        if let Some((amount, cents)) = p.amount {
            let parsed = values::amount("amount", &amount.to_string()).unwrap();
            assert_eq!(parsed.to_string(), amount.to_string());
            assert_eq!(
                cents,
                values::to_usd_cents(parsed, rate.usd_per_unit).unwrap()
            );
            assert!(cents > 0);
        }
        if ["NLG", "FRF", "DEM"].contains(&rate.currency.as_str()) {
            assert!(p.year < 2002, "{x:?}");
        }
        if rate.currency == "EUR" {
            assert!(p.year >= 1999, "{x:?}");
        }
        match p.source_type {
            FundingSource::OwnBudget => {
                let practice = practices[&x.practice_id.unwrap()];
                assert!(practice.cities.contains(&x.source_city_id.unwrap()));
                assert!(x.donor_id.is_none());
            }
            FundingSource::LocalPartners => {
                assert!(x.donor_id.is_none() && x.source_name.is_some());
            }
            _ => assert!(x.donor_id.is_some()),
        }
        if let Some(id) = x.practice_id {
            let practice = practices[&id];
            assert!(p.year >= practice.start_year && p.year <= LAST_YEAR.max(practice.start_year));
        }
    }
    let legacy = f
        .iter()
        .filter(|x| ["NLG", "FRF", "DEM"].contains(&r.rates[x.payment.currency].currency.as_str()))
        .count();
    assert!(legacy > 0, "some funding predates the euro");
}

#[test]
fn organisations_schemes_and_needs_carry_their_tags() {
    let r = reference();
    let d = dataset(2_000, 5);
    assert_eq!(d.associations.len(), 50);
    assert_eq!(d.donors.len(), 30);
    assert_eq!(d.schemes.len(), 30);
    assert_eq!(d.needs.len(), 200);
    for donor in &d.donors {
        let agenda = donor.agenda(&r);
        assert!(agenda.iter().any(|(dim, _)| *dim == Dimension::Theme));
        assert!(agenda.iter().any(|(dim, _)| *dim == Dimension::Orientation));
        let unique: HashSet<_> = agenda.iter().collect();
        assert_eq!(unique.len(), agenda.len());
    }
    for s in &d.schemes {
        assert!(!s.operators.is_empty());
        let tags = s.tags();
        for dim in [
            Dimension::Theme,
            Dimension::Orientation,
            Dimension::SupportModality,
            Dimension::FacilitatingStructure,
            Dimension::FundingSource,
        ] {
            assert!(
                tags.iter().any(|(d, _)| *d == dim),
                "{} lacks {dim}",
                s.name
            );
        }
    }
    let names: HashSet<&str> = d.schemes.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), d.schemes.len());
    near(
        share(&d.needs, |n| n.status == NeedStatus::Open),
        0.80,
        "open needs",
    );
    assert!(share(&d.needs, |n| n.required.is_some()) > 0.75);
    for n in &d.needs {
        let tags = n.tags();
        assert!(tags.iter().any(|(d, _)| *d == Dimension::Theme));
        assert!(tags.iter().any(|(d, _)| *d == Dimension::ManagementFocus));
        assert!(tags.iter().any(|(d, _)| *d == Dimension::SupportModality));
    }
}

#[test]
fn rows_carry_the_rate_table_and_the_synthetic_source() {
    let r = reference();
    let d = dataset(200, 11);
    let rows = Rows {
        reference: &r,
        source: source_of(11),
    };
    let f = rows.funding(&d.funding[0]).funding;
    let rate = r.rates.iter().find(|x| x.currency == f.currency).unwrap();
    assert_eq!(f.rate, rate.usd_per_unit);
    assert_eq!(f.rate_source.as_deref(), Some(rate.citation.as_str()));
    let p = rows.practice(&d.practices[0]).practice;
    assert_eq!(
        p.source.as_deref(),
        Some("Synthetic benchmark data, seed 11")
    );
    assert_eq!(
        created_at().unwrap().to_rfc3339(),
        "2025-01-01T00:00:00+00:00"
    );
}

#[test]
fn drawing_helpers() {
    let mut rng = Rng::new(1, 0);
    let mut counts = [0usize; 3];
    for _ in 0..30_000 {
        counts[rng.weighted(&[(0, 1), (1, 2), (2, 7)])] += 1;
    }
    near(counts[2] as f64 / 30_000.0, 0.7, "weight 7 of 10");
    for _ in 0..1_000 {
        let picked = rng.several(THEMES, 1, 3);
        let unique: HashSet<_> = picked.iter().collect();
        assert_eq!(unique.len(), picked.len());
        assert!((1..=3).contains(&picked.len()));
    }
    let lottery = Lottery::new([0, 5, 0, 5]);
    for _ in 0..1_000 {
        assert!(matches!(lottery.draw(&mut rng), Some(1 | 3)));
    }
    assert_eq!(Lottery::new([0, 0]).draw(&mut rng), None);
    let spread_out = spread(&mut rng, 10, 95, 1);
    assert_eq!(spread_out.iter().sum::<usize>(), 95);
    assert!(spread_out.iter().all(|&n| n >= 1));
    assert_eq!(acronym("Association of Cities of Kenya 2"), "ACK");
    assert_eq!(listed(&["a", "b", "c"]), "a, b and c");
}
