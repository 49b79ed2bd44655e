//! The SQL that places practices in the cells of a funding-gap grouping, shared by the gap
//! question and the rollups that keep its answers.

use domain::analytics::GapDimension;

/// The joins (` JOIN (…) d0 ON d0.oid = p.id …`) placing practice `p` in its cells along `dims`,
/// for the practices whose id satisfies `restrict` when given; dimension `i`'s value is
/// [`practice_key`]. A dimension that is a column of the practice itself needs no join: joined
/// as a table of its own, it read the whole `practice` table once more (2.4 KB a row on the
/// synthetic base, 475 MB for 200,000 practices) for each grouping statement of a build.
pub(crate) fn practice_joins(dims: &[Option<GapDimension>], restrict: Option<&str>) -> String {
    dims.iter()
        .enumerate()
        .filter_map(|(i, d)| match placement(*d, restrict) {
            Placement::Column(_) => None,
            Placement::Joined(source) => Some(format!(" JOIN ({source}) d{i} ON d{i}.oid = p.id")),
        })
        .collect()
}

/// The value of dimension `d`, the `i`th of a grouping, for practice `p` placed by
/// [`practice_joins`].
pub(crate) fn practice_key(i: usize, d: Option<GapDimension>) -> String {
    match placement(d, None) {
        Placement::Column(column) => column.to_owned(),
        Placement::Joined(_) => format!("d{i}.v"),
    }
}

/// Whether every practice has exactly one value of `d`, read from its own row (orientation,
/// modality): summing a grouping's cells over such a dimension counts each practice once.
pub(crate) fn one_per_practice(d: GapDimension) -> bool {
    matches!(placement(Some(d), None), Placement::Column(_))
}

enum Placement {
    /// A value of the practice's own row: one a practice.
    Column(&'static str),
    /// `(owner id, value)` rows, for the practices whose id satisfies `restrict` (a condition
    /// such as `IN (…)`) when given: none, one or several a practice.
    Joined(String),
}

fn placement(d: Option<GapDimension>, restrict: Option<&str>) -> Placement {
    let only = |column: &str, joiner: &str| {
        restrict
            .map(|r| format!(" {joiner} {column} {r}"))
            .unwrap_or_default()
    };
    Placement::Joined(match d {
        None => return Placement::Column("'ALL'"),
        Some(GapDimension::Orientation) => return Placement::Column("p.orientation"),
        Some(GapDimension::Modality) => return Placement::Column("p.modality"),
        Some(GapDimension::Theme) => format!(
            "SELECT practice_id AS oid, value AS v FROM practice_tag WHERE dimension = 'THEME'{}",
            only("practice_id", "AND")
        ),
        Some(GapDimension::ManagementFocus) => format!(
            "SELECT practice_id AS oid, value AS v FROM practice_tag WHERE dimension = 'MANAGEMENT_FOCUS'{}",
            only("practice_id", "AND")
        ),
        Some(GapDimension::Bloc) => format!(
            "SELECT DISTINCT pc.practice_id AS oid, co.bloc AS v FROM practice_city pc \
             JOIN city ci ON ci.id = pc.city_id JOIN country co ON co.code = ci.country_code{}",
            only("pc.practice_id", "WHERE")
        ),
        Some(GapDimension::Country) => format!(
            "SELECT DISTINCT pc.practice_id AS oid, ci.country_code AS v FROM practice_city pc \
             JOIN city ci ON ci.id = pc.city_id{}",
            only("pc.practice_id", "WHERE")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_of_the_practice_row_are_read_from_it_without_a_join() {
        let own = [
            None,
            Some(GapDimension::Orientation),
            Some(GapDimension::Modality),
        ];
        assert_eq!(practice_joins(&own, None), "");
        let keys: Vec<String> = own
            .iter()
            .enumerate()
            .map(|(i, d)| practice_key(i, *d))
            .collect();
        assert_eq!(keys, ["'ALL'", "p.orientation", "p.modality"]);

        let mixed = [Some(GapDimension::Orientation), Some(GapDimension::Theme)];
        let joins = practice_joins(&mixed, Some("IN (7)"));
        assert_eq!(joins.matches(" JOIN ").count(), 1, "{joins}");
        assert!(joins.contains(" d1 ON d1.oid = p.id"), "{joins}");
        assert!(joins.contains("practice_id IN (7)"), "{joins}");
        assert!(!joins.contains("FROM practice "), "{joins}");
        assert_eq!(practice_key(1, mixed[1]), "d1.v");
    }

    #[test]
    fn only_the_dimensions_of_the_practice_row_have_one_value_a_practice() {
        let single: Vec<GapDimension> = GapDimension::ALL
            .iter()
            .copied()
            .filter(|d| one_per_practice(*d))
            .collect();
        assert_eq!(single, [GapDimension::Orientation, GapDimension::Modality]);
    }
}
