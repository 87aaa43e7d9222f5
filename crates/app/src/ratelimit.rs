//! Per-address token buckets for anonymous writes (problem reports, Open311 POST).
//!
//! In-process and approximate on purpose: one server process, a few thousand addresses. A
//! bucket holds up to `burst` tokens and refills at `per_minute / 60` tokens per second; a write
//! takes one token or is refused with the seconds until the next token.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use parking_lot::Mutex;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets keyed by client address (`None`: the address is unknown, e.g. in-process
/// tests; all such callers share one bucket).
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<Option<IpAddr>, Bucket>>,
}

/// Buckets kept before full (idle) ones are dropped.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    /// `per_minute` sustained writes with bursts of `burst`.
    #[must_use]
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip` at `now`; `Err(seconds to wait)` when the bucket is empty.
    pub fn check_at(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        let mut map = self.buckets.lock();
        if map.len() >= MAX_BUCKETS {
            let (burst, rate) = (self.burst, self.per_second);
            map.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < burst
            });
        }
        let b = map.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / self.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    /// [`RateLimiter::check_at`] now.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_address() {
        let rl = RateLimiter::new(60, 3); // one token per second
        let t0 = Instant::now();
        let a: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        let b: Option<IpAddr> = Some("10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert!(rl.check_at(a, t0).is_ok());
        }
        assert_eq!(rl.check_at(a, t0), Err(1));
        assert!(
            rl.check_at(b, t0).is_ok(),
            "another address has its own bucket"
        );
        assert!(rl.check_at(a, t0 + Duration::from_millis(1_100)).is_ok());
        assert!(rl.check_at(a, t0 + Duration::from_millis(1_200)).is_err());
        // After a long pause the bucket is full again, but not fuller than the burst.
        let later = t0 + Duration::from_hours(1);
        for _ in 0..3 {
            assert!(rl.check_at(a, later).is_ok());
        }
        assert!(rl.check_at(a, later).is_err());
    }
}
