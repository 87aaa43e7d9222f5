//! Property test (seeded): random polygons, partly outside the tile, simple or
//! self-intersecting, any winding. Every output must pass the strict checker (command
//! structure, exterior rings positive and holes negative by the spec's formula, every vertex
//! inside extent + buffer), be OGC-valid for geo, and — for simple inputs — cover the same area
//! as geo's own intersection with the buffered tile, within rounding and simplification.
#![allow(clippy::unwrap_used)]

use crate::common;

use civmap_tiles::{EncodeOptions, LayerBuilder, TileId};
use common::{Expect, check_tile, decode, vertices};
use geo::{
    Area, BooleanOps, Coord, Euclidean, Geometry, Length, LineString, MultiPolygon, Polygon, Rect,
    Validation, coord,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// A star-shaped (hence simple) ring around (`cx`, `cy`): vertex `i` of `n` at angle
/// `(i + jitter_i) · 2π / n` with `jitter_i` in `[0, 0.8)`, radii cycling through `radii`.
fn star(cx: f64, cy: f64, jitter: &[f64], radii: &[f64]) -> LineString<f64> {
    let n = jitter.len() as f64;
    let mut pts: Vec<Coord<f64>> = jitter
        .iter()
        .enumerate()
        .zip(radii.iter().cycle())
        .map(|((i, &j), &r)| {
            let t = (i as f64 + j) * std::f64::consts::TAU / n;
            coord! { x: cx + r * t.cos(), y: cy + r * t.sin() }
        })
        .collect();
    pts.push(pts[0]);
    LineString::new(pts)
}

#[derive(Debug, Clone)]
struct Case {
    polygon: Polygon<f64>,
    simple: bool,
    buffer: u32,
    tolerance: f64,
}

fn case() -> impl Strategy<Value = Case> {
    let simple = (
        (-3000.0..7000.0f64, -3000.0..7000.0f64),
        prop::collection::vec(0.0..0.8f64, 3..60),
        prop::collection::vec(0.55..1.0f64, 1..20),
        50.0..6000.0f64,
        prop::option::of(prop::collection::vec(0.0..0.8f64, 3..20)),
        any::<bool>(),
    )
        .prop_map(|((cx, cy), jitter, radii, scale, hole, reverse)| {
            let radii: Vec<f64> = radii.iter().map(|r| r * scale).collect();
            let mut ext = star(cx, cy, &jitter, &radii);
            if reverse {
                ext.0.reverse();
            }
            // With 8 or more vertices no angular gap exceeds 81°, so every exterior edge stays
            // farther than 0.55 · cos 40.5° > 0.41 of the scale from the centre: a hole of
            // radius at most 0.38 fits inside.
            let holes = hole
                .filter(|_| jitter.len() >= 8)
                .map(|j| vec![star(cx, cy, &j, &[0.25 * scale, 0.38 * scale])])
                .unwrap_or_default();
            (Polygon::new(ext, holes), true)
        });
    let tangled =
        prop::collection::vec((-3000.0..7000.0f64, -3000.0..7000.0f64), 3..40).prop_map(|pts| {
            let mut v: Vec<Coord<f64>> = pts
                .into_iter()
                .map(|(x, y)| coord! { x: x, y: y })
                .collect();
            v.push(v[0]);
            (Polygon::new(LineString::new(v), vec![]), false)
        });
    (
        prop_oneof![3 => simple, 1 => tangled],
        prop_oneof![Just(0u32), Just(1), Just(64), Just(256)],
        prop_oneof![Just(0.0f64), Just(0.5), Just(1.0), Just(3.0)],
    )
        .prop_map(|((polygon, simple), buffer, tolerance)| Case {
            polygon,
            simple,
            buffer,
            tolerance,
        })
}

fn perimeter(mp: &MultiPolygon<f64>) -> f64 {
    mp.iter()
        .map(|p| {
            Euclidean.length(p.exterior())
                + p.interiors()
                    .iter()
                    .map(|r| Euclidean.length(r))
                    .sum::<f64>()
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 600,
        rng_seed: RngSeed::Fixed(0x00c1_7a9e),
        ..ProptestConfig::default()
    })]

    #[test]
    fn clipped_polygons_are_valid_and_inside_the_buffer(c in case()) {
        let opts = EncodeOptions { buffer: c.buffer, simplify_tolerance: c.tolerance, ..EncodeOptions::default() };
        let mut layer = LayerBuilder::new("zones", TileId::new(0, 0, 0).unwrap(), opts).unwrap();
        let added = layer.add_tile_feature(Some(1), &Geometry::Polygon(c.polygon.clone()), &[]).unwrap();

        let b = f64::from(c.buffer);
        let clip = Rect::new(coord! { x: -b, y: -b }, coord! { x: 4096.0 + b, y: 4096.0 + b }).to_polygon();
        let oracle = if c.simple { Some(c.polygon.intersection(&clip)) } else { None };

        if !added {
            // Nothing left: for a simple input the clipped area must be negligible.
            if let Some(o) = &oracle {
                let slack = perimeter(o) * (0.71 + c.tolerance) + 1.0;
                prop_assert!(o.unsigned_area() <= slack, "dropped a polygon of area {}", o.unsigned_area());
            }
            return Ok(());
        }
        let bytes = layer.into_tile();
        let errors = check_tile(&bytes, Expect { buffer: Some(c.buffer), ours: true });
        prop_assert!(errors.is_empty(), "{:?}", errors);

        let decoded = decode(&bytes);
        let g = &decoded[0].features[0].geometry;
        for v in vertices(g) {
            prop_assert!(v.x >= -b && v.x <= 4096.0 + b && v.y >= -b && v.y <= 4096.0 + b);
        }
        let Geometry::MultiPolygon(mp) = g else { panic!("{g:?}") };
        prop_assert!(mp.is_valid(), "{:?}", mp.validation_errors());

        if let Some(o) = &oracle {
            let (got, want) = (mp.unsigned_area(), o.unsigned_area());
            let slack = perimeter(o) * (0.71 + c.tolerance) + 1.0;
            prop_assert!((got - want).abs() <= slack, "area {} vs {} (±{})", got, want, slack);
        } else {
            prop_assert!(mp.unsigned_area() <= (4096.0 + 2.0 * b).powi(2));
        }
    }
}
