//! The information base as `information_base.json` spells it: records refer to each other by
//! key, and every value is checked when loaded (see `build`).

use domain::framework::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InformationBase {
    pub cities: Vec<SeedCity>,
    pub associations: Vec<SeedAssociation>,
    pub donors: Vec<SeedDonor>,
    pub support_schemes: Vec<SeedScheme>,
    pub practices: Vec<SeedPractice>,
    #[serde(default)]
    pub needs: Vec<SeedNeed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedCity {
    pub key: String,
    pub name: String,
    pub country_code: String,
    pub kind: CityKind,
    pub population: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedAssociation {
    pub key: String,
    pub name: String,
    pub acronym: Option<String>,
    pub scope: AssociationScope,
    pub country_code: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub member_cities: Vec<String>,
    #[serde(default)]
    pub member_associations: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedAgenda {
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub orientations: Vec<GeographicOrientation>,
    #[serde(default)]
    pub country_codes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedDonor {
    pub key: String,
    pub name: String,
    pub acronym: Option<String>,
    pub kind: DonorKind,
    pub country_code: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub agenda: SeedAgenda,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedMoney {
    pub amount: String,
    pub currency: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedOperators {
    #[serde(default)]
    pub associations: Vec<String>,
    #[serde(default)]
    pub donors: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedFunding {
    pub donor: Option<String>,
    pub source_city: Option<String>,
    pub source_name: Option<String>,
    pub source_type: FundingSource,
    pub amount: Option<String>,
    pub currency: String,
    pub year: Option<i32>,
    pub status: FundingStatus,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedScheme {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub source: Option<String>,
    #[serde(default)]
    pub operators: SeedOperators,
    #[serde(default)]
    pub facilitating_structures: Vec<FacilitatingStructure>,
    #[serde(default)]
    pub funding_sources: Vec<FundingSource>,
    #[serde(default)]
    pub support_modalities: Vec<SupportModality>,
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub orientations: Vec<GeographicOrientation>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub budget: Option<SeedMoney>,
    #[serde(default)]
    pub open_for_applications: bool,
    #[serde(default)]
    pub funding: Vec<SeedFunding>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPracticeCity {
    pub city: String,
    pub role: CityRole,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPartner {
    pub name: String,
    pub kind: CooperatingParty,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedIndicator {
    pub name: String,
    pub unit: Option<String>,
    pub baseline: Option<String>,
    pub target: Option<String>,
    pub actual: Option<String>,
    pub year: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedPractice {
    pub key: String,
    pub title: String,
    pub summary: Option<String>,
    pub context: Option<String>,
    pub outcomes: Option<String>,
    pub issues: Option<String>,
    pub source: Option<String>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub cities: Vec<SeedPracticeCity>,
    #[serde(default)]
    pub associations: Vec<String>,
    #[serde(default)]
    pub partners: Vec<SeedPartner>,
    pub orientation: Option<GeographicOrientation>,
    /// Why a historical case keeps an orientation that today's blocs would not give (countries
    /// that were transition economies when the case ran).
    pub orientation_note: Option<String>,
    pub modality: LinkingModality,
    pub cooperating_parties: Vec<CooperatingParty>,
    pub management_focus: Vec<ManagementFocus>,
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub schemes: Vec<String>,
    pub amount_required: Option<SeedMoney>,
    #[serde(default)]
    pub indicators: Vec<SeedIndicator>,
    #[serde(default)]
    pub funding: Vec<SeedFunding>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedNeed {
    pub key: String,
    pub city: String,
    pub title: String,
    pub description: Option<String>,
    pub source: Option<String>,
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub management_focus: Vec<ManagementFocus>,
    pub modality: Option<LinkingModality>,
    #[serde(default)]
    pub support_modalities: Vec<SupportModality>,
    pub amount_required: Option<SeedMoney>,
    pub status: NeedStatus,
}
