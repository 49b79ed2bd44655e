//! The records generation produces, before they become rows: countries and currencies are
//! indexes into the reference data, ids are final.

use domain::framework::*;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Money {
    pub(crate) currency: usize,
    pub(crate) amount: Decimal,
    pub(crate) usd_cents: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CitySpec {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) kind: CityKind,
    pub(crate) country: usize,
    pub(crate) population: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AssociationSpec {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) acronym: String,
    pub(crate) scope: AssociationScope,
    pub(crate) country: Option<usize>,
    pub(crate) description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DonorSpec {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) acronym: String,
    pub(crate) kind: DonorKind,
    pub(crate) country: Option<usize>,
    pub(crate) description: String,
    pub(crate) themes: Vec<Theme>,
    pub(crate) orientations: Vec<GeographicOrientation>,
    pub(crate) agenda_countries: Vec<usize>,
    /// How much of the funding this donor gives, relative to the others.
    pub(crate) weight: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OperatorSpec {
    pub(crate) id: i64,
    pub(crate) association_id: Option<i64>,
    pub(crate) donor_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SchemeSpec {
    pub(crate) id: i64,
    pub(crate) status: PublicationStatus,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) start_year: i32,
    pub(crate) end_year: Option<i32>,
    pub(crate) budget: Option<Money>,
    pub(crate) open_for_applications: bool,
    pub(crate) themes: Vec<Theme>,
    pub(crate) orientations: Vec<GeographicOrientation>,
    pub(crate) support_modalities: Vec<SupportModality>,
    pub(crate) facilitating_structures: Vec<FacilitatingStructure>,
    pub(crate) funding_sources: Vec<FundingSource>,
    pub(crate) operators: Vec<OperatorSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PracticeSpec {
    pub(crate) id: i64,
    pub(crate) status: PublicationStatus,
    pub(crate) title: String,
    pub(crate) summary: String,
    pub(crate) context: Option<String>,
    pub(crate) outcomes: Option<String>,
    pub(crate) issues: Option<String>,
    pub(crate) start_year: i32,
    pub(crate) end_year: Option<i32>,
    pub(crate) orientation: GeographicOrientation,
    pub(crate) modality: LinkingModality,
    pub(crate) required: Option<Money>,
    pub(crate) themes: Vec<Theme>,
    pub(crate) management_focus: Vec<ManagementFocus>,
    pub(crate) cooperating_parties: Vec<CooperatingParty>,
    /// City ids, the lead first.
    pub(crate) cities: Vec<i64>,
    pub(crate) scheme: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FundingSpec {
    pub(crate) id: i64,
    pub(crate) practice_id: Option<i64>,
    pub(crate) scheme_id: Option<i64>,
    pub(crate) donor_id: Option<i64>,
    pub(crate) source_city_id: Option<i64>,
    pub(crate) source_name: Option<String>,
    pub(crate) payment: Payment,
}

/// What a funding record says about the money itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Payment {
    pub(crate) source_type: FundingSource,
    pub(crate) currency: usize,
    /// `(amount, USD cents)`; `None` where the source names the funder but not the sum.
    pub(crate) amount: Option<(Decimal, i64)>,
    pub(crate) year: i32,
    pub(crate) status: FundingStatus,
    pub(crate) confidential: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NeedSpec {
    pub(crate) id: i64,
    pub(crate) city_id: i64,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) modality: Option<LinkingModality>,
    pub(crate) required: Option<Money>,
    pub(crate) status: NeedStatus,
    pub(crate) themes: Vec<Theme>,
    pub(crate) management_focus: Vec<ManagementFocus>,
    pub(crate) support_modalities: Vec<SupportModality>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dataset {
    pub(crate) cities: Vec<CitySpec>,
    pub(crate) associations: Vec<AssociationSpec>,
    pub(crate) donors: Vec<DonorSpec>,
    pub(crate) schemes: Vec<SchemeSpec>,
    pub(crate) practices: Vec<PracticeSpec>,
    pub(crate) funding: Vec<FundingSpec>,
    pub(crate) needs: Vec<NeedSpec>,
}

/// How many rows of each kind `practices` practices come with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Volumes {
    pub(crate) cities: usize,
    pub(crate) associations: usize,
    pub(crate) donors: usize,
    pub(crate) schemes: usize,
    pub(crate) practices: usize,
    pub(crate) funding_on_practices: usize,
    pub(crate) funding_on_schemes: usize,
    pub(crate) needs: usize,
}

impl Volumes {
    pub(crate) fn new(practices: usize, countries: usize) -> Self {
        let funding = 5 * practices;
        let funding_on_schemes = funding * 3 / 100;
        Volumes {
            cities: (practices / 20).max(200).max(countries),
            associations: 50,
            donors: (practices / 2000).max(30),
            schemes: (practices / 500).max(30),
            practices,
            funding_on_practices: funding - funding_on_schemes,
            funding_on_schemes,
            needs: practices / 10,
        }
    }
}
