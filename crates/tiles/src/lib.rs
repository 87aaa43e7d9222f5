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
pub use geom::GeomType;
pub use layer::{
    DEFAULT_BUFFER, DEFAULT_EXTENT, EncodeOptions, KeyId, LayerBuilder, TileBuilder, ValueId,
};
pub use pyramid::{CellStats, CountPyramid};
pub use tile::{MAX_LATITUDE, MAX_ZOOM, TileId, TileProjection};
pub use value::Value;
