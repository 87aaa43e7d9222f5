//! Start-up: which backend a URL names, the checks that turn a bad start into a one-line error,
//! and the migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};

use crate::error::{Location, StoreError, from_sqlx};
use crate::limits::ACQUIRE_TIMEOUT;
use crate::sql::{Conn, RawConn};

pub(crate) static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
pub(crate) static PG_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The newest schema version this binary knows.
pub(crate) fn binary_version(m: &Migrator) -> i64 {
    m.iter().map(|m| m.version).max().unwrap_or(0)
}

/// What a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

/// `postgres://...` / `postgresql://...`, `sqlite://PATH`, `sqlite:PATH` or a bare path.
pub(crate) fn parse_url(url: &str) -> Result<Target, StoreError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(StoreError::Invalid(
            "empty database URL; give a file path, sqlite://PATH or postgres://...".into(),
        ));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if let Some((scheme, _)) = url.split_once("://") {
        return Err(StoreError::Invalid(format!(
            "unsupported database URL scheme {scheme:?}; use a file path, sqlite://PATH or postgres://..."
        )));
    } else {
        url
    };
    if path.is_empty() || path == ":memory:" || path.contains('?') {
        return Err(StoreError::Invalid(format!(
            "{url:?}: give the SQLite database as a file path (in-memory databases and URL options are not supported)"
        )));
    }
    Ok(Target::Sqlite(PathBuf::from(path)))
}

/// Identity of an open file (device and inode), to notice a database file that was deleted or
/// replaced under a running server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId(u64, u64);

pub(crate) fn file_id(path: &Path) -> Result<FileId, StoreError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(id_of(&m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(StoreError::Unavailable(format!(
                "{}: the database file is missing (deleted, moved or unmounted)",
                path.display()
            )))
        }
        Err(e) => Err(StoreError::Unavailable(format!("{}: {e}", path.display()))),
    }
}

#[cfg(unix)]
fn id_of(m: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt as _;
    FileId(m.dev(), m.ino())
}

#[cfg(not(unix))]
fn id_of(_m: &std::fs::Metadata) -> FileId {
    FileId(0, 0)
}

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Checks the path before SQLite sees it, so that each way of failing gets its own message:
/// a missing or unwritable directory, a directory where the file should be, a file that is not
/// SQLite. Creates an empty file on first start.
pub(crate) fn check_sqlite_path(path: &Path, create: bool) -> Result<(), StoreError> {
    let shown = path.display().to_string();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&parent) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(StoreError::Io {
                path: parent.display().to_string(),
                message: "is not a directory, so the database cannot be created in it".into(),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::Io {
                path: parent.display().to_string(),
                message: "directory does not exist; create it or choose another database path"
                    .into(),
            });
        }
        Err(e) => return Err(StoreError::io(&parent, &e)),
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(StoreError::NotADatabase {
            path: shown,
            reason: "it is a directory".into(),
        }),
        Ok(_) => {
            use std::io::Read as _;
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| StoreError::io(path, &e))?;
            let mut head = Vec::with_capacity(16);
            (&mut f)
                .take(16)
                .read_to_end(&mut head)
                .map_err(|e| StoreError::io(path, &e))?;
            if head.is_empty() || head.as_slice() == SQLITE_HEADER {
                Ok(())
            } else {
                Err(StoreError::NotADatabase {
                    path: shown,
                    reason: "the file is not a SQLite database (wrong header; corrupt, or another kind of file)".into(),
                })
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map(drop)
            .map_err(|e| StoreError::io(path, &e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::Io {
            path: shown,
            message: "file does not exist".into(),
        }),
        Err(e) => Err(StoreError::io(path, &e)),
    }
}

/// Connection options shared by the writer and the readers.
pub(crate) fn sqlite_options(path: &Path, synchronous_full: bool) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(if synchronous_full {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        })
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
        // 32 MiB page cache: the start-up scan and imports touch every page once.
        .pragma("cache_size", "-32768")
        .pragma("temp_store", "memory")
        .row_buffer_size(1024)
        .disable_statement_logging()
}

/// Opens the writer connection, checks the schema and migrates.
pub(crate) async fn connect_sqlite_writer(
    path: &Path,
    synchronous_full: bool,
    loc: &Location,
) -> Result<SqliteConnection, StoreError> {
    check_sqlite_path(path, false)?;
    let mut conn = sqlite_options(path, synchronous_full)
        .connect()
        .await
        .map_err(|e| from_sqlx(loc, e))?;
    prepare_schema(
        &mut Conn {
            raw: RawConn::Sqlite(&mut conn),
            loc,
        },
        &SQLITE_MIGRATOR,
    )
    .await?;
    SQLITE_MIGRATOR
        .run_direct(&mut conn)
        .await
        .map_err(|e| from_sqlx(loc, e.into()))?;
    Ok(conn)
}

pub(crate) fn pg_options(url: &str) -> Result<(PgConnectOptions, Location), StoreError> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Invalid(format!("PostgreSQL URL: {e}")))?
        .application_name("civmap")
        .disable_statement_logging();
    let loc = Location::Postgres {
        host: opts.get_host().to_owned(),
        port: opts.get_port(),
        // PostgreSQL's own default: the database named like the user.
        database: opts
            .get_database()
            .unwrap_or_else(|| opts.get_username())
            .to_owned(),
        user: opts.get_username().to_owned(),
    };
    Ok((opts, loc))
}

/// Connects once (to get a precise error: refused, unknown host, wrong password, no such
/// database), checks the schema and migrates.
pub(crate) async fn prepare_pg(opts: &PgConnectOptions, loc: &Location) -> Result<(), StoreError> {
    let mut conn = connect_pg(opts, loc).await?;
    prepare_schema(
        &mut Conn {
            raw: RawConn::Pg(&mut conn),
            loc,
        },
        &PG_MIGRATOR,
    )
    .await?;
    PG_MIGRATOR
        .run_direct(&mut conn)
        .await
        .map_err(|e| from_sqlx(loc, e.into()))?;
    drop(conn);
    Ok(())
}

pub(crate) async fn connect_pg(
    opts: &PgConnectOptions,
    loc: &Location,
) -> Result<PgConnection, StoreError> {
    match tokio::time::timeout(ACQUIRE_TIMEOUT, opts.connect()).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(from_sqlx(loc, e)),
        Err(_) => Err(StoreError::Unavailable(format!(
            "{loc}: no answer within {} s (wrong host, or a firewall?)",
            ACQUIRE_TIMEOUT.as_secs()
        ))),
    }
}

/// Refuses a database that is not civmap's, or is newer than this binary.
pub(crate) async fn prepare_schema(
    conn: &mut Conn<'_>,
    migrator: &Migrator,
) -> Result<(), StoreError> {
    let tables_sql = if conn.is_pg() {
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
    };
    let tables: Vec<String> = conn
        .all(tables_sql, vec![], &|r| {
            Ok(r.str(0).map_err(crate::sql::col)?.to_owned())
        })
        .await?;
    let has_migrations = tables.iter().any(|t| t == "_sqlx_migrations");
    let others: Vec<&String> = tables.iter().filter(|t| *t != "_sqlx_migrations").collect();
    if !others.is_empty() && !tables.iter().any(|t| t == "civmap_meta") {
        let mut names: Vec<&str> = others.iter().take(5).map(|s| s.as_str()).collect();
        if others.len() > 5 {
            names.push("...");
        }
        return Err(StoreError::NotADatabase {
            path: conn.loc.to_string(),
            reason: format!(
                "it holds another application's tables ({})",
                names.join(", ")
            ),
        });
    }
    if has_migrations {
        let (newest, failed): (i64, i64) = conn
            .one(
                "SELECT COALESCE(MAX(version), 0), \
                 COALESCE(SUM(CASE WHEN success THEN 0 ELSE 1 END), 0) FROM _sqlx_migrations",
                vec![],
                &|r| {
                    Ok((
                        r.i64(0).map_err(crate::sql::col)?,
                        r.i64(1).map_err(crate::sql::col)?,
                    ))
                },
            )
            .await?;
        let ours = binary_version(migrator);
        if newest > ours {
            return Err(StoreError::NewerSchema {
                db_version: newest,
                binary_version: ours,
            });
        }
        if failed > 0 {
            return Err(StoreError::Corrupt(format!(
                "{}: a schema migration failed half-way; restore a backup",
                conn.loc
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        assert_eq!(
            parse_url("sqlite:///var/lib/civmap/civmap.db").unwrap(),
            Target::Sqlite("/var/lib/civmap/civmap.db".into())
        );
        assert_eq!(
            parse_url("sqlite:data/civmap.db").unwrap(),
            Target::Sqlite("data/civmap.db".into())
        );
        assert_eq!(
            parse_url("civmap.db").unwrap(),
            Target::Sqlite("civmap.db".into())
        );
        assert_eq!(
            parse_url("postgres://u@h/db").unwrap(),
            Target::Postgres("postgres://u@h/db".into())
        );
        assert!(matches!(
            parse_url("postgresql://h/db"),
            Ok(Target::Postgres(_))
        ));
        for bad in [
            "",
            "mysql://h/db",
            "sqlite::memory:",
            "sqlite://x.db?mode=ro",
        ] {
            let e = parse_url(bad).unwrap_err();
            assert!(matches!(e, StoreError::Invalid(_)), "{bad}: {e}");
        }
    }

    #[test]
    fn migrations_are_numbered_alike_on_both_backends() {
        assert_eq!(
            binary_version(&SQLITE_MIGRATOR),
            binary_version(&PG_MIGRATOR)
        );
        let s: Vec<i64> = SQLITE_MIGRATOR.iter().map(|m| m.version).collect();
        let p: Vec<i64> = PG_MIGRATOR.iter().map(|m| m.version).collect();
        assert_eq!(s, p);
    }
}
