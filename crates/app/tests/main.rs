//! Every integration test of civmap-app, as modules of one test binary.
//!
//! Why one binary: each `tests/*.rs` file used to be a binary of its own that linked the whole
//! crate and its dependencies again: 85 test units took 779 of the 2,070 CPU seconds of a clean
//! `cargo test --no-run` (`--timings`, 2026-12-07).
//! `autotests = false` in Cargo.toml, so a new file is compiled only when it is declared here;
//! `cargo xtask test` fails when one is forgotten (`crates/xtask/src/declared.rs`).

#![allow(clippy::unwrap_used)]

mod cold;
mod feedback;
mod follow;
mod inspections;
mod photos;
mod rules;
mod setup;
