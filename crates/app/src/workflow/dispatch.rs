//! Dispatch (派单): which chief a problem goes to, and by when.
//!
//! A new (or reopened) report goes at once to the chief of the most specific zone containing
//! it (`workflow.dispatch_order`, default point → road → surroundings → area → grid cell),
//! with the category's deadline counted in working hours on the working-day calendar.

use chrono::{DateTime, Utc};
use civmap_domain::calendar::WorkCalendar;
use civmap_domain::{Action, CategoryTable, LonLat, Problem, UserId, ZoneId};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::problems::TransitionDetails;
use crate::time::{rfc3339, truncate_ms};

/// Working hours given to a category that names none.
pub const DEFAULT_DEADLINE_HOURS: u32 = 8;

/// The note of an automatic dispatch.
pub const AUTO_DISPATCH_NOTE: &str = "自动派单 dispatched automatically to the chief of the zone";

impl App {
    /// Zones containing a WGS-84 position, most specific first (point, road, surroundings,
    /// area, grid cell, as `workflow.dispatch_order` says), ties by id.
    #[must_use]
    pub fn containing_zones(&self, lon: f64, lat: f64) -> Vec<ZoneId> {
        let Ok(p) = LonLat::new(lon, lat) else {
            return Vec::new();
        };
        let g = self.inner.zones.read();
        let mut hits = g.index.zones_at(p);
        let w = &self.config().workflow;
        hits.sort_by_key(|h| (w.dispatch_rank(h.kind), h.id));
        hits.into_iter().map(|h| h.id).collect()
    }

    /// The chief assigned to `zone` (the lowest id when several are).
    #[must_use]
    pub fn assignee_of(&self, zone: ZoneId) -> Option<UserId> {
        self.inner
            .assignments
            .read()
            .iter()
            .filter(|(z, _)| *z == zone)
            .map(|(_, u)| *u)
            .min()
    }

    /// The most specific zone containing the problem that has a chief assigned, and that
    /// chief; else the most specific containing zone and nobody.
    #[must_use]
    pub fn auto_dispatch(&self, p: &Problem) -> (Option<ZoneId>, Option<UserId>) {
        let candidates = self.containing_zones(p.location.lon(), p.location.lat());
        for z in &candidates {
            if let Some(u) = self.assignee_of(*z) {
                return (Some(*z), Some(u));
            }
        }
        (candidates.first().copied(), None)
    }

    fn best_zone(&self, p: &Problem) -> Option<ZoneId> {
        self.containing_zones(p.location.lon(), p.location.lat())
            .first()
            .copied()
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
            note: AUTO_DISPATCH_NOTE.into(),
            assignee,
            zone,
            ..TransitionDetails::default()
        };
        match self
            .transition(p.id, Action::Dispatch, p.version, details, &Actor::system())
            .await
        {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(id = %p.id, error = %e.chain(), "automatic dispatch failed; the report waits for the street office");
                p
            }
        }
    }

    /// The rules of a dispatch: zone, chief and deadline as given, else the chief assigned to
    /// the most specific zone containing the problem and the category's deadline.
    pub(crate) fn dispatch_details(
        &self,
        details: &TransitionDetails,
        next: &mut Problem,
        now: DateTime<Utc>,
        data: &mut Map<String, Value>,
    ) -> Result<(), ServiceError> {
        let (zone, assignee) = match (details.zone, details.assignee) {
            (zone, Some(user)) => (zone.or_else(|| self.best_zone(next)), Some(user)),
            (Some(zone), None) => (Some(zone), self.assignee_of(zone)),
            (None, None) => self.auto_dispatch(next),
        };
        if let Some(z) = zone
            && !self.inner.zones.read().map.contains_key(&z)
        {
            return Err(ServiceError::invalid("zone", format!("no zone {z}")));
        }
        let deadline = match details.deadline {
            Some(d) if d <= now => {
                return Err(ServiceError::invalid(
                    "deadline",
                    "the deadline is in the past",
                ));
            }
            Some(d) => truncate_ms(d),
            None => default_deadline(self.calendar(), &self.categories(), next, now),
        };
        next.zone = zone;
        next.assignee = assignee;
        next.deadline = Some(deadline);
        data.insert(
            "zone".into(),
            serde_json::to_value(zone).unwrap_or_default(),
        );
        data.insert(
            "assignee".into(),
            serde_json::to_value(assignee).unwrap_or_default(),
        );
        data.insert("deadline".into(), rfc3339(deadline).into());
        Ok(())
    }
}

/// The default rectification deadline: the category's working hours on the working-day
/// calendar, from `now`, to the millisecond.
#[must_use]
pub fn default_deadline(
    calendar: &WorkCalendar,
    table: &CategoryTable,
    p: &Problem,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let hours = table
        .by_code(&p.category)
        .map_or(DEFAULT_DEADLINE_HOURS, |c| c.deadline_hours);
    truncate_ms(calendar.add_working_hours(now, hours))
}
