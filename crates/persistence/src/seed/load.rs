//! Loading the information base: one function per kind of record, in the order records refer to
//! each other, each validated into a domain record (`build`) and written by the row-building
//! code of its repository.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use domain::entities::Id;
use domain::{Error, Result};
use sea_orm::ActiveValue::Set;
use sea_orm::DatabaseTransaction;

use super::SeedReport;
use super::build::{Keys, Reference, at, lookup, remember};
use super::format::*;
use crate::entities::*;
use crate::funding::FundingRow;
use crate::profiles::DonorRow;
use crate::versioned::{Versioned, insert, insert_rows};

pub(super) struct Loader<'a> {
    pub(super) txn: &'a DatabaseTransaction,
    pub(super) reference: Reference,
    pub(super) now: DateTime<Utc>,
    pub(super) keys: Keys,
    pub(super) report: SeedReport,
}

/// The ids `keys` name, each once, in id order.
fn ids(
    map: &std::collections::HashMap<String, Id>,
    kind: &str,
    keys: &[String],
) -> Result<Vec<Id>> {
    let set = keys
        .iter()
        .map(|k| lookup(map, kind, k))
        .collect::<Result<BTreeSet<_>>>()?;
    Ok(set.into_iter().collect())
}

impl Loader<'_> {
    pub(super) async fn cities(&mut self, cities: &[SeedCity]) -> Result<()> {
        for c in cities {
            let place = format!("cities[{}]", c.key);
            let city = self.reference.city(c).map_err(at(&place))?;
            let id = insert(self.txn, &city, self.now).await?;
            remember(&mut self.keys.cities, &c.key, id, &place)?;
            self.keys
                .city_blocs
                .insert(id, self.reference.blocs[&city.country_code]);
            self.report.cities += 1;
        }
        Ok(())
    }

    /// The associations first, then their memberships, which may name any of them.
    pub(super) async fn associations(&mut self, associations: &[SeedAssociation]) -> Result<()> {
        for a in associations {
            let place = format!("associations[{}]", a.key);
            let association = self.reference.association(a).map_err(at(&place))?;
            let id = insert(self.txn, &association, self.now).await?;
            remember(&mut self.keys.associations, &a.key, id, &place)?;
            self.report.associations += 1;
        }
        for a in associations {
            let place = format!("associations[{}]", a.key);
            let id = self.keys.associations[&a.key];
            let cities = ids(&self.keys.cities, "city", &a.member_cities).map_err(at(&place))?;
            let rows = cities
                .into_iter()
                .map(|city_id| association_city::ActiveModel {
                    association_id: Set(id),
                    city_id: Set(city_id),
                })
                .collect();
            insert_rows::<association_city::Entity>(self.txn, rows).await?;
            let members = ids(
                &self.keys.associations,
                "association",
                &a.member_associations,
            )
            .map_err(at(&place))?;
            let rows = members
                .into_iter()
                .map(|member_id| association_member::ActiveModel {
                    association_id: Set(id),
                    member_id: Set(member_id),
                })
                .collect();
            insert_rows::<association_member::Entity>(self.txn, rows).await?;
        }
        Ok(())
    }

    pub(super) async fn donors(&mut self, donors: &[SeedDonor]) -> Result<()> {
        for d in donors {
            let place = format!("donors[{}]", d.key);
            let (donor, agenda) = self.reference.donor(d).map_err(at(&place))?;
            let row = DonorRow {
                donor: &donor,
                agenda: &agenda,
            };
            let id = insert(self.txn, &row, self.now).await?;
            remember(&mut self.keys.donors, &d.key, id, &place)?;
            self.report.donors += 1;
        }
        Ok(())
    }

    pub(super) async fn schemes(&mut self, schemes: &[SeedScheme]) -> Result<()> {
        for s in schemes {
            let place = format!("supportSchemes[{}]", s.key);
            let scheme = self.reference.scheme(s, &self.keys).map_err(at(&place))?;
            let id = insert(self.txn, &scheme, self.now).await?;
            remember(&mut self.keys.schemes, &s.key, id, &place)?;
            self.funding(&s.funding, None, Some(id), &place).await?;
            self.report.schemes += 1;
        }
        Ok(())
    }

    pub(super) async fn practices(&mut self, practices: &[SeedPractice]) -> Result<()> {
        for p in practices {
            let place = format!("practices[{}]", p.key);
            if p.themes.is_empty()
                || p.cooperating_parties.is_empty()
                || p.management_focus.is_empty()
            {
                return Err(Error::validation(
                    place,
                    "themes, cooperatingParties and managementFocus must each name a value",
                ));
            }
            let practice = self.reference.practice(p, &self.keys).map_err(at(&place))?;
            let id = insert(self.txn, &practice, self.now).await?;
            let schemes = ids(&self.keys.schemes, "scheme", &p.schemes).map_err(at(&place))?;
            let rows = schemes
                .into_iter()
                .map(|scheme_id| practice_scheme::ActiveModel {
                    practice_id: Set(id),
                    scheme_id: Set(scheme_id),
                })
                .collect();
            insert_rows::<practice_scheme::Entity>(self.txn, rows).await?;
            crate::practice::count_scheme_links(self.txn, Some(id)).await?;
            let partners = p
                .partners
                .iter()
                .map(|partner| {
                    let name = domain::values::bounded_text(
                        "partners.name",
                        &partner.name,
                        domain::values::limits::NAME,
                    );
                    Ok(practice_partner::ActiveModel {
                        practice_id: Set(id),
                        name: Set(name.map_err(at(&place))?),
                        kind: Set(partner.kind.as_str().into()),
                        ..Default::default()
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            insert_rows::<practice_partner::Entity>(self.txn, partners).await?;
            self.funding(&p.funding, Some(id), None, &place).await?;
            self.report.practices += 1;
        }
        Ok(())
    }

    pub(super) async fn needs(&mut self, needs: &[SeedNeed]) -> Result<()> {
        for n in needs {
            let place = format!("needs[{}]", n.key);
            let need = self.reference.need(n, &self.keys).map_err(at(&place))?;
            insert(self.txn, &need, self.now).await?;
            self.report.needs += 1;
        }
        Ok(())
    }

    /// The funding records of one practice or scheme, in one statement.
    async fn funding(
        &mut self,
        records: &[SeedFunding],
        practice_id: Option<Id>,
        scheme_id: Option<Id>,
        place: &str,
    ) -> Result<()> {
        let place = format!("{place}.funding");
        let mut rows = Vec::new();
        for f in records {
            let (mut funding, usd_cents) =
                self.reference.funding(f, &self.keys).map_err(at(&place))?;
            funding.practice_id = practice_id;
            funding.scheme_id = scheme_id;
            let row = FundingRow {
                funding: &funding,
                usd_cents,
            };
            rows.push(row.new_row(self.now)?);
        }
        self.report.funding += rows.len();
        insert_rows::<funding::Entity>(self.txn, rows).await
    }
}
