//! The one error type of the HTTP layer and the one place where HTTP status codes are chosen.
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
use civmap_domain::{TransitionError, ValidationError};
use civmap_store::StoreError;
use serde::Serialize;

/// Everything that can go wrong while answering a request.
///
/// Messages are one line and safe to show to the caller; internal details (SQL errors, paths)
/// are logged with the request id and replaced by a generic message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
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
    /// The body has a content type this endpoint does not read (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed but invalid values (422), naming the field.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// Too many writes from this address (429).
    #[error("too many requests; retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    /// The database cannot be reached, or the server is not ready (503).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (500). The detail is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// A 400 naming a query parameter or body field.
    pub fn bad_param(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let field = field.into();
        AppError::BadRequest {
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    /// A 422 naming a field.
    pub fn invalid(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let field = field.into();
        AppError::Invalid {
            message: format!("{field}: {message}"),
            field,
        }
    }

    /// The HTTP status of this error. The only place where status codes for errors are chosen.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code, e.g. `conflict`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { .. } => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Conflict { .. } => "conflict",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Invalid { .. } => "invalid",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// The offending field or parameter, when there is one.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::BadRequest { field, .. } => field.as_deref(),
            AppError::Invalid { field, .. } => Some(field),
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
                    AppError::Conflict {
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
            AppError::Internal(detail) => tracing::error!(%detail, "internal error"),
            AppError::Unavailable(detail) => tracing::warn!(%detail, "unavailable"),
            _ => {}
        }
    }

    /// Extra headers (`Retry-After` for 429 and 503).
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_s } => Some(*retry_after_s),
            AppError::Unavailable(_) => Some(5),
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
    /// `conflict`, `payload_too_large`, `unsupported_media_type`, `invalid`, `rate_limited`,
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

impl IntoResponse for AppError {
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

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        AppError::Invalid {
            field: e.field().to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<TransitionError> for AppError {
    fn from(e: TransitionError) -> Self {
        AppError::Conflict {
            message: e.to_string(),
            current_version: None,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                AppError::Unavailable("the database is unavailable; retry shortly".into())
            }
            StoreError::Conflict {
                what,
                current_version,
            } => AppError::Conflict {
                message: match current_version {
                    Some(v) => format!("{what} (current version {v}); reload and retry"),
                    None => what,
                },
                current_version,
            },
            StoreError::NotFound { what } => AppError::NotFound(what),
            StoreError::Invalid(what) => AppError::Invalid {
                field: "body".into(),
                message: what,
            },
            // The disk or the database went away under us: temporary, like a lost connection.
            e @ (StoreError::Io { .. } | StoreError::Permission { .. }) => {
                tracing::error!(error = %e, "store I/O failure");
                AppError::Unavailable("the database is unavailable; retry shortly".into())
            }
            other => AppError::Internal(other.to_string()),
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
                AppError::bad_param("limit", "not a number"),
                400,
                "bad_request",
            ),
            (AppError::Unauthorized("x".into()), 401, "unauthorized"),
            (AppError::Forbidden("x".into()), 403, "forbidden"),
            (AppError::NotFound("x".into()), 404, "not_found"),
            (
                AppError::Conflict {
                    message: "x".into(),
                    current_version: Some(3),
                },
                409,
                "conflict",
            ),
            (
                AppError::PayloadTooLarge("x".into()),
                413,
                "payload_too_large",
            ),
            (
                AppError::UnsupportedMediaType("x".into()),
                415,
                "unsupported_media_type",
            ),
            (AppError::invalid("lat", "out of range"), 422, "invalid"),
            (
                AppError::RateLimited { retry_after_s: 2 },
                429,
                "rate_limited",
            ),
            (AppError::Unavailable("db".into()), 503, "unavailable"),
            (AppError::Internal("secret detail".into()), 500, "internal"),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.status().as_u16(), status);
            assert_eq!(e.code(), code);
            assert_eq!(e.body().error.status, status);
        }
        assert_eq!(
            AppError::Internal("secret detail".into()).public_message(),
            "internal error",
            "internal details are not sent"
        );
        assert_eq!(AppError::bad_param("limit", "x").field(), Some("limit"));
    }
}
