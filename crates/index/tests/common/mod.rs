//! The brute-force oracle and the proptest strategies shared by the property tests.
#![allow(dead_code, clippy::unwrap_used, clippy::float_cmp)]

use std::collections::BTreeMap;

use civmap_domain::{CategoryId, LonLat, ProblemId, Severity, Status, ZoneId};
use civmap_index::{
    BBox, CategoryHeat, Filter, HeatParams, HexCell, HexGrid, PointRecord, SquareCell, SquareGrid,
    StatusSet, TOP_CATEGORIES, ZoneHeat, haversine_m,
};
use geo::{Intersects, LineString, MultiPolygon, Point, Polygon};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use uuid::Uuid;

/// Seeded: every run explores the same cases (set `PROPTEST_RNG_SEED` to explore others).
pub fn config(cases: u32) -> Config {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00C1_F3A9);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// Lattice step in degrees (~11 m north–south): points and query edges on the lattice make
/// duplicates and exact boundary hits common.
pub const STEP: f64 = 1e-4;
/// Half-width of the test area in lattice steps.
pub const HALF: i32 = 40;

/// Test areas in China, south to north. Polygon tests use these only: polygons are planar in
/// lon/lat and do not cross the antimeridian.
pub const CHINA: [(f64, f64); 5] = [
    (109.5, 18.25),
    (121.47, 31.23),
    (117.0, 36.65),
    (125.14, 42.89),
    (122.53, 52.97),
];

/// Test areas from the south to the north of China, plus one across the antimeridian.
pub const CENTRES: [(f64, f64); 6] = [
    (109.5, 18.25),   // Sanya
    (121.47, 31.23),  // Shanghai
    (117.0, 36.65),   // Jinan
    (125.14, 42.89),  // Liaoyuan
    (122.53, 52.97),  // Mohe
    (179.998, -16.5), // Fiji: the antimeridian
];

pub fn wrap_lon(lon: f64) -> f64 {
    if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    }
}

/// A coordinate offset from the centre: on the lattice, or anywhere in the area.
#[derive(Debug, Clone, Copy)]
pub enum Offset {
    Lattice(i32, i32),
    Free(f64, f64),
}

impl Offset {
    pub fn at(self, (clon, clat): (f64, f64)) -> LonLat {
        let (dx, dy) = match self {
            Offset::Lattice(i, j) => (f64::from(i) * STEP, f64::from(j) * STEP),
            Offset::Free(x, y) => (x, y),
        };
        LonLat::new(wrap_lon(clon + dx), clat + dy).unwrap()
    }
}

pub fn arb_offset() -> impl Strategy<Value = Offset> {
    let span = f64::from(HALF) * STEP;
    prop_oneof![
        3 => (-HALF..=HALF, -HALF..=HALF).prop_map(|(i, j)| Offset::Lattice(i, j)),
        1 => (-span..span, -span..span).prop_map(|(x, y)| Offset::Free(x, y)),
        // A pool of 9 lattice places (3 × 3, 2 steps apart): many problems at one place
        // (a market gate reported again and again), so distance ties are common.
        1 => (-1i32..=1, -1i32..=1).prop_map(|(i, j)| Offset::Lattice(2 * i, 2 * j)),
    ]
}

/// Everything of a record but its place.
#[derive(Debug, Clone, Copy)]
pub struct Attrs {
    pub category: u16,
    pub status: u8,
    pub severity: u8,
    pub reported_ms: i64,
}

pub fn arb_attrs() -> impl Strategy<Value = Attrs> {
    (0u16..12, 0u8..7, 1u8..=4, 0i64..40).prop_map(|(category, status, severity, t)| Attrs {
        category,
        status,
        severity,
        // Days apart, so age factors differ.
        reported_ms: t * 86_400_000,
    })
}

pub fn record(id: u128, pos: LonLat, a: Attrs) -> PointRecord {
    PointRecord {
        id: ProblemId(Uuid::from_u128(id)),
        position: pos,
        category: CategoryId(a.category),
        status: Status::from_code(a.status).unwrap(),
        severity: Severity::from_code(a.severity).unwrap(),
        reported_ms: a.reported_ms,
    }
}

/// A data set: a centre and records around it (ids shuffled against positions).
pub fn arb_records(max: usize) -> impl Strategy<Value = ((f64, f64), Vec<PointRecord>)> {
    arb_records_around(&CENTRES, max)
}

/// A data set around one of the given centres.
pub fn arb_records_around(
    centres: &[(f64, f64)],
    max: usize,
) -> impl Strategy<Value = ((f64, f64), Vec<PointRecord>)> + use<> {
    (
        prop::sample::select(centres.to_vec()),
        prop::collection::vec((arb_offset(), arb_attrs(), any::<u64>()), 0..max),
    )
        .prop_map(|(c, pts)| {
            let mut seen = std::collections::HashSet::new();
            let recs = pts
                .into_iter()
                .filter(|(_, _, id)| seen.insert(*id))
                .map(|(o, a, id)| record(u128::from(id) + 1, o.at(c), a))
                .collect();
            (c, recs)
        })
}

pub fn arb_filter() -> impl Strategy<Value = Filter> {
    (
        prop::option::weighted(0.4, prop::collection::vec(0u16..12, 0..5)),
        prop_oneof![2 => Just(127u8), 1 => 0u8..128],
        1u8..=4,
        prop::option::weighted(0.3, 0i64..40),
        prop::option::weighted(0.3, 0i64..40),
    )
        .prop_map(|(cats, mask, sev, from, before)| {
            let mut f = Filter::default()
                .with_statuses(StatusSet::of(
                    Status::ALL
                        .into_iter()
                        .filter(|s| (mask >> s.code()) & 1 == 1),
                ))
                .with_min_severity(Severity::from_code(sev).unwrap())
                .with_reported_between(
                    from.map(|d| d * 86_400_000),
                    before.map(|d| d * 86_400_000),
                );
            if let Some(c) = cats {
                f = f.with_categories(c.into_iter().map(CategoryId));
            }
            f
        })
}

/// A box with corners from two offsets (often on the lattice, so points sit on its edges).
pub fn arb_bbox() -> impl Strategy<Value = (Offset, Offset)> {
    (arb_offset(), arb_offset())
}

pub fn make_bbox(c: (f64, f64), (a, b): (Offset, Offset)) -> BBox {
    let (p, q) = (a.at(c), b.at(c));
    BBox::new(
        p.lon().min(q.lon()),
        p.lat().min(q.lat()),
        p.lon().max(q.lon()),
        p.lat().max(q.lat()),
    )
    .unwrap()
}

/// A star-shaped ring around (ci, cj) with vertices on the lattice; `ccw` sets the orientation.
pub fn star_ring(c: (f64, f64), ci: i32, cj: i32, radii: &[i32], ccw: bool) -> LineString<f64> {
    let n = radii.len();
    let mut pts: Vec<(f64, f64)> = radii
        .iter()
        .enumerate()
        .map(|(k, &r)| {
            let t = k as f64 / n as f64 * std::f64::consts::TAU;
            let i = ci + (f64::from(r) * t.cos()).round() as i32;
            let j = cj + (f64::from(r) * t.sin()).round() as i32;
            let p = Offset::Lattice(i, j).at(c);
            (p.lon(), p.lat())
        })
        .collect();
    if !ccw {
        pts.reverse();
    }
    LineString::from(pts)
}

/// Polygon parameters: a star-shaped ring around a lattice point (optionally with a star-shaped
/// hole), or a lattice rectangle (optionally with a rectangular hole). Rectangles have
/// axis-parallel edges, so lattice points land exactly on them.
#[derive(Debug, Clone)]
pub enum PolySpec {
    Star(i32, i32, Vec<i32>, Option<Vec<i32>>),
    Rect((i32, i32, i32, i32), Option<(i32, i32, i32, i32)>),
}

pub fn arb_polyspec() -> impl Strategy<Value = PolySpec> {
    let star = (
        -HALF / 2..=HALF / 2,
        -HALF / 2..=HALF / 2,
        prop::collection::vec(8i32..30, 3..14),
        prop::option::weighted(0.6, prop::collection::vec(1i32..6, 3..8)),
    )
        .prop_map(|(i, j, e, h)| PolySpec::Star(i, j, e, h));
    let rect = (
        -HALF..HALF - 6,
        -HALF..HALF - 6,
        6i32..40,
        6i32..40,
        prop::option::weighted(0.6, (1i32..3, 1i32..3, 1i32..3, 1i32..3)),
    )
        .prop_map(|(i0, j0, w, h, hole)| {
            let (i1, j1) = ((i0 + w).min(HALF), (j0 + h).min(HALF));
            // The hole keeps a margin inside the exterior.
            let hole = hole.map(|(a, b, c, d)| (i0 + a, j0 + b, i1 - c, j1 - d));
            PolySpec::Rect((i0, j0, i1, j1), hole)
        });
    prop_oneof![star, rect]
}

fn rect_ring(c: (f64, f64), (i0, j0, i1, j1): (i32, i32, i32, i32), ccw: bool) -> LineString<f64> {
    let mut pts: Vec<(f64, f64)> = [(i0, j0), (i1, j0), (i1, j1), (i0, j1)]
        .into_iter()
        .map(|(i, j)| {
            let p = Offset::Lattice(i, j).at(c);
            (p.lon(), p.lat())
        })
        .collect();
    if !ccw {
        pts.reverse();
    }
    LineString::from(pts)
}

pub fn make_polygon(c: (f64, f64), spec: &PolySpec) -> Polygon<f64> {
    match spec {
        PolySpec::Star(ci, cj, ext, hole) => Polygon::new(
            star_ring(c, *ci, *cj, ext, true),
            hole.iter()
                .map(|h| star_ring(c, *ci, *cj, h, false))
                .collect(),
        ),
        PolySpec::Rect(ext, hole) => Polygon::new(
            rect_ring(c, *ext, true),
            hole.iter().map(|h| rect_ring(c, *h, false)).collect(),
        ),
    }
}

/// Records placed on every vertex of the polygons, and on lattice points of their
/// axis-parallel edges: boundary cases the index must count as inside.
pub fn boundary_records(polys: &[Polygon<f64>], first_id: u128, a: Attrs) -> Vec<PointRecord> {
    let mut out = Vec::new();
    let mut id = first_id;
    for p in polys {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for w in ring.0.windows(2) {
                let (s, e) = (w[0], w[1]);
                out.push(record(id, LonLat::new(s.x, s.y).unwrap(), a));
                id += 1;
                // On a meridian or parallel edge, any point between the ends is exactly on it.
                let mid = if s.x == e.x {
                    Some((s.x, f64::midpoint(s.y, e.y)))
                } else if s.y == e.y {
                    Some((f64::midpoint(s.x, e.x), s.y))
                } else {
                    None
                };
                if let Some((x, y)) = mid {
                    out.push(record(id, LonLat::new(x, y).unwrap(), a));
                    id += 1;
                }
            }
        }
    }
    out
}

/// The brute-force oracle: a plain list of records, every query a full scan.
pub struct Oracle {
    pub recs: Vec<PointRecord>,
}

fn pt(r: &PointRecord) -> Point<f64> {
    Point::new(r.position.lon(), r.position.lat())
}

impl Oracle {
    pub fn sorted_ids(mut v: Vec<ProblemId>) -> Vec<ProblemId> {
        v.sort();
        v
    }

    pub fn bbox(&self, b: &BBox, f: &Filter) -> Vec<ProblemId> {
        Self::sorted_ids(
            self.recs
                .iter()
                .filter(|r| f.matches(r) && b.contains(r.position))
                .map(|r| r.id)
                .collect(),
        )
    }

    pub fn by_distance(&self, c: LonLat, f: &Filter) -> Vec<(ProblemId, f64)> {
        let mut v: Vec<(ProblemId, f64)> = self
            .recs
            .iter()
            .filter(|r| f.matches(r))
            .map(|r| (r.id, haversine_m(c, r.position)))
            .collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        v
    }

    pub fn radius(&self, c: LonLat, radius_m: f64, f: &Filter) -> Vec<(ProblemId, f64)> {
        self.by_distance(c, f)
            .into_iter()
            .filter(|(_, d)| *d <= radius_m)
            .collect()
    }

    pub fn knn(&self, c: LonLat, k: usize, f: &Filter) -> Vec<(ProblemId, f64)> {
        let mut v = self.by_distance(c, f);
        v.truncate(k);
        v
    }

    pub fn in_shape(&self, shape: &impl Intersects<Point<f64>>, f: &Filter) -> Vec<ProblemId> {
        Self::sorted_ids(
            self.recs
                .iter()
                .filter(|r| f.matches(r) && shape.intersects(&pt(r)))
                .map(|r| r.id)
                .collect(),
        )
    }

    pub fn squares(
        &self,
        g: &SquareGrid,
        f: &Filter,
        h: &HeatParams,
    ) -> BTreeMap<SquareCell, (u32, f64)> {
        let mut m = BTreeMap::new();
        for r in self.recs.iter().filter(|r| f.matches(r)) {
            let e = m.entry(g.cell_of(r.position)).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += h.weight(r);
        }
        m
    }

    pub fn hexes(&self, g: &HexGrid, f: &Filter, h: &HeatParams) -> BTreeMap<HexCell, (u32, f64)> {
        let mut m = BTreeMap::new();
        for r in self.recs.iter().filter(|r| f.matches(r)) {
            let e = m.entry(g.cell_of(r.position)).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += h.weight(r);
        }
        m
    }

    /// Zone heat by the formula of the README, from scratch.
    pub fn zone_heat(
        &self,
        zone: ZoneId,
        geometry: &MultiPolygon<f64>,
        area_m2: f64,
        f: &Filter,
        h: &HeatParams,
    ) -> (ZoneHeat, BTreeMap<u16, (u32, f64)>) {
        let mut per_cat: BTreeMap<u16, (u32, f64)> = BTreeMap::new();
        let (mut count, mut score) = (0, 0.0);
        for r in &self.recs {
            if r.status.is_open() && f.matches(r) && geometry.intersects(&pt(r)) {
                let w = h.weight(r);
                count += 1;
                score += w;
                let e = per_cat.entry(r.category.0).or_insert((0, 0.0));
                e.0 += 1;
                e.1 += w;
            }
        }
        let mut top: Vec<CategoryHeat> = per_cat
            .iter()
            .map(|(&c, &(count, score))| CategoryHeat {
                category: CategoryId(c),
                count,
                score,
            })
            .collect();
        top.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.count.cmp(&a.count))
                .then(a.category.cmp(&b.category))
        });
        top.truncate(TOP_CATEGORIES);
        let heat = ZoneHeat {
            zone,
            count,
            score,
            area_m2,
            score_per_ha: score / (area_m2 / 10_000.0),
            top_categories: top,
        };
        (heat, per_cat)
    }
}

/// Relative float equality for sums taken in different orders.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}
