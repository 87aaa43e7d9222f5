//! The rectification workflow around the lifecycle steps: automatic dispatch of new reports,
//! the evidence a step needs, recurrence links and duplicate hints, escalation of overdue
//! problems, the look-back re-inspection (回头看), merges and the reporter's answer after
//! verification (回访).
//!
//! System steps (automatic dispatch and escalation) are recorded in the event log with no
//! actor and a note saying they were automatic.

pub mod dispatch;
pub mod escalation;
pub mod evidence;
pub mod feedback;
pub mod lookback;
pub mod merge;
pub mod recurrence;
