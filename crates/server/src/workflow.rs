//! The rectification workflow around the lifecycle steps: automatic dispatch of new reports,
//! recurrence links and duplicate hints, escalation of overdue problems, the look-back
//! re-inspection (回头看), the inbox of a user and the assessment figures.
//!
//! System steps (automatic dispatch and escalation) are recorded in the event log with no
//! actor and a note saying they were automatic.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use civmap_domain::assessment::{Case, Figures, Period};
use civmap_domain::{
    Action, EventKind, Problem, ProblemId, Role, Status, UserId, ZoneId, ZoneKind,
};
use civmap_index::{Filter, Neighbor, StatusSet};
use civmap_store::NewEvent;

use crate::error::AppError;
use crate::extract::Actor;
use crate::record::{Record, now_ms, to_ms};
use crate::scope::Scope;
use crate::state::{AppState, TransitionDetails, check_version};

/// The actor of automatic steps: sees everything, recorded as nobody.
fn system() -> Actor {
    Actor {
        user: None,
        role: Role::Admin,
        authenticated: true,
        ip: None,
    }
}

/// What a look-back re-inspection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reinspection {
    /// Still clean: recorded, the problem stays closed.
    Clean,
    /// Came back (回潮): the problem is reopened and dispatched again.
    CameBack,
}

/// What an assessment case is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupKeys {
    /// The zone the problem was dispatched through.
    pub zone: Option<uuid::Uuid>,
    /// Its current assignee.
    pub assignee: Option<uuid::Uuid>,
}

/// A re-inspection that is due.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub id: ProblemId,
    pub closed_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

impl AppState {
    /// Links a new report to the nearest problem of the same category closed (or last
    /// re-inspected) within `workflow.recurrence_days` and `workflow.recurrence_m`: a
    /// recurrence (回潮). Records the link in the `created` event's data.
    pub(crate) fn link_recurrence(
        &self,
        p: &mut Problem,
        now: DateTime<Utc>,
        data: &mut serde_json::Value,
    ) {
        let w = &self.config().workflow;
        if w.recurrence_m <= 0.0 {
            return;
        }
        let since = to_ms(now - Duration::days(i64::from(w.recurrence_days)));
        let found = self.same_category_near(p, w.recurrence_m, StatusSet::of([Status::Closed]));
        let g = self.problems();
        let hit = found
            .into_iter()
            .find(|n| g.map.get(&n.id).is_some_and(|r| r.updated_ms >= since));
        if let Some(n) = hit {
            p.recurrence_of = Some(n.id);
            if let Some(obj) = data.as_object_mut() {
                obj.insert("recurrence_of".into(), n.id.to_string().into());
                obj.insert("recurrence_distance_m".into(), round1(n.distance_m).into());
            }
        }
    }

    /// Open problems of the same category within `workflow.duplicate_m` of `p` (itself
    /// excluded), nearest first: offered to the reporter and the street office as duplicates
    /// to merge.
    #[must_use]
    pub fn possible_duplicates(&self, p: &Problem) -> Vec<Neighbor> {
        let m = self.config().workflow.duplicate_m;
        if m <= 0.0 {
            return Vec::new();
        }
        self.same_category_near(p, m, StatusSet::open())
            .into_iter()
            .filter(|n| n.id != p.id)
            .collect()
    }

    fn same_category_near(&self, p: &Problem, radius_m: f64, statuses: StatusSet) -> Vec<Neighbor> {
        let Ok(cat) = self.categories().id(&p.category) else {
            return Vec::new();
        };
        let filter = Filter::default()
            .with_categories([cat])
            .with_statuses(statuses);
        self.problems()
            .index
            .within_radius(p.location, radius_m, &filter)
            .unwrap_or_default()
    }

    /// Dispatches a new (or reopened) report to the chief of the most specific zone
    /// containing it, when `workflow.auto_dispatch` is on and some zone there has a chief.
    /// A failure is logged: the report itself is already stored.
    pub(crate) async fn dispatch_new(&self, p: Problem) -> Problem {
        if !self.config().workflow.auto_dispatch {
            return p;
        }
        let (zone, assignee) = self.auto_dispatch(&p);
        if assignee.is_none() {
            return p;
        }
        let details = TransitionDetails {
            note: "自动派单 dispatched automatically to the chief of the zone".into(),
            assignee,
            zone,
            ..TransitionDetails::default()
        };
        match self
            .transition(p.id, Action::Dispatch, p.version, details, &system())
            .await
        {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(id = %p.id, error = %e, "automatic dispatch failed; the report waits for the street office");
                p
            }
        }
    }

    /// The area zone containing the problem that has a chief, and that chief (where an
    /// escalation goes); `(None, None)` sends it to the street office.
    pub(crate) fn area_chief_for(&self, p: &Problem) -> (Option<ZoneId>, Option<UserId>) {
        let zones = self.containing_zones(p.location.lon(), p.location.lat());
        let kinds: HashMap<ZoneId, ZoneKind> = {
            let g = self.zones();
            zones
                .iter()
                .filter_map(|z| Some((*z, g.map.get(z)?.kind)))
                .collect()
        };
        zones
            .into_iter()
            .filter(|z| kinds.get(z) == Some(&ZoneKind::Area))
            .find_map(|z| Some((Some(z), Some(self.assignee_of(z)?))))
            .unwrap_or((None, None))
    }

    /// Escalates every dispatched problem whose deadline passed before `now` (转给块长),
    /// recorded as an automatic `escalated` event. Returns how many were escalated.
    pub async fn escalate_overdue(&self, now: DateTime<Utc>) -> usize {
        let now_ms = to_ms(now);
        let overdue: Vec<(ProblemId, i64, i64)> = self
            .problems()
            .map
            .iter()
            .filter(|(_, r)| r.status == Status::Dispatched && r.deadline_ms < now_ms)
            .filter(|(_, r)| r.deadline().is_some())
            .map(|(id, r)| (*id, r.version, r.deadline_ms))
            .collect();
        let mut done = 0;
        for (id, version, deadline_ms) in overdue {
            let late_h = self
                .calendar()
                .working_seconds_between(crate::record::from_ms(deadline_ms), now)
                / 3600;
            let details = TransitionDetails {
                note: format!(
                    "超期未整改，自动转给块长 overdue by {late_h} working hours: escalated automatically"
                ),
                ..TransitionDetails::default()
            };
            match self
                .transition(id, Action::Escalate, version, details, &system())
                .await
            {
                Ok(_) => done += 1,
                // Changed meanwhile (rectified just now): the next round looks again.
                Err(AppError::Conflict { .. }) => {}
                Err(e) => tracing::warn!(%id, error = %e, "automatic escalation failed"),
            }
        }
        if done > 0 {
            tracing::info!(escalated = done, "escalated overdue problems");
        }
        done
    }

    /// Starts the escalation round every `workflow.escalation_check_s` seconds (none when 0).
    /// The task holds the state weakly and ends with it.
    pub(crate) fn start_escalation(&self) {
        let every = self.config().workflow.escalation_check_s;
        if every == 0 || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let weak = self.downgrade();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(StdDuration::from_secs(every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(state) = AppState::upgrade(&weak) else {
                    return;
                };
                if state.is_ready() {
                    state.escalate_overdue(Utc::now()).await;
                }
            }
        });
    }

    /// Records a look-back re-inspection of a closed problem: `Clean` adds a `reinspected`
    /// event; `CameBack` reopens it as a recurrence (回潮) and dispatches it again.
    pub async fn reinspect(
        &self,
        id: ProblemId,
        version: i64,
        result: Reinspection,
        note: String,
        photos: Vec<String>,
        actor: &Actor,
    ) -> Result<Problem, AppError> {
        self.check_visible(&self.scope(actor), id)?;
        let current = self.problem(id)?;
        check_version(&current, version)?;
        if current.status != Status::Closed {
            return Err(AppError::Conflict {
                message: format!(
                    "problem {id} is {}: only closed problems are re-inspected",
                    current.status
                ),
                current_version: Some(current.version),
            });
        }
        let note = civmap_domain::error::validate_text("note", &note, 2000, false)?;
        match result {
            Reinspection::CameBack => {
                let details = TransitionDetails {
                    note: if note.is_empty() {
                        "回头看：回潮 the look-back found it back".into()
                    } else {
                        note
                    },
                    photos,
                    ..TransitionDetails::default()
                };
                let reopened = self
                    .transition(id, Action::Recur, version, details, actor)
                    .await?;
                Ok(self.redispatch(reopened, &current).await)
            }
            Reinspection::Clean => {
                self.check_photos(&photos).await?;
                let now = now_ms();
                let mut next = current.clone();
                next.updated_at = now;
                next.version += 1;
                let ev = NewEvent {
                    kind: EventKind::Reinspected,
                    actor: actor.user,
                    at: now,
                    note,
                    photos,
                    data: serde_json::json!({"result": "clean"}),
                };
                self.store().update_problem(&next, version, ev).await?;
                Ok(next)
            }
        }
    }

    /// Sends a reopened problem back to the chief who had it (else as a new report would go).
    async fn redispatch(&self, reopened: Problem, before: &Problem) -> Problem {
        if !self.config().workflow.auto_dispatch {
            return reopened;
        }
        let Some(assignee) = before.assignee else {
            return self.dispatch_new(reopened).await;
        };
        let details = TransitionDetails {
            note: "回潮，重新派单 recurred: dispatched again".into(),
            assignee: Some(assignee),
            zone: before.zone,
            ..TransitionDetails::default()
        };
        let id = reopened.id;
        match self
            .transition(id, Action::Dispatch, reopened.version, details, &system())
            .await
        {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(%id, error = %e, "dispatch after recurrence failed");
                reopened
            }
        }
    }

    /// Closed problems in `scope` whose look-back is due at `now`: closed at least
    /// `workflow.reinspect_after_days` ago and not re-inspected (or reopened) since, oldest
    /// first. From memory (the look-back list the commit hook keeps).
    #[must_use]
    pub fn reinspections_due(&self, scope: &Scope, now: DateTime<Utc>) -> Vec<Due> {
        let after = Duration::days(i64::from(self.config().workflow.reinspect_after_days));
        let latest = to_ms(now - after);
        let zones = self.zones();
        let g = self.problems();
        let mut due: Vec<Due> = self
            .awaiting_lookback(latest)
            .into_iter()
            .filter(|(id, _)| {
                g.map
                    .get(id)
                    .is_some_and(|r| r.status == Status::Closed && scope.contains(&zones, r))
            })
            .map(|(id, closed_ms)| {
                let closed_at = crate::record::from_ms(closed_ms);
                Due {
                    id,
                    closed_at,
                    due_at: closed_at + after,
                }
            })
            .collect();
        due.sort_by_key(|d| (d.due_at, d.id));
        due
    }

    /// The assessment cases of the problems in `scope` reported before `to`, with their
    /// lifecycle steps, and what they are grouped by: the zone dispatched through and the
    /// current assignee.
    pub async fn assessment_cases(
        &self,
        scope: &Scope,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Case, GroupKeys)>, AppError> {
        let steps = self.store().lifecycle_events(to).await?;
        let mut by_problem: HashMap<ProblemId, Vec<(EventKind, DateTime<Utc>)>> = HashMap::new();
        for (id, kind, at) in steps {
            by_problem.entry(id).or_default().push((kind, at));
        }
        let to_ms = to_ms(to);
        let ids = self.scoped_ids(scope, &Filter::default());
        let g = self.problems();
        let mut out = Vec::new();
        let mut take = |id: ProblemId, r: &Record| {
            if r.reported_ms >= to_ms {
                return;
            }
            let case = Case {
                id,
                reported_at: crate::record::from_ms(r.reported_ms),
                deadline: r.deadline(),
                recurrence_of: r.recurrence_of().map(ProblemId),
                steps: by_problem.remove(&id).unwrap_or_default(),
            };
            let keys = GroupKeys {
                zone: r.zone(),
                assignee: r.assignee(),
            };
            out.push((case, keys));
        };
        match ids {
            Some(ids) => {
                for id in ids {
                    if let Some(r) = g.map.get(&id) {
                        take(id, r);
                    }
                }
            }
            None => {
                for (id, r) in g.map.iter() {
                    take(*id, r);
                }
            }
        }
        Ok(out)
    }
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

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl AppState {
    /// Login and display names of every account, by id (for reports that name people).
    pub async fn user_names(&self) -> Result<HashMap<UserId, (String, String)>, AppError> {
        Ok(self
            .store()
            .list_users()
            .await?
            .into_iter()
            .map(|u| (u.id, (u.name, u.display_name)))
            .collect())
    }

    /// A rectification needs a note and, when `workflow.rectify_needs_photo`, an after photo.
    pub(crate) fn check_rectification(&self, details: &TransitionDetails) -> Result<(), AppError> {
        if details.note.trim().is_empty() {
            return Err(AppError::invalid(
                "note",
                "a rectification needs a note saying what was done",
            ));
        }
        if self.config().workflow.rectify_needs_photo && details.photos.is_empty() {
            return Err(AppError::invalid(
                "photos",
                "a rectification needs an after photo: upload it with POST /api/v1/photos and send its id in photos",
            ));
        }
        Ok(())
    }

    /// Where an escalation sends a problem (转给块长): to the area-chief of an area zone
    /// containing it, else to the street office (no assignee). Recorded in the event's data.
    pub(crate) fn escalation_target(
        &self,
        next: &mut Problem,
        data: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        let (zone, chief) = self.area_chief_for(next);
        next.assignee = chief;
        if zone.is_some() {
            next.zone = zone;
        }
        data.insert(
            "assignee".into(),
            serde_json::to_value(chief).unwrap_or_default(),
        );
    }

    /// After a duplicate was merged into another problem: records on that problem who else
    /// reported it and the duplicate's photos (an `edited` event with `merged_duplicate`,
    /// `duplicate_reporter` and the photos), so its history keeps both reporters and all the
    /// evidence. Best effort: the merge itself is already stored, and so are the duplicate's
    /// own events.
    pub(crate) async fn record_merge(&self, duplicate: &Problem, actor: &Actor) {
        let Some(into) = duplicate.merged_into else {
            return;
        };
        let photos: Vec<String> = match self.store().events_for(duplicate.id).await {
            Ok(events) => {
                let mut all: Vec<String> = events.into_iter().flat_map(|e| e.photos).collect();
                all.dedup();
                all.truncate(20);
                all
            }
            Err(e) => {
                tracing::warn!(id = %duplicate.id, error = %e, "cannot read the duplicate's events");
                Vec::new()
            }
        };
        // Two tries: the target may change between reading and writing it.
        for _ in 0..2 {
            let Ok(current) = self.problem(into) else {
                return;
            };
            let now = now_ms();
            let mut next = current.clone();
            next.updated_at = now;
            next.version += 1;
            let ev = NewEvent {
                kind: EventKind::Edited,
                actor: actor.user,
                at: now,
                note: "合并重复上报 merged a duplicate report".into(),
                photos: photos.clone(),
                data: serde_json::json!({
                    "merged_duplicate": duplicate.id,
                    "duplicate_reporter": duplicate.reporter,
                    "duplicate_reported_at": crate::record::rfc3339(duplicate.reported_at),
                }),
            };
            match self
                .store()
                .update_problem(&next, current.version, ev)
                .await
            {
                Ok(_) => return,
                Err(civmap_store::StoreError::Conflict { .. }) => {}
                Err(e) => {
                    tracing::warn!(%into, error = %e, "cannot record the merge on its target");
                    return;
                }
            }
        }
    }
}
