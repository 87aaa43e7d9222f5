//! Memory per indexed point, measured: bytes held on the heap (a counting global allocator,
//! `stats_alloc`) and the growth of the resident set (`/proc/self/statm`) across building the
//! index from a lazily generated stream of records (so no input vector is counted).
//!
//! Run: `cargo bench -p civmap-index --bench memory`
#![allow(clippy::unwrap_used)]

mod data;

use std::alloc::System;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use civmap_domain::ProblemId;
use civmap_index::{PointRecord, ProblemIndex, ZoneIndex};
use data::{Gen, Layout, N};
use rand::Rng;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Net heap bytes and RSS growth while `f` builds something that is kept.
fn measure<T>(label: &str, n: usize, f: impl FnOnce() -> T) -> T {
    let rss0 = data::rss_bytes();
    let region = Region::new(GLOBAL);
    let t = std::time::Instant::now();
    let value = black_box(f());
    let elapsed = t.elapsed();
    let stats = region.change();
    let rss1 = data::rss_bytes();
    // stats_alloc books the growth and shrinkage of reallocations into these two as well.
    let net = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64;
    let rss = match (rss0, rss1) {
        (Some(a), Some(b)) => format!("{:.1} B/point", (b as f64 - a as f64) / n as f64),
        _ => "n/a".into(),
    };
    println!(
        "memory/{label}: heap {:.1} B/point ({:.1} MB net, {:.1} MB allocated in total), RSS growth {rss}, built in {:.0} ms",
        net as f64 / n as f64,
        net as f64 / 1e6,
        stats.bytes_allocated as f64 / 1e6,
        elapsed.as_secs_f64() * 1e3,
    );
    value
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    for layout in [Layout::Uniform, Layout::Clustered] {
        let name = layout.name();
        let mut dgen = Gen::new(layout, 2025);
        let mut index = measure(&format!("{name}/bulk_load_1M"), N, || {
            ProblemIndex::bulk_load((0..N).map(|_| dgen.record())).unwrap()
        });
        // Churn: 100,000 removals and 100,000 inserts (tombstones, the live part, merges; measured
        // once no merge runs beside the index).
        let mut rng = Gen::new(layout, 77);
        let victims: Vec<ProblemId> = {
            let mut all: Vec<ProblemId> = index.iter().map(|r| r.id).collect();
            let picks = (0..100_000)
                .map(|_| all.swap_remove(rng.rng().random_range(0..all.len())))
                .collect();
            drop(all);
            picks
        };
        let fresh: Vec<PointRecord> = rng.records(100_000);
        let spare = rng.record();
        // Each change timed (into vectors allocated outside the measured span), in wall time and
        // in the thread's CPU time: on a shared machine a wall-time maximum is often the thread
        // waiting for a core, not the index working.
        let mut took = Vec::with_capacity(victims.len() + fresh.len());
        measure(
            &format!("{name}/after_100k_removes_and_inserts (delta)"),
            N,
            || {
                let mut timed = |f: &mut dyn FnMut()| {
                    let (t, c) = (Instant::now(), cpu_time::ThreadTime::now());
                    f();
                    took.push((t.elapsed(), c.elapsed()));
                };
                for id in &victims {
                    timed(&mut || {
                        index.remove(*id).unwrap();
                    });
                }
                for r in &fresh {
                    timed(&mut || index.insert(*r).unwrap());
                }
                data::settle(&mut index, spare);
            },
        );
        for (clock, pick) in [("wall", 0), ("thread CPU", 1)] {
            let mut t: Vec<_> = took
                .iter()
                .map(|p| if pick == 0 { p.0 } else { p.1 })
                .collect();
            t.sort_unstable();
            let q = |p: f64| t[((t.len() - 1) as f64 * p) as usize];
            println!(
                "latency/{name}/100k_removes_then_100k_inserts, {clock}: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
                q(0.5),
                q(0.99),
                q(0.999),
                t[t.len() - 1]
            );
        }
        drop(index);
        let mut dgen = Gen::new(layout, 2025);
        let index = measure(&format!("{name}/insert_one_by_one_1M"), N, || {
            let mut ix = ProblemIndex::new();
            for _ in 0..N {
                ix.insert(dgen.record()).unwrap();
            }
            data::settle(&mut ix, spare);
            ix
        });
        drop(index);
        // For comparison: the naive design, rstar's default tree of full records plus a
        // std HashMap from id to position.
        let mut dgen = Gen::new(layout, 2025);
        let naive = measure(&format!("{name}/naive_rstar_plus_hashmap_1M"), N, || {
            let recs: Vec<PointRecord> = (0..N).map(|_| dgen.record()).collect();
            let map: HashMap<ProblemId, [f64; 2]> = recs
                .iter()
                .map(|r| (r.id, [r.position.lon(), r.position.lat()]))
                .collect();
            let tree = RTree::bulk_load(
                recs.into_iter()
                    .map(|r| GeomWithData::new([r.position.lon(), r.position.lat()], r))
                    .collect(),
            );
            (tree, map)
        });
        drop(naive);
        // The libraries a user would pick instead (issue 19), the tree alone: the caller keeps
        // the records (ids, attributes) beside it, 48 B per `PointRecord`.
        let rival = |label: &str, build: &dyn Fn(&[PointRecord]) -> Box<dyn std::any::Any>| {
            let mut dgen = Gen::new(layout, 2025);
            let tree = measure(&format!("{name}/{label}_1M (tree only)"), N, || {
                let recs: Vec<PointRecord> = (0..N).map(|_| dgen.record()).collect();
                build(&recs)
            });
            drop(tree);
        };
        rival("rstar_0_12_point_and_id", &|r| {
            Box::new(data::rivals::Rstar::build(r))
        });
        rival("geo_index", &|r| Box::new(data::rivals::GeoIndex::build(r)));
        rival("geo_index_kdtree", &|r| {
            Box::new(data::rivals::GeoKdTree::build(r))
        });
    }
    let zones = data::zones(30, 10_000, 150.0, 32, 0.0);
    let z = measure("zones_10k_circles_150m (per zone)", 10_000, || {
        ZoneIndex::bulk_load(zones.iter().cloned()).unwrap()
    });
    drop(z);
}
