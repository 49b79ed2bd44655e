//! Importing IATI 2.03 activity files into the information base (the command line's
//! `import iati`, and the `importIati` mutation's upload): the file's root is checked before
//! anything is written, then every activity is imported in one transaction (see
//! `persistence::import`).

use std::io::BufRead;
use std::sync::Arc;

use domain::account::AccountRepository;
use domain::exchange::import::ActivityReader;
use domain::{Actor, Error, Result};

use persistence::SeaStore;
pub use persistence::import::{ImportReport, SkippedActivity};

use crate::App;

/// The actor an account acts as, found by its email: imports are made in someone's name.
pub async fn actor_by_email(app: &App, email: &str) -> Result<Actor> {
    let email = domain::account::normalise_email(email)?;
    app.database()
        .store()
        .user_by_email(&email)
        .await?
        .ok_or_else(|| Error::validation("email", format!("no account {email}")))?
        .actor()
}

/// Imports one file as `actor`: whole or not at all. `progress` is told the activities read.
pub async fn import_iati<R: BufRead + Send>(
    app: &App,
    actor: &Actor,
    input: R,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport> {
    import_with(&app.database().store(), actor, input, progress).await
}

async fn import_with<R: BufRead + Send>(
    store: &SeaStore,
    actor: &Actor,
    input: R,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ImportReport> {
    domain::policy::may_import(actor)?;
    let reader = ActivityReader::new(input).map_err(persistence::import::file_error)?;
    persistence::import::import_iati(store, actor, reader, progress).await
}

/// The import as GraphQL resolvers reach it.
#[derive(Clone)]
pub struct Importer {
    store: Arc<SeaStore>,
}

impl Importer {
    pub fn new(store: Arc<SeaStore>) -> Importer {
        Importer { store }
    }

    /// Imports an uploaded file as `actor`: whole or not at all.
    pub async fn import_file(&self, actor: &Actor, file: std::fs::File) -> Result<ImportReport> {
        let input = std::io::BufReader::with_capacity(64 * 1024, file);
        import_with(&self.store, actor, input, &|_| {}).await
    }
}
