//! The SQL that places practices in the cells of a funding-gap grouping, shared by the gap
//! question and the rollups that keep its answers.

use domain::analytics::GapDimension;

/// The joins (` JOIN (…) d0 ON d0.oid = p.id …`) placing practice `p` in its cells along `dims`,
/// for the practices whose id satisfies `restrict` when given; dimension `i`'s value is `di.v`.
pub(crate) fn practice_joins(dims: &[Option<GapDimension>], restrict: Option<&str>) -> String {
    dims.iter()
        .enumerate()
        .map(|(i, d)| {
            format!(
                " JOIN ({}) d{i} ON d{i}.oid = p.id",
                practice_source(*d, restrict)
            )
        })
        .collect()
}

/// `(owner id, value)` rows of one dimension for practices, for those whose id satisfies
/// `restrict` (an `IN (…)` clause) when given.
pub(crate) fn practice_source(d: Option<GapDimension>, restrict: Option<&str>) -> String {
    let only = |column: &str, joiner: &str| {
        restrict
            .map(|r| format!(" {joiner} {column} {r}"))
            .unwrap_or_default()
    };
    match d {
        None => format!(
            "SELECT id AS oid, 'ALL' AS v FROM practice{}",
            only("id", "WHERE")
        ),
        Some(GapDimension::Theme) => format!(
            "SELECT practice_id AS oid, value AS v FROM practice_tag WHERE dimension = 'THEME'{}",
            only("practice_id", "AND")
        ),
        Some(GapDimension::ManagementFocus) => format!(
            "SELECT practice_id AS oid, value AS v FROM practice_tag WHERE dimension = 'MANAGEMENT_FOCUS'{}",
            only("practice_id", "AND")
        ),
        Some(GapDimension::Orientation) => format!(
            "SELECT id AS oid, orientation AS v FROM practice{}",
            only("id", "WHERE")
        ),
        Some(GapDimension::Modality) => format!(
            "SELECT id AS oid, modality AS v FROM practice{}",
            only("id", "WHERE")
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
    }
}
