//! The store every domain repository is implemented on, and how its database errors read.
//!
//! The repositories themselves live with their aggregate (`practice`, `scheme`, `funding`,
//! `need`, `profiles`, `reference`, `audit`); every batch method costs one statement whatever the
//! number of ids, which is what keeps the GraphQL dataloaders free of N+1 queries.

use domain::Error;
use sea_orm::{DatabaseConnection, DbErr, SqlErr};

#[derive(Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
}

impl SeaStore {
    pub fn new(db: DatabaseConnection) -> Self {
        SeaStore { db }
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// Unique-constraint violations are the caller's conflict; anything else is ours.
pub(crate) fn db_err(err: DbErr) -> Error {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            Error::Conflict("a record with these values already exists".into())
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            Error::validation("id", "refers to a record that does not exist")
        }
        _ => Error::internal(err),
    }
}
