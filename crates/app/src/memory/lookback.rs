//! The look-backs to come (回头看): closed problems not re-inspected since, with when they
//! were verified. Read from the event log at start and kept by the commit hook, so the inbox
//! never scans the log.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use civmap_domain::{EventKind, ProblemId};

use crate::time::to_ms;

/// Closed problems awaiting their look-back, with their verification time (Unix ms).
#[derive(Debug, Default)]
pub struct LookbackList {
    verified_ms: HashMap<ProblemId, i64>,
}

impl LookbackList {
    /// Follows one event: a verification starts the wait; a re-inspection, a recurrence or a
    /// merge ends it.
    pub fn note(&mut self, id: ProblemId, kind: EventKind, at: DateTime<Utc>) {
        match kind {
            EventKind::Verified => {
                self.verified_ms.insert(id, to_ms(at));
            }
            EventKind::Reinspected | EventKind::Recurred | EventKind::Merged => {
                self.verified_ms.remove(&id);
            }
            _ => {}
        }
    }

    /// The problems verified no later than `latest_ms`: (problem, verified at, Unix ms).
    #[must_use]
    pub fn verified_by(&self, latest_ms: i64) -> Vec<(ProblemId, i64)> {
        self.verified_ms
            .iter()
            .filter(|(_, ms)| **ms <= latest_ms)
            .map(|(id, ms)| (*id, *ms))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::from_ms;

    #[test]
    fn a_verification_starts_the_wait_and_a_look_back_ends_it() {
        let mut l = LookbackList::default();
        let (a, b) = (ProblemId::new(), ProblemId::new());
        l.note(a, EventKind::Verified, from_ms(1_000));
        l.note(b, EventKind::Verified, from_ms(5_000));
        l.note(b, EventKind::Edited, from_ms(6_000));
        assert_eq!(l.verified_by(2_000), vec![(a, 1_000)]);
        let mut both = l.verified_by(5_000);
        both.sort_by_key(|(_, ms)| *ms);
        assert_eq!(both, vec![(a, 1_000), (b, 5_000)]);
        for ends in [
            EventKind::Reinspected,
            EventKind::Recurred,
            EventKind::Merged,
        ] {
            l.note(a, EventKind::Verified, from_ms(1_000));
            l.note(a, ends, from_ms(7_000));
            assert_eq!(l.verified_by(2_000), vec![], "{ends:?}");
        }
    }
}
