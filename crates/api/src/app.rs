//! The composition root: the one place the service is put together, for the server, the command
//! line, the benchmark and the end-to-end tests alike.

use std::sync::Arc;
use std::time::Duration;

use domain::Result;
use domain::account::Accounts;
use domain::analytics::{Analytics, Matchmaking};
use domain::editing::Editor;
use domain::service::Catalog;
use persistence::db::Database;

use crate::auth::{self, JwtKeys};
use crate::budget::{Budget, ClientKey};
use crate::config::Settings;
use crate::graphql::account::ClientAddress;
use crate::graphql::{self, AppSchema, loaders::loaders};
use crate::metrics::Metrics;
use crate::observe::Observe;

/// A prepared database and the services wired on it. Cloning shares both.
#[derive(Clone)]
pub struct App {
    database: Database,
    services: Services,
}

impl App {
    /// Connects, migrates and loads the reference data; seeds the information base into an
    /// empty database when `settings.seed_if_empty`; wires the store, the domain services, the
    /// token keys and the GraphQL schema. `settings.bind` is the server's and is not used here.
    pub async fn open(settings: &Settings) -> Result<App> {
        let database = Database::connect_with(&settings.database_url, &settings.database).await?;
        database.migrate().await?;
        database.ensure_reference_data().await?;
        if settings.seed_if_empty && database.is_empty().await? {
            let report = database.seed_information_base().await?;
            tracing::info!(
                ?report,
                "seeded the information base into an empty database"
            );
        }
        let services = Services::new(&database, settings);
        Ok(App { database, services })
    }

    /// An app on `database_url` that seeds nothing, signs with a throw-away key and batches
    /// with the default window: what the commands other than `serve` need.
    pub async fn open_unseeded(database_url: &str) -> Result<App> {
        App::open(&Settings {
            database_url: database_url.into(),
            seed_if_empty: false,
            ..Settings::default()
        })
        .await
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn services(&self) -> &Services {
        &self.services
    }
}

/// The schema and the services its resolvers call: what executing a GraphQL request needs.
#[derive(Clone)]
pub struct Services {
    schema: AppSchema,
    catalog: Catalog,
    accounts: Accounts,
    editor: Editor,
    analytics: Analytics,
    matchmaking: Matchmaking,
    jwt: JwtKeys,
    batch_window: Duration,
    metrics: Arc<Metrics>,
}

impl Services {
    fn new(database: &Database, settings: &Settings) -> Self {
        let store = Arc::new(database.store());
        let (hasher, tokens) = auth::token_services(settings.hashing);
        let metrics = Arc::new(Metrics::new());
        Services {
            schema: graphql::builder()
                .extension(Observe::new(metrics.clone(), settings.slow_operation))
                .extension(Budget::new(&settings.budget))
                .finish(),
            metrics,
            catalog: Catalog::new(store.clone()),
            accounts: Accounts::new(store.clone(), hasher, tokens),
            analytics: Analytics::new(store.clone()),
            matchmaking: Matchmaking::new(store.clone()),
            editor: Editor::new(store),
            jwt: settings.jwt.clone(),
            batch_window: settings.batch_window,
        }
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    pub fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }

    /// What `/metrics` reports of the requests these services answered.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Executes one request as `actor`, with fresh dataloaders.
    pub async fn execute(
        &self,
        request: async_graphql::Request,
        actor: domain::Actor,
        client: String,
    ) -> async_graphql::Response {
        let request = request
            .data(loaders(
                self.catalog.clone(),
                actor.clone(),
                self.batch_window,
            ))
            .data(self.catalog.clone())
            .data(self.accounts.clone())
            .data(self.editor.clone())
            .data(self.analytics.clone())
            .data(self.matchmaking.clone())
            .data(self.jwt.clone())
            .data(ClientKey::of(&actor, &client))
            .data(ClientAddress(client))
            .data(actor);
        self.schema.execute(request).await
    }
}
