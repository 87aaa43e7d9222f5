//! Every query of the index against a brute-force scan of the same records (seeded proptest).
#![allow(clippy::unwrap_used, clippy::float_cmp, clippy::too_many_lines)]

mod common;

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
