//! The civmap tile schema: layer names, property keys and the zoom range of each layer, shared
//! by the server (which fills the layers) and the web style (which draws them).
//!
//! | layer | geometry | properties | zooms |
//! |---|---|---|---|
//! | `problems` | point | `category`, `status`, `severity`; from [`PROBLEM_IDS_MIN_ZOOM`] also `id` | [`PROBLEM_POINTS_MIN_ZOOM`].. |
//! | `problems` (clustered) | point | `count`, `top_category`, `top_count` | ..[`PROBLEM_POINTS_MIN_ZOOM`] |
//! | `zones` | polygon | `kind` ([`ZONE_KINDS`]), `name` | [`ZONES_MIN_ZOOM`].. |
//! | `heat` | polygon | `count`, `open` | [`HEAT_MIN_ZOOM`].. |
//! | `roads` | line | `class` ([`RoadClass::as_str`]), `name` | per class, [`RoadClass::min_zoom`] |
//! | `buildings` | polygon | `name` | [`BUILDINGS_MIN_ZOOM`].. |
//! | `green` | polygon | `class` (`park`, `grass`, `wood`, ...), `name` | [`GREEN_MIN_ZOOM`].. |
//! | `water` | polygon, line | `class` (`water`, `river`, `stream`, ...), `name` | [`WATER_MIN_ZOOM`].. |
//! | `pois` | point | `class` (`school`, `park`, `marketplace`, ...), `name` | [`POIS_MIN_ZOOM`].. |
//!
//! Below [`PROBLEM_POINTS_MIN_ZOOM`] the `problems` layer carries clusters (from
//! [`crate::GridClusterer`]) instead of points: a style tells them apart by the `count` key.

/// Layer of problem points (and of their clusters at low zoom).
pub const PROBLEMS: &str = "problems";
/// Layer of zone polygons (three-surroundings, road, point, area and grid zones).
pub const ZONES: &str = "zones";
/// Layer of heat cells.
pub const HEAT: &str = "heat";
/// Basemap: roads by class, with names.
pub const ROADS: &str = "roads";
/// Basemap: building footprints.
pub const BUILDINGS: &str = "buildings";
/// Basemap: parks, grass, woods.
pub const GREEN: &str = "green";
/// Basemap: water areas and waterways.
pub const WATER: &str = "water";
/// Basemap: points of interest with names.
pub const POIS: &str = "pois";

/// All layer names, in drawing order (bottom first).
pub const LAYERS: [&str; 8] = [WATER, GREEN, BUILDINGS, ROADS, ZONES, HEAT, POIS, PROBLEMS];

/// Zone kinds carried in the `kind` property of the `zones` layer.
pub const ZONE_KINDS: [&str; 5] = ["three_surroundings", "road", "point", "area", "grid"];

/// From this zoom on, the `problems` layer carries single points; below it, clusters.
/// At z14 a tile is about 2.1 km across in Shanghai: a street office's dense tile holds a few
/// thousand points, still fast to encode and to draw.
pub const PROBLEM_POINTS_MIN_ZOOM: u8 = 14;
/// From this zoom on, problem points also carry their `id` (a 36-character UUID string, and the
/// feature id): where one problem is picked on the map. Below it a dense z14 tile would be
/// three times larger for ids nobody can click apart.
pub const PROBLEM_IDS_MIN_ZOOM: u8 = 16;
/// Lowest zoom of the `problems` layer (clusters).
pub const PROBLEMS_MIN_ZOOM: u8 = 8;
/// Lowest zoom of the `zones` layer.
pub const ZONES_MIN_ZOOM: u8 = 12;
/// Lowest zoom of the `heat` layer.
pub const HEAT_MIN_ZOOM: u8 = 10;
/// Lowest zoom of the `buildings` layer.
pub const BUILDINGS_MIN_ZOOM: u8 = 14;
/// Lowest zoom of the `green` layer.
pub const GREEN_MIN_ZOOM: u8 = 10;
/// Lowest zoom of the `water` layer.
pub const WATER_MIN_ZOOM: u8 = 8;
/// Lowest zoom of the `pois` layer.
pub const POIS_MIN_ZOOM: u8 = 15;
/// Highest zoom tiles are made for; the client over-zooms beyond it.
pub const MAX_TILE_ZOOM: u8 = 18;

/// What a TileJSON 3.0 `vector_layers` entry says about one layer: the server serialises these
/// (with its own `tiles` URL and `bounds`), the web style reads the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    /// Layer name (`vector_layers[].id`).
    pub id: &'static str,
    /// What the layer holds.
    pub description: &'static str,
    /// Lowest zoom with data.
    pub min_zoom: u8,
    /// Highest zoom tiles are made for.
    pub max_zoom: u8,
    /// Property keys and their types (`vector_layers[].fields`).
    pub fields: &'static [(&'static str, &'static str)],
}

/// The spec of every layer, in [`LAYERS`] order.
pub const LAYER_SPECS: [LayerSpec; 8] = [
    LayerSpec {
        id: WATER,
        description: "Water areas and waterways (OpenStreetMap)",
        min_zoom: WATER_MIN_ZOOM,
        max_zoom: MAX_TILE_ZOOM,
        fields: &[("class", "String"), ("name", "String")],
    },
    LayerSpec {
        id: GREEN,
        description: "Parks, grass and woods (OpenStreetMap)",
        min_zoom: GREEN_MIN_ZOOM,
        max_zoom: MAX_TILE_ZOOM,
        fields: &[("class", "String"), ("name", "String")],
    },
    LayerSpec {
        id: BUILDINGS,
        description: "Building footprints (OpenStreetMap)",
        min_zoom: BUILDINGS_MIN_ZOOM,
        max_zoom: MAX_TILE_ZOOM,
        fields: &[("name", "String")],
    },
    LayerSpec {
        id: ROADS,
        description: "Roads by class, with names (OpenStreetMap)",
        min_zoom: 8,
        max_zoom: MAX_TILE_ZOOM,
        fields: &[("class", "String"), ("name", "String")],
    },
    LayerSpec {
        id: ZONES,
        description: "Responsibility zones: three-surroundings, road, point, area and grid zones",
        min_zoom: ZONES_MIN_ZOOM,
        max_zoom: MAX_TILE_ZOOM,
        fields: &[("kind", "String"), ("name", "String")],
    },
    LayerSpec {
        id: HEAT,
        description: "Heat cells: problem counts per cell",
        min_zoom: HEAT_MIN_ZOOM,
        max_zoom: MAX_TILE_ZOOM,
        fields: &[("count", "Number"), ("open", "Number")],
    },
    LayerSpec {
        id: POIS,
        description: "Points of interest with names (OpenStreetMap)",
        min_zoom: POIS_MIN_ZOOM,
        max_zoom: MAX_TILE_ZOOM,
        fields: &[("class", "String"), ("name", "String")],
    },
    LayerSpec {
        id: PROBLEMS,
        description: "Problem points (from zoom 14; with their id from zoom 16); below zoom 14, clusters with a count",
        min_zoom: PROBLEMS_MIN_ZOOM,
        max_zoom: MAX_TILE_ZOOM,
        fields: &[
            ("id", "String"),
            ("category", "String"),
            ("status", "String"),
            ("severity", "Number"),
            ("count", "Number"),
            ("top_category", "String"),
            ("top_count", "Number"),
        ],
    },
];

/// The spec of the layer called `name`.
#[must_use]
pub fn layer_spec(name: &str) -> Option<&'static LayerSpec> {
    LAYER_SPECS.iter().find(|l| l.id == name)
}

/// Road classes of the `roads` layer, from OpenStreetMap `highway=*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoadClass {
    /// `motorway`, `motorway_link`.
    Motorway,
    /// `trunk`, `trunk_link`.
    Trunk,
    /// `primary`, `primary_link`.
    Primary,
    /// `secondary`, `secondary_link`.
    Secondary,
    /// `tertiary`, `tertiary_link`.
    Tertiary,
    /// `residential`, `unclassified`, `living_street`, `road`.
    Minor,
    /// `service`.
    Service,
    /// `pedestrian`, `footway`, `path`, `steps`, `cycleway`, `track`.
    Path,
}

impl RoadClass {
    /// The class of an OSM `highway=*` value, or `None` for values that are not drawn
    /// (`construction`, `proposed`, `platform`, ...).
    #[must_use]
    pub fn from_osm_highway(highway: &str) -> Option<Self> {
        Some(match highway {
            "motorway" | "motorway_link" => Self::Motorway,
            "trunk" | "trunk_link" => Self::Trunk,
            "primary" | "primary_link" => Self::Primary,
            "secondary" | "secondary_link" => Self::Secondary,
            "tertiary" | "tertiary_link" => Self::Tertiary,
            "residential" | "unclassified" | "living_street" | "road" => Self::Minor,
            "service" => Self::Service,
            "pedestrian" | "footway" | "path" | "steps" | "cycleway" | "track" => Self::Path,
            _ => return None,
        })
    }

    /// The `class` property value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Motorway => "motorway",
            Self::Trunk => "trunk",
            Self::Primary => "primary",
            Self::Secondary => "secondary",
            Self::Tertiary => "tertiary",
            Self::Minor => "minor",
            Self::Service => "service",
            Self::Path => "path",
        }
    }

    /// Lowest zoom at which roads of this class are put in tiles (the usual OSM Carto / `OpenMapTiles`
    /// progression: trunk roads at city scale, minor streets at neighbourhood scale).
    #[must_use]
    pub fn min_zoom(self) -> u8 {
        match self {
            Self::Motorway | Self::Trunk => 8,
            Self::Primary => 10,
            Self::Secondary => 11,
            Self::Tertiary => 12,
            Self::Minor => 13,
            Self::Service | Self::Path => 14,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn road_classes_round_trip_and_get_finer_with_zoom() {
        let all = [
            "motorway",
            "trunk",
            "primary",
            "secondary",
            "tertiary",
            "residential",
            "service",
            "footway",
        ];
        let classes: Vec<RoadClass> = all
            .iter()
            .map(|h| RoadClass::from_osm_highway(h).unwrap())
            .collect();
        assert!(
            classes
                .windows(2)
                .all(|w| w[0] < w[1] && w[0].min_zoom() <= w[1].min_zoom())
        );
        assert_eq!(RoadClass::from_osm_highway("construction"), None);
        assert_eq!(RoadClass::Minor.as_str(), "minor");
        assert_eq!(LAYERS.len(), 8);
        // The specs follow LAYERS and agree with the road classes' zooms.
        assert_eq!(LAYER_SPECS.map(|l| l.id), LAYERS);
        let roads = layer_spec(ROADS).unwrap();
        assert_eq!(
            roads.min_zoom,
            classes.iter().map(|c| c.min_zoom()).min().unwrap()
        );
        assert!(LAYER_SPECS.iter().all(|l| l.min_zoom <= l.max_zoom));
        assert!(layer_spec("nope").is_none());
    }
}
