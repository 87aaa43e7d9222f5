//! Assessment (综合评价): the figures a street office is judged by, for any group of problems
//! (a zone, a chief, the whole street) over any period, computed from the problems and their
//! lifecycle steps.
//!
//! How each figure is counted (the period is `[from, to)`):
//! - `reported`: problems reported in the period (merged duplicates not counted);
//! - `closed`: verifications in the period (核查结案);
//! - `due`: problems whose deadline falls in the period; `closed_on_time`: those of them
//!   closed at their deadline, i.e. whose last verification, reopening or merge at or before
//!   the deadline is a verification. `on_time_rate = closed_on_time / due`: divided by the
//!   cases *due*, as China's urban-management assessment standard counts the 按期结案率.
//!   A problem verified, then reopened (a look-back that found it `came_back`, 回潮, or a
//!   recurrence) gets a new deadline; its earlier verification does not make it closed on time
//!   for that deadline: unless verified again by then it is not closed on time, and its
//!   reopening counts under `recurred` in the period it happened;
//! - `rectified`, `rejected`: rectifications and rejections in the period;
//!   `rework_rate = rejected / rectified` (返工率: the share of fixes sent back);
//! - `recurred`: closed problems reopened in the period plus new reports in the period linked
//!   to a closed problem as its recurrence (回潮); `recurrence_rate = recurred / closed`;
//! - `median_fix_hours`: median time from report to verification of the problems verified
//!   in the period (wall-clock hours);
//! - `open`, `overdue`: the backlog at the end of the period: problems reported before `to`
//!   that were not closed at `to`, and those of them past their deadline at `to`.
//!
//! Rates are `None` when their denominator is 0.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::event::EventKind;
pub use crate::period::Period;
use crate::problem::ProblemId;

/// One problem as the assessment sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: ProblemId,
    pub reported_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    /// A new report linked to a closed problem as its recurrence.
    pub recurrence_of: Option<ProblemId>,
    /// Lifecycle steps (rectified, rejected, verified, recurred, merged), oldest first.
    pub steps: Vec<(EventKind, DateTime<Utc>)>,
}

/// The figures of one group over one period (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Figures {
    pub reported: u32,
    pub closed: u32,
    pub due: u32,
    pub closed_on_time: u32,
    pub on_time_rate: Option<f64>,
    pub rectified: u32,
    pub rejected: u32,
    pub rework_rate: Option<f64>,
    pub recurred: u32,
    pub recurrence_rate: Option<f64>,
    pub median_fix_hours: Option<f64>,
    pub open: u32,
    pub overdue: u32,
}

fn rate(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| f64::from(num) / f64::from(den))
}

impl Case {
    fn merged(&self) -> bool {
        self.steps.iter().any(|(k, _)| *k == EventKind::Merged)
    }

    /// Whether the problem was closed at `t`: its last verification, recurrence or merge
    /// before `t` was a verification (a merged duplicate is not open either).
    fn closed_at(&self, t: DateTime<Utc>) -> bool {
        self.last_closing_step(|at| at < t)
    }

    /// Whether the problem was closed on time for `deadline`: as [`Case::closed_at`], with a
    /// verification at the deadline itself in time. A verification followed by a reopening
    /// before the deadline does not count.
    fn closed_by(&self, deadline: DateTime<Utc>) -> bool {
        self.last_closing_step(|at| at <= deadline)
    }

    /// Whether the last verification, recurrence or merge at an instant `within` accepts was
    /// a verification or a merge.
    fn last_closing_step(&self, within: impl Fn(DateTime<Utc>) -> bool) -> bool {
        self.steps
            .iter()
            .rev()
            .find(|(k, at)| {
                within(*at)
                    && matches!(
                        k,
                        EventKind::Verified | EventKind::Recurred | EventKind::Merged
                    )
            })
            .is_some_and(|(k, _)| matches!(k, EventKind::Verified | EventKind::Merged))
    }
}

/// The figures of `cases` over `period`.
#[must_use]
pub fn figures<'a>(cases: impl IntoIterator<Item = &'a Case>, period: Period) -> Figures {
    let mut f = Figures::default();
    let mut fix_hours = Vec::new();
    for c in cases {
        let merged = c.merged();
        if period.contains(c.reported_at) && !merged {
            f.reported += 1;
            if c.recurrence_of.is_some() {
                f.recurred += 1;
            }
        }
        if let Some(d) = c.deadline
            && period.contains(d)
            && !merged
        {
            f.due += 1;
            if c.closed_by(d) {
                f.closed_on_time += 1;
            }
        }
        for &(k, at) in &c.steps {
            if !period.contains(at) {
                continue;
            }
            match k {
                EventKind::Verified => {
                    f.closed += 1;
                    #[allow(clippy::cast_precision_loss)]
                    fix_hours.push((at - c.reported_at).num_seconds() as f64 / 3600.0);
                }
                EventKind::Rectified => f.rectified += 1,
                EventKind::Rejected => f.rejected += 1,
                EventKind::Recurred => f.recurred += 1,
                _ => {}
            }
        }
        if c.reported_at < period.to && !merged && !c.closed_at(period.to) {
            f.open += 1;
            if c.deadline.is_some_and(|d| d < period.to) {
                f.overdue += 1;
            }
        }
    }
    f.on_time_rate = rate(f.closed_on_time, f.due);
    f.rework_rate = rate(f.rejected, f.rectified);
    f.recurrence_rate = rate(f.recurred, f.closed);
    f.median_fix_hours = median(&mut fix_hours);
    f
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKind::{Merged, Rectified, Recurred, Rejected, Verified};
    use chrono::{Duration, TimeZone};

    fn day(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
    }

    fn case(
        reported: DateTime<Utc>,
        deadline: Option<DateTime<Utc>>,
        steps: &[(EventKind, DateTime<Utc>)],
    ) -> Case {
        Case {
            id: ProblemId::new(),
            reported_at: reported,
            deadline,
            recurrence_of: None,
            steps: steps.to_vec(),
        }
    }

    /// A week (9-16 November) with six problems, every figure counted by hand below.
    #[test]
    fn figures_of_a_hand_counted_week() {
        let week = Period {
            from: day(9, 0),
            to: day(16, 0),
        };
        let cases = [
            // A: reported Monday, due Tuesday, fixed and verified Tuesday: on time, 26 h.
            case(
                day(9, 8),
                Some(day(10, 18)),
                &[(Rectified, day(10, 9)), (Verified, day(10, 10))],
            ),
            // B: due Wednesday, rejected once, verified Thursday: late, 72 h.
            case(
                day(9, 12),
                Some(day(11, 12)),
                &[
                    (Rectified, day(10, 12)),
                    (Rejected, day(10, 15)),
                    (Rectified, day(11, 16)),
                    (Verified, day(12, 12)),
                ],
            ),
            // C: reported the week before, due this Monday, still open: overdue.
            case(day(5, 10), Some(day(9, 10)), &[]),
            // D: closed last week, came back (recurred) this Wednesday: open, not yet due.
            case(
                day(2, 10),
                Some(day(20, 10)),
                &[
                    (Rectified, day(3, 10)),
                    (Verified, day(4, 10)),
                    (Recurred, day(11, 9)),
                ],
            ),
            // E: a duplicate merged into A: counts nowhere.
            case(day(9, 9), Some(day(10, 18)), &[(Merged, day(9, 10))]),
            // F: a new report on Friday flagged as a recurrence of an older problem, due next week.
            Case {
                recurrence_of: Some(ProblemId::new()),
                ..case(day(13, 9), Some(day(17, 9)), &[])
            },
            // G: reported next week: counts nowhere this week.
            case(day(17, 9), Some(day(18, 9)), &[]),
        ];
        let f = figures(&cases, week);
        assert_eq!(f.reported, 3, "A, B, F");
        assert_eq!(f.closed, 2, "A, B");
        assert_eq!(f.due, 3, "A, B, C");
        assert_eq!(f.closed_on_time, 1, "A");
        assert_eq!(f.on_time_rate, Some(1.0 / 3.0));
        assert_eq!((f.rectified, f.rejected), (3, 1));
        assert_eq!(f.rework_rate, Some(1.0 / 3.0));
        assert_eq!(f.recurred, 2, "D reopened, F linked");
        assert_eq!(f.recurrence_rate, Some(1.0));
        assert_eq!(
            f.median_fix_hours,
            Some(49.0),
            "the middle of 26 h and 72 h"
        );
        assert_eq!(f.open, 3, "C, D, F");
        assert_eq!(f.overdue, 1, "C");

        // The week before (2-9 November): D reported and closed, C reported.
        let prev = figures(&cases, week.previous());
        assert_eq!(week.previous().from, day(2, 0));
        assert_eq!(prev.reported, 2, "C, D");
        assert_eq!(prev.closed, 1, "D");
        assert_eq!(prev.due, 0);
        assert_eq!(prev.on_time_rate, None);
        assert_eq!(prev.median_fix_hours, Some(48.0));
        assert_eq!(prev.open, 1, "C (D was closed on the 4th)");
        assert_eq!(
            prev.overdue, 0,
            "C is due on the 9th, the end of the period"
        );
    }

    #[test]
    fn an_empty_group_has_no_rates() {
        let p = Period {
            from: day(9, 0),
            to: day(9, 0) + Duration::days(7),
        };
        let f = figures(&[], p);
        assert_eq!(f, Figures::default());
    }
}
