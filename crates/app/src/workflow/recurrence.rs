//! Recurrence (回潮) and duplicates: a new report near a problem of the same category closed
//! recently is linked to it; open problems of the same category nearby are offered as
//! duplicates for the street office to merge.

use chrono::{DateTime, Duration, Utc};
use civmap_domain::{Problem, Status};
use civmap_index::{Filter, Neighbor, StatusSet};
use serde_json::{Map, Value};

use crate::app::App;
use crate::time::to_ms;

impl App {
    /// Links a new report to the nearest problem of the same category closed (or last
    /// re-inspected) within `workflow.recurrence_days` and `workflow.recurrence_m`: a
    /// recurrence (回潮). Records the link in the `created` event's data.
    pub(crate) fn link_recurrence(
        &self,
        p: &mut Problem,
        now: DateTime<Utc>,
        data: &mut Map<String, Value>,
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
            data.insert("recurrence_of".into(), n.id.to_string().into());
            data.insert("recurrence_distance_m".into(), round1(n.distance_m).into());
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
}

/// Rounded to 0.1 (metres in event data).
#[must_use]
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
