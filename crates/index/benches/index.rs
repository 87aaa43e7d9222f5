//! Criterion benchmarks of `civmap-index` on 1M problems in a 50 km × 50 km area around
//! Shanghai, uniform and clustered. Every query is measured twice: `index` (this crate) and
//! `scan` (the same query by a brute-force scan of a `Vec<PointRecord>`), so the report can
//! give the ratio.
//!
//! The same questions are also put, in the same run and on the same points, to the libraries a
//! user would pick instead (`rstar_0_12`, `geo_index`, `geo_index_kdtree`; see `data/rivals.rs`).
//!
//! Run: `cargo bench -p civmap-index --bench index -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used)]

mod data;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use civmap_domain::{CategoryId, LonLat, ZoneId, ZoneKind};
use civmap_index::{
    BBox, Filter, HeatParams, HexGrid, PointRecord, ProblemIndex, Region, SquareGrid, StatusSet,
    ZoneIndex, haversine_m,
};
use criterion::{BenchmarkId, criterion_group, criterion_main};
use data::clock::Clock;
use data::rivals::{GeoIndex, GeoKdTree, Rstar};

type Criterion = criterion::Criterion<Clock>;
use data::{CENTRE, Gen, Layout, N, NOW_MS};
use geo::{BoundingRect, Intersects, MultiPolygon, Point};
use rand::Rng;

const QUERIES: usize = 256;
/// Operations per timed batch in the update benchmarks.
const BATCH: usize = 4_096;

/// Runs `iters` operations in batches of at most [`BATCH`]: `timed(n)` does n operations and is
/// timed, `undo(n)` restores the state untimed.
fn batched<S: ?Sized>(
    iters: u64,
    clock: &Clock,
    state: &mut S,
    mut timed: impl FnMut(&mut S, usize),
    mut undo: impl FnMut(&mut S, usize),
) -> Duration {
    let mut left = iters as usize;
    let mut total = Duration::ZERO;
    while left > 0 {
        let n = left.min(BATCH);
        let s = clock.now();
        timed(state, n);
        total += clock.now().saturating_sub(s);
        undo(state, n);
        left -= n;
    }
    total
}

fn heat_params() -> HeatParams {
    HeatParams::new(civmap_domain::CategoryTable::builtin().weights(), NOW_MS)
}

fn category_filter() -> Filter {
    // 3 of 15 categories (garbage, illegal parking, misparked bikes): ~20 % of the points.
    Filter::default().with_categories([CategoryId(8), CategoryId(2), CategoryId(3)])
}

struct Fixture {
    layout: Layout,
    recs: Vec<PointRecord>,
    index: ProblemIndex,
    boxes: Vec<BBox>,
    points: Vec<LonLat>,
    rstar: Rstar,
    geo_index: GeoIndex,
    kdtree: GeoKdTree,
}

fn fixture(layout: Layout) -> Fixture {
    let mut g = Gen::new(layout, 2025);
    let recs = g.records(N);
    let index = ProblemIndex::bulk_load(recs.iter().copied()).unwrap();
    // 5 km × 5 km boxes (1 % of the area) anywhere in the area; query points where problems
    // are (a user looks near problems), drawn from the data.
    let a = data::area();
    let (dx, dy) = data::deg_per_m();
    let boxes: Vec<BBox> = (0..QUERIES)
        .map(|_| {
            let sw = LonLat::new(
                g.rng()
                    .random_range(a.min_lon()..a.max_lon() - 5_000.0 * dx),
                g.rng()
                    .random_range(a.min_lat()..a.max_lat() - 5_000.0 * dy),
            )
            .unwrap();
            data::bbox_at(sw, 5_000.0, 5_000.0)
        })
        .collect();
    let points = (0..QUERIES)
        .map(|_| recs[g.rng().random_range(0..N)].position)
        .collect();
    let fx = Fixture {
        layout,
        rstar: Rstar::build(&recs),
        geo_index: GeoIndex::build(&recs),
        kdtree: GeoKdTree::build(&recs),
        recs,
        index,
        boxes,
        points,
    };
    check_rivals(&fx);
    let mean = |f: &dyn Fn(&BBox) -> usize| fx.boxes.iter().map(f).sum::<usize>() / QUERIES;
    eprintln!(
        "[{}] {} points; bbox 1%: mean {} results, with category filter {}; radius 200 m: mean {:.1}",
        layout.name(),
        fx.index.len(),
        mean(&|b| fx.index.bbox(b, &Filter::default()).len()),
        mean(&|b| fx.index.bbox(b, &category_filter()).len()),
        fx.points
            .iter()
            .map(|p| fx
                .index
                .within_radius(*p, 200.0, &Filter::default())
                .unwrap()
                .len())
            .sum::<usize>() as f64
            / QUERIES as f64,
    );
    fx
}

/// The rivals must give civmap's answers on these queries (same ids; same neighbours and
/// distances), or their figures would not compare like with like. rstar ranks neighbours in
/// planar degrees: how often its 10 differ is printed, not asserted.
fn check_rivals(fx: &Fixture) {
    let all = Filter::default();
    let set = |mut v: Vec<civmap_domain::ProblemId>| {
        v.sort_unstable();
        v
    };
    for b in &fx.boxes {
        let want = set(fx.index.bbox(b, &all));
        assert_eq!(set(fx.rstar.bbox(b)), want);
        assert_eq!(set(fx.geo_index.bbox(&fx.recs, b)), want);
        assert_eq!(set(fx.kdtree.bbox(&fx.recs, b)), want);
    }
    let mut planar_differs = 0;
    for p in &fx.points {
        let want = fx.index.within_radius(*p, 200.0, &all).unwrap();
        assert_eq!(fx.rstar.radius(*p, 200.0), want);
        assert_eq!(fx.geo_index.radius(&fx.recs, *p, 200.0), want);
        assert_eq!(fx.kdtree.radius(&fx.recs, *p, 200.0), want);
        let want = fx.index.nearest(*p, 10, &all);
        let dist =
            |v: &[civmap_index::Neighbor]| v.iter().map(|n| n.distance_m).collect::<Vec<_>>();
        assert_eq!(dist(&fx.geo_index.knn(&fx.recs, *p, 10)), dist(&want));
        planar_differs += usize::from(dist(&fx.rstar.knn_planar(*p, 10)) != dist(&want));
    }
    eprintln!(
        "[{}] rivals agree with the index on every box and radius, geo-index on every 10 nearest; rstar's planar 10 nearest differ for {planar_differs} of {QUERIES} points",
        fx.layout.name()
    );
}

fn scan_bbox(recs: &[PointRecord], b: &BBox, f: &Filter) -> Vec<civmap_domain::ProblemId> {
    recs.iter()
        .filter(|r| b.contains(r.position) && f.matches(r))
        .map(|r| r.id)
        .collect()
}

fn bench_build(c: &mut Criterion, fx: &Fixture) {
    let name = fx.layout.name();
    let mut g = c.benchmark_group(format!("{name}/build"));
    g.sample_size(10);
    g.bench_function("bulk_load_1M/index", |b| {
        b.iter(|| ProblemIndex::bulk_load(black_box(&fx.recs).iter().copied()).unwrap());
    });
    g.bench_function("bulk_load_1M/scan", |b| {
        // The brute-force "index" is a copy of the records.
        b.iter(|| black_box(&fx.recs).clone());
    });
    g.bench_function("bulk_load_1M/rstar_0_12", |b| {
        b.iter(|| Rstar::build(black_box(&fx.recs)));
    });
    g.bench_function("bulk_load_1M/geo_index", |b| {
        b.iter(|| GeoIndex::build(black_box(&fx.recs)));
    });
    g.bench_function("bulk_load_1M/geo_index_kdtree", |b| {
        b.iter(|| GeoKdTree::build(black_box(&fx.recs)));
    });
    g.finish();
}

fn bench_queries(c: &mut Criterion, fx: &Fixture) {
    let name = fx.layout.name();
    let all = Filter::default();
    let cats = category_filter();
    let mut g = c.benchmark_group(format!("{name}/query"));
    let mut i = 0;
    g.bench_function("bbox_1pct/index", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            fx.index.bbox(&fx.boxes[i], &all)
        });
    });
    g.bench_function("bbox_1pct/scan", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            scan_bbox(&fx.recs, &fx.boxes[i], &all)
        });
    });
    g.bench_function("bbox_1pct_category/index", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            fx.index.bbox(&fx.boxes[i], &cats)
        });
    });
    g.bench_function("bbox_1pct_category/scan", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            scan_bbox(&fx.recs, &fx.boxes[i], &cats)
        });
    });
    g.bench_function("radius_200m/index", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            fx.index.within_radius(fx.points[i], 200.0, &all).unwrap()
        });
    });
    g.bench_function("radius_200m/scan", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            let p = fx.points[i];
            let mut v: Vec<_> = fx
                .recs
                .iter()
                .filter(|r| all.matches(r))
                .filter_map(|r| {
                    let d = haversine_m(p, r.position);
                    (d <= 200.0).then_some((d, r.id))
                })
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            v
        });
    });
    g.bench_function("knn_10/index", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            fx.index.nearest(fx.points[i], 10, &all)
        });
    });
    g.bench_function("knn_10/scan", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            let p = fx.points[i];
            let mut v: Vec<_> = fx
                .recs
                .iter()
                .filter(|r| all.matches(r))
                .map(|r| (haversine_m(p, r.position), r.id))
                .collect();
            let cmp = |a: &(f64, civmap_domain::ProblemId), b: &(f64, civmap_domain::ProblemId)| {
                a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
            };
            v.select_nth_unstable_by(9, cmp);
            v.truncate(10);
            v.sort_by(cmp);
            v
        });
    });
    g.finish();
}

/// The rivals' queries, in the same group as the index's: each call takes the next of the
/// fixture's queries.
fn bench_rival_queries(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group(format!("{}/query", fx.layout.name()));
    let mut each = |id: &str, f: &dyn Fn(usize) -> usize| {
        let mut i = 0;
        g.bench_function(id, |b| {
            b.iter(|| {
                i = (i + 1) % QUERIES;
                f(i)
            });
        });
    };
    let (recs, boxes, points) = (&fx.recs, &fx.boxes, &fx.points);
    each("bbox_1pct/rstar_0_12", &|i| fx.rstar.bbox(&boxes[i]).len());
    each("bbox_1pct/geo_index", &|i| {
        fx.geo_index.bbox(recs, &boxes[i]).len()
    });
    each("bbox_1pct/geo_index_indices_only", &|i| {
        fx.geo_index.bbox_indices(&boxes[i]).len()
    });
    each("bbox_1pct/geo_index_kdtree", &|i| {
        fx.kdtree.bbox(recs, &boxes[i]).len()
    });
    each("radius_200m/rstar_0_12", &|i| {
        fx.rstar.radius(points[i], 200.0).len()
    });
    each("radius_200m/geo_index", &|i| {
        fx.geo_index.radius(recs, points[i], 200.0).len()
    });
    each("radius_200m/geo_index_kdtree", &|i| {
        fx.kdtree.radius(recs, points[i], 200.0).len()
    });
    each("knn_10/rstar_0_12", &|i| {
        fx.rstar.knn_planar(points[i], 10).len()
    });
    each("knn_10/geo_index", &|i| {
        fx.geo_index.knn(recs, points[i], 10).len()
    });
    g.finish();
}

#[allow(clippy::too_many_lines)] // one benchmark group, each timing spelled out
fn bench_updates(c: &mut Criterion, fx: &mut Fixture) {
    let name = fx.layout.name();
    // Single inserts / removes on the 1M index: a batch of operations is timed, then undone
    // outside the timed span (so the index stays at 1M and the timer is read twice per batch).
    let clock = Clock::from_env();
    let mut g = c.benchmark_group(format!("{name}/update"));
    let mut dgen = Gen::new(fx.layout, 7);
    let fresh: Vec<PointRecord> = dgen.records(BATCH);
    // Distinct records at random places in the data (and so in the scan's vector).
    let mut picks: Vec<usize> = (0..N).collect();
    let existing: Vec<PointRecord> = (0..BATCH)
        .map(|_| fx.recs[picks.swap_remove(dgen.rng().random_range(0..picks.len()))])
        .collect();
    drop(picks);
    let index = &mut fx.index;
    g.bench_function("insert/index", |b| {
        b.iter_custom(|iters| {
            batched(
                iters,
                &clock,
                index,
                |index, n| {
                    for r in &fresh[..n] {
                        index.insert(black_box(*r)).unwrap();
                    }
                },
                |index, n| {
                    for r in &fresh[..n] {
                        index.remove(r.id).unwrap();
                    }
                },
            )
        });
    });
    g.bench_function("remove/index", |b| {
        b.iter_custom(|iters| {
            batched(
                iters,
                &clock,
                index,
                |index, n| {
                    for r in &existing[..n] {
                        black_box(index.remove(black_box(r.id)).unwrap());
                    }
                },
                |index, n| {
                    for r in &existing[..n] {
                        index.insert(*r).unwrap();
                    }
                },
            )
        });
    });
    g.bench_function("move/index", |b| {
        b.iter_custom(|iters| {
            let to = |r: &PointRecord| civmap_index::PointUpdate {
                position: Some(r.position),
                ..Default::default()
            };
            batched(
                iters,
                &clock,
                index,
                |index, n| {
                    for (r, f) in existing[..n].iter().zip(&fresh) {
                        black_box(index.update(r.id, &to(f)).unwrap());
                    }
                },
                |index, n| {
                    for r in &existing[..n] {
                        index.update(r.id, &to(r)).unwrap();
                    }
                },
            )
        });
    });
    let mut vec = fx.recs.clone();
    g.bench_function("insert/scan", |b| {
        b.iter_custom(|iters| {
            batched(
                iters,
                &clock,
                &mut vec,
                |vec, n| {
                    for r in &fresh[..n] {
                        vec.push(black_box(*r));
                    }
                },
                |vec, n| vec.truncate(vec.len() - n),
            )
        });
    });
    // Find by id, then swap-remove: the cost is the linear search. The counter lives across
    // criterion's phases so every phase sees the same spread of positions.
    let mut k = 0;
    g.bench_function("remove/scan", |b| {
        b.iter_custom(|iters| {
            let mut t = Duration::ZERO;
            for _ in 0..iters {
                k = (k + 1) % BATCH;
                let r = existing[k];
                let s = clock.now();
                let pos = vec.iter().position(|x| x.id == r.id).unwrap();
                black_box(vec.swap_remove(pos));
                t += clock.now().saturating_sub(s);
                vec.push(r);
                let last = vec.len() - 1;
                vec.swap(pos, last);
            }
            t
        });
    });
    g.finish();
}

fn bench_aggregates(c: &mut Criterion, fx: &Fixture) {
    let name = fx.layout.name();
    let all = Filter::default();
    // Density surfaces over all 1M points.
    let heat = heat_params();
    let anchor = LonLat::new(CENTRE.0, CENTRE.1).unwrap();
    let sq = SquareGrid::new(anchor, 100.0).unwrap();
    let hx = HexGrid::new(anchor, 200.0).unwrap();
    let mut g = c.benchmark_group(format!("{name}/aggregate"));
    g.sample_size(20);
    g.bench_function("squares_100m/index", |b| {
        b.iter(|| {
            fx.index
                .aggregate_squares(&sq, &Region::All, &all, &heat)
                .unwrap()
        });
    });
    g.bench_function("squares_100m/scan", |b| {
        b.iter(|| {
            let mut m: HashMap<civmap_index::SquareCell, (u32, f64)> = HashMap::new();
            for r in fx.recs.iter().filter(|r| all.matches(r)) {
                let e = m.entry(sq.cell_of(r.position)).or_insert((0, 0.0));
                e.0 += 1;
                e.1 += heat.weight(r);
            }
            m
        });
    });
    g.bench_function("hexes_200m/index", |b| {
        b.iter(|| {
            fx.index
                .aggregate_hexes(&hx, &Region::All, &all, &heat)
                .unwrap()
        });
    });
    g.bench_function("hexes_200m/scan", |b| {
        b.iter(|| {
            let mut m: HashMap<civmap_index::HexCell, (u32, f64)> = HashMap::new();
            for r in fx.recs.iter().filter(|r| all.matches(r)) {
                let e = m.entry(hx.cell_of(r.position)).or_insert((0, 0.0));
                e.0 += 1;
                e.1 += heat.weight(r);
            }
            m
        });
    });
    let open = Filter::default().with_statuses(StatusSet::open());
    g.bench_function("hexes_200m_open_viewport/index", |b| {
        // The map's heat layer: open problems in a 5 km view.
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % QUERIES;
            fx.index
                .aggregate_hexes(&hx, &Region::BBox(fx.boxes[i]), &open, &heat)
                .unwrap()
        });
    });
    g.finish();
}

fn bench_zone_heat(c: &mut Criterion, fx: &Fixture) {
    let name = fx.layout.name();
    let heat = heat_params();
    let all = Filter::default();
    let mut g = c.benchmark_group(format!("{name}/zone_heat_1000"));
    g.sample_size(10);
    for (label, zones) in [
        ("circles_200m", data::zones(31, 1_000, 200.0, 32, 0.0)),
        ("areas_800m", data::zones(32, 1_000, 800.0, 12, 0.3)),
    ] {
        let index = ZoneIndex::bulk_load(zones.clone()).unwrap();
        let ids: Vec<ZoneId> = zones.iter().map(|z| z.0).collect();
        let per_zone = fx
            .index
            .zone_heat(&index, ids.iter().copied(), &all, &heat)
            .unwrap();
        eprintln!(
            "[{name}] zone heat {label}: mean {:.0} open problems per zone",
            per_zone.iter().map(|h| f64::from(h.count)).sum::<f64>() / per_zone.len() as f64
        );
        g.bench_function(BenchmarkId::new(label, "index"), |b| {
            b.iter(|| {
                fx.index
                    .zone_heat(&index, ids.iter().copied(), &all, &heat)
                    .unwrap()
            });
        });
        g.bench_function(BenchmarkId::new(label, "scan"), |b| {
            // No index: every zone scans every problem (bounding-box test first).
            b.iter(|| {
                zones
                    .iter()
                    .map(|(_, _, mp)| {
                        let r = mp.bounding_rect().unwrap();
                        let (mut n, mut s) = (0u32, 0.0);
                        for p in &fx.recs {
                            let (x, y) = (p.position.lon(), p.position.lat());
                            if x >= r.min().x
                                && x <= r.max().x
                                && y >= r.min().y
                                && y <= r.max().y
                                && p.status.is_open()
                                && mp.intersects(&Point::new(x, y))
                            {
                                n += 1;
                                s += heat.weight(p);
                            }
                        }
                        (n, s)
                    })
                    .collect::<Vec<_>>()
            });
        });
    }
    g.finish();
}

fn bench_zones(c: &mut Criterion) {
    // 10,000 zones: 150 m circles (point-chief and three-surroundings zones) over the area.
    let zones: Vec<(ZoneId, ZoneKind, MultiPolygon<f64>)> = data::zones(30, 10_000, 150.0, 32, 0.0);
    let mut g = c.benchmark_group("zones_10k");
    g.bench_function("bulk_load/index", |b| {
        b.iter(|| ZoneIndex::bulk_load(black_box(&zones).iter().cloned()).unwrap());
    });
    let index = ZoneIndex::bulk_load(zones.clone()).unwrap();
    let mut dgen = Gen::new(Layout::Clustered, 99);
    let probes: Vec<LonLat> = (0..QUERIES).map(|_| dgen.position()).collect();
    let hits: usize = probes.iter().map(|p| index.zones_at(*p).len()).sum();
    eprintln!(
        "[zones] 10,000 zones; mean {:.2} zones per probe",
        hits as f64 / QUERIES as f64
    );
    let mut i = 0;
    g.bench_function("point_to_zones/index", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            index.zones_at(probes[i])
        });
    });
    let rects: Vec<_> = zones.iter().map(|z| z.2.bounding_rect().unwrap()).collect();
    g.bench_function("point_to_zones/scan", |b| {
        b.iter(|| {
            i = (i + 1) % QUERIES;
            let p = probes[i];
            let pt = Point::from(p);
            zones
                .iter()
                .zip(&rects)
                .filter(|(_, r)| {
                    p.lon() >= r.min().x
                        && p.lon() <= r.max().x
                        && p.lat() >= r.min().y
                        && p.lat() <= r.max().y
                })
                .filter(|(z, _)| z.2.intersects(&pt))
                .map(|(z, _)| z.0)
                .collect::<Vec<_>>()
        });
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    Clock::from_env().describe();
    bench_zones(c);
    for layout in [Layout::Uniform, Layout::Clustered] {
        let mut fx = fixture(layout);
        bench_build(c, &fx);
        bench_queries(c, &fx);
        bench_rival_queries(c, &fx);
        bench_updates(c, &mut fx);
        bench_aggregates(c, &fx);
        bench_zone_heat(c, &fx);
    }
}

criterion_group! {
    name = index_benches;
    config = criterion::Criterion::default().with_measurement(Clock::from_env());
    targets = benches
}
criterion_main!(index_benches);
