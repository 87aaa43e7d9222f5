//! Solution-quality benchmark on TSPLIB: `cargo bench -p civmap-route --bench tsplib`.
//!
//! Prints, per instance: size, published optimum, nearest-neighbour tour length and gap, this
//! crate's solver length and gap, seconds; then averages. Time limits: 1 s for n <= 200 (the
//! solver usually stops earlier on its idle-round limit), 10 s for the ~1000-node instances.
//! Extra arguments: `--seed N` (default 1), `--only NAME[,NAME..]`, `--limit-large SECONDS`,
//! `--idle ROUNDS` (the solver's idle-round limit), `--k N` (candidate-list length),
//! `--rounds N` (cap on perturbation rounds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use civmap_route::tsp::{SolverConfig, nearest_neighbour_tour, solve_tour};
use civmap_route::tsplib::{EdgeWeightType, Instance, parse_best_solutions};

const SMALL: [&str; 11] = [
    "eil51", "berlin52", "st70", "eil76", "pr76", "kroA100", "rd100", "eil101", "lin105", "ch130",
    "ch150",
];
const LARGE: [&str; 2] = ["pr1002", "dsj1000"];

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/tsplib")
}

struct Row {
    name: String,
    n: usize,
    opt: i64,
    nn: i64,
    ours: i64,
    secs: f64,
    cpu: f64,
    rounds: u64,
}

/// CPU seconds used by this thread (user + system), from `/proc/thread-self/stat`; the machine
/// is shared, so this is reported beside wall-clock seconds. `NaN` where `/proc` is unavailable.
fn thread_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // f[0] is field 3 (state), so field 14 is f[11]; the kernel's USER_HZ is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn gap(len: i64, opt: i64) -> f64 {
    100.0 * (len - opt) as f64 / opt as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seed: u64 = arg("--seed").map_or(1, |s| s.parse().unwrap());
    let only: Option<Vec<String>> =
        arg("--only").map(|s| s.split(',').map(str::to_owned).collect());
    let large_limit: f64 = arg("--limit-large").map_or(10.0, |s| s.parse().unwrap());
    let idle_rounds: Option<u64> = arg("--idle").map(|s| s.parse().unwrap());
    let max_rounds: u64 = arg("--rounds").map_or(u64::MAX, |s| s.parse().unwrap());
    let neighbours: usize =
        arg("--k").map_or(SolverConfig::default().neighbours, |s| s.parse().unwrap());
    let best = parse_best_solutions(
        &std::fs::read_to_string(data_dir().join("bestSolutions.txt")).unwrap(),
    );
    let optimum = |name: &str| {
        best.iter()
            .find(|(k, _)| k == name)
            .map(|&(_, v)| v)
            .unwrap()
    };

    println!(
        "{:<10} {:>5} {:>10} {:>10} {:>7} {:>10} {:>7} {:>7} {:>7} {:>8}",
        "instance", "n", "optimum", "NN", "NN gap", "ours", "gap", "secs", "cpu s", "rounds"
    );
    let mut groups: Vec<(&str, Vec<Row>)> = Vec::new();
    for (group, names, limit) in [
        ("n<=200", &SMALL[..], 1.0),
        ("n~1000", &LARGE[..], large_limit),
    ] {
        let mut rows = Vec::new();
        for &name in names {
            if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == name)) {
                continue;
            }
            let text = std::fs::read_to_string(data_dir().join(format!("{name}.tsp"))).unwrap();
            let inst = Instance::parse(&text).unwrap();
            // dsj1000.tsp declares CEIL_2D: its optimum is listed as dsj1000ceil.
            let opt_key = if inst.weight_type == EdgeWeightType::Ceil2d {
                format!("{name}ceil")
            } else {
                name.to_owned()
            };
            let opt = optimum(&opt_key);
            let started = Instant::now();
            let cpu0 = thread_cpu_secs();
            let m = inst.matrix().unwrap();
            let nn = nearest_neighbour_tour(&m, 0).cost;
            let cfg = SolverConfig {
                seed,
                time_limit: Duration::from_secs_f64(limit),
                idle_rounds,
                neighbours,
                max_rounds,
            };
            let t = solve_tour(&m, &cfg);
            let secs = started.elapsed().as_secs_f64();
            let cpu = thread_cpu_secs() - cpu0;
            assert_eq!(inst.tour_length(&t.order), t.cost);
            let row = Row {
                name: name.to_owned(),
                n: inst.dimension(),
                opt,
                nn,
                ours: t.cost,
                secs,
                cpu,
                rounds: t.rounds,
            };
            println!(
                "{:<10} {:>5} {:>10} {:>10} {:>6.2}% {:>10} {:>6.2}% {:>7.2} {:>7.2} {:>8}",
                row.name,
                row.n,
                row.opt,
                row.nn,
                gap(row.nn, row.opt),
                row.ours,
                gap(row.ours, row.opt),
                row.secs,
                row.cpu,
                row.rounds
            );
            rows.push(row);
        }
        groups.push((group, rows));
    }
    for (group, rows) in &groups {
        if rows.is_empty() {
            continue;
        }
        let k = rows.len() as f64;
        let avg_nn = rows.iter().map(|r| gap(r.nn, r.opt)).sum::<f64>() / k;
        let avg = rows.iter().map(|r| gap(r.ours, r.opt)).sum::<f64>() / k;
        let worst = rows.iter().map(|r| gap(r.ours, r.opt)).fold(0.0, f64::max);
        let avg_secs = rows.iter().map(|r| r.secs).sum::<f64>() / k;
        let max_secs = rows.iter().map(|r| r.secs).fold(0.0, f64::max);
        let max_cpu = rows.iter().map(|r| r.cpu).fold(0.0, f64::max);
        println!(
            "{group:<8} average NN gap {avg_nn:.2}%, ours {avg:.2}% (worst {worst:.2}%), seconds avg {avg_secs:.2} max {max_secs:.2} (cpu max {max_cpu:.2})"
        );
    }
}
