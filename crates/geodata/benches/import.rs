//! Import speed: the whole of Andorra (PBF) read and turned into POIs, roads and basemap; the
//! Tongji demo extract (XML); zone building; CRS conversion.
//!
//! Peak memory: the bench prints the process's `VmHWM` (peak resident set, from /proc/self/status)
//! after one Andorra import, before Criterion starts measuring.

use std::hint::black_box;
use std::path::PathBuf;

use civmap_geodata::crs::{gcj02_to_wgs84, wgs84_to_gcj02};
use civmap_geodata::extract::extract;
use civmap_geodata::osm;
use civmap_geodata::poi::PoiTable;
use civmap_geodata::zones::{SurroundingsRadii, surroundings_zones};
use criterion::{Criterion, criterion_group, criterion_main};

fn manifest(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn import(c: &mut Criterion) {
    let andorra = manifest("tests/fixtures/andorra.osm.pbf");
    let tongji = manifest("../../data/osm/tongji_siping_yangpu.osm");
    let table = PoiTable::builtin();

    let before = vm_hwm_kib();
    let t = std::time::Instant::now();
    let data = osm::read_path(&andorra).expect("andorra reads");
    let out = extract(&data, &table);
    let elapsed = t.elapsed();
    eprintln!(
        "andorra: {} nodes, {} ways, {} relations -> {} POIs, {} roads, {} basemap features; \
         first import {:.3} s; VmHWM before {:?} KiB, after {:?} KiB",
        data.nodes.len(),
        data.ways.len(),
        data.relations.len(),
        out.pois.len(),
        out.roads.len(),
        out.basemap.len(),
        elapsed.as_secs_f64(),
        before,
        vm_hwm_kib()
    );
    drop((data, out));

    c.bench_function("andorra_pbf_read", |b| {
        b.iter(|| osm::read_path(black_box(&andorra)).expect("reads"));
    });
    c.bench_function("andorra_pbf_read_and_extract", |b| {
        b.iter(|| {
            let d = osm::read_path(black_box(&andorra)).expect("reads");
            extract(&d, &table)
        });
    });
    c.bench_function("tongji_xml_read_and_extract", |b| {
        b.iter(|| {
            let d = osm::read_path(black_box(&tongji)).expect("reads");
            extract(&d, &table)
        });
    });

    let d = osm::read_path(&tongji).expect("reads");
    let pois = extract(&d, &table).pois;
    c.bench_function("tongji_surroundings_zones_10_pois", |b| {
        b.iter(|| surroundings_zones(black_box(&pois), &SurroundingsRadii::default()));
    });
    c.bench_function("gcj02_round_trip_1000_points", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for i in 0..1_000 {
                let p = [121.0 + f64::from(i) * 1e-3, 31.0 + f64::from(i) * 1e-3];
                let q = gcj02_to_wgs84(wgs84_to_gcj02(black_box(p)));
                acc += q[0];
            }
            acc
        });
    });
}

criterion_group!(benches, import);
criterion_main!(benches);
