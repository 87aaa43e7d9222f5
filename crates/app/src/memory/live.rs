//! The live-change broadcast: every committed change of a problem, as live pages (the inbox's
//! server-sent events) are told of it. Each listener filters by its own scope.

use chrono::{DateTime, Utc};
use civmap_domain::{EventKind, ProblemId, Status, UserId};
use serde::Serialize;

/// Changes a slow listener may fall behind by before it is told it lagged (and reloads).
pub const LIVE_BUFFER: usize = 1024;

/// A committed change of a problem.
#[derive(Debug, Clone, Serialize)]
pub struct LiveChange {
    pub id: ProblemId,
    /// The event that recorded it (`created`, `dispatched`, ...).
    pub kind: EventKind,
    pub status: Status,
    pub version: i64,
    pub assignee: Option<UserId>,
    pub at: DateTime<Utc>,
}
