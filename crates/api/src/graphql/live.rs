//! The subscription root: live updates over WebSocket (see [`crate::subscriptions`]).
//!
//! Every field follows the process's [`EventHub`] and, for each event, reads the record again as
//! the subscriber through one `Catalog` call, which applies the read rules of the queries: drafts
//! the subscriber may not read are not delivered, and confidential funding amounts arrive
//! redacted. A subscriber that falls [`crate::config::SubscriptionSettings::lag`] events behind
//! loses the oldest it has not read and carries on (logged at WARN): live updates are a hint to
//! refresh, the change feed (`changes`) is the complete record.

use std::future::Future;
use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Subscription};
use domain::events::{Event, NeedWatch, PracticeWatch};
use domain::{Actor, Error};
use futures_util::Stream;
use persistence::events::EventHub;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use super::enums::{Theme, into_domain};
use super::funding::Funding;
use super::ids::{Kind, parse_id, parse_opt_id};
use super::need::Need;
use super::practice::Practice;
use super::resolve::{actor, catalog};
use crate::error::ResultExt;

/// The subscriptions one connection may hold at once: each field takes one for as long as it
/// runs.
#[derive(Clone)]
pub struct SubscriptionSlots(pub Arc<Semaphore>);

/// Which newly published practices to be told of.
#[derive(InputObject, Default)]
pub struct PracticePublishedFilter {
    /// Practices with at least one of these themes.
    pub themes: Option<Vec<Theme>>,
    /// Practices this city takes part in.
    pub city_id: Option<ID>,
}

#[derive(Default)]
pub struct LiveSubscription;

#[Subscription(name = "Subscription")]
impl LiveSubscription {
    /// Practices as they are published (created published, or a draft published), that the
    /// subscriber may read and that match the filter.
    async fn practice_published(
        &self,
        ctx: &Context<'_>,
        filter: Option<PracticePublishedFilter>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Practice>> + use<>> {
        let filter = filter.unwrap_or_default();
        let watch = PracticeWatch {
            themes: into_domain(&filter.themes),
            city_id: parse_opt_id(Kind::City, "cityId", &filter.city_id)?,
        };
        let catalog = catalog(ctx).clone();
        follow(ctx, move |actor, event| {
            let (catalog, watch) = (catalog.clone(), watch.clone());
            async move {
                let Event::PracticePublished { id } = event else {
                    return Ok(None);
                };
                catalog.published_practice(&actor, id, &watch).await
            }
        })
    }

    /// Funding records as they are recorded, that the subscriber may read; of one practice when
    /// `practiceId` is given. A confidential amount is null for all but its donor and ADMIN.
    async fn funding_recorded(
        &self,
        ctx: &Context<'_>,
        practice_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Funding>> + use<>> {
        let practice_id = practice_id
            .map(|id| parse_id(Kind::Practice, "practiceId", &id))
            .transpose()?;
        let catalog = catalog(ctx).clone();
        follow(ctx, move |actor, event| {
            let catalog = catalog.clone();
            async move {
                let Event::FundingRecorded { id } = event else {
                    return Ok(None);
                };
                catalog.recorded_funding(&actor, id, practice_id).await
            }
        })
    }

    /// Needs as they are published while open, that the subscriber may read, with at least one
    /// of `themes` (any theme when none is given), of `cityId` when given.
    async fn need_opened(
        &self,
        ctx: &Context<'_>,
        themes: Option<Vec<Theme>>,
        city_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Need>> + use<>> {
        let watch = NeedWatch {
            themes: into_domain(&themes),
            city_id: parse_opt_id(Kind::City, "cityId", &city_id)?,
        };
        let catalog = catalog(ctx).clone();
        follow(ctx, move |actor, event| {
            let (catalog, watch) = (catalog.clone(), watch.clone());
            async move {
                let Event::NeedOpened { id } = event else {
                    return Ok(None);
                };
                catalog.opened_need(&actor, id, &watch).await
            }
        })
    }
}

/// The records `read` makes of the hub's events as the subscriber, holding one of the
/// connection's slots while it runs; RATE_LIMITED when the connection holds all of them.
fn follow<F, R, D, T>(
    ctx: &Context<'_>,
    read: F,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<T>> + use<F, R, D, T>>
where
    F: Fn(Actor, Event) -> R + Send + Sync + 'static,
    R: Future<Output = domain::Result<Option<D>>> + Send + 'static,
    D: Send + 'static,
    T: From<D> + Send + 'static,
{
    let slot = ctx
        .data_unchecked::<SubscriptionSlots>()
        .0
        .clone()
        .try_acquire_owned()
        .map_err(|_| Error::RateLimited)
        .api()?;
    let following = Following {
        events: ctx.data_unchecked::<EventHub>().subscribe(),
        actor: actor(ctx).clone(),
        read,
        _slot: slot,
    };
    Ok(futures_util::stream::unfold(
        following,
        |mut f| async move {
            loop {
                match f.events.recv().await {
                    Ok(event) => match (f.read)(f.actor.clone(), event).await {
                        Ok(Some(record)) => return Some((Ok(T::from(record)), f)),
                        Ok(None) => continue,
                        Err(e) => return Some((Err(e).api(), f)),
                    },
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "a subscriber fell behind and skipped events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    ))
}

struct Following<F> {
    events: broadcast::Receiver<Event>,
    actor: Actor,
    read: F,
    /// Given back when the subscription ends.
    _slot: OwnedSemaphorePermit,
}
