//! Vector tiles (Mapbox Vector Tile 2.1) of problems, zones, heat cells and the basemap,
//! encoded from memory and cached per data version. HTTP (`ETag`, gzip negotiation, 204/304)
//! is the server's.

pub mod basemap;
pub mod cache;
pub mod encode;
pub mod layer;
pub mod state;
