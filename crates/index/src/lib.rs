#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::float_cmp))]

mod area;
mod cells;
mod dynamic;
mod error;
mod filter;
mod geodesy;
mod heat;
mod nearest;
mod packed;
mod problems;
mod record;
mod region;
mod zones;

pub use cells::{CellStat, HexCell, HexGrid, SquareCell, SquareGrid};
pub use error::IndexError;
pub use filter::{CategorySet, Filter, StatusSet};
pub use geodesy::{BBox, EARTH_RADIUS_M, METRES_PER_DEGREE, haversine_m};
pub use heat::{AGE_STEP_DAYS, CategoryHeat, HeatParams, MAX_AGE_FACTOR, TOP_CATEGORIES, ZoneHeat};
pub use problems::{Neighbor, ProblemIndex};
pub use record::{PointRecord, PointUpdate};
pub use region::Region;
pub use zones::{ZoneHit, ZoneIndex};
