//! Every integration test of civmap-app, as modules of one test binary.
//!
//! Why one binary: each `tests/*.rs` file used to be a binary of its own that linked the whole
//! crate and its dependencies again: 85 test units took 779 of the 2,070 CPU seconds of a clean
//! `cargo test --no-run` (`--timings`, 2026-12-07).
//! `autotests = false` in Cargo.toml, so a new file is compiled only when it is declared here;
//! `every_test_file_is_declared` below fails when one is forgotten.

#![allow(clippy::unwrap_used)]

mod feedback;
mod follow;
mod inspections;
mod photos;
mod rules;
mod setup;

/// A `tests/*.rs` file not declared above would never be compiled or run.
#[test]
fn every_test_file_is_declared() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let here = include_str!("main.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "main" {
            assert!(
                here.contains(&format!("mod {stem};")),
                "{} is not declared in main.rs: its tests would never run",
                path.display()
            );
        }
    }
}
