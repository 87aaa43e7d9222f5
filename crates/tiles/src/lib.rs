#![doc = include_str!("../README.md")]

pub mod cluster;
mod error;
mod geom;
mod layer;
mod pbf;
pub mod pyramid;
pub mod schema;
pub mod svg;
pub mod tile;
mod value;

pub use cluster::{Cluster, DEFAULT_CLUSTER_CELL, GridClusterer};
pub use error::Error;
pub use layer::{EncodeOptions, GeomType, KeyId, LayerBuilder, TileBuilder, ValueId};
pub use pyramid::{CellStats, CountPyramid};
pub use tile::{MAX_LATITUDE, MAX_ZOOM, TileId, TileProjection};
pub use value::Value;

/// The default MVT extent: tile coordinates run from 0 to 4096 on each axis.
pub const DEFAULT_EXTENT: u32 = 4096;

/// The default clip buffer in tile units (64 of 4096 = 4 px of a 256-px tile, 8 px of a 512-px tile).
pub const DEFAULT_BUFFER: u32 = 64;
