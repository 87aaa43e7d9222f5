//! POI, road and basemap extraction on the Tongji / Quyang demo extract (real OSM data).
//! Expected counts were worked out with Python's `xml.etree` on the same file.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use civmap_domain::PoiKind;
use civmap_geodata::extract::{Layer, extract, merge_roads};
use civmap_geodata::osm;
use civmap_geodata::poi::PoiTable;
use geo::{Area, BooleanOps, BoundingRect, Geometry};

fn tongji() -> osm::OsmData {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/osm/tongji_siping_yangpu.osm");
    osm::read_path(&p).unwrap()
}

#[test]
fn tongji_schools_parks_and_no_markets() {
    let data = tongji();
    let out = extract(&data, &PoiTable::builtin());
    let names = |kind| -> BTreeSet<String> {
        out.pois
            .iter()
            .filter(|p| p.kind == kind)
            .map(civmap_geodata::extract::PoiFeature::display_name)
            .collect()
    };
    let schools: BTreeSet<String> = [
        "曲阳第四小学",
        "上海市曲阳第二中学",
        "民办沪东外国语学校",
        "上海市南湖职校第二分校",
        "同济大学设计创意学院",
        "同济大学东校区",
    ]
    .map(String::from)
    .into();
    assert_eq!(names(PoiKind::School), schools);
    let parks: BTreeSet<String> = ["枕流", "李国豪像", "水杉林", "未命名公园"]
        .map(String::from)
        .into();
    assert_eq!(names(PoiKind::Park), parks);
    assert_eq!(out.pois.len(), 10);
    // 同济大学菜鸟驿站 (parcel lockers) must not be taken for a wet market.
    assert!(names(PoiKind::Market).is_empty());
    // School polygons are real areas: 曲阳第四小学 is a closed way of 6 nodes.
    let q4 = out
        .pois
        .iter()
        .find(|p| p.name.as_deref() == Some("曲阳第四小学"))
        .unwrap();
    assert_eq!(q4.external_id, "osm:way/1093112842");
    let Geometry::Polygon(poly) = &q4.geometry else {
        panic!("{:?}", q4.geometry)
    };
    assert_eq!(poly.exterior().0.len(), 6);
    assert!(
        poly.signed_area() > 0.0,
        "RFC 7946: exterior counter-clockwise"
    );
    let zhenliu = out
        .pois
        .iter()
        .find(|p| p.name.as_deref() == Some("枕流"))
        .unwrap();
    assert_eq!(zhenliu.external_id, "osm:node/2461134282");
    assert!(matches!(zhenliu.geometry, Geometry::Point(_)));
}

#[test]
fn tongji_roads_and_basemap() {
    let data = tongji();
    let out = extract(&data, &PoiTable::builtin());
    assert_eq!(out.roads.len(), 48);
    let names: BTreeSet<&str> = out.roads.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 19);
    for n in [
        "四平路",
        "中山北二路",
        "密云路",
        "赤峰路",
        "国康路",
        "彰武路",
        "玉田路",
    ] {
        assert!(names.contains(n), "{n}");
    }
    let siping = out.roads.iter().find(|r| r.name == "四平路").unwrap();
    assert_eq!(siping.nodes.len(), siping.geometry.0.len());
    let merged = merge_roads(&out.roads);
    assert_eq!(merged.len(), 19);
    for m in &merged {
        let ways = out.roads.iter().filter(|r| r.name == m.name).count();
        let vertices: usize = out
            .roads
            .iter()
            .filter(|r| r.name == m.name)
            .map(|r| r.nodes.len())
            .sum();
        let merged_vertices: usize = m.geometry.0.iter().map(|l| l.0.len()).sum();
        // Joining k ways into s stretches removes exactly k - s shared vertices.
        assert_eq!(
            merged_vertices,
            vertices - (ways - m.geometry.0.len()),
            "{}",
            m.name
        );
        assert!(m.geometry.0.len() <= ways);
    }

    let count = |layer| out.basemap.iter().filter(|f| f.layer == layer).count();
    // 221 closed building ways + 5 building multipolygons (one with 4 inner courtyards).
    assert_eq!(count(Layer::Building), 226);
    assert_eq!(count(Layer::Green), 14);
    assert_eq!(count(Layer::Water), 6, "2 water areas + 4 canals/ditches");
    // Admin boundaries of a bbox export are incomplete: drawn as the member ways present.
    let admin: Vec<_> = out
        .basemap
        .iter()
        .filter(|f| f.layer == Layer::Admin)
        .collect();
    assert_eq!(admin.len(), 4);
    assert!(
        admin
            .iter()
            .all(|f| matches!(f.geometry, Geometry::MultiLineString(_)))
    );
    assert!(
        admin
            .iter()
            .any(|f| f.name.as_deref() == Some("曲阳路街道") && f.class == "8")
    );
    // 上海市 (913067) has none of its member ways in the file: listed as skipped, not drawn.
    assert!(
        out.skipped
            .iter()
            .any(|s| s.element == "osm:relation/913067")
    );
    assert!(
        !out.basemap
            .iter()
            .any(|f| f.external_id == "osm:relation/913067")
    );
    let library = out
        .basemap
        .iter()
        .find(|f| f.external_id == "osm:relation/19896868")
        .unwrap();
    let Geometry::MultiPolygon(mp) = &library.geometry else {
        panic!()
    };
    assert_eq!(mp.0.len(), 1);
    assert_eq!(
        mp.0[0].interiors().len(),
        4,
        "同济大学图书馆 has 4 inner rings"
    );
}

#[test]
fn andorra_and_monaco_extract_whole_country_features() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let andorra = osm::read_path(&fixtures.join("andorra.osm.pbf")).unwrap();
    let out = extract(&andorra, &PoiTable::builtin());
    // The country relation (9407) misses 2 member ways in this extract: kept as lines.
    let andorra_rel = out
        .basemap
        .iter()
        .find(|f| f.external_id == "osm:relation/9407")
        .unwrap();
    assert!(matches!(andorra_rel.geometry, Geometry::MultiLineString(_)));
    assert!(
        out.skipped
            .iter()
            .any(|s| s.element == "osm:relation/9407" && s.reason.contains("50344406"))
    );
    // Six of the seven parishes (admin_level 7) are complete areas; Canillo misses 2 ways.
    // They share boundary ways, so they must tile without overlapping, and together they are
    // Andorra (468 km²) minus Canillo (the largest parish, about 120 km²).
    let parishes: Vec<geo::MultiPolygon<f64>> = out
        .basemap
        .iter()
        .filter(|f| f.layer == Layer::Admin && f.class == "7")
        .filter_map(|f| match &f.geometry {
            Geometry::MultiPolygon(mp) if f.name.as_deref() != Some("Canillo") => Some(mp.clone()),
            _ => None,
        })
        .filter(|mp| {
            mp.bounding_rect().unwrap().center().x > 1.4
                && mp.bounding_rect().unwrap().center().y > 42.4
        })
        .collect();
    let km2 = |mp: &geo::MultiPolygon<f64>| civmap_geodata::zones::geodesic_area_m2(mp) / 1e6;
    let total: f64 = parishes.iter().map(km2).sum();
    assert_eq!(parishes.len(), 6);
    assert!(
        (320.0..370.0).contains(&total),
        "six parishes {total:.1} km²"
    );
    for (i, a) in parishes.iter().enumerate() {
        assert!(
            (10.0..130.0).contains(&km2(a)),
            "parish {i}: {:.1} km²",
            km2(a)
        );
        for b in &parishes[i + 1..] {
            let overlap = km2(&a.intersection(b));
            assert!(overlap < 0.01, "parishes overlap by {overlap} km²");
        }
    }
    assert!(out.pois.iter().any(|p| p.kind == PoiKind::School));
    assert!(out.roads.len() > 100);

    let monaco = osm::read_path(&fixtures.join("monaco.osm.gz")).unwrap();
    let out = extract(&monaco, &PoiTable::builtin());
    assert!(out.pois.iter().any(|p| p.kind == PoiKind::Park));
    assert!(out.basemap.iter().any(|f| f.layer == Layer::Building));
}
