//! Live updates: what a subscriber is told of, and what of it each subscriber may see.
//!
//! An [`Event`] is derived from an entry of the change log (see [`crate::changes`]) once its
//! save has committed, so an event is never sent for a write that was rolled back. The event
//! only names the record; each subscriber then reads it again as itself through the
//! [`Catalog`], under the same rules as its queries: a record it may not read, or one that no
//! longer matches (published, then taken back before the subscriber read it), is not delivered,
//! and confidential funding amounts come back redacted for everyone but their donor and ADMIN.

use crate::changes::ChangeKind;
use crate::entities::{Funding, Id, Need, Practice};
use crate::framework::{NeedStatus, PublicationStatus, Theme};
use crate::service::{Catalog, Tagged};
use crate::{Actor, Result};

/// Something a subscriber may be told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A practice entered the published base (created published, or published later).
    PracticePublished { id: Id },
    /// A funding record was created.
    FundingRecorded { id: Id },
    /// A need entered the published base.
    NeedOpened { id: Id },
}

impl Event {
    /// The event a change-log entry makes, if any: the record's type as the log names it, its
    /// id, what the save did, and the publication status the save left.
    pub fn from_change(
        record_type: &str,
        id: Id,
        kind: ChangeKind,
        status: Option<&str>,
    ) -> Option<Event> {
        let published = status == Some(PublicationStatus::Published.as_str());
        let entered_published_base =
            (kind == ChangeKind::Created && published) || kind == ChangeKind::Published;
        match record_type {
            "Practice" if entered_published_base => Some(Event::PracticePublished { id }),
            "Need" if entered_published_base => Some(Event::NeedOpened { id }),
            "Funding" if kind == ChangeKind::Created => Some(Event::FundingRecorded { id }),
            _ => None,
        }
    }
}

/// Which published practices a subscriber wants; empty fields match every practice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PracticeWatch {
    /// Practices carrying at least one of these themes.
    pub themes: Vec<Theme>,
    /// Practices this city takes part in.
    pub city_id: Option<Id>,
}

/// Which opened needs a subscriber wants; empty fields match every need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NeedWatch {
    /// Needs carrying at least one of these themes.
    pub themes: Vec<Theme>,
    pub city_id: Option<Id>,
}

/// Whether a record tagged `tagged` carries one of the `wanted` themes (any, when none is wanted).
pub fn themes_match(wanted: &[Theme], tagged: &[Theme]) -> bool {
    wanted.is_empty() || wanted.iter().any(|t| tagged.contains(t))
}

impl Catalog {
    async fn themes_of(&self, of: Tagged, id: Id) -> Result<Vec<Theme>> {
        Ok(self
            .tags(of, &[id])
            .await?
            .into_iter()
            .find(|(tagged, _)| *tagged == id)
            .map(|(_, tags)| tags.themes)
            .unwrap_or_default())
    }

    /// Practice `id` as `actor` reads it, when it is published and matches `watch`.
    pub async fn published_practice(
        &self,
        actor: &Actor,
        id: Id,
        watch: &PracticeWatch,
    ) -> Result<Option<Practice>> {
        let Some(practice) = self.practices_by_ids(actor, &[id]).await?.pop() else {
            return Ok(None);
        };
        if practice.status != PublicationStatus::Published
            || !themes_match(&watch.themes, &self.themes_of(Tagged::Practice, id).await?)
        {
            return Ok(None);
        }
        if let Some(city) = watch.city_id {
            let cities = self.practice_cities(&[id]).await?;
            if !cities
                .iter()
                .any(|c| c.practice_id == id && c.city_id == city)
            {
                return Ok(None);
            }
        }
        Ok(Some(practice))
    }

    /// Funding record `id` as `actor` reads it (amounts redacted as in every read), when it
    /// funds `practice_id` (any record when None).
    pub async fn recorded_funding(
        &self,
        actor: &Actor,
        id: Id,
        practice_id: Option<Id>,
    ) -> Result<Option<Funding>> {
        let funding = self.funding_by_ids(actor, &[id]).await?.pop();
        Ok(funding.filter(|f| practice_id.is_none() || f.practice_id == practice_id))
    }

    /// Need `id` as `actor` reads it, when it is published, open and matches `watch`.
    pub async fn opened_need(
        &self,
        actor: &Actor,
        id: Id,
        watch: &NeedWatch,
    ) -> Result<Option<Need>> {
        let Some(need) = self.needs_by_ids(actor, &[id]).await?.pop() else {
            return Ok(None);
        };
        let wanted = need.publication == PublicationStatus::Published
            && need.status == NeedStatus::Open
            && watch.city_id.is_none_or(|city| city == need.city_id)
            && themes_match(&watch.themes, &self.themes_of(Tagged::Need, id).await?);
        Ok(wanted.then_some(need))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_entering_the_published_base_makes_a_publication_event() {
        use ChangeKind::*;
        let of = |t, k, s| Event::from_change(t, 7, k, s);
        assert_eq!(
            of("Practice", Published, Some("PUBLISHED")),
            Some(Event::PracticePublished { id: 7 })
        );
        assert_eq!(
            of("Practice", Created, Some("PUBLISHED")),
            Some(Event::PracticePublished { id: 7 })
        );
        assert_eq!(of("Practice", Created, Some("DRAFT")), None);
        assert_eq!(of("Practice", Updated, Some("PUBLISHED")), None);
        assert_eq!(of("Practice", Archived, Some("ARCHIVED")), None);
        assert_eq!(
            of("Need", Published, Some("PUBLISHED")),
            Some(Event::NeedOpened { id: 7 })
        );
        assert_eq!(of("Need", Created, Some("DRAFT")), None);
        assert_eq!(
            of("Funding", Created, None),
            Some(Event::FundingRecorded { id: 7 })
        );
        assert_eq!(of("Funding", Updated, None), None);
        assert_eq!(of("City", Created, None), None);
    }

    #[test]
    fn no_wanted_theme_matches_every_record() {
        assert!(themes_match(&[], &[]));
        assert!(themes_match(
            &[Theme::ALL[0]],
            &[Theme::ALL[1], Theme::ALL[0]]
        ));
        assert!(!themes_match(&[Theme::ALL[0]], &[Theme::ALL[1]]));
        assert!(!themes_match(&[Theme::ALL[0]], &[]));
    }
}
