//! Real data: 1,402 geotagged NYC 311 requests (see `fixtures/SOURCES.md`) — real clustering and
//! addresses reported several times — through every query, against a brute-force scan.
#![allow(clippy::unwrap_used, clippy::float_cmp, clippy::too_many_lines)]

use crate::common;

use std::collections::BTreeMap;

use civmap_domain::{CategoryId, LonLat, ProblemId, Severity, Status, ZoneId, ZoneKind};
use civmap_index::{
    BBox, Filter, HeatParams, HexGrid, PointRecord, ProblemIndex, Region, SquareGrid, StatusSet,
    ZoneIndex,
};
use common::{Oracle, close};
use geo::{MultiPolygon, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

fn load() -> Vec<PointRecord> {
    let text = include_str!("fixtures/nyc311_points.csv");
    let mut types: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    types.sort_unstable();
    types.dedup();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let key: u128 = f[0].parse().unwrap();
            PointRecord {
                id: ProblemId(Uuid::from_u128(key)),
                position: LonLat::new(f[4].parse().unwrap(), f[5].parse().unwrap()).unwrap(),
                category: CategoryId(types.binary_search(&f[3]).unwrap() as u16),
                status: match f[2] {
                    "Closed" => Status::Closed,
                    "Assigned" => Status::Dispatched,
                    _ => Status::Reported,
                },
                // The data has no severity: a fixed spread by key.
                severity: Severity::ALL[(key % 4) as usize],
                reported_ms: f[1].parse().unwrap(),
            }
        })
        .collect()
}

fn sorted(mut v: Vec<ProblemId>) -> Vec<ProblemId> {
    v.sort();
    v
}

#[test]
fn nyc311_points_through_every_query() {
    let recs = load();
    assert_eq!(recs.len(), 1_402);
    let index = ProblemIndex::bulk_load(recs.iter().copied()).unwrap();
    let o = Oracle { recs };
    let all = Filter::default();
    let open = Filter::default().with_statuses(StatusSet::open());
    // Mid-March 2011 (the data is from March 2011), ms.
    let first = o.recs.iter().map(|r| r.reported_ms).min().unwrap();
    let mid = Filter::default()
        .with_reported_between(Some(first + 7 * 86_400_000), Some(first + 21 * 86_400_000));

    // Every record as a query point: its neighbours (repeated addresses are exact ties) and
    // its 300 m circle.
    for r in &o.recs {
        for f in [&all, &open] {
            let got: Vec<_> = index
                .nearest(r.position, 5, f)
                .iter()
                .map(|n| (n.id, n.distance_m.to_bits()))
                .collect();
            let want: Vec<_> = o
                .knn(r.position, 5, f)
                .iter()
                .map(|(id, d)| (*id, d.to_bits()))
                .collect();
            assert_eq!(got, want);
        }
        let got: Vec<_> = index
            .within_radius(r.position, 300.0, &mid)
            .unwrap()
            .iter()
            .map(|n| (n.id, n.distance_m.to_bits()))
            .collect();
        let want: Vec<_> = o
            .radius(r.position, 300.0, &mid)
            .iter()
            .map(|(id, d)| (*id, d.to_bits()))
            .collect();
        assert_eq!(got, want);
    }

    // Boxes over the five boroughs.
    let mut rng = ChaCha8Rng::seed_from_u64(311);
    for _ in 0..200 {
        let (lon, lat) = (
            rng.random_range(-74.25..-73.7),
            rng.random_range(40.5..40.92),
        );
        let (w, h) = (rng.random_range(0.0..0.2), rng.random_range(0.0..0.15));
        let b = BBox::new(lon, lat, lon + w, lat + h).unwrap();
        for f in [&all, &open, &mid] {
            assert_eq!(sorted(index.bbox(&b, f)), o.bbox(&b, f));
        }
    }

    // 1 km hexagons as zones; one big zone with a hole (a ring of hexagons' hull minus a hexagon).
    let anchor = LonLat::new(-73.95, 40.72).unwrap();
    let hex = HexGrid::new(anchor, 1_000.0).unwrap();
    let mut zones = ZoneIndex::new();
    let mut geoms = Vec::new();
    for q in -12..12 {
        for r in -12..12 {
            let id = ZoneId(Uuid::from_u128(((q + 100) * 1000 + r + 100) as u128));
            let mp = MultiPolygon::new(vec![hex.cell_polygon(civmap_index::HexCell { q, r })]);
            zones.insert(id, ZoneKind::GridCell, mp.clone()).unwrap();
            geoms.push((id, mp));
        }
    }
    let outer = HexGrid::new(anchor, 9_000.0)
        .unwrap()
        .cell_polygon(civmap_index::HexCell { q: 0, r: 0 });
    let hole = hex.cell_polygon(civmap_index::HexCell { q: 0, r: 0 });
    let mut hole_ring = hole.exterior().clone();
    hole_ring.0.reverse();
    let donut = Polygon::new(outer.exterior().clone(), vec![hole_ring]);
    let donut_id = ZoneId(Uuid::from_u128(1));
    zones
        .insert(
            donut_id,
            ZoneKind::Area,
            MultiPolygon::new(vec![donut.clone()]),
        )
        .unwrap();
    geoms.push((donut_id, MultiPolygon::new(vec![donut.clone()])));
    assert_eq!(
        sorted(index.in_polygon(&donut, &all).unwrap()),
        o.in_shape(&donut, &all)
    );

    let heat = HeatParams::new(vec![1.0, 1.5, 0.5, 2.0], first + 30 * 86_400_000);
    let ids: Vec<ZoneId> = geoms.iter().map(|g| g.0).collect();
    let got = index
        .zone_heat(&zones, ids.iter().copied(), &all, &heat)
        .unwrap();
    let mut nonempty = 0;
    for ((id, g), h) in geoms.iter().zip(&got) {
        assert_eq!(
            sorted(index.in_zone(&zones, *id, &all).unwrap()),
            o.in_shape(g, &all)
        );
        let (want, _) = o.zone_heat(*id, g, zones.area_m2(*id).unwrap(), &all, &heat);
        assert_eq!(h.count, want.count);
        assert!(close(h.score, want.score));
        nonempty += usize::from(h.count > 0);
    }
    assert!(nonempty > 0, "open requests fall in some zones");
    // Point -> zones at every record: its hexagon (or two, on a shared edge) and maybe the donut.
    for r in &o.recs {
        let want: Vec<ZoneId> = {
            let mut v: Vec<_> = geoms
                .iter()
                .filter(|(_, g)| geo::Intersects::intersects(g, &geo::Point::from(r.position)))
                .map(|(id, _)| (zones.kind(*id).unwrap().dispatch_rank(), *id))
                .collect();
            v.sort();
            v.into_iter().map(|x| x.1).collect()
        };
        let got: Vec<ZoneId> = zones.zones_at(r.position).iter().map(|h| h.id).collect();
        assert_eq!(got, want);
    }

    // Density surfaces.
    let sq = SquareGrid::new(anchor, 500.0).unwrap();
    let got: BTreeMap<_, _> = index
        .aggregate_squares(&sq, &Region::All, &all, &heat)
        .unwrap()
        .into_iter()
        .map(|c| (c.cell, (c.count, c.score)))
        .collect();
    let want = o.squares(&sq, &all, &heat);
    assert_eq!(got.len(), want.len());
    for (k, (n, s)) in &got {
        assert_eq!(*n, want[k].0);
        assert!(close(*s, want[k].1));
    }
    let got: BTreeMap<_, _> = index
        .aggregate_hexes(&hex, &Region::Polygon(&donut), &mid, &heat)
        .unwrap()
        .into_iter()
        .map(|c| (c.cell, (c.count, c.score)))
        .collect();
    let in_donut = Oracle {
        recs: o
            .recs
            .iter()
            .filter(|r| geo::Intersects::intersects(&donut, &geo::Point::from(r.position)))
            .copied()
            .collect(),
    };
    let want = in_donut.hexes(&hex, &mid, &heat);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, (n, s)) in &got {
        assert_eq!(*n, want[k].0);
        assert!(close(*s, want[k].1));
    }
}
