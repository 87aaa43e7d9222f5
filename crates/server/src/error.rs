//! The one error type of the HTTP layer and the one place where HTTP status codes are chosen:
//! the service's [`ServiceError`]s are mapped here, with the errors only HTTP has (an unread
//! body, a wrong content type, a method not allowed).
//!
//! Every handler of `/api/v1`, `/ogc` and the operations routes answers errors with the same
//! body:
//!
//! ```json
//! {"error": {"status": 422, "code": "invalid", "message": "lat = 95 is out of range [-90, 90]", "field": "lat"}}
//! ```
//!
//! Open311 routes wrap the same error in the GeoReport v2 format (see [`crate::open311`]).

use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use civmap_app::ServiceError;
use civmap_app::media::photos::UploadError;
use civmap_app::media::strip::PhotoError;
use civmap_domain::{TransitionError, ValidationError};
use civmap_store::StoreError;
use serde::Serialize;

/// Everything that can go wrong while answering a request.
///
/// Messages are one line and safe to show to the caller; internal details (SQL errors, paths)
/// are logged with the request id and replaced by a generic message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: unparsable JSON, a query parameter of the wrong shape (400).
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    /// No or unknown credentials for an action that needs them (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Known caller, action not allowed for their role (403).
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The method is not allowed on this path (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A stale version or a transition the lifecycle does not allow (409).
    #[error("{message}")]
    Conflict {
        message: String,
        current_version: Option<i64>,
    },
    /// The body is larger than the configured limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request line is longer than the HTTP server reads (414); see [`crate::conn`].
    #[error("{0}")]
    UriTooLong(String),
    /// The body has a content type this endpoint does not read (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed but invalid values (422), naming the field.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// An `Idempotency-Key` sent again with another request or body (422
    /// `idempotency_key_reused`).
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// The first send of an `Idempotency-Key` is still running (409 `idempotency_in_progress`,
    /// with `Retry-After`).
    #[error("a request with this Idempotency-Key is still in progress; retry in {retry_after_s} s")]
    IdempotencyInProgress { retry_after_s: u64 },
    /// Too many writes from this address (429).
    #[error("too many requests; retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    /// Too many failed sign-ins for this account name (429 `login_locked`).
    #[error("too many failed sign-ins for this name; it is locked for {retry_after_s} s")]
    LoginLocked { retry_after_s: u64 },
    /// The database cannot be reached, or the server is not ready (503).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (500). The detail is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming a query parameter or body field.
    pub fn bad_param(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let field = field.into();
        ApiError::BadRequest {
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    /// A 422 naming a field.
    pub fn invalid(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let field = field.into();
        ApiError::Invalid {
            message: format!("{field}: {message}"),
            field,
        }
    }

    /// The HTTP status of this error. The only place where status codes for errors are chosen.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::IdempotencyInProgress { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } | ApiError::IdempotencyKeyReused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::RateLimited { .. } | ApiError::LoginLocked { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// This error as an HTML page for a person (the `/p` pages): `body` with this error's
    /// status; the cause is logged as for the JSON answer.
    #[must_use]
    pub fn html_page(&self, body: String) -> Response {
        self.log();
        (
            self.status(),
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response()
    }

    /// A stable machine-readable code, e.g. `conflict`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict { .. } => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UriTooLong(_) => "uri_too_long",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Invalid { .. } => "invalid",
            ApiError::IdempotencyKeyReused(_) => "idempotency_key_reused",
            ApiError::IdempotencyInProgress { .. } => "idempotency_in_progress",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::LoginLocked { .. } => "login_locked",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The offending field or parameter, when there is one.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } => field.as_deref(),
            ApiError::Invalid { field, .. } => Some(field),
            ApiError::LoginLocked { .. } => Some("name"),
            ApiError::IdempotencyKeyReused(_) => Some(civmap_app::idempotency::HEADER),
            _ => None,
        }
    }

    /// The message sent to the caller (internal details are never sent).
    #[must_use]
    pub fn public_message(&self) -> String {
        self.to_string()
    }

    /// The JSON body `{"error": {...}}`.
    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                status: self.status().as_u16(),
                code: self.code(),
                message: self.public_message(),
                field: self.field().map(str::to_owned),
                current_version: match self {
                    ApiError::Conflict {
                        current_version, ..
                    } => *current_version,
                    _ => None,
                },
            },
        }
    }

    /// Logs what must be logged (5xx with their detail) once, where the response is built.
    pub(crate) fn log(&self) {
        match self {
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            ApiError::Unavailable(detail) => tracing::warn!(%detail, "unavailable"),
            _ => {}
        }
    }

    /// Extra headers (`Retry-After` for 429 and 503).
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_s }
            | ApiError::LoginLocked { retry_after_s }
            | ApiError::IdempotencyInProgress { retry_after_s } => Some(*retry_after_s),
            ApiError::Unavailable(_) => Some(5),
            _ => None,
        }
    }
}

/// The error body shared by every JSON endpoint.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// The HTTP status, repeated for clients that only see the body.
    pub status: u16,
    /// Stable machine-readable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `payload_too_large`, `uri_too_long`, `unsupported_media_type`, `invalid`,
    /// `idempotency_key_reused`, `idempotency_in_progress`, `rate_limited`,
    /// `unavailable`, `internal`.
    pub code: &'static str,
    /// One line for humans.
    pub message: String,
    /// The offending field or query parameter, when the error is about one.
    pub field: Option<String>,
    /// For version conflicts: the version the problem has now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let retry = self.retry_after();
        let mut resp = (status, axum::Json(self.body())).into_response();
        if let Some(s) = retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        // Lets a middleware re-render the error in another format (Open311).
        resp.extensions_mut().insert(self);
        resp
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(m) => ApiError::NotFound(m),
            ServiceError::Malformed { field, message } => ApiError::BadRequest {
                message,
                field: Some(field),
            },
            ServiceError::Invalid { field, message } => ApiError::Invalid { field, message },
            ServiceError::Conflict {
                message,
                current_version,
            } => ApiError::Conflict {
                message,
                current_version,
            },
            ServiceError::Forbidden(m) => ApiError::Forbidden(m),
            ServiceError::Unauthorized(m) => ApiError::Unauthorized(m),
            ServiceError::RateLimited { retry_after_s } => ApiError::RateLimited { retry_after_s },
            ServiceError::Locked { retry_after_s } => ApiError::LoginLocked { retry_after_s },
            ServiceError::IdempotencyKeyReused(m) => ApiError::IdempotencyKeyReused(m),
            ServiceError::IdempotencyInProgress { retry_after_s } => {
                ApiError::IdempotencyInProgress { retry_after_s }
            }
            e @ ServiceError::Unavailable { .. } => {
                // The cause is logged here; the caller is told only that it is temporary.
                tracing::warn!(cause = %e.chain(), "unavailable");
                ApiError::Unavailable(e.to_string())
            }
            e @ ServiceError::Internal { .. } => ApiError::Internal(e.chain()),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<TransitionError> for ApiError {
    fn from(e: TransitionError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::Photo(p @ PhotoError::UnknownFormat) => {
                ApiError::UnsupportedMediaType(format!("photo: {p}"))
            }
            UploadError::Photo(other) => ApiError::invalid("photo", other),
            UploadError::Service(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_status_and_code() {
        let cases = [
            (
                ApiError::bad_param("limit", "not a number"),
                400,
                "bad_request",
            ),
            (ApiError::Unauthorized("x".into()), 401, "unauthorized"),
            (ApiError::Forbidden("x".into()), 403, "forbidden"),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (
                ApiError::Conflict {
                    message: "x".into(),
                    current_version: Some(3),
                },
                409,
                "conflict",
            ),
            (
                ApiError::PayloadTooLarge("x".into()),
                413,
                "payload_too_large",
            ),
            (
                ApiError::UnsupportedMediaType("x".into()),
                415,
                "unsupported_media_type",
            ),
            (ApiError::invalid("lat", "out of range"), 422, "invalid"),
            (
                ApiError::RateLimited { retry_after_s: 2 },
                429,
                "rate_limited",
            ),
            (ApiError::Unavailable("db".into()), 503, "unavailable"),
            (ApiError::Internal("secret detail".into()), 500, "internal"),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.status().as_u16(), status);
            assert_eq!(e.code(), code);
            assert_eq!(e.body().error.status, status);
        }
        assert_eq!(
            ApiError::Internal("secret detail".into()).public_message(),
            "internal error",
            "internal details are not sent"
        );
        assert_eq!(ApiError::bad_param("limit", "x").field(), Some("limit"));
    }
}
