//! The shortcuts a tile server takes, checked like everything else: by the strict MVT checker
//! and the independent `mvt-reader` decoder. Rectangles written directly (heat cells), string
//! values appended without de-duplication (problem ids), and clusters read from a count pyramid
//! instead of counted point by point.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use civmap_tiles::{CountPyramid, EncodeOptions, GridClusterer, LayerBuilder, TileId, Value};
use common::{Expect, check_tile, decode};
use geo::{Area, BooleanOps, Geometry, Rect, coord};
use mvt_reader::feature::Value as R;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn tile() -> TileId {
    TileId::containing(121.5, 31.28, 14).unwrap()
}

#[test]
fn rectangles_are_valid_clipped_exterior_polygons() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut layer = LayerBuilder::new("heat", tile(), EncodeOptions::default()).unwrap();
    let mut want = Vec::new();
    for i in 0..300u64 {
        let x0 = rng.random_range(-600.0..4600.0);
        let y0 = rng.random_range(-600.0..4600.0);
        let (w, h) = (rng.random_range(0.2..900.0), rng.random_range(0.2..900.0));
        let added = layer
            .add_tile_rect(
                Some(i),
                [x0, y0],
                [x0 + w, y0 + h],
                &[("count", Value::UInt(i))],
            )
            .unwrap();
        // The oracle: the rectangle rounded, intersected with the buffered tile by geo.
        let r = Rect::new(
            coord! { x: x0.round(), y: y0.round() },
            coord! { x: (x0 + w).round(), y: (y0 + h).round() },
        )
        .to_polygon();
        let clip = Rect::new(
            coord! { x: -64.0, y: -64.0 },
            coord! { x: 4160.0, y: 4160.0 },
        )
        .to_polygon();
        let area = r.intersection(&clip).unsigned_area();
        assert_eq!(added, area > 0.0, "{i}: {x0} {y0} {w} {h}");
        if added {
            want.push((i, area));
        }
    }
    let bytes = layer.into_tile();
    let errors = check_tile(
        &bytes,
        Expect {
            buffer: Some(64),
            ours: true,
        },
    );
    assert!(errors.is_empty(), "{errors:?}");
    let got = &decode(&bytes)[0].features;
    assert_eq!(got.len(), want.len());
    for (f, (i, area)) in got.iter().zip(&want) {
        assert_eq!(f.id, Some(*i));
        // mvt-reader gives every polygon feature as a multipolygon.
        let polygons = match &f.geometry {
            Geometry::Polygon(p) => vec![p.clone()],
            Geometry::MultiPolygon(m) => m.0.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(polygons.len(), 1);
        assert!(polygons[0].interiors().is_empty());
        assert!((polygons[0].unsigned_area() - area).abs() < 1e-6, "{i}");
        assert_eq!(f.properties, vec![("count".to_owned(), R::UInt(*i))]);
    }
    // Degenerate and non-finite rectangles.
    let mut l = LayerBuilder::new("heat", tile(), EncodeOptions::default()).unwrap();
    assert!(
        !l.add_tile_rect(None, [10.0, 10.0], [10.2, 900.0], &[])
            .unwrap()
    );
    assert!(
        !l.add_tile_rect(None, [5000.0, 0.0], [6000.0, 10.0], &[])
            .unwrap()
    );
    assert!(
        l.add_tile_rect(None, [f64::NAN, 0.0], [1.0, 1.0], &[])
            .is_err()
    );
    // Corners given in any order.
    assert!(
        l.add_tile_rect(None, [20.0, 30.0], [10.0, 10.0], &[])
            .unwrap()
    );
    assert_eq!(l.len(), 1);
}

#[test]
fn unique_string_values_decode_like_interned_ones() {
    let t = tile();
    let b = t.bounds();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut fast = LayerBuilder::new("problems", t, EncodeOptions::default()).unwrap();
    let mut slow = LayerBuilder::new("problems", t, EncodeOptions::default()).unwrap();
    let (kid, kcat) = (fast.key_id("id"), fast.key_id("category"));
    let garbage = fast.value_id(Value::from("garbage"));
    for i in 0..500u64 {
        let lon = rng.random_range(b.min().x..b.max().x);
        let lat = rng.random_range(b.min().y..b.max().y);
        let id = format!("p-{i:05}");
        let v = fast.unique_string_value_id(&id);
        assert!(
            fast.add_point_tagged(Some(i), lon, lat, &[(kid, v), (kcat, garbage)])
                .unwrap()
        );
        slow.add_point(
            Some(i),
            lon,
            lat,
            &[
                ("id", Value::from(id.as_str())),
                ("category", Value::from("garbage")),
            ],
        )
        .unwrap();
    }
    let (fast, slow) = (fast.into_tile(), slow.into_tile());
    assert!(
        check_tile(
            &fast,
            Expect {
                buffer: Some(64),
                ours: true
            }
        )
        .is_empty()
    );
    // The same features with the same values (only the order of the value table differs).
    assert_eq!(decode(&fast), decode(&slow));
}

#[test]
fn pyramid_clusters_decode_like_grid_clusterer_clusters() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let t = TileId::containing(121.5, 31.28, 11).unwrap();
    let b = t.buffered_bounds(300, 4096);
    let pts: Vec<(f64, f64, u8)> = (0..20_000)
        .map(|_| {
            (
                rng.random_range(b.min().x..b.max().x),
                rng.random_range(b.min().y..b.max().y),
                rng.random_range(0..4u8),
            )
        })
        .collect();
    let pyramid =
        CountPyramid::from_points(12, 18, pts.iter().map(|&(x, y, k)| (x, y, k, true))).unwrap();
    let mut g = GridClusterer::new(t, 4096, 256).unwrap();
    for &(x, y, k) in &pts {
        g.add(x, y, k).unwrap();
    }
    let encode = |clusters: Vec<civmap_tiles::Cluster<u8>>| {
        let mut l = LayerBuilder::new("problems", t, EncodeOptions::default()).unwrap();
        for c in &clusters {
            l.add_cluster(c, |k| Value::UInt(u64::from(*k)), &[])
                .unwrap();
        }
        l.into_tile()
    };
    let a = encode(pyramid.clusters(t, 4096, 256).unwrap());
    let b = encode(g.finish());
    assert!(
        check_tile(
            &a,
            Expect {
                buffer: Some(64),
                ours: true
            }
        )
        .is_empty()
    );
    // Positions are means rounded to the grid: equal but for a rare half-unit tie.
    let (da, db) = (decode(&a), decode(&b));
    assert_eq!(da[0].features.len(), db[0].features.len());
    for (x, y) in da[0].features.iter().zip(&db[0].features) {
        assert_eq!((x.id, &x.properties), (y.id, &y.properties));
        let (p, q) = (point(&x.geometry), point(&y.geometry));
        assert!((p.x - q.x).abs() <= 1.0 && (p.y - q.y).abs() <= 1.0);
    }
}

/// The one point of a point feature (mvt-reader may give it as a one-point multipoint).
fn point(g: &Geometry<f64>) -> geo::Coord<f64> {
    match g {
        Geometry::Point(p) => p.0,
        Geometry::MultiPoint(m) if m.0.len() == 1 => m.0[0].0,
        other => panic!("{other:?}"),
    }
}
