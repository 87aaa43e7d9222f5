//! How far a replica has applied the database's logs, and which event numbers its own commit
//! hook applied (`crate::follow` reads and applies the logs; this is only the bookkeeping both
//! it and the commit hook share).

use std::collections::BTreeMap;
use std::time::Instant;

use civmap_store::LogHeads;

/// How far this replica has applied the logs.
#[derive(Debug, Default)]
pub(crate) struct FollowState {
    /// Every event up to this number is in memory.
    pub(crate) events: i64,
    /// Every change-log entry up to this number is in memory.
    pub(crate) changes: i64,
    /// Event numbers above `events` the commit hook applied (first → last, inclusive).
    own: BTreeMap<i64, i64>,
    /// The newest numbers seen in the database.
    pub(crate) heads: LogHeads,
    /// Changes of rows that are not problems this replica applied itself (its commit hook,
    /// its category edits): the follower applies rows it re-read only when this did not move
    /// while it read them, so it never puts back a row older than this replica's own write.
    pub(crate) local: u64,
    /// When a round last ended with nothing left to read.
    pub(crate) caught_up_at: Option<Instant>,
}

impl FollowState {
    /// The commit hook applies events `first..=last` (this replica's write): `false` when the
    /// follower applied them already (it read the log between `COMMIT` and the hook).
    pub(crate) fn claim(&mut self, first: i64, last: i64) -> bool {
        if first <= self.events {
            return false;
        }
        self.own.insert(first, last);
        self.heads.events = self.heads.events.max(last);
        self.advance();
        true
    }

    /// Whether the commit hook applied event `seq`.
    pub(crate) fn is_own(&self, seq: i64) -> bool {
        self.own
            .range(..=seq)
            .next_back()
            .is_some_and(|(_, last)| seq <= *last)
    }

    /// Event `seq` is in memory.
    pub(crate) fn passed(&mut self, seq: i64) {
        self.events = self.events.max(seq);
        let upto = self.events;
        self.own.retain(|_, last| *last > upto);
        self.advance();
    }

    /// Moves over the hook's events that follow on without a gap.
    fn advance(&mut self) {
        while let Some((&first, &last)) = self.own.first_key_value() {
            if first > self.events + 1 {
                break;
            }
            self.events = self.events.max(last);
            self.own.pop_first();
        }
    }

    /// Memory was (re)loaded from the database as of `heads`.
    pub(crate) fn restart(&mut self, heads: LogHeads) {
        self.events = heads.events;
        self.changes = heads.changes;
        // After a restore the numbers may start lower: the hook's old claims mean nothing.
        self.own.clear();
        self.heads = heads;
        self.caught_up_at = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(events: i64) -> FollowState {
        let mut f = FollowState::default();
        f.restart(LogHeads { events, changes: 0 });
        f
    }

    #[test]
    fn the_hooks_events_that_follow_on_move_the_number() {
        let mut f = at(10);
        assert!(f.claim(11, 11));
        assert_eq!(f.events, 11);
        // An import's range right after.
        assert!(f.claim(12, 20));
        assert_eq!(f.events, 20);
        assert!(f.own.is_empty());
    }

    #[test]
    fn a_gap_waits_for_the_follower_and_its_events_are_passed_over() {
        let mut f = at(10);
        // 11 and 12 were written by another replica: not yet read.
        assert!(f.claim(13, 13));
        assert_eq!(f.events, 10);
        assert!(f.is_own(13) && !f.is_own(12) && !f.is_own(14));
        f.passed(11);
        assert_eq!(f.events, 11);
        f.passed(12);
        // 13 is the hook's: the number moves over it at once.
        assert_eq!(f.events, 13);
        assert!(!f.is_own(13));
        assert!(f.own.is_empty());
    }

    #[test]
    fn what_the_follower_applied_first_the_hook_skips() {
        let mut f = at(10);
        f.passed(11);
        assert!(
            !f.claim(11, 11),
            "the follower read it between COMMIT and the hook"
        );
        // A range the follower began: skipped whole, the follower applies the rest.
        assert!(!f.claim(11, 15));
        assert_eq!(f.events, 11);
        assert!(!f.is_own(12));
    }

    #[test]
    fn a_reload_forgets_the_hooks_claims() {
        let mut f = at(10);
        assert!(f.claim(20, 20));
        f.restart(LogHeads {
            events: 5,
            changes: 2,
        });
        assert_eq!((f.events, f.changes), (5, 2));
        assert!(!f.is_own(20), "numbers may start lower after a restore");
    }
}
