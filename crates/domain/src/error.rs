use thiserror::Error;

/// The one error type of the domain. The API maps each variant to an `extensions.code`.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("authentication required")]
    Unauthenticated,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid {field}: {message}")]
    Validation { field: String, message: String },
    #[error("too many attempts, retry later")]
    RateLimited,
    /// The database is away, gave up a statement that ran too long, or stayed locked: the same
    /// request may succeed a moment later. Detail is for the log only; the API answers
    /// UNAVAILABLE without it.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A funding-gap grouping asked about was still being built when the question had waited
    /// the longest it may, or would be by then (its last build took longer). The build goes on;
    /// the same question asked again once it is done is answered from it. The API answers UNAVAILABLE with this message and
    /// `retryAfterSeconds`, both meant for the client.
    #[error("{what} is being built; retry in {retry_after_seconds} s")]
    Preparing {
        what: String,
        retry_after_seconds: u64,
    },
    /// Detail is for the log only; the API answers INTERNAL without it.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub fn unavailable(detail: impl ToString) -> Self {
        Error::Unavailable(detail.to_string())
    }

    pub fn internal(detail: impl ToString) -> Self {
        Error::Internal(detail.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
