//! Funding records: who may see them, and the rows one is saved as.

use domain::entities::*;
use domain::{Result, Visibility};
use sea_orm::*;

use crate::entities::funding;
use crate::mapping;
use crate::query::{
    practice_visible_at, scheme_visible_at, visible_practice_ids, visible_scheme_ids,
};
use crate::rollup::Touched;
use crate::store::SeaStore;
use crate::versioned::{Versioned, stored, text, versioned_as};

/// Funding records the viewer may see: those not attached to a practice or scheme it may not see.
pub(crate) fn funding_visible(vis: &Visibility) -> Condition {
    use crate::entities::funding::Column as F;
    if *vis == Visibility::Everything {
        return Condition::all();
    }
    // Correlated EXISTS, not `IN (SELECT id …)`: under the OR, PostgreSQL would hash every
    // visible practice and scheme on each statement (see `practice_visible_at`).
    Condition::all()
        .add(
            Condition::any()
                .add(F::PracticeId.is_null())
                .add(practice_visible_at((funding::Entity, F::PracticeId), vis)),
        )
        .add(scheme_part_visible(vis))
}

/// The same test as [`funding_visible`] written with `IN (SELECT id …)`, for the statements that
/// read all of a donor's or scheme's funding anyway (a nested page's numbering, its count): over
/// that many records one hash of the visible practices costs less than a probe per record.
pub(crate) fn funding_visible_hashed(vis: &Visibility) -> Condition {
    use crate::entities::funding::Column as F;
    if *vis == Visibility::Everything {
        return Condition::all();
    }
    Condition::all()
        .add(
            Condition::any()
                .add(F::PracticeId.is_null())
                .add(F::PracticeId.in_subquery(visible_practice_ids(vis))),
        )
        .add(
            Condition::any()
                .add(F::SchemeId.is_null())
                .add(F::SchemeId.in_subquery(visible_scheme_ids(vis))),
        )
}

/// The scheme a funding record names, if any, is one the viewer may see.
pub(crate) fn scheme_part_visible(vis: &Visibility) -> Condition {
    use crate::entities::funding::Column as F;
    if *vis == Visibility::Everything {
        return Condition::all();
    }
    Condition::any()
        .add(F::SchemeId.is_null())
        .add(scheme_visible_at((funding::Entity, F::SchemeId), vis))
}

/// The funding record with its amount in USD cents, as a change needs it.
pub(crate) async fn by_id(store: &SeaStore, id: Id) -> Result<Option<(Funding, Option<i64>)>> {
    match stored::<funding::Entity>(store, id).await? {
        Some(m) => {
            let cents = m.amount_usd_cents;
            Ok(Some((mapping::funding(m)?, cents)))
        }
        None => Ok(None),
    }
}

/// A funding record as saved: the record and its amount in USD cents.
pub(crate) struct FundingRow<'a> {
    pub(crate) funding: &'a Funding,
    pub(crate) usd_cents: Option<i64>,
}

impl Versioned for FundingRow<'_> {
    versioned_as!(funding::Entity => Funding, "Funding", id: funding.id);

    fn row(&self) -> funding::ActiveModel {
        let f = self.funding;
        funding::ActiveModel {
            source_name: Set(f.source_name.clone()),
            source_type: Set(f.source_type.as_str().into()),
            amount: Set(text(f.amount)),
            currency: Set(f.currency.clone()),
            rate: Set(f.rate.normalize().to_string()),
            rate_source: Set(f.rate_source.clone()),
            amount_usd_cents: Set(self.usd_cents),
            year: Set(f.year),
            status: Set(f.status.as_str().into()),
            confidential: Set(f.confidential),
            note: Set(f.note.clone()),
            ..Default::default()
        }
    }

    /// What the money is for and who gives it are fixed once recorded.
    fn creation(&self, row: &mut funding::ActiveModel) {
        let f = self.funding;
        row.practice_id = Set(f.practice_id);
        row.scheme_id = Set(f.scheme_id);
        row.donor_id = Set(f.donor_id);
        row.source_city_id = Set(f.source_city_id);
    }

    fn touched(&self, _creating: bool) -> Option<Touched> {
        Some(Touched::PracticeOfFunding(
            self.funding.practice_id.into_iter().collect(),
        ))
    }

    fn saved(model: funding::Model) -> Result<Funding> {
        mapping::funding(model)
    }
}
