//! The doorbell replicas wait on: PostgreSQL `LISTEN` on the channel the writer notifies after
//! every transaction that wrote events or changes (`NOTIFY` carries no payload; what changed is
//! read from the logs, in order, so a lost or merged ring loses nothing). SQLite has no such
//! thing: [`Store::doorbell`] is `None` there and followers rely on their timer.
//!
//! The listening connection is a pool of one of its own (a `LISTEN` lives as long as its
//! connection), not one of the readers'.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use crate::error::{Location, StoreError, from_sqlx};
use crate::reads::Reads;
use crate::store::Store;
use crate::writer::DOORBELL_CHANNEL;

/// How long connecting the listener may take before the wait fails (the follower's timer keeps
/// it current meanwhile).
const LISTEN_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a [`Doorbell::wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ring {
    /// At least one transaction that wrote to the logs committed.
    Rang,
    /// The listening connection was (re)established: rings may have been missed meanwhile, so
    /// read the logs.
    Connected,
}

/// A PostgreSQL `LISTEN` on the writers' channel, reconnected as needed.
pub struct Doorbell {
    pool: PgPool,
    listener: Option<PgListener>,
    loc: Location,
}

impl std::fmt::Debug for Doorbell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doorbell")
            .field("location", &self.loc.to_string())
            .field("connected", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The doorbell of this database (PostgreSQL), `None` on SQLite. Connects on the first
    /// [`Doorbell::wait`].
    #[must_use]
    pub fn doorbell(&self) -> Option<Doorbell> {
        match &**self.reads() {
            Reads::Pg(pool) => Some(Doorbell {
                pool: PgPoolOptions::new()
                    .max_connections(1)
                    .min_connections(0)
                    .acquire_timeout(LISTEN_CONNECT_TIMEOUT)
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .connect_lazy_with((*pool.connect_options()).clone()),
                listener: None,
                loc: self.location().clone(),
            }),
            Reads::Sqlite(_) => None,
        }
    }
}

impl Doorbell {
    /// Waits for the next ring. Connects first when not connected (answering
    /// [`Ring::Connected`] at once); [`StoreError::Unavailable`] when the connection failed or
    /// was lost (call again, after a pause, to reconnect).
    pub async fn wait(&mut self) -> Result<Ring, StoreError> {
        let Some(listener) = self.listener.as_mut() else {
            let mut l = PgListener::connect_with(&self.pool)
                .await
                .map_err(|e| from_sqlx(&self.loc, e))?;
            l.listen(DOORBELL_CHANNEL)
                .await
                .map_err(|e| from_sqlx(&self.loc, e))?;
            self.listener = Some(l);
            return Ok(Ring::Connected);
        };
        match listener.try_recv().await {
            Ok(Some(_)) => {
                // Rings that came together are one: the logs are read whole anyway.
                while listener.next_buffered().is_some() {}
                Ok(Ring::Rang)
            }
            // Lost and reconnected (sqlx listens again by itself).
            Ok(None) => Ok(Ring::Connected),
            Err(e) => {
                self.listener = None;
                Err(from_sqlx(&self.loc, e))
            }
        }
    }
}
