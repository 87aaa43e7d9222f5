//! Real Mapbox Streets v7 tiles of Chicago (mvt-fixtures real-world set, © OpenStreetMap
//! contributors, ODbL): decoded by mvt-reader, re-encoded by this crate, decoded again.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use std::fs;

use civmap_tiles::{EncodeOptions, LayerBuilder, TileBuilder, TileId, Value};
use common::{Expect, check_tile, decode, fixtures_dir, to_value};
use geo::{Area, Geometry, Validation};

#[test]
fn chicago_tiles_decode_and_re_encode() {
    let dir = fixtures_dir().join("chicago");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    let mut totals = (0usize, 0usize, 0usize); // features, polygons changed in area, invalid-in-input
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let zxy: Vec<u32> = name.split('-').map(|s| s.parse().unwrap()).collect();
        let tile = TileId::new(zxy[0] as u8, zxy[1], zxy[2]).unwrap();
        let input = fs::read(&path).unwrap();
        // The real tile itself passes the checker (no false alarms on production data).
        let errors = check_tile(&input, Expect::default());
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let original = decode(&input);
        assert!(original.len() >= 5, "{name}: {} layers", original.len());

        let mut out = TileBuilder::new();
        for layer in &original {
            // The source tiles carry geometry up to their own buffer; keep all of it and
            // simplify nothing, so the output can be compared feature by feature.
            let opts = EncodeOptions {
                extent: layer.extent,
                buffer: layer.extent,
                simplify_tolerance: 0.0,
            };
            let mut lb = LayerBuilder::new(layer.name.clone(), tile, opts).unwrap();
            for f in &layer.features {
                let props: Vec<(&str, Value<'_>)> = f
                    .properties
                    .iter()
                    .map(|(k, v)| (k.as_str(), to_value(v)))
                    .collect();
                assert!(
                    lb.add_tile_feature(f.id, &f.geometry, &props).unwrap(),
                    "{name}/{}: feature {:?} dropped",
                    layer.name,
                    f.id
                );
            }
            out.add_layer(&lb).unwrap();
        }
        let bytes = out.finish();
        // `ours: false` only because Mapbox Streets repeats feature ids (0 for most roads),
        // which are passed through unchanged.
        let errors = check_tile(
            &bytes,
            Expect {
                buffer: Some(original[0].extent),
                ours: false,
            },
        );
        assert!(errors.is_empty(), "{name}: {errors:?}");

        let again = decode(&bytes);
        let non_empty: Vec<_> = original.iter().filter(|l| !l.features.is_empty()).collect();
        assert_eq!(again.len(), non_empty.len());
        for (a, o) in again.iter().zip(non_empty) {
            assert_eq!(
                (&a.name, a.extent, a.features.len()),
                (&o.name, o.extent, o.features.len())
            );
            for (fa, fo) in a.features.iter().zip(&o.features) {
                totals.0 += 1;
                assert_eq!(fa.id, fo.id);
                assert_eq!(fa.properties, fo.properties, "{name}/{}", a.name);
                match (&fa.geometry, &fo.geometry) {
                    // mvt-reader returns every polygon feature as a multipolygon.
                    (Geometry::MultiPolygon(ours), Geometry::MultiPolygon(source)) => {
                        // Polygons go through the integer repair: collinear vertices may go,
                        // rings may be split; the output is valid and the covered area stays,
                        // unless the source itself was invalid.
                        assert!(
                            ours.is_valid(),
                            "{name}/{}: {:?}",
                            a.name,
                            ours.validation_errors()
                        );
                        let (sa, so) = (ours.unsigned_area(), source.unsigned_area());
                        if (sa - so).abs() > 1e-9 {
                            totals.1 += 1;
                            assert!(
                                !source.is_valid(),
                                "{name}/{}: area {sa} vs {so} for a valid source",
                                a.name
                            );
                            totals.2 += 1;
                        }
                    }
                    (ga, go) => assert_eq!(ga, go, "{name}/{}", a.name),
                }
            }
        }
    }
    // Record what happened (shown with --nocapture).
    println!(
        "features {}, polygons whose area changed {}, of which invalid in the source {}",
        totals.0, totals.1, totals.2
    );
    assert!(totals.0 > 1000);
}
