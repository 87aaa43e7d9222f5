//! The tile layers and what each holds (schema: [`civmap_tiles::schema`]):
//! * `problems`: from zoom [`schema::PROBLEM_POINTS_MIN_ZOOM`] one point per problem with its
//!   public fields only (`id`, `category`, `status`, `severity`); below it, clusters of the
//!   256-unit grid with `count`, `top_category`, `top_count`, read from a count pyramid kept
//!   current with every write. Merged problems are left out; problems of indoor categories are
//!   placed at the centre of their 50 m cell ([`crate::privacy`]) in points *and* clusters.
//! * `zones`: zone polygons with `kind` and `name`.
//! * `heat`: square cells of the same grid (16 × 16 per tile, never finer than zoom-18 tiles)
//!   with `count` and `open`.
//! * `basemap`: `water`, `green`, `buildings`, `roads` (`class`, `name`) and `pois` (`class`,
//!   `name`) from the imported OpenStreetMap data.

use civmap_tiles::schema;

/// The tile layers served under `/tiles/{layer}/…`.
pub const TILE_LAYERS: [&str; 4] = ["problems", "zones", "heat", "basemap"];

/// One of [`TILE_LAYERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileLayer {
    /// Problem points and clusters.
    Problems,
    /// Zone polygons.
    Zones,
    /// Heat cells.
    Heat,
    /// The OpenStreetMap basemap (several MVT layers).
    Basemap,
}

impl TileLayer {
    /// The layer named `name` in a URL.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "problems" => Self::Problems,
            "zones" => Self::Zones,
            "heat" => Self::Heat,
            "basemap" => Self::Basemap,
            _ => return None,
        })
    }

    /// Its name in URLs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Problems => "problems",
            Self::Zones => "zones",
            Self::Heat => "heat",
            Self::Basemap => "basemap",
        }
    }

    /// The MVT layers its tiles contain (drawing order).
    #[must_use]
    pub fn mvt_layers(self) -> &'static [&'static str] {
        match self {
            Self::Problems => &[schema::PROBLEMS],
            Self::Zones => &[schema::ZONES],
            Self::Heat => &[schema::HEAT],
            Self::Basemap => &[
                schema::WATER,
                schema::GREEN,
                schema::BUILDINGS,
                schema::ROADS,
                schema::POIS,
            ],
        }
    }

    /// Lowest zoom with data.
    #[must_use]
    pub fn min_zoom(self) -> u8 {
        self.mvt_layers()
            .iter()
            .filter_map(|l| schema::layer_spec(l))
            .map(|s| s.min_zoom)
            .min()
            .unwrap_or(0)
    }

    /// The data version slot of the layer (problems and heat share one).
    pub(crate) fn slot(self) -> usize {
        match self {
            Self::Problems | Self::Heat => 0,
            Self::Zones => 1,
            Self::Basemap => 2,
        }
    }
}
