//! The look-back re-inspection (回头看): a closed problem is looked at again
//! `workflow.reinspect_after_days` after it was closed. Still clean is recorded; came back
//! (回潮) reopens it and dispatches it again to the chief who had it.

use chrono::{DateTime, Duration, Utc};
use civmap_domain::{Action, EventKind, Problem, ProblemId, Status};
use civmap_store::NewEvent;

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::problems::{TransitionDetails, check_note, check_version};
use crate::scope::Scope;
use crate::time::{from_ms, now_ms, to_ms};

/// What a look-back re-inspection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reinspection {
    /// Still clean: recorded, the problem stays closed.
    Clean,
    /// Came back (回潮): the problem is reopened and dispatched again.
    CameBack,
}

/// A re-inspection that is due.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub id: ProblemId,
    pub closed_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

impl App {
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
    ) -> Result<Problem, ServiceError> {
        // A look-back may reopen a cold problem: the write brings it back into memory.
        self.check_visible_any(&self.scope(actor), id).await?;
        let current = self.fetch_problem(id).await?;
        check_version(&current, version)?;
        if current.status != Status::Closed {
            return Err(ServiceError::Conflict {
                message: format!(
                    "problem {id} is {}: only closed problems are re-inspected",
                    current.status
                ),
                current_version: Some(current.version),
            });
        }
        let note = check_note(&note)?;
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
            .transition(
                id,
                Action::Dispatch,
                reopened.version,
                details,
                &Actor::system(),
            )
            .await
        {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(%id, error = %e.chain(), "dispatch after recurrence failed");
                reopened
            }
        }
    }

    /// Closed problems verified no later than `latest_ms` and not re-inspected since:
    /// (problem, verified at, Unix ms).
    #[must_use]
    pub fn awaiting_lookback(&self, latest_ms: i64) -> Vec<(ProblemId, i64)> {
        self.inner.lookback.lock().verified_by(latest_ms)
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
                let closed_at = from_ms(closed_ms);
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
}
