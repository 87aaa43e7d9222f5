//! The assessment (综合评价): the figures of [`civmap_domain::assessment`] for a period and the
//! one before it, per street, zone or chief, over the problems the caller may see.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use civmap_domain::assessment::{Case, Figures, Period};
use civmap_domain::{EventKind, ProblemId};
use civmap_index::Filter;

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::memory::record::Record;
use crate::scope::Scope;
use crate::time::{check_order, from_ms, to_ms};

/// The longest period an assessment covers.
pub const MAX_PERIOD_DAYS: i64 = 3660;

/// Key of the row of everything the caller sees.
pub const STREET_KEY: &str = "street";
/// Key of the row of problems without a zone or chief.
pub const NONE_KEY: &str = "none";

/// What the rows of an assessment are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row for everything the caller sees.
    #[default]
    Street,
    /// The zone each problem was dispatched through.
    Zone,
    /// Each problem's current assignee.
    Chief,
}

impl GroupBy {
    /// `street`, `zone` or `chief`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Street => "street",
            GroupBy::Zone => "zone",
            GroupBy::Chief => "chief",
        }
    }
}

/// What an assessment case is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupKeys {
    /// The zone the problem was dispatched through.
    pub zone: Option<uuid::Uuid>,
    /// Its current assignee.
    pub assignee: Option<uuid::Uuid>,
}

/// One row of the assessment: a group, its figures and those of the period before.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentRow {
    /// Zone or user id; [`STREET_KEY`] for the whole street; [`NONE_KEY`] for problems
    /// without one.
    pub key: String,
    pub name: String,
    pub current: Figures,
    pub previous: Figures,
}

/// The assessment report.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub period: Period,
    pub by: GroupBy,
    /// Busiest first (reported plus open), then by name.
    pub rows: Vec<AssessmentRow>,
}

/// The figures of a group for a period and the period before it.
#[must_use]
pub fn both_periods<'a>(
    cases: impl Iterator<Item = &'a Case> + Clone,
    period: Period,
) -> (Figures, Figures) {
    (
        civmap_domain::assessment::figures(cases.clone(), period),
        civmap_domain::assessment::figures(cases, period.previous()),
    )
}

/// Whether a case counts in `period` or the one before it: a case that counts in neither
/// (reported, closed and due before both) makes no row, whether memory holds it or it is cold.
#[must_use]
pub fn counts(case: &Case, period: Period) -> bool {
    let (current, previous) = both_periods(std::iter::once(case), period);
    current != Figures::default() || previous != Figures::default()
}

/// `Invalid` naming `to` unless the period is `[from, to)` with `from < to`, at most
/// [`MAX_PERIOD_DAYS`] long.
pub fn check_period(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Period, ServiceError> {
    check_order("to", from, to)?;
    if to == from {
        return Err(ServiceError::invalid("to", "the period is empty"));
    }
    if to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(ServiceError::invalid(
            "to",
            "a period may be at most ten years long",
        ));
    }
    Ok(Period { from, to })
}

impl App {
    /// The default period of the weekly report: last week, Monday to Monday in local time.
    #[must_use]
    pub fn last_week(&self, now: DateTime<Utc>) -> Period {
        let from = self.calendar().week_start(now) - Duration::days(7);
        Period {
            from,
            to: from + Duration::days(7),
        }
    }

    /// The assessment of `period` (and the one before it) for what `actor` may see, in rows
    /// `by` street, zone or chief.
    pub async fn assessment(
        &self,
        actor: &Actor,
        period: Period,
        by: GroupBy,
    ) -> Result<Assessment, ServiceError> {
        let scope = self.scope(actor);
        // The previous period ends where this one starts: the steps before `to` cover both.
        let cases: Vec<(Case, GroupKeys)> = self
            .assessment_cases(&scope, period.previous().from, period.to)
            .await?
            .into_iter()
            .filter(|(case, _)| counts(case, period))
            .collect();
        let names = self.group_names(by).await?;
        let mut groups: BTreeMap<String, Vec<&Case>> = BTreeMap::new();
        for (case, keys) in &cases {
            let key = match by {
                GroupBy::Zone => keys
                    .zone
                    .map_or_else(|| NONE_KEY.to_owned(), |z| z.to_string()),
                GroupBy::Chief => keys
                    .assignee
                    .map_or_else(|| NONE_KEY.to_owned(), |u| u.to_string()),
                GroupBy::Street => STREET_KEY.to_owned(),
            };
            groups.entry(key).or_default().push(case);
        }
        if groups.is_empty() {
            groups.insert(STREET_KEY.to_owned(), Vec::new());
        }
        let mut rows: Vec<AssessmentRow> = groups
            .into_iter()
            .map(|(key, cs)| {
                let (current, previous) = both_periods(cs.iter().copied(), period);
                let name = names
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| match key.as_str() {
                        STREET_KEY => "全街道 whole street".to_owned(),
                        NONE_KEY => "（未派单）not dispatched".to_owned(),
                        other => other.to_owned(),
                    });
                AssessmentRow {
                    key,
                    name,
                    current,
                    previous,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            (b.current.reported + b.current.open, &a.name)
                .cmp(&(a.current.reported + a.current.open, &b.name))
        });
        Ok(Assessment { period, by, rows })
    }

    /// Names of the zones or chiefs rows are keyed by.
    async fn group_names(&self, by: GroupBy) -> Result<HashMap<String, String>, ServiceError> {
        Ok(match by {
            GroupBy::Zone => self
                .zones()
                .map
                .values()
                .map(|z| (z.id.to_string(), z.name.clone()))
                .collect(),
            GroupBy::Chief => self
                .people()
                .await?
                .into_iter()
                .map(|(id, p)| (id.to_string(), p.shown()))
                .collect(),
            GroupBy::Street => HashMap::new(),
        })
    }

    /// The assessment cases of the problems in `scope` reported before `to`, with their
    /// lifecycle steps, and what they are grouped by: the zone dispatched through and the
    /// current assignee. Every problem in memory, and the cold ones (`crate::cold`) whose row
    /// changed at or after `from` or that were due in `[from, to)` — a cold problem changed
    /// before `from` and due outside the range was closed before `from` and counts nowhere in
    /// `[from, to)`.
    pub async fn assessment_cases(
        &self,
        scope: &Scope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Case, GroupKeys)>, ServiceError> {
        let steps = self.store().lifecycle_events(to).await?;
        let mut by_problem: HashMap<ProblemId, Vec<(EventKind, DateTime<Utc>)>> = HashMap::new();
        for (id, kind, at) in steps {
            by_problem.entry(id).or_default().push((kind, at));
        }
        let to_ms = to_ms(to);
        let ids = self.scoped_ids(scope, &Filter::default());
        let mut out = Vec::new();
        {
            let g = self.problems();
            match ids {
                Some(ids) => {
                    for id in ids {
                        if let Some(r) = g.map.get(&id) {
                            out.extend(case_of(id, r, &mut by_problem, to_ms));
                        }
                    }
                }
                None => {
                    for (id, r) in g.map.iter() {
                        out.extend(case_of(*id, r, &mut by_problem, to_ms));
                    }
                }
            }
        }
        // Read after memory: a problem evicted meanwhile is read here (`crate::cold`).
        let rows = self
            .store()
            .cold_for_assessment(self.hot_since(), from, to)
            .await?;
        let cold = self.cold_set_of(&rows)?;
        let mut cold: Vec<(ProblemId, Record)> = {
            let zones = self.zones();
            cold.records
                .into_iter()
                .filter(|(_, r)| scope.contains(&zones, r))
                .collect()
        };
        cold.sort_unstable_by_key(|(id, _)| *id);
        for (id, r) in &cold {
            out.extend(case_of(*id, r, &mut by_problem, to_ms));
        }
        Ok(out)
    }
}

/// The assessment case of a problem reported before `to_ms`, with its steps (taken from
/// `steps`), and what it is grouped by.
fn case_of(
    id: ProblemId,
    r: &Record,
    steps: &mut HashMap<ProblemId, Vec<(EventKind, DateTime<Utc>)>>,
    to_ms: i64,
) -> Option<(Case, GroupKeys)> {
    if r.reported_ms >= to_ms {
        return None;
    }
    let case = Case {
        id,
        reported_at: from_ms(r.reported_ms),
        deadline: r.deadline(),
        recurrence_of: r.recurrence_of().map(ProblemId),
        steps: steps.remove(&id).unwrap_or_default(),
    };
    let keys = GroupKeys {
        zone: r.zone(),
        assignee: r.assignee(),
    };
    Some((case, keys))
}
