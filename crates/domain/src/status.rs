//! The lifecycle of a problem as a state machine.
//!
//! ```text
//!   reported ──dispatch──> dispatched ──rectify──> rectified ──verify──> closed
//!      │  ^                   │  ^   <──reject (返工)──┘                    │
//!      │  └──────┐            │  │                                       recur (回潮)
//!   escalate   dispatch    escalate dispatch                               v
//!      v         │            v  │                                     recurred ──dispatch──> dispatched
//!   escalated ───┴──────────────-┘ (also: escalated ──rectify──> rectified)
//! ```
//! A chief may also fix a reported or recurred problem on the spot (当场整改):
//! reported/recurred ──rectify──> rectified.
//! Any open problem (reported, dispatched, escalated, recurred) can be `merge`d into another as a
//! duplicate; merged is final.
//!
//! ```
//! use civmap_domain::{Action, Status};
//! assert_eq!(Status::Reported.apply(Action::Dispatch), Ok(Status::Dispatched));
//! let err = Status::Reported.apply(Action::Verify).unwrap_err();
//! assert_eq!(err.to_string(),
//!     "cannot verify a problem that is reported; allowed: dispatch, escalate, rectify, merge");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// Where a problem stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Status {
    /// Reported, not yet sent to anyone (发现).
    Reported = 0,
    /// Sent to the chief responsible, with a deadline (派单).
    Dispatched = 1,
    /// Passed up to the area-chief or street office (转给块长).
    Escalated = 2,
    /// Fixed by the chief, with evidence, waiting for verification (整改).
    Rectified = 3,
    /// Verified on site by someone other than the fixer; closed (核查结案).
    Closed = 4,
    /// Closed once, came back (回潮); open again.
    Recurred = 5,
    /// A duplicate, merged into another problem; final.
    Merged = 6,
}

/// What someone does to a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Dispatch,
    Escalate,
    Rectify,
    /// Verification failed: back to dispatched, counted as rework (返工).
    Reject,
    Verify,
    /// A look-back found the closed problem back (回潮).
    Recur,
    Merge,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 7] = [
        Status::Reported,
        Status::Dispatched,
        Status::Escalated,
        Status::Rectified,
        Status::Closed,
        Status::Recurred,
        Status::Merged,
    ];

    /// The actions allowed from this status.
    #[must_use]
    pub fn allowed(self) -> &'static [Action] {
        use Action::{Dispatch, Escalate, Merge, Rectify, Recur, Reject, Verify};
        match self {
            // A chief who finds a reported or recurred problem in its own zone may fix it on the
            // spot (当场整改 / 自行处置) instead of waiting for a dispatch; who may is the
            // service layer's rule (scope), the verification stays with someone else.
            Status::Reported | Status::Recurred => &[Dispatch, Escalate, Rectify, Merge],
            Status::Dispatched => &[Escalate, Rectify, Merge],
            Status::Escalated => &[Dispatch, Rectify, Merge],
            Status::Rectified => &[Reject, Verify],
            Status::Closed => &[Recur],
            Status::Merged => &[],
        }
    }

    /// The status after `action`, or an error naming the tried transition and the allowed ones.
    pub fn apply(self, action: Action) -> Result<Status, TransitionError> {
        if !self.allowed().contains(&action) {
            return Err(TransitionError {
                from: self,
                action,
                allowed: self.allowed().to_vec(),
            });
        }
        Ok(match action {
            Action::Dispatch | Action::Reject => Status::Dispatched,
            Action::Escalate => Status::Escalated,
            Action::Rectify => Status::Rectified,
            Action::Verify => Status::Closed,
            Action::Recur => Status::Recurred,
            Action::Merge => Status::Merged,
        })
    }

    /// Open problems still need work and count in heat scores and backlogs.
    #[must_use]
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::Merged)
    }

    /// The snake-case name used by the API and the database.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Dispatched => "dispatched",
            Status::Escalated => "escalated",
            Status::Rectified => "rectified",
            Status::Closed => "closed",
            Status::Recurred => "recurred",
            Status::Merged => "merged",
        }
    }

    /// The word a person reads on a print or in a spreadsheet (the web front end's dictionary
    /// says the same).
    #[must_use]
    pub fn name_zh(self) -> &'static str {
        match self {
            Status::Reported => "已上报",
            Status::Dispatched => "已派单",
            Status::Escalated => "已转办",
            Status::Rectified => "已整改",
            Status::Closed => "已结案",
            Status::Recurred => "回潮",
            Status::Merged => "已合并",
        }
    }

    /// The compact code used by the index (`0..=6`).
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status with this compact code.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Status> {
        Status::ALL.get(usize::from(code)).copied()
    }
}

impl Action {
    /// The snake-case name used by the API and the event log.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Dispatch => "dispatch",
            Action::Escalate => "escalate",
            Action::Rectify => "rectify",
            Action::Reject => "reject",
            Action::Verify => "verify",
            Action::Recur => "recur",
            Action::Merge => "merge",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownValue {
                field: "status",
                value: s.to_owned(),
                allowed: Status::ALL.map(Status::as_str).join(", "),
            })
    }
}

/// An action that is not allowed from the current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a problem that is {from}; allowed: {}", list(allowed))]
pub struct TransitionError {
    pub from: Status,
    pub action: Action,
    pub allowed: Vec<Action>,
}

fn list(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "none (final status)".to_owned();
    }
    actions
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn happy_path_with_rework_and_recurrence() {
        let mut s = Status::Reported;
        for (a, want) in [
            (Action::Dispatch, Status::Dispatched),
            (Action::Rectify, Status::Rectified),
            (Action::Reject, Status::Dispatched),
            (Action::Rectify, Status::Rectified),
            (Action::Verify, Status::Closed),
            (Action::Recur, Status::Recurred),
            (Action::Escalate, Status::Escalated),
            (Action::Rectify, Status::Rectified),
            (Action::Verify, Status::Closed),
        ] {
            s = s.apply(a).unwrap();
            assert_eq!(s, want);
        }
    }

    #[test]
    fn apply_agrees_with_allowed_for_every_pair() {
        let actions = [
            Action::Dispatch,
            Action::Escalate,
            Action::Rectify,
            Action::Reject,
            Action::Verify,
            Action::Recur,
            Action::Merge,
        ];
        for s in Status::ALL {
            for a in actions {
                let r = s.apply(a);
                assert_eq!(r.is_ok(), s.allowed().contains(&a), "{s} {a}");
                if let Err(e) = r {
                    assert_eq!(e.allowed, s.allowed());
                }
            }
        }
        assert!(
            Status::Merged
                .apply(Action::Dispatch)
                .unwrap_err()
                .to_string()
                .contains("final")
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert!("open".parse::<Status>().is_err());
    }
}
