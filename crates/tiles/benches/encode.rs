//! Encoding speed of whole tiles, as the server does per request (uncompressed).
//!
//! * `points/N`: a z14 problems tile in Shanghai with N points, each with 3 properties
//!   (category of 15, status of 5, severity 1–3), from `LayerBuilder::new` to the tile bytes.
//! * `zones/500`: 500 buffered zones (64-vertex circles of 30–200 m radius, many crossing the
//!   tile edge) in one z14 tile.
//! * `clusters/100000`: 100,000 points counted into a z10 tile's grid and encoded.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use civmap_tiles::{
    DEFAULT_CLUSTER_CELL, EncodeOptions, GridClusterer, LayerBuilder, TileId, Value,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use geo::{Coord, Geometry, LineString, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CATEGORIES: [&str; 15] = [
    "stairwell_clutter",
    "clutter",
    "illegal_parking",
    "misparked_bikes",
    "zombie_car",
    "abandoned_bikes",
    "ad_posters",
    "flying_wire_charging",
    "garbage",
    "green_belt_litter",
    "illegal_construction",
    "street_vending",
    "dog_waste",
    "blocked_fire_lane",
    "illegal_banner",
];
const STATUSES: [&str; 5] = ["reported", "dispatched", "rectified", "closed", "recurred"];

fn tile(z: u8) -> TileId {
    TileId::containing(121.4737, 31.2304, z).unwrap()
}

fn points(n: usize, t: TileId, seed: u64) -> Vec<(u64, f64, f64, &'static str, &'static str, u8)> {
    let b = t.bounds();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n as u64)
        .map(|id| {
            (
                id,
                rng.random_range(b.min().x..b.max().x),
                rng.random_range(b.min().y..b.max().y),
                CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                STATUSES[rng.random_range(0..STATUSES.len())],
                rng.random_range(1..=3u8),
            )
        })
        .collect()
}

fn encode_points(c: &mut Criterion) {
    let t = tile(14);
    let mut g = c.benchmark_group("encode");
    for n in [2_000usize, 10_000, 20_000] {
        let pts = points(n, t, 1);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("points", n), &pts, |b, pts| {
            b.iter(|| {
                let mut layer = LayerBuilder::new("problems", t, EncodeOptions::default()).unwrap();
                for &(id, lon, lat, cat, status, sev) in pts {
                    layer
                        .add_point(
                            Some(id),
                            lon,
                            lat,
                            &[
                                ("category", Value::from(cat)),
                                ("status", Value::from(status)),
                                ("severity", Value::from(sev)),
                            ],
                        )
                        .unwrap();
                }
                black_box(layer.into_tile())
            });
        });
    }

    g.finish();
}

/// The same tiles through the interned-tag path: keys and the 23 distinct values are
/// interned once per tile, each point then only indexes arrays.
fn encode_points_interned(c: &mut Criterion) {
    let t = tile(14);
    let mut g = c.benchmark_group("encode");
    for n in [2_000usize, 10_000, 20_000] {
        let pts: Vec<(u64, f64, f64, usize, usize, u8)> = points(n, t, 1)
            .into_iter()
            .map(|(id, lon, lat, c, s, v)| {
                let ci = CATEGORIES.iter().position(|&x| x == c).unwrap();
                let si = STATUSES.iter().position(|&x| x == s).unwrap();
                (id, lon, lat, ci, si, v)
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("points_interned", n), &pts, |b, pts| {
            b.iter(|| {
                let mut layer = LayerBuilder::new("problems", t, EncodeOptions::default()).unwrap();
                let (kc, ks, kv) = (
                    layer.key_id("category"),
                    layer.key_id("status"),
                    layer.key_id("severity"),
                );
                let cats: Vec<_> = CATEGORIES
                    .iter()
                    .map(|c| layer.value_id(Value::from(*c)))
                    .collect();
                let stats: Vec<_> = STATUSES
                    .iter()
                    .map(|c| layer.value_id(Value::from(*c)))
                    .collect();
                let sevs: Vec<_> = (0..=3u8).map(|v| layer.value_id(Value::from(v))).collect();
                for &(id, lon, lat, c, s, v) in pts {
                    layer
                        .add_point_tagged(
                            Some(id),
                            lon,
                            lat,
                            &[(kc, cats[c]), (ks, stats[s]), (kv, sevs[usize::from(v)])],
                        )
                        .unwrap();
                }
                black_box(layer.into_tile())
            });
        });
    }

    g.finish();
}

/// 500 buffered zones.
fn encode_zones(c: &mut Criterion) {
    let t = tile(14);
    let mut g = c.benchmark_group("encode");
    let b = t.bounds();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let zones: Vec<Geometry<f64>> = (0..500)
        .map(|_| {
            let (lon, lat) = (
                rng.random_range(b.min().x..b.max().x),
                rng.random_range(b.min().y..b.max().y),
            );
            let r_m: f64 = rng.random_range(30.0..200.0);
            let (rx, ry) = (r_m / (111_320.0 * lat.to_radians().cos()), r_m / 110_574.0);
            let ring: Vec<Coord<f64>> = (0..=64)
                .map(|i| {
                    let a = std::f64::consts::TAU * f64::from(i % 64) / 64.0;
                    Coord {
                        x: lon + rx * a.cos(),
                        y: lat + ry * a.sin(),
                    }
                })
                .collect();
            Geometry::Polygon(Polygon::new(LineString::new(ring), vec![]))
        })
        .collect();
    g.throughput(Throughput::Elements(500));
    g.bench_function(BenchmarkId::new("zones", 500), |bch| {
        bch.iter(|| {
            let mut layer = LayerBuilder::new("zones", t, EncodeOptions::default()).unwrap();
            for (i, z) in zones.iter().enumerate() {
                layer
                    .add_feature(Some(i as u64), z, &[("kind", Value::from("point"))])
                    .unwrap();
            }
            black_box(layer.into_tile())
        });
    });

    g.finish();
}

/// Low-zoom clusters.
fn encode_clusters(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let t10 = tile(10);
    let pts = points(100_000, t10, 3);
    g.throughput(Throughput::Elements(100_000));
    g.bench_function(BenchmarkId::new("clusters", 100_000), |bch| {
        bch.iter(|| {
            let mut grid = GridClusterer::new(t10, 4096, DEFAULT_CLUSTER_CELL).unwrap();
            for &(_, lon, lat, cat, _, _) in &pts {
                grid.add(lon, lat, cat).unwrap();
            }
            let mut layer = LayerBuilder::new("problems", t10, EncodeOptions::default()).unwrap();
            for cl in grid.finish() {
                layer.add_cluster(&cl, |k| Value::String(k), &[]).unwrap();
            }
            black_box(layer.into_tile())
        });
    });
    g.finish();
}

criterion_group!(
    benches,
    encode_points,
    encode_points_interned,
    encode_zones,
    encode_clusters
);
criterion_main!(benches);
