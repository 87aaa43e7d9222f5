//! The OSM readers on real files: the Tongji demo extract (XML), Andorra (PBF), Monaco (gzipped XML).
#![allow(clippy::unwrap_used, clippy::float_cmp)] // coordinates parsed from text compare exactly

use std::io::Write;
use std::path::{Path, PathBuf};

use civmap_geodata::osm::{self, OsmError};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn tongji_xml_counts_match_the_file() {
    let d = osm::read_path(&repo_file("data/osm/tongji_siping_yangpu.osm")).unwrap();
    // `grep -c '<node'` etc. on the file (SOURCES.md gives the same numbers).
    assert_eq!(d.nodes.len(), 4241);
    assert_eq!(d.ways.len(), 563);
    assert_eq!(d.relations.len(), 92);
    // The first node of the file, as written there.
    let n = d.node(63_260_247).unwrap();
    assert_eq!([n.lon, n.lat], [121.491_808_3, 31.287_659_7]);
    // The export bbox is 121.4915..121.5033 E, 31.2809..31.2895 N; whole ways crossing it
    // are included, so the nodes spread a little further, but stay in north-east Shanghai.
    let [w, s, e, n] = d.bbox().unwrap();
    assert!(
        w > 121.45 && e < 121.60 && s > 31.25 && n < 31.35,
        "{w} {s} {e} {n}"
    );
    let inside = d
        .nodes
        .iter()
        .filter(|n| (121.4915..=121.5033).contains(&n.lon) && (31.2809..=31.2895).contains(&n.lat))
        .count();
    assert!(
        inside * 10 > d.nodes.len() * 7,
        "{inside} of {}",
        d.nodes.len()
    );
    let school = d
        .nodes
        .iter()
        .map(|n| &n.tags)
        .chain(d.ways.iter().map(|w| &w.tags))
        .find(|t| t.get("name") == Some("曲阳第四小学"))
        .unwrap();
    assert_eq!(school.get("amenity"), Some("school"));
    // Every way of the API export has all its nodes in the file.
    assert!(d.ways.iter().all(|w| d.way_coords(w).is_some()));
}

#[test]
fn andorra_pbf_matches_an_independent_decoder() {
    let d = osm::read_path(&fixture("andorra.osm.pbf")).unwrap();
    // Oracle: a separate minimal PBF decoder (Python: zlib + hand-written protobuf varints,
    // see crates/geodata/tests/fixtures/SOURCES.md) gave
    // nodes=69644 tagged_nodes=12900 ways=2725 relations=74 way_refs=72968
    // node_id_sum=79562840945310 lat_sum=2963040.320577
    assert_eq!(d.nodes.len(), 69_644);
    assert_eq!(
        d.nodes.iter().filter(|n| !n.tags.is_empty()).count(),
        12_900
    );
    assert_eq!(d.ways.len(), 2_725);
    assert_eq!(d.relations.len(), 74);
    assert_eq!(d.ways.iter().map(|w| w.refs.len()).sum::<usize>(), 72_968);
    assert_eq!(
        d.nodes.iter().map(|n| n.id).sum::<i64>(),
        79_562_840_945_310
    );
    let lat_sum: f64 = d.nodes.iter().map(|n| n.lat).sum();
    assert!((lat_sum - 2_963_040.320_577).abs() < 1e-3, "{lat_sum}");
    // Andorra is 1.41..1.79 E, 42.43..42.66 N; the extract reaches into Spain and France.
    let [w, s, e, n] = d.bbox().unwrap();
    assert!(
        w > 1.0 && e < 1.9 && s > 41.7 && n < 42.8,
        "{w} {s} {e} {n}"
    );
    assert!(
        d.relations.iter().any(
            |r| r.tags.get("name") == Some("Andorra") && r.tags.get("admin_level") == Some("2")
        )
    );
}

#[test]
fn monaco_gz_counts_match_the_file() {
    let d = osm::read_path(&fixture("monaco.osm.gz")).unwrap();
    // `zcat monaco.osm.gz | grep -c '<node'` etc.
    assert_eq!(d.nodes.len(), 13_739);
    assert_eq!(d.ways.len(), 1_944);
    assert_eq!(d.relations.len(), 77);
    assert!(d.ways.iter().any(|w| w.tags.get("highway").is_some()));
}

#[test]
fn malformed_xml_file_reports_line_and_element() {
    let dir = std::env::temp_dir().join(format!("civmap-geodata-osm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.osm");
    let mut f = std::fs::File::create(&path).unwrap();
    write!(
        f,
        "<?xml version=\"1.0\"?>\n<osm version=\"0.6\">\n <node id=\"1\" lat=\"1\" lon=\"2\"/>\n\
         <way id=\"77\">\n  <nd ref=\"1\"/>\n  <nd ref=\"oops\"/>\n </way>\n</osm>\n"
    )
    .unwrap();
    drop(f);
    let err = osm::read_path(&path).unwrap_err();
    match &err {
        OsmError::Xml {
            line,
            element,
            message,
            ..
        } => {
            assert_eq!(*line, Some(6), "{err}");
            assert_eq!(element.as_deref(), Some("<way id=\"77\">"));
            assert!(message.contains("\"oops\""), "{message}");
        }
        other => panic!("expected an XML error, got {other}"),
    }
    assert!(err.to_string().contains("line 6"), "{err}");

    // Not an OSM file at all.
    let json = dir.join("x.json");
    std::fs::write(&json, b"{\"type\":\"FeatureCollection\"}").unwrap();
    let err = osm::read_path(&json).unwrap_err();
    assert!(matches!(err, OsmError::UnknownFormat { .. }), "{err}");

    // A truncated PBF is an error, not a silently shorter dataset.
    let pbf = std::fs::read(fixture("andorra.osm.pbf")).unwrap();
    let cut = dir.join("cut.osm.pbf");
    std::fs::write(&cut, &pbf[..pbf.len() / 2]).unwrap();
    let err = osm::read_path(&cut).unwrap_err();
    assert!(matches!(err, OsmError::Pbf { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn jingan_osmnx_xml_reads_with_every_ref_resolved() {
    // Written by OSMnx (placeholder user/version attributes), used by civmap-route.
    let d = osm::read_path(&repo_file("data/osm/jingan_osmnx_drive.osm")).unwrap();
    // `grep -o '<node ' | wc -l` etc. (the file is one line); SOURCES.md: all refs resolve.
    assert_eq!(d.nodes.len(), 2_958);
    assert_eq!(d.ways.len(), 796);
    assert!(d.relations.is_empty());
    assert!(d.ways.iter().all(|w| d.way_coords(w).is_some()));
    assert!(
        d.ways
            .iter()
            .any(|w| w.tags.get("name") == Some("南京西路"))
    );
}
