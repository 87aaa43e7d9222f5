//! The event log: one row per change to a problem. It is the rectification ledger (整改台账) and
//! the audit trail; the store only ever appends to it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::problem::{ProblemId, UserId};
use crate::status::Action;
use crate::validation::ValidationError;

/// What happened to a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Dispatched,
    Escalated,
    Rectified,
    Rejected,
    Verified,
    /// Reopened as a recurrence (回潮).
    Recurred,
    Merged,
    /// Fields edited (description, category, severity, location) without a status change.
    Edited,
    /// A look-back re-inspection (回头看) found the spot still clean.
    Reinspected,
    /// The reporter's answer after verification (回访): `data.solved` says whether it is solved.
    Feedback,
    /// A notice about the problem that changes nothing of it.
    Notice,
}

impl EventKind {
    pub const ALL: [EventKind; 12] = [
        EventKind::Created,
        EventKind::Dispatched,
        EventKind::Escalated,
        EventKind::Rectified,
        EventKind::Rejected,
        EventKind::Verified,
        EventKind::Recurred,
        EventKind::Merged,
        EventKind::Edited,
        EventKind::Reinspected,
        EventKind::Feedback,
        EventKind::Notice,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Dispatched => "dispatched",
            EventKind::Escalated => "escalated",
            EventKind::Rectified => "rectified",
            EventKind::Rejected => "rejected",
            EventKind::Verified => "verified",
            EventKind::Recurred => "recurred",
            EventKind::Merged => "merged",
            EventKind::Edited => "edited",
            EventKind::Reinspected => "reinspected",
            EventKind::Feedback => "feedback",
            EventKind::Notice => "notice",
        }
    }
}

impl From<Action> for EventKind {
    fn from(a: Action) -> Self {
        match a {
            Action::Dispatch => EventKind::Dispatched,
            Action::Escalate => EventKind::Escalated,
            Action::Rectify => EventKind::Rectified,
            Action::Reject => EventKind::Rejected,
            Action::Verify => EventKind::Verified,
            Action::Recur => EventKind::Recurred,
            Action::Merge => EventKind::Merged,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownValue {
                field: "kind",
                value: s.to_owned(),
                allowed: EventKind::ALL.map(EventKind::as_str).join(", "),
            })
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log (assigned by the store, increasing).
    pub seq: i64,
    pub problem: ProblemId,
    pub kind: EventKind,
    /// The acting user; `None` for the system (automatic dispatch, escalation, import).
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
    /// Free-text note (the rectification description, the rejection reason...).
    pub note: String,
    /// Evidence: content hashes of photos attached to this step.
    pub photos: Vec<String>,
    /// Structured details (e.g. the fields an edit changed, the problem merged into).
    pub data: serde_json::Value,
}
