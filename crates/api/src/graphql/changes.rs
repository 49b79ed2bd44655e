//! The change feed on the wire: `changes(after, first)`, every save of a record the caller may
//! read, in commit order (see `domain::changes`).

use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::changes as c;

use super::connection::{connection, page_complexity, page_request};
use super::ids::{IdCursor, cursor, id_of_named};
use crate::error::ResultExt;

/// What a save did to the record.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "c::ChangeKind")]
pub enum ChangeKind {
    Created,
    Updated,
    Published,
    Unpublished,
    Archived,
}

/// One save of a record: read the record by its type and id to see what it now is.
#[derive(SimpleObject)]
pub struct Change {
    /// Practice, SupportScheme, Funding, Need, City, Association or Donor.
    record_type: String,
    /// The record's global id, for `node(id:)`.
    record_id: ID,
    /// The record's version after the change.
    version: i32,
    kind: ChangeKind,
    at: DateTime<Utc>,
    /// Where to start the next read to get the changes after this one.
    cursor: String,
}

impl From<c::Change> for Change {
    fn from(c: c::Change) -> Self {
        Change {
            cursor: cursor(c.seq),
            record_id: id_of_named(&c.record_type, c.record_id),
            record_type: c.record_type,
            version: c.version,
            kind: c.kind.into(),
            at: c.at,
        }
    }
}

pub type ChangeConnection = Connection<IdCursor, Change, EmptyFields, EmptyFields>;

#[derive(Default)]
pub struct ChangeQuery;

#[Object]
impl ChangeQuery {
    /// Every create, update, publish and archive of the records the caller may read now, in the
    /// order the writes committed. Follow `pageInfo.endCursor` with `after`: no change is skipped
    /// or given twice. A draft's changes appear once the caller may read it; a withdrawal
    /// (archive, back to draft) of a published record is shown to everyone.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, at most 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ChangeConnection> {
        let page = page_request(first, after)?;
        let feed = ctx.data_unchecked::<c::ChangeFeed>();
        let changes = feed.changes(super::resolve::actor(ctx), page).await.api()?;
        Ok(connection(changes, |c| c.seq, Change::from, EmptyFields))
    }
}
