//! The read side of a store: its pool of connections, for the store's reads and for copying a
//! whole database (backup and restore go through the writer of the target, which reads here).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::error::{Location, StoreError, from_sqlx};
use crate::limits::ACQUIRE_TIMEOUT;
use crate::open::{FileId, file_id};
use crate::sql::{Conn, RawConn};

/// The read side: a pool of connections.
pub(crate) enum Reads {
    Sqlite(Box<SqliteReads>),
    Pg(PgPool),
}

/// SQLite readers. The pool is rebuilt when the database file was replaced (restored from a
/// backup while serving), and refused while the file is missing.
pub(crate) struct SqliteReads {
    path: PathBuf,
    /// Also what the basemap opens its own (writing) connection with.
    pub(crate) opts: SqliteConnectOptions,
    pool: Mutex<(FileId, SqlitePool)>,
}

impl SqliteReads {
    fn new_pool(opts: &SqliteConnectOptions) -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(opts.clone().pragma("query_only", "ON"))
    }

    fn pool(&self) -> Result<SqlitePool, StoreError> {
        let id = file_id(&self.path)?;
        let mut g = self
            .pool
            .lock()
            .map_err(|_| StoreError::Internal("reader pool lock poisoned".into()))?;
        if g.0 != id {
            *g = (id, Self::new_pool(&self.opts));
        }
        Ok(g.1.clone())
    }
}

impl Reads {
    /// Query-only readers of the SQLite file at `path`, whose identity is `id` now.
    pub(crate) fn sqlite(path: &Path, id: FileId, opts: SqliteConnectOptions) -> Self {
        Reads::Sqlite(Box::new(SqliteReads {
            path: path.to_path_buf(),
            pool: Mutex::new((id, SqliteReads::new_pool(&opts))),
            opts,
        }))
    }

    /// A connection from the pool; `loc` names the database in errors.
    pub(crate) async fn acquire(&self, loc: &Location) -> Result<Pooled, StoreError> {
        match self {
            Reads::Sqlite(s) => {
                let pool = s.pool()?;
                let c = pool.acquire().await.map_err(|e| from_sqlx(loc, e))?;
                Ok(Pooled::Sqlite(c))
            }
            Reads::Pg(p) => {
                let c = p.acquire().await.map_err(|e| from_sqlx(loc, e))?;
                Ok(Pooled::Pg(c))
            }
        }
    }

    /// Closes the pool's connections.
    pub(crate) async fn close(&self) {
        match self {
            Reads::Sqlite(s) => {
                let pool = s.pool.lock().ok().map(|g| g.1.clone());
                if let Some(p) = pool {
                    p.close().await;
                }
            }
            Reads::Pg(p) => p.close().await,
        }
    }
}

/// A pooled read connection of either backend.
pub(crate) enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

impl Pooled {
    pub(crate) fn conn<'a>(&'a mut self, loc: &'a Location) -> Conn<'a> {
        match self {
            Pooled::Sqlite(c) => Conn {
                raw: RawConn::Sqlite(c),
                loc,
            },
            Pooled::Pg(c) => Conn {
                raw: RawConn::Pg(c),
                loc,
            },
        }
    }
}
