//! Changes to the information base. Resolvers are thin: actor and input to one `Editor` call,
//! which decides authorization and validity.

use async_graphql::{Context, ID, InputObject, MergedObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::Actor;
use domain::audit::{self as audit, AuditFilter as DomainAuditFilter};
use domain::editing::{self as e, Editor};
use rust_decimal::Decimal;

use super::account::AccountMutation;
use super::connection::{page_complexity, page_request};
use super::enums::*;
use super::ids::{cursor, id, parse_id};
use super::types::*;
use crate::error::ResultExt;

fn editor<'a>(ctx: &Context<'a>) -> &'a Editor {
    ctx.data_unchecked::<Editor>()
}

fn actor<'a>(ctx: &Context<'a>) -> &'a Actor {
    ctx.data_unchecked::<Actor>()
}

fn ids(field: &str, list: &Option<Vec<ID>>) -> async_graphql::Result<Option<Vec<i64>>> {
    list.as_ref()
        .map(|l| l.iter().map(|i| parse_id(field, i)).collect())
        .transpose()
}

/// A practice's fields. On update, absent fields keep their value and an empty string clears an
/// optional text. `orientation` is derived from the cities' blocs when absent.
#[derive(InputObject, Default)]
pub struct PracticeInput {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub context: Option<String>,
    pub outcomes: Option<String>,
    pub issues: Option<String>,
    pub source: Option<String>,
    pub themes: Option<Vec<Theme>>,
    pub modality: Option<LinkingModality>,
    pub management_focus: Option<Vec<ManagementFocus>>,
    pub cooperating_parties: Option<Vec<CooperatingParty>>,
    pub orientation: Option<GeographicOrientation>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    /// The participating cities (at most 500).
    pub city_ids: Option<Vec<ID>>,
    /// The leading cities among `cityIds`; by default the first one.
    pub lead_city_ids: Option<Vec<ID>>,
    pub association_ids: Option<Vec<ID>>,
    pub amount_required: Option<Decimal>,
    pub amount_required_currency: Option<String>,
    /// Replaces the practice's indicators (at most 50).
    pub indicators: Option<Vec<IndicatorInput>>,
}

/// How a practice measures success.
#[derive(InputObject, Default)]
pub struct IndicatorInput {
    pub name: String,
    pub unit: Option<String>,
    pub baseline: Option<Decimal>,
    pub target: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub year: Option<i32>,
}

impl PracticeInput {
    fn into_domain(self) -> async_graphql::Result<e::PracticeInput> {
        Ok(e::PracticeInput {
            city_ids: ids("cityIds", &self.city_ids)?,
            lead_city_ids: ids("leadCityIds", &self.lead_city_ids)?,
            association_ids: ids("associationIds", &self.association_ids)?,
            title: self.title,
            summary: self.summary,
            context: self.context,
            outcomes: self.outcomes,
            issues: self.issues,
            source: self.source,
            themes: self.themes.as_ref().map(|_| into_domain(&self.themes)),
            modality: self.modality.map(Into::into),
            management_focus: self
                .management_focus
                .as_ref()
                .map(|_| into_domain(&self.management_focus)),
            cooperating_parties: self
                .cooperating_parties
                .as_ref()
                .map(|_| into_domain(&self.cooperating_parties)),
            orientation: self.orientation.map(Into::into),
            start_year: self.start_year,
            end_year: self.end_year,
            amount_required: self.amount_required,
            amount_required_currency: self.amount_required_currency,
            indicators: self.indicators.map(|list| {
                list.into_iter()
                    .map(|i| e::IndicatorInput {
                        name: i.name,
                        unit: i.unit,
                        baseline: i.baseline,
                        target: i.target,
                        actual: i.actual,
                        year: i.year,
                    })
                    .collect()
            }),
        })
    }
}

#[derive(InputObject, Default)]
pub struct SupportSchemeInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub facilitating_structures: Option<Vec<FacilitatingStructure>>,
    pub funding_sources: Option<Vec<FundingSource>>,
    pub support_modalities: Option<Vec<SupportModality>>,
    pub themes: Option<Vec<Theme>>,
    pub orientations: Option<Vec<GeographicOrientation>>,
    pub start_year: Option<i32>,
    pub end_year: Option<i32>,
    pub budget: Option<Decimal>,
    pub budget_currency: Option<String>,
    pub open_for_applications: Option<bool>,
}

impl From<SupportSchemeInput> for e::SchemeInput {
    fn from(i: SupportSchemeInput) -> Self {
        e::SchemeInput {
            facilitating_structures: i
                .facilitating_structures
                .as_ref()
                .map(|_| into_domain(&i.facilitating_structures)),
            funding_sources: i
                .funding_sources
                .as_ref()
                .map(|_| into_domain(&i.funding_sources)),
            support_modalities: i
                .support_modalities
                .as_ref()
                .map(|_| into_domain(&i.support_modalities)),
            themes: i.themes.as_ref().map(|_| into_domain(&i.themes)),
            orientations: i
                .orientations
                .as_ref()
                .map(|_| into_domain(&i.orientations)),
            name: i.name,
            description: i.description,
            source: i.source,
            start_year: i.start_year,
            end_year: i.end_year,
            budget: i.budget,
            budget_currency: i.budget_currency,
            open_for_applications: i.open_for_applications,
        }
    }
}

/// Money to a practice or a scheme (exactly one). A donor's records are its own; only the
/// secretariat names `donorId`.
#[derive(InputObject, Default)]
pub struct FundingInput {
    pub practice_id: Option<ID>,
    pub scheme_id: Option<ID>,
    pub donor_id: Option<ID>,
    pub amount: Option<Decimal>,
    /// ISO 4217 code (legacy euro currencies such as NLG included).
    pub currency: Option<String>,
    pub year: Option<i32>,
    pub status: Option<FundingStatus>,
    pub source_type: Option<FundingSource>,
    pub source_name: Option<String>,
    /// Hides the amount from everyone but the donor and the secretariat.
    pub confidential: Option<bool>,
    pub note: Option<String>,
}

impl FundingInput {
    fn into_domain(self) -> async_graphql::Result<e::FundingInput> {
        Ok(e::FundingInput {
            practice_id: self
                .practice_id
                .as_ref()
                .map(|i| parse_id("practiceId", i))
                .transpose()?,
            scheme_id: self
                .scheme_id
                .as_ref()
                .map(|i| parse_id("schemeId", i))
                .transpose()?,
            donor_id: self
                .donor_id
                .as_ref()
                .map(|i| parse_id("donorId", i))
                .transpose()?,
            amount: self.amount,
            currency: self.currency,
            year: self.year,
            status: self.status.map(Into::into),
            source_type: self.source_type.map(Into::into),
            source_name: self.source_name,
            confidential: self.confidential,
            note: self.note,
        })
    }
}

#[derive(InputObject, Default)]
pub struct NeedInput {
    /// The city asking; a practitioner's own city by default.
    pub city_id: Option<ID>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub themes: Option<Vec<Theme>>,
    pub management_focus: Option<Vec<ManagementFocus>>,
    pub modality: Option<LinkingModality>,
    pub support_modalities: Option<Vec<SupportModality>>,
    pub amount_required: Option<Decimal>,
    pub amount_required_currency: Option<String>,
}

impl NeedInput {
    fn into_domain(self) -> async_graphql::Result<e::NeedInput> {
        Ok(e::NeedInput {
            city_id: self
                .city_id
                .as_ref()
                .map(|i| parse_id("cityId", i))
                .transpose()?,
            themes: self.themes.as_ref().map(|_| into_domain(&self.themes)),
            management_focus: self
                .management_focus
                .as_ref()
                .map(|_| into_domain(&self.management_focus)),
            support_modalities: self
                .support_modalities
                .as_ref()
                .map(|_| into_domain(&self.support_modalities)),
            modality: self.modality.map(Into::into),
            title: self.title,
            description: self.description,
            source: self.source,
            amount_required: self.amount_required,
            amount_required_currency: self.amount_required_currency,
        })
    }
}

#[derive(InputObject, Default)]
pub struct CityInput {
    pub name: Option<String>,
    pub kind: Option<CityKind>,
    pub country_code: Option<String>,
    pub population: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl From<CityInput> for e::CityInput {
    fn from(i: CityInput) -> Self {
        e::CityInput {
            name: i.name,
            kind: i.kind.map(Into::into),
            country_code: i.country_code,
            population: i.population,
            latitude: i.latitude,
            longitude: i.longitude,
        }
    }
}

#[derive(InputObject, Default)]
pub struct AssociationInput {
    pub name: Option<String>,
    pub acronym: Option<String>,
    pub scope: Option<AssociationScope>,
    pub country_code: Option<String>,
    pub description: Option<String>,
}

#[derive(InputObject, Default)]
pub struct AgendaInput {
    pub themes: Option<Vec<Theme>>,
    pub orientations: Option<Vec<GeographicOrientation>>,
    pub country_codes: Option<Vec<String>>,
}

#[derive(InputObject, Default)]
pub struct DonorInput {
    pub name: Option<String>,
    pub acronym: Option<String>,
    pub kind: Option<DonorKind>,
    pub country_code: Option<String>,
    pub description: Option<String>,
    pub agenda: Option<AgendaInput>,
}

/// The USD value of one unit of a currency, at which new funding records are converted.
#[derive(SimpleObject)]
pub struct CurrencyRate {
    /// ISO 4217 code.
    currency: String,
    usd_per_unit: Decimal,
    /// The date the rate is for (YYYY-MM-DD).
    as_of: String,
    source: String,
}

impl From<domain::entities::CurrencyRate> for CurrencyRate {
    fn from(r: domain::entities::CurrencyRate) -> Self {
        CurrencyRate {
            currency: r.currency,
            usd_per_unit: r.usd_per_unit,
            as_of: r.as_of,
            source: r.source,
        }
    }
}

#[derive(Default)]
pub struct EditMutation;

#[Object]
impl EditMutation {
    /// ADMIN: sets a currency's USD rate. Funding recorded earlier keeps the rate it was converted at.
    async fn set_currency_rate(
        &self,
        ctx: &Context<'_>,
        currency: String,
        usd_per_unit: Decimal,
        #[graphql(desc = "YYYY-MM-DD")] as_of: String,
        source: String,
    ) -> async_graphql::Result<CurrencyRate> {
        Ok(editor(ctx)
            .set_currency_rate(actor(ctx), &currency, usd_per_unit, &as_of, &source)
            .await
            .api()?
            .into())
    }

    /// A new practice, as a DRAFT owned by the caller's organisation.
    async fn create_practice(
        &self,
        ctx: &Context<'_>,
        input: PracticeInput,
    ) -> async_graphql::Result<Practice> {
        Ok(Practice(
            editor(ctx)
                .create_practice(actor(ctx), input.into_domain()?)
                .await
                .api()?,
        ))
    }

    async fn update_practice(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: PracticeInput,
    ) -> async_graphql::Result<Practice> {
        let id = parse_id("id", &id)?;
        Ok(Practice(
            editor(ctx)
                .update_practice(actor(ctx), id, version, input.into_domain()?)
                .await
                .api()?,
        ))
    }

    /// Makes a practice part of the public base.
    async fn publish_practice(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<Practice> {
        let id = parse_id("id", &id)?;
        Ok(Practice(
            editor(ctx)
                .set_practice_status(
                    actor(ctx),
                    id,
                    version,
                    domain::framework::PublicationStatus::Published,
                )
                .await
                .api()?,
        ))
    }

    /// Withdraws a practice from the public base, keeping its record.
    async fn archive_practice(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<Practice> {
        let id = parse_id("id", &id)?;
        Ok(Practice(
            editor(ctx)
                .set_practice_status(
                    actor(ctx),
                    id,
                    version,
                    domain::framework::PublicationStatus::Archived,
                )
                .await
                .api()?,
        ))
    }

    /// A new support scheme, as a DRAFT operated by the caller's association.
    async fn create_support_scheme(
        &self,
        ctx: &Context<'_>,
        input: SupportSchemeInput,
    ) -> async_graphql::Result<SupportScheme> {
        Ok(SupportScheme(
            editor(ctx)
                .create_scheme(actor(ctx), input.into())
                .await
                .api()?,
        ))
    }

    async fn update_support_scheme(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: SupportSchemeInput,
    ) -> async_graphql::Result<SupportScheme> {
        let id = parse_id("id", &id)?;
        Ok(SupportScheme(
            editor(ctx)
                .update_scheme(actor(ctx), id, version, input.into())
                .await
                .api()?,
        ))
    }

    async fn publish_support_scheme(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<SupportScheme> {
        let id = parse_id("id", &id)?;
        Ok(SupportScheme(
            editor(ctx)
                .set_scheme_status(
                    actor(ctx),
                    id,
                    version,
                    domain::framework::PublicationStatus::Published,
                )
                .await
                .api()?,
        ))
    }

    /// Records that a scheme supports a practice (linking twice is harmless).
    async fn link_scheme_to_practice(
        &self,
        ctx: &Context<'_>,
        scheme_id: ID,
        practice_id: ID,
    ) -> async_graphql::Result<bool> {
        let scheme_id = parse_id("schemeId", &scheme_id)?;
        let practice_id = parse_id("practiceId", &practice_id)?;
        editor(ctx)
            .link_scheme_to_practice(actor(ctx), scheme_id, practice_id)
            .await
            .api()?;
        Ok(true)
    }

    /// Money to a practice or a scheme, converted to USD at the stored rate, which is frozen on
    /// the record.
    async fn record_funding(
        &self,
        ctx: &Context<'_>,
        input: FundingInput,
    ) -> async_graphql::Result<Funding> {
        Ok(Funding(
            editor(ctx)
                .record_funding(actor(ctx), input.into_domain()?)
                .await
                .api()?,
        ))
    }

    async fn update_funding(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: FundingInput,
    ) -> async_graphql::Result<Funding> {
        let id = parse_id("id", &id)?;
        Ok(Funding(
            editor(ctx)
                .update_funding(actor(ctx), id, version, input.into_domain()?)
                .await
                .api()?,
        ))
    }

    /// A city's new need, as a DRAFT.
    async fn create_need(
        &self,
        ctx: &Context<'_>,
        input: NeedInput,
    ) -> async_graphql::Result<Need> {
        Ok(Need(
            editor(ctx)
                .create_need(actor(ctx), input.into_domain()?)
                .await
                .api()?,
        ))
    }

    async fn update_need(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: NeedInput,
    ) -> async_graphql::Result<Need> {
        let id = parse_id("id", &id)?;
        Ok(Need(
            editor(ctx)
                .update_need(actor(ctx), id, version, input.into_domain()?)
                .await
                .api()?,
        ))
    }

    async fn publish_need(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
    ) -> async_graphql::Result<Need> {
        let id = parse_id("id", &id)?;
        Ok(Need(
            editor(ctx)
                .set_need_publication(
                    actor(ctx),
                    id,
                    version,
                    domain::framework::PublicationStatus::Published,
                )
                .await
                .api()?,
        ))
    }

    /// OPEN, MATCHED or CLOSED: set by support providers and by the city.
    async fn set_need_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        status: NeedStatus,
    ) -> async_graphql::Result<Need> {
        let id = parse_id("id", &id)?;
        Ok(Need(
            editor(ctx)
                .set_need_status(actor(ctx), id, version, status.into())
                .await
                .api()?,
        ))
    }

    async fn create_city(
        &self,
        ctx: &Context<'_>,
        input: CityInput,
    ) -> async_graphql::Result<City> {
        Ok(City(
            editor(ctx)
                .create_city(actor(ctx), input.into())
                .await
                .api()?,
        ))
    }

    async fn update_city(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: CityInput,
    ) -> async_graphql::Result<City> {
        let id = parse_id("id", &id)?;
        Ok(City(
            editor(ctx)
                .update_city(actor(ctx), id, version, input.into())
                .await
                .api()?,
        ))
    }

    async fn update_association(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: AssociationInput,
    ) -> async_graphql::Result<Association> {
        let id = parse_id("id", &id)?;
        let input = e::AssociationInput {
            name: input.name,
            acronym: input.acronym,
            scope: input.scope.map(Into::into),
            country_code: input.country_code,
            description: input.description,
        };
        Ok(Association(
            editor(ctx)
                .update_association(actor(ctx), id, version, input)
                .await
                .api()?,
        ))
    }

    async fn update_donor(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: DonorInput,
    ) -> async_graphql::Result<Donor> {
        let id = parse_id("id", &id)?;
        let agenda = input.agenda.unwrap_or_default();
        let input = e::DonorInput {
            name: input.name,
            acronym: input.acronym,
            kind: input.kind.map(Into::into),
            country_code: input.country_code,
            description: input.description,
            agenda_themes: agenda.themes.as_ref().map(|_| into_domain(&agenda.themes)),
            agenda_orientations: agenda
                .orientations
                .as_ref()
                .map(|_| into_domain(&agenda.orientations)),
            agenda_country_codes: agenda.country_codes,
        };
        Ok(Donor(
            editor(ctx)
                .update_donor(actor(ctx), id, version, input)
                .await
                .api()?,
        ))
    }
}

#[derive(MergedObject, Default)]
pub struct Mutation(AccountMutation, EditMutation);

/// One change to the base: who made it, when, and which fields it set.
#[derive(SimpleObject)]
pub struct AuditEntry {
    id: ID,
    at: DateTime<Utc>,
    actor_user_id: Option<ID>,
    action: String,
    entity: String,
    entity_id: ID,
    changed_fields: Vec<String>,
}

impl From<audit::AuditEntry> for AuditEntry {
    fn from(a: audit::AuditEntry) -> Self {
        AuditEntry {
            id: id(a.id),
            at: a.at,
            actor_user_id: a.actor_user_id.map(id),
            action: a.action,
            entity: a.entity,
            entity_id: id(a.entity_id),
            changed_fields: a.changes,
        }
    }
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Practice, SupportScheme, Funding, Need, City, Association, Donor or User.
    pub entity: Option<String>,
    pub entity_id: Option<ID>,
    pub actor_user_id: Option<ID>,
    pub action: Option<String>,
}

#[derive(Default)]
pub struct AuditQuery;

/// `totalCount` of the audit log, counted lazily like the other connections.
pub struct AuditCount(DomainAuditFilter);

#[Object]
impl AuditCount {
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        editor(ctx)
            .count_audit(actor(ctx), self.0.clone())
            .await
            .api()
    }
}

#[Object]
impl AuditQuery {
    /// The rate table new funding records are converted to USD at.
    async fn currency_rates(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CurrencyRate>> {
        Ok(editor(ctx)
            .currency_rates()
            .await
            .api()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// ADMIN: the changes made to the base, newest first.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<async_graphql::connection::Connection<String, AuditEntry, AuditCount>>
    {
        let page = page_request(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = DomainAuditFilter {
            entity: f.entity,
            entity_id: f
                .entity_id
                .as_ref()
                .map(|i| parse_id("entityId", i))
                .transpose()?,
            actor_user_id: f
                .actor_user_id
                .as_ref()
                .map(|i| parse_id("actorUserId", i))
                .transpose()?,
            action: f.action,
        };
        let items = editor(ctx)
            .audit_log(actor(ctx), filter.clone(), page)
            .await
            .api()?;
        let mut conn = async_graphql::connection::Connection::with_additional_fields(
            false,
            items.has_next_page,
            AuditCount(filter),
        );
        conn.edges.extend(
            items
                .items
                .into_iter()
                .map(|a| async_graphql::connection::Edge::new(cursor(a.id), AuditEntry::from(a))),
        );
        Ok(conn)
    }
}
