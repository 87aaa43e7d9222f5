//! Every integration test of the `civmap` binary (end to end), as modules of one test binary.
//!
//! Why one binary: each `tests/*.rs` file used to be a binary of its own that linked the whole
//! crate and its dependencies again: 85 test units took 779 of the 2,070 CPU seconds of a clean
//! `cargo test --no-run` (`--timings`, 2026-12-07).
//! A new file is compiled only when it is declared here (Cargo.toml names this file alone);
//! `cargo xtask test` fails when one is forgotten (`crates/xtask/src/declared.rs`).

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::pedantic)]

mod support;

mod backup;
mod cli;
mod ops;
mod replicas;
mod store;
mod street;
