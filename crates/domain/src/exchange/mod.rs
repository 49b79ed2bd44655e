//! Exchange with the aid-data ecosystem: the information base as IATI 2.03 activities.
//!
//! [`Exchange::activities`] reads a keyset page of practices with everything an activity
//! carries, through the [`Catalog`] and so with the same read rules as every other read (drafts
//! for their organisation, confidential amounts for their donor); [`iati`] writes a page as XML.
//! Pages are read one after another, so an export of any size holds one page at a time.

pub mod codes;
pub mod iati;
pub mod import;
pub mod xml;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::entities::*;
use crate::page::PageRequest;
use crate::repository::{Link, Nested, PracticeFilter};
use crate::service::{Catalog, Tagged};
use crate::{Actor, Result};

/// Practices read per page of an export: few statements per page, and a page's records (a few
/// megabytes of XML at most) are all that is held at once.
pub const EXPORT_PAGE: u64 = 500;
/// Funding records read per practice per statement; a practice with more is read again after
/// the last one.
const FUNDING_PAGE: u64 = 200;

/// When a record entered the base and when it last changed: what storage knows beyond the
/// record itself.
#[async_trait]
pub trait RecordDates: Send + Sync {
    /// `(id, created, updated)` of these practices, in no particular order.
    async fn practice_dates(&self, ids: &[Id]) -> Result<Vec<(Id, DateTime<Utc>, DateTime<Utc>)>>;
}

/// A city taking part, with its role and country.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub city: City,
    pub role: crate::framework::CityRole,
    pub country: Option<Country>,
}

/// A funding record as the reader may see it, with who it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct FundingFlow {
    pub funding: Funding,
    pub donor: Option<Donor>,
    pub source_city: Option<City>,
}

/// A practice and everything its activity is written from, children in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord {
    pub practice: Practice,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub tags: Tags,
    /// Lead cities first, then partners, each by id.
    pub participants: Vec<Participant>,
    pub associations: Vec<Association>,
    pub partners: Vec<Partner>,
    pub funding: Vec<FundingFlow>,
    pub indicators: Vec<Indicator>,
}

impl ActivityRecord {
    /// The donors of the practice's funding, each once, by id.
    pub fn donors(&self) -> Vec<&Donor> {
        let mut by_id = BTreeMap::new();
        for flow in &self.funding {
            if let Some(d) = &flow.donor {
                by_id.insert(d.id, d);
            }
        }
        by_id.into_values().collect()
    }
}

#[derive(Clone)]
pub struct Exchange {
    catalog: Catalog,
    dates: Arc<dyn RecordDates>,
}

impl Exchange {
    pub fn new(catalog: Catalog, dates: Arc<dyn RecordDates>) -> Self {
        Exchange { catalog, dates }
    }

    /// The practices after `after` (by id) that `actor` may read, at most `size`, as activity
    /// records; the last one's id is the next page's `after`, and an empty page is the end.
    pub async fn activities(
        &self,
        actor: &Actor,
        filter: PracticeFilter,
        after: Option<Id>,
        size: u64,
    ) -> Result<Vec<ActivityRecord>> {
        let page = self
            .catalog
            .practices(actor, filter, PageRequest { first: size, after })
            .await?;
        let practices = page.items;
        if practices.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Id> = practices.iter().map(|p| p.id).collect();
        let c = &self.catalog;

        let dates: BTreeMap<Id, (DateTime<Utc>, DateTime<Utc>)> = self
            .dates
            .practice_dates(&ids)
            .await?
            .into_iter()
            .map(|(id, created, updated)| (id, (created, updated)))
            .collect();
        let mut tags: BTreeMap<Id, Tags> =
            c.tags(Tagged::Practice, &ids).await?.into_iter().collect();

        let roles = c.practice_cities(&ids).await?;
        let city_ids: Vec<Id> = unique(roles.iter().map(|r| r.city_id));
        let cities: BTreeMap<Id, City> = c
            .by_ids::<City>(actor, &city_ids)
            .await?
            .into_iter()
            .map(|x| (x.id, x))
            .collect();
        let codes: Vec<String> = cities
            .values()
            .map(|x| x.country_code.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let countries: BTreeMap<String, Country> = c
            .countries_by_codes(&codes)
            .await?
            .into_iter()
            .map(|x| (x.code.clone(), x))
            .collect();

        let association_links = c.links(Link::PracticeAssociations, &ids).await?;
        let association_ids = unique(association_links.iter().map(|(_, a)| *a));
        let associations: BTreeMap<Id, Association> = c
            .by_ids::<Association>(actor, &association_ids)
            .await?
            .into_iter()
            .map(|x| (x.id, x))
            .collect();

        let partners = c.partners(&ids).await?;
        let indicators = c.indicators(&ids).await?;
        let (funding, donors) = self.funding_of(actor, &ids).await?;
        let source_ids = unique(funding.iter().filter_map(|f| f.source_city_id));
        let source_cities: BTreeMap<Id, City> = c
            .by_ids::<City>(actor, &source_ids)
            .await?
            .into_iter()
            .map(|x| (x.id, x))
            .collect();

        let mut records: BTreeMap<Id, ActivityRecord> = BTreeMap::new();
        for practice in practices {
            let (created, updated) = dates
                .get(&practice.id)
                .copied()
                .unwrap_or((DateTime::UNIX_EPOCH, DateTime::UNIX_EPOCH));
            records.insert(
                practice.id,
                ActivityRecord {
                    tags: tags.remove(&practice.id).unwrap_or_default(),
                    practice,
                    created,
                    updated,
                    participants: Vec::new(),
                    associations: Vec::new(),
                    partners: Vec::new(),
                    funding: Vec::new(),
                    indicators: Vec::new(),
                },
            );
        }
        for role in roles {
            if let (Some(r), Some(city)) = (
                records.get_mut(&role.practice_id),
                cities.get(&role.city_id),
            ) {
                r.participants.push(Participant {
                    country: countries.get(&city.country_code).cloned(),
                    city: city.clone(),
                    role: role.role,
                });
            }
        }
        for (practice_id, association_id) in association_links {
            if let (Some(r), Some(a)) = (
                records.get_mut(&practice_id),
                associations.get(&association_id),
            ) {
                r.associations.push(a.clone());
            }
        }
        for p in partners {
            if let Some(r) = records.get_mut(&p.practice_id) {
                r.partners.push(p);
            }
        }
        for i in indicators {
            if let Some(r) = records.get_mut(&i.practice_id) {
                r.indicators.push(i);
            }
        }
        for f in funding {
            if let Some(r) = f.practice_id.and_then(|id| records.get_mut(&id)) {
                r.funding.push(FundingFlow {
                    donor: f.donor_id.and_then(|id| donors.get(&id).cloned()),
                    source_city: f
                        .source_city_id
                        .and_then(|id| source_cities.get(&id).cloned()),
                    funding: f,
                });
            }
        }
        let mut out: Vec<ActivityRecord> = records.into_values().collect();
        for r in &mut out {
            // Deterministic output whatever order the database answered in.
            r.participants
                .sort_by_key(|p| (p.role != crate::framework::CityRole::Lead, p.city.id));
            r.associations.sort_by_key(|a| a.id);
            r.associations.dedup_by_key(|a| a.id);
            r.partners.sort_by_key(|p| p.id);
            r.indicators.sort_by_key(|i| i.id);
            r.funding.sort_by_key(|f| f.funding.id);
        }
        Ok(out)
    }

    /// Every funding record of these practices that `actor` may see, confidential amounts
    /// hidden as [`Catalog::funding_page`] hides them, and the donors they name: each practice's
    /// first page read with the records and donors in one statement.
    async fn funding_of(
        &self,
        actor: &Actor,
        practice_ids: &[Id],
    ) -> Result<(Vec<Funding>, BTreeMap<Id, Donor>)> {
        let page = PageRequest {
            first: FUNDING_PAGE,
            after: None,
        };
        let mut rows = self
            .catalog
            .funding_page(actor, Nested::PracticeFunding, practice_ids, page)
            .await?;
        let mut funding = Vec::new();
        let mut donors = BTreeMap::new();
        loop {
            let mut per_parent: BTreeMap<Id, Vec<Funding>> = BTreeMap::new();
            for row in rows {
                if let Some(d) = row.donor {
                    donors
                        .entry(d.id)
                        .or_insert_with(|| Arc::unwrap_or_clone(d));
                }
                per_parent.entry(row.parent).or_default().push(row.record);
            }
            let mut more = Vec::new();
            for (parent, mut records) in per_parent {
                records.sort_unstable_by_key(|f| f.id);
                // A page holds one record beyond its size when there are more.
                if records.len() as u64 > FUNDING_PAGE {
                    records.truncate(FUNDING_PAGE as usize);
                    more.push((parent, records.last().map_or(0, |f| f.id)));
                }
                funding.extend(records);
            }
            // Rare: a practice with more records than a page holds is read on, one at a time.
            if more.is_empty() {
                break;
            }
            rows = Vec::new();
            for (p, after) in more {
                let next = PageRequest {
                    first: FUNDING_PAGE,
                    after: Some(after),
                };
                rows.extend(
                    self.catalog
                        .funding_page(actor, Nested::PracticeFunding, &[p], next)
                        .await?,
                );
            }
        }
        Ok((funding, donors))
    }
}

fn unique(ids: impl Iterator<Item = Id>) -> Vec<Id> {
    ids.collect::<BTreeSet<_>>().into_iter().collect()
}
