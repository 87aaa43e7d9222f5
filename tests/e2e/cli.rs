//! End-to-end tests of the `civmap` subcommands other than `serve`: imports (idempotent, and a
//! malformed file writes nothing) and the TSPLIB solver.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::pedantic)]

mod support;

use std::path::PathBuf;

use support::{TempDir, civmap};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn run_ok(args: &[&str]) -> String {
    let out = civmap().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "civmap {args:?} failed:\n{stderr}");
    stderr + &String::from_utf8_lossy(&out.stdout)
}

fn export_rows(db: &str) -> usize {
    let out = civmap()
        .args(["export", "--format", "csv", "--db", db])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().count() - 1
}

#[test]
fn nyc311_import_is_idempotent() {
    let dir = TempDir::new("import");
    let db = dir.db_url("import.db");
    let csv = repo("data/import/nyc311/311_subset.micro.csv");
    let mapping = repo("data/import/nyc311/mapping.toml");
    let args = [
        "import",
        "problems",
        csv.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
        "--db",
        &db,
    ];
    let first = run_ok(&args);
    assert!(first.contains("read 2000"), "{first}");
    let n = export_rows(&db);
    assert!(n > 100, "only {n} NYC problems imported");
    let second = run_ok(&args);
    assert!(second.contains("stored 0 new problems"), "{second}");
    assert_eq!(export_rows(&db), n, "re-importing changed the data");
}

#[test]
fn a_malformed_csv_stops_at_its_line_and_writes_nothing() {
    let dir = TempDir::new("malformed");
    let db = dir.db_url("m.db");
    let good = std::fs::read_to_string(repo("data/import/nyc311/311_subset.micro.csv")).unwrap();
    // Keep the header and 50 rows, then a row with an unterminated quote.
    let mut text: String = good.lines().take(51).map(|l| format!("{l}\n")).collect();
    text.push_str("\"broken,row\n");
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, text).unwrap();
    let mapping = repo("data/import/nyc311/mapping.toml");
    let out = civmap()
        .args([
            "import",
            "problems",
            file.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--db",
            &db,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("52"), "the error names line 52: {stderr}");
    assert_eq!(export_rows(&db), 0, "nothing may be half-imported");
}

#[test]
fn osm_import_twice_builds_the_same_zones() {
    let dir = TempDir::new("osm");
    let db = dir.db_url("osm.db");
    let osm = repo("data/osm/tongji_siping_yangpu.osm");
    let args = ["import", "osm", osm.to_str().unwrap(), "--db", &db];
    let first = run_ok(&args);
    assert!(first.contains("10 points of interest"), "{first}");
    assert!(first.contains("(10 new)"), "{first}");
    let second = run_ok(&args);
    assert!(second.contains("(0 new)"), "{second}");
}

#[test]
fn tsplib_solves_berlin52_near_the_published_optimum() {
    let tsp = repo("data/tsplib/berlin52.tsp");
    let out = civmap()
        .args([
            "route",
            "tsplib",
            tsp.to_str().unwrap(),
            "--time-limit",
            "5",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    let length: i64 = last.strip_prefix("length ").unwrap().parse().unwrap();
    // bestSolutions.txt: berlin52 : 7542
    assert!(
        (7542..=7542 * 102 / 100).contains(&length),
        "length {length}"
    );
    // The tour lists each of the 52 nodes once.
    let mut nodes: Vec<u32> = stdout
        .lines()
        .filter(|l| !l.starts_with("length"))
        .flat_map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    nodes.sort_unstable();
    assert_eq!(nodes, (1..=52).collect::<Vec<u32>>(), "{stdout}");
}
