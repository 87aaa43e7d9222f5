//! Named cases: boundaries, ties, empty results, errors, the antimeridian, heat by hand.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

use civmap_domain::{CategoryId, LonLat, ProblemId, Severity, Status, ZoneId, ZoneKind};
use civmap_index::{
    BBox, Filter, HeatParams, IndexError, PointRecord, PointUpdate, ProblemIndex, Region,
    SquareGrid, StatusSet, ZoneIndex, haversine_m,
};
use geo::{Intersects, LineString, MultiPolygon, Point, Polygon, polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

const DAY: i64 = 86_400_000;

fn id(n: u128) -> ProblemId {
    ProblemId(Uuid::from_u128(n))
}

fn rec(n: u128, lon: f64, lat: f64) -> PointRecord {
    PointRecord {
        id: id(n),
        position: LonLat::new(lon, lat).unwrap(),
        category: CategoryId(0),
        status: Status::Reported,
        severity: Severity::Medium,
        reported_ms: 0,
    }
}

fn ids(mut v: Vec<ProblemId>) -> Vec<u128> {
    v.sort();
    v.into_iter().map(|i| i.0.as_u128()).collect()
}

#[test]
fn bbox_edges_and_corners_are_inside() {
    let b = BBox::new(121.40, 31.20, 121.50, 31.30).unwrap();
    let ix = ProblemIndex::bulk_load([
        rec(1, 121.40, 31.20),                 // south-west corner
        rec(2, 121.50, 31.30),                 // north-east corner
        rec(3, 121.45, 31.30),                 // north edge
        rec(4, 121.50, 31.25),                 // east edge
        rec(5, 121.45, 31.25),                 // inside
        rec(6, 121.500_000_000_000_01, 31.25), // a hair east: outside
        rec(7, 121.45, 31.199_999_999_999_99), // a hair south: outside
    ])
    .unwrap();
    assert_eq!(ids(ix.bbox(&b, &Filter::default())), [1, 2, 3, 4, 5]);
    assert!(b.contains(LonLat::new(121.40, 31.30).unwrap()));
    // A degenerate box is a point.
    let p = BBox::new(121.45, 31.25, 121.45, 31.25).unwrap();
    assert_eq!(ids(ix.bbox(&p, &Filter::default())), [5]);
}

#[test]
fn radius_includes_its_boundary_and_zero_finds_duplicates() {
    let c = LonLat::new(121.47, 31.23).unwrap();
    let mut recs = vec![
        rec(1, 121.47, 31.23),
        rec(2, 121.47, 31.23),
        rec(3, 121.48, 31.23),
    ];
    recs.push(rec(4, 121.47, 31.24));
    let ix = ProblemIndex::bulk_load(recs.clone()).unwrap();
    let f = Filter::default();
    let r = haversine_m(c, recs[2].position);
    let got = ix.within_radius(c, r, &f).unwrap();
    assert_eq!(
        got.iter().map(|n| n.id.0.as_u128()).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(got[2].distance_m, r, "exactly the boundary distance");
    let just_below = ix.within_radius(c, r.next_down(), &f).unwrap();
    assert_eq!(just_below.len(), 2);
    let zero = ix.within_radius(c, 0.0, &f).unwrap();
    assert_eq!(
        zero.iter().map(|n| n.id.0.as_u128()).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn nearest_breaks_ties_by_id() {
    // Five reports of one market gate, inserted in scrambled id order, and one farther away.
    let mut ix = ProblemIndex::new();
    for n in [40, 10, 50, 30, 20] {
        ix.insert(rec(n, 117.0, 36.65)).unwrap();
    }
    ix.insert(rec(1, 117.001, 36.65)).unwrap();
    let q = LonLat::new(117.0, 36.65).unwrap();
    let got = ix.nearest(q, 3, &Filter::default());
    assert_eq!(
        got.iter().map(|n| n.id.0.as_u128()).collect::<Vec<_>>(),
        [10, 20, 30]
    );
    let all = ix.nearest(q, 10, &Filter::default());
    assert_eq!(all.len(), 6);
    assert_eq!(all[5].id, id(1));
    assert!(
        (all[5].distance_m - 89.21).abs() < 0.01,
        "{}",
        all[5].distance_m
    );
    assert!(ix.nearest(q, 0, &Filter::default()).is_empty());
}

#[test]
fn polygon_holes_and_rings() {
    let poly = polygon!(
        exterior: [(x: 121.40, y: 31.20), (x: 121.50, y: 31.20), (x: 121.50, y: 31.30), (x: 121.40, y: 31.30)],
        interiors: [[(x: 121.44, y: 31.24), (x: 121.44, y: 31.26), (x: 121.46, y: 31.26), (x: 121.46, y: 31.24)]],
    );
    let ix = ProblemIndex::bulk_load([
        rec(1, 121.45, 31.25), // inside the hole: out
        rec(2, 121.44, 31.25), // on the hole's ring: in
        rec(3, 121.46, 31.26), // a hole vertex: in
        rec(4, 121.40, 31.20), // an exterior vertex: in
        rec(5, 121.42, 31.22), // inside: in
        rec(6, 121.50, 31.25), // on the exterior: in
        rec(7, 121.51, 31.25), // outside
    ])
    .unwrap();
    let f = Filter::default();
    assert_eq!(ids(ix.in_polygon(&poly, &f).unwrap()), [2, 3, 4, 5, 6]);
    // A multipolygon: the same polygon plus a square filling the hole.
    let plug = polygon![(x: 121.445, y: 31.245), (x: 121.455, y: 31.245), (x: 121.455, y: 31.255), (x: 121.445, y: 31.255)];
    let mp = MultiPolygon::new(vec![poly.clone(), plug]);
    assert_eq!(
        ids(ix.in_multipolygon(&mp, &f).unwrap()),
        [1, 2, 3, 4, 5, 6]
    );
    let bad = Polygon::new(
        LineString::from(vec![(121.0, 31.0), (f64::NAN, 31.0), (121.1, 31.1)]),
        vec![],
    );
    assert_eq!(
        ix.in_polygon(&bad, &f).unwrap_err(),
        IndexError::InvalidPolygon
    );
}

#[test]
fn empty_results() {
    let empty = ProblemIndex::new();
    let c = LonLat::new(121.47, 31.23).unwrap();
    let f = Filter::default();
    assert!(empty.nearest(c, 5, &f).is_empty());
    assert!(empty.within_radius(c, 1e6, &f).unwrap().is_empty());
    assert!(
        empty
            .bbox(&BBox::new(-180.0, -90.0, 180.0, 90.0).unwrap(), &f)
            .is_empty()
    );
    assert!(empty.bounds().is_none());
    let g = SquareGrid::new(c, 100.0).unwrap();
    assert!(
        empty
            .aggregate_squares(&g, &Region::All, &f, &HeatParams::new(vec![], 0))
            .unwrap()
            .is_empty()
    );

    let ix = ProblemIndex::bulk_load([rec(1, 121.47, 31.23)]).unwrap();
    let none = Filter::default().with_statuses(StatusSet::none());
    assert!(
        ix.nearest(c, 5, &none).is_empty(),
        "a filter that matches nothing"
    );
    assert!(
        ix.bbox(&BBox::new(0.0, 0.0, 1.0, 1.0).unwrap(), &f)
            .is_empty(),
        "far away"
    );
    assert!(
        ix.within_radius(LonLat::new(121.48, 31.23).unwrap(), 900.0, &f)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn across_the_antimeridian() {
    let ix = ProblemIndex::bulk_load([
        rec(1, 179.9999, -16.5),
        rec(2, -179.9999, -16.5),
        rec(3, 180.0, -16.5),
        rec(4, -180.0, -16.5),
        rec(5, -179.99, -16.5),
    ])
    .unwrap();
    let f = Filter::default();
    let q = LonLat::new(-179.9999, -16.5).unwrap();
    // 180 and -180 are the same meridian, 10.66 m from the query; 179.9999 is 21.3 m away.
    // (The two 10.66 m distances may differ in the last bits: Δλ is 0.0001° or 359.9999°.)
    for got in [ix.within_radius(q, 30.0, &f).unwrap(), ix.nearest(q, 4, &f)] {
        let order: Vec<_> = got.iter().map(|n| n.id.0.as_u128()).collect();
        assert_eq!(order.len(), 4);
        assert_eq!((order[0], order[3]), (2, 1), "{order:?}");
        assert!(order[1..3].contains(&3) && order[1..3].contains(&4));
        assert!(
            (got[1].distance_m - 10.66).abs() < 0.01 && (got[2].distance_m - 10.66).abs() < 0.01
        );
        assert!(
            (got[3].distance_m - 21.32).abs() < 0.01,
            "{}",
            got[3].distance_m
        );
    }
}

#[test]
fn errors_name_what_is_wrong() {
    let mut ix = ProblemIndex::bulk_load([rec(1, 121.0, 31.0)]).unwrap();
    let c = LonLat::new(121.0, 31.0).unwrap();
    let e = ix.within_radius(c, -1.0, &Filter::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "radius must be a finite number of metres >= 0, got -1"
    );
    assert!(ix.within_radius(c, f64::NAN, &Filter::default()).is_err());
    assert!(
        ix.query(
            &Region::Circle {
                center: c,
                radius_m: f64::INFINITY
            },
            &Filter::default()
        )
        .is_err()
    );
    let e = ix.insert(rec(1, 121.0, 31.0)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("problem {} is already in the index", id(1))
    );
    assert_eq!(
        ix.remove(id(2)).unwrap_err(),
        IndexError::UnknownProblem(id(2))
    );
    assert_eq!(
        ix.update(id(2), &PointUpdate::default()).unwrap_err(),
        IndexError::UnknownProblem(id(2))
    );
    assert!(
        ProblemIndex::bulk_load([rec(1, 121.0, 31.0), rec(1, 122.0, 31.0)])
            .unwrap_err()
            .to_string()
            .contains("already in the index")
    );
    assert!(
        BBox::new(f64::NAN, 0.0, 1.0, 1.0)
            .unwrap_err()
            .to_string()
            .contains("non-finite")
    );
    assert!(BBox::new(0.0, 0.0, 181.0, 1.0).is_err());
    let zones = ZoneIndex::new();
    let z = ZoneId(Uuid::from_u128(9));
    assert_eq!(
        ix.in_zone(&zones, z, &Filter::default()).unwrap_err(),
        IndexError::UnknownZone(z)
    );
}

#[test]
fn slots_are_reused_after_removal() {
    let mut ix = ProblemIndex::new();
    for n in 1..=100 {
        ix.insert(rec(n, 121.0 + n as f64 * 1e-4, 31.0)).unwrap();
    }
    for n in 1..=50 {
        ix.remove(id(n)).unwrap();
    }
    for n in 101..=150 {
        ix.insert(rec(n, 121.0 + n as f64 * 1e-4, 31.01)).unwrap();
    }
    assert_eq!(ix.len(), 100);
    for n in 51..=150 {
        assert_eq!(ix.get(id(n)).unwrap().id, id(n));
    }
    let all = ix.bbox(
        &BBox::new(120.0, 30.0, 122.0, 32.0).unwrap(),
        &Filter::default(),
    );
    assert_eq!(ids(all), (51..=150).collect::<Vec<_>>());
}

/// Circles of `radius_m` around `c` as 32-gons in lon/lat.
fn circle(c: LonLat, radius_m: f64) -> Polygon<f64> {
    let dlat = radius_m / civmap_index::METRES_PER_DEGREE;
    let dlon = dlat / c.lat().to_radians().cos();
    let ring: Vec<(f64, f64)> = (0..32)
        .map(|i| {
            let t = f64::from(i) / 32.0 * std::f64::consts::TAU;
            (c.lon() + dlon * t.cos(), c.lat() + dlat * t.sin())
        })
        .collect();
    Polygon::new(LineString::from(ring), vec![])
}

#[test]
fn ten_thousand_zones_against_a_scan() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut zones = Vec::new();
    for n in 0..10_000u128 {
        let c = LonLat::new(
            121.47 + rng.random_range(-0.25..0.25),
            31.23 + rng.random_range(-0.2..0.2),
        )
        .unwrap();
        let kind = ZoneKind::ALL[(n % 5) as usize];
        zones.push((
            ZoneId(Uuid::from_u128(n + 1)),
            kind,
            MultiPolygon::new(vec![circle(c, rng.random_range(50.0..400.0))]),
        ));
    }
    let index = ZoneIndex::bulk_load(zones.clone()).unwrap();
    assert_eq!(index.len(), 10_000);
    let mut hits = 0;
    for _ in 0..600 {
        let p = LonLat::new(
            121.47 + rng.random_range(-0.25..0.25),
            31.23 + rng.random_range(-0.2..0.2),
        )
        .unwrap();
        let mut want: Vec<_> = zones
            .iter()
            .filter(|(_, _, g)| g.intersects(&Point::from(p)))
            .map(|(id, k, _)| (k.dispatch_rank(), *id))
            .collect();
        want.sort();
        let got: Vec<_> = index
            .zones_at(p)
            .iter()
            .map(|h| (h.kind.dispatch_rank(), h.id))
            .collect();
        hits += got.len();
        assert_eq!(got, want);
    }
    assert!(hits > 60, "the probes hit zones: {hits}");
}

#[test]
fn zone_heat_by_hand() {
    // A 0.01° square at 31° N (~105.9 ha on the ellipsoid) with four problems in, one out.
    let sq = polygon![(x: 121.0, y: 31.0), (x: 121.01, y: 31.0), (x: 121.01, y: 31.01), (x: 121.0, y: 31.01)];
    let zid = ZoneId(Uuid::from_u128(1));
    let mut zones = ZoneIndex::new();
    zones
        .insert(zid, ZoneKind::Area, MultiPolygon::new(vec![sq]))
        .unwrap();
    let now = 100 * DAY;
    let mk =
        |n: u128, cat: u16, status: Status, sev: Severity, age_days: i64, lon: f64| PointRecord {
            id: id(n),
            position: LonLat::new(lon, 31.005).unwrap(),
            category: CategoryId(cat),
            status,
            severity: sev,
            reported_ms: now - age_days * DAY,
        };
    let ix = ProblemIndex::bulk_load([
        // weight 2.0 (cat 1) × 1.5 (high) × (1 + 14/7 = 3) = 9.0
        mk(1, 1, Status::Dispatched, Severity::High, 14, 121.005),
        // weight 1.0 (cat 0) × 0.5 (low) × 1 (new) = 0.5
        mk(2, 0, Status::Reported, Severity::Low, 0, 121.001),
        // weight 2.0 × 2.5 (critical) × 4 (capped: 60 days) = 20.0
        mk(3, 1, Status::Recurred, Severity::Critical, 60, 121.0),
        // closed: not counted
        mk(4, 0, Status::Closed, Severity::Critical, 60, 121.002),
        // outside the zone
        mk(5, 0, Status::Reported, Severity::Critical, 60, 121.02),
    ])
    .unwrap();
    let heat = HeatParams::new(vec![1.0, 2.0], now);
    let h = &ix
        .zone_heat(&zones, [zid], &Filter::default(), &heat)
        .unwrap()[0];
    assert_eq!(h.count, 3);
    assert!((h.score - 29.5).abs() < 1e-12, "{}", h.score);
    let ha = h.area_m2 / 10_000.0;
    assert!((ha - 105.9).abs() < 0.3, "{ha}");
    assert!((h.score_per_ha - 29.5 / ha).abs() < 1e-12);
    assert_eq!(h.top_categories.len(), 2);
    assert_eq!(
        (h.top_categories[0].category, h.top_categories[0].count),
        (CategoryId(1), 2)
    );
    assert!((h.top_categories[0].score - 29.0).abs() < 1e-12);
    // A filter narrows it further; closed problems never count.
    let only_closed = Filter::default().with_statuses(StatusSet::of([Status::Closed]));
    assert_eq!(
        ix.zone_heat(&zones, [zid], &only_closed, &heat).unwrap()[0].count,
        0
    );
    let z2 = ZoneId(Uuid::from_u128(2));
    assert_eq!(
        ix.zone_heat(&zones, [z2], &Filter::default(), &heat)
            .unwrap_err(),
        IndexError::UnknownZone(z2)
    );
}
