//! Every query of the index against a brute-force scan of the same records (seeded proptest).
#![allow(clippy::unwrap_used, clippy::float_cmp, clippy::too_many_lines)]

use crate::common;

use std::collections::BTreeMap;

use civmap_domain::{CategoryId, LonLat, ProblemId, Severity, Status, ZoneId, ZoneKind};
use civmap_index::{
    BBox, Filter, HeatParams, HexGrid, Neighbor, PointRecord, PointUpdate, ProblemIndex, Region,
    SquareGrid, ZoneIndex, haversine_m,
};
use common::*;
use geo::{Intersects, MultiPolygon, Point};
use proptest::prelude::*;
use proptest::sample::Index;
use uuid::Uuid;

fn build(recs: &[PointRecord], bulk: bool) -> ProblemIndex {
    if bulk {
        ProblemIndex::bulk_load(recs.iter().copied()).unwrap()
    } else {
        let mut ix = ProblemIndex::new();
        for r in recs {
            ix.insert(*r).unwrap();
        }
        ix
    }
}

fn sorted(mut v: Vec<ProblemId>) -> Vec<ProblemId> {
    v.sort();
    v
}

fn neighbors(v: &[Neighbor]) -> Vec<(ProblemId, u64)> {
    v.iter().map(|n| (n.id, n.distance_m.to_bits())).collect()
}

fn oracle_neighbors(v: &[(ProblemId, f64)]) -> Vec<(ProblemId, u64)> {
    v.iter().map(|(id, d)| (*id, d.to_bits())).collect()
}

fn weights() -> Vec<f64> {
    // Fewer weights than categories: categories 10 and 11 weigh the default 1.0.
    vec![1.5, 1.0, 1.0, 0.6, 1.2, 0.8, 0.5, 2.0, 1.0, 0.7]
}

/// A radius: random, zero, or exactly the distance to one of the records (a boundary hit).
#[derive(Debug, Clone)]
enum RadiusSpec {
    Metres(f64),
    ToRecord(Index),
}

fn arb_radius() -> impl Strategy<Value = RadiusSpec> {
    prop_oneof![
        2 => (0.0f64..1500.0).prop_map(RadiusSpec::Metres),
        1 => Just(RadiusSpec::Metres(0.0)),
        2 => any::<Index>().prop_map(RadiusSpec::ToRecord),
    ]
}

fn radius_of(spec: &RadiusSpec, c: LonLat, recs: &[PointRecord]) -> f64 {
    match spec {
        RadiusSpec::Metres(m) => *m,
        RadiusSpec::ToRecord(i) if !recs.is_empty() => {
            haversine_m(c, recs[i.index(recs.len())].position)
        }
        RadiusSpec::ToRecord(_) => 100.0,
    }
}

/// The centre of a query: any offset, or exactly on one of the records.
fn query_point(c: (f64, f64), o: Offset, on: Option<Index>, recs: &[PointRecord]) -> LonLat {
    match on {
        Some(i) if !recs.is_empty() => recs[i.index(recs.len())].position,
        _ => o.at(c),
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn bbox_matches_scan(
        (c, recs) in arb_records(400),
        bulk in any::<bool>(),
        boxes in prop::collection::vec(arb_bbox(), 1..6),
        f in arb_filter(),
    ) {
        let ix = build(&recs, bulk);
        prop_assert_eq!(ix.len(), recs.len());
        let o = Oracle { recs };
        for b in boxes {
            let b = make_bbox(c, b);
            let want = o.bbox(&b, &f);
            prop_assert_eq!(sorted(ix.bbox(&b, &f)), want.clone());
            prop_assert_eq!(sorted(ix.query(&Region::BBox(b), &f).unwrap()), want.clone());
            prop_assert_eq!(ix.count(&Region::BBox(b), &f).unwrap(), want.len());
            let recs = ix.query_records(&Region::BBox(b), &f).unwrap();
            prop_assert!(recs.iter().all(|r| o.recs.contains(r)));
            prop_assert_eq!(sorted(ix.bbox(&b, &Filter::default())), o.bbox(&b, &Filter::default()));
        }
    }

    #[test]
    fn radius_matches_scan(
        (c, recs) in arb_records(400),
        bulk in any::<bool>(),
        queries in prop::collection::vec((arb_offset(), prop::option::of(any::<Index>()), arb_radius()), 1..6),
        f in arb_filter(),
    ) {
        let ix = build(&recs, bulk);
        let o = Oracle { recs };
        for (off, on, r) in queries {
            let q = query_point(c, off, on, &o.recs);
            let r = radius_of(&r, q, &o.recs);
            let got = ix.within_radius(q, r, &f).unwrap();
            prop_assert_eq!(neighbors(&got), oracle_neighbors(&o.radius(q, r, &f)), "{:?} r={}", q, r);
            let region = ix.query(&Region::Circle { center: q, radius_m: r }, &f).unwrap();
            prop_assert_eq!(sorted(region), sorted(got.iter().map(|n| n.id).collect()));
        }
    }

    #[test]
    fn nearest_matches_scan(
        (c, recs) in arb_records(400),
        bulk in any::<bool>(),
        queries in prop::collection::vec((arb_offset(), prop::option::of(any::<Index>()), 0usize..25), 1..6),
        f in arb_filter(),
    ) {
        let ix = build(&recs, bulk);
        let o = Oracle { recs };
        for (off, on, k) in queries {
            let q = query_point(c, off, on, &o.recs);
            let got = ix.nearest(q, k, &f);
            prop_assert_eq!(neighbors(&got), oracle_neighbors(&o.knn(q, k, &f)), "{:?} k={}", q, k);
        }
    }

    #[test]
    fn polygons_match_scan(
        (c, recs) in arb_records_around(&CHINA, 300),
        bulk in any::<bool>(),
        specs in prop::collection::vec(arb_polyspec(), 1..4),
        f in arb_filter(),
    ) {
        let polys: Vec<_> = specs.iter().map(|s| make_polygon(c, s)).collect();
        // Points exactly on vertices and edges, always matching the filter's attributes or not.
        let mut recs = recs;
        recs.extend(boundary_records(&polys, 1 << 100, Attrs { category: 1, status: 0, severity: 2, reported_ms: 0 }));
        let ix = build(&recs, bulk);
        let o = Oracle { recs };
        let all = Filter::default();
        for p in &polys {
            let want = o.in_shape(p, &f);
            prop_assert_eq!(sorted(ix.in_polygon(p, &f).unwrap()), want);
            // The boundary rule: every vertex record is in.
            let on_boundary = o.in_shape(p, &all);
            prop_assert_eq!(sorted(ix.in_polygon(p, &all).unwrap()), on_boundary.clone());
            for v in p.exterior().coords().chain(p.interiors().iter().flat_map(geo::LineString::coords)) {
                let at_vertex: Vec<_> = o.recs.iter().filter(|r| r.position.lon() == v.x && r.position.lat() == v.y).collect();
                prop_assert!(!at_vertex.is_empty());
                prop_assert!(at_vertex.iter().all(|r| on_boundary.contains(&r.id)));
            }
        }
        let mp = MultiPolygon::new(polys);
        prop_assert_eq!(sorted(ix.in_multipolygon(&mp, &f).unwrap()), o.in_shape(&mp, &f));
    }

    #[test]
    fn aggregation_matches_scan(
        (c, recs) in arb_records(500),
        bulk in any::<bool>(),
        anchor in arb_offset(),
        square_m in 10.0f64..600.0,
        hex_m in 10.0f64..600.0,
        area in prop::option::of(arb_bbox()),
        f in arb_filter(),
        now_day in 0i64..60,
    ) {
        let ix = build(&recs, bulk);
        let o = Oracle { recs };
        let heat = HeatParams::new(weights(), now_day * 86_400_000 + 3_600_000);
        let anchor = anchor.at(c);
        let (region, o) = match area {
            Some(b) => {
                let b = make_bbox(c, b);
                let kept = o.recs.iter().filter(|r| b.contains(r.position)).copied().collect();
                (Region::BBox(b), Oracle { recs: kept })
            }
            None => (Region::All, o),
        };
        let sq = SquareGrid::new(anchor, square_m).unwrap();
        let got: BTreeMap<_, _> = ix.aggregate_squares(&sq, &region, &f, &heat).unwrap()
            .into_iter().map(|s| (s.cell, (s.count, s.score))).collect();
        let want = o.squares(&sq, &f, &heat);
        prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
        for (k, (n, s)) in &got {
            prop_assert_eq!(*n, want[k].0);
            prop_assert!(close(*s, want[k].1), "{:?}: {} vs {}", k, s, want[k].1);
        }
        let hx = HexGrid::new(anchor, hex_m).unwrap();
        let got_h = ix.aggregate_hexes(&hx, &region, &f, &heat).unwrap();
        // Sorted by (r, q), no empty cell.
        prop_assert!(got_h.windows(2).all(|w| (w[0].cell.r, w[0].cell.q) < (w[1].cell.r, w[1].cell.q)));
        prop_assert!(got_h.iter().all(|s| s.count > 0));
        let got_h: BTreeMap<_, _> = got_h.into_iter().map(|s| (s.cell, (s.count, s.score))).collect();
        let want_h = o.hexes(&hx, &f, &heat);
        prop_assert_eq!(got_h.keys().collect::<Vec<_>>(), want_h.keys().collect::<Vec<_>>());
        for (k, (n, s)) in &got_h {
            prop_assert_eq!(*n, want_h[k].0);
            prop_assert!(close(*s, want_h[k].1));
        }
    }

    #[test]
    fn zones_match_scan(
        (c, recs) in arb_records_around(&CHINA, 300),
        specs in prop::collection::vec((arb_polyspec(), prop::option::weighted(0.3, arb_polyspec()), 0usize..5), 1..8),
        probes in prop::collection::vec(arb_offset(), 1..30),
        f in arb_filter(),
        now_day in 0i64..60,
    ) {
        let mut zones = ZoneIndex::new();
        let mut geoms = Vec::new();
        for (n, (a, b, kind)) in specs.iter().enumerate() {
            let mut polys = vec![make_polygon(c, a)];
            polys.extend(b.iter().map(|b| make_polygon(c, b)));
            let id = ZoneId(Uuid::from_u128(n as u128 + 1));
            let mp = MultiPolygon::new(polys);
            zones.insert(id, ZoneKind::ALL[*kind], mp.clone()).unwrap();
            geoms.push((id, ZoneKind::ALL[*kind], mp));
        }
        let polys: Vec<_> = geoms.iter().flat_map(|g| g.2.0.iter().cloned()).collect();
        let mut recs = recs;
        recs.extend(boundary_records(&polys, 1 << 100, Attrs { category: 4, status: 1, severity: 3, reported_ms: 0 }));
        let ix = ProblemIndex::bulk_load(recs.iter().copied()).unwrap();
        let o = Oracle { recs };
        // Point -> zones, at random probes and at every record (vertices and edges included).
        let probes: Vec<LonLat> = probes.iter().map(|p| p.at(c)).chain(o.recs.iter().map(|r| r.position)).collect();
        for p in probes {
            let mut want: Vec<_> = geoms.iter()
                .filter(|(_, _, g)| g.intersects(&Point::from(p)))
                .map(|(id, kind, _)| (kind.dispatch_rank(), *id))
                .collect();
            want.sort();
            let got: Vec<_> = zones.zones_at(p).into_iter().map(|h| (h.kind.dispatch_rank(), h.id)).collect();
            prop_assert_eq!(got, want, "{:?}", p);
        }
        // Zone -> points, and heat.
        let heat = HeatParams::new(weights(), now_day * 86_400_000);
        let got_heat = ix.zone_heat(&zones, geoms.iter().map(|g| g.0), &f, &heat).unwrap();
        for ((id, _, g), h) in geoms.iter().zip(&got_heat) {
            prop_assert_eq!(sorted(ix.in_zone(&zones, *id, &f).unwrap()), o.in_shape(g, &f));
            let (want, per_cat) = o.zone_heat(*id, g, zones.area_m2(*id).unwrap(), &f, &heat);
            prop_assert_eq!(h.zone, want.zone);
            prop_assert_eq!(h.count, want.count);
            prop_assert!(close(h.score, want.score));
            prop_assert!(close(h.score_per_ha, want.score_per_ha));
            prop_assert_eq!(h.top_categories.len(), want.top_categories.len());
            for (a, b) in h.top_categories.iter().zip(&want.top_categories) {
                // Sums in another order may swap near-equal categories; each listed one must be
                // right and the scores must descend like the oracle's.
                prop_assert!(close(a.score, b.score));
                let (n, s) = per_cat[&a.category.0];
                prop_assert_eq!(a.count, n);
                prop_assert!(close(a.score, s));
            }
        }
    }
}

/// Operations of the random sequence test.
#[derive(Debug, Clone)]
enum Op {
    Insert(Offset, Attrs),
    InsertDuplicate(Index),
    Remove(Index),
    RemoveUnknown(u64),
    Move(Index, Offset),
    SetStatus(Index, u8),
    Change(Index, Option<u8>, Option<u16>, Option<Offset>),
    Upsert(Index, Offset, Attrs),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (arb_offset(), arb_attrs()).prop_map(|(o, a)| Op::Insert(o, a)),
        1 => any::<Index>().prop_map(Op::InsertDuplicate),
        3 => any::<Index>().prop_map(Op::Remove),
        1 => any::<u64>().prop_map(Op::RemoveUnknown),
        2 => (any::<Index>(), arb_offset()).prop_map(|(i, o)| Op::Move(i, o)),
        2 => (any::<Index>(), 0u8..7).prop_map(|(i, s)| Op::SetStatus(i, s)),
        1 => (any::<Index>(), prop::option::of(1u8..=4), prop::option::of(0u16..12), prop::option::of(arb_offset()))
            .prop_map(|(i, s, c, o)| Op::Change(i, s, c, o)),
        1 => (any::<Index>(), arb_offset(), arb_attrs()).prop_map(|(i, o, a)| Op::Upsert(i, o, a)),
    ]
}

fn check_all(ix: &ProblemIndex, o: &Oracle, c: (f64, f64)) -> Result<(), TestCaseError> {
    prop_assert_eq!(ix.len(), o.recs.len());
    for r in &o.recs {
        prop_assert_eq!(ix.get(r.id), Some(*r));
    }
    let mut all: Vec<_> = ix.iter().collect();
    all.sort_by_key(|r| r.id);
    let mut want = o.recs.clone();
    want.sort_by_key(|r| r.id);
    prop_assert_eq!(all, want);
    let f = Filter::default().with_statuses(civmap_index::StatusSet::open());
    let b = BBox::new(c.0 - 0.002, c.1 - 0.002, c.0 + 0.002, c.1 + 0.002).unwrap();
    prop_assert_eq!(sorted(ix.bbox(&b, &f)), o.bbox(&b, &f));
    let q = LonLat::new(c.0, c.1).unwrap();
    prop_assert_eq!(
        neighbors(&ix.nearest(q, 7, &f)),
        oracle_neighbors(&o.knn(q, 7, &f))
    );
    prop_assert_eq!(
        neighbors(&ix.within_radius(q, 250.0, &f).unwrap()),
        oracle_neighbors(&o.radius(q, 250.0, &f))
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn random_operations_match_a_vec(
        (c, recs) in arb_records(300),
        bulk in any::<bool>(),
        ops in prop::collection::vec(arb_op(), 1..150),
    ) {
        let mut ix = build(&recs, bulk);
        let mut o = Oracle { recs };
        let mut next_id: u128 = 1 << 90;
        for (step, op) in ops.into_iter().enumerate() {
            let pick = |i: &Index, o: &Oracle| (!o.recs.is_empty()).then(|| i.index(o.recs.len()));
            match op {
                Op::Insert(off, a) => {
                    let r = record(next_id, off.at(c), a);
                    next_id += 1;
                    ix.insert(r).unwrap();
                    o.recs.push(r);
                }
                Op::InsertDuplicate(i) => {
                    if let Some(k) = pick(&i, &o) {
                        let mut r = o.recs[k];
                        r.status = Status::Closed;
                        prop_assert_eq!(ix.insert(r), Err(civmap_index::IndexError::DuplicateProblem(r.id)));
                    }
                }
                Op::Remove(i) => {
                    if let Some(k) = pick(&i, &o) {
                        let r = o.recs.swap_remove(k);
                        prop_assert_eq!(ix.remove(r.id).unwrap(), r);
                        prop_assert!(!ix.contains(r.id));
                    }
                }
                Op::RemoveUnknown(x) => {
                    let id = ProblemId(Uuid::from_u128((1 << 120) + u128::from(x)));
                    prop_assert_eq!(ix.remove(id), Err(civmap_index::IndexError::UnknownProblem(id)));
                }
                Op::Move(i, off) => {
                    if let Some(k) = pick(&i, &o) {
                        let p = off.at(c);
                        o.recs[k].position = p;
                        let got = ix.update(o.recs[k].id, &PointUpdate { position: Some(p), ..PointUpdate::default() }).unwrap();
                        prop_assert_eq!(got, o.recs[k]);
                    }
                }
                Op::SetStatus(i, s) => {
                    if let Some(k) = pick(&i, &o) {
                        let s = Status::from_code(s).unwrap();
                        o.recs[k].status = s;
                        let got = ix.update(o.recs[k].id, &PointUpdate { status: Some(s), ..PointUpdate::default() }).unwrap();
                        prop_assert_eq!(got, o.recs[k]);
                    }
                }
                Op::Change(i, sev, cat, pos) => {
                    if let Some(k) = pick(&i, &o) {
                        let r = &mut o.recs[k];
                        let change = PointUpdate {
                            position: pos.map(|p| p.at(c)),
                            status: None,
                            severity: sev.map(|s| Severity::from_code(s).unwrap()),
                            category: cat.map(CategoryId),
                        };
                        if let Some(p) = change.position { r.position = p; }
                        if let Some(s) = change.severity { r.severity = s; }
                        if let Some(c) = change.category { r.category = c; }
                        prop_assert_eq!(ix.update(r.id, &change).unwrap(), *r);
                    }
                }
                Op::Upsert(i, off, a) => {
                    if let Some(k) = pick(&i, &o) {
                        let r = record(o.recs[k].id.0.as_u128(), off.at(c), a);
                        prop_assert_eq!(ix.upsert(r), Some(o.recs[k]));
                        o.recs[k] = r;
                    }
                }
            }
            prop_assert_eq!(ix.len(), o.recs.len());
            if step % 16 == 15 {
                check_all(&ix, &o, c)?;
            }
        }
        check_all(&ix, &o, c)?;
    }
}

/// A larger data set (deeper tree: 20,000 points, four levels), few cases.
mod deep {
    use super::*;

    proptest! {
        #![proptest_config(config(6))]

        #[test]
        fn deep_tree_queries_match_scan(
            seed in any::<u64>(),
            centre in prop::sample::select(CHINA.to_vec()),
            f in arb_filter(),
        ) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let recs: Vec<PointRecord> = (0..20_000u128)
                .map(|i| {
                    let off = if rng.random_bool(0.5) {
                        Offset::Lattice(rng.random_range(-HALF..=HALF), rng.random_range(-HALF..=HALF))
                    } else {
                        Offset::Free(rng.random_range(-0.02..0.02), rng.random_range(-0.02..0.02))
                    };
                    let a = Attrs {
                        category: rng.random_range(0..12),
                        status: rng.random_range(0..7),
                        severity: rng.random_range(1..=4),
                        reported_ms: rng.random_range(0..40) * 86_400_000,
                    };
                    record(i + 1, off.at(centre), a)
                })
                .collect();
            let ix = build(&recs, seed % 2 == 0);
            let o = Oracle { recs };
            for _ in 0..10 {
                let q = Offset::Free(rng.random_range(-0.03..0.03), rng.random_range(-0.03..0.03)).at(centre);
                let k = rng.random_range(1..40);
                prop_assert_eq!(neighbors(&ix.nearest(q, k, &f)), oracle_neighbors(&o.knn(q, k, &f)));
                let r = rng.random_range(0.0..900.0);
                prop_assert_eq!(neighbors(&ix.within_radius(q, r, &f).unwrap()), oracle_neighbors(&o.radius(q, r, &f)));
                let b = make_bbox(centre, (Offset::Free(rng.random_range(-0.03..0.03), rng.random_range(-0.03..0.03)), Offset::Lattice(rng.random_range(-HALF..=HALF), rng.random_range(-HALF..=HALF))));
                prop_assert_eq!(sorted(ix.bbox(&b, &f)), o.bbox(&b, &f));
                let spec = PolySpec::Star(rng.random_range(-20..20), rng.random_range(-20..20), (0..24).map(|_| rng.random_range(8..60)).collect(), Some(vec![3, 5, 4, 6, 2]));
                let p = make_polygon(centre, &spec);
                prop_assert_eq!(sorted(ix.in_polygon(&p, &f).unwrap()), o.in_shape(&p, &f));
            }
        }
    }
}

/// The packed part, the R-tree of changes since it was built, tombstones and merges (README,
/// "How it works"): long runs of inserts, removes, moves and status changes, with every kind of
/// query checked along the way against a `Vec`.
mod merges {
    use super::*;

    /// How many merges the index has swapped in, from `Debug` (`merges: N`).
    fn merge_count(ix: &ProblemIndex) -> usize {
        let s = format!("{ix:?}");
        let n = s.split("merges: ").nth(1).unwrap();
        n[..n.find(|c: char| !c.is_ascii_digit()).unwrap()]
            .parse()
            .unwrap()
    }

    /// Box, polygon, radius, k nearest, count, records and a hexagon surface, against the oracle.
    fn check_queries(
        ix: &ProblemIndex,
        o: &Oracle,
        c: (f64, f64),
        q: &Probe,
        f: &Filter,
    ) -> Result<(), TestCaseError> {
        let b = make_bbox(c, q.bbox);
        prop_assert_eq!(sorted(ix.bbox(&b, f)), o.bbox(&b, f));
        prop_assert_eq!(
            sorted(ix.bbox(&b, &Filter::default())),
            o.bbox(&b, &Filter::default())
        );
        prop_assert_eq!(ix.count(&Region::BBox(b), f).unwrap(), o.bbox(&b, f).len());
        let p = make_polygon(c, &q.polygon);
        prop_assert_eq!(sorted(ix.in_polygon(&p, f).unwrap()), o.in_shape(&p, f));
        let at = q.at.at(c);
        prop_assert_eq!(
            neighbors(&ix.within_radius(at, q.radius_m, f).unwrap()),
            oracle_neighbors(&o.radius(at, q.radius_m, f))
        );
        prop_assert_eq!(
            neighbors(&ix.nearest(at, q.k, f)),
            oracle_neighbors(&o.knn(at, q.k, f))
        );
        let mut recs = ix.query_records(&Region::All, f).unwrap();
        recs.sort_by_key(|r| r.id);
        let mut want: Vec<_> = o.recs.iter().filter(|r| f.matches(r)).copied().collect();
        want.sort_by_key(|r| r.id);
        prop_assert_eq!(recs, want);
        let heat = HeatParams::new(weights(), 20 * 86_400_000);
        let hx = HexGrid::new(LonLat::new(c.0, c.1).unwrap(), 60.0).unwrap();
        let got: BTreeMap<_, _> = ix
            .aggregate_hexes(&hx, &Region::All, f, &heat)
            .unwrap()
            .into_iter()
            .map(|s| (s.cell, s.count))
            .collect();
        let exp: BTreeMap<_, _> = o
            .hexes(&hx, f, &heat)
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        prop_assert_eq!(got, exp);
        Ok(())
    }

    #[derive(Debug, Clone)]
    struct Probe {
        bbox: (Offset, Offset),
        polygon: PolySpec,
        at: Offset,
        radius_m: f64,
        k: usize,
    }

    fn arb_probe() -> impl Strategy<Value = Probe> {
        (
            arb_bbox(),
            arb_polyspec(),
            arb_offset(),
            0.0f64..900.0,
            0usize..20,
        )
            .prop_map(|(bbox, polygon, at, radius_m, k)| Probe {
                bbox,
                polygon,
                at,
                radius_m,
                k,
            })
    }

    #[derive(Debug, Clone)]
    enum Change {
        Insert(Offset, Attrs),
        Remove(Index),
        Move(Index, Offset),
        Status(Index, u8),
        /// Remove, then put back the same id elsewhere (a problem re-reported after a merge of
        /// its old place).
        Reinsert(Index, Offset),
    }

    fn arb_change() -> impl Strategy<Value = Change> {
        prop_oneof![
            4 => (arb_offset(), arb_attrs()).prop_map(|(o, a)| Change::Insert(o, a)),
            3 => any::<Index>().prop_map(Change::Remove),
            2 => (any::<Index>(), arb_offset()).prop_map(|(i, o)| Change::Move(i, o)),
            2 => (any::<Index>(), 0u8..7).prop_map(|(i, s)| Change::Status(i, s)),
            1 => (any::<Index>(), arb_offset()).prop_map(|(i, o)| Change::Reinsert(i, o)),
        ]
    }

    fn apply(
        ix: &mut ProblemIndex,
        o: &mut Oracle,
        c: (f64, f64),
        change: &Change,
        next_id: &mut u128,
    ) -> Result<(), TestCaseError> {
        let pick = |i: &Index, o: &Oracle| (!o.recs.is_empty()).then(|| i.index(o.recs.len()));
        match change {
            Change::Insert(off, a) => {
                let r = record(*next_id, off.at(c), *a);
                *next_id += 1;
                ix.insert(r).unwrap();
                o.recs.push(r);
            }
            Change::Remove(i) => {
                if let Some(k) = pick(i, o) {
                    let r = o.recs.swap_remove(k);
                    prop_assert_eq!(ix.remove(r.id), Ok(r));
                    prop_assert_eq!(
                        ix.remove(r.id),
                        Err(civmap_index::IndexError::UnknownProblem(r.id))
                    );
                }
            }
            Change::Move(i, off) => {
                if let Some(k) = pick(i, o) {
                    o.recs[k].position = off.at(c);
                    let change = PointUpdate {
                        position: Some(o.recs[k].position),
                        ..PointUpdate::default()
                    };
                    prop_assert_eq!(ix.update(o.recs[k].id, &change), Ok(o.recs[k]));
                }
            }
            Change::Status(i, s) => {
                if let Some(k) = pick(i, o) {
                    o.recs[k].status = Status::from_code(*s).unwrap();
                    let change = PointUpdate {
                        status: Some(o.recs[k].status),
                        ..PointUpdate::default()
                    };
                    prop_assert_eq!(ix.update(o.recs[k].id, &change), Ok(o.recs[k]));
                    // The same id again is refused, wherever it lives now.
                    prop_assert_eq!(
                        ix.insert(o.recs[k]),
                        Err(civmap_index::IndexError::DuplicateProblem(o.recs[k].id))
                    );
                }
            }
            Change::Reinsert(i, off) => {
                if let Some(k) = pick(i, o) {
                    let old = o.recs[k];
                    prop_assert_eq!(ix.remove(old.id), Ok(old));
                    o.recs[k].position = off.at(c);
                    ix.insert(o.recs[k]).unwrap();
                }
            }
        }
        prop_assert_eq!(ix.len(), o.recs.len());
        Ok(())
    }

    proptest! {
        #![proptest_config(config(48))]

        /// Hundreds of changes on a small index: merges (at 64 changes) happen in place, many
        /// times per run, between the queries.
        #[test]
        fn changes_and_merges_match_a_vec(
            (c, recs) in arb_records(250),
            bulk in any::<bool>(),
            changes in prop::collection::vec(arb_change(), 200..600),
            probes in prop::collection::vec(arb_probe(), 8),
            f in arb_filter(),
        ) {
            let mut ix = build(&recs, bulk);
            let mut o = Oracle { recs };
            let mut next_id: u128 = 1 << 90;
            for (step, change) in changes.iter().enumerate() {
                apply(&mut ix, &mut o, c, change, &mut next_id)?;
                if step % 25 == 24 {
                    check_queries(&ix, &o, c, &probes[step / 25 % probes.len()], &f)?;
                    check_all(&ix, &o, c)?;
                }
            }
            check_queries(&ix, &o, c, &probes[0], &f)?;
            check_all(&ix, &o, c)?;
        }
    }

    proptest! {
        #![proptest_config(config(4))]

        /// Above 4,096 points merges run on a thread while the changes and queries go on: the
        /// answers hold whenever the new packed part is swapped in.
        #[test]
        fn changes_during_merges_on_a_thread_match_a_vec(
            seed in any::<u64>(),
            centre in prop::sample::select(CHINA.to_vec()),
            changes in prop::collection::vec(arb_change(), 3_000..4_000),
            probes in prop::collection::vec(arb_probe(), 8),
            f in arb_filter(),
        ) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let recs: Vec<PointRecord> = (0..6_000u128)
                .map(|i| {
                    let off = Offset::Lattice(rng.random_range(-HALF..=HALF), rng.random_range(-HALF..=HALF));
                    let a = Attrs { category: rng.random_range(0..12), status: rng.random_range(0..7), severity: rng.random_range(1..=4), reported_ms: rng.random_range(0..40) * 86_400_000 };
                    record(i + 1, off.at(centre), a)
                })
                .collect();
            let mut ix = build(&recs, true);
            let mut o = Oracle { recs };
            let mut next_id: u128 = 1 << 90;
            for (step, change) in changes.iter().enumerate() {
                apply(&mut ix, &mut o, centre, change, &mut next_id)?;
                if step % 150 == 149 {
                    check_queries(&ix, &o, centre, &probes[step / 150 % probes.len()], &f)?;
                }
            }
            check_all(&ix, &o, centre)?;
        }
    }

    /// The cases above do merge mid-sequence: a fixed run of the same changes, counted.
    #[test]
    fn merges_happen_between_queries() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::new(config(1));
        let mut draw =
            |s: &dyn Fn() -> BoxedStrategy<Change>| s().new_tree(&mut runner).unwrap().current();
        let c = CENTRES[1];
        let recs: Vec<_> = (0..300u32)
            .map(|i| {
                record(
                    u128::from(i) + 1,
                    Offset::Lattice((i % 41) as i32 - 20, (i / 41) as i32 - 4).at(c),
                    Attrs {
                        category: (i % 12) as u16,
                        status: (i % 7) as u8,
                        severity: 2,
                        reported_ms: 0,
                    },
                )
            })
            .collect();
        let mut ix = build(&recs, true);
        let mut o = Oracle { recs };
        let mut next_id: u128 = 1 << 90;
        let probe = Probe {
            bbox: (Offset::Lattice(-30, -30), Offset::Lattice(10, 25)),
            polygon: PolySpec::Star(0, 0, vec![20, 30, 25, 35, 15], None),
            at: Offset::Lattice(0, 0),
            radius_m: 400.0,
            k: 12,
        };
        let mut seen = Vec::new();
        for step in 0..1_500 {
            let change = draw(&|| arb_change().boxed());
            apply(&mut ix, &mut o, c, &change, &mut next_id).unwrap();
            if step % 10 == 9 {
                check_queries(&ix, &o, c, &probe, &Filter::default()).unwrap();
                seen.push(merge_count(&ix));
            }
        }
        seen.dedup();
        assert!(seen.len() > 10, "merges seen between queries: {seen:?}");
    }
}
