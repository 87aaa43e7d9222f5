//! The demo data set: a seeded, clearly labelled **synthetic** set of problem points placed on
//! the real geography of an OpenStreetMap extract.
//!
//! Where problems fall follows what the source reports describe (`../shared/seeds/`): parked
//! cars, stalls and posters at school gates (学校周边); litter and dogs around parks (公园周边);
//! stalls and garbage at wet-market entrances (菜场周边);
//! stairwell clutter and flying-wire charging at residential buildings (楼道堆物, 飞线充电);
//! parking, bikes, zombie cars and garbage along road edges. Every description starts with
//! [`DEMO_LABEL`], so nobody mistakes a demo problem for a real one.
//!
//! ```
//! use civmap_geodata::{demo, extract, osm, poi::PoiTable};
//! let xml = r#"<osm version="0.6">
//!   <node id="1" lat="31.2840" lon="121.4950"/><node id="2" lat="31.2850" lon="121.4970"/>
//!   <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="tertiary"/><tag k="name" v="赤峰路"/></way>
//! </osm>"#;
//! let ex = extract::extract(&osm::read_xml(xml.as_bytes()).unwrap(), &PoiTable::builtin());
//! let opts = demo::DemoOptions { problems: 20, ..demo::DemoOptions::default() };
//! let a = demo::synthetic_problems(&ex, &opts);
//! assert_eq!(a.len(), 20);
//! assert!(a.iter().all(|p| p.report.description.starts_with(demo::DEMO_LABEL)));
//! assert_eq!(a, demo::synthetic_problems(&ex, &opts), "same seed, same problems");
//! ```

use chrono::{DateTime, Duration, TimeZone, Utc};
use civmap_domain::{Action, NewProblem, PoiKind, Severity};
use geo::{BoundingRect, Centroid, Coord, Geometry, LineString};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::extract::{Extract, Layer};
use crate::zones::LocalProjection;

/// The first words of every synthetic problem's description.
pub const DEMO_LABEL: &str = "【演示数据 demo】";

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// RNG seed: the same seed and extract give the same problems.
    pub seed: u64,
    /// How many problems.
    pub problems: usize,
    /// "Now": problems are reported in the `days` before it.
    pub now: DateTime<Utc>,
    /// How far back reports go, days.
    pub days: i64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 20_161_201,
            problems: 600,
            // A fixed instant, so the default data set is the same on every machine; callers
            // that want "recent" problems pass the current time.
            now: Utc
                .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
                .single()
                .unwrap_or_default(),
            days: 45,
        }
    }
}

/// One synthetic problem: the report, when it was made, and the lifecycle steps that happened
/// to it since (each with its time, in order, all before [`DemoOptions::now`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoProblem {
    pub report: NewProblem,
    pub reported_at: DateTime<Utc>,
    /// Stable key (`demo:<seed>:<n>`), so loading the demo twice changes nothing.
    pub external_id: String,
    pub steps: Vec<(Action, DateTime<Utc>)>,
}

/// Where a problem is placed, and which categories happen there (with relative weights).
#[derive(Debug, Clone, Copy)]
enum Setting {
    SchoolGate,
    Park,
    Market,
    Residential,
    RoadEdge,
}

impl Setting {
    fn categories(self) -> &'static [(&'static str, u32)] {
        match self {
            Setting::SchoolGate => &[
                ("illegal_parking", 5),
                ("street_vending", 4),
                ("ad_posters", 3),
                ("misparked_bikes", 3),
                ("garbage", 1),
            ],
            Setting::Park => &[
                ("garbage", 4),
                ("greenbelt_litter", 4),
                ("dog_nuisance", 3),
                ("clutter", 2),
                ("street_vending", 1),
            ],
            Setting::Market => &[
                ("street_vending", 6),
                ("garbage", 4),
                ("clutter", 3),
                ("illegal_parking", 2),
                ("misparked_bikes", 2),
            ],
            Setting::Residential => &[
                ("stairwell_clutter", 6),
                ("flying_wire_charging", 3),
                ("clutter", 3),
                ("abandoned_bikes", 2),
                ("ad_posters", 2),
                ("blocked_fire_lane", 1),
                ("illegal_construction", 1),
            ],
            Setting::RoadEdge => &[
                ("illegal_parking", 6),
                ("misparked_bikes", 5),
                ("garbage", 3),
                ("zombie_car", 2),
                ("ad_posters", 2),
                ("street_vending", 2),
                ("illegal_billboard", 1),
            ],
        }
    }

    fn place_word(self) -> &'static str {
        match self {
            Setting::SchoolGate => "校门口",
            Setting::Park => "公园边",
            Setting::Market => "菜场门口",
            Setting::Residential => "居民楼",
            Setting::RoadEdge => "路边",
        }
    }
}

fn pick<'a, R: Rng>(rng: &mut R, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    items[0].0
}

/// Places of each setting found in the extract.
struct Anchors {
    /// (name, ring or line to place along) for school fences.
    schools: Vec<(String, LineString<f64>)>,
    parks: Vec<(String, LineString<f64>)>,
    markets: Vec<(String, LineString<f64>)>,
    /// Residential building centroids.
    buildings: Vec<Coord<f64>>,
    roads: Vec<(String, LineString<f64>)>,
}

fn outline(g: &Geometry<f64>) -> Option<LineString<f64>> {
    match g {
        Geometry::Polygon(p) => Some(p.exterior().clone()),
        Geometry::MultiPolygon(mp) => mp.0.first().map(|p| p.exterior().clone()),
        Geometry::Point(p) => Some(LineString::from(vec![p.0])),
        Geometry::LineString(l) => Some(l.clone()),
        _ => None,
    }
}

fn anchors(ex: &Extract) -> Anchors {
    let mut a = Anchors {
        schools: Vec::new(),
        parks: Vec::new(),
        markets: Vec::new(),
        buildings: Vec::new(),
        roads: Vec::new(),
    };
    for p in &ex.pois {
        let Some(line) = outline(&p.geometry) else {
            continue;
        };
        let name = p.display_name();
        match p.kind {
            PoiKind::School => a.schools.push((name, line)),
            PoiKind::Park => a.parks.push((name, line)),
            PoiKind::Market => a.markets.push((name, line)),
        }
    }
    for f in &ex.basemap {
        if f.layer == Layer::Building
            && matches!(
                f.class.as_str(),
                "yes" | "apartments" | "residential" | "house" | "dormitory"
            )
            && let Some(c) = f.geometry.centroid()
        {
            a.buildings.push(c.0);
        }
    }
    for r in &ex.roads {
        if r.geometry.0.len() >= 2 && !matches!(r.class.as_str(), "footway" | "steps" | "path") {
            a.roads.push((r.name.clone(), r.geometry.clone()));
        }
    }
    a
}

/// A random point along `line` (uniform by vertex segment), pushed `offset_m` to a random side.
fn along<R: Rng>(rng: &mut R, line: &LineString<f64>, offset_m: f64) -> Coord<f64> {
    let pts = &line.0;
    if pts.len() == 1 {
        return jitter(rng, pts[0], offset_m);
    }
    let i = rng.random_range(0..pts.len() - 1);
    let t: f64 = rng.random();
    let (a, b) = (pts[i], pts[i + 1]);
    let proj = LocalProjection::new(a.x, a.y);
    let (pa, pb) = (proj.forward(a), proj.forward(b));
    let p = Coord {
        x: pa.x + (pb.x - pa.x) * t,
        y: pa.y + (pb.y - pa.y) * t,
    };
    let (dx, dy) = (pb.x - pa.x, pb.y - pa.y);
    let len = dx.hypot(dy).max(1e-9);
    let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    proj.inverse(Coord {
        x: p.x - dy / len * offset_m * side,
        y: p.y + dx / len * offset_m * side,
    })
}

/// A random point within `radius_m` of `c`.
fn jitter<R: Rng>(rng: &mut R, c: Coord<f64>, radius_m: f64) -> Coord<f64> {
    let proj = LocalProjection::new(c.x, c.y);
    let r = radius_m * rng.random::<f64>().sqrt();
    let th = rng.random_range(0.0..std::f64::consts::TAU);
    proj.inverse(Coord {
        x: r * th.cos(),
        y: r * th.sin(),
    })
}

/// The synthetic problems for `extract`, deterministic for `opts`. Returns an empty list when
/// the extract has no roads, buildings or points of interest to place problems at.
#[must_use]
pub fn synthetic_problems(extract: &Extract, opts: &DemoOptions) -> Vec<DemoProblem> {
    let a = anchors(extract);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    // Relative frequency of each setting, only among settings present in the extract.
    let settings: Vec<(Setting, u32)> = [
        (Setting::SchoolGate, 25, !a.schools.is_empty()),
        (Setting::Park, 12, !a.parks.is_empty()),
        (Setting::Market, 15, !a.markets.is_empty()),
        (Setting::Residential, 30, !a.buildings.is_empty()),
        (Setting::RoadEdge, 33, !a.roads.is_empty()),
    ]
    .into_iter()
    .filter(|s| s.2)
    .map(|(s, w, _)| (s, w))
    .collect();
    if settings.is_empty() {
        return Vec::new();
    }
    let total: u32 = settings.iter().map(|s| s.1).sum();
    let span_s = opts.days.max(1) * 86_400;
    (0..opts.problems)
        .map(|n| {
            let mut x = rng.random_range(0..total);
            let setting = settings
                .iter()
                .find(|(_, w)| {
                    if x < *w {
                        true
                    } else {
                        x -= w;
                        false
                    }
                })
                .map_or(settings[0].0, |s| s.0);
            let (place, at) = place(&mut rng, &a, setting);
            let category = pick(&mut rng, setting.categories()).to_owned();
            let severity = match category.as_str() {
                "blocked_fire_lane" | "flying_wire_charging" => {
                    if rng.random_bool(0.5) {
                        Severity::Critical
                    } else {
                        Severity::High
                    }
                }
                _ => match rng.random_range(0..10) {
                    0..=1 => Severity::Low,
                    2..=7 => Severity::Medium,
                    _ => Severity::High,
                },
            };
            // Recent reports are more frequent than old ones (most old ones are closed).
            let age_s = (span_s as f64 * rng.random::<f64>().powi(2)) as i64;
            let reported_at = opts.now - Duration::seconds(age_s);
            let steps = lifecycle(&mut rng, reported_at, opts.now);
            let description = format!(
                "{DEMO_LABEL}{}{}",
                if place.is_empty() {
                    String::new()
                } else {
                    format!("{place} ")
                },
                setting.place_word()
            );
            DemoProblem {
                report: NewProblem {
                    lon: at.x,
                    lat: at.y,
                    category,
                    severity,
                    description,
                },
                reported_at,
                external_id: format!("demo:{}:{n}", opts.seed),
                steps,
            }
        })
        .collect()
}

/// Where a problem of `setting` goes: the place's name and the position.
fn place<R: Rng>(rng: &mut R, a: &Anchors, setting: Setting) -> (String, Coord<f64>) {
    match setting {
        Setting::SchoolGate => {
            let (name, line) = &a.schools[rng.random_range(0..a.schools.len())];
            {
                let off = rng.random_range(3.0..40.0);
                (name.clone(), along(rng, line, off))
            }
        }
        Setting::Park => {
            let (name, line) = &a.parks[rng.random_range(0..a.parks.len())];
            {
                let off = rng.random_range(0.0..30.0);
                (name.clone(), along(rng, line, off))
            }
        }
        Setting::Market => {
            let (name, line) = &a.markets[rng.random_range(0..a.markets.len())];
            let off = rng.random_range(0.0..40.0);
            (name.clone(), along(rng, line, off))
        }
        Setting::Residential => {
            let c = a.buildings[rng.random_range(0..a.buildings.len())];
            (String::new(), jitter(rng, c, 8.0))
        }
        Setting::RoadEdge => {
            let (name, line) = &a.roads[rng.random_range(0..a.roads.len())];
            {
                let off = rng.random_range(4.0..12.0);
                (name.clone(), along(rng, line, off))
            }
        }
    }
}

/// What happened to a problem between its report and `now`: older problems are further along.
fn lifecycle<R: Rng>(
    rng: &mut R,
    reported: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<(Action, DateTime<Utc>)> {
    let age_h = (now - reported).num_hours();
    let mut plan: Vec<Action> = Vec::new();
    let roll: f64 = rng.random();
    // Chance to have moved on grows with age; a few stay stuck (the backlog the console shows).
    let progressed = roll < (age_h as f64 / 72.0).min(0.92);
    if progressed {
        plan.push(Action::Dispatch);
        let r: f64 = rng.random();
        if age_h > 24 && r < 0.85 {
            plan.push(Action::Rectify);
            if rng.random_bool(0.12) {
                plan.extend([Action::Reject, Action::Rectify]);
            }
            if rng.random_bool(0.8) {
                plan.push(Action::Verify);
                if age_h > 24 * 14 && rng.random_bool(0.07) {
                    plan.push(Action::Recur);
                }
            }
        } else if rng.random_bool(0.1) {
            plan.push(Action::Escalate);
        }
    }
    // Spread the steps between the report and now, in order.
    let span_s = (now - reported).num_seconds().max(1);
    let mut cuts: Vec<i64> = (0..plan.len())
        .map(|_| rng.random_range(0..span_s))
        .collect();
    cuts.sort_unstable();
    plan.into_iter()
        .zip(cuts)
        .map(|(a, s)| (a, reported + Duration::seconds(s)))
        .collect()
}

/// The bounding box of the extract's roads and buildings as `[min_lon, min_lat, max_lon, max_lat]`.
#[must_use]
pub fn extent(extract: &Extract) -> Option<[f64; 4]> {
    let mut rect: Option<geo::Rect<f64>> = None;
    let mut add = |r: Option<geo::Rect<f64>>| {
        if let Some(r) = r {
            rect = Some(match rect {
                None => r,
                Some(q) => geo::Rect::new(
                    Coord {
                        x: q.min().x.min(r.min().x),
                        y: q.min().y.min(r.min().y),
                    },
                    Coord {
                        x: q.max().x.max(r.max().x),
                        y: q.max().y.max(r.max().y),
                    },
                ),
            });
        }
    };
    for r in &extract.roads {
        add(r.geometry.bounding_rect());
    }
    for f in &extract.basemap {
        if f.layer == Layer::Building {
            add(f.geometry.bounding_rect());
        }
    }
    rect.map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{extract, osm, poi::PoiTable};
    use civmap_domain::{CategoryTable, Status};

    fn tongji() -> Extract {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/osm/tongji_siping_yangpu.osm"
        );
        extract::extract(
            &osm::read_path(path.as_ref()).unwrap(),
            &PoiTable::builtin(),
        )
    }

    #[test]
    fn demo_on_tongji_is_plausible_and_valid() {
        let ex = tongji();
        let opts = DemoOptions::default();
        let ps = synthetic_problems(&ex, &opts);
        assert_eq!(ps.len(), opts.problems);
        let table = CategoryTable::builtin();
        let [x0, y0, x1, y1] = extent(&ex).unwrap();
        for p in &ps {
            // Valid reports, every step legal from the status before it, in time order.
            let mut problem = p
                .report
                .clone()
                .validate(&table, None, p.reported_at)
                .unwrap();
            let mut last = p.reported_at;
            for (a, t) in &p.steps {
                assert!(*t >= last && *t <= opts.now);
                problem.transition(*a, *t).unwrap();
                last = *t;
            }
            // Near the extract (placements stay within 50 m of real features).
            let (lon, lat) = (p.report.lon, p.report.lat);
            assert!(lon > x0 - 0.001 && lon < x1 + 0.001 && lat > y0 - 0.001 && lat < y1 + 0.001);
            assert!(p.report.description.starts_with(DEMO_LABEL));
        }
        // A mix of statuses: a backlog and closed work.
        let closed = ps
            .iter()
            .filter(|p| p.steps.iter().any(|(a, _)| *a == Action::Verify))
            .count();
        let untouched = ps.iter().filter(|p| p.steps.is_empty()).count();
        assert!(
            closed > 100 && untouched > 30,
            "closed {closed}, untouched {untouched}"
        );
        // Stairwell clutter is placed at buildings; school-gate categories show up.
        for code in [
            "stairwell_clutter",
            "illegal_parking",
            "street_vending",
            "garbage",
        ] {
            assert!(ps.iter().any(|p| p.report.category == code), "{code}");
        }
        let _ = Status::Reported;
    }

    #[test]
    fn seeds_matter() {
        let ex = tongji();
        let a = synthetic_problems(&ex, &DemoOptions::default());
        let b = synthetic_problems(
            &ex,
            &DemoOptions {
                seed: 7,
                ..DemoOptions::default()
            },
        );
        assert_ne!(a, b);
    }
}
