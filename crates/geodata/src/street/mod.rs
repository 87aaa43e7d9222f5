//! A street office's zones from its own OpenStreetMap extract: everything a real street needs
//! to assign chiefs, not only the demo.
//!
//! | kind | built by | external id |
//! |---|---|---|
//! | three-surroundings (三个周边) | [`crate::zones::surroundings_zone`] for each school, park, market | `surroundings:osm:way/<id>` |
//! | point zones (点长) | [`point_zones`]: the gates of those places | `point:osm:node/<gate>`, or `point:osm:way/<place>` |
//! | road zones (路长) | [`road_zones`]: named roads, cut into stretches | `road:<name>`, or `road:<name>#<k>` |
//! | area zones (片长) | [`area_zones`]: named compounds and neighbourhoods | `area:osm:way/<id>` |
//! | the management grid (万米单元网格) | [`grid_zones`] over the street's [boundary](boundary_from_osm) | `grid:<street>-R001C001` |
//!
//! Everything comes from OSM ids, names and cell positions, so building the zones of the same
//! extract twice gives the same zones, and a store that updates zones by external id updates
//! them in place when the extract changes. With the street's code, every zone carries a `code`
//! that starts with `<street>-` (the grid's cell codes; `<street>-<external id>` for the others),
//! which is how a street office's account finds its zones.
//!
//! Coordinates are WGS-84 lon/lat; distances metres.
//!
//! ```
//! use civmap_domain::ZoneKind;
//! use civmap_geodata::{extract, osm, poi::PoiTable};
//! use civmap_geodata::street::{StreetOptions, street_zones};
//! let data = osm::read_path("../../data/osm/tongji_siping_yangpu.osm".as_ref())?;
//! let ex = extract::extract(&data, &PoiTable::builtin());
//! let opts = StreetOptions { street_code: Some("310110009".into()), ..StreetOptions::default() };
//! let built = street_zones(&data, &ex, None, &opts)?;
//! let siping = built.zones.iter().find(|z| z.shape.external_id == "road:四平路").unwrap();
//! assert_eq!(siping.shape.code.as_deref(), Some("310110009-road:四平路"));
//! assert!(built.count(ZoneKind::Area) > 10, "the named compounds");
//! # Ok::<(), civmap_geodata::Error>(())
//! ```

mod areas;
mod boundary;
mod build;
mod error;
mod gates;
mod grid;
mod roads;
mod zone;

pub use areas::{MIN_AREA_PIECE_M2, area_zones};
pub use boundary::{BoundaryPick, StreetBoundary, boundary_from_list, boundary_from_osm};
pub use build::{StreetOptions, StreetZones, street_zones};
pub use error::StreetError;
pub use gates::{DEFAULT_GATE_RADIUS_M, GATE_MERGE_M, GATE_SNAP_M, PointOptions, point_zones};
pub use grid::grid_zones;
pub use roads::{DEFAULT_STRETCH_M, ROAD_CHIEF_CLASSES, RoadOptions, road_zones};
pub use zone::{StreetZone, street_code};
