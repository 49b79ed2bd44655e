//! What a resolver takes from the request (the actor, the services, the loaders), and the one
//! shape every mutation has.

use std::future::Future;

use async_graphql::Context;
use domain::Actor;
use domain::editing::Editor;
use domain::service::Catalog;

use super::loaders::Loaders;
use crate::error::ResultExt;

pub fn actor<'a>(ctx: &Context<'a>) -> &'a Actor {
    ctx.data_unchecked::<Actor>()
}

pub fn catalog<'a>(ctx: &Context<'a>) -> &'a Catalog {
    ctx.data_unchecked::<Catalog>()
}

pub fn editor<'a>(ctx: &Context<'a>) -> &'a Editor {
    ctx.data_unchecked::<Editor>()
}

pub fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}

/// A mutation: the caller and the already parsed input go to one `Editor` call, which decides
/// authorization and validity and writes the audit entry; the record it returns becomes the
/// output type. Inputs are parsed before the call so that a malformed id is reported before
/// anything is asked of the service.
pub async fn edit<'a, T, O, F>(
    ctx: &Context<'a>,
    call: impl FnOnce(&'a Editor, &'a Actor) -> F,
) -> async_graphql::Result<O>
where
    F: Future<Output = domain::Result<T>>,
    O: From<T>,
{
    Ok(call(editor(ctx), actor(ctx)).await.api()?.into())
}
