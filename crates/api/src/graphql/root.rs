//! The query root, resolving a few of a request's root fields at a time.
//!
//! A hundred aliases of a root field would otherwise each hold a database connection at once.
//! The limit sits on the root type rather than in a schema extension: any registered extension
//! makes async-graphql send every field of every answer through the extension chain (a boxed
//! future per extension, a registry lookup, a type name per list item), a large part of the
//! time a nested page takes.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContainerType, Context, ContextSelectionSet, ObjectType, OutputType, Positioned, ServerResult,
    Value,
};
use tokio::sync::Semaphore;

/// Root fields of one query resolved at a time, each with everything below it.
pub const ROOT_FIELDS_AT_ONCE: usize = 4;

/// The permits of one request (or of one WebSocket connection) to resolve root fields: put in
/// its data by whoever runs it. Without them a root field fails (`INTERNAL`) rather than run
/// unbounded.
#[derive(Clone)]
pub struct RootFieldPermits(Arc<Semaphore>);

impl RootFieldPermits {
    pub fn new() -> RootFieldPermits {
        RootFieldPermits(Arc::new(Semaphore::new(ROOT_FIELDS_AT_ONCE)))
    }
}

impl Default for RootFieldPermits {
    fn default() -> Self {
        RootFieldPermits::new()
    }
}

/// `Q` with each root field resolved under one of the request's [`RootFieldPermits`]. The schema
/// sees `Q` itself: same name, same fields.
#[derive(Default)]
pub struct Limited<Q>(pub Q);

impl<Q: ObjectType> ContainerType for Limited<Q> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        // A mutation's root fields already run one after the other, and mutations are another
        // type: only queries come here.
        let permits = ctx
            .data::<RootFieldPermits>()
            .map_err(|e| e.into_server_error(ctx.item.pos))?;
        let _permit = permits.0.acquire().await;
        self.0.resolve_field(ctx).await
    }

    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        self.0.find_entity(ctx, params).await
    }
}

impl<Q: ObjectType> OutputType for Limited<Q> {
    fn type_name() -> Cow<'static, str> {
        Q::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Q::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_container(ctx, self).await
    }
}

impl<Q: ObjectType> ObjectType for Limited<Q> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;

    /// Counts how many of its instances are between start and end at once.
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    impl Gauge {
        async fn hold(&self) {
            let n = self.now.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(n, SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.now.fetch_sub(1, SeqCst);
        }
    }

    #[derive(Default)]
    struct Root;
    struct Leaf;

    #[async_graphql::Object]
    impl Root {
        async fn leaf(&self) -> Leaf {
            Leaf
        }
    }

    #[async_graphql::Object]
    impl Leaf {
        /// Stands for a statement: the work below a root field.
        async fn work(&self, ctx: &Context<'_>) -> i32 {
            ctx.data_unchecked::<Arc<Gauge>>().hold().await;
            1
        }
    }

    async fn answer(permits: Option<RootFieldPermits>) -> (async_graphql::Response, usize) {
        let schema = async_graphql::Schema::build(
            Limited(Root),
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        )
        .finish();
        let gauge = Arc::new(Gauge::default());
        let fields: String = (0..24).map(|i| format!("a{i}: leaf {{ work }} ")).collect();
        let mut request =
            async_graphql::Request::new(format!("{{ {fields} }}")).data(gauge.clone());
        if let Some(permits) = permits {
            request = request.data(permits);
        }
        let response = schema.execute(request).await;
        (response, gauge.most.load(SeqCst))
    }

    #[tokio::test]
    async fn aliases_of_a_root_field_run_a_few_at_a_time_with_everything_below_them() {
        let (response, most) = answer(Some(RootFieldPermits::new())).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(response.data.to_string().matches("work").count(), 24);
        assert!(
            (2..=ROOT_FIELDS_AT_ONCE).contains(&most),
            "{most} root fields ran at once"
        );
    }

    #[tokio::test]
    async fn without_permits_no_root_field_runs() {
        let (response, most) = answer(None).await;
        assert_eq!(response.errors.len(), 24, "{:?}", response.errors);
        assert_eq!(most, 0);
    }

    #[test]
    fn the_schema_sees_the_root_type_itself() {
        let sdl = async_graphql::Schema::build(
            Limited(Root),
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        )
        .finish()
        .sdl();
        assert!(sdl.contains("type Root {"), "{sdl}");
        assert!(sdl.contains("query: Root"), "{sdl}");
    }
}
