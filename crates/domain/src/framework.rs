//! The analytical framework of the report (Table 2.2) and the other closed vocabularies of the graph.
//!
//! Every enum is stored as its upper-case name, which is also its GraphQL value.

/// A closed vocabulary: the enum, its stored names (`as_str`, `ALL`, `from_name`, `Display`) and a
/// `parse`. By default `parse(text, field)` reports an unknown name as a validation error on
/// `field`; a vocabulary read from one place only may give `parse(text) else <error>` instead.
/// Several vocabularies with the default `parse` may be defined in one invocation.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }
        parse($t:ident) else $unknown:expr) => {
        $crate::framework::vocabulary!(@names $(#[$meta])* $name { $($variant = $text),+ });

        impl $name {
            pub fn parse($t: &str) -> $crate::Result<Self> {
                Self::from_name($t).ok_or_else(|| $unknown)
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $crate::framework::vocabulary!(@names $(#[$meta])* $name { $($variant = $text),+ });

        impl $name {
            /// Parses the stored / wire name; `field` names the input in the validation error.
            pub fn parse(text: &str, field: &str) -> $crate::Result<Self> {
                Self::from_name(text).ok_or_else(|| {
                    $crate::Error::validation(
                        field,
                        format!("unknown {} value {text:?}", stringify!($name)),
                    )
                })
            }
        }
    };
    ($($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? })+) => {
        $($crate::framework::vocabulary!($(#[$meta])* $name { $($variant = $text),+ });)+
    };
    (@names $(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value stored as `text`, if any.
            pub fn from_name(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary! {
    /// Where the cooperating cities stand relative to each other (report 3.2).
    GeographicOrientation {
        NorthNorth = "NORTH_NORTH", WestEast = "WEST_EAST", NorthSouth = "NORTH_SOUTH",
        SouthSouth = "SOUTH_SOUTH", Global = "GLOBAL",
    }

    /// How many parties a practice links (report 3.3).
    LinkingModality { OneOnOne = "ONE_ON_ONE", Group = "GROUP", Network = "NETWORK" }

    /// Who takes part on the cities' side (report 3.4).
    CooperatingParty {
        LocalAuthorityServices = "LOCAL_AUTHORITY_SERVICES", NgoCbo = "NGO_CBO",
        PrivateSector = "PRIVATE_SECTOR", Academia = "ACADEMIA",
        NationalAssociation = "NATIONAL_ASSOCIATION", Other = "OTHER",
    }

    /// Which part of urban management a practice strengthens (report 3.5).
    ManagementFocus {
        TechnicalExpertise = "TECHNICAL_EXPERTISE",
        StrategyFormulation = "STRATEGY_FORMULATION",
        StrategyImplementation = "STRATEGY_IMPLEMENTATION",
        InstitutionalReform = "INSTITUTIONAL_REFORM",
    }

    /// The subject of a practice (report 3.6).
    Theme {
        MunicipalFinance = "MUNICIPAL_FINANCE", Environment = "ENVIRONMENT",
        InfrastructureServices = "INFRASTRUCTURE_SERVICES", Health = "HEALTH",
        Housing = "HOUSING", EconomicDevelopment = "ECONOMIC_DEVELOPMENT",
        SecurityDisaster = "SECURITY_DISASTER", SocialCultural = "SOCIAL_CULTURAL",
        Other = "OTHER",
    }

    /// Who facilitates a support scheme (report 4.2).
    FacilitatingStructure {
        CityAuthority = "CITY_AUTHORITY",
        LocalAuthorityAssociation = "LOCAL_AUTHORITY_ASSOCIATION",
        NationalGovernment = "NATIONAL_GOVERNMENT", AidOrganisation = "AID_ORGANISATION",
        ProfessionalAssociation = "PROFESSIONAL_ASSOCIATION", Ngo = "NGO", Other = "OTHER",
    }

    /// Where the money comes from (report 4.3).
    FundingSource {
        OwnBudget = "OWN_BUDGET", LocalPartners = "LOCAL_PARTNERS",
        DevelopmentProgramme = "DEVELOPMENT_PROGRAMME", GrantsLoans = "GRANTS_LOANS",
        SelfFunding = "SELF_FUNDING", FoundationTrust = "FOUNDATION_TRUST", Other = "OTHER",
    }

    /// How a scheme supports cooperation (report 4.4).
    SupportModality {
        BestPracticeMatchmaking = "BEST_PRACTICE_MATCHMAKING",
        StaffExchange = "STAFF_EXCHANGE", KnowledgeExchange = "KNOWLEDGE_EXCHANGE",
        Networking = "NETWORKING", DemonstrationReplication = "DEMONSTRATION_REPLICATION",
        ExpertiseTools = "EXPERTISE_TOOLS", Other = "OTHER",
    }

    /// A country's group for the geographic orientation: UN developed (NORTH), transition (EAST)
    /// and developing (SOUTH) economies.
    Bloc { North = "NORTH", East = "EAST", South = "SOUTH" }

    /// The level and size of a local authority.
    CityKind {
        Municipality = "MUNICIPALITY", County = "COUNTY", Province = "PROVINCE",
        MetropolitanArea = "METROPOLITAN_AREA", District = "DISTRICT", Region = "REGION",
        Other = "OTHER",
    }

    AssociationScope {
        National = "NATIONAL", Regional = "REGIONAL", Global = "GLOBAL",
        Professional = "PROFESSIONAL", Network = "NETWORK",
    }

    DonorKind {
        Bilateral = "BILATERAL", Multilateral = "MULTILATERAL", Foundation = "FOUNDATION",
        PrivateSector = "PRIVATE_SECTOR", NationalGovernment = "NATIONAL_GOVERNMENT",
        LocalGovernment = "LOCAL_GOVERNMENT", Other = "OTHER",
    }

    /// A city's part in a practice.
    CityRole { Lead = "LEAD", Partner = "PARTNER" }

    FundingStatus { Pledged = "PLEDGED", Committed = "COMMITTED", Disbursed = "DISBURSED" }

    /// Where a record is in its life: drafts are seen by their organisation only.
    PublicationStatus { Draft = "DRAFT", Published = "PUBLISHED", Archived = "ARCHIVED" }

    NeedStatus { Open = "OPEN", Matched = "MATCHED", Closed = "CLOSED" }

    /// The multi-valued dimensions, as stored in the tag tables and counted by `inventory`.
    Dimension {
        Orientation = "ORIENTATION", Modality = "MODALITY", CooperatingParty = "COOPERATING_PARTY",
        ManagementFocus = "MANAGEMENT_FOCUS", Theme = "THEME",
        FacilitatingStructure = "FACILITATING_STRUCTURE", FundingSource = "FUNDING_SOURCE",
        SupportModality = "SUPPORT_MODALITY", Country = "COUNTRY",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn names_round_trip() {
        for theme in Theme::ALL {
            assert_eq!(Theme::parse(theme.as_str(), "themes").unwrap(), *theme);
        }
        assert_eq!(Theme::ALL.len(), 9);
        assert_eq!(SupportModality::ALL.len(), 7);
    }

    #[test]
    fn unknown_name_is_a_validation_error_on_the_field() {
        let err = GeographicOrientation::parse("EAST_WEST", "orientation").unwrap_err();
        assert!(matches!(err, Error::Validation { ref field, .. } if field == "orientation"));
    }
}
