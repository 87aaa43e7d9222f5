//! The one error type of the service layer. It says what went wrong in the terms of the
//! service — not found, invalid, a conflict, not allowed, not available — and never which HTTP
//! status that is: the server chooses statuses (and the Open311 shape) in one place.
//!
//! Messages are one line, in English, safe to show to the caller; `Internal` and `Unavailable`
//! keep their cause as the error's `source` for the log, and their message says nothing of it.

use std::error::Error as StdError;
use std::fmt;

use civmap_domain::{TransitionError, ValidationError};
use civmap_store::StoreError;

/// A boxed cause, kept for the log.
pub type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// Everything a service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The thing does not exist, or lies outside the caller's scope (the same answer, so
    /// guessing ids tells nothing).
    #[error("{0}")]
    NotFound(String),
    /// A value the service cannot use as given (a malformed query region, an id that is not
    /// one), naming the parameter.
    #[error("{message}")]
    Malformed { field: String, message: String },
    /// A well-formed value that breaks a rule, naming the field (`message` starts with it).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A stale version, or a step the problem's status does not allow.
    #[error("{message}")]
    Conflict {
        message: String,
        /// The version the problem has now, when the conflict is about versions.
        current_version: Option<i64>,
    },
    /// The caller is known, and its role may never do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller must sign in first.
    #[error("{0}")]
    Unauthorized(String),
    /// Too many attempts from this caller; try again after `retry_after_s`.
    #[error("too many requests; retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    /// Too many failed sign-ins for this account name; it is locked for `retry_after_s`.
    #[error("too many failed sign-ins for this name; it is locked for {retry_after_s} s")]
    Locked { retry_after_s: u64 },
    /// An `Idempotency-Key` sent again with another request or body (see
    /// [`crate::idempotency`]).
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// The first send of an `Idempotency-Key` is still running; try again after
    /// `retry_after_s`.
    #[error("a request with this Idempotency-Key is still in progress; retry in {retry_after_s} s")]
    IdempotencyInProgress { retry_after_s: u64 },
    /// The database cannot be reached, or the service is not ready: temporary.
    #[error("{message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// A bug or an unexpected failure. The message is for the log; callers see "internal
    /// error".
    #[error("{message}")]
    Internal {
        message: String,
        #[source]
        source: Option<Cause>,
    },
}

/// What every service call returns.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl ServiceError {
    /// An invalid field: the message reads `"{field}: {message}"`.
    pub fn invalid(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let field = field.into();
        ServiceError::Invalid {
            message: format!("{field}: {message}"),
            field,
        }
    }

    /// A malformed parameter: the message reads `"{field}: {message}"`.
    pub fn malformed(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let field = field.into();
        ServiceError::Malformed {
            message: format!("{field}: {message}"),
            field,
        }
    }

    /// An internal failure with its cause.
    pub fn internal(message: impl Into<String>, source: impl Into<Cause>) -> Self {
        ServiceError::Internal {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An internal failure described by a message alone.
    pub fn bug(message: impl Into<String>) -> Self {
        ServiceError::Internal {
            message: message.into(),
            source: None,
        }
    }

    /// A temporary unavailability with its cause.
    pub fn unavailable(message: impl Into<String>, source: Option<Cause>) -> Self {
        ServiceError::Unavailable {
            message: message.into(),
            source,
        }
    }

    /// A version conflict on `what`, naming the current version.
    #[must_use]
    pub fn stale(what: impl fmt::Display, current: i64, expected: i64) -> Self {
        ServiceError::Conflict {
            message: format!("{what} is at version {current}, not {expected}; reload it and retry"),
            current_version: Some(current),
        }
    }

    /// The field or parameter the error is about, when there is one.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Invalid { field, .. } | ServiceError::Malformed { field, .. } => {
                Some(field)
            }
            ServiceError::Locked { .. } => Some("name"),
            _ => None,
        }
    }

    /// The message followed by every cause, for the log.
    #[must_use]
    pub fn chain(&self) -> String {
        let mut s = self.to_string();
        let mut cause = StdError::source(self);
        while let Some(c) = cause {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cause = c.source();
        }
        s
    }
}

impl From<ValidationError> for ServiceError {
    fn from(e: ValidationError) -> Self {
        ServiceError::Invalid {
            field: e.field().to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<TransitionError> for ServiceError {
    fn from(e: TransitionError) -> Self {
        ServiceError::Conflict {
            message: e.to_string(),
            current_version: None,
        }
    }
}

/// What callers are told when the database is away.
pub const DATABASE_UNAVAILABLE: &str = "the database is unavailable; retry shortly";

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict {
                what,
                current_version,
            } => ServiceError::Conflict {
                message: match current_version {
                    Some(v) => format!("{what} (current version {v}); reload and retry"),
                    None => what,
                },
                current_version,
            },
            StoreError::NotFound { what } => ServiceError::NotFound(what),
            StoreError::Invalid(what) => ServiceError::Invalid {
                field: "body".into(),
                message: what,
            },
            // A lost connection, and the disk or the database going away under us: temporary.
            // A database that is not there any more (a PostgreSQL database dropped, or one
            // that refuses connections) is as temporary as a lost connection for a running
            // server: `Store::open` reports `NotADatabase` at start, where it is final.
            e @ (StoreError::Unavailable(_)
            | StoreError::NotADatabase { .. }
            | StoreError::Io { .. }
            | StoreError::Permission { .. }) => {
                ServiceError::unavailable(DATABASE_UNAVAILABLE, Some(Box::new(e)))
            }
            other => ServiceError::internal("store", other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_kept_for_the_log_and_fields_named() {
        let e = ServiceError::internal("reading x", std::io::Error::other("disk on fire"));
        assert_eq!(e.to_string(), "reading x");
        assert_eq!(e.chain(), "reading x: disk on fire");
        assert_eq!(
            ServiceError::invalid("note", "needed").to_string(),
            "note: needed"
        );
        assert_eq!(ServiceError::invalid("note", "x").field(), Some("note"));
        assert_eq!(
            ServiceError::Locked { retry_after_s: 3 }.field(),
            Some("name")
        );
        let gone = ServiceError::from(StoreError::NotADatabase {
            path: "postgres://civmap@db:5432/civmap".into(),
            reason: "database \"civmap\" does not exist".into(),
        });
        assert!(matches!(gone, ServiceError::Unavailable { .. }), "{gone:?}");
        let unavailable = ServiceError::from(StoreError::Unavailable("gone".into()));
        assert!(matches!(
            unavailable,
            ServiceError::Unavailable {
                source: Some(_),
                ..
            }
        ));
    }
}
