//! The one place where domain errors become GraphQL errors: every error carries
//! `extensions.code`, and internal details go to the log, never to the client.

use async_graphql::ErrorExtensions;

/// A domain error on its way to the client. Deliberately not `Display`, so that it cannot slip
/// through async-graphql's blanket conversion that would expose its message without a code.
pub struct ApiError(pub domain::Error);

impl From<domain::Error> for ApiError {
    fn from(err: domain::Error) -> Self {
        ApiError(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(ApiError(err): ApiError) -> Self {
        use domain::Error::*;
        match err {
            NotFound { entity, id } => {
                async_graphql::Error::new(format!("{entity} {id} not found"))
                    .extend_with(|_, e| e.set("code", "NOT_FOUND"))
            }
            Unauthenticated => async_graphql::Error::new("authentication required")
                .extend_with(|_, e| e.set("code", "UNAUTHENTICATED")),
            Forbidden(why) => async_graphql::Error::new(format!("forbidden: {why}"))
                .extend_with(|_, e| e.set("code", "FORBIDDEN")),
            Conflict(why) => async_graphql::Error::new(format!("conflict: {why}"))
                .extend_with(|_, e| e.set("code", "CONFLICT")),
            Validation { field, message } => async_graphql::Error::new(format!(
                "invalid {field}: {message}"
            ))
            .extend_with(|_, e| {
                e.set("code", "VALIDATION");
                e.set("field", field.clone());
            }),
            RateLimited => async_graphql::Error::new("too many attempts, retry later")
                .extend_with(|_, e| e.set("code", "RATE_LIMITED")),
            Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                async_graphql::Error::new("the service is unavailable for a moment; retry later")
                    .extend_with(|_, e| e.set("code", "UNAVAILABLE"))
            }
            Preparing {
                what,
                retry_after_seconds,
            } => async_graphql::Error::new(format!(
                "{what} is being built; retry in {retry_after_seconds} s"
            ))
            .extend_with(|_, e| {
                e.set("code", "UNAVAILABLE");
                e.set("retryAfterSeconds", retry_after_seconds);
            }),
            Internal(detail) => {
                tracing::error!(%detail, "internal error");
                async_graphql::Error::new("internal error")
                    .extend_with(|_, e| e.set("code", "INTERNAL"))
            }
        }
    }
}

/// `.api()?` in resolvers: a domain result as a GraphQL result.
pub trait ResultExt<T> {
    fn api(self) -> async_graphql::Result<T>;
}

impl<T> ResultExt<T> for Result<T, domain::Error> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(|e| ApiError(e).into())
    }
}

pub fn validation(field: &str, message: &str) -> async_graphql::Error {
    ApiError(domain::Error::validation(field, message)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(err: &async_graphql::Error) -> String {
        let ext = err.extensions.as_ref().and_then(|e| e.get("code")).cloned();
        ext.map(|v| v.to_string()).unwrap_or_default()
    }

    #[test]
    fn internal_errors_keep_their_detail_out_of_the_response() {
        let err: async_graphql::Error = ApiError(domain::Error::internal(
            "password hash column missing in db at 10.0.0.5",
        ))
        .into();
        assert_eq!(err.message, "internal error");
        assert_eq!(code(&err), "\"INTERNAL\"");
    }

    #[test]
    fn each_domain_error_has_its_code() {
        let cases = [
            (domain::Error::not_found("Practice", 1), "NOT_FOUND"),
            (domain::Error::Unauthenticated, "UNAUTHENTICATED"),
            (domain::Error::Forbidden("x".into()), "FORBIDDEN"),
            (domain::Error::Conflict("x".into()), "CONFLICT"),
            (domain::Error::validation("title", "empty"), "VALIDATION"),
            (domain::Error::RateLimited, "RATE_LIMITED"),
            (domain::Error::unavailable("pool timed out"), "UNAVAILABLE"),
        ];
        for (err, expected) in cases {
            let e: async_graphql::Error = ApiError(err).into();
            assert_eq!(code(&e), format!("\"{expected}\""));
        }
    }
}
