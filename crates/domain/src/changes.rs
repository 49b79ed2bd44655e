//! The change feed: every create, update, publish and archive of a versioned record, in the order
//! the writes committed, so that mirrors, search indexes and caches follow the base without
//! reading it again. The storage writes one [`Change`] in the transaction of each save; which
//! changes a follower is shown is [`policy::change_feed_visibility`]'s to say.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::entities::Id;
use crate::framework::{PublicationStatus, vocabulary};
use crate::page::{Page, PageRequest};
use crate::{Actor, Result, Visibility, policy};

vocabulary! {
    /// What a save did to the record. A change of publication status is named after where the
    /// record went; every other save of an existing record is an update.
    ChangeKind {
        Created = "CREATED", Updated = "UPDATED", Published = "PUBLISHED",
        Unpublished = "UNPUBLISHED", Archived = "ARCHIVED",
    }
}

impl ChangeKind {
    /// The kind of a save: `before` is None for a new record, else the stored publication status
    /// (None inside for records that have none); `after` the status the save left.
    pub fn of(
        before: Option<Option<PublicationStatus>>,
        after: Option<PublicationStatus>,
    ) -> ChangeKind {
        match before {
            None => ChangeKind::Created,
            Some(was) if was == after => ChangeKind::Updated,
            Some(_) => match after {
                Some(PublicationStatus::Published) => ChangeKind::Published,
                Some(PublicationStatus::Archived) => ChangeKind::Archived,
                Some(PublicationStatus::Draft) => ChangeKind::Unpublished,
                None => ChangeKind::Updated,
            },
        }
    }
}

/// One entry of the feed. `seq` is the position in commit order the cursor is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub seq: i64,
    /// Practice, SupportScheme, Funding, Need, City, Association or Donor (the audit trail's
    /// names).
    pub record_type: String,
    pub record_id: Id,
    /// The record's version after the change.
    pub version: i32,
    pub kind: ChangeKind,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait ChangeRepository: Send + Sync {
    /// The changes after `page.after` (a `seq`) in commit order, of the records `vis` may read
    /// now, and the withdrawals [`policy::shows_withdrawal`] lets everyone see.
    async fn changes(&self, vis: &Visibility, page: PageRequest) -> Result<Page<Change>>;
}

#[derive(Clone)]
pub struct ChangeFeed {
    repo: Arc<dyn ChangeRepository>,
}

impl ChangeFeed {
    pub fn new(repo: Arc<dyn ChangeRepository>) -> Self {
        ChangeFeed { repo }
    }

    pub async fn changes(&self, actor: &Actor, page: PageRequest) -> Result<Page<Change>> {
        self.repo
            .changes(&policy::change_feed_visibility(actor), page)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PublicationStatus::*;

    #[test]
    fn a_save_is_named_after_what_it_did_to_the_status() {
        assert_eq!(ChangeKind::of(None, Some(Draft)), ChangeKind::Created);
        assert_eq!(ChangeKind::of(None, None), ChangeKind::Created);
        assert_eq!(
            ChangeKind::of(Some(Some(Draft)), Some(Draft)),
            ChangeKind::Updated
        );
        assert_eq!(ChangeKind::of(Some(None), None), ChangeKind::Updated);
        assert_eq!(
            ChangeKind::of(Some(Some(Draft)), Some(Published)),
            ChangeKind::Published
        );
        assert_eq!(
            ChangeKind::of(Some(Some(Published)), Some(Archived)),
            ChangeKind::Archived
        );
        assert_eq!(
            ChangeKind::of(Some(Some(Published)), Some(Draft)),
            ChangeKind::Unpublished
        );
    }
}
