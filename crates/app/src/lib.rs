#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::float_cmp))]

pub mod accounts;
pub mod actor;
pub mod app;
pub mod catalog;
pub mod config;
pub mod error;
pub mod heat;
pub mod media;
pub mod memory;
pub mod planning;
pub mod privacy;
pub mod problems;
pub mod query;
pub mod ratelimit;
pub mod reports;
pub mod scope;
pub mod setup;
pub mod spatial;
pub mod tiles;
pub mod time;
pub mod workflow;

pub use actor::Actor;
pub use app::App;
pub use error::ServiceError;
