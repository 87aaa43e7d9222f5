//! The store's one error type, and the mapping of driver errors onto it.
//!
//! Every message is one line and names what is wrong: the file, the host, the row. An HTTP layer
//! maps the variants onto status codes (see each variant); the store itself knows nothing of HTTP.

use std::fmt;

use sqlx::error::DatabaseError;

use crate::limits::ACQUIRE_TIMEOUT;

/// Where a store lives, for error messages: a SQLite file or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database (the password is never kept here).
    Postgres {
        host: String,
        port: u16,
        database: String,
        user: String,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres {
                host,
                port,
                database,
                user,
            } => write!(f, "postgres://{user}@{host}:{port}/{database}"),
        }
    }
}

/// Anything that can go wrong in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now (connection refused or lost, file gone, disk full,
    /// locked). Temporary: an HTTP layer answers 503; the store reconnects by itself.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The write collides with the current state: a stale version (`current_version` is the
    /// stored one), a taken name, an id that exists. An HTTP layer answers 409.
    #[error("conflict: {what}")]
    Conflict {
        what: String,
        current_version: Option<i64>,
    },
    /// The row (or a row it refers to) does not exist. An HTTP layer answers 404.
    #[error("not found: {what}")]
    NotFound { what: String },
    /// The database was written by a newer civmap (its schema has migrations this binary lacks).
    #[error(
        "database schema version {db_version} is newer than this civmap ({binary_version}); upgrade civmap"
    )]
    NewerSchema {
        db_version: i64,
        binary_version: i64,
    },
    /// The file or database is not a civmap database: garbage, another program's SQLite file, a
    /// PostgreSQL database that does not exist or holds other tables.
    #[error("{path} is not a civmap database: {reason}")]
    NotADatabase { path: String, reason: String },
    /// The operating system or the database refused access (unwritable directory, read-only file,
    /// missing privilege).
    #[error("permission denied: {path}: {detail}")]
    Permission { path: String, detail: String },
    /// PostgreSQL refused the login (wrong password, unknown role).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// A file operation failed (photos, backups, exports).
    #[error("I/O error on {path}: {message}")]
    Io { path: String, message: String },
    /// The database content is damaged or does not decode into the domain types.
    #[error("database is corrupt: {0}")]
    Corrupt(String),
    /// A value the store refuses: a malformed URL or id, a write the schema forbids (for instance
    /// changing the append-only event log), a restore into a database that is not empty. An HTTP
    /// layer answers 400 or 422.
    #[error("invalid: {0}")]
    Invalid(String),
    /// A bug or an unexpected driver failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl StoreError {
    /// Whether the error concerns one write only (conflict, missing row, refused value), so that
    /// the other writes of a group commit may go on. Every other error ends the whole batch.
    #[must_use]
    pub fn is_logical(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict { .. } | StoreError::NotFound { .. } | StoreError::Invalid(_)
        )
    }

    pub(crate) fn conflict(what: impl Into<String>) -> Self {
        StoreError::Conflict {
            what: what.into(),
            current_version: None,
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        StoreError::NotFound { what: what.into() }
    }

    pub(crate) fn io(path: &std::path::Path, e: &std::io::Error) -> Self {
        let path = path.display().to_string();
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            StoreError::Permission {
                path,
                detail: one_line(&e.to_string()),
            }
        } else {
            StoreError::Io {
                path,
                message: one_line(&e.to_string()),
            }
        }
    }

    pub(crate) fn corrupt(what: impl fmt::Display) -> Self {
        StoreError::Corrupt(one_line(&what.to_string()))
    }
}

/// Replaces line breaks so that every message stays on one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Maps a driver error onto a [`StoreError`] that names `loc`.
pub(crate) fn from_sqlx(loc: &Location, e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::Database(db) => from_database(loc, db.as_ref()),
        E::Io(io) => StoreError::Unavailable(one_line(&format!("{loc}: {}", io_reason(&io)))),
        E::Tls(t) => StoreError::Unavailable(one_line(&format!("{loc}: TLS: {t}"))),
        E::PoolTimedOut => StoreError::Unavailable(format!(
            "{loc}: no connection within {} s (is the server running?)",
            ACQUIRE_TIMEOUT.as_secs()
        )),
        E::PoolClosed => StoreError::Unavailable(format!("{loc}: the store is closed")),
        E::WorkerCrashed => {
            StoreError::Unavailable(format!("{loc}: the database worker thread stopped"))
        }
        E::Configuration(c) => StoreError::Invalid(one_line(&format!("{loc}: {c}"))),
        E::RowNotFound => StoreError::not_found(format!("row in {loc}")),
        E::ColumnDecode { index, source } => {
            StoreError::corrupt(format!("{loc}: column {index} does not decode: {source}"))
        }
        E::Decode(d) => StoreError::corrupt(format!("{loc}: {d}")),
        E::Migrate(m) => from_migrate(loc, &m),
        other => StoreError::Internal(one_line(&format!("{loc}: {other}"))),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the server running?)".into()
        }
        std::io::ErrorKind::TimedOut => "connection timed out".into(),
        std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::UnexpectedEof => format!("connection lost ({e})"),
        _ => e.to_string(),
    }
}

fn from_database(loc: &Location, db: &dyn DatabaseError) -> StoreError {
    let msg = one_line(db.message());
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = pg.code();
        let detail = pg.detail().map(one_line);
        let full = match &detail {
            Some(d) => format!("{msg} ({d})"),
            None => msg.clone(),
        };
        return match code {
            "23505" => StoreError::conflict(full),
            "23503" => StoreError::not_found(full),
            "23502" | "23514" | "22P02" | "22003" | "P0001" => StoreError::Invalid(full),
            "3D000" => StoreError::NotADatabase {
                path: loc.to_string(),
                reason: msg,
            },
            "42501" => StoreError::Permission {
                path: loc.to_string(),
                detail: msg,
            },
            "XX001" | "XX002" => StoreError::Corrupt(format!("{loc}: {msg}")),
            c if c.starts_with("28") => StoreError::Auth(format!("{loc}: {msg}")),
            c if c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57P")
                || c == "40001"
                || c == "40P01"
                || c == "55P03"
                // object_not_in_prerequisite_state: the database refuses connections
                // (`ALLOW_CONNECTIONS false`, or it is being dropped).
                || c == "55000" =>
            {
                StoreError::Unavailable(format!("{loc}: {msg}"))
            }
            c => StoreError::Internal(format!("{loc}: {msg} (SQLSTATE {c})")),
        };
    }
    // SQLite: the code is the extended result code as a decimal string.
    let ext: i32 = db.code().and_then(|c| c.parse().ok()).unwrap_or(1);
    match ext & 0xff {
        19 => match ext {
            // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
            2067 | 1555 => StoreError::conflict(msg),
            // SQLITE_CONSTRAINT_FOREIGNKEY
            787 => StoreError::not_found(format!("a referenced row is missing ({msg})")),
            // CHECK, NOTNULL, TRIGGER (our append-only guard) and the rest
            _ => StoreError::Invalid(msg),
        },
        5 | 6 => StoreError::Unavailable(format!("{loc} is busy or locked: {msg}")),
        8 | 23 => StoreError::Permission {
            path: loc.to_string(),
            detail: msg,
        },
        10 | 13 | 14 | 15 => StoreError::Unavailable(format!("{loc}: {msg}")),
        11 => StoreError::Corrupt(format!("{loc}: {msg}")),
        26 => StoreError::NotADatabase {
            path: loc.to_string(),
            reason: "the file is not a SQLite database".into(),
        },
        _ => StoreError::Internal(format!("{loc}: {msg} (SQLite code {ext})")),
    }
}

fn from_migrate(loc: &Location, e: &sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError as M;
    match e {
        M::Execute(inner) | M::ExecuteMigration(inner, _) => {
            // `sqlx::Error` is not `Clone`; re-map through its message.
            StoreError::Internal(one_line(&format!("{loc}: migration failed: {inner}")))
        }
        M::VersionMismatch(v) => StoreError::NotADatabase {
            path: loc.to_string(),
            reason: format!(
                "its migration {v} differs from civmap's migration {v} (another program's schema?)"
            ),
        },
        M::Dirty(v) => StoreError::Corrupt(format!(
            "{loc}: migration {v} was interrupted and left the schema half-applied; restore a backup"
        )),
        other => StoreError::Internal(one_line(&format!("{loc}: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\n  b\r\nc"), "a b c");
        let e = StoreError::NewerSchema {
            db_version: 7,
            binary_version: 5,
        };
        assert_eq!(
            e.to_string(),
            "database schema version 7 is newer than this civmap (5); upgrade civmap"
        );
        assert!(!e.is_logical());
        assert!(StoreError::conflict("x").is_logical());
    }

    #[test]
    fn locations_name_host_and_file_without_password() {
        let l = Location::Postgres {
            host: "db.example".into(),
            port: 5432,
            database: "civmap".into(),
            user: "civ".into(),
        };
        assert_eq!(l.to_string(), "postgres://civ@db.example:5432/civmap");
        assert_eq!(
            Location::Sqlite("/var/lib/civmap.db".into()).to_string(),
            "/var/lib/civmap.db"
        );
    }
}
