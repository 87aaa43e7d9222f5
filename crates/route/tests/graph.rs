//! Road graph: shortest paths against a Bellman–Ford oracle built independently from the input
//! ways, one-way streets, snapping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use civmap_route::graph::{GraphBuilder, Mode, RoadGraph, Snap};
use geo::{Distance, Haversine, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LON0: f64 = 121.40;
const LAT0: f64 = 31.20;
const STEP: f64 = 0.002; // about 190 m east-west, 222 m north-south

/// A synthetic street grid as raw OSM-like data: node (id, lon, lat), way (id, refs, oneway tag).
struct Grid {
    nodes: Vec<(i64, f64, f64)>,
    ways: Vec<(i64, Vec<i64>, &'static str, &'static str)>, // refs, highway, oneway
}

fn grid(size: i64, seed: u64, highways: &[&'static str], long_ways: bool) -> Grid {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let id = |i: i64, j: i64| 1000 + i * size + j;
    let mut nodes = Vec::new();
    for i in 0..size {
        for j in 0..size {
            let jitter = |rng: &mut ChaCha8Rng| rng.random_range(-0.0003..0.0003);
            nodes.push((
                id(i, j),
                LON0 + i as f64 * STEP + jitter(&mut rng),
                LAT0 + j as f64 * STEP + jitter(&mut rng),
            ));
        }
    }
    let mut ways = Vec::new();
    let mut wid = 1;
    let mut covered = std::collections::HashSet::new();
    for i in 0..size {
        for j in 0..size {
            for (di, dj) in [(1, 0), (0, 1)] {
                let (a, b) = (i + di, j + dj);
                if a >= size || b >= size || covered.contains(&(i, j, di)) || rng.random_bool(0.1) {
                    continue; // missing street, or already part of a longer way
                }
                let oneway = ["no", "no", "yes", "-1"][rng.random_range(0..4)];
                let highway = highways[rng.random_range(0..highways.len())];
                // Some ways run over two blocks.
                let mut refs = vec![id(i, j), id(a, b)];
                if long_ways && a + di < size && b + dj < size && rng.random_bool(0.3) {
                    refs.push(id(a + di, b + dj));
                    covered.insert((a, b, di));
                }
                ways.push((wid, refs, highway, oneway));
                wid += 1;
            }
        }
    }
    Grid { nodes, ways }
}

fn build(grid: &Grid, mode: Mode) -> RoadGraph {
    let mut b = GraphBuilder::new(mode);
    // Ways before nodes: the builder must not care about the order.
    for (id, refs, highway, oneway) in &grid.ways {
        b.add_way(*id, refs, [("highway", *highway), ("oneway", *oneway)]);
    }
    for &(id, lon, lat) in &grid.nodes {
        b.add_node(id, lon, lat);
    }
    b.build()
}

fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

/// Bellman–Ford single-source shortest distances over `(from, to, weight)` arcs.
fn bellman_ford(n: usize, arcs: &[(usize, usize, f64)], source: usize) -> Vec<f64> {
    let mut d = vec![f64::INFINITY; n];
    d[source] = 0.0;
    for _ in 0..n {
        let mut changed = false;
        for &(u, v, w) in arcs {
            if d[u] + w < d[v] - 1e-12 {
                d[v] = d[u] + w;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    d
}

/// Oracle arcs (by OSM node id, weighted by length in metres) straight from the raw ways and
/// the OSM one-way rules, independent of the crate's graph construction.
fn oracle_length_arcs(grid: &Grid) -> (Vec<i64>, Vec<(usize, usize, f64)>) {
    let ids: Vec<i64> = grid.nodes.iter().map(|n| n.0).collect();
    let coord = |id: i64| {
        let n = grid.nodes.iter().find(|n| n.0 == id).unwrap();
        [n.1, n.2]
    };
    let idx = |id: i64| ids.iter().position(|&x| x == id).unwrap();
    let mut arcs = Vec::new();
    for (_, refs, _, oneway) in &grid.ways {
        for w in refs.windows(2) {
            let len = haversine(coord(w[0]), coord(w[1]));
            if *oneway != "-1" {
                arcs.push((idx(w[0]), idx(w[1]), len));
            }
            if *oneway != "yes" {
                arcs.push((idx(w[1]), idx(w[0]), len));
            }
        }
    }
    (ids, arcs)
}

/// With one speed everywhere the fastest path is the shortest one: the graph's path lengths
/// between random node pairs equal Bellman–Ford lengths on the raw ways (one-way rules included).
#[test]
fn node_paths_match_bellman_ford_on_raw_ways() {
    for seed in 0..4 {
        let grid = grid(12, seed, &["residential"], true);
        let g = build(&grid, Mode::Drive);
        let (ids, arcs) = oracle_length_arcs(&grid);
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
        let mut compared = 0;
        for _ in 0..25 {
            let (a, b) = (
                ids[rng.random_range(0..ids.len())],
                ids[rng.random_range(0..ids.len())],
            );
            if a == b {
                continue;
            }
            let oracle = bellman_ford(ids.len(), &arcs, ids.iter().position(|&x| x == a).unwrap());
            let want = oracle[ids.iter().position(|&x| x == b).unwrap()];
            let (ga, gb) = (g.node_index(a), g.node_index(b));
            let got = match (ga, gb) {
                (Some(x), Some(y)) => g.node_path(x, y).map(|p| p.1),
                _ => None,
            };
            match got {
                Some(len) => {
                    assert!(
                        (len - want).abs() < 1e-6 * want.max(1.0),
                        "seed {seed} {a}->{b}: {len} vs {want}"
                    );
                    compared += 1;
                }
                None => assert!(want.is_infinite(), "seed {seed} {a}->{b}: oracle {want}"),
            }
        }
        assert!(compared >= 15, "too few reachable pairs ({compared})");
    }
}

/// Mixed road classes (different speeds): Dijkstra times equal Bellman–Ford over the graph's arcs,
/// and the node sequence of the path is a chain of existing arcs adding up to that time.
#[test]
fn node_times_match_bellman_ford_with_mixed_speeds() {
    let grid = grid(
        14,
        9,
        &[
            "primary",
            "secondary",
            "residential",
            "service",
            "living_street",
        ],
        true,
    );
    let g = build(&grid, Mode::Drive);
    let arcs: Vec<(usize, usize, f64)> = g
        .arcs()
        .map(|a| (a.from as usize, a.to as usize, a.time_s))
        .collect();
    let n = g.node_count();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..30 {
        let (a, b) = (rng.random_range(0..n) as u32, rng.random_range(0..n) as u32);
        let oracle = bellman_ford(n, &arcs, a as usize);
        match g.node_path(a, b) {
            Some((t, _, nodes)) => {
                assert!((t - oracle[b as usize]).abs() < 1e-9 * t.max(1.0));
                assert_eq!((nodes[0], *nodes.last().unwrap()), (a, b));
                let sum: f64 = nodes
                    .windows(2)
                    .map(|w| {
                        arcs.iter()
                            .filter(|x| x.0 == w[0] as usize && x.1 == w[1] as usize)
                            .map(|x| x.2)
                            .fold(f64::INFINITY, f64::min)
                    })
                    .sum();
                assert!(
                    (sum - t).abs() < 1e-9 * t.max(1.0),
                    "path nodes do not add up"
                );
            }
            None => assert!(oracle[b as usize].is_infinite()),
        }
    }
}

/// Snapped-point paths against Bellman–Ford on an explicit graph where the snapped segments are
/// really split at the snapped points.
#[test]
fn snapped_paths_and_matrix_match_split_graph_oracle() {
    for seed in 0..3 {
        // No duplicate segments here: the oracle splits every arc between the snapped segment's nodes.
        let grid = grid(10, 20 + seed, &["primary", "residential", "service"], false);
        let g = build(&grid, Mode::Drive);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let span = 9.0 * STEP;
        let snaps: Vec<Snap> = (0..14)
            .map(|_| {
                g.snap(
                    LON0 + rng.random_range(0.0..span),
                    LAT0 + rng.random_range(0.0..span),
                )
                .unwrap()
            })
            .collect();
        // Explicit oracle graph: graph nodes 0..n, snapped points n..n+k.
        let n = g.node_count();
        let mut arcs: Vec<(usize, usize, f64)> = Vec::new();
        let base: Vec<_> = g.arcs().collect();
        for arc in &base {
            // Points on this arc's segment, as fractions along the arc's direction.
            let mut on: Vec<(f64, usize)> = snaps
                .iter()
                .enumerate()
                .filter_map(|(k, s)| {
                    let (a, b) = s.segment_nodes(&g);
                    if (a, b) == (arc.from, arc.to) {
                        Some((s.fraction(), n + k))
                    } else if (b, a) == (arc.from, arc.to) {
                        Some((1.0 - s.fraction(), n + k))
                    } else {
                        None
                    }
                })
                .collect();
            on.sort_by(|x, y| x.0.total_cmp(&y.0));
            let mut prev = (0.0, arc.from as usize);
            for &(f, v) in on.iter().chain(std::iter::once(&(1.0, arc.to as usize))) {
                arcs.push((prev.1, v, (f - prev.0) * arc.time_s));
                prev = (f, v);
            }
        }
        let m = g.matrix(&snaps);
        for i in 0..snaps.len() {
            let oracle = bellman_ford(n + snaps.len(), &arcs, n + i);
            for j in 0..snaps.len() {
                let want = if i == j { 0.0 } else { oracle[n + j] };
                let got = m.time_s[i * snaps.len() + j];
                assert!(
                    want.is_finite(),
                    "snapped points are in the main component and must be mutually reachable"
                );
                assert!(
                    (got - want).abs() < 1e-6,
                    "seed {seed} {i}->{j}: matrix {got} vs oracle {want}"
                );
                if i != j {
                    let leg = g.shortest_path(&snaps[i], &snaps[j]).unwrap();
                    assert!((leg.time_s - want).abs() < 1e-6);
                    assert!((leg.distance_m - m.distance_m[i * snaps.len() + j]).abs() < 1e-6);
                    assert_eq!(leg.geometry.first(), Some(&snaps[i].point));
                    assert_eq!(leg.geometry.last(), Some(&snaps[j].point));
                    // The geometry is at least as long as the straight line and matches the reported length.
                    let geo_len: f64 = leg.geometry.windows(2).map(|w| haversine(w[0], w[1])).sum();
                    assert!(
                        (geo_len - leg.distance_m).abs() < 1e-3 * leg.distance_m.max(1.0),
                        "{geo_len} vs {}",
                        leg.distance_m
                    );
                }
            }
        }
    }
}

fn line_graph(mode: Mode, tags: &[(&str, &str)]) -> RoadGraph {
    let mut b = GraphBuilder::new(mode);
    for (k, id) in [1i64, 2, 3].into_iter().enumerate() {
        b.add_node(id, 121.47 + 0.001 * k as f64, 31.23);
    }
    b.add_way(7, &[1, 2, 3], tags.iter().copied());
    b.build()
}

#[test]
fn one_way_street_cannot_be_driven_backwards_but_can_be_walked() {
    let drive = line_graph(
        Mode::Drive,
        &[("highway", "residential"), ("oneway", "yes")],
    );
    let (a, c) = (drive.node_index(1).unwrap(), drive.node_index(3).unwrap());
    assert!(drive.node_path(a, c).is_some());
    assert!(drive.node_path(c, a).is_none());
    let reverse = line_graph(Mode::Drive, &[("highway", "residential"), ("oneway", "-1")]);
    let (a, c) = (
        reverse.node_index(1).unwrap(),
        reverse.node_index(3).unwrap(),
    );
    assert!(reverse.node_path(a, c).is_none());
    assert!(reverse.node_path(c, a).is_some());
    let walk = line_graph(Mode::Walk, &[("highway", "residential"), ("oneway", "yes")]);
    let (a, c) = (walk.node_index(1).unwrap(), walk.node_index(3).unwrap());
    assert!(walk.node_path(c, a).is_some());
    // A footway is not a road for cars.
    let foot = line_graph(Mode::Drive, &[("highway", "footway")]);
    assert_eq!(foot.node_count(), 0);
    assert!(foot.snap(121.47, 31.23).is_none());
}

/// A one-way loop around a block: going "back" a short distance means driving round the block.
#[test]
fn snapped_one_way_forces_a_detour() {
    let mut b = GraphBuilder::new(Mode::Drive);
    let corners = [
        (1, 121.470, 31.230),
        (2, 121.472, 31.230),
        (3, 121.472, 31.232),
        (4, 121.470, 31.232),
    ];
    for &(id, lon, lat) in &corners {
        b.add_node(id, lon, lat);
    }
    b.add_way(
        1,
        &[1, 2, 3, 4, 1],
        [("highway", "residential"), ("oneway", "yes")],
    );
    let g = b.build();
    let east = g.snap(121.4715, 31.22995).unwrap(); // on 1->2, 3/4 of the way
    let west = g.snap(121.4705, 31.22995).unwrap(); // on 1->2, 1/4 of the way
    let forward = g.shortest_path(&west, &east).unwrap();
    let backward = g.shortest_path(&east, &west).unwrap();
    let side = haversine([121.470, 31.230], [121.472, 31.230]);
    let up = haversine([121.472, 31.230], [121.472, 31.232]);
    assert!(
        (forward.distance_m - side / 2.0).abs() < 0.5,
        "{}",
        forward.distance_m
    );
    let round = 2.0 * side + 2.0 * up - side / 2.0;
    assert!(
        (backward.distance_m - round).abs() < 0.5,
        "{} vs {round}",
        backward.distance_m
    );
    assert!(backward.geometry.len() >= 6);
}

#[test]
fn snap_projects_onto_the_nearest_segment() {
    let g = line_graph(Mode::Walk, &[("highway", "footway")]);
    // 0.0005° north of the line (about 55.6 m), a third of the way along the first segment.
    let s = g.snap(121.470_333, 31.2305).unwrap();
    assert!((s.point[0] - 121.470_333).abs() < 1e-9 && (s.point[1] - 31.23).abs() < 1e-9);
    let expected = haversine([121.470_333, 31.2305], [121.470_333, 31.23]);
    assert!((s.offset_m - expected).abs() < 1e-6);
    assert!((s.offset_m - 55.6).abs() < 0.2);
    // Beyond the end: clamps to the end node.
    let s = g.snap(121.475, 31.23).unwrap();
    assert!((s.point[0] - 121.472).abs() < 1e-12);
}

/// Points snap only to the largest strongly connected component: a dead-end one-way spur and an
/// isolated street are skipped in favour of the main network.
#[test]
fn snapping_ignores_roads_outside_the_main_component() {
    let mut b = GraphBuilder::new(Mode::Drive);
    let pts = [
        (1, 121.470, 31.230),
        (2, 121.472, 31.230),
        (3, 121.472, 31.232),
        (4, 121.470, 31.232),
        (5, 121.474, 31.230), // spur end
        (6, 121.471, 31.2335),
        (7, 121.4712, 31.2335), // isolated street
    ];
    for &(id, lon, lat) in &pts {
        b.add_node(id, lon, lat);
    }
    b.add_way(1, &[1, 2, 3, 4, 1], [("highway", "residential")]);
    b.add_way(2, &[2, 5], [("highway", "residential"), ("oneway", "yes")]);
    b.add_way(3, &[6, 7], [("highway", "residential")]);
    let g = b.build();
    assert_eq!(g.stats().main_component_nodes, 4);
    let s = g.snap(121.4711, 31.2334).unwrap(); // right on the isolated street
    assert!(
        (s.point[1] - 31.232).abs() < 1e-9,
        "snapped to {:?}",
        s.point
    );
    let s = g.snap(121.4738, 31.23).unwrap(); // on the spur
    assert!(
        (s.point[0] - 121.472).abs() < 1e-9,
        "snapped to {:?}",
        s.point
    );
}

#[test]
fn ways_with_missing_nodes_keep_their_other_segments() {
    let mut b = GraphBuilder::new(Mode::Walk);
    b.add_node(1, 121.470, 31.230);
    b.add_node(2, 121.471, 31.230);
    b.add_node(4, 121.473, 31.230);
    b.add_node(5, 121.474, 31.230);
    assert!(b.add_way(1, &[1, 2, 3, 4, 5], [("highway", "footway")]));
    assert!(!b.add_way(2, &[1, 5], [("building", "yes")]));
    let g = b.build();
    let st = g.stats();
    assert_eq!(
        (
            st.ways_seen,
            st.ways_used,
            st.segments_dropped_missing_node,
            st.nodes
        ),
        (2, 1, 2, 4)
    );
    let (a, e) = (g.node_index(1).unwrap(), g.node_index(5).unwrap());
    assert!(
        g.node_path(a, e).is_none(),
        "the gap at node 3 must not be bridged"
    );
}
