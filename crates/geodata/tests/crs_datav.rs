//! GCJ-02 -> WGS-84 on real data: the `DataV` district outlines (GCJ-02, from `AMap`) must line up
//! with OpenStreetMap (WGS-84) once converted, and must not before.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use civmap_geodata::crs::Crs;
use civmap_geodata::import::{Boundary, boundaries_from_geojson};
use civmap_geodata::osm;
use civmap_geodata::zones::LocalProjection;
use geo::{
    Contains, Distance, Euclidean, Geometry, InteriorPoint, LineString, MultiPolygon, Point,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn boundaries(file: &str, crs: Crs) -> Vec<Boundary> {
    let f = std::fs::File::open(root().join("data/boundaries").join(file)).unwrap();
    boundaries_from_geojson(std::io::BufReader::new(f), crs).unwrap()
}

fn district(file: &str, code: &str, crs: Crs) -> MultiPolygon<f64> {
    boundaries(file, crs)
        .into_iter()
        .find(|b| b.code.as_deref() == Some(code))
        .unwrap()
        .geometry
}

/// Distance in metres from each point to the outline's rings (in a local projection: a
/// measuring tool accurate to ~0.1 % at this scale).
fn distances_m(points: &[[f64; 2]], outline: &MultiPolygon<f64>) -> Vec<f64> {
    let proj = LocalProjection::new(121.49, 31.28);
    let rings: Vec<LineString<f64>> = outline
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| proj.project(r))
        .collect();
    points
        .iter()
        .map(|&[x, y]| {
            let p = Point::from(proj.forward(geo::coord! { x: x, y: y }));
            rings
                .iter()
                .map(|r| Euclidean.distance(&p, r))
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

#[test]
fn converted_hongkou_outline_lines_up_with_the_osm_district_border() {
    let data = osm::read_path(&root().join("data/osm/tongji_siping_yangpu.osm")).unwrap();
    // OSM way 49202330: boundary=administrative, admin_level=6, the Yangpu/Hongkou border,
    // shared by relations 杨浦区 (398350) and 虹口区 (398351).
    let border = data.way_coords(data.way(49_202_330).unwrap()).unwrap();
    let wgs = district("county_310109.json", "310109", Crs::Gcj02);
    let raw = district("county_310109.json", "310109", Crs::Wgs84);
    let d_wgs = distances_m(&border, &wgs);
    let d_raw = distances_m(&border, &raw);
    let mean = |d: &[f64]| d.iter().sum::<f64>() / d.len() as f64;
    let max = |d: &[f64]| d.iter().copied().fold(0.0, f64::max);
    println!(
        "border nodes {}: converted mean {:.1} m max {:.1} m; raw GCJ-02 mean {:.1} m max {:.1} m",
        border.len(),
        mean(&d_wgs),
        max(&d_wgs),
        mean(&d_raw),
        max(&d_raw)
    );
    assert!(
        mean(&d_wgs) < 5.0 && max(&d_wgs) < 10.0,
        "converted outline is off"
    );
    assert!(
        mean(&d_raw) > 300.0,
        "the raw GCJ-02 outline should be hundreds of metres off"
    );
}

#[test]
fn schools_fall_in_the_right_converted_district() {
    let data = osm::read_path(&root().join("data/osm/tongji_siping_yangpu.osm")).unwrap();
    let out = civmap_geodata::extract::extract(&data, &civmap_geodata::poi::PoiTable::builtin());
    let hongkou = district("county_310109.json", "310109", Crs::Gcj02);
    let yangpu = district("province_310000.json", "310110", Crs::Gcj02);
    let raw_hongkou = district("county_310109.json", "310109", Crs::Wgs84);
    // The Quyang schools are in Hongkou's 曲阳路街道; Tongji and 沪东外国语 in Yangpu.
    let expected = [
        ("同济大学设计创意学院", false),
        ("同济大学东校区", false),
        ("上海市曲阳第二中学", true),
        ("曲阳第四小学", true),
        ("上海市南湖职校第二分校", true),
        ("民办沪东外国语学校", false),
    ];
    let mut raw_wrong = 0;
    for (name, in_hongkou) in expected {
        let p = out
            .pois
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .unwrap();
        let pt: Point<f64> = match &p.geometry {
            Geometry::Point(pt) => *pt,
            g => g.interior_point().unwrap(),
        };
        assert_eq!(hongkou.contains(&pt), in_hongkou, "{name} in Hongkou");
        assert_eq!(yangpu.contains(&pt), !in_hongkou, "{name} in Yangpu");
        if raw_hongkou.contains(&pt) != in_hongkou {
            raw_wrong += 1;
        }
    }
    // Without the conversion the outline is ~450 m off and puts schools in the wrong district.
    assert!(
        raw_wrong >= 1,
        "raw GCJ-02 outline misplaces {raw_wrong} schools"
    );
}
