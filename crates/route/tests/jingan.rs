//! Real OpenStreetMap data: the central-Shanghai `OSMnx` drive network in
//! `data/osm/jingan_osmnx_drive.osm` (© OpenStreetMap contributors, `ODbL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use civmap_geodata::osm::OsmData;
use civmap_route::graph::{GraphBuilder, Mode, RoadGraph};
use civmap_route::plan::{PlanOptions, PlanRequest, Priority, RouteEnd, Stop, plan_routes};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn osm() -> OsmData {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/osm/jingan_osmnx_drive.osm");
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

#[test]
fn every_drive_way_is_used_except_closed_access() {
    let osm = osm();
    let g = graph(&osm, Mode::Drive);
    let st = g.stats();
    let closed = osm
        .ways
        .iter()
        .filter(|w| matches!(w.tags.get("access"), Some("no" | "private")))
        .count();
    assert_eq!(st.ways_seen, 796);
    assert_eq!(st.ways_used, 796 - closed);
    assert_eq!(
        st.segments_dropped_missing_node, 0,
        "all refs resolve inside the file"
    );
    // The extract is clipped: one-way streets leaving the box are dead ends, so the strongly
    // connected core is smaller than the graph (1504 of 2454 nodes, also found by an
    // independent Kosaraju pass over the file).
    assert_eq!(st.main_component_nodes, 1504);
}

/// A one-way street in the file (way 1298040470, 汉口路, `oneway=yes`): its arc exists forwards only.
#[test]
fn real_one_way_street_has_no_backward_arc() {
    let osm = osm();
    let way = osm.ways.iter().find(|w| w.id == 1_298_040_470).unwrap();
    assert_eq!(
        (way.tags.get("oneway"), way.tags.get("name")),
        (Some("yes"), Some("汉口路"))
    );
    let g = graph(&osm, Mode::Drive);
    let (a, b) = (
        g.node_index(way.refs[0]).unwrap(),
        g.node_index(way.refs[1]).unwrap(),
    );
    let arcs: Vec<_> = g.arcs().collect();
    assert!(arcs.iter().any(|x| (x.from, x.to) == (a, b)));
    assert!(
        !arcs.iter().any(|x| (x.from, x.to) == (b, a)),
        "drive graph lets cars go the wrong way"
    );
    // Walking ignores the one-way rule.
    let w = graph(&osm, Mode::Walk);
    let (a, b) = (
        w.node_index(way.refs[0]).unwrap(),
        w.node_index(way.refs[1]).unwrap(),
    );
    assert!(w.arcs().any(|x| (x.from, x.to) == (b, a)));
}

/// Dijkstra on the real graph against Bellman–Ford over the same arcs, random pairs (seeded).
#[test]
fn real_graph_shortest_paths_match_bellman_ford() {
    let g = graph(&osm(), Mode::Drive);
    let arcs: Vec<(usize, usize, f64)> = g
        .arcs()
        .map(|a| (a.from as usize, a.to as usize, a.time_s))
        .collect();
    let n = g.node_count();
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let mut reachable = 0;
    for _ in 0..6 {
        let s = rng.random_range(0..n);
        let mut d = vec![f64::INFINITY; n];
        d[s] = 0.0;
        loop {
            let mut changed = false;
            for &(u, v, w) in &arcs {
                if d[u] + w < d[v] - 1e-12 {
                    d[v] = d[u] + w;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for _ in 0..10 {
            let t = rng.random_range(0..n);
            match g.node_path(s as u32, t as u32) {
                Some((time, _, _)) => {
                    assert!(
                        (time - d[t]).abs() < 1e-9 * time.max(1.0),
                        "{s}->{t}: {time} vs {}",
                        d[t]
                    );
                    reachable += 1;
                }
                None => assert!(d[t].is_infinite(), "{s}->{t} reachable in the oracle"),
            }
        }
    }
    assert!(reachable > 20, "too few reachable pairs: {reachable}");
}

#[test]
fn plan_on_real_streets() {
    let g = graph(&osm(), Mode::Drive);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let stops: Vec<Stop> = (0..30)
        .map(|k| Stop {
            id: format!("r{k}"),
            lon: rng.random_range(121.4615..121.4860),
            lat: rng.random_range(31.2200..31.2410),
            service_s: 300.0,
            priority: if k < 10 {
                Priority::Must
            } else {
                Priority::Optional {
                    value: 1.0 + f64::from(k % 4),
                }
            },
        })
        .collect();
    let req = PlanRequest {
        stops,
        start: [121.4737, 31.2304],
        end: RouteEnd::ReturnToStart,
        teams: 2,
        budget_s: 3.0 * 3600.0,
        mode: Mode::Drive,
        seed: 3,
        options: PlanOptions::default(),
    };
    let plan = plan_routes(&req, Some(&g)).unwrap();
    assert!(!plan.fallback_straight_line);
    let mut ids: Vec<&str> = plan
        .teams
        .iter()
        .flat_map(|t| t.stops.iter().map(|s| s.id.as_str()))
        .collect();
    ids.extend(plan.unassigned.iter().map(|u| u.id.as_str()));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 30);
    for t in &plan.teams {
        assert!(t.duration_s <= req.budget_s);
        assert!(
            t.stops.iter().filter(|s| s.must).count() > 0,
            "must stops are shared between the teams"
        );
        // The line follows the streets: many more vertices than stops.
        assert!(t.geometry.len() > 3 * t.stops.len());
    }
    assert_eq!(
        plan.teams
            .iter()
            .flat_map(|t| &t.stops)
            .filter(|s| s.must)
            .count(),
        10
    );
}
