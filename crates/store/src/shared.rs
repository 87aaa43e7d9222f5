//! What the store handles and the writer task share: where the database is, the counters and
//! the commit hook.
//!
//! Below both, so that the writer needs nothing of the handle that queues work for it.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::Location;
use crate::timings::Timings;
use crate::types::{Backend, Change, StoreStats};

/// Called by the writer with every committed change, in commit order. See
/// [`Store::on_commit`](crate::store::Store::on_commit).
pub type CommitHook = Arc<dyn Fn(&[Change]) + Send + Sync>;

/// What the store handles and its writer task share.
pub(crate) struct Shared {
    pub(crate) loc: Location,
    pub(crate) backend: Backend,
    pub(crate) stats: Counters,
    pub(crate) timings: Timings,
    hook: Mutex<Option<CommitHook>>,
}

impl Shared {
    pub(crate) fn new(loc: Location, backend: Backend) -> Self {
        Shared {
            loc,
            backend,
            stats: Counters::default(),
            timings: Timings::default(),
            hook: Mutex::new(None),
        }
    }

    pub(crate) fn hook(&self) -> Option<CommitHook> {
        self.hook.lock().ok().and_then(|h| h.clone())
    }

    /// Replaces the commit hook (see [`crate::store::Store::on_commit`]).
    pub(crate) fn set_hook(&self, hook: CommitHook) {
        if let Ok(mut h) = self.hook.lock() {
            *h = Some(hook);
        }
    }
}

/// The counters behind [`crate::store::Store::stats`]: the handles count what they queue, the
/// writer what it commits.
#[derive(Default)]
pub(crate) struct Counters {
    queued: AtomicU64,
    batches: AtomicU64,
    writes: AtomicU64,
    write_errors: AtomicU64,
    problems: AtomicU64,
    last_seq: AtomicI64,
}

impl Counters {
    /// Starts from what the database holds when the store opens.
    pub(crate) fn resume(&self, problems: u64, last_seq: i64) {
        self.problems.store(problems, Ordering::Relaxed);
        self.last_seq.store(last_seq, Ordering::Relaxed);
    }

    /// Problems stored, as far as this process knows.
    pub(crate) fn problems(&self) -> u64 {
        self.problems.load(Ordering::Relaxed)
    }

    pub(crate) fn enqueued(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dequeued(&self, n: usize) {
        self.queued.fetch_sub(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn committed(&self, ok: usize, failed: usize, created: usize, changes: &[Change]) {
        if ok > 0 {
            self.batches.fetch_add(1, Ordering::Relaxed);
        }
        self.writes.fetch_add(ok as u64, Ordering::Relaxed);
        self.write_errors
            .fetch_add(failed as u64, Ordering::Relaxed);
        self.problems.fetch_add(created as u64, Ordering::Relaxed);
        let newest = changes
            .iter()
            .filter_map(|c| match c {
                Change::Problem { event, .. } | Change::PublicText { event, .. } => Some(event.seq),
                Change::Imported {
                    problems,
                    first_seq,
                    ..
                } => Some(first_seq + problems.len() as i64 - 1),
                _ => None,
            })
            .max();
        if let Some(seq) = newest {
            self.last_seq.fetch_max(seq, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> StoreStats {
        StoreStats {
            queue_depth: self.queued.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            problems: self.problems.load(Ordering::Relaxed),
            last_event_seq: self.last_seq.load(Ordering::Relaxed),
        }
    }
}
