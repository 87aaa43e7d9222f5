//! 100 stops on the central-Shanghai drive network: `cargo bench -p civmap-route --bench jingan`.
//!
//! Reads `data/osm/jingan_osmnx_drive.osm` (`OSMnx` drive graph, © OpenStreetMap contributors,
//! `ODbL`) with `civmap-geodata`, then times each phase: graph build, snapping + travel-time
//! matrix (101 x 101 incl. the start), and planning (assignment, ordering, arrival times and
//! road geometry). Plain `main` (no criterion): the phases are what matter, each repeated and
//! reported as the median. Extra arguments: `--stops N`, `--repeat R`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use civmap_route::graph::{ACCESS_SPEED_MPS, GraphBuilder, Mode};
use civmap_route::plan::{PlanOptions, PlanRequest, Priority, RouteEnd, Stop, plan_routes};
use civmap_route::tsp::{CostMatrix, SolverConfig, solve_tour};
use geo::{Distance, Haversine, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |s| s.parse().unwrap())
    };
    let (n_stops, repeat) = (arg("--stops", 100), arg("--repeat", 5));
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/osm/jingan_osmnx_drive.osm");
    let t0 = Instant::now();
    let osm = civmap_geodata::osm::read_path(&path).unwrap();
    let read_s = t0.elapsed().as_secs_f64();

    let mut build = Vec::new();
    let mut graph = None;
    for _ in 0..repeat {
        let t = Instant::now();
        let mut b = GraphBuilder::new(Mode::Drive);
        for n in &osm.nodes {
            b.add_node(n.id, n.lon, n.lat);
        }
        for w in &osm.ways {
            b.add_way(w.id, &w.refs, w.tags.iter());
        }
        let g = b.build();
        build.push(t.elapsed().as_secs_f64());
        graph = Some(g);
    }
    let g = graph.unwrap();
    let st = g.stats();
    println!(
        "graph: {} ways used of {}, {} nodes, {} arcs, main component {} nodes (read {:.3} s)",
        st.ways_used, st.ways_seen, st.nodes, st.arcs, st.main_component_nodes, read_s
    );

    // Stops: random points in the extract's bounding box (seeded), 30 % must-visit.
    let (lon0, lon1, lat0, lat1) = (121.4615, 121.4860, 31.2200, 31.2410);
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let stops: Vec<Stop> = (0..n_stops)
        .map(|k| Stop {
            id: format!("P{k:03}"),
            lon: rng.random_range(lon0..lon1),
            lat: rng.random_range(lat0..lat1),
            service_s: [180.0, 300.0, 600.0][rng.random_range(0..3)],
            priority: if rng.random_bool(0.3) {
                Priority::Must
            } else {
                Priority::Optional {
                    value: f64::from(rng.random_range(1..10)),
                }
            },
        })
        .collect();
    let start = [121.4737, 31.2304]; // People's Square
    let mut snaps_s = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        let mut points = vec![start];
        points.extend(stops.iter().map(|s| [s.lon, s.lat]));
        let snaps: Vec<_> = points.iter().map(|p| g.snap(p[0], p[1]).unwrap()).collect();
        let m = g.matrix(&snaps);
        assert!(m.time_s.iter().all(|t| t.is_finite()));
        snaps_s.push(t.elapsed().as_secs_f64());
    }
    println!(
        "snap + matrix ({0} x {0}): median {1:.3} s",
        n_stops + 1,
        median(snaps_s)
    );
    println!(
        "{:<6} {:>8} {:>8} {:>8} {:>9} {:>9} {:>10}",
        "teams", "budget", "plan s", "visited", "left out", "longest", "km total"
    );
    for (teams, budget_h) in [(1, 8.0), (1, 24.0), (3, 4.0), (5, 3.0)] {
        let req = PlanRequest {
            stops: stops.clone(),
            start,
            end: RouteEnd::ReturnToStart,
            teams,
            budget_s: budget_h * 3600.0,
            mode: Mode::Drive,
            seed: 1,
            options: PlanOptions::default(),
        };
        let mut times = Vec::new();
        let mut plan = None;
        for _ in 0..repeat {
            let t = Instant::now();
            plan = Some(plan_routes(&req, Some(&g)).unwrap());
            times.push(t.elapsed().as_secs_f64());
        }
        let p = plan.unwrap();
        let visited: usize = p.teams.iter().map(|t| t.stops.len()).sum();
        let longest = p.teams.iter().map(|t| t.duration_s).fold(0.0, f64::max);
        let km: f64 = p.teams.iter().map(|t| t.distance_m).sum::<f64>() / 1000.0;
        println!(
            "{teams:<6} {:>7}h {:>8.3} {visited:>8} {:>9} {:>8.0}s {km:>10.1}",
            budget_h,
            median(times),
            p.unassigned.len(),
            longest
        );
    }
    println!("graph build median {:.3} s", median(build));

    // Order quality on the asymmetric road matrix (one-way streets): the planner's single-team
    // route through all stops against the best of five long solver runs on the same matrix.
    let mut points = vec![start];
    points.extend(stops.iter().map(|s| [s.lon, s.lat]));
    let snaps: Vec<_> = points.iter().map(|p| g.snap(p[0], p[1]).unwrap()).collect();
    let m = g.matrix(&snaps);
    let n = points.len();
    let leg = |i: usize, j: usize| {
        let (a, b) = (snaps[i], snaps[j]);
        let direct = haversine(points[i], points[j]);
        let access = a.offset_m + b.offset_m;
        if direct <= access {
            direct / ACCESS_SPEED_MPS
        } else {
            m.time_s[i * n + j] + access / ACCESS_SPEED_MPS
        }
    };
    let cm = CostMatrix::from_fn(n, |i, j| (leg(i, j) * 10.0).round() as i64).unwrap();
    println!("matrix symmetric: {}", cm.is_symmetric());
    let req = PlanRequest {
        stops: stops
            .iter()
            .map(|s| Stop {
                priority: Priority::Must,
                ..s.clone()
            })
            .collect(),
        start,
        end: RouteEnd::ReturnToStart,
        teams: 1,
        budget_s: 48.0 * 3600.0,
        mode: Mode::Drive,
        seed: 1,
        options: PlanOptions::default(),
    };
    let planned = plan_routes(&req, Some(&g)).unwrap().teams[0].travel_s;
    let long = (1..=5)
        .map(|seed| {
            let cfg = SolverConfig {
                seed,
                time_limit: Duration::from_secs(20),
                idle_rounds: Some(50_000),
                ..SolverConfig::default()
            };
            solve_tour(&cm, &cfg).cost as f64 / 10.0
        })
        .fold(f64::INFINITY, f64::min);
    println!(
        "order quality, all {} stops one team: planner travel {planned:.0} s, best of 5 long runs {long:.0} s, gap {:.2} %",
        stops.len(),
        100.0 * (planned - long) / long
    );
}
