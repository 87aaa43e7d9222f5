//! One leader among replicas for the background jobs (escalation, and whatever periodic job
//! comes): the replica holding the store's leader lock (`civmap_store::Leadership`, a
//! session-level PostgreSQL advisory lock on a connection of its own). The others try again
//! every [`LEADER_RETRY`], so when the leader dies — its connection, and the lock with it, is
//! gone — another one takes over within seconds. On SQLite the one process always leads.
//!
//! Two leaders for a moment (a network partition the server has not noticed yet) do no harm:
//! every job writes through versioned transitions, so the second write of the same step fails
//! with a conflict instead of doing it twice.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::app::App;

/// How often a replica checks its lead, or tries to take it.
pub const LEADER_RETRY: Duration = Duration::from_secs(2);

impl App {
    /// Whether this replica runs the background jobs now.
    #[must_use]
    pub fn is_leader(&self) -> bool {
        self.inner.leader.load(Ordering::Acquire)
    }

    /// Starts checking and claiming the lead every [`LEADER_RETRY`]. The task holds the service
    /// weakly and ends with it.
    pub(crate) fn start_leadership(&self) {
        if self.store().backend() == civmap_store::Backend::Sqlite {
            self.inner.leader.store(true, Ordering::Release);
            return;
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let mut lead = self.store().leadership();
        let weak = self.downgrade();
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                let Some(app) = weak.upgrade() else {
                    return;
                };
                let now = match lead.check().await {
                    Ok(held) => {
                        failing = false;
                        held
                    }
                    Err(e) => {
                        if !failing {
                            tracing::warn!(error = %e, "cannot claim or keep the lead; not running background jobs");
                        }
                        failing = true;
                        false
                    }
                };
                let before = app.inner.leader.swap(now, Ordering::AcqRel);
                if now != before {
                    if now {
                        tracing::info!("this replica leads: it runs the background jobs");
                    } else {
                        tracing::warn!("this replica no longer leads");
                    }
                }
                drop(app);
                tokio::time::sleep(LEADER_RETRY).await;
            }
        });
    }
}
