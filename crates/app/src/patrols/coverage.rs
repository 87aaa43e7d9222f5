//! What the street office reads of patrols, per zone and week (Monday–Sunday, China Standard
//! Time): patrols made, metres walked inside the zone beside the length of road inside it,
//! zones checked clean, the last visit; and the zones nobody visited — no track inside, no
//! check-in — for `workflow.unvisited_days`. Point and road zones are counted (the zones a chief
//! stands in and walks, the ones with point codes).

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use civmap_domain::patrol::{CheckIn, MAX_FUTURE_SKEW, Patrol, PatrolId};
use civmap_domain::{Period, Zone, ZoneId, ZoneKind};
use civmap_store::RoadWay;
use geo::{BoundingRect, Intersects, LineString, Point, Rect};

use super::length::ClipZone;
use crate::actor::Actor;
use crate::app::App;
use crate::codes::DEFAULT_CODE_KINDS;
use crate::error::ServiceError;
use crate::scope::in_street;

/// How far back the last visit is looked for, days: the office asks "when was this zone last
/// seen" within a season; reading a year of tracks per request would not scale with a street's
/// tens of patrols a day. A zone unvisited for longer reads "no visit".
pub const LAST_VISIT_LOOKBACK_DAYS: i64 = 90;

/// A road way as the figures use it: its line, its box, its name.
type Road<'a> = (LineString<f64>, Option<Rect<f64>>, Option<&'a str>);

/// A road way's `name` tag.
fn way_name(w: &RoadWay) -> Option<&str> {
    w.tags
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The road a road zone is named after: the longest road name its name starts with ("四平路 彰武路–国康路"
/// → 四平路; "四平路-中山北二路下立交" → itself, not 四平路). Its sidewalks, the footways and the
/// service lanes beside it are other ways, so a road zone's road length is that road's, which
/// is what its chief walks; `None` (every way counts) when no road name fits.
#[must_use]
pub fn road_of_zone<'a>(zone: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .filter(|n| zone.starts_with(n))
        .max_by_key(|n| n.len())
}

/// One zone's patrol figures for a period.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneWeek {
    pub zone: ZoneId,
    pub name: String,
    pub kind: ZoneKind,
    pub code: Option<String>,
    /// Patrols whose track went inside the zone, or that checked it, in the period.
    pub patrols: usize,
    /// Metres of track inside the zone in the period (all patrols).
    pub walked_m: f64,
    /// Metres of road inside the zone: for a road zone, of the road it is named after
    /// ([`road_of_zone`]); for a point zone, of every stored road way.
    pub road_m: f64,
    /// Check-ins ("checked, clean") of the zone in the period.
    pub checks: usize,
    /// The latest visit (track inside or check-in) within [`LAST_VISIT_LOOKBACK_DAYS`].
    pub last_visit: Option<DateTime<Utc>>,
    /// No visit in the `unvisited_days` before now.
    pub unvisited: bool,
}

/// The patrol figures of a street for a period.
#[derive(Debug, Clone, PartialEq)]
pub struct PatrolWeek {
    pub period: Period,
    /// When "unvisited" was judged.
    pub now: DateTime<Utc>,
    pub unvisited_days: u32,
    /// Patrols under way in the period, in the caller's street.
    pub patrols: usize,
    /// Unvisited zones first, then by name.
    pub zones: Vec<ZoneWeek>,
}

/// A track cut into runs of consecutive segments that may meet one zone: each run clipped at
/// once, its visit time the time of its last position.
struct Track<'a> {
    id: PatrolId,
    points: &'a [civmap_domain::patrol::TrackPoint],
    /// One box per segment `i` (positions `i`, `i + 1`).
    boxes: Vec<Rect<f64>>,
}

impl<'a> Track<'a> {
    fn new(p: &'a Patrol) -> Self {
        let boxes = p
            .track
            .windows(2)
            .map(|w| Rect::new((w[0].lon, w[0].lat), (w[1].lon, w[1].lat)))
            .collect();
        Self {
            id: p.id,
            points: &p.track,
            boxes,
        }
    }

    /// Metres inside the zone in `period`, and the latest time the track was inside it.
    fn inside(&self, zone: &ClipZone<'_>, period: Period) -> (f64, Option<DateTime<Utc>>) {
        let mut walked = 0.0;
        let mut last: Option<DateTime<Utc>> = None;
        // A fix inside the zone is a visit even when the chief stood still.
        for p in self.points {
            let at = Point::new(p.lon, p.lat);
            if zone.bbox.is_some_and(|b| b.intersects(&at)) && zone.geometry.intersects(&at) {
                last = last.max(Some(p.at));
            }
        }
        let mut i = 0;
        while i < self.boxes.len() {
            if !zone.may_meet(&self.boxes[i]) {
                i += 1;
                continue;
            }
            // A run of segments that may meet the zone, all on one side of the period's ends.
            let in_period = |k: usize| period.contains(self.points[k + 1].at);
            let side = in_period(i);
            let start = i;
            while i < self.boxes.len() && zone.may_meet(&self.boxes[i]) && in_period(i) == side {
                i += 1;
            }
            let line: LineString<f64> = self.points[start..=i]
                .iter()
                .map(|p| (p.lon, p.lat))
                .collect();
            let m = zone.length(&line);
            if m > 0.0 {
                last = last.max(Some(self.points[i].at));
                if side {
                    walked += m;
                }
            }
        }
        (walked, last)
    }
}

/// The figures of `zones` for `period`, "unvisited" judged at `now` over `days` days. Pure: the
/// inputs are what the store holds.
#[must_use]
pub fn zone_figures(
    zones: &[&Zone],
    patrols: &[Patrol],
    check_ins: &[CheckIn],
    roads: &[RoadWay],
    period: Period,
    now: DateTime<Utc>,
    days: u32,
) -> Vec<ZoneWeek> {
    let tracks: Vec<Track<'_>> = patrols.iter().map(Track::new).collect();
    let roads: Vec<Road<'_>> = roads
        .iter()
        .map(|w| {
            let l: LineString<f64> = w.nodes.iter().map(|&(_, lon, lat)| (lon, lat)).collect();
            let b = l.bounding_rect();
            (l, b, way_name(w))
        })
        .collect();
    let names: Vec<&str> = roads.iter().filter_map(|r| r.2).collect();
    let since = now - Duration::days(i64::from(days));
    let mut out: Vec<ZoneWeek> = zones
        .iter()
        .map(|z| {
            let clip = ClipZone::new(&z.geometry);
            let named = (z.kind == ZoneKind::Road)
                .then(|| road_of_zone(&z.name, names.iter().copied()))
                .flatten();
            let road_m: f64 = roads
                .iter()
                .filter(|(_, _, n)| named.is_none_or(|name| *n == Some(name)))
                .filter(|(_, b, _)| b.is_some_and(|b| clip.may_meet(&b)))
                .map(|(l, _, _)| clip.length(l))
                .sum();
            let mut walked_m = 0.0;
            let mut visitors: HashSet<PatrolId> = HashSet::new();
            let mut last_visit: Option<DateTime<Utc>> = None;
            for t in &tracks {
                let (m, last) = t.inside(&clip, period);
                walked_m += m;
                if m > 0.0 || last.is_some_and(|at| period.contains(at)) {
                    visitors.insert(t.id);
                }
                last_visit = last_visit.max(last);
            }
            let mut checks = 0;
            for c in check_ins.iter().filter(|c| c.zone == z.id) {
                last_visit = last_visit.max(Some(c.at));
                if period.contains(c.at) {
                    checks += 1;
                    if let Some(p) = c.patrol {
                        visitors.insert(p);
                    }
                }
            }
            ZoneWeek {
                zone: z.id,
                name: z.name.clone(),
                kind: z.kind,
                code: z.code.clone(),
                patrols: visitors.len(),
                walked_m,
                road_m,
                checks,
                last_visit,
                unvisited: last_visit.is_none_or(|t| t < since),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.unvisited
            .cmp(&a.unvisited)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.zone.cmp(&b.zone))
    });
    out
}

impl App {
    /// The patrol figures of the point and road zones of the caller's street (managers) for
    /// `period`, "unvisited" judged at `now` over `workflow.unvisited_days`.
    pub async fn patrol_week(
        &self,
        actor: &Actor,
        period: Period,
        now: DateTime<Utc>,
    ) -> Result<PatrolWeek, ServiceError> {
        let days = self.config().workflow.unvisited_days;
        self.patrol_figures(actor, period, now, days).await
    }

    /// The same with `days` given (the config's by default).
    pub async fn patrol_figures(
        &self,
        actor: &Actor,
        period: Period,
        now: DateTime<Utc>,
        days: u32,
    ) -> Result<PatrolWeek, ServiceError> {
        let street = self.managed_street(actor, "read patrol figures")?;
        let lookback = now - Duration::days(LAST_VISIT_LOOKBACK_DAYS.max(i64::from(days)));
        let from = period.from.min(lookback);
        let to = period.to.max(now + MAX_FUTURE_SKEW);
        let patrols = self.store().patrols_between(from, to).await?;
        let check_ins = self.store().check_ins_between(from, to).await?;
        let roads = self.store().load_road_ways().await?;
        let in_street_count = patrols
            .iter()
            .filter(|p| p.started_at < period.to && p.ended_at.is_none_or(|e| e >= period.from))
            .filter(|p| street.as_deref().is_none_or(|s| in_street(&p.street, s)))
            .count();
        let zones = {
            let zones = self.zones();
            zones
                .map
                .values()
                .filter(|z| DEFAULT_CODE_KINDS.contains(&z.kind))
                .filter(|z| {
                    street
                        .as_deref()
                        .is_none_or(|s| z.code.as_deref().is_some_and(|c| in_street(c, s)))
                })
                .cloned()
                .collect::<Vec<Zone>>()
        };
        // Clipping a week of tracks against a street's zones is CPU work: off the async threads.
        let figures = tokio::task::spawn_blocking(move || {
            let refs: Vec<&Zone> = zones.iter().collect();
            zone_figures(&refs, &patrols, &check_ins, &roads, period, now, days)
        })
        .await
        .map_err(|e| ServiceError::internal("computing patrol figures", e))?;
        Ok(PatrolWeek {
            period,
            now,
            unvisited_days: days,
            patrols: in_street_count,
            zones: figures,
        })
    }

    /// The zones of the caller's street nobody visited in the `days` days before `now`.
    pub async fn unvisited_zones(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        days: u32,
    ) -> Result<Vec<ZoneWeek>, ServiceError> {
        let period = Period {
            from: now - Duration::days(i64::from(days)),
            to: now + Duration::milliseconds(1),
        };
        let week = self.patrol_figures(actor, period, now, days).await?;
        Ok(week.zones.into_iter().filter(|z| z.unvisited).collect())
    }

    /// The week (Monday 00:00 to Monday 00:00, China Standard Time) holding `t`.
    #[must_use]
    pub fn week_of(&self, t: DateTime<Utc>) -> Period {
        let from = self.calendar().week_start(t);
        Period {
            from,
            to: from + Duration::days(7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::road_of_zone;

    #[test]
    fn a_road_zone_is_the_road_its_name_starts_with() {
        let names = ["四平路", "四平路-中山北二路下立交", "国康路", "赤峰路"];
        assert_eq!(road_of_zone("四平路 彰武路–国康路", names), Some("四平路"));
        assert_eq!(
            road_of_zone("四平路-中山北二路下立交", names),
            Some("四平路-中山北二路下立交"),
            "the longest name that fits, not 四平路"
        );
        assert_eq!(road_of_zone("国康路", names), Some("国康路"));
        assert_eq!(road_of_zone("同济大学 校门", names), None);
    }
}
