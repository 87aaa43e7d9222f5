//! Recurrence hot spots (回潮点位): the zones where problems came back most in a period —
//! closed problems reopened at a look-back, and new reports linked to a recently closed
//! problem nearby — counted in every zone of the given kinds containing them.

use std::collections::HashMap;

use civmap_domain::assessment::Period;
use civmap_domain::{EventKind, ProblemId, ZoneId, ZoneKind};

use crate::actor::Actor;
use crate::app::App;
use crate::error::ServiceError;
use crate::time::to_ms;

/// The problems listed per hot spot.
pub const HOTSPOT_PROBLEMS_MAX: usize = 50;

/// A zone where problems came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    pub zone: ZoneId,
    pub name: String,
    pub kind: ZoneKind,
    /// Recurrences in the period inside the zone.
    pub recurrences: usize,
    /// The problems that recurred, at most [`HOTSPOT_PROBLEMS_MAX`].
    pub problems: Vec<ProblemId>,
}

impl App {
    /// The recurrence hot spots of `period` among zones of `kinds` within what `actor` may
    /// see, worst first (ties by name).
    pub async fn hotspots(
        &self,
        actor: &Actor,
        period: Period,
        kinds: &[ZoneKind],
    ) -> Result<Vec<Hotspot>, ServiceError> {
        let scope = self.scope(actor);
        let mut recurred: Vec<ProblemId> = self
            .store()
            .lifecycle_events(period.to)
            .await?
            .into_iter()
            .filter(|(_, k, at)| *k == EventKind::Recurred && period.contains(*at))
            .map(|(id, _, _)| id)
            .collect();
        let (from_ms, to_ms) = (to_ms(period.from), to_ms(period.to));
        {
            let g = self.problems();
            recurred.extend(
                g.map
                    .iter()
                    .filter(|(_, r)| {
                        r.recurrence_of().is_some() && (from_ms..to_ms).contains(&r.reported_ms)
                    })
                    .map(|(id, _)| *id),
            );
        }
        let mut by_zone: HashMap<ZoneId, Vec<ProblemId>> = HashMap::new();
        for id in recurred {
            let Some((lon, lat)) = ({
                let zones = self.zones();
                let g = self.problems();
                g.map
                    .get(&id)
                    .filter(|r| scope.contains(&zones, r))
                    .map(|r| (r.lon, r.lat))
            }) else {
                continue;
            };
            for z in self.containing_zones(lon, lat) {
                by_zone.entry(z).or_default().push(id);
            }
        }
        let zones = self.zones();
        let mut out: Vec<Hotspot> = by_zone
            .into_iter()
            .filter_map(|(z, ids)| {
                let zone = zones.map.get(&z)?;
                kinds.contains(&zone.kind).then(|| Hotspot {
                    zone: z,
                    name: zone.name.clone(),
                    kind: zone.kind,
                    recurrences: ids.len(),
                    problems: ids.iter().take(HOTSPOT_PROBLEMS_MAX).copied().collect(),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.recurrences
                .cmp(&a.recurrences)
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(out)
    }
}
