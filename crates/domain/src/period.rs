//! A period of time, `[from, to)`: what an assessment, a heat ranking or a report counts over,
//! and the period of the same length before it (to compare with).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A half-open period `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    /// The period of the same length just before this one.
    #[must_use]
    pub fn previous(self) -> Period {
        Period {
            from: self.from - (self.to - self.from),
            to: self.from,
        }
    }

    /// Whether `t` is in the period.
    #[must_use]
    pub fn contains(self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }

    /// The instant ages are measured at: the end of the period, or `now` if it has not ended.
    #[must_use]
    pub fn scored_at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.min(self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn previous_has_equal_length_and_ends_where_this_starts() {
        let to = DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let p = Period {
            from: to - Duration::days(7),
            to,
        };
        let q = p.previous();
        assert_eq!(q.to, p.from);
        assert_eq!(q.to - q.from, p.to - p.from);
        assert!(p.contains(p.from) && !p.contains(p.to));
        assert_eq!(p.scored_at(to + Duration::days(1)), to);
        assert_eq!(p.scored_at(p.from), p.from);
    }
}
