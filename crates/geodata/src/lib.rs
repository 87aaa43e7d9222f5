#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod area;
pub mod crs;
pub mod demo;
pub mod extract;
pub mod geojson_stream;
pub mod import;
pub mod osm;
pub mod place;
pub mod poi;
pub mod street;
pub mod zones;

pub use crs::{Crs, CrsError};
pub use import::ImportError;
pub use osm::OsmError;
pub use poi::PoiTableError;
pub use street::StreetError;
pub use zones::ZoneError;

/// Any error of this crate: each module's own error, gathered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading OpenStreetMap data.
    #[error(transparent)]
    Osm(#[from] OsmError),
    /// An unknown coordinate system name.
    #[error(transparent)]
    Crs(#[from] CrsError),
    /// A bad POI kind table.
    #[error(transparent)]
    PoiTable(#[from] PoiTableError),
    /// Building a zone.
    #[error(transparent)]
    Zone(#[from] ZoneError),
    /// Importing CSV or GeoJSON.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// Building a street's zones.
    #[error(transparent)]
    Street(#[from] StreetError),
}
