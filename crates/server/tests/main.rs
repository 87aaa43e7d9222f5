//! Every integration test of civmap-server, as modules of one test binary.
//!
//! Why one binary: each `tests/*.rs` file used to be a binary of its own that linked the whole
//! crate and its dependencies again: 85 test units took 779 of the 2,070 CPU seconds of a clean
//! `cargo test --no-run` (`--timings`, 2026-12-07).
//! `autotests = false` in Cargo.toml, so a new file is compiled only when it is declared here;
//! `cargo xtask test` fails when one is forgotten (`crates/xtask/src/declared.rs`).

#![allow(clippy::unwrap_used)]

mod common;

mod authz;
mod case_numbers;
mod cold;
mod crs;
mod dates;
mod db_refuses;
mod error_shape;
mod errors;
mod feedback;
mod fuzz;
mod heat;
mod idempotency;
mod inspections;
mod ogc;
mod ogc_clients;
mod open311;
mod openapi_file;
mod openapi_valid;
mod ops;
mod patrols;
mod point_codes;
mod problem_page;
mod problems;
mod public_text;
mod route_sheet;
mod routing;
mod setup;
mod store_down;
mod tiles;
mod workflow;
