//! Escalation (转给块长): a dispatched problem past its deadline goes to the area-chief of an
//! area zone containing it, else to the street office. A background job escalates overdue
//! problems every `workflow.escalation_check_s`, recorded as an `escalated` event with no
//! actor and the working hours overdue.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use civmap_domain::{Action, Problem, ProblemId, Status, UserId, ZoneId, ZoneKind};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::problems::TransitionDetails;
use crate::time::{from_ms, to_ms};

/// Seconds in a working hour.
const HOUR_S: i64 = 3600;

impl App {
    /// The area zone containing the problem that has a chief, and that chief (where an
    /// escalation goes); `(None, None)` sends it to the street office.
    #[must_use]
    pub fn area_chief_for(&self, p: &Problem) -> (Option<ZoneId>, Option<UserId>) {
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

    /// The rule of an escalation: to the area-chief of an area zone containing the problem,
    /// else to the street office (no assignee); recorded in the event's data.
    pub(crate) fn escalation_target(&self, next: &mut Problem, data: &mut Map<String, Value>) {
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

    /// Escalates every dispatched problem whose deadline passed before `now`, recorded as an
    /// automatic `escalated` event. Returns how many were escalated.
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
                .working_seconds_between(from_ms(deadline_ms), now)
                / HOUR_S;
            let details = TransitionDetails {
                note: format!(
                    "超期未整改，自动转给块长 overdue by {late_h} working hours: escalated automatically"
                ),
                ..TransitionDetails::default()
            };
            match self
                .transition(id, Action::Escalate, version, details, &Actor::system())
                .await
            {
                Ok(_) => done += 1,
                // Changed meanwhile (rectified just now): the next round looks again.
                Err(ServiceError::Conflict { .. }) => {}
                Err(e) => tracing::warn!(%id, error = %e.chain(), "automatic escalation failed"),
            }
        }
        if done > 0 {
            tracing::info!(escalated = done, "escalated overdue problems");
        }
        done
    }

    /// Starts the escalation round every `workflow.escalation_check_s` seconds (none when 0,
    /// or outside a Tokio runtime). The task holds the service weakly and ends with it.
    pub(crate) fn start_escalation(&self) {
        let every = self.config().workflow.escalation_check_s;
        if every == 0 || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let weak = self.downgrade();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(app) = weak.upgrade() else {
                    return;
                };
                // One replica escalates: the others would only lose the race (`crate::leader`).
                if app.is_ready() && app.is_leader() {
                    app.escalate_overdue(Utc::now()).await;
                }
            }
        });
    }
}
