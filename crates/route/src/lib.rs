#![doc = include_str!("../README.md")]

pub mod gpx;
pub mod graph;
pub mod plan;
pub mod tsp;
pub mod tsplib;

pub use graph::{GraphBuilder, Mode, RoadGraph};
pub use plan::{Plan, PlanError, PlanRequest, plan_routes};
