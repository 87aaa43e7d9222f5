//! A street's zones built from real OpenStreetMap data: the shipped Tongji/Siping extract
//! (Yangpu, Shanghai), the `DataV` district outlines (GCJ-02) and the Andorra fixture, whose
//! parishes are complete administrative relations.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use civmap_domain::ZoneKind;
use civmap_geodata::crs::Crs;
use civmap_geodata::extract::{Extract, extract};
use civmap_geodata::import::boundaries_from_geojson;
use civmap_geodata::osm::{self, OsmData};
use civmap_geodata::poi::PoiTable;
use civmap_geodata::street::{
    BoundaryPick, DEFAULT_GATE_RADIUS_M, GATE_SNAP_M, PointOptions, RoadOptions, StreetBoundary,
    StreetError, StreetOptions, StreetZone, area_zones, boundary_from_list, boundary_from_osm,
    point_zones, road_zones, street_zones,
};
use civmap_geodata::zones::{geodesic_area_m2, road_zone};
use geo::{
    Area, BooleanOps, Centroid, Distance, Geodesic, Geometry, Intersects, Length, LineString,
    MultiLineString, MultiPolygon, Point,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tongji() -> (OsmData, Extract) {
    let data = osm::read_path(&root().join("data/osm/tongji_siping_yangpu.osm")).unwrap();
    let ex = extract(&data, &PoiTable::builtin());
    (data, ex)
}

/// 杨浦区 (Yangpu district) from the `DataV` outlines of Shanghai, converted from GCJ-02.
fn yangpu() -> StreetBoundary {
    let f = std::fs::File::open(root().join("data/boundaries/province_310000.json")).unwrap();
    let all = boundaries_from_geojson(std::io::BufReader::new(f), Crs::Gcj02).unwrap();
    let pick = BoundaryPick {
        name: Some("杨浦区".into()),
        code: None,
    };
    boundary_from_list(all, &pick).unwrap()
}

fn of_kind(zones: &[StreetZone], kind: ZoneKind) -> Vec<&StreetZone> {
    zones.iter().filter(|z| z.shape.kind == kind).collect()
}

fn lines_named(ex: &Extract, name: &str) -> MultiLineString<f64> {
    MultiLineString::new(
        ex.roads
            .iter()
            .filter(|r| r.name == name)
            .map(|r| r.geometry.clone())
            .collect(),
    )
}

#[test]
fn road_stretches_tile_each_road_and_cover_it() {
    let (_, ex) = tongji();
    let opts = RoadOptions::default();
    let stretch_m = opts.stretch_m.unwrap();
    let zones = road_zones(&ex.roads, &opts, None).unwrap();
    // 四平路 is a dual carriageway of 874 m: one zone, the id `civmap user add --zone` uses.
    let siping: Vec<_> = zones
        .iter()
        .filter(|z| z.name.starts_with("四平路"))
        .collect();
    assert!(siping.iter().any(|z| z.external_id == "road:四平路"));
    // 中山北二路 runs 1.44 km across the extract: cut in two.
    let zhongshan: Vec<&str> = zones
        .iter()
        .filter(|z| z.external_id.starts_with("road:中山北二路"))
        .map(|z| z.name.as_str())
        .collect();
    assert_eq!(zhongshan, ["中山北二路（1/2）", "中山北二路（2/2）"]);
    // The elevated 内环高架路 (trunk) and the campus roads (service) get no road-chief.
    assert!(!zones.iter().any(|z| z.name.starts_with("内环高架路")));
    assert!(!zones.iter().any(|z| z.name.starts_with("世纪大道")));

    let names: BTreeSet<&str> = zones
        .iter()
        .map(|z| z.external_id.trim_start_matches("road:"))
        .map(|id| id.split('#').next().unwrap())
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let stretches: Vec<_> = zones
            .iter()
            .filter(|z| {
                z.external_id == format!("road:{name}")
                    || z.external_id.starts_with(&format!("road:{name}#"))
            })
            .collect();
        let lines = lines_named(&ex, name);
        // Together the stretches are the road's whole zone, without overlapping...
        let whole = road_zone(&ex.roads, name, opts.half_width_m).unwrap();
        let sum: f64 = stretches.iter().map(|z| z.area_m2()).sum();
        assert!((sum / whole.area_m2() - 1.0).abs() < 1e-6, "{name}: {sum}");
        for (i, a) in stretches.iter().enumerate() {
            for b in &stretches[i + 1..] {
                let shared = geodesic_area_m2(&a.geometry.intersection(&b.geometry));
                assert!(shared < 0.01, "{name}: stretches share {shared} m²");
            }
        }
        // ...and every metre of the road's centre lines lies in exactly one of them.
        let length = Geodesic.length(&lines);
        let in_stretches: f64 = stretches
            .iter()
            .map(|z| Geodesic.length(&z.geometry.clip(&lines, false)))
            .sum();
        assert!(
            (in_stretches - length).abs() < 0.01,
            "{name}: {in_stretches:.3} of {length:.3} m in its stretches"
        );
        // Each stretch holds at most `stretch_m` of the road along its direction: the centre
        // lines inside it span no more (plus the few metres across a dual carriageway).
        for z in &stretches {
            let inside = z.geometry.clip(&lines, false);
            let pts: Vec<Point<f64>> = inside.0.iter().flat_map(|l| l.points()).collect();
            let span = pts
                .iter()
                .flat_map(|a| pts.iter().map(move |b| Geodesic.distance(*a, *b)))
                .fold(0.0, f64::max);
            assert!(span <= stretch_m * 1.01, "{}: spans {span:.0} m", z.name);
        }
    }
}

#[test]
fn uncut_road_zones_are_the_demo_road_zones() {
    // The demo builds its road zones with this module and no stretches; they must stay what
    // `zones::road_zone` gave it before, name by name (the golden heat test and the demo's
    // chief accounts depend on them).
    let (_, ex) = tongji();
    let opts = RoadOptions {
        stretch_m: None,
        ..RoadOptions::default()
    };
    let zones = road_zones(&ex.roads, &opts, None).unwrap();
    let mut demo_names: Vec<&str> = ex
        .roads
        .iter()
        .filter(|r| {
            matches!(
                r.class.as_str(),
                "primary" | "secondary" | "tertiary" | "residential"
            )
        })
        .map(|r| r.name.as_str())
        .collect();
    demo_names.sort_unstable();
    demo_names.dedup();
    let demo: Vec<_> = demo_names
        .iter()
        .map(|n| road_zone(&ex.roads, n, 25.0).unwrap())
        .collect();
    assert_eq!(zones, demo);
}

/// The shipped table, and universities counted as schools (the builtin table leaves them out:
/// their surroundings are not part of the school-surroundings campaign).
fn with_universities() -> PoiTable {
    let text = std::fs::read_to_string(root().join("data/poi_kinds.toml")).unwrap();
    PoiTable::from_toml(&format!(
        "{text}\n[[rule]]\nkind = \"school\"\ntag = \"amenity=university\"\n"
    ))
    .unwrap()
}

#[test]
fn tongji_university_gets_a_zone_at_each_gate_on_its_fence() {
    let (data, _) = tongji();
    let ex = extract(&data, &with_universities());
    let (zones, skipped) =
        point_zones(&data, &ex.pois, &ex.roads, &PointOptions::default()).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    let tongji: Vec<(&str, &str)> = zones
        .iter()
        .filter(|z| z.poi.as_deref() == Some("osm:relation/18788116"))
        .map(|z| (z.shape.external_id.as_str(), z.shape.name.as_str()))
        .collect();
    // The five gates mapped on the campus outline (barrier=gate); 2036535382 is 23 m from
    // 1937606869 and shares its zone. 同济大学南门 and 南校区北门 belong to the south campus,
    // which is not in the extract.
    assert_eq!(
        tongji,
        [
            ("point:osm:node/625196967", "同济大学 西南门"),
            ("point:osm:node/1393503451", "同济大学 校门 1"),
            ("point:osm:node/1393527055", "同济大学 校门 2"),
            ("point:osm:node/1937606869", "同济大学 校门 3"),
            ("point:osm:node/12640525662", "同济大学 校门 4"),
        ]
    );
    for z in zones
        .iter()
        .filter(|z| z.shape.external_id.starts_with("point:osm:node/"))
    {
        let id: i64 = z.shape.external_id["point:osm:node/".len()..]
            .parse()
            .unwrap();
        let gate = data.node(id).unwrap();
        let centre = z.shape.geometry.centroid().unwrap();
        let off = Geodesic.distance(centre, Point::new(gate.lon, gate.lat));
        assert!(
            off < 0.5,
            "{}: centre {off:.2} m from the gate",
            z.shape.name
        );
        let circle = std::f64::consts::PI * DEFAULT_GATE_RADIUS_M.powi(2);
        assert!((z.shape.area_m2() / circle - 1.0).abs() < 2e-3);
    }
}

#[test]
fn schools_without_mapped_gates_get_one_zone_on_their_fence_facing_a_road() {
    let (data, ex) = tongji();
    let (zones, _) = point_zones(&data, &ex.pois, &ex.roads, &PointOptions::default()).unwrap();
    // No school of the shipped table has a gate mapped within a few metres of its outline.
    assert_eq!(zones.len(), ex.pois.len());
    let school = ex
        .pois
        .iter()
        .find(|p| p.name.as_deref() == Some("曲阳第四小学"))
        .unwrap();
    let z = zones
        .iter()
        .find(|z| z.poi.as_deref() == Some(school.external_id.as_str()))
        .unwrap();
    assert_eq!(z.shape.name, "曲阳第四小学 校门");
    assert_eq!(z.shape.external_id, "point:osm:way/1093112842");
    let Geometry::Polygon(outline) = &school.geometry else {
        panic!("{:?}", school.geometry)
    };
    let centre = z.shape.geometry.centroid().unwrap();
    // On the fence (the outline), and the nearest point of it to a named road.
    let to_fence = distance_to_line_m(centre, outline.exterior());
    assert!(
        to_fence < GATE_SNAP_M / 10.0,
        "{to_fence:.2} m from the fence"
    );
    let to_road = |p: Point<f64>| {
        ex.roads
            .iter()
            .map(|r| distance_to_line_m(p, &r.geometry))
            .fold(f64::INFINITY, f64::min)
    };
    let best = to_road(centre);
    for v in outline.exterior().points() {
        assert!(to_road(v) >= best - 1.0, "a fence corner is nearer a road");
    }
}

/// Geodesic distance from `p` to a line, metres, by sampling every segment at ≤ 0.5 m steps.
fn distance_to_line_m(p: Point<f64>, line: &LineString<f64>) -> f64 {
    line.lines()
        .flat_map(|seg| {
            let (a, b) = (Point::from(seg.start), Point::from(seg.end));
            let n = (Geodesic.distance(a, b) / 0.5).ceil().max(1.0) as usize;
            (0..=n).map(move |i| {
                let t = i as f64 / n as f64;
                Point::new(a.x() + (b.x() - a.x()) * t, a.y() + (b.y() - a.y()) * t)
            })
        })
        .map(|s| Geodesic.distance(p, s))
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn named_compounds_become_area_zones() {
    let (data, _) = tongji();
    let (zones, skipped) = area_zones(&data, None);
    assert!(skipped.is_empty(), "{skipped:?}");
    // 14 named landuse=residential ways and the 书香公寓 multipolygon.
    assert_eq!(zones.len(), 15);
    let xincun = zones
        .iter()
        .find(|z| z.external_id == "area:osm:way/49209874")
        .unwrap();
    assert_eq!(xincun.name, "同济新村");
    // 同济新村 is about 17.5 ha.
    assert!((150_000.0..200_000.0).contains(&xincun.area_m2()));
    assert!(
        zones
            .iter()
            .any(|z| z.external_id == "area:osm:relation/18788117")
    );
    // Nothing unnamed, nothing that is not a compound (the campus, the parks).
    assert!(zones.iter().all(|z| !z.name.is_empty()));
    assert!(!zones.iter().any(|z| z.name.contains("同济大学")));
}

#[test]
fn the_street_boundary_of_a_bbox_extract_is_refused_with_the_reason() {
    let (data, _) = tongji();
    let pick = |name: &str| BoundaryPick {
        name: Some(name.into()),
        code: None,
    };
    match boundary_from_osm(&data, &pick("四平路街道")) {
        Err(StreetError::BoundaryIncomplete {
            element, reason, ..
        }) => {
            assert_eq!(element, "osm:relation/13466002");
            assert!(reason.contains("not in the file"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let err = boundary_from_osm(&data, &pick("五角场街道")).unwrap_err();
    assert!(
        err.to_string().contains("四平路街道 (admin_level 8)"),
        "the error lists what there is: {err}"
    );
    // By code: 杨浦区 carries division_code=310110 (and is as incomplete).
    let by_code = BoundaryPick {
        name: None,
        code: Some("310110".into()),
    };
    assert!(matches!(
        boundary_from_osm(&data, &by_code),
        Err(StreetError::BoundaryIncomplete { name, .. }) if name == "杨浦区"
    ));
}

#[test]
fn grid_over_a_district_boundary_from_geojson() {
    let (data, ex) = tongji();
    let district = yangpu();
    assert_eq!(district.code.as_deref(), Some("310110"));
    let opts = StreetOptions {
        kinds: ZoneKind::ALL.to_vec(),
        street_code: Some("310110".into()),
        ..StreetOptions::default()
    };
    let built = street_zones(&data, &ex, Some(&district.geometry), &opts).unwrap();
    let cells = of_kind(&built.zones, ZoneKind::GridCell);
    // Codes: the street's, row and column, well formed and unique.
    let well_formed = |c: &str| {
        let Some(rc) = c.strip_prefix("310110-R") else {
            return false;
        };
        rc.len() == 7
            && rc.as_bytes()[3] == b'C'
            && rc[..3]
                .bytes()
                .chain(rc[4..].bytes())
                .all(|b| b.is_ascii_digit())
    };
    let codes: BTreeSet<&str> = cells
        .iter()
        .map(|c| c.shape.code.as_deref().unwrap())
        .collect();
    assert_eq!(codes.len(), cells.len());
    assert!(codes.iter().all(|c| well_formed(c)), "{codes:?}");
    assert!(
        cells
            .iter()
            .all(|c| c.shape.external_id == format!("grid:{}", c.shape.code.as_deref().unwrap()))
    );
    // Together the cells are the district: Yangpu is 60.61 km²; the simplified outline is close.
    let district_m2 = geodesic_area_m2(&district.geometry);
    assert!((district_m2 / 60.61e6 - 1.0).abs() < 0.03, "{district_m2}");
    let sum: f64 = cells.iter().map(|c| c.shape.area_m2()).sum();
    assert!(
        (sum / district_m2 - 1.0).abs() < 1e-3,
        "{sum} vs {district_m2}"
    );
    // Whole cells are 100 m squares on the ground: every side 100 m to 0.2 %.
    let whole: Vec<_> = cells
        .iter()
        .filter(|c| (c.shape.area_m2() - 10_000.0).abs() < 20.0)
        .collect();
    assert!(whole.len() > 5_000, "{} whole cells", whole.len());
    for c in whole.iter().step_by(97) {
        let ring = c.shape.geometry.0[0].exterior();
        for side in ring.lines() {
            let m = Geodesic.distance(Point::from(side.start), Point::from(side.end));
            assert!((m - 100.0).abs() < 0.2, "{}: side {m:.3} m", c.shape.name);
        }
    }
    // Every zone meets the district, and the roads of Hongkou's side of the extract are gone.
    for z in &built.zones {
        assert!(
            z.shape.geometry.intersects(&district.geometry),
            "{}",
            z.shape.name
        );
        assert!(z.shape.code.as_deref().unwrap().starts_with("310110-"));
    }
    let all = road_zones(&ex.roads, &RoadOptions::default(), None).unwrap();
    assert!(of_kind(&built.zones, ZoneKind::Road).len() < all.len());
    // Area zones are clipped to the district.
    for a in of_kind(&built.zones, ZoneKind::Area) {
        let outside = a.shape.geometry.difference(&district.geometry);
        assert!(outside.unsigned_area() < 1e-12, "{}", a.shape.name);
    }
}

#[test]
fn grid_over_a_parish_boundary_from_the_extract_itself() {
    // Andorra's parishes (admin_level 7) are complete relations in the country extract.
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let data = osm::read_path(&fixtures.join("andorra.osm.pbf")).unwrap();
    let ex = extract(&data, &PoiTable::builtin());
    let pick = BoundaryPick {
        name: Some("Andorra la Vella".into()),
        code: None,
    };
    let parish = boundary_from_osm(&data, &pick).unwrap();
    assert_eq!(parish.source, "osm:relation/2804753");
    let opts = StreetOptions {
        kinds: vec![ZoneKind::GridCell, ZoneKind::Road],
        street_code: Some("AD07".into()),
        ..StreetOptions::default()
    };
    let built = street_zones(&data, &ex, Some(&parish.geometry), &opts).unwrap();
    let cells = of_kind(&built.zones, ZoneKind::GridCell);
    let sum: f64 = cells.iter().map(|c| c.shape.area_m2()).sum();
    let parish_m2 = geodesic_area_m2(&parish.geometry);
    assert!((sum / parish_m2 - 1.0).abs() < 1e-3, "{sum} vs {parish_m2}");
    assert!(
        built
            .zones
            .iter()
            .any(|z| z.shape.external_id == "road:Avinguda Meritxell")
    );
    // The grid needs the street's code and a boundary.
    let no_code = StreetOptions {
        street_code: None,
        ..opts.clone()
    };
    assert_eq!(
        street_zones(&data, &ex, Some(&parish.geometry), &no_code),
        Err(StreetError::GridWithoutCode)
    );
    assert_eq!(
        street_zones(&data, &ex, None, &opts),
        Err(StreetError::GridWithoutBoundary)
    );
}

#[test]
fn building_twice_gives_the_same_zones() {
    let (data, ex) = tongji();
    let district: MultiPolygon<f64> = yangpu().geometry;
    let opts = StreetOptions {
        kinds: ZoneKind::ALL.to_vec(),
        street_code: Some("310110".into()),
        ..StreetOptions::default()
    };
    let a = street_zones(&data, &ex, Some(&district), &opts).unwrap();
    let again = tongji();
    let b = street_zones(&again.0, &again.1, Some(&district), &opts).unwrap();
    // Names, codes, external ids, places and every coordinate, bit for bit.
    assert_eq!(a, b);
    let ids: BTreeSet<&str> = a
        .zones
        .iter()
        .map(|z| z.shape.external_id.as_str())
        .collect();
    assert_eq!(ids.len(), a.zones.len(), "external ids are unique");
    let codes: BTreeSet<&str> = a
        .zones
        .iter()
        .map(|z| z.shape.code.as_deref().unwrap())
        .collect();
    assert_eq!(codes.len(), a.zones.len(), "codes are unique");
    for kind in ZoneKind::ALL {
        assert!(a.count(kind) > 0, "no {kind:?} zone");
    }
}
