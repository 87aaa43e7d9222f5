//! Seeded synthetic data for the benchmarks: a Shanghai-sized area (50 km × 50 km around
//! 121.47° E, 31.23° N), problems spread uniformly or in Gaussian blobs around a few hundred
//! centres (markets, school gates), zones as circles or larger polygons.
#![allow(dead_code, clippy::unwrap_used)]

pub mod clock;
pub mod rivals;

use civmap_domain::{CategoryId, LonLat, ProblemId, Severity, Status, ZoneId, ZoneKind};
use civmap_index::{BBox, METRES_PER_DEGREE, PointRecord, ProblemIndex};
use geo::{LineString, MultiPolygon, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

pub const CENTRE: (f64, f64) = (121.47, 31.23);
pub const HALF_M: f64 = 25_000.0;
pub const N: usize = 1_000_000;
pub const DAY_MS: i64 = 86_400_000;
/// "Now" of the data set: 2025-06-01T00:00:00Z.
pub const NOW_MS: i64 = 1_748_736_000_000;
pub const CATEGORIES: u16 = 15;

/// Degrees per metre east–west and north–south at the centre.
pub fn deg_per_m() -> (f64, f64) {
    let lat = CENTRE.1.to_radians();
    (
        1.0 / (METRES_PER_DEGREE * lat.cos()),
        1.0 / METRES_PER_DEGREE,
    )
}

pub fn area() -> BBox {
    let (dx, dy) = deg_per_m();
    BBox::new(
        CENTRE.0 - HALF_M * dx,
        CENTRE.1 - HALF_M * dy,
        CENTRE.0 + HALF_M * dx,
        CENTRE.1 + HALF_M * dy,
    )
    .unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Uniform,
    Clustered,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Uniform => "uniform",
            Layout::Clustered => "clustered",
        }
    }
}

pub struct Gen {
    rng: ChaCha8Rng,
    layout: Layout,
    /// (lon, lat, sigma metres)
    centres: Vec<(f64, f64, f64)>,
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl Gen {
    pub fn new(layout: Layout, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = area();
        let centres = (0..300)
            .map(|_| {
                (
                    rng.random_range(a.min_lon()..a.max_lon()),
                    rng.random_range(a.min_lat()..a.max_lat()),
                    rng.random_range(80.0..400.0),
                )
            })
            .collect();
        Self {
            rng,
            layout,
            centres,
        }
    }

    pub fn uniform_position(&mut self) -> LonLat {
        let a = area();
        LonLat::new(
            self.rng.random_range(a.min_lon()..=a.max_lon()),
            self.rng.random_range(a.min_lat()..=a.max_lat()),
        )
        .unwrap()
    }

    pub fn position(&mut self) -> LonLat {
        if self.layout == Layout::Uniform || self.rng.random_bool(0.1) {
            return self.uniform_position();
        }
        let (lon, lat, sigma) = self.centres[self.rng.random_range(0..self.centres.len())];
        let (dx, dy) = deg_per_m();
        let a = area();
        LonLat::new(
            (lon + gaussian(&mut self.rng) * sigma * dx).clamp(a.min_lon(), a.max_lon()),
            (lat + gaussian(&mut self.rng) * sigma * dy).clamp(a.min_lat(), a.max_lat()),
        )
        .unwrap()
    }

    pub fn record(&mut self) -> PointRecord {
        let position = self.position();
        let status = match self.rng.random_range(0..100) {
            0..40 => Status::Reported,
            40..55 => Status::Dispatched,
            55..60 => Status::Escalated,
            60..70 => Status::Rectified,
            70..95 => Status::Closed,
            95..98 => Status::Recurred,
            _ => Status::Merged,
        };
        let severity = match self.rng.random_range(0..100) {
            0..30 => Severity::Low,
            30..75 => Severity::Medium,
            75..95 => Severity::High,
            _ => Severity::Critical,
        };
        PointRecord {
            id: ProblemId(Uuid::from_u128(self.rng.random())),
            position,
            category: CategoryId(self.rng.random_range(0..CATEGORIES)),
            status,
            severity,
            reported_ms: NOW_MS - self.rng.random_range(0..120 * DAY_MS),
        }
    }

    pub fn records(&mut self, n: usize) -> Vec<PointRecord> {
        (0..n).map(|_| self.record()).collect()
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

/// A ring of `sides` vertices at `radius_m` (jittered by `jitter` of the radius) around `c`,
/// counter-clockwise, in lon/lat.
pub fn ring(
    rng: &mut ChaCha8Rng,
    c: LonLat,
    radius_m: f64,
    sides: usize,
    jitter: f64,
) -> Polygon<f64> {
    let (dx, dy) = deg_per_m();
    let pts: Vec<(f64, f64)> = (0..sides)
        .map(|i| {
            let t = i as f64 / sides as f64 * std::f64::consts::TAU;
            let r = radius_m * (1.0 + jitter * rng.random_range(-1.0..1.0));
            (c.lon() + r * t.cos() * dx, c.lat() + r * t.sin() * dy)
        })
        .collect();
    Polygon::new(LineString::from(pts), vec![])
}

/// `n` zones: circles (32-gons) of `radius_m` (point-chief, school-gate zones) or jittered
/// 12-gons (area-chief zones), centred uniformly over the area.
pub fn zones(
    seed: u64,
    n: usize,
    radius_m: f64,
    sides: usize,
    jitter: f64,
) -> Vec<(ZoneId, ZoneKind, MultiPolygon<f64>)> {
    let mut g = Gen::new(Layout::Uniform, seed);
    (0..n)
        .map(|i| {
            let c = g.uniform_position();
            let poly = ring(g.rng(), c, radius_m, sides, jitter);
            (
                ZoneId(Uuid::from_u128(i as u128 + 1)),
                ZoneKind::ALL[i % ZoneKind::ALL.len()],
                MultiPolygon::new(vec![poly]),
            )
        })
        .collect()
}

/// A box of `w_m` × `h_m` metres with its south-west corner at `sw`.
pub fn bbox_at(sw: LonLat, w_m: f64, h_m: f64) -> BBox {
    let (dx, dy) = deg_per_m();
    BBox::new(sw.lon(), sw.lat(), sw.lon() + w_m * dx, sw.lat() + h_m * dy).unwrap()
}

/// Resident set size of this process in bytes (Linux `/proc/self/statm`).
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Waits until no merge runs beside the index (its `Debug` says `merging: false`), so that what
/// is measured next is the index alone: a change swaps a finished merge in, so one is made and
/// undone every millisecond until then. `spare` is a record the index does not hold.
pub fn settle(ix: &mut ProblemIndex, spare: PointRecord) {
    while format!("{ix:?}").contains("merging: true") {
        std::thread::sleep(std::time::Duration::from_millis(1));
        ix.insert(spare).unwrap();
        ix.remove(spare.id).unwrap();
    }
}
