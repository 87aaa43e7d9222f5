//! One leader among replicas: a session-level PostgreSQL advisory lock held on a connection of
//! its own. The lock lives exactly as long as that connection, so a replica that dies (or loses
//! the database) loses it, and another one's next try takes it over. On SQLite there is one
//! process, always the leader.

use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::error::{Location, StoreError, from_sqlx};
use crate::reads::Reads;
use crate::store::Store;

/// The advisory lock key of the leader ("civlead"), apart from the writers' transaction lock.
const LEADER_LOCK: i64 = 0x0063_6976_6c65_6164;

/// How long one try (connect, lock, or the check of a held lock) may take.
const LEADER_TRY_TIMEOUT: Duration = Duration::from_secs(3);

/// A replica's claim to lead. Call [`Leadership::check`] every few seconds.
pub struct Leadership {
    pg: Option<(PgConnectOptions, Location)>,
    /// The connection holding the lock, when held.
    held: Option<PgConnection>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("postgres", &self.pg.is_some())
            .field("held", &self.held.is_some())
            .finish()
    }
}

impl Store {
    /// This replica's claim to lead (not yet tried).
    #[must_use]
    pub fn leadership(&self) -> Leadership {
        let pg = match &**self.reads() {
            Reads::Pg(pool) => Some(((*pool.connect_options()).clone(), self.location().clone())),
            Reads::Sqlite(_) => None,
        };
        Leadership { pg, held: None }
    }
}

impl Leadership {
    /// Whether this replica leads now: on SQLite always; on PostgreSQL, checks that the held
    /// lock's connection still answers (losing it loses the lead), or tries to take the lock.
    /// `Err` when the database cannot be reached (not the leader then).
    pub async fn check(&mut self) -> Result<bool, StoreError> {
        let Some((opts, loc)) = &self.pg else {
            return Ok(true);
        };
        if let Some(conn) = self.held.as_mut() {
            match tokio::time::timeout(LEADER_TRY_TIMEOUT, conn.ping()).await {
                Ok(Ok(())) => return Ok(true),
                Ok(Err(e)) => {
                    self.held = None;
                    return Err(from_sqlx(loc, e));
                }
                Err(_) => {
                    self.held = None;
                    return Err(StoreError::Unavailable(format!(
                        "{loc}: the leader's connection did not answer within {} s",
                        LEADER_TRY_TIMEOUT.as_secs()
                    )));
                }
            }
        }
        let attempt = async {
            let mut conn = PgConnection::connect_with(opts).await?;
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(LEADER_LOCK)
                .fetch_one(&mut conn)
                .await?;
            Ok::<_, sqlx::Error>(got.then_some(conn))
        };
        match tokio::time::timeout(LEADER_TRY_TIMEOUT, attempt).await {
            Ok(Ok(conn)) => {
                let got = conn.is_some();
                self.held = conn;
                Ok(got)
            }
            Ok(Err(e)) => Err(from_sqlx(loc, e)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "{loc}: no answer within {} s",
                LEADER_TRY_TIMEOUT.as_secs()
            ))),
        }
    }
}
