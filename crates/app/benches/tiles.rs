//! Tile encoding with 1,000,000 problems loaded, as the server does it for a request that misses
//! the tile cache (uncompressed; gzip measured apart):
//!
//! * `z14_points/densest`, `z14_points/median`: the problems tile (single points with id,
//!   category, status, severity; indoor categories generalised) of the z14 tile holding the
//!   most points, and of the median non-empty z14 tile, from the in-memory R-tree;
//! * `clusters/z10`, `clusters/z12`: cluster tiles from the count pyramid;
//! * `heat/z14`: heat cells of the densest z14 tile;
//! * `gzip/z14_densest_level{1,2,6}`: compressing the densest tile (served at level 1);
//! * `pyramid/build_1m`: counting the million problems at start.
//!
//! The points: half uniform over 30 km × 30 km of central Shanghai, half around 400 hot spots
//! (the distribution of `tests/bench/tiles_gen.py`), seeded.
//!
//! Run: `cargo bench -p civmap-app --bench tiles`
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write as _;

use chrono::Utc;
use civmap_app::tiles::encode::{heat_cells, problem_clusters, problem_points};
use civmap_domain::{CategoryTable, LonLat, ProblemId, Severity, Status};
use civmap_index::{PointRecord, ProblemIndex};
use civmap_tiles::{CountPyramid, TileBuilder, TileId};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N: usize = 1_000_000;
const AREA: [f64; 4] = [121.30, 31.10, 121.62, 31.38];

fn gauss(rng: &mut ChaCha8Rng, sigma: f64) -> f64 {
    // Box–Muller.
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos() * sigma
}

fn records(table: &CategoryTable) -> Vec<PointRecord> {
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_107);
    let [w, s, e, n] = AREA;
    let spots: Vec<(f64, f64)> = (0..400)
        .map(|_| (rng.random_range(w..e), rng.random_range(s..n)))
        .collect();
    let cats: Vec<_> = table.iter().map(|(id, _)| id).collect();
    let now = Utc::now().timestamp_millis();
    (0..N)
        .map(|i| {
            let (lon, lat) = if i % 2 == 1 {
                (rng.random_range(w..e), rng.random_range(s..n))
            } else {
                let (cx, cy) = spots[rng.random_range(0..spots.len())];
                (
                    (cx + gauss(&mut rng, 0.004)).clamp(w, e),
                    (cy + gauss(&mut rng, 0.004)).clamp(s, n),
                )
            };
            PointRecord {
                id: ProblemId::new(),
                position: LonLat::new(lon, lat).unwrap(),
                category: cats[rng.random_range(0..cats.len())],
                status: Status::ALL[rng.random_range(0..6)],
                severity: Severity::ALL[rng.random_range(0..4)],
                reported_ms: now - rng.random_range(0..30 * 86_400_000),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let table = CategoryTable::builtin();
    let recs = records(&table);
    // The densest and the median non-empty z14 tiles.
    let mut per_tile: HashMap<TileId, usize> = HashMap::new();
    for r in &recs {
        *per_tile
            .entry(TileId::containing(r.position.lon(), r.position.lat(), 14).unwrap())
            .or_default() += 1;
    }
    let mut ranked: Vec<(TileId, usize)> = per_tile.into_iter().collect();
    ranked.sort_by_key(|(t, n)| (*n, *t));
    let (densest, dense_n) = ranked[ranked.len() - 1];
    let (median, median_n) = ranked[ranked.len() / 2];
    println!("densest z14 tile {densest}: {dense_n} problems; median {median}: {median_n}");

    let index = ProblemIndex::bulk_load(recs.iter().copied()).unwrap();
    let points = || {
        recs.iter().filter(|r| r.status != Status::Merged).map(|r| {
            (
                r.position.lon(),
                r.position.lat(),
                r.category,
                r.status.is_open(),
            )
        })
    };
    let mut g = c.benchmark_group("pyramid");
    g.sample_size(10);
    g.bench_function("build_1m", |b| {
        b.iter(|| CountPyramid::from_points(12, 18, points()).unwrap());
    });
    g.finish();
    let pyramid = CountPyramid::from_points(12, 18, points()).unwrap();

    let encode = |l: &civmap_tiles::LayerBuilder| {
        let mut t = TileBuilder::new();
        t.add_layer(l).unwrap();
        t.finish()
    };
    let bytes = encode(&problem_points(&index, &table, densest).unwrap());
    println!("densest z14 tile: {} bytes", bytes.len());

    let mut g = c.benchmark_group("z14_points");
    for (name, tile) in [("densest", densest), ("median", median)] {
        g.bench_function(name, |b| {
            b.iter(|| encode(&problem_points(&index, &table, black_box(tile)).unwrap()));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("clusters");
    for z in [10u8, 12] {
        let tile = densest.parent_at(z);
        g.bench_function(format!("z{z}"), |b| {
            b.iter(|| encode(&problem_clusters(&pyramid, &table, black_box(tile)).unwrap()));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("heat");
    g.bench_function("z14", |b| {
        b.iter(|| encode(&heat_cells(&pyramid, black_box(densest)).unwrap()));
    });
    g.finish();

    let mut g = c.benchmark_group("gzip");
    for level in [1u32, 2, 6] {
        let size = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            e.write_all(&bytes).unwrap();
            e.finish().unwrap().len()
        };
        println!("gzip level {level}: {} -> {size} bytes", bytes.len());
        g.bench_function(format!("z14_densest_level{level}"), |b| {
            b.iter(|| {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
                e.write_all(black_box(&bytes)).unwrap();
                e.finish().unwrap()
            });
        });
    }
    g.finish();
}

/// The ancestor of a tile at zoom `z`.
trait ParentAt {
    fn parent_at(self, z: u8) -> TileId;
}

impl ParentAt for TileId {
    fn parent_at(self, z: u8) -> TileId {
        let mut t = self;
        while t.z() > z {
            t = t.parent().unwrap();
        }
        t
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
