//! Deriving a practice's geographic orientation from its cities' blocs (see README, "Orientation").

use std::collections::BTreeSet;

use crate::framework::{Bloc, GeographicOrientation};
use crate::{Error, Result};

/// The orientation the blocs of a practice's cities imply, or `None` with fewer than two cities.
pub fn derive(blocs: &[Bloc]) -> Option<GeographicOrientation> {
    if blocs.len() < 2 {
        return None;
    }
    let set: BTreeSet<Bloc> = blocs.iter().copied().collect();
    let has = |b| set.contains(&b);
    Some(
        match (has(Bloc::North), has(Bloc::East), has(Bloc::South)) {
            (true, false, false) => GeographicOrientation::NorthNorth,
            (_, true, false) => GeographicOrientation::WestEast,
            (true, false, true) => GeographicOrientation::NorthSouth,
            (false, false, true) => GeographicOrientation::SouthSouth,
            (_, true, true) => GeographicOrientation::Global,
            (false, false, false) => unreachable!("a non-empty set has at least one bloc"),
        },
    )
}

/// The orientation to store: the given one when it agrees with the cities (or is GLOBAL, since a
/// network may reach beyond the cities listed), the derived one when none is given.
pub fn resolve(
    given: Option<GeographicOrientation>,
    blocs: &[Bloc],
) -> Result<GeographicOrientation> {
    match (given, derive(blocs)) {
        (Some(g), Some(d)) if g == d || g == GeographicOrientation::Global => Ok(g),
        (Some(g), Some(d)) => Err(Error::validation(
            "orientation",
            format!("{g} contradicts the cities' blocs, which give {d} (or GLOBAL)"),
        )),
        (Some(g), None) => Ok(g),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(Error::validation(
            "orientation",
            "required when a practice has fewer than two cities",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Bloc::*;
    use GeographicOrientation::*;

    #[test]
    fn derivation_table() {
        assert_eq!(derive(&[North, North]), Some(NorthNorth));
        assert_eq!(derive(&[North, East]), Some(WestEast));
        assert_eq!(derive(&[East, East]), Some(WestEast));
        assert_eq!(derive(&[South, North]), Some(NorthSouth));
        assert_eq!(derive(&[South, South, South]), Some(SouthSouth));
        assert_eq!(derive(&[East, South]), Some(Global));
        assert_eq!(derive(&[North, East, South]), Some(Global));
        assert_eq!(derive(&[North]), None);
    }

    #[test]
    fn given_orientation_must_agree_or_be_global() {
        assert_eq!(resolve(None, &[North, South]).unwrap(), NorthSouth);
        assert_eq!(resolve(Some(Global), &[North, North]).unwrap(), Global);
        assert_eq!(resolve(Some(SouthSouth), &[South]).unwrap(), SouthSouth);
        let err = resolve(Some(SouthSouth), &[North, North]).unwrap_err();
        assert!(matches!(err, Error::Validation { field, .. } if field == "orientation"));
        assert!(resolve(None, &[North]).is_err());
    }
}
