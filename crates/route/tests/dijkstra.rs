//! Shortest paths on the demo area's real roads (`data/osm/tongji_siping_yangpu.osm`,
//! © OpenStreetMap contributors, `ODbL`) against a plain textbook Dijkstra — an O(V²) array scan,
//! no heap, no early stop, no lazy resets — over the graph's arcs, random pairs for walking,
//! cycling and driving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_cmp)]

use std::path::PathBuf;

use civmap_geodata::osm::OsmData;
use civmap_route::graph::{GraphBuilder, Mode, RoadGraph};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn osm() -> OsmData {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/osm/tongji_siping_yangpu.osm");
    civmap_geodata::osm::read_path(&path).unwrap()
}

fn graph(osm: &OsmData, mode: Mode) -> RoadGraph {
    let mut b = GraphBuilder::new(mode);
    for n in &osm.nodes {
        b.add_node(n.id, n.lon, n.lat);
    }
    for w in &osm.ways {
        b.add_way(w.id, &w.refs, w.tags.iter());
    }
    b.build()
}

/// Dijkstra as in the textbook: settle the unsettled node with the smallest label, relax its
/// out-arcs, until none is left with a finite label.
fn plain_dijkstra(n: usize, out: &[Vec<(usize, f64)>], source: usize) -> Vec<f64> {
    let mut dist = vec![f64::INFINITY; n];
    let mut done = vec![false; n];
    dist[source] = 0.0;
    loop {
        let mut u = None;
        let mut best = f64::INFINITY;
        for v in 0..n {
            if !done[v] && dist[v] < best {
                best = dist[v];
                u = Some(v);
            }
        }
        let Some(u) = u else { break };
        done[u] = true;
        for &(v, w) in &out[u] {
            if dist[u] + w < dist[v] {
                dist[v] = dist[u] + w;
            }
        }
    }
    dist
}

#[test]
fn shortest_paths_match_a_plain_dijkstra_on_real_roads() {
    let data = osm();
    for (mode, seed) in [(Mode::Walk, 1), (Mode::Cycle, 2), (Mode::Drive, 3)] {
        let g = graph(&data, mode);
        let n = g.node_count();
        assert!(n > 500, "{mode}: only {n} nodes");
        let mut out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
        let mut arc_time = std::collections::HashMap::new();
        for a in g.arcs() {
            out[a.from as usize].push((a.to as usize, a.time_s));
            let e = arc_time.entry((a.from, a.to)).or_insert(f64::INFINITY);
            *e = f64::min(*e, a.time_s);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut reachable, mut unreachable) = (0, 0);
        // Sources and most targets in the main component (the part stops snap to); a third of
        // the targets anywhere, so unreachable pairs are checked too.
        let main: Vec<usize> = (0..n).filter(|&v| g.in_main_component(v as u32)).collect();
        for _ in 0..6 {
            let s = main[rng.random_range(0..main.len())];
            let oracle = plain_dijkstra(n, &out, s);
            for k in 0..15 {
                let t = if k % 3 == 0 {
                    rng.random_range(0..n)
                } else {
                    main[rng.random_range(0..main.len())]
                };
                if let Some((time, _, nodes)) = g.node_path(s as u32, t as u32) {
                    assert!(
                        (time - oracle[t]).abs() <= 1e-9 * time.max(1.0),
                        "{mode} {s}->{t}: {time} vs plain Dijkstra {}",
                        oracle[t]
                    );
                    // The node sequence is a chain of arcs adding up to that time.
                    assert_eq!((nodes[0], *nodes.last().unwrap()), (s as u32, t as u32));
                    let sum: f64 = nodes.windows(2).map(|w| arc_time[&(w[0], w[1])]).sum();
                    assert!((sum - time).abs() <= 1e-9 * time.max(1.0));
                    reachable += 1;
                } else {
                    assert!(
                        oracle[t].is_infinite(),
                        "{mode} {s}->{t}: plain Dijkstra reaches it in {}",
                        oracle[t]
                    );
                    unreachable += 1;
                }
            }
        }
        assert!(
            reachable >= 60,
            "{mode}: too few reachable pairs ({reachable}, {unreachable} unreachable)"
        );
    }
}

/// The travel-time matrix between snapped points equals the best of the plain-Dijkstra times
/// over the ways the two snapped segments offer (leave the first segment by either end, join the
/// second by either end, or stay on one segment).
#[test]
fn matrix_matches_plain_dijkstra_through_the_snapped_segments() {
    let data = osm();
    let g = graph(&data, Mode::Walk);
    let n = g.node_count();
    let mut out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut seg_time = std::collections::HashMap::new();
    let mut arcs_between = std::collections::HashMap::new();
    for a in g.arcs() {
        out[a.from as usize].push((a.to as usize, a.time_s));
        seg_time.insert((a.from, a.to), a.time_s);
        *arcs_between.entry((a.from, a.to)).or_insert(0) += 1;
    }
    // Points on plain two-way segments (no parallel way between the same two nodes), so the
    // oracle knows the segment's time in both directions.
    let plain = |(x, y): (u32, u32)| {
        arcs_between.get(&(x, y)) == Some(&1)
            && arcs_between.get(&(y, x)) == Some(&1)
            && seg_time[&(x, y)] == seg_time[&(y, x)]
    };
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut snaps = Vec::new();
    while snaps.len() < 10 {
        let s = g
            .snap(
                rng.random_range(121.4930..121.5015),
                rng.random_range(31.2820..31.2885),
            )
            .unwrap();
        if plain(s.segment_nodes(&g)) {
            snaps.push(s);
        }
    }
    let m = g.matrix(&snaps);
    for (i, a) in snaps.iter().enumerate() {
        let (a0, a1) = a.segment_nodes(&g);
        let fa = a.fraction();
        // Walking: segments are two-way, time proportional to the fraction travelled.
        let ta = seg_time[&(a0, a1)];
        let from0 = plain_dijkstra(n, &out, a0 as usize);
        let from1 = plain_dijkstra(n, &out, a1 as usize);
        for (j, b) in snaps.iter().enumerate() {
            if i == j {
                continue;
            }
            let (b0, b1) = b.segment_nodes(&g);
            let fb = b.fraction();
            let tb = seg_time[&(b0, b1)];
            let mut want = f64::INFINITY;
            for (leave, to_exit) in [(&from0, fa * ta), (&from1, (1.0 - fa) * ta)] {
                for (enter, from_entry) in [(b0, fb * tb), (b1, (1.0 - fb) * tb)] {
                    want = want.min(to_exit + leave[enter as usize] + from_entry);
                }
            }
            if (a0, a1) == (b0, b1) {
                want = want.min((fa - fb).abs() * ta);
            } else if (a0, a1) == (b1, b0) {
                want = want.min((fa - (1.0 - fb)).abs() * ta);
            }
            let got = m.time_s[i * snaps.len() + j];
            assert!(
                (got - want).abs() <= 1e-6 * want.max(1.0),
                "{i}->{j}: matrix {got} vs plain Dijkstra {want}"
            );
        }
    }
}
