//! The worked example: 2,000 real NYC 311 requests with `data/import/nyc311/mapping.toml`.
//!
//! Expected numbers come from an independent Python script applying the same mapping with the
//! standard `csv` and `tomllib` modules (not from this crate).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use civmap_domain::CategoryTable;
use civmap_geodata::import::{Mapping, SkipReason, problems_from_csv};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/import/nyc311")
}

#[test]
fn nyc311_imports_with_the_documented_mapping() {
    let mapping =
        Mapping::from_toml(&std::fs::read_to_string(dir().join("mapping.toml")).unwrap()).unwrap();
    let file = std::fs::File::open(dir().join("311_subset.micro.csv")).unwrap();
    let (records, report) = problems_from_csv(file, &mapping, &CategoryTable::builtin()).unwrap();

    assert_eq!(report.read, 2_000);
    assert_eq!(report.imported, 328);
    assert_eq!(records.len(), 328);
    assert_eq!(report.imported + report.skipped_total(), 2_000, "{report}");
    // 1,402 rows carry coordinates (SOURCES.md), so 598 do not.
    assert_eq!(report.count(&SkipReason::MissingCoordinates), 598);
    let unknown: Vec<_> = report
        .skipped
        .iter()
        .filter(|g| matches!(g.reason, SkipReason::UnknownCategory(_)))
        .collect();
    assert_eq!(unknown.iter().map(|g| g.count).sum::<usize>(), 1_074);
    assert_eq!(
        unknown.len(),
        52,
        "distinct unmapped complaint types with coordinates"
    );
    assert_eq!(
        report.count(&SkipReason::UnknownCategory("Street Condition".into())),
        265
    );
    assert_eq!(
        report.count(&SkipReason::UnknownCategory("Noise - Residential".into())),
        228
    );

    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &records {
        *by_code.entry(r.category.as_str()).or_default() += 1;
    }
    let expected: BTreeMap<&str, usize> = [
        ("ad_posters", 1),
        ("blocked_fire_lane", 17),
        ("clutter", 14),
        ("dog_nuisance", 5),
        ("garbage", 2),
        ("illegal_parking", 203),
        ("street_vending", 13),
        ("zombie_car", 73),
    ]
    .into_iter()
    .collect();
    assert_eq!(by_code, expected);

    // All inside New York City (40.49..40.92 N, 74.26..73.69 W), WGS-84 passed through unchanged.
    for r in &records {
        let (x, y) = (r.location.lon(), r.location.lat());
        assert!(
            (-74.26..=-73.69).contains(&x) && (40.49..=40.92).contains(&y),
            "{r:?}"
        );
        assert!(r.external_id.starts_with("nyc311:"));
        assert!(r.reported_at.is_some());
    }
    // Times are read from 12-hour New York time ("03/01/2011 02:27:57 PM") into UTC.
    let dv = records.iter().find(|r| r.category == "zombie_car").unwrap();
    let t = dv.reported_at.unwrap();
    assert_eq!(t.format("%Y-%m").to_string(), "2011-03");
    assert!(
        dv.description.starts_with("Derelict Vehicle"),
        "{}",
        dv.description
    );

    // Idempotence: a second import yields exactly the same records and ids.
    let file = std::fs::File::open(dir().join("311_subset.micro.csv")).unwrap();
    let (again, report2) = problems_from_csv(file, &mapping, &CategoryTable::builtin()).unwrap();
    assert_eq!(again, records);
    assert_eq!(report2, report);
    let mut ids: Vec<&str> = records.iter().map(|r| r.external_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 328, "ids are unique");
}

#[test]
fn a_damaged_copy_stops_at_the_bad_line() {
    let text = std::fs::read_to_string(dir().join("311_subset.micro.csv")).unwrap();
    // Drop the last field of the first data row after line 1,000 whose last field is empty
    // (so the last comma is a separator, not inside a quoted Location).
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let i = (1_000..lines.len())
        .find(|&i| lines[i].ends_with(','))
        .unwrap();
    lines[i].pop();
    let damaged = lines.join("\n");
    let mapping =
        Mapping::from_toml(&std::fs::read_to_string(dir().join("mapping.toml")).unwrap()).unwrap();
    let err =
        problems_from_csv(damaged.as_bytes(), &mapping, &CategoryTable::builtin()).unwrap_err();
    let want = format!(
        "malformed CSV at line {}: 40 fields where the header has 41",
        i + 1
    );
    assert_eq!(err.to_string(), want);
}
