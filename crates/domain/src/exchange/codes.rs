//! The framework's values as IATI 2.03 codes (codelists OrganisationType, OrganisationRole,
//! TransactionType, ActivityStatus, DAC 5-digit sectors), both ways where a value maps back.

use crate::framework::*;

/// OrganisationRole: who gives the money, who manages it on the funder's behalf, who does the
/// work.
pub const ROLE_FUNDING: &str = "1";
pub const ROLE_ACCOUNTABLE: &str = "2";
pub const ROLE_EXTENDING: &str = "3";
pub const ROLE_IMPLEMENTING: &str = "4";

/// OrganisationType of a local authority.
pub const ORG_LOCAL_GOVERNMENT: &str = "11";

/// SectorVocabulary: 1 is the OECD DAC's 5-digit purpose codes; 99 a vocabulary of the reporting
/// organisation, here the Forum's themes (IATI asks for a narrative with it).
pub const SECTOR_DAC: &str = "1";
pub const SECTOR_REPORTING_ORG: &str = "99";

/// ResultType: the framework's indicators measure what a practice achieved, its outcome.
pub const RESULT_OUTCOME: &str = "2";

/// IndicatorMeasure: a count of units, or a percentage.
pub const MEASURE_UNIT: &str = "1";
pub const MEASURE_PERCENTAGE: &str = "2";

/// ActivityDateType.
pub const DATE_PLANNED_START: &str = "1";
pub const DATE_ACTUAL_START: &str = "2";
pub const DATE_PLANNED_END: &str = "3";
pub const DATE_ACTUAL_END: &str = "4";

/// The OrganisationType of a donor. Bilateral agencies are government bodies.
pub fn donor_type(kind: DonorKind) -> &'static str {
    match kind {
        DonorKind::Bilateral | DonorKind::NationalGovernment => "10",
        DonorKind::LocalGovernment => ORG_LOCAL_GOVERNMENT,
        DonorKind::Multilateral => "40",
        DonorKind::Foundation => "60",
        DonorKind::PrivateSector => "70",
        DonorKind::Other => "90",
    }
}

/// The OrganisationType of an association of local authorities or professionals: a
/// non-governmental membership body, national, regional or international by its reach.
pub fn association_type(scope: AssociationScope) -> &'static str {
    match scope {
        AssociationScope::National | AssociationScope::Professional => "22",
        AssociationScope::Regional => "23",
        AssociationScope::Global | AssociationScope::Network => "21",
    }
}

/// The OrganisationType of a practice's partner.
pub fn partner_type(kind: CooperatingParty) -> &'static str {
    match kind {
        CooperatingParty::LocalAuthorityServices => "15",
        CooperatingParty::NgoCbo | CooperatingParty::NationalAssociation => "22",
        CooperatingParty::PrivateSector => "70",
        CooperatingParty::Academia => "80",
        CooperatingParty::Other => "90",
    }
}

/// The TransactionType of a funding record. The practice is the activity reported, so money
/// from a donor comes in: a pledge, a commitment, funds received.
pub fn transaction_type(status: FundingStatus) -> &'static str {
    match status {
        FundingStatus::Pledged => "13",
        FundingStatus::Committed => "11",
        FundingStatus::Disbursed => "1",
    }
}

/// The funding status a TransactionType stands for, where one does: outgoing flows name the
/// same stages from the other side.
pub fn funding_status(transaction_type: &str) -> Option<FundingStatus> {
    match transaction_type.trim() {
        "13" | "12" => Some(FundingStatus::Pledged),
        "11" | "2" => Some(FundingStatus::Committed),
        "1" | "3" => Some(FundingStatus::Disbursed),
        _ => None,
    }
}

/// The DAC 5-digit purpose code closest to a theme, where one is close enough; the Forum's own
/// vocabulary is reported beside it in every case.
pub fn dac_sector(theme: Theme) -> Option<&'static str> {
    Some(match theme {
        // Public finance management.
        Theme::MunicipalFinance => "15111",
        // Environmental policy and administrative management.
        Theme::Environment => "41010",
        // Urban development and management.
        Theme::InfrastructureServices => "43030",
        // Health policy and administrative management.
        Theme::Health => "12110",
        // Housing policy and administrative management.
        Theme::Housing => "16030",
        // Business policy and administration.
        Theme::EconomicDevelopment => "25010",
        // Multi-hazard response preparedness.
        Theme::SecurityDisaster => "74020",
        // Culture and recreation.
        Theme::SocialCultural => "16061",
        Theme::Other => return None,
    })
}

/// The theme a DAC 5-digit code was exported as.
pub fn theme_of_dac_sector(code: &str) -> Option<Theme> {
    Theme::ALL
        .iter()
        .copied()
        .find(|t| dac_sector(*t) == Some(code.trim()))
}

/// A theme as a reader sees it in the narrative of its sector: "Municipal finance".
pub fn theme_label(theme: Theme) -> String {
    let lower = theme.as_str().replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => lower,
    }
}

/// ActivityStatus from the years, as of `year`: not started yet is pipeline (1), ended is
/// closed (4), anything else (undated included) in implementation (2).
pub fn activity_status(start_year: Option<i32>, end_year: Option<i32>, year: i32) -> &'static str {
    match (start_year, end_year) {
        (Some(start), _) if start > year => "1",
        (_, Some(end)) if end < year => "4",
        _ => "2",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_theme_maps_back_and_codes_are_distinct_dac_purpose_codes() {
        let mut seen = std::collections::HashSet::new();
        for theme in Theme::ALL {
            if let Some(code) = dac_sector(*theme) {
                assert_eq!(code.len(), 5, "{code}");
                assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
                assert!(seen.insert(code), "{code} used twice");
                assert_eq!(theme_of_dac_sector(code), Some(*theme));
            }
        }
        assert_eq!(dac_sector(Theme::Other), None);
        assert_eq!(theme_of_dac_sector("99999"), None);
    }

    #[test]
    fn funding_stages_are_incoming_transactions_and_read_back() {
        for status in FundingStatus::ALL {
            assert_eq!(funding_status(transaction_type(*status)), Some(*status));
        }
        assert_eq!(transaction_type(FundingStatus::Disbursed), "1");
        assert_eq!(transaction_type(FundingStatus::Committed), "11");
        assert_eq!(transaction_type(FundingStatus::Pledged), "13");
        // Expenditure is not a stage of funding.
        assert_eq!(funding_status("4"), None);
    }

    #[test]
    fn status_follows_the_years() {
        assert_eq!(activity_status(Some(2030), None, 2026), "1");
        assert_eq!(activity_status(Some(1990), Some(1995), 2026), "4");
        assert_eq!(activity_status(Some(1990), Some(2026), 2026), "2");
        assert_eq!(activity_status(None, None, 2026), "2");
    }

    #[test]
    fn organisation_types_follow_the_codelist() {
        assert_eq!(donor_type(DonorKind::Multilateral), "40");
        assert_eq!(donor_type(DonorKind::Bilateral), "10");
        assert_eq!(association_type(AssociationScope::Global), "21");
        assert_eq!(partner_type(CooperatingParty::Academia), "80");
    }

    #[test]
    fn labels_read_as_words() {
        assert_eq!(theme_label(Theme::MunicipalFinance), "Municipal finance");
        assert_eq!(theme_label(Theme::Other), "Other");
    }
}
