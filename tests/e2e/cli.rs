//! End-to-end tests of the `civmap` subcommands other than `serve`: imports (idempotent, and a
//! malformed file writes nothing) and the TSPLIB solver.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::pedantic)]

use crate::support;

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
    assert_eq!(zone_counts(&first, "surroundings"), [10, 0, 0], "{first}");
    let second = run_ok(&args);
    assert_eq!(zone_counts(&second, "surroundings"), [0, 0, 10], "{second}");
}

/// `[created, updated, unchanged]` of one kind in the summary of `civmap import osm`.
fn zone_counts(summary: &str, kind: &str) -> [usize; 3] {
    let line = summary
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} line in:\n{summary}"));
    let n: Vec<usize> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    [n[0], n[1], n[2]]
}

/// Runs `civmap ARGS` with `stdin` as its standard input.
fn run_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = civmap()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn zones_in(db: &str) -> Vec<civmap_domain::Zone> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = civmap_store::Store::open(db, civmap_store::StoreOptions::default())
            .await
            .unwrap();
        let zones = store.list_zones().await.unwrap();
        store.close().await;
        zones
    })
}

#[test]
fn a_real_street_from_its_extract_twice_then_a_road_chief() {
    let dir = TempDir::new("street");
    let db = dir.db_url("street.db");
    let osm = repo("data/osm/tongji_siping_yangpu.osm");
    let districts = repo("data/boundaries/province_310000.json");
    // The extract's own 街道 relations are cut by its bbox, so the boundary comes from the
    // DataV outline of Yangpu district (GCJ-02); its adcode is the zones' code.
    let mut args = vec![
        "import",
        "osm",
        osm.to_str().unwrap(),
        "--boundary",
        districts.to_str().unwrap(),
        "--boundary-crs",
        "gcj02",
        "--street-name",
        "杨浦区",
        "--db",
        &db,
    ];
    let kinds = ["surroundings", "points", "roads", "areas", "grid"];
    let first = run_ok(&args);
    assert!(first.contains("杨浦区 (feature 6)"), "{first}");
    let mut totals = Vec::new();
    for kind in kinds {
        let [created, updated, unchanged] = zone_counts(&first, kind);
        assert!(
            created > 0 && updated == 0 && unchanged == 0,
            "{kind}: {first}"
        );
        totals.push(created);
    }
    // About 60.6 km² in ~100 m cells.
    assert!((6_000..6_600).contains(&totals[4]), "{first}");
    let zones = zones_in(&db);
    assert_eq!(zones.len(), totals.iter().sum::<usize>());

    // The same file again: nothing changes, not even an id.
    let second = run_ok(&args);
    for (kind, total) in kinds.iter().zip(&totals) {
        assert_eq!(
            zone_counts(&second, kind),
            [0, 0, *total],
            "{kind}: {second}"
        );
    }
    let mut again = zones_in(&db);
    let mut before = zones.clone();
    before.sort_by_key(|z| z.id);
    again.sort_by_key(|z| z.id);
    assert_eq!(
        before
            .iter()
            .map(|z| (z.id, &z.external_id, &z.code))
            .collect::<Vec<_>>(),
        again
            .iter()
            .map(|z| (z.id, &z.external_id, &z.code))
            .collect::<Vec<_>>()
    );
    // Every zone carries the district's code, so a street office coded 310110 sees them all.
    assert!(
        zones
            .iter()
            .all(|z| z.code.as_deref().is_some_and(|c| c.starts_with("310110-"))),
        "a zone without the street's code"
    );

    // A road-chief for 四平路, by the zone's external id; the password from standard input.
    let out = run_with_stdin(
        &[
            "user",
            "add",
            "wang",
            "--role",
            "road_chief",
            "--zone",
            "road:四平路",
            "--db",
            &db,
        ],
        "a-long-enough-password-1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = run_ok(&["user", "list", "--db", &db]);
    assert!(list.contains("wang\troad_chief"), "{list}");

    // Wider road zones: the roads are updated in place, keeping their ids (and wang's zone).
    args.extend(["--road-buffer-m", "30"]);
    let third = run_ok(&args);
    assert_eq!(zone_counts(&third, "roads"), [0, totals[2], 0], "{third}");
    assert_eq!(zone_counts(&third, "grid"), [0, 0, totals[4]], "{third}");
    let siping = |zones: &[civmap_domain::Zone]| {
        zones
            .iter()
            .find(|z| z.external_id.as_deref() == Some("road:四平路"))
            .cloned()
            .unwrap()
    };
    let (old, new) = (siping(&zones), siping(&zones_in(&db)));
    assert_eq!(old.id, new.id);
    assert!(geo::Area::unsigned_area(&new.geometry) > geo::Area::unsigned_area(&old.geometry));
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
