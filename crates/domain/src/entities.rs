//! The records of the information base, as the domain sees them.

use rust_decimal::Decimal;

use crate::framework::*;

pub type Id = i64;

#[derive(Debug, Clone, PartialEq)]
pub struct Country {
    pub code: String,
    pub alpha3: String,
    pub name: String,
    pub bloc: Bloc,
    pub ldc: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct City {
    pub id: Id,
    pub version: i32,
    pub name: String,
    pub kind: CityKind,
    pub country_code: String,
    pub population: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub id: Id,
    pub version: i32,
    pub name: String,
    pub acronym: Option<String>,
    pub scope: AssociationScope,
    pub country_code: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Agenda {
    pub themes: Vec<Theme>,
    pub orientations: Vec<GeographicOrientation>,
    pub country_codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Donor {
    pub id: Id,
    pub version: i32,
    pub name: String,
    pub acronym: Option<String>,
    pub kind: DonorKind,
    pub country_code: Option<String>,
    pub description: Option<String>,
}

/// The framework values a scheme, practice or need carries on its multi-valued dimensions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tags {
    pub themes: Vec<Theme>,
    pub management_focus: Vec<ManagementFocus>,
    pub cooperating_parties: Vec<CooperatingParty>,
    pub orientations: Vec<GeographicOrientation>,
    pub facilitating_structures: Vec<FacilitatingStructure>,
    pub funding_sources: Vec<FundingSource>,
    pub support_modalities: Vec<SupportModality>,
    pub modalities: Vec<LinkingModality>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SupportScheme {
    pub id: Id,
    pub version: i32,
    pub status: PublicationStatus,
    pub name: String,
    pub description: Option<String>,
    pub source: Option<String>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub budget_amount: Option<Decimal>,
    pub budget_currency: Option<String>,
    pub open_for_applications: bool,
}

/// A scheme's operator: an association or a donor agency.
#[derive(Debug, Clone, PartialEq)]
pub enum Operator {
    Association(Id),
    Donor(Id),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Practice {
    pub id: Id,
    pub version: i32,
    pub status: PublicationStatus,
    pub title: String,
    pub summary: Option<String>,
    pub context: Option<String>,
    pub outcomes: Option<String>,
    pub issues: Option<String>,
    pub source: Option<String>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub orientation: GeographicOrientation,
    pub modality: LinkingModality,
    pub amount_required: Option<Decimal>,
    pub amount_required_currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PracticeCity {
    pub practice_id: Id,
    pub city_id: Id,
    pub role: CityRole,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Partner {
    pub id: Id,
    pub practice_id: Id,
    pub name: String,
    pub kind: CooperatingParty,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub id: Id,
    pub practice_id: Id,
    pub name: String,
    pub unit: Option<String>,
    pub baseline: Option<Decimal>,
    pub target: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Funding {
    pub id: Id,
    pub version: i32,
    pub practice_id: Option<Id>,
    pub scheme_id: Option<Id>,
    pub donor_id: Option<Id>,
    pub source_city_id: Option<Id>,
    pub source_name: Option<String>,
    pub source_type: FundingSource,
    /// `None` when the source names the funder but not the sum, or when it is hidden from the viewer.
    pub amount: Option<Decimal>,
    pub currency: String,
    /// USD per unit of `currency`, frozen when the record was made.
    pub rate: Decimal,
    /// Where `rate` came from and as of when, frozen with it.
    pub rate_source: Option<String>,
    pub amount_usd: Option<Decimal>,
    pub year: Option<i32>,
    pub status: FundingStatus,
    pub confidential: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub id: Id,
    pub version: i32,
    pub publication: PublicationStatus,
    pub city_id: Id,
    pub title: String,
    pub description: Option<String>,
    pub source: Option<String>,
    pub modality: Option<LinkingModality>,
    pub amount_required: Option<Decimal>,
    pub amount_required_currency: Option<String>,
    pub status: NeedStatus,
}

/// USD per unit of a currency, as the rate table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyRate {
    pub currency: String,
    pub usd_per_unit: Decimal,
    pub as_of: String,
    pub source: String,
}

impl CurrencyRate {
    /// How a funding record cites the rate it was converted at.
    pub fn citation(&self) -> String {
        format!("{}, {}", self.source, self.as_of)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FacetCount {
    pub dimension: Dimension,
    pub value: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inventory {
    pub practice_count: i64,
    pub support_scheme_count: i64,
    pub city_count: i64,
    pub association_count: i64,
    pub donor_count: i64,
    pub practice_facets: Vec<FacetCount>,
    pub scheme_facets: Vec<FacetCount>,
}
