//! Limits on sign-in attempts: per client address (a token bucket) and per account name (a
//! lockout after repeated failures, whether or not the name exists, so the answers tell
//! nothing about which names exist). Both live in the process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::AuthConfig;
use crate::ratelimit::RateLimiter;

/// Account names with failures kept before stale ones are dropped.
const MAX_TRACKED_NAMES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Per-address rate limit and per-name lockout of sign-in attempts.
#[derive(Debug)]
pub struct LoginGuard {
    per_ip: RateLimiter,
    names: Mutex<HashMap<String, Failures>>,
    max_failures: u32,
    lockout: Duration,
}

impl LoginGuard {
    /// Limits from the `[auth]` configuration.
    #[must_use]
    pub fn new(c: &AuthConfig) -> Self {
        Self {
            per_ip: RateLimiter::new(c.login_per_minute, c.login_per_minute),
            names: Mutex::new(HashMap::new()),
            max_failures: c.lockout_failures.max(1),
            lockout: Duration::from_secs(c.lockout_s.max(1)),
        }
    }

    /// Takes an attempt from the address's bucket; `Err(seconds)` when it is empty.
    pub fn check_ip(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        self.per_ip.check_at(ip, now)
    }

    /// `Some(seconds left)` while `name` is locked at `now`.
    #[must_use]
    pub fn locked(&self, name: &str, now: Instant) -> Option<u64> {
        let g = self.names.lock();
        let until = g.get(name)?.locked_until?;
        (until > now).then(|| until.duration_since(now).as_secs().max(1))
    }

    /// Records a failed attempt; `Some(seconds)` when it locks the name.
    pub fn failed(&self, name: &str, now: Instant) -> Option<u64> {
        let mut g = self.names.lock();
        if g.len() >= MAX_TRACKED_NAMES {
            let lockout = self.lockout;
            g.retain(|_, f| {
                f.locked_until.is_some_and(|u| u > now)
                    || now.saturating_duration_since(f.last) < lockout
            });
        }
        let f = g.entry(name.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        // A lock that ran out, or failures long ago, start the count again.
        if f.locked_until.is_some_and(|u| u <= now)
            || now.saturating_duration_since(f.last) >= self.lockout
        {
            f.count = 0;
            f.locked_until = None;
        }
        f.count += 1;
        f.last = now;
        if f.count >= self.max_failures {
            f.locked_until = Some(now + self.lockout);
            return Some(self.lockout.as_secs().max(1));
        }
        None
    }

    /// Forgets the failures of `name` (a successful sign-in).
    pub fn succeeded(&self, name: &str) {
        self.names.lock().remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_after_repeated_failures_then_release() {
        let g = LoginGuard::new(&AuthConfig {
            lockout_failures: 3,
            lockout_s: 60,
            ..AuthConfig::default()
        });
        let t0 = Instant::now();
        assert_eq!(g.failed("wang", t0), None);
        assert_eq!(g.failed("wang", t0), None);
        assert_eq!(g.locked("wang", t0), None);
        assert_eq!(g.failed("wang", t0), Some(60), "the third failure locks");
        assert_eq!(g.locked("wang", t0 + Duration::from_secs(10)), Some(50));
        assert_eq!(g.locked("li", t0), None, "other names are not locked");
        let later = t0 + Duration::from_secs(61);
        assert_eq!(g.locked("wang", later), None, "the lock runs out");
        assert_eq!(g.failed("wang", later), None, "and the count starts again");
        g.succeeded("wang");
        assert_eq!(g.failed("wang", later), None);
        assert_eq!(g.failed("wang", later), None);
        assert!(g.failed("wang", later).is_some());
    }
}
