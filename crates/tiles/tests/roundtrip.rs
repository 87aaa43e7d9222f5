//! Round trips through the independent `mvt-reader` decoder, against oracles computed here:
//! the Web Mercator formula as written on the OpenStreetMap wiki (not the crate's), and geo's
//! boolean operations for clipping.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use civmap_tiles::{
    EncodeOptions, GridClusterer, LayerBuilder, TileBuilder, TileId, Value, schema,
};
use common::{Expect, check_tile, decode, vertices};
use geo::{
    Area, BooleanOps, Coord, Distance, Euclidean, Geometry, HausdorffDistance, Length, LineString,
    MultiLineString, MultiPolygon, Polygon, Rect, Validation, coord,
};
use mvt_reader::feature::Value as R;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Shanghai, People's Square, at z14.
fn tile() -> TileId {
    TileId::containing(121.4737, 31.2304, 14).unwrap()
}

/// lon/lat → tile units, from the OSM wiki "Slippy map tilenames" formulas.
fn wiki_project(t: TileId, lon: f64, lat: f64) -> Coord<f64> {
    let n = f64::from(1u32 << t.z());
    let lat_r = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    coord! { x: (x - f64::from(t.x())) * 4096.0, y: (y - f64::from(t.y())) * 4096.0 }
}

fn buffer_box(buffer: f64) -> Polygon<f64> {
    Rect::new(
        coord! { x: -buffer, y: -buffer },
        coord! { x: 4096.0 + buffer, y: 4096.0 + buffer },
    )
    .to_polygon()
}

#[test]
fn points_with_properties_round_trip_and_outside_points_are_dropped() {
    let t = tile();
    let b = t.buffered_bounds(400, 4096); // well past the 64-unit buffer
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let categories = [
        "stairwell_clutter",
        "illegal_parking",
        "garbage",
        "ad_posters",
        "流动摊贩",
    ];
    let mut layer = LayerBuilder::new(schema::PROBLEMS, t, EncodeOptions::default()).unwrap();
    let mut expected = Vec::new();
    for id in 0..3000u64 {
        let lon = rng.random_range(b.min().x..b.max().x);
        let lat = rng.random_range(b.min().y..b.max().y);
        let cat = categories[rng.random_range(0..categories.len())];
        let severity: u8 = rng.random_range(1..=3);
        let score: f64 = rng.random_range(-1.0..1.0);
        let open = rng.random_bool(0.5);
        let delta: i64 = rng.random_range(-1000..1000);
        let props = [
            ("category", Value::from(cat)),
            ("severity", Value::from(severity)),
            ("score", Value::from(score)),
            ("open", Value::from(open)),
            ("delta", Value::from(delta)),
        ];
        let added = layer.add_point(Some(id), lon, lat, &props).unwrap();
        let p = wiki_project(t, lon, lat);
        let inside = (-64.0..=4160.0).contains(&p.x) && (-64.0..=4160.0).contains(&p.y);
        assert_eq!(added, inside, "point {id} at {p:?}");
        if inside {
            expected.push((
                id,
                p.x.round(),
                p.y.round(),
                cat,
                severity,
                score,
                open,
                delta,
            ));
        }
    }
    assert!(
        expected.len() > 1000 && expected.len() < 3000,
        "{}",
        expected.len()
    );
    let bytes = layer.into_tile();
    assert!(
        check_tile(
            &bytes,
            Expect {
                buffer: Some(64),
                ours: true
            }
        )
        .is_empty()
    );

    let decoded = decode(&bytes);
    assert_eq!(decoded.len(), 1);
    assert_eq!(decoded[0].name, "problems");
    assert_eq!(decoded[0].extent, 4096);
    let features = &decoded[0].features;
    assert_eq!(features.len(), expected.len());
    for (f, &(id, x, y, cat, severity, score, open, delta)) in features.iter().zip(&expected) {
        assert_eq!(f.id, Some(id));
        let Geometry::MultiPoint(mp) = &f.geometry else {
            panic!("{:?}", f.geometry)
        };
        assert_eq!(mp.0.len(), 1);
        assert_eq!((mp.0[0].x(), mp.0[0].y()), (x, y), "feature {id}");
        let props: Vec<(&str, &R)> = f.properties.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            props,
            vec![
                ("category", &R::String(cat.to_owned())),
                ("delta", &R::SInt(delta)),
                ("open", &R::Bool(open)),
                ("score", &R::Double(score)),
                ("severity", &R::UInt(u64::from(severity))),
            ]
        );
    }
}

#[test]
fn lines_crossing_the_tile_are_clipped_into_parts() {
    let t = tile();
    let b = t.bounds();
    let (w, h) = (b.width(), b.height());
    // A zigzag from far west to far east that leaves and re-enters through the north edge.
    let mut pts = Vec::new();
    for i in 0..=40 {
        let f = f64::from(i) / 40.0;
        let lon = b.min().x - w + 3.0 * w * f;
        let lat = if i % 8 < 4 {
            b.min().y + 0.5 * h
        } else {
            b.max().y + 0.2 * h
        } + f * 0.01 * h;
        pts.push(coord! { x: lon, y: lat });
    }
    let line = LineString::new(pts);
    let opts = EncodeOptions {
        simplify_tolerance: 0.0,
        ..EncodeOptions::default()
    };
    let mut layer = LayerBuilder::new("roads", t, opts).unwrap();
    assert!(
        layer
            .add_feature(
                Some(1),
                &Geometry::LineString(line.clone()),
                &[("class", "primary".into())]
            )
            .unwrap()
    );
    let bytes = layer.into_tile();
    assert!(
        check_tile(
            &bytes,
            Expect {
                buffer: Some(64),
                ours: true
            }
        )
        .is_empty()
    );
    let decoded = decode(&bytes);
    let got = match &decoded[0].features[0].geometry {
        Geometry::MultiLineString(m) => m.clone(),
        Geometry::LineString(l) => MultiLineString::new(vec![l.clone()]),
        g => panic!("{g:?}"),
    };

    // Oracle: the projected line clipped by geo to the buffered square.
    let projected = LineString::new(line.0.iter().map(|c| wiki_project(t, c.x, c.y)).collect());
    let oracle = buffer_box(64.0).clip(&MultiLineString::new(vec![projected]), false);
    assert!(
        oracle.0.len() >= 2,
        "the test line must leave and re-enter the tile"
    );
    assert_eq!(got.0.len(), oracle.0.len());
    for (g, o) in got.0.iter().zip(&oracle.0) {
        // Rounding moves each vertex by at most √½ of a unit.
        assert!(g.hausdorff_distance(o) <= 0.71, "{g:?} vs {o:?}");
    }
    let (lg, lo) = (Euclidean.length(&got), Euclidean.length(&oracle));
    assert!((lg - lo).abs() < 1.0 + 0.01 * lo, "{lg} vs {lo}");
}

/// A ring of `n` vertices around (`lon`, `lat`) with radius `r` degrees of longitude.
fn circle(lon: f64, lat: f64, r: f64, n: usize, clockwise: bool) -> LineString<f64> {
    let mut pts: Vec<Coord<f64>> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            coord! { x: lon + r * a.cos(), y: lat + r * 0.85 * a.sin() }
        })
        .collect();
    if clockwise {
        pts.reverse();
    }
    pts.push(pts[0]);
    LineString::new(pts)
}

#[test]
fn polygons_with_holes_crossing_the_tile_edge() {
    let t = tile();
    let b = t.bounds();
    let w = b.width();
    let (corner_lon, corner_lat) = (b.max().x, b.max().y); // north-east corner
    // Exterior around the corner, and four holes (input winding deliberately mixed):
    // A crosses the tile's east edge but stays inside the 64-unit buffer: still a hole;
    // B crosses the buffer's edge: clipping opens it into a notch of the exterior;
    // C lies inside the tile; D lies beyond the buffer and is dropped.
    let polygon = Polygon::new(
        circle(corner_lon, corner_lat, 0.6 * w, 256, false),
        vec![
            circle(corner_lon, corner_lat - 0.3 * w, 0.01 * w, 64, false),
            circle(corner_lon, corner_lat - 0.15 * w, 0.05 * w, 64, true),
            circle(
                corner_lon - 0.35 * w,
                corner_lat - 0.2 * w,
                0.08 * w,
                64,
                true,
            ),
            circle(
                corner_lon + 0.4 * w,
                corner_lat + 0.1 * w,
                0.05 * w,
                64,
                true,
            ),
        ],
    );
    let projected = Polygon::new(
        LineString::new(
            polygon
                .exterior()
                .0
                .iter()
                .map(|c| wiki_project(t, c.x, c.y))
                .collect(),
        ),
        polygon
            .interiors()
            .iter()
            .map(|r| LineString::new(r.0.iter().map(|c| wiki_project(t, c.x, c.y)).collect()))
            .collect(),
    );
    let oracle: MultiPolygon<f64> = projected.intersection(&buffer_box(64.0));
    let oracle_area = oracle.unsigned_area();
    let perimeter: f64 = oracle
        .iter()
        .map(|p| {
            Euclidean.length(p.exterior())
                + p.interiors()
                    .iter()
                    .map(|r| Euclidean.length(r))
                    .sum::<f64>()
        })
        .sum();

    for tolerance in [0.0, 1.0, 4.0] {
        let opts = EncodeOptions {
            simplify_tolerance: tolerance,
            ..EncodeOptions::default()
        };
        let mut layer = LayerBuilder::new(schema::ZONES, t, opts).unwrap();
        let props = [
            ("kind", Value::from("three_surroundings")),
            ("name", Value::from("Primary School & <Park>")),
        ];
        assert!(
            layer
                .add_feature(Some(1), &Geometry::Polygon(polygon.clone()), &props)
                .unwrap()
        );
        let bytes = layer.into_tile();
        let errors = check_tile(
            &bytes,
            Expect {
                buffer: Some(64),
                ours: true,
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        let decoded = decode(&bytes);
        let f = &decoded[0].features[0];
        let Geometry::MultiPolygon(mp) = &f.geometry else {
            panic!("{:?}", f.geometry)
        };
        assert!(mp.is_valid(), "{:?}", mp.validation_errors());
        assert_eq!(mp.0.len(), 1);
        // Holes A and C remain holes; B is a notch (checked by the area), D is gone.
        assert_eq!(mp.0[0].interiors().len(), 2, "tolerance {tolerance}");
        assert_eq!(oracle.0[0].interiors().len(), 2);
        let area = mp.unsigned_area();
        // Rounding moves the boundary by at most √½ unit, simplification by `tolerance`.
        let bound = perimeter * (0.71 + tolerance);
        assert!(
            (area - oracle_area).abs() <= bound,
            "tolerance {tolerance}: {area} vs {oracle_area} (±{bound})"
        );
        for c in vertices(&f.geometry) {
            assert!((-64.0..=4160.0).contains(&c.x) && (-64.0..=4160.0).contains(&c.y));
        }
        assert_eq!(
            f.properties[1].1,
            R::String("Primary School & <Park>".into())
        );
    }
}

#[test]
fn simplification_is_per_zoom_and_bounded() {
    // A 100 m path inside one z18 tile, a vertex every 10 cm wiggling by up to ±0.3 m
    // (GPS-like noise), in Shanghai; encoded in that tile and its ancestors up to z12.
    let t18 = TileId::containing(121.4737, 31.2304, 18).unwrap();
    let b = t18.bounds();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let line = LineString::new(
        (0..1000)
            .map(|i| {
                let f = f64::from(i) / 999.0;
                let lon = b.min().x + (0.1 + 0.8 * f) * b.width();
                let lat = b.min().y.midpoint(b.max().y) + rng.random_range(-2.7e-6..2.7e-6);
                coord! { x: lon, y: lat }
            })
            .collect(),
    );
    let mut counts = Vec::new();
    let mut t = t18;
    loop {
        let mut layer = LayerBuilder::new("roads", t, EncodeOptions::default()).unwrap();
        assert!(
            layer
                .add_feature(None, &Geometry::LineString(line.clone()), &[])
                .unwrap()
        );
        let bytes = layer.into_tile();
        assert!(
            check_tile(
                &bytes,
                Expect {
                    buffer: Some(64),
                    ours: true
                }
            )
            .is_empty()
        );
        let decoded = decode(&bytes);
        let g = &decoded[0].features[0].geometry;
        counts.push(vertices(g).len());
        // Every input vertex lies within tolerance (1 unit) + rounding of the output.
        let Geometry::LineString(l) = g else {
            panic!("{g:?}")
        };
        for c in &line.0 {
            let p = wiki_project(t, c.x, c.y);
            let d = Euclidean.distance(&geo::Point::from(p), l);
            assert!(
                d <= 1.0 + 0.71,
                "z{}: vertex {p:?} is {d} units away",
                t.z()
            );
        }
        if t.z() == 12 {
            break;
        }
        t = t.parent().unwrap();
    }
    // Coarser zooms keep fewer vertices: z18 keeps the noise, z12 only the ends.
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(counts[0] > 100 && counts[6] == 2, "{counts:?}");
}

#[test]
fn cluster_layer_round_trip() {
    let t = TileId::containing(121.4737, 31.2304, 11).unwrap();
    let b = t.bounds();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut g = GridClusterer::new(t, 4096, civmap_tiles::DEFAULT_CLUSTER_CELL).unwrap();
    let cats = ["garbage", "illegal_parking", "ad_posters"];
    let mut n = 0;
    for _ in 0..5000 {
        let lon = rng.random_range(b.min().x..b.max().x);
        let lat = rng.random_range(b.min().y..b.max().y);
        n += u64::from(g.add(lon, lat, cats[rng.random_range(0..3)]).unwrap());
    }
    assert_eq!(n, 5000);
    let clusters = g.finish();
    let mut layer = LayerBuilder::new(schema::PROBLEMS, t, EncodeOptions::default()).unwrap();
    for c in &clusters {
        assert!(layer.add_cluster(c, |k| Value::String(k), &[]).unwrap());
    }
    let mut tb = TileBuilder::new();
    tb.add_layer(&layer).unwrap();
    let bytes = tb.finish();
    assert!(
        check_tile(
            &bytes,
            Expect {
                buffer: Some(0),
                ours: true
            }
        )
        .is_empty()
    );
    let decoded = decode(&bytes);
    let f = &decoded[0].features;
    assert_eq!(f.len(), clusters.len());
    let total: u64 = f
        .iter()
        .map(
            |f| match f.properties.iter().find(|(k, _)| k == "count").unwrap().1 {
                R::UInt(c) => c,
                ref v => panic!("{v:?}"),
            },
        )
        .sum();
    assert_eq!(total, 5000);
    for (f, c) in f.iter().zip(&clusters) {
        assert_eq!(f.id, Some(c.id));
        let top = &f
            .properties
            .iter()
            .find(|(k, _)| k == "top_category")
            .unwrap()
            .1;
        assert_eq!(*top, R::String((*c.top_category().unwrap().0).to_owned()));
    }
}
