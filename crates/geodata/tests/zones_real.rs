//! Zones on real geometry, against analytic areas and a brute-force geodesic distance oracle.
#![allow(clippy::unwrap_used)]

use std::f64::consts::PI;
use std::path::PathBuf;

use civmap_domain::{LonLat, PoiKind, ZoneKind};
use civmap_geodata::crs::Crs;
use civmap_geodata::extract::{PoiFeature, extract};
use civmap_geodata::import::boundaries_from_geojson;
use civmap_geodata::poi::PoiTable;
use civmap_geodata::zones::{
    ChiefZone, GridOptions, LocalProjection, SurroundingsRadii, buffer_m, coverage,
    geodesic_area_m2, grid, point_zone, road_zone, surroundings_zones,
};
use geo::{
    Area, BoundingRect, Contains, ConvexHull, Distance, Euclidean, Geodesic, Geometry, Haversine,
    Intersects, Length, LineString, MultiPolygon, Point, Polygon, Rect, coord,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tongji_extract() -> civmap_geodata::extract::Extract {
    let data =
        civmap_geodata::osm::read_path(&root().join("data/osm/tongji_siping_yangpu.osm")).unwrap();
    extract(&data, &PoiTable::builtin())
}

/// Oracle: geodesic distance (WGS-84 ellipsoid, Karney) in metres from `p` to the nearest point
/// of `lines`, by sampling every segment at <= 0.25 m steps. Haversine picks the candidates,
/// Geodesic measures them (the two differ by < 0.5 %, so the 1 % + 1 m window cannot miss).
fn distance_to_lines_m(p: Point<f64>, lines: &[LineString<f64>]) -> f64 {
    let mut samples = Vec::new();
    for l in lines {
        for seg in l.lines() {
            let (a, b) = (Point::from(seg.start), Point::from(seg.end));
            let n = (Haversine.distance(a, b) / 0.25).ceil().max(1.0) as usize;
            for i in 0..=n {
                let t = i as f64 / n as f64;
                samples.push(Point::new(
                    a.x() + (b.x() - a.x()) * t,
                    a.y() + (b.y() - a.y()) * t,
                ));
            }
        }
    }
    let hav: Vec<f64> = samples.iter().map(|&s| Haversine.distance(p, s)).collect();
    let best = hav.iter().copied().fold(f64::INFINITY, f64::min);
    samples
        .iter()
        .zip(&hav)
        .filter(|(_, h)| **h <= best * 1.01 + 1.0)
        .map(|(s, _)| Geodesic.distance(p, *s))
        .fold(f64::INFINITY, f64::min)
}

fn rings(g: &Geometry<f64>) -> Vec<LineString<f64>> {
    match g {
        Geometry::Polygon(p) => std::iter::once(p.exterior().clone())
            .chain(p.interiors().iter().cloned())
            .collect(),
        Geometry::MultiPolygon(mp) => {
            mp.0.iter()
                .flat_map(|p| rings(&Geometry::Polygon(p.clone())))
                .collect()
        }
        Geometry::LineString(l) => vec![l.clone()],
        Geometry::MultiLineString(m) => m.0.clone(),
        other => panic!("unexpected {other:?}"),
    }
}

/// Oracle distance from `p` to a POI geometry: 0 inside a polygon.
fn distance_to_poi_m(p: Point<f64>, g: &Geometry<f64>) -> f64 {
    match g {
        Geometry::Point(q) => Geodesic.distance(p, *q),
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) if g.contains(&p) => 0.0,
        _ => distance_to_lines_m(p, &rings(g)),
    }
}

/// Random points in the bbox of `zone` grown by 20 %.
fn random_points(rng: &mut ChaCha8Rng, zone: &MultiPolygon<f64>, n: usize) -> Vec<Point<f64>> {
    let b = zone.bounding_rect().unwrap();
    let (dx, dy) = (b.width() * 0.2, b.height() * 0.2);
    (0..n)
        .map(|_| {
            Point::new(
                rng.random_range(b.min().x - dx..b.max().x + dx),
                rng.random_range(b.min().y - dy..b.max().y + dy),
            )
        })
        .collect()
}

#[test]
fn point_buffer_area_is_pi_r_squared_across_china() {
    // Sanya, Guangzhou, Shanghai (Tongji), Beijing, Harbin, Mohe.
    let places = [
        (109.51, 18.25),
        (113.26, 23.13),
        (121.50, 31.28),
        (116.40, 39.90),
        (126.63, 45.75),
        (122.53, 52.97),
    ];
    for (lon, lat) in places {
        for r in [50.0, 100.0, 150.0, 200.0, 1_000.0] {
            let circle = buffer_m(&Point::new(lon, lat).into(), r);
            let area = geodesic_area_m2(&circle);
            let ratio = area / (PI * r * r);
            // 128-gon inscribed: 0.9996 of the circle; the projection adds < 1e-4.
            assert!(
                (ratio - 1.0).abs() < 0.001,
                "({lon}, {lat}) r={r}: ratio {ratio}"
            );
            // Every vertex is on the circle, measured geodesically.
            for c in circle.0[0].exterior().coords() {
                let d = Geodesic.distance(Point::new(lon, lat), Point::from(*c));
                assert!((d - r).abs() < 1e-3 * r, "vertex at {d} m for r={r}");
            }
        }
    }
}

#[test]
fn surroundings_zones_match_the_distance_oracle_on_tongji_pois() {
    let out = tongji_extract();
    let radii = SurroundingsRadii::default();
    let zones = surroundings_zones(&out.pois, &radii).unwrap();
    assert_eq!(zones.len(), out.pois.len());
    let mut rng = ChaCha8Rng::seed_from_u64(31_28);
    let (mut checked, mut inside, mut ambiguous) = (0, 0, 0);
    for (poi, zone) in out.pois.iter().zip(&zones) {
        let r = radii.radius_m(poi.kind);
        assert_eq!(zone.kind, ZoneKind::Surroundings);
        assert_eq!(zone.poi_kind, Some(poi.kind));
        assert_eq!(
            zone.external_id,
            format!("surroundings:{}", poi.external_id)
        );
        for p in random_points(&mut rng, &zone.geometry, 150) {
            let d = distance_to_poi_m(p, &poi.geometry);
            let member = zone.geometry.contains(&p);
            // The polygonised circle arcs are inscribed (at most r·(1 - cos(π/128)) = 0.06 m
            // inside the true buffer) and the projection is exact to ~1e-4: 0.5 m is ample.
            if d < r - 0.5 {
                assert!(
                    member,
                    "{}: point {p:?} at {d:.2} m not in the {r} m zone",
                    poi.display_name()
                );
                inside += 1;
            } else if d > r + 0.5 {
                assert!(
                    !member,
                    "{}: point {p:?} at {d:.2} m in the {r} m zone",
                    poi.display_name()
                );
            } else {
                ambiguous += 1;
            }
            checked += 1;
        }
        // The zone contains the POI itself.
        match &poi.geometry {
            Geometry::Point(p) => assert!(zone.geometry.contains(p)),
            g => assert!(zone.geometry.contains(g)),
        }
    }
    assert_eq!(checked, 1_500);
    assert!(inside > 500, "{inside}");
    assert!(
        ambiguous < 15,
        "{ambiguous} points within 0.5 m of the zone edge"
    );
}

#[test]
fn polygon_buffers_follow_steiners_formula() {
    // For a convex polygon, the area of its r-buffer is A + P·r + π·r² exactly (Steiner).
    let out = tongji_extract();
    let schools: Vec<&PoiFeature> = out
        .pois
        .iter()
        .filter(|p| p.kind == PoiKind::School)
        .collect();
    assert_eq!(schools.len(), 6);
    for s in schools {
        let Geometry::Polygon(poly) = &s.geometry else {
            panic!()
        };
        let hull: Polygon<f64> = poly.convex_hull();
        let proj = LocalProjection::centred_on(&hull.clone().into()).unwrap();
        let hull_m = proj.project(&hull);
        let (a, perimeter) = (hull_m.unsigned_area(), Euclidean.length(hull_m.exterior()));
        for r in [100.0, 200.0] {
            let zone = buffer_m(&hull.clone().into(), r);
            let steiner = a + perimeter * r + PI * r * r;
            let got = geodesic_area_m2(&zone);
            assert!(
                (got / steiner - 1.0).abs() < 0.002,
                "{}: {got:.0} m² vs Steiner {steiner:.0} m²",
                s.display_name()
            );
            assert!(zone.contains(&hull));
            assert!(
                zone.contains(poly),
                "a polygon's buffer contains the polygon"
            );
        }
    }
}

#[test]
fn road_zone_boundary_is_the_half_width_from_the_road() {
    let out = tongji_extract();
    let half = 30.0;
    let zone = road_zone(&out.roads, "四平路", half).unwrap();
    assert_eq!(zone.kind, ZoneKind::Road);
    let lines: Vec<LineString<f64>> = out
        .roads
        .iter()
        .filter(|r| r.name == "四平路")
        .map(|r| r.geometry.clone())
        .collect();
    for l in &lines {
        for c in l.coords() {
            assert!(zone.geometry.contains(&Point::from(*c)));
        }
    }
    // Every vertex of the zone outline is at the half-width from the road (oracle).
    let mut n = 0;
    for ring in rings(&zone.geometry.clone().into()) {
        for c in ring.coords().step_by(3) {
            let d = distance_to_lines_m(Point::from(*c), &lines);
            assert!((d - half).abs() < 0.15, "outline vertex at {d:.3} m");
            n += 1;
        }
    }
    assert!(n > 50);
    assert!(matches!(
        road_zone(&out.roads, "不存在路", half),
        Err(civmap_geodata::zones::ZoneError::NoSuchRoad(_))
    ));
}

#[test]
fn straight_road_buffer_is_a_stadium() {
    // A 1 km east-west line at 31° N: area 2·r·L + π·r².
    let proj = LocalProjection::new(121.5, 31.0);
    let a = proj.inverse(coord! { x: -500.0, y: 0.0 });
    let b = proj.inverse(coord! { x: 500.0, y: 0.0 });
    let line: Geometry<f64> = LineString::new(vec![a, b]).into();
    let length = Geodesic.distance(Point::from(a), Point::from(b));
    for r in [10.0, 30.0] {
        let got = geodesic_area_m2(&buffer_m(&line, r));
        let want = 2.0 * r * length + PI * r * r;
        assert!((got / want - 1.0).abs() < 0.001, "r={r}: {got} vs {want}");
    }
}

fn hongkou_wgs84() -> MultiPolygon<f64> {
    let f = std::fs::File::open(root().join("data/boundaries/county_310109.json")).unwrap();
    boundaries_from_geojson(std::io::BufReader::new(f), Crs::Gcj02)
        .unwrap()
        .remove(0)
        .geometry
}

#[test]
fn grid_over_hongkou_tiles_the_district() {
    let district = hongkou_wgs84();
    let opts = GridOptions {
        prefix: "310109".into(),
        ..GridOptions::default()
    };
    let cells = grid(&district, &opts).unwrap();
    let district_m2 = geodesic_area_m2(&district);
    // Hongkou is 23.48 km² (Shanghai statistical yearbook); the simplified DataV outline is close.
    assert!((district_m2 / 23.48e6 - 1.0).abs() < 0.03, "{district_m2}");
    let sum: f64 = cells.iter().map(|c| c.area_m2).sum();
    assert!(
        (sum / district_m2 - 1.0).abs() < 1e-3,
        "cells {sum} vs district {district_m2}"
    );
    // Interior cells are 100 m x 100 m on the ellipsoid to 0.1 % (the projection's scale error
    // across the 6 km district); clipped edge cells are smaller, none is larger.
    let max = cells.iter().map(|c| c.area_m2).fold(0.0, f64::max);
    assert!(max < 10_010.0, "{max}");
    let full = cells
        .iter()
        .filter(|c| (c.area_m2 - 10_000.0).abs() < 10.0)
        .count();
    assert!(full > 2_000, "{full} of {}", cells.len());
    // Codes: unique, hierarchical, and row/col in the code.
    let mut codes: Vec<&str> = cells.iter().map(|c| c.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), cells.len());
    let c = &cells[0];
    assert_eq!(c.code, format!("310109-R{:03}C{:03}", c.row, c.col));
    assert_eq!(c.seq, 1);
    assert!(
        cells
            .windows(2)
            .all(|w| (w[0].row, w[0].col) < (w[1].row, w[1].col))
    );

    // Oracle: a point of the district lies in exactly one cell, a point outside in none.
    let mut rng = ChaCha8Rng::seed_from_u64(310_109);
    let b = district.bounding_rect().unwrap();
    for _ in 0..400 {
        let p = Point::new(
            rng.random_range(b.min().x..b.max().x),
            rng.random_range(b.min().y..b.max().y),
        );
        let n = cells.iter().filter(|c| c.geometry.contains(&p)).count();
        let expected = usize::from(district.contains(&p));
        // Points within a hair of a cell edge can be on the boundary of two cells.
        let on_edge = cells
            .iter()
            .any(|c| c.geometry.intersects(&p) && !c.geometry.contains(&p));
        if !on_edge {
            assert_eq!(n, expected, "{p:?}");
        }
    }
}

#[test]
fn coverage_finds_gaps_and_overlaps() {
    // A 1 km square street at Tongji, built in metres and un-projected.
    let proj = LocalProjection::new(121.50, 31.285);
    let rect = |x0: f64, y0: f64, x1: f64, y1: f64| -> MultiPolygon<f64> {
        let r = Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 }).to_polygon();
        MultiPolygon::new(vec![proj.unproject(&r)])
    };
    let street = rect(0.0, 0.0, 1_000.0, 1_000.0);
    let circle = point_zone(
        "校门",
        LonLat::new(
            proj.inverse(coord! { x: 800.0, y: 900.0 }).x,
            proj.inverse(coord! { x: 800.0, y: 900.0 }).y,
        )
        .unwrap(),
        50.0,
        "p1",
    )
    .unwrap();
    let zones = vec![
        ChiefZone {
            chief: "A".into(),
            geometry: rect(0.0, 0.0, 600.0, 1_000.0),
        },
        // A's own zones may overlap: not reported.
        ChiefZone {
            chief: "A".into(),
            geometry: rect(0.0, 0.0, 300.0, 500.0),
        },
        ChiefZone {
            chief: "B".into(),
            geometry: rect(400.0, 0.0, 1_000.0, 800.0),
        },
        ChiefZone {
            chief: "C".into(),
            geometry: circle.geometry.clone(),
        },
        // Outside the street: ignored.
        ChiefZone {
            chief: "D".into(),
            geometry: rect(2_000.0, 0.0, 2_100.0, 100.0),
        },
    ];
    let cov = coverage(&street, &zones, 1.0);
    assert!(
        (cov.street_m2 / 1e6 - 1.0).abs() < 1e-3,
        "{}",
        cov.street_m2
    );
    // Uncovered: the 400 m x 200 m north-east corner minus C's circle.
    let want = 400.0 * 200.0 - geodesic_area_m2(&circle.geometry);
    assert!(
        (cov.uncovered_m2 / want - 1.0).abs() < 2e-3,
        "{} vs {want}",
        cov.uncovered_m2
    );
    assert_eq!(cov.overlaps.len(), 1, "{:?}", cov.overlaps);
    let o = &cov.overlaps[0];
    assert_eq!((o.chief_a.as_str(), o.chief_b.as_str()), ("A", "B"));
    assert!((o.area_m2 / 160_000.0 - 1.0).abs() < 2e-3, "{}", o.area_m2);
    // Full coverage, no overlaps.
    let tiles = vec![
        ChiefZone {
            chief: "A".into(),
            geometry: rect(0.0, 0.0, 500.0, 1_000.0),
        },
        ChiefZone {
            chief: "B".into(),
            geometry: rect(500.0, 0.0, 1_000.0, 1_000.0),
        },
    ];
    let cov = coverage(&street, &tiles, 1.0);
    assert!(cov.uncovered_m2 < 1.0, "{}", cov.uncovered_m2);
    assert!(cov.overlaps.is_empty(), "{:?}", cov.overlaps);
}
