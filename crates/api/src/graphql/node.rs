//! Relay's object identification: the `Node` interface every record type implements, and
//! `node(id:)` / `nodes(ids:)` at the root, which refetch any record by its global id (see
//! [`super::ids`]). Each record is read as the typed roots and nested fields read it, through the
//! request's loaders (so that the ids of a `nodes` list are read with one statement per type)
//! or the account and audit services: a record the caller may not read is null, as it is to
//! `practice(id:)`.

use async_graphql::futures_util::future::try_join_all;
use async_graphql::{Context, ID, Interface, Object};

use super::account::{User, accounts};
use super::association::Association;
use super::audit::AuditEntry;
use super::city::City;
use super::donor::Donor;
use super::funding::Funding;
use super::ids::{Global, Kind};
use super::loaders::{
    AssociationKey, CityKey, DonorKey, FundingRecordKey, IndicatorsKey, NeedKey, PracticeKey,
    SchemeKey,
};
use super::need::Need;
use super::practice::{Indicator, Practice};
use super::relations::{held, one};
use super::resolve::{actor, editor};
use super::scheme::SupportScheme;
use crate::error::{ResultExt, validation};

/// How many ids one `nodes` reads at most: a page's worth.
pub const MAX_NODES: usize = domain::page::MAX_PAGE_SIZE as usize;

/// A record with a global id, which `node(id:)` answers.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The record's global id: opaque, unique across types, the same for every caller."
))]
pub enum Node {
    Practice(Practice),
    SupportScheme(SupportScheme),
    Funding(Funding),
    Need(Need),
    City(City),
    Association(Association),
    Donor(Donor),
    User(User),
    AuditEntry(AuditEntry),
    Indicator(Indicator),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any record by its global id; null when it does not exist or the caller may not read it.
    /// Something that is not a global id is `VALIDATION` on `id`.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        read(ctx, global("id", &id)?).await
    }

    /// Records by global id, at most 100, in the order of `ids`: null where `node` answers null.
    #[graphql(complexity = "super::cost::nodes(ids.len(), child_complexity)")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(validation(
                "ids",
                &format!("holds more than {MAX_NODES} ids"),
            ));
        }
        let globals = ids
            .iter()
            .map(|id| global("ids", id))
            .collect::<async_graphql::Result<Vec<_>>>()?;
        // Read together, the loaders batch them: one statement per type.
        try_join_all(globals.into_iter().map(|g| read(ctx, g))).await
    }
}

fn global(field: &str, id: &ID) -> async_graphql::Result<Global> {
    Global::decode(id).ok_or_else(|| validation(field, "is not a global id of this API"))
}

async fn read(ctx: &Context<'_>, global: Global) -> async_graphql::Result<Option<Node>> {
    let id = global.id;
    match global.kind {
        Kind::Practice => one(ctx, PracticeKey(id), |r| Node::Practice(Practice(r))).await,
        Kind::SupportScheme => {
            one(ctx, SchemeKey(id), |r| {
                Node::SupportScheme(SupportScheme(r))
            })
            .await
        }
        Kind::Funding => one(ctx, FundingRecordKey(id), |r| Node::Funding(r.into())).await,
        Kind::Need => one(ctx, NeedKey(id), |r| Node::Need(Need(r))).await,
        Kind::City => one(ctx, CityKey(id), |r| Node::City(City(r))).await,
        Kind::Association => {
            one(ctx, AssociationKey(id), |r| {
                Node::Association(Association(r))
            })
            .await
        }
        Kind::Donor => one(ctx, DonorKey(id), |r| Node::Donor(Donor(r))).await,
        Kind::User => Ok(accounts(ctx)
            .user_as_read_by(actor(ctx), id)
            .await
            .api()?
            .map(|u| Node::User(User(u)))),
        Kind::AuditEntry => Ok(editor(ctx)
            .audit_entry(actor(ctx), id)
            .await
            .api()?
            .map(|e| Node::AuditEntry(AuditEntry(e)))),
        // An indicator is read with its practice, by those who may read the practice.
        Kind::Indicator => {
            let Some(practice) = global.owner else {
                return Ok(None);
            };
            if one(ctx, PracticeKey(practice), |_| ()).await?.is_none() {
                return Ok(None);
            }
            let indicators = held(ctx, IndicatorsKey(practice)).await?;
            Ok(indicators
                .into_iter()
                .find(|i| i.id == id)
                .map(|i| Node::Indicator(Indicator(i))))
        }
    }
}
