//! TSPLIB conformance: the distance functions against the published optimal tours, and the
//! solver against the published optima.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use civmap_route::tsp::{SolverConfig, nearest_neighbour_tour, solve_tour};
use civmap_route::tsplib::{
    EdgeWeightType, Instance, parse_best_solutions, parse_tour, solve_instance, solve_tsplib,
};

fn data(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/tsplib")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn optimum(name: &str) -> i64 {
    parse_best_solutions(&data("bestSolutions.txt"))
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("{name} not in bestSolutions.txt"))
        .1
}

/// Every `.opt.tour` shipped in data/tsplib measures exactly the published optimum.
#[test]
fn every_optimal_tour_measures_the_published_optimum() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/tsplib");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_suffix(".opt.tour")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 16,
        "expected the copied opt tours, found {names:?}"
    );
    let mut kinds = Vec::new();
    for name in &names {
        let inst = Instance::parse(&data(&format!("{name}.tsp"))).unwrap();
        let tour = parse_tour(&data(&format!("{name}.opt.tour"))).unwrap();
        assert_eq!(tour.len(), inst.dimension(), "{name}");
        assert_eq!(inst.tour_length(&tour), optimum(name), "{name}");
        kinds.push(inst.weight_type);
    }
    // The check covers every distance function that has an optimal tour in TSPLIB.
    for k in [
        EdgeWeightType::Euc2d,
        EdgeWeightType::Att,
        EdgeWeightType::Geo,
    ] {
        assert!(kinds.contains(&k), "no opt tour checked for {k:?}");
    }
}

/// GEO conversion: TSPLIB's degree part must be truncated, not rounded; rounding would give
/// gr96 an "optimal" tour of 56120 instead of the published 55209.
#[test]
fn geo_uses_truncated_degrees() {
    let inst = Instance::parse(&data("gr96.tsp")).unwrap();
    let tour = parse_tour(&data("gr96.opt.tour")).unwrap();
    assert_eq!(inst.tour_length(&tour), 55209);
}

/// `CEIL_2D` (dsj1000): distances round up, so the CEIL optimum (`dsj1000ceil`) is the reference.
#[test]
fn ceil_2d_rounds_up() {
    let inst = Instance::parse(&data("dsj1000.tsp")).unwrap();
    assert_eq!(inst.weight_type, EdgeWeightType::Ceil2d);
    for (i, j) in [(0, 1), (5, 900), (17, 42)] {
        let (a, b) = (inst.coords[i], inst.coords[j]);
        let exact = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        assert_eq!(inst.distance(i, j), exact.ceil() as i64);
    }
    assert_eq!(optimum("dsj1000ceil"), 18_660_188);
}

/// The solver reaches the published optimum within 2 % on small instances, with a fixed round
/// budget (no wall-clock dependence), and its reported length is the TSPLIB length of its tour.
#[test]
fn solver_is_within_two_percent_on_small_instances() {
    for name in ["eil51", "berlin52", "st70", "kroA100", "att48", "ulysses22"] {
        let inst = Instance::parse(&data(&format!("{name}.tsp"))).unwrap();
        let cfg = SolverConfig {
            seed: 11,
            time_limit: Duration::from_mins(10),
            idle_rounds: Some(1500),
            ..SolverConfig::default()
        };
        let sol = solve_instance(&inst, &cfg).unwrap();
        assert!(!sol.timed_out);
        let mut seen = vec![false; inst.dimension()];
        for &c in &sol.tour {
            assert!(
                !std::mem::replace(&mut seen[c], true),
                "{name}: node {c} twice"
            );
        }
        assert!(seen.iter().all(|&s| s), "{name}: tour misses nodes");
        assert_eq!(sol.length, inst.tour_length(&sol.tour));
        let opt = optimum(name);
        assert!(
            sol.length >= opt,
            "{name}: {} below the optimum {opt}",
            sol.length
        );
        let gap = (sol.length - opt) as f64 / opt as f64;
        assert!(
            gap <= 0.02,
            "{name}: {} is {:.2}% above {opt}",
            sol.length,
            100.0 * gap
        );
        let nn = nearest_neighbour_tour(&inst.matrix().unwrap(), 0).cost;
        assert!(sol.length < nn, "{name}: no better than nearest neighbour");
    }
}

#[test]
fn same_seed_same_tour() {
    let text = data("eil76.tsp");
    let inst = Instance::parse(&text).unwrap();
    let cfg = SolverConfig {
        seed: 5,
        time_limit: Duration::from_mins(10),
        idle_rounds: Some(500),
        ..Default::default()
    };
    let m = inst.matrix().unwrap();
    assert_eq!(solve_tour(&m, &cfg).order, solve_tour(&m, &cfg).order);
}

#[test]
fn solve_tsplib_prints_tour_then_length() {
    let sol = solve_tsplib(&data("ulysses16.tsp"), 1, Duration::from_secs(5)).unwrap();
    let text = sol.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 17);
    assert_eq!(lines[0], "1");
    // ulysses16 is small enough that the optimum is reliably found.
    assert_eq!(lines[16], format!("length {}", optimum("ulysses16")));
}
