//! Where the group-commit writer spends a write's time, for `/metrics`: how long writes wait in
//! the queue, how long a batch's statements take, how long `COMMIT` takes (on SQLite with
//! `synchronous=FULL` that is the fsync of the write-ahead log), how long the commit hook holds
//! the caller (memory updates), the whole time a write spends in the store, and batch sizes.
//! These say where a slow write's time went: a long queue wait behind one slow fsync looks
//! different from slow statements or a commit hook waiting for a lock.

use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the duration histograms, seconds: 50 µs to 2.5 s.
pub const DURATION_BOUNDS_S: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
    0.25, 0.5, 1.0, 2.5,
];

/// Upper bounds of the batch size histogram, writes per transaction.
pub const BATCH_BOUNDS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A histogram with fixed bounds: non-cumulative counts per bucket (the last is +Inf).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub bounds: &'static [f64],
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, v: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|&b| v <= b)
            .unwrap_or(self.bounds.len());
        self.counts[slot] += 1;
        self.sum += v;
        self.count += 1;
    }

    /// The bucket bound below which `q` (0..=1) of the observations fall (`+Inf` as
    /// `f64::INFINITY`); `None` when empty. As precise as the buckets.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let want = (q * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Some(self.bounds.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        Some(f64::INFINITY)
    }
}

/// The writer's histograms (see the module doc), as read by [`crate::Store::write_timings`].
#[derive(Debug, Clone, PartialEq)]
pub struct WriteTimings {
    /// Per write: from queued to taken into a batch.
    pub queue_wait_s: Histogram,
    /// Per batch: the statements, from `BEGIN` to before `COMMIT`.
    pub statements_s: Histogram,
    /// Per batch: `COMMIT` (the fsync, on SQLite with `synchronous=FULL`).
    pub commit_s: Histogram,
    /// Per batch: the commit hook (memory updates) before the writers are answered.
    pub hook_s: Histogram,
    /// Per write: from queued to answered.
    pub write_s: Histogram,
    /// Per batch: writes in it.
    pub batch_size: Histogram,
}

impl Default for WriteTimings {
    fn default() -> Self {
        Self {
            queue_wait_s: Histogram::new(&DURATION_BOUNDS_S),
            statements_s: Histogram::new(&DURATION_BOUNDS_S),
            commit_s: Histogram::new(&DURATION_BOUNDS_S),
            hook_s: Histogram::new(&DURATION_BOUNDS_S),
            write_s: Histogram::new(&DURATION_BOUNDS_S),
            batch_size: Histogram::new(&BATCH_BOUNDS),
        }
    }
}

/// What one batch took, reported by the writer once the batch is answered.
#[derive(Debug, Default)]
pub(crate) struct BatchTimes {
    pub(crate) queue_waits: Vec<Duration>,
    pub(crate) statements: Duration,
    pub(crate) commit: Duration,
    pub(crate) hook: Duration,
    pub(crate) answered: Vec<Duration>,
}

/// The writer's histograms behind a lock taken once per batch.
#[derive(Debug, Default)]
pub(crate) struct Timings(Mutex<WriteTimings>);

impl Timings {
    pub(crate) fn record(&self, b: &BatchTimes) {
        let Ok(mut t) = self.0.lock() else { return };
        for w in &b.queue_waits {
            t.queue_wait_s.observe(w.as_secs_f64());
        }
        for w in &b.answered {
            t.write_s.observe(w.as_secs_f64());
        }
        t.statements_s.observe(b.statements.as_secs_f64());
        t.commit_s.observe(b.commit.as_secs_f64());
        t.hook_s.observe(b.hook.as_secs_f64());
        t.batch_size.observe(b.answered.len() as f64);
    }

    pub(crate) fn snapshot(&self) -> WriteTimings {
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_quantiles() {
        let t = Timings::default();
        t.record(&BatchTimes {
            queue_waits: vec![Duration::from_micros(10), Duration::from_millis(3)],
            statements: Duration::from_micros(300),
            commit: Duration::from_millis(5),
            hook: Duration::from_micros(20),
            answered: vec![Duration::from_millis(6), Duration::from_millis(9)],
        });
        let s = t.snapshot();
        assert_eq!(s.queue_wait_s.count, 2);
        assert_eq!(s.queue_wait_s.counts[0], 1, "10 µs ≤ 50 µs");
        assert_eq!(s.batch_size.counts[1], 1, "two writes: the ≤ 2 bucket");
        assert_eq!(s.commit_s.quantile(0.99), Some(0.008));
        assert_eq!(s.write_s.quantile(0.5), Some(0.008));
        assert_eq!(s.write_s.quantile(1.0), Some(0.016));
        assert!(Histogram::new(&BATCH_BOUNDS).quantile(0.5).is_none());
    }
}
