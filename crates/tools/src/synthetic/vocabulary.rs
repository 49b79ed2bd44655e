//! Vocabularies and their weights (roughly the spread over the report's cases) and the words
//! names are made of.

use domain::framework::*;

use super::random::Rng;

/// Roughly the spread of themes over the report's cases.
pub(crate) const THEMES: &[(Theme, u32)] = &[
    (Theme::Environment, 20),
    (Theme::InfrastructureServices, 19),
    (Theme::MunicipalFinance, 13),
    (Theme::EconomicDevelopment, 12),
    (Theme::Housing, 10),
    (Theme::Health, 9),
    (Theme::SocialCultural, 8),
    (Theme::SecurityDisaster, 5),
    (Theme::Other, 4),
];

pub(crate) const MANAGEMENT_FOCUS: &[(ManagementFocus, u32)] = &[
    (ManagementFocus::TechnicalExpertise, 40),
    (ManagementFocus::StrategyImplementation, 25),
    (ManagementFocus::StrategyFormulation, 20),
    (ManagementFocus::InstitutionalReform, 15),
];

pub(crate) const COOPERATING_PARTIES: &[(CooperatingParty, u32)] = &[
    (CooperatingParty::LocalAuthorityServices, 45),
    (CooperatingParty::NgoCbo, 18),
    (CooperatingParty::Academia, 12),
    (CooperatingParty::PrivateSector, 12),
    (CooperatingParty::NationalAssociation, 9),
    (CooperatingParty::Other, 4),
];

pub(crate) const LINKING_MODALITIES: &[(LinkingModality, u32)] = &[
    (LinkingModality::OneOnOne, 65),
    (LinkingModality::Group, 20),
    (LinkingModality::Network, 15),
];

pub(crate) const ORIENTATIONS: &[(GeographicOrientation, u32)] = &[
    (GeographicOrientation::NorthSouth, 45),
    (GeographicOrientation::SouthSouth, 20),
    (GeographicOrientation::WestEast, 15),
    (GeographicOrientation::NorthNorth, 10),
    (GeographicOrientation::Global, 10),
];

pub(crate) const SUPPORT_MODALITIES: &[(SupportModality, u32)] = &[
    (SupportModality::KnowledgeExchange, 25),
    (SupportModality::StaffExchange, 20),
    (SupportModality::Networking, 15),
    (SupportModality::ExpertiseTools, 15),
    (SupportModality::BestPracticeMatchmaking, 10),
    (SupportModality::DemonstrationReplication, 10),
    (SupportModality::Other, 5),
];

pub(crate) const FACILITATING_STRUCTURES: &[(FacilitatingStructure, u32)] = &[
    (FacilitatingStructure::LocalAuthorityAssociation, 35),
    (FacilitatingStructure::AidOrganisation, 20),
    (FacilitatingStructure::NationalGovernment, 15),
    (FacilitatingStructure::CityAuthority, 10),
    (FacilitatingStructure::ProfessionalAssociation, 10),
    (FacilitatingStructure::Ngo, 7),
    (FacilitatingStructure::Other, 3),
];

pub(crate) const SCHEME_FUNDING_SOURCES: &[(FundingSource, u32)] = &[
    (FundingSource::DevelopmentProgramme, 35),
    (FundingSource::GrantsLoans, 25),
    (FundingSource::OwnBudget, 10),
    (FundingSource::SelfFunding, 10),
    (FundingSource::FoundationTrust, 10),
    (FundingSource::LocalPartners, 5),
    (FundingSource::Other, 5),
];

/// Where a practice's money comes from: most from a donor, a share from the cities themselves.
pub(crate) const PRACTICE_FUNDING_SOURCES: &[(FundingSource, u32)] = &[
    (FundingSource::GrantsLoans, 45),
    (FundingSource::DevelopmentProgramme, 25),
    (FundingSource::FoundationTrust, 10),
    (FundingSource::OwnBudget, 13),
    (FundingSource::LocalPartners, 7),
];

pub(crate) const SCHEME_FUNDING: &[(FundingSource, u32)] = &[
    (FundingSource::DevelopmentProgramme, 50),
    (FundingSource::GrantsLoans, 35),
    (FundingSource::FoundationTrust, 15),
];

pub(crate) const FUNDING_STATUS: &[(FundingStatus, u32)] = &[
    (FundingStatus::Pledged, 20),
    (FundingStatus::Committed, 30),
    (FundingStatus::Disbursed, 50),
];

pub(crate) const PRACTICE_STATUS: &[(PublicationStatus, u32)] = &[
    (PublicationStatus::Published, 95),
    (PublicationStatus::Draft, 3),
    (PublicationStatus::Archived, 2),
];

pub(crate) const SCHEME_STATUS: &[(PublicationStatus, u32)] = &[
    (PublicationStatus::Published, 90),
    (PublicationStatus::Draft, 5),
    (PublicationStatus::Archived, 5),
];

pub(crate) const NEED_STATUS: &[(NeedStatus, u32)] = &[
    (NeedStatus::Open, 80),
    (NeedStatus::Matched, 12),
    (NeedStatus::Closed, 8),
];

pub(crate) const CITY_KINDS: &[(CityKind, u32)] = &[
    (CityKind::Municipality, 70),
    (CityKind::MetropolitanArea, 8),
    (CityKind::District, 8),
    (CityKind::County, 5),
    (CityKind::Province, 4),
    (CityKind::Region, 4),
    (CityKind::Other, 1),
];

pub(crate) const ASSOCIATION_SCOPES: &[(AssociationScope, u32)] = &[
    (AssociationScope::National, 60),
    (AssociationScope::Regional, 16),
    (AssociationScope::Professional, 10),
    (AssociationScope::Network, 8),
    (AssociationScope::Global, 6),
];

pub(crate) const DONOR_KINDS: &[(DonorKind, u32)] = &[
    (DonorKind::Bilateral, 30),
    (DonorKind::Foundation, 25),
    (DonorKind::Multilateral, 15),
    (DonorKind::PrivateSector, 10),
    (DonorKind::NationalGovernment, 10),
    (DonorKind::LocalGovernment, 10),
];

/// How a practice's cities are chosen, which decides its derived orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pairing {
    NorthSouth,
    SouthSouth,
    NorthNorth,
    WithEast,
    Mixed,
}

pub(crate) const PAIRINGS: &[(Pairing, u32)] = &[
    (Pairing::NorthSouth, 50),
    (Pairing::SouthSouth, 20),
    (Pairing::NorthNorth, 15),
    (Pairing::WithEast, 10),
    (Pairing::Mixed, 5),
];

pub(crate) fn topics(theme: Theme) -> &'static [&'static str] {
    match theme {
        Theme::Environment => &[
            "solid waste management",
            "waste recycling",
            "river clean-up",
            "urban greening",
            "air quality monitoring",
            "climate adaptation planning",
        ],
        Theme::InfrastructureServices => &[
            "water supply",
            "sanitation",
            "public transport",
            "street lighting",
            "storm drainage",
            "road maintenance",
        ],
        Theme::MunicipalFinance => &[
            "property tax collection",
            "municipal budgeting",
            "revenue administration",
            "financial management",
            "participatory budgeting",
        ],
        Theme::EconomicDevelopment => &[
            "local economic development",
            "market modernisation",
            "small business support",
            "tourism promotion",
            "investment promotion",
        ],
        Theme::Housing => &[
            "informal settlement upgrading",
            "social housing",
            "land registration",
            "housing finance",
        ],
        Theme::Health => &[
            "primary health care",
            "HIV/AIDS prevention",
            "emergency medical services",
            "food safety inspection",
        ],
        Theme::SocialCultural => &[
            "youth exchange",
            "cultural heritage",
            "school partnerships",
            "social inclusion",
        ],
        Theme::SecurityDisaster => &[
            "disaster preparedness",
            "fire services",
            "community policing",
            "post-conflict reconstruction",
        ],
        Theme::Other => &["e-government", "statistics and GIS", "public participation"],
    }
}

pub(crate) fn focus_phrase(focus: ManagementFocus) -> &'static str {
    match focus {
        ManagementFocus::TechnicalExpertise => "training of municipal technical staff",
        ManagementFocus::StrategyFormulation => "drafting a city development strategy",
        ManagementFocus::StrategyImplementation => "carrying out an agreed action plan",
        ManagementFocus::InstitutionalReform => "reorganising municipal departments",
    }
}

pub(crate) const SYLLABLES: &[&str] = &[
    "ka", "lo", "ma", "ri", "ta", "ne", "sa", "bu", "do", "vi", "len", "mor", "tan", "gra", "sel",
    "ber", "ko", "na", "zu", "pe", "hal", "din", "ro", "va", "mi", "tor", "ga", "lin", "so", "be",
    "al", "en", "or", "us", "ar", "el", "ki", "tu", "fa", "ho",
];

pub(crate) const REGIONS: &[&str] = &[
    "African",
    "Asian",
    "Caribbean",
    "Pacific",
    "Latin American",
    "Mediterranean",
    "Nordic",
    "Baltic",
    "Andean",
    "Danube",
    "Arab",
    "Central European",
];

pub(crate) const SURNAMES: &[&str] = &[
    "Hartmann",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Whitfield",
    "Castellanos",
    "Novak",
    "Mbeki",
    "Rasmussen",
    "Fairbanks",
    "Van Dijk",
    "Kowalski",
    "Adeyemi",
    "Sørensen",
];

pub(crate) const CONTEXTS: &[&str] = &[
    "The cooperation grew out of a study visit by the mayors and is run by the international relations offices.",
    "A national programme brokered the first contacts and paid for the early exchanges of staff.",
    "Diaspora communities in the partner city asked for the link, and the councils formalised it in a memorandum.",
    "The partners met through their association of local authorities and chose a single sector to work on.",
];

pub(crate) const OUTCOMES: &[&str] = &[
    "Staff of both cities trained together, and the procedures tested were adopted by the council.",
    "A pilot in one district was extended to the whole city after two years.",
    "The partners produced a manual that neighbouring municipalities now use.",
    "Service coverage rose measurably, though maintenance remains a concern.",
];

pub(crate) const ISSUES: &[&str] = &[
    "Turnover among elected officials slowed the work after each election.",
    "The exchange depended on one committed official on each side.",
    "Funding for follow-up was not secured when the donor grant ended.",
];

pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The initials of a name's capitalised words: "Association of Cities of Kenya" → "ACK".
pub(crate) fn acronym(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_uppercase())
        .take(10)
        .collect()
}

pub(crate) fn city_name(rng: &mut Rng, bloc: Bloc) -> String {
    let syllables = rng.between(2, 3);
    let mut name: String = (0..syllables).map(|_| rng.one(SYLLABLES)).collect();
    if rng.percent(30) {
        name.push_str(rng.one(match bloc {
            Bloc::North => &["burg", "ton", "ville", "dorf", "stad", "ford"][..],
            Bloc::East => &["grad", "ovo", "sk", "ice", "ava"][..],
            Bloc::South => &["pur", "abad", "polis", "nde", "kro", "ta"][..],
        }));
    }
    capitalised(&name)
}

pub(crate) fn bloc_index(bloc: Bloc) -> usize {
    match bloc {
        Bloc::North => 0,
        Bloc::East => 1,
        Bloc::South => 2,
    }
}

/// "A", "A and B", "A, B and C".
pub(crate) fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
