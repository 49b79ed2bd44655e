//! The framework vocabularies as GraphQL enums, mirrored from the domain.

use async_graphql::Enum;
use domain::framework as f;

macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident = $remote:literal { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
        #[graphql(remote = $remote)]
        pub enum $name { $($variant),+ }
    };
}

mirror!(
    /// Where the cooperating cities stand relative to each other (report 3.2, Table 2.2).
    GeographicOrientation = "f::GeographicOrientation" { NorthNorth, WestEast, NorthSouth, SouthSouth, Global }
);
mirror!(
    /// How many parties a practice links (report 3.3).
    LinkingModality = "f::LinkingModality" { OneOnOne, Group, Network }
);
mirror!(
    /// Who takes part on the cities' side (report 3.4).
    CooperatingParty = "f::CooperatingParty" { LocalAuthorityServices, NgoCbo, PrivateSector, Academia, NationalAssociation, Other }
);
mirror!(
    /// Which part of urban management a practice strengthens (report 3.5).
    ManagementFocus = "f::ManagementFocus" { TechnicalExpertise, StrategyFormulation, StrategyImplementation, InstitutionalReform }
);
mirror!(
    /// The subject of a practice (report 3.6).
    Theme = "f::Theme" {
        MunicipalFinance, Environment, InfrastructureServices, Health, Housing, EconomicDevelopment,
        SecurityDisaster, SocialCultural, Other
    }
);
mirror!(
    /// Who facilitates a support scheme (report 4.2).
    FacilitatingStructure = "f::FacilitatingStructure" {
        CityAuthority, LocalAuthorityAssociation, NationalGovernment, AidOrganisation, ProfessionalAssociation, Ngo, Other
    }
);
mirror!(
    /// Where the money comes from (report 4.3).
    FundingSource = "f::FundingSource" {
        OwnBudget, LocalPartners, DevelopmentProgramme, GrantsLoans, SelfFunding, FoundationTrust, Other
    }
);
mirror!(
    /// How a scheme supports cooperation (report 4.4).
    SupportModality = "f::SupportModality" {
        BestPracticeMatchmaking, StaffExchange, KnowledgeExchange, Networking, DemonstrationReplication, ExpertiseTools, Other
    }
);
mirror!(
    /// A country's group: UN developed (NORTH), transition (EAST) and developing (SOUTH) economies.
    Bloc = "f::Bloc" { North, East, South }
);
mirror!(CityKind = "f::CityKind" { Municipality, County, Province, MetropolitanArea, District, Region, Other });
mirror!(AssociationScope = "f::AssociationScope" { National, Regional, Global, Professional, Network });
mirror!(
    DonorKind = "f::DonorKind" { Bilateral, Multilateral, Foundation, PrivateSector, NationalGovernment, LocalGovernment, Other }
);
mirror!(
    /// A city's part in a practice.
    CityRole = "f::CityRole" { Lead, Partner }
);
mirror!(
    /// Pledges are announced, commitments agreed, disbursements paid.
    FundingStatus = "f::FundingStatus" { Pledged, Committed, Disbursed }
);
mirror!(
    /// Drafts are seen only by their organisation and the secretariat.
    PublicationStatus = "f::PublicationStatus" { Draft, Published, Archived }
);
mirror!(NeedStatus = "f::NeedStatus" { Open, Matched, Closed });
mirror!(
    /// A dimension of the framework, as counted by `inventory`.
    Dimension = "f::Dimension" {
        Orientation, Modality, CooperatingParty, ManagementFocus, Theme, FacilitatingStructure, FundingSource,
        SupportModality, Country
    }
);

/// Converts a list of GraphQL enum values into domain values.
pub fn into_domain<A: Copy + Into<B>, B>(values: &Option<Vec<A>>) -> Vec<B> {
    values.iter().flatten().map(|v| (*v).into()).collect()
}

/// Converts an optional list of GraphQL enum values, keeping "absent" apart from "empty": on
/// update, an absent list keeps the stored values and an empty one clears them.
pub fn given_into_domain<A: Copy + Into<B>, B>(values: &Option<Vec<A>>) -> Option<Vec<B>> {
    values.as_ref().map(|_| into_domain(values))
}

/// Converts domain values into GraphQL enum values.
pub fn from_domain<A: Copy, B: From<A>>(values: &[A]) -> Vec<B> {
    values.iter().map(|v| B::from(*v)).collect()
}
